#pragma once
// Runtime: everything built from one loaded Config — its sources and probes —
// plus the act of running one probe: measure, stamp, record in the state store,
// update metrics, remember the last result. A reload builds a new Runtime and
// swaps it in; the old one is destroyed once its in-flight runs are done.

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "agent/metrics.hpp"
#include "agent/scheduler.hpp"
#include "config/types.hpp"
#include "core/mutex.hpp"
#include "lineage/graph.hpp"
#include "probes/registry.hpp"
#include "store/state_store.hpp"

namespace datawatch {

class Runtime {
 public:
  // Builds every source and probe of `cfg`. Never fails: a source that cannot be
  // set up makes its probes report an error on every run. `store` and `metrics`
  // may be null (no recording / no metrics) and must outlive the Runtime.
  // Probes fed by OpenLineage events (ProbeConfig::fromLineage) read `lineage`,
  // which outlives the Runtime too; without one they report an error.
  Runtime(std::shared_ptr<const config::Config> cfg, const Clock& clock,
          const SourceRegistry& sources, const ProbeRegistry& probes, StateStore* store,
          Metrics* metrics, std::shared_ptr<spdlog::logger> log,
          const lineage::LineageGraph* lineage = nullptr);

  const config::Config& config() const { return *cfg_; }
  const std::shared_ptr<const config::Config>& sharedConfig() const { return cfg_; }
  const std::shared_ptr<spdlog::logger>& logger() const { return log_; }
  size_t size() const { return slots_.size(); }
  const config::ProbeConfig& probeConfig(size_t i) const { return slots_[i]->probe->config(); }

  // The scheduler's view: every probe with its interval and the sources' limits.
  std::vector<ScheduledProbe> schedule() const;
  std::map<std::string, int> sourceLimits() const;

  // Runs probe `i` once at the clock's now. Thread-safe across different probes;
  // the caller never runs one probe twice at once. Never throws: a probe that
  // throws gives an error result carrying the exception's message (logged at
  // error level), and a throwing observer is logged and skipped.
  ProbeResult runProbe(size_t i, const std::atomic<bool>* cancelled = nullptr);
  // The same, without copying the result: it is shared with the probe's slot
  // (the probe loop's path; one run's result is built once and never copied).
  std::shared_ptr<const ProbeResult> run(size_t i, const std::atomic<bool>* cancelled = nullptr);

  // Batches (issue 19). A probe is batchable when it plans its first query
  // (Probe::plan), that query holds no user SQL, and its source sends batches
  // (SqlSource::batchesQueries: PostgreSQL).
  bool batchable(size_t i) const;
  // ... and joins a batch now: batchable, and its last run neither failed nor
  // took kBatchSlowRunSeconds or more (a batch is answered at its slowest
  // query's pace; on PostgreSQL an error aborts the queries after it).
  bool wouldJoinBatch(size_t i) const;
  static constexpr double kBatchSlowRunSeconds = 0.1;
  // Sends the planned queries of those of `probes` (distinct) that would join
  // a batch on one source ahead, together (SqlSource::queryBatch), and runs
  // each that got its answer as run() would: its own deadline, result, record
  // and log line; its duration the batch's round trip plus its own judging.
  // Returns the probes it did not run (not joining, or not answered in the
  // batch: after another's error, cut short): run each on its own.
  std::vector<size_t> runBatch(const std::vector<size_t>& probes,
                               const std::atomic<bool>* cancelled = nullptr);

  // Called with every recorded run, on the thread that ran it (the SLO engine
  // listens here), never with null; the result is the one the probe's slot and
  // the store hold, so an observer keeps it without a copy. Set before the
  // first runProbe.
  using ResultObserver = std::function<void(const std::shared_ptr<const ProbeResult>&)>;
  void setResultObserver(ResultObserver observer) { observer_ = std::move(observer); }

  // HA: other replicas run these probes too (RunContext::shared_snapshots).
  // Set before the first runProbe.
  void setSharedSnapshots(bool shared) { shared_snapshots_ = shared; }

  // Loads each probe's last results from the store (previous values survive restarts).
  void primeFromStore();

  // A run another HA replica recorded (from the run feed): it becomes the
  // probe's last result (and last measured one) when it is newer than those.
  void remember(std::shared_ptr<const ProbeResult> r);

  // The last result of probe `i`, if it has run.
  std::optional<ProbeResult> lastResult(size_t i) const;

 private:
  struct Slot {
    std::unique_ptr<Probe> probe;
    mutable Mutex mu;
    // Immutable results, shared (last_measured is often the same run as last).
    std::shared_ptr<const ProbeResult> last GUARDED_BY(mu);
    std::shared_ptr<const ProbeResult> last_measured GUARDED_BY(mu);
  };
  struct Pending;  // a run between begin() and complete() (runtime.cpp)
  // The run's context at the clock's now, and what it starts from.
  void begin(Pending& p, size_t i, const std::atomic<bool>* cancelled);
  // Stamps, records and logs the run's result (the deadline checked again).
  std::shared_ptr<const ProbeResult> complete(Pending& p, ProbeResult r);
  // source.queryBatch(batch); nothing (each run then queries itself) if it throws.
  SqlSource::BatchAnswers sendAhead(SqlSource& source, const std::vector<BatchQuery>& batch) const;
  // Stores, publishes and remembers a finished run; logs what throws.
  void record(Slot& slot, const std::shared_ptr<const ProbeResult>& r);
  // The probe's run, a thrown exception turned into an error result.
  ProbeResult measure(Slot& slot, const RunContext& ctx);
  std::shared_ptr<const config::Config> cfg_;
  const Clock& clock_;
  StateStore* store_;
  Metrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  ResultObserver observer_;
  bool shared_snapshots_ = false;
  std::map<std::string, std::unique_ptr<Source>> sources_;
  std::vector<std::unique_ptr<Slot>> slots_;
  // batchable(i), by slot; in one array: every queued run is asked (ProbeLoop).
  std::vector<uint8_t> batchable_;
  std::map<std::string, size_t> by_name_;  // into slots_
};

}  // namespace datawatch
