#pragma once
// StateStore on PostgreSQL, shared by the agent replicas of a fleet
// (agent.state: postgres://...).
//
// - Versioned forward-only migrations (table schema_migrations) applied under a
//   session advisory lock, so replicas starting together migrate once; a
//   database at a newer version than this build knows is refused.
//   Migration 2 creates the fleet's tables (store/postgres_ha_schema.hpp).
// - Times are bigint milliseconds since the epoch (exact to the millisecond, as
//   in SQLite); JSON documents are stored as text.
// - A small pool (store/pg_pool.hpp): statement timeouts, reconnect with backoff.
// - runFeed cursors are "<txid>:<id>" (xid8 of the inserting transaction, row
//   id); pages stop at the oldest transaction still in progress.
// - fence(): see StateStore. The fenced writes check dw_leader.epoch under FOR
//   SHARE inside their own transaction.
// - OpenLineage events (store/postgres_lineage.cpp; migration 3): not fenced.
//   saveLineageEvent takes a transaction-scoped advisory lock before its INSERT,
//   so seqs are assigned in commit order and a replica following the table with
//   lineageEventsAfter never skips an event that commits late.
// Thread-safe; never throws.

#include <map>
#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "store/state_store.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace datawatch {

class PgPool;

class PostgresStateStore final : public StateStore {
 public:
  struct Options {
    size_t pool_size = 4;
    Duration statement_timeout = std::chrono::seconds(5);
    const Clock* clock = nullptr;  // backoff timing; nullptr: the system clock
    // runFeed: another application's transaction in progress for longer than
    // this does not hold the feed back (datawatch's own, a run's insert or a
    // batch of them, always does: feedHorizon).
    Duration feed_txn_age = std::chrono::seconds(15);
  };
  // Connects, and applies pending migrations. `url`: a libpq URI or key=value DSN.
  static Result<std::unique_ptr<PostgresStateStore>> open(const std::string& url, Options options);
  static Result<std::unique_ptr<PostgresStateStore>> open(const std::string& url) {
    return open(url, Options{});
  }
  ~PostgresStateStore() override;
  PostgresStateStore(const PostgresStateStore&) = delete;
  PostgresStateStore& operator=(const PostgresStateStore&) = delete;

  Status recordRun(const ProbeResult& result) override;
  // One transaction (so one txid: the run feed takes them as a unit) of
  // multi-row INSERTs of up to kRunsPerInsert runs each.
  Status recordSharedRuns(const std::vector<SharedRun>& runs) override;
  Result<std::optional<ProbeResult>> lastRun(const std::string& probe) override;
  Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& probe) override;
  Result<std::vector<ProbeResult>> runs(const std::string& probe, TimePoint from, TimePoint to,
                                        size_t limit = 100000) override;
  Result<std::vector<ProbeResult>> latestRuns(const std::string& probe, TimePoint from,
                                              TimePoint to, size_t limit) override;
  Result<int64_t> countRuns() override;
  // In batches of kPruneBatch rows, each its own short transaction.
  Result<int64_t> pruneBefore(TimePoint cutoff) override;
  Status ping() override;
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override;
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override;
  Status commitAlerts(const std::string& key, const nlohmann::json& value,
                      const std::vector<OutboxItem>& items,
                      const std::vector<nlohmann::json>& incidents = {}) override;
  Result<std::vector<OutboxItem>> dueNotifications(const std::string& notifier, TimePoint due,
                                                   size_t limit) override;
  Result<std::optional<TimePoint>> nextNotificationAt(const std::string& notifier) override;
  Status removeNotification(int64_t seq) override;
  Status rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                const std::string& error) override;
  Result<int64_t> countNotifications() override;
  Result<std::vector<std::string>> queuedNotifiers() override;
  Status saveIncident(const nlohmann::json& doc) override;
  Result<std::vector<nlohmann::json>> loadIncidents(bool open_only, size_t limit) override;
  Result<std::optional<nlohmann::json>> loadIncident(const std::string& id) override;
  Result<int> nextIncidentSeq(const std::string& day) override;
  Result<RunFeedPage> runFeed(const std::string& cursor, size_t limit) override;
  // An event whose stored text no longer parses comes back as JSON null.
  Result<bool> saveLineageEvent(const std::string& key, TimePoint event_time,
                                const nlohmann::json& event) override;
  Result<std::vector<LineageRow>> lineageEventsAfter(int64_t after, size_t limit) override;
  // In batches of kPruneBatch rows, each its own short transaction.
  Result<int64_t> pruneLineageBefore(TimePoint cutoff) override;
  void fence(std::optional<int64_t> epoch) override;
  std::string describe() const override;

  static constexpr int64_t kPruneBatch = 5000;
  static constexpr size_t kRunsPerInsert = 256;  // 13 parameters a run: 3,328 of 65,535
  static int latestSchemaVersion();

 private:
  // Runs `delete_sql` ($1 the cutoff in ms, $2 kPruneBatch) until it deletes
  // fewer than a batch; the total deleted. `what` names it in errors.
  Result<int64_t> deleteInBatches(const char* what, const std::string& delete_sql,
                                  int64_t cutoff_ms);
  PostgresStateStore(std::unique_ptr<PgPool> pool, Options options);
  // Fails with kFencedPrefix unless the fence (if any) holds; inside `tx`.
  Status checkFence(pqxx::transaction_base& tx) EXCLUDES(fence_mu_);
  Result<std::vector<ProbeResult>> select(const std::string& where_sql, const std::string& probe,
                                          int64_t from_ms, int64_t to_ms, size_t limit,
                                          bool newest_first);

  // The run feed's horizon: the oldest young transaction in progress.
  uint64_t feedHorizon(pqxx::transaction_base& tx) EXCLUDES(feed_mu_);

  std::unique_ptr<PgPool> pool_;
  Options options_;
  Mutex feed_mu_;
  // Transactions seen in progress by runFeed, and since when.
  std::map<uint64_t, std::chrono::steady_clock::time_point> xip_first_seen_ GUARDED_BY(feed_mu_);
  Mutex fence_mu_;
  bool fenced_ GUARDED_BY(fence_mu_) = false;  // fence() was called
  std::optional<int64_t> epoch_ GUARDED_BY(fence_mu_);
};

// Applies the PostgreSQL store's pending migrations on `c` under the advisory
// lock (store/postgres_migrations.cpp), then sets the session's statement timeout
// back to `statement_timeout`. Throws pqxx exceptions (the pool catches).
Status migratePostgresStateStore(pqxx::connection_base& c, Duration statement_timeout);
int postgresStateStoreSchemaVersion();

}  // namespace datawatch
