#include "store/sqlite_state_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "probes/sqlite_handle.hpp"

namespace datawatch {
namespace {

// Forward-only migrations; index + 1 is the schema version.
const char* const kMigrations[] = {
    // 1: probe runs
    "CREATE TABLE probe_runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  probe TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL,"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL CHECK (status IN ('pass','fail','error')),"
    "  value REAL, unit TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',"
    "  threshold TEXT NOT NULL DEFAULT '{}', details TEXT NOT NULL DEFAULT '{}',"
    "  observed_at_ms INTEGER NOT NULL, duration_seconds REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX probe_runs_probe_time ON probe_runs (probe, observed_at_ms);"
    "CREATE INDEX probe_runs_time ON probe_runs (observed_at_ms);",
    // 2: probe snapshots (last seen schemas, pinned baselines)
    "CREATE TABLE snapshots (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at_ms INTEGER NOT "
    "NULL);",
    // 3: the notification outbox (SPEC §5: written before sending, kept until
    // delivered or given up after 24 h)
    "CREATE TABLE outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL UNIQUE,"
    "  notifier TEXT NOT NULL, alert_id TEXT NOT NULL, payload TEXT NOT NULL,"
    "  created_at_ms INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_due ON outbox (notifier, next_attempt_ms);",
    // 4: incidents (SPEC §6), one JSON document each
    "CREATE TABLE incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL, opened_at_ms INTEGER NOT "
    "NULL, doc TEXT NOT NULL);"
    "CREATE INDEX incidents_opened ON incidents (opened_at_ms);",
    // 5: per-alert delivery order (an alert's later notification waits for
    // its earlier ones to one notifier: dueNotifications)
    "CREATE INDEX outbox_alert_order ON outbox (notifier, alert_id, seq, next_attempt_ms);",
    // 6: OpenLineage events as received (store/sqlite_lineage.cpp), once per
    // idempotency key; AUTOINCREMENT: a seq is never reused after a prune
    "CREATE TABLE lineage_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,"
    "  event_time_ms INTEGER NOT NULL, event TEXT NOT NULL);"
    "CREATE INDEX lineage_events_time ON lineage_events (event_time_ms);",
    // 7: runs are appended to probe_runs_recent (small: its index stays in
    // the page cache) and moved into probe_run_history in batches; the view
    // probe_runs is both (store/sqlite_probe_runs.cpp). Ids go on from the
    // history's sequence (or its highest id, if higher). The status CHECK is
    // spelled with ORs: an IN list of three builds a temporary b-tree in every
    // INSERT.
    "ALTER TABLE probe_runs RENAME TO probe_run_history;"
    "CREATE TABLE probe_runs_recent ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  probe TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL,"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL CHECK (status = 'pass' OR status = 'fail' OR status = 'error'),"
    "  value REAL, unit TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',"
    "  threshold TEXT NOT NULL DEFAULT '{}', details TEXT NOT NULL DEFAULT '{}',"
    "  observed_at_ms INTEGER NOT NULL, duration_seconds REAL NOT NULL DEFAULT 0);"
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'probe_runs_recent', max("
    "  COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'probe_run_history'), 0),"
    "  COALESCE((SELECT max(id) FROM probe_run_history), 0));"
    "CREATE INDEX probe_runs_recent_probe ON probe_runs_recent (probe, observed_at_ms);"
    "CREATE VIEW probe_runs AS SELECT * FROM probe_run_history"
    "  UNION ALL SELECT * FROM probe_runs_recent;",
};

std::string text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

void bindText(sqlite3_stmt* s, int idx, const std::string& v) {
  sqlite3_bind_text(s, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

int SqliteStateStore::latestSchemaVersion() {
  return static_cast<int>(std::size(kMigrations));
}

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(const std::string& path) {
  using R = Result<std::unique_ptr<SqliteStateStore>>;
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (db) sqlite3_close_v2(db);
    return R::Error("cannot open state store sqlite://" + path + ": " + msg);
  }
  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  std::string err;
  if (!sqliteExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                  err)) {
    return R::Error("cannot configure state store sqlite://" + path + ": " + err);
  }
  if (auto st = store->migrate(); !st) return R(st);
  if (auto st = store->prepareRuns(); !st) return R(st);
  return R(std::move(store));
}

SqliteStateStore::~SqliteStateStore() {
  // Runs left in probe_runs_recent stay there: readers find them, and the
  // next move takes them (no write here: it would lengthen the agent's stop).
  if (insert_) sqlite3_finalize(insert_);
  sqlite3_close_v2(db_);
}

Status SqliteStateStore::migrate() {
  std::string err;
  if (!sqliteExec(db_,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                  "applied_at_ms INTEGER NOT NULL)",
                  err)) {
    return Status::Error("state store migration failed: " + err);
  }
  const int current = schemaVersion();
  if (current > latestSchemaVersion()) {
    return Status::Error("state store " + path_ + " has schema version " + std::to_string(current) +
                         ", newer than this build understands (" +
                         std::to_string(latestSchemaVersion()) + "): upgrade datawatch");
  }
  for (int v = current + 1; v <= latestSchemaVersion(); ++v) {
    if (!sqliteExec(db_, "BEGIN IMMEDIATE", err))
      return Status::Error("state store migration failed: " + err);
    if (schemaVersion() >= v) {  // another process (agent, CLI) applied it meanwhile
      if (!sqliteExec(db_, "COMMIT", err))
        return Status::Error("state store migration failed: " + err);
      continue;
    }
    if (!sqliteExec(db_, kMigrations[v - 1], err)) {
      std::string ignored;
      sqliteExec(db_, "ROLLBACK", ignored);
      return Status::Error("state store migration to version " + std::to_string(v) +
                           " failed: " + err);
    }
    SqliteStatement s(db_, "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, 0)");
    sqlite3_bind_int(s.get(), 1, v);
    if (!s.ok() || sqlite3_step(s.get()) != SQLITE_DONE || !sqliteExec(db_, "COMMIT", err)) {
      std::string ignored;
      sqliteExec(db_, "ROLLBACK", ignored);
      return Status::Error("state store migration to version " + std::to_string(v) +
                           " failed: " + sqlite3_errmsg(db_));
    }
  }
  return Status::Ok();
}

int SqliteStateStore::schemaVersion() {
  SqliteStatement s(db_, "SELECT COALESCE(max(version), 0) FROM schema_migrations");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return 0;
  return sqlite3_column_int(s.get(), 0);
}

Status SqliteStateStore::ping() {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT 1 FROM schema_migrations LIMIT 1");
  if (!s.ok() || sqlite3_step(s.get()) == SQLITE_ERROR) {
    return Status::Error(std::string("state store unreachable: ") + sqlite3_errmsg(db_));
  }
  return Status::Ok();
}

Result<std::optional<nlohmann::json>> SqliteStateStore::loadSnapshot(const std::string& key) {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT value FROM snapshots WHERE key = ?1");
  if (!s.ok())
    return Result<std::optional<nlohmann::json>>::Error(std::string("state store query failed: ") +
                                                        sqlite3_errmsg(db_));
  bindText(s.get(), 1, key);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<nlohmann::json>{};
  if (rc != SQLITE_ROW)
    return Result<std::optional<nlohmann::json>>::Error(std::string("state store query failed: ") +
                                                        sqlite3_errmsg(db_));
  auto j = nlohmann::json::parse(text(s.get(), 0), nullptr, false);
  if (j.is_discarded())
    return Result<std::optional<nlohmann::json>>::Error("state store: snapshot " + key +
                                                        " is corrupt");
  return std::optional<nlohmann::json>(std::move(j));
}

Status SqliteStateStore::saveSnapshot(const std::string& key, const nlohmann::json& value) {
  MutexLock lock(mu_);
  return saveSnapshotLocked(key, value);
}

Status SqliteStateStore::saveSnapshotLocked(const std::string& key, const nlohmann::json& value) {
  SqliteStatement s(db_,
                    "INSERT INTO snapshots (key, value, updated_at_ms) VALUES (?1, ?2, 0) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!s.ok())
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  bindText(s.get(), 1, key);
  bindText(s.get(), 2, dumpJson(value));
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status SqliteStateStore::commitAlerts(const std::string& key, const nlohmann::json& value,
                                      const std::vector<OutboxItem>& items,
                                      const std::vector<nlohmann::json>& incidents) {
  MutexLock lock(mu_);
  std::string err;
  if (!sqliteExec(db_, "BEGIN IMMEDIATE", err))
    return Status::Error("state store write failed: " + err);
  auto fail = [&](const std::string& what) {
    std::string ignored;
    sqliteExec(db_, "ROLLBACK", ignored);
    return Status::Error("state store write failed (" + what + "): " + sqlite3_errmsg(db_));
  };
  if (auto st = saveSnapshotLocked(key, value); !st) return fail("alerts");
  SqliteStatement s(db_,
                    "INSERT INTO outbox (delivery_id, notifier, alert_id, payload, created_at_ms, "
                    "next_attempt_ms, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
                    "ON CONFLICT (delivery_id) DO NOTHING");
  if (!s.ok()) return fail("outbox");
  for (const auto& it : items) {
    sqlite3_reset(s.get());
    bindText(s.get(), 1, it.delivery_id);
    bindText(s.get(), 2, it.notifier);
    bindText(s.get(), 3, it.alert_id);
    bindText(s.get(), 4, dumpJson(it.payload));
    sqlite3_bind_int64(s.get(), 5, toUnixMillis(it.created_at));
    sqlite3_bind_int64(s.get(), 6, toUnixMillis(it.next_attempt));
    if (sqlite3_step(s.get()) != SQLITE_DONE) return fail("outbox");
  }
  for (const auto& doc : incidents)
    if (auto st = saveIncidentLocked(doc); !st) return fail("incidents");
  if (!sqliteExec(db_, "COMMIT", err)) return fail("commit");
  return Status::Ok();
}

Result<std::vector<OutboxItem>> SqliteStateStore::dueNotifications(const std::string& notifier,
                                                                   TimePoint due, size_t limit) {
  using R = Result<std::vector<OutboxItem>>;
  MutexLock lock(mu_);
  SqliteStatement s(db_,
                    "SELECT seq, delivery_id, notifier, alert_id, payload, created_at_ms, "
                    "next_attempt_ms, attempts, last_error FROM outbox o "
                    "WHERE notifier = ?1 AND next_attempt_ms <= ?2 AND NOT EXISTS ("
                    "  SELECT 1 FROM outbox e WHERE e.notifier = o.notifier "
                    "  AND e.alert_id = o.alert_id AND e.seq < o.seq AND e.next_attempt_ms > ?2) "
                    "ORDER BY seq LIMIT ?3");
  if (!s.ok()) return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  bindText(s.get(), 1, notifier);
  sqlite3_bind_int64(s.get(), 2, toUnixMillis(due));
  sqlite3_bind_int64(s.get(), 3, static_cast<int64_t>(limit));
  std::vector<OutboxItem> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    OutboxItem it;
    it.seq = sqlite3_column_int64(s.get(), 0);
    it.delivery_id = text(s.get(), 1);
    it.notifier = text(s.get(), 2);
    it.alert_id = text(s.get(), 3);
    it.payload = nlohmann::json::parse(text(s.get(), 4), nullptr, false);
    if (it.payload.is_discarded()) it.payload = nlohmann::json::object();
    it.created_at = fromUnixMillis(sqlite3_column_int64(s.get(), 5));
    it.next_attempt = fromUnixMillis(sqlite3_column_int64(s.get(), 6));
    it.attempts = sqlite3_column_int(s.get(), 7);
    it.last_error = text(s.get(), 8);
    out.push_back(std::move(it));
  }
  if (rc != SQLITE_DONE)
    return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  return out;
}

Result<std::optional<TimePoint>> SqliteStateStore::nextNotificationAt(const std::string& notifier) {
  using R = Result<std::optional<TimePoint>>;
  MutexLock lock(mu_);
  // Only the head of each alert's queue: the ones behind it wait for it.
  SqliteStatement s(db_,
                    "SELECT min(next_attempt_ms) FROM outbox o WHERE notifier = ?1 AND NOT EXISTS ("
                    "  SELECT 1 FROM outbox e WHERE e.notifier = o.notifier "
                    "  AND e.alert_id = o.alert_id AND e.seq < o.seq)");
  if (!s.ok()) return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  bindText(s.get(), 1, notifier);
  if (sqlite3_step(s.get()) != SQLITE_ROW)
    return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  if (sqlite3_column_type(s.get(), 0) == SQLITE_NULL) return std::optional<TimePoint>{};
  return std::optional<TimePoint>(fromUnixMillis(sqlite3_column_int64(s.get(), 0)));
}

Status SqliteStateStore::removeNotification(int64_t seq) {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "DELETE FROM outbox WHERE seq = ?1");
  if (!s.ok())
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  sqlite3_bind_int64(s.get(), 1, seq);
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Status SqliteStateStore::rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                                const std::string& error) {
  MutexLock lock(mu_);
  SqliteStatement s(db_,
                    "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4 "
                    "WHERE seq = ?1");
  if (!s.ok())
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  sqlite3_bind_int64(s.get(), 1, seq);
  sqlite3_bind_int(s.get(), 2, attempts);
  sqlite3_bind_int64(s.get(), 3, toUnixMillis(next_attempt));
  bindText(s.get(), 4, error);
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<int64_t> SqliteStateStore::countNotifications() {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT count(*) FROM outbox");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW)
    return Result<int64_t>::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
}

Result<std::vector<std::string>> SqliteStateStore::queuedNotifiers() {
  using R = Result<std::vector<std::string>>;
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT DISTINCT notifier FROM outbox ORDER BY notifier");
  if (!s.ok()) return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  std::vector<std::string> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(text(s.get(), 0));
  return out;
}

Status SqliteStateStore::saveIncident(const nlohmann::json& doc) {
  MutexLock lock(mu_);
  return saveIncidentLocked(doc);
}

Status SqliteStateStore::saveIncidentLocked(const nlohmann::json& doc) {
  SqliteStatement s(db_,
                    "INSERT INTO incidents (id, status, opened_at_ms, doc) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc");
  if (!s.ok())
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  const auto opened = parseTimestamp(doc.value("opened_at", ""));
  bindText(s.get(), 1, doc.value("id", ""));
  bindText(s.get(), 2, doc.value("status", "open"));
  sqlite3_bind_int64(s.get(), 3, opened ? toUnixMillis(*opened) : 0);
  bindText(s.get(), 4, dumpJson(doc));
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Status::Error(std::string("state store write failed: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

Result<std::vector<nlohmann::json>> SqliteStateStore::loadIncidents(bool open_only, size_t limit) {
  using R = Result<std::vector<nlohmann::json>>;
  MutexLock lock(mu_);
  SqliteStatement s(db_, std::string("SELECT doc FROM incidents") +
                             (open_only ? " WHERE status = 'open'" : "") +
                             " ORDER BY opened_at_ms DESC, id DESC LIMIT ?1");
  if (!s.ok()) return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  sqlite3_bind_int64(s.get(), 1, static_cast<int64_t>(limit));
  std::vector<nlohmann::json> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto j = nlohmann::json::parse(text(s.get(), 0), nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  if (rc != SQLITE_DONE)
    return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  return out;
}

Result<std::optional<nlohmann::json>> SqliteStateStore::loadIncident(const std::string& id) {
  using R = Result<std::optional<nlohmann::json>>;
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT doc FROM incidents WHERE id = ?1");
  if (!s.ok()) return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  bindText(s.get(), 1, id);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<nlohmann::json>{};
  if (rc != SQLITE_ROW)
    return R::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  auto j = nlohmann::json::parse(text(s.get(), 0), nullptr, false);
  if (j.is_discarded()) return R::Error("state store: incident " + id + " is corrupt");
  return std::optional<nlohmann::json>(std::move(j));
}

Result<int> SqliteStateStore::nextIncidentSeq(const std::string& day) {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "SELECT count(*) FROM incidents WHERE id LIKE ?1");
  if (!s.ok())
    return Result<int>::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  bindText(s.get(), 1, "INC-" + day + "-%");
  if (sqlite3_step(s.get()) != SQLITE_ROW)
    return Result<int>::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  return sqlite3_column_int(s.get(), 0) + 1;
}

}  // namespace datawatch
