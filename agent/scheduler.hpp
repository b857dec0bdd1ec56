#pragma once
// Scheduler: decides which probe runs start when. A pure state machine with no
// threads and no clock of its own — the caller passes `now` — so it is tested on
// simulated time and shared by `run`, `check`, the demo and the benchmark.
//
// Guarantees:
// - each probe runs every `every`, its first run offset by a stable jitter in
//   [0, min(every, max_jitter)) derived from its name, on one of `phases` slots
//   (phasesByInterval: kMinPhases, or one per kBatch probes sharing the
//   interval, one per kSharedBatch of those whose source batches; slots at
//   least kJitterGrid, 10 ms, apart): probes spread out, keep their phase
//   across restarts (of one configuration) and start in batches. A batch costs
//   the loop one wake-up, and one worker starts its runs one after another
//   (ProbeLoop; issue 19: 100 PostgreSQL probes at 1 s went from 4.7 to 1.7
//   context switches per run); batches of about kBatch keep the lag from due
//   to start of 1,000 runs/s low (p99 ~1 ms, queueing included; batches of 50
//   had the lag to dispatch at 3.4-5.6 ms). Runs sent together in one round
//   trip (ScheduledProbe::batches) start together, so their phases hold
//   kSharedBatch (1,000 PostgreSQL probes of one source at 1 s: 20 round
//   trips a second instead of ~290, the agent's CPU a run ~40% less; phases
//   are per interval, not per source, and a slot may draw more than 64);
// - a run riding on another's slots (ride(): one worker and one connection for
//   a batch) frees its own at once; finished() for it frees nothing;
// - never two runs of one probe at once;
// - at most `max_concurrent` runs in flight, and at most the source's limit per source;
// - a probe that falls behind (overrun, no free worker) runs once when it can and
//   counts the runs it missed; missed runs are never stacked;
// - a reload continues the schedule (the continuing constructor): a probe whose
//   name and interval did not change keeps its next due time, and a probe whose
//   run of the previous configuration is still going stays running until it
//   finishes, so a reload neither delays, repeats nor overlaps runs.
//
// Not thread-safe: the owner serialises calls.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "agent/run_schedule.hpp"
#include "core/clock.hpp"

namespace datawatch {

class Scheduler final : public RunSchedule {
 public:
  // The agent's bound on a first run's offset (one for every schedule: a
  // fleet's replicas and a single agent place a probe at the same phase,
  // unless it batches: the fleet's phases count it as any other).
  static constexpr Duration kMaxJitter{std::chrono::seconds(30)};
  struct Options {
    int max_concurrent = 8;
    // Runs in flight per source; absent: unlimited. Config gives 1 to 1024;
    // below 1 starts nothing on that source (as FleetClaimer's zero slots).
    std::map<std::string, int> source_limits;
    Duration max_jitter = kMaxJitter;
  };

  Scheduler(Options options, std::vector<ScheduledProbe> probes, TimePoint start);
  // Continues `previous` under a new configuration. A probe with the same name
  // and interval as in `previous` keeps its next due time and missed count; new
  // probes and probes whose interval changed start as at construction (`start`
  // plus jitter). A probe named in `in_flight` still has a run of the previous
  // configuration going: it counts as running (a worker and a slot of its
  // source) until finished() is called for it. A run `previous` handed out that
  // never started (not in `in_flight`) is due again at once.
  Scheduler(Options options, std::vector<ScheduledProbe> probes, TimePoint start,
            const Scheduler& previous, const std::set<std::string>& in_flight);

