#pragma once
// StateStore: the agent's durable memory — every probe run (and, as later
// features land, SLO history, alerts, the notification outbox, incidents).
//
// Contract:
// - Thread-safe: any method may be called from any thread.
// - Failures are Status/Result values with redacted messages; never throws.
// - Backend-neutral: times are TimePoints, payloads are ProbeResults; nothing
//   SQLite-specific crosses this interface, so a PostgreSQL implementation shared
//   by several agent replicas can implement it (agent.state: postgres://...).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "probes/result.hpp"
#include "probes/snapshot_store.hpp"

namespace datawatch {

class StateStore : public SnapshotStore {
 public:
  ~StateStore() override = default;

  virtual Status recordRun(const ProbeResult& result) = 0;
  // The newest run of `probe`, if any.
  virtual Result<std::optional<ProbeResult>> lastRun(const std::string& probe) = 0;
  // The newest run of `probe` that measured a value (pass or fail), if any.
  virtual Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& probe) = 0;
  // Runs of `probe` with from <= observed_at < to, oldest first, at most `limit`.
  virtual Result<std::vector<ProbeResult>> runs(const std::string& probe, TimePoint from,
                                                TimePoint to, size_t limit = 100000) = 0;
  virtual Result<int64_t> countRuns() = 0;
  // Deletes runs observed before `cutoff`; returns how many.
  virtual Result<int64_t> pruneBefore(TimePoint cutoff) = 0;
  // Cheap reachability check for /readyz.
  virtual Status ping() = 0;
  // Where the store lives, safe to log ("sqlite:///var/lib/datawatch/state.db").
  virtual std::string describe() const = 0;
};

// Opens (creating and migrating as needed) the store named by `url`:
// "sqlite://PATH". "postgres://..." is reserved for the shared HA store.
Result<std::unique_ptr<StateStore>> openStateStore(const std::string& url);

}  // namespace datawatch
