#pragma once
// HA probe scheduling: the fleet, not this process, decides when a probe runs.
//
// FleetClaimer owns this replica's claim thread. It keeps the shared schedule
// (dw_schedule, ha/fleet.hpp) in step with the current configuration, claims
// due runs up to this replica's free capacity (workers and per-source slots),
// hands them to the ProbeLoop (take(), then ProbeLoop::wake via `wake_loop`)
// and releases the leases of finished runs. Every database call happens on
// the claim thread, never under the ProbeLoop's mutex.
//
// FleetSchedule is the RunSchedule of one Runtime over the claimer: takeDue()
// turns claimed runs into dispatches; finished() releases. A reload builds a
// new FleetSchedule over the same claimer (runs in flight keep their lease and
// capacity until they finish).
//
// Invariants:
// - capacity: runs claimed and not yet finished (running_) never exceed
//   max_concurrent, nor a source's local limit;
// - a claim this process cannot run (its probe left the config, or is running
//   here already) is released at once, never left to expire.
// Thread-safety: every member of FleetClaimer is guarded by mu_; the claim
// thread calls Fleet without holding it.

#include <spdlog/logger.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/run_schedule.hpp"
#include "core/mutex.hpp"
#include "ha/fleet.hpp"

namespace datawatch {

class Metrics;

class FleetClaimer {
 public:
  // How often the claim thread claims due runs and releases finished ones (a
  // run starts at most this late; the database sees one claim per poll).
  static constexpr Duration kPollInterval{std::chrono::milliseconds(100)};

  FleetClaimer(Fleet& fleet, std::shared_ptr<spdlog::logger> log, Metrics* metrics);
  ~FleetClaimer();
  FleetClaimer(const FleetClaimer&) = delete;
  FleetClaimer& operator=(const FleetClaimer&) = delete;

  void start(std::function<void()> wake_loop);
  void stop();

  // The probes of the configuration now running (synced by the claim thread).
  void configure(std::vector<FleetProbe> probes, std::map<std::string, int> source_limits,
                 int max_concurrent) EXCLUDES(mu_);
  // Runs claimed and not yet handed out.
  std::vector<FleetClaim> take() EXCLUDES(mu_);
  // A run handed out by take() ended (or will not start): its lease goes.
  void finished(const std::string& probe) EXCLUDES(mu_);

 private:
  struct Work {
    std::optional<std::vector<FleetProbe>> sync;
    std::map<std::string, int> limits;
    std::vector<std::string> done;
    size_t capacity = 0;
    std::map<std::string, size_t> free_per_source;
    bool failed = false;  // a database call failed: wait a poll interval
  };
  void loop();
  Work collect() REQUIRES(mu_);
  void apply(Work& w) EXCLUDES(mu_);
  void trouble(const std::string& what);

  Fleet& fleet_;
  std::shared_ptr<spdlog::logger> log_;
  Metrics* metrics_;
  std::function<void()> wake_loop_;
  Mutex mu_;
  CondVar cv_;
  std::vector<FleetProbe> probes_ GUARDED_BY(mu_);
  std::map<std::string, std::string> source_of_ GUARDED_BY(mu_);
  std::map<std::string, int> limits_ GUARDED_BY(mu_);
  int max_concurrent_ GUARDED_BY(mu_) = 1;
  bool sync_pending_ GUARDED_BY(mu_) = false;
  std::vector<FleetClaim> inbox_ GUARDED_BY(mu_);
  std::vector<std::string> done_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;  // claimed and not finished
  std::map<std::string, size_t> running_per_source_ GUARDED_BY(mu_);
  std::map<std::string, std::string> claimed_source_ GUARDED_BY(mu_);  // running claims
  bool stopping_ GUARDED_BY(mu_) = false;
  bool in_trouble_ = false;  // the claim thread's own: a failure is being retried
  std::thread thread_;
};

class FleetSchedule final : public RunSchedule {
 public:
  FleetSchedule(FleetClaimer& claimer, std::vector<ScheduledProbe> probes);
  std::vector<Dispatch> takeDue(TimePoint now) override;
  void finished(size_t index, TimePoint now) override;
  void finishedUnscheduled(const std::string& name) override { claimer_.finished(name); }
  // The claim thread wakes the loop when it has runs.
  std::optional<TimePoint> nextWakeup() const override { return std::nullopt; }
  const ScheduledProbe& probe(size_t index) const override { return probes_[index]; }
  std::optional<size_t> find(const std::string& name) const override;

 private:
  FleetClaimer& claimer_;
  std::vector<ScheduledProbe> probes_;
  std::map<std::string, size_t> by_name_;
  std::vector<bool> running_;
};

// The fleet's view of a probe: its lease covers its timeout plus a margin, and
// a new probe's first run waits the Scheduler's stable jitter of its name.
FleetProbe fleetProbe(const ScheduledProbe& p, int64_t phases);

}  // namespace datawatch