  // Every run that may start at `now`, earliest due first; marks them running.
  std::vector<Dispatch> takeDue(TimePoint now) override;
  // Marks a run finished at `now`; its next run is due one interval after the
  // tick it ran for (the grid is kept: a late or slow run does not shift later
  // runs). Ticks that passed while it ran are missed: a run that overruns its
  // interval waits for the next tick instead of starting again at once, so a slow
  // query never runs back to back on a struggling database.
  void finished(size_t index, TimePoint now) override;
  bool ride(size_t index) override;
  std::vector<Dispatch> takeRiders(size_t holder, TimePoint now, size_t max,
                                   const std::function<bool(size_t)>& joins) override;
  // The earliest time a call to takeDue() can return something, or nullopt when
  // nothing can start until a running probe finishes.
  std::optional<TimePoint> nextWakeup() const override;

  const ScheduledProbe& probe(size_t index) const override { return probes_[index].cfg; }
  // The index of the probe named `name`, if it is scheduled.
  std::optional<size_t> find(const std::string& name) const override;
  size_t size() const { return probes_.size(); }
  size_t running() const { return running_; }
  bool isRunning(size_t index) const { return probes_[index].running; }
  uint64_t missedRuns(size_t index) const { return probes_[index].missed_total; }
  TimePoint nextDue(size_t index) const { return probes_[index].due; }

  static constexpr Duration kJitterGrid{10};
  static constexpr int64_t kMinPhases = 20;  // first-run offsets per interval, at least
  static constexpr int64_t kBatch = 10;      // probes per offset beyond kMinPhases offsets
  // ... for probes whose source batches (below ProbeLoop's 64 a batch).
  static constexpr int64_t kSharedBatch = 50;
  // How many due runs of ready_ takeRiders looks at (those of other sources
  // go back: a backlog behind busy workers is not walked per batch).
  static constexpr size_t kRiderLookahead = 256;
  // The number of first-run offsets of each interval among `probes`, apart
  // for the probes that batch and the others (key: interval, batches).
  using Phases = std::map<std::pair<Duration, bool>, int64_t>;
  static Phases phasesByInterval(const std::vector<ScheduledProbe>& probes);
  static int64_t phasesOf(const Phases& phases, const ScheduledProbe& p) {
    return phases.at({p.every, p.batches});
  }
  // The stable offset of a probe's first run (exposed for tests).
  static Duration jitterFor(const std::string& name, Duration every, Duration max_jitter,
                            int64_t phases = kMinPhases);

 private:
  struct State {
    ScheduledProbe cfg;
    size_t source = 0;  // into sources_
    TimePoint due;
    bool running = false;
    bool riding = false;  // running on another run's slots (ride)
    uint64_t missed_total = 0;
  };
  struct QueueItem {
    TimePoint due;
    size_t index;
    bool operator>(const QueueItem& o) const {
      return due != o.due ? due > o.due : index > o.index;
    }
  };

  // `sources`: source name -> index into sources_, of the probes added so far.
  void add(ScheduledProbe p, TimePoint start, int64_t phases,
           std::map<std::string, size_t>& sources);
  // A run of probe `s` gave its worker and source slots back.
  void freeSlots(const State& s);
  // Marks `item`'s probe running at `now` (missed ticks counted), slots aside.
  Dispatch start(const QueueItem& item, TimePoint now);

  Options opts_;
  std::vector<State> probes_;
  std::map<std::string, size_t> by_name_;
  using DueQueue = std::priority_queue<QueueItem, std::vector<QueueItem>, std::greater<>>;
  DueQueue ready_;  // idle probes by due time
  // Per source, by index (each run looks its source up; no string compares).
  struct SourceState {
    int limit = std::numeric_limits<int>::max();  // absent from Options::source_limits
    int in_flight = 0;
    // Due, but the source is at its limit, by due time. A run that finishes
    // frees one slot, so one goes back to ready_, the earliest due (all of
    // them went back on every finish: at 1,000 probes a second on a source
    // with 4 connections, six heap pushes and pops per run for nothing).
    DueQueue blocked;
    bool full() const { return in_flight >= limit; }
  };
  std::vector<SourceState> sources_;
  size_t running_ = 0;
};

}  // namespace datawatch
