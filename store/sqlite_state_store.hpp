#pragma once
// StateStore on a SQLite file: WAL journal, versioned schema with forward-only
// migrations (table schema_migrations), one connection guarded by a mutex.
// Probe runs (tables probe_runs_recent and probe_run_history, the view
// probe_runs over both) are in store/sqlite_probe_runs.cpp, whose header
// comment holds their invariants; the OpenLineage events (table
// lineage_events, migration 6) in store/sqlite_lineage.cpp.

#include "core/mutex.hpp"
#include "store/state_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace datawatch {

class SqliteStateStore final : public StateStore {
 public:
  // Creates the file (and its folder) if missing and applies pending migrations.
  static Result<std::unique_ptr<SqliteStateStore>> open(const std::string& path);
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  Status recordRun(const ProbeResult& result) override;
  // BEGIN IMMEDIATE, the prepared insert per run, COMMIT (ROLLBACK on error).
  Status recordSharedRuns(const std::vector<SharedRun>& runs) override;
  Result<std::optional<ProbeResult>> lastRun(const std::string& probe) override;
  Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& probe) override;
  Result<std::vector<ProbeResult>> runs(const std::string& probe, TimePoint from, TimePoint to,
                                        size_t limit = 100000) override;
  Result<std::vector<ProbeResult>> latestRuns(const std::string& probe, TimePoint from,
                                              TimePoint to, size_t limit) override;
  Result<int64_t> countRuns() override;
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
  // seq is an AUTOINCREMENT rowid: never reused, even after a prune, so an
  // `after` cursor never skips a later event. An event whose stored text no
  // longer parses comes back as JSON null (its seq still advances the cursor).
  Result<bool> saveLineageEvent(const std::string& key, TimePoint event_time,
                                const nlohmann::json& event) override;
  Result<std::vector<LineageRow>> lineageEventsAfter(int64_t after, size_t limit) override;
  Result<int64_t> pruneLineageBefore(TimePoint cutoff) override;
  std::string describe() const override { return "sqlite://" + path_; }

  // Runs kept in probe_runs_recent before they move into probe_run_history:
  // the move writes each probe's history leaf once; at 1,000 probes a second,
  // a move every ~8 s.
  static constexpr size_t kRecentRuns = 8192;

  // The schema version after migrations (for tests and `version`).
  int schemaVersion();
  static int latestSchemaVersion();

 private:
  SqliteStateStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status migrate();
  Status insertRunLocked(const ProbeResult& r) REQUIRES(mu_);
  // Prepares insert_ and counts the runs in probe_runs_recent (open()).
  Status prepareRuns() EXCLUDES(mu_);
  // One transaction: probe_runs_recent into probe_run_history.
  Status moveRecentRunsLocked() REQUIRES(mu_);
  // Counts n committed runs; moves the recent runs once there are kRecentRuns.
  void afterRunsCommitted(size_t n) REQUIRES(mu_);
  Status saveSnapshotLocked(const std::string& key, const nlohmann::json& value) REQUIRES(mu_);
  Status saveIncidentLocked(const nlohmann::json& doc) REQUIRES(mu_);
  Result<std::vector<ProbeResult>> select(const std::string& where_sql, const std::string& probe,
                                          int64_t from_ms, int64_t to_ms, size_t limit,
                                          bool newest_first) EXCLUDES(mu_);
  Mutex mu_;
  // The connection: every statement on it holds mu_ (open() and migrate() run
  // before the store is shared).
  sqlite3* const db_ PT_GUARDED_BY(mu_);
  sqlite3_stmt* insert_ GUARDED_BY(mu_) = nullptr;
  // Runs in probe_runs_recent as far as this connection knows (another
  // process's move makes it an overestimate: the next move is then early).
  size_t recent_runs_ GUARDED_BY(mu_) = 0;
  std::string path_;
};

}  // namespace datawatch
