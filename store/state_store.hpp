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

// A probe run shared, immutable, by the agent (the probe's last result), the
// state store's queue and whoever else holds it.
using SharedRun = std::shared_ptr<const ProbeResult>;

// One page of the run feed (runFeed): the runs and where the next page starts.
struct RunFeedPage {
  std::vector<ProbeResult> runs;
  std::string cursor;  // opaque; pass it to the next runFeed call
};

// One notification in the durable outbox (SPEC §5): written before it is sent,
// deleted once delivered or given up. `payload` is the SPEC §5 body
// (format datawatch); notifiers render their own formats from it.
struct OutboxItem {
  int64_t seq = 0;  // assigned by the store, ascending in enqueue order
  std::string delivery_id;
  std::string notifier;
  std::string alert_id;
  nlohmann::json payload;
  TimePoint created_at{};
  TimePoint next_attempt{};
  int attempts = 0;
  std::string last_error;
};

// One stored OpenLineage event (lineage/run_event.hpp), in store order.
struct LineageRow {
  int64_t seq = 0;  // ascending in insert order
  nlohmann::json event;
};

class StateStore : public SnapshotStore {
 public:
  ~StateStore() override = default;

  virtual Status recordRun(const ProbeResult& result) = 0;
  // recordRun of a result the caller shares (the agent's path): a store that
  // keeps runs for later (BatchedStateStore) keeps the pointer, not a copy.
  // `run` is not null and is never changed after the call (nor are `runs`).
  virtual Status recordSharedRun(const SharedRun& run) { return recordRun(*run); }
  // All of `runs`, in order, in ONE transaction: all of them or none (a failed
  // call stores nothing). The default records them one by one (not atomic):
  // the SQL stores override it. BatchedStateStore commits its queue with it.
  virtual Status recordSharedRuns(const std::vector<SharedRun>& runs) {
    for (const auto& r : runs)
      if (auto st = recordRun(*r); !st) return st;
    return Status::Ok();
  }
  // recordSharedRuns of copies of `runs`.
  Status recordRuns(const std::vector<ProbeResult>& runs) {
    std::vector<SharedRun> shared;
    shared.reserve(runs.size());
    for (const auto& r : runs) shared.push_back(std::make_shared<const ProbeResult>(r));
    return recordSharedRuns(shared);
  }
  // Makes every write accepted so far durable before it returns (the runs a
  // BatchedStateStore queued). Ok at once for a store that writes synchronously.
  virtual Status flush() { return Status::Ok(); }
  // Ends the store's background work: flushes, stops its threads; later writes
  // are synchronous. Idempotent; the destructor does it too (an owner whose
  // error callback uses shorter-lived objects calls it first). No-op by default.
  virtual void close() {}
  // The newest run of `probe`, if any.
  virtual Result<std::optional<ProbeResult>> lastRun(const std::string& probe) = 0;
  // The newest run of `probe` that measured a value (pass or fail), if any.
  virtual Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& probe) = 0;
  // Runs of `probe` with from <= observed_at < to, oldest first, at most `limit`.
  virtual Result<std::vector<ProbeResult>> runs(const std::string& probe, TimePoint from,
                                                TimePoint to, size_t limit = 100000) = 0;
  // The newest `limit` runs of `probe` with from <= observed_at < to, returned
  // oldest first (SLO replay: a bound cuts the oldest history, never the newest).
  virtual Result<std::vector<ProbeResult>> latestRuns(const std::string& probe, TimePoint from,
                                                      TimePoint to, size_t limit) = 0;
  virtual Result<int64_t> countRuns() = 0;
  // Deletes runs observed before `cutoff`; returns how many.
  virtual Result<int64_t> pruneBefore(TimePoint cutoff) = 0;
  // ---- alerts and the notification outbox
  // Atomically (one transaction): saves the snapshot `key` (the firing alerts),
  // appends `items` to the outbox and saves the `incidents` documents (as
  // saveIncident), so an alert's state, the notifications it caused and the
  // incidents it opened or closed are never stored one without the other.
  // An item whose delivery_id is already queued is not added twice.
  virtual Status commitAlerts(const std::string& key, const nlohmann::json& value,
                              const std::vector<OutboxItem>& items,
                              const std::vector<nlohmann::json>& incidents = {}) = 0;
  // The queued notifications of `notifier` with next_attempt <= `due`, oldest
  // first, at most `limit` — except one whose alert has an EARLIER queued
  // notification to the same notifier that is not due: it waits behind it.
  // Invariant: an alert's notifications reach one receiver strictly in queue
  // order (a resolve never overtakes its firing, whatever failed and retried).
  virtual Result<std::vector<OutboxItem>> dueNotifications(const std::string& notifier,
                                                           TimePoint due, size_t limit) = 0;
  // The earliest next_attempt among `notifier`'s queued notifications.
  virtual Result<std::optional<TimePoint>> nextNotificationAt(const std::string& notifier) = 0;
  // Removes a delivered (or given up) notification.
  virtual Status removeNotification(int64_t seq) = 0;
  // Records a failed attempt: attempts, next_attempt and the (redacted) error.
  virtual Status rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                        const std::string& error) = 0;
  // Queued notifications of every notifier.
  virtual Result<int64_t> countNotifications() = 0;
  // The notifiers with queued notifications (to find ones no longer configured).
  virtual Result<std::vector<std::string>> queuedNotifiers() = 0;

  // ---- incidents (SPEC §6), stored as their JSON document
  // Inserts or replaces the incident `doc` (its "id", "status", "opened_at").
  virtual Status saveIncident(const nlohmann::json& doc) = 0;
  // Newest first; only open ones when `open_only`.
  virtual Result<std::vector<nlohmann::json>> loadIncidents(bool open_only, size_t limit) = 0;
  virtual Result<std::optional<nlohmann::json>> loadIncident(const std::string& id) = 0;
  // 1 + the number of incidents whose id is INC-<day>-N ("20261124").
  virtual Result<int> nextIncidentSeq(const std::string& day) = 0;

  // ---- OpenLineage events (docs/lineage.md), kept as received
  // Stores `event` under `key` (its idempotency key: runId|EVENTTYPE|millis)
  // unless that key is stored already: true when stored now, false for a
  // duplicate (nothing changes). `event_time` drives retention. Not fenced:
  // any replica may receive events.
  virtual Result<bool> saveLineageEvent(const std::string& key, TimePoint event_time,
                                        const nlohmann::json& event) = 0;
  // Events with seq > `after`, ascending, at most `limit` (the agent rebuilds
  // its lineage graph from them at start, then follows other replicas' writes).
  virtual Result<std::vector<LineageRow>> lineageEventsAfter(int64_t after, size_t limit) = 0;
  // Deletes events whose event_time < cutoff; returns how many.
  virtual Result<int64_t> pruneLineageBefore(TimePoint cutoff) = 0;

  // ---- the run feed (HA: the leader learns the runs every replica records)
  // Runs committed after `cursor`, at most `limit`, with the cursor of the next
  // page. "" means the feed's current end: no runs, only a cursor. Invariant:
  // across successive calls every committed run is returned exactly once, even
  // when transactions commit out of id order (PostgreSQL: pages are cut at the
  // oldest transaction still in progress that may be a run's insert — any of
  // datawatch's sessions, or another session's while it is young — so a late
  // commit is never skipped and a stranger's long transaction on the same
  // server does not stall the feed).
  virtual Result<RunFeedPage> runFeed(const std::string& cursor, size_t limit) = 0;

  // ---- fencing (HA, agent.state: postgres://)
  // Never called: no fencing (one process: SQLite, the CLI, the contract tests).
  // Once called, the leader's writes — commitAlerts, saveIncident,
  // removeNotification, rescheduleNotification and the outbox claim that
  // dueNotifications makes — succeed only while `epoch` is the fleet's current
  // leader epoch. The check runs inside the write's own transaction under a
  // share lock on the leader row, so a takeover (which updates that row) waits
  // for a write in flight and every later write of the old epoch fails.
  // nullopt rejects them all (a follower). Rejected writes return a Status
  // whose message starts with kFencedPrefix and change nothing.
  static constexpr const char* kFencedPrefix = "fenced: ";
  static bool isFenced(const Status& st) {
    return !st.ok() && st.message().rfind(kFencedPrefix, 0) == 0;
  }
  virtual void fence(std::optional<int64_t> epoch) { (void)epoch; }

  // Cheap reachability check for /readyz.
  virtual Status ping() = 0;
  // Where the store lives, safe to log ("sqlite:///var/lib/datawatch/state.db").
  virtual std::string describe() const = 0;
};

// Opens (creating and migrating as needed) the store named by `url`:
// "sqlite://PATH", or "postgres://..." / "postgresql://..." (libpq URI) for the
// store replicas share (store/postgres_state_store.hpp).
Result<std::unique_ptr<StateStore>> openStateStore(const std::string& url);

}  // namespace datawatch
