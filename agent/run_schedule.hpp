#pragma once
// RunSchedule: what ProbeLoop asks "which runs start now?". Two implementations:
// - Scheduler (agent/scheduler.hpp): this process decides, from each probe's
//   interval (one agent; SQLite or a single replica);
// - FleetSchedule (agent/fleet_schedule.hpp): the fleet decides: runs this
//   replica claimed in the shared PostgreSQL schedule (HA replicas).
// Both guarantee: never two runs of one probe at once from this process, at
// most max_concurrent runs in flight, at most the source's limit per source
// (runs riding on another's slots, ride(), count as that one run).
// Not thread-safe: ProbeLoop calls it under its mutex.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace datawatch {

struct ScheduledProbe {
  std::string name;
  std::string source;
  Duration every{std::chrono::minutes(5)};
  Duration timeout{std::chrono::seconds(30)};
  // Its source may send its run with others due at the same moment, on one
  // connection in one round trip (Runtime: a query datawatch builds, on
  // PostgreSQL): its interval's phases hold more runs (Scheduler::kSharedBatch).
  bool batches = false;
};

struct Dispatch {
  size_t index;     // into the probes given at construction
  TimePoint due;    // when it should have started
  uint64_t missed;  // runs skipped since the previous dispatch of this probe
};

class RunSchedule {
 public:
  virtual ~RunSchedule() = default;
  // Every run that may start at `now`, earliest due first; marks them running.
  virtual std::vector<Dispatch> takeDue(TimePoint now) = 0;
  // Marks a run finished at `now`.
  virtual void finished(size_t index, TimePoint now) = 0;
  // The running `index` goes along with another run of its source that this
  // schedule handed out (a batch: one worker, one connection): its worker and
  // source slots are free from now on, and finished() for it frees none.
  // False when the schedule does not share slots (FleetSchedule: its claims
  // are per run); the run then keeps its own.
  virtual bool ride(size_t index) {
    (void)index;
    return false;
  }
  // Up to `max` runs of `holder`'s source that may start at `now` and that
  // `joins` accepts, handed out riding on `holder`'s slots (a batch: they
  // take no worker and no source slot, waiting ones first). Empty when the
  // schedule does not share slots.
  virtual std::vector<Dispatch> takeRiders(size_t holder, TimePoint now, size_t max,
                                           const std::function<bool(size_t)>& joins) {
    (void)holder, (void)now, (void)max, (void)joins;
    return {};
  }
  // A run handed out by a previous schedule ended, or will never start (a
  // reload dropped it from the queue), and this schedule does not track it.
  virtual void finishedUnscheduled(const std::string& name) { (void)name; }
  // The earliest time a call to takeDue() can return something, or nullopt
  // when nothing can start until a running probe finishes or the loop is woken.
  virtual std::optional<TimePoint> nextWakeup() const = 0;
  virtual const ScheduledProbe& probe(size_t index) const = 0;
  // The index of the probe named `name`, if it is scheduled.
  virtual std::optional<size_t> find(const std::string& name) const = 0;
};

}  // namespace datawatch
