// SqliteStateStore: probe runs (StateStore "probe runs"; migrations 1 and 7
// in sqlite_state_store.cpp).
//
// Where a run lives (issue 19): a commit appends to probe_runs_recent. Its
// per-probe index covers at most ~kRecentRuns runs, so it stays in SQLite's
// page cache and a commit rewrites a few dozen small pages. Keeping the
// history's index (probe, observed_at_ms) current on every commit wrote one
// leaf of a large, mostly uncached index per probe in the batch (and read
// it first): at 1,000 probes a second, most of the writer's work. After
// kRecentRuns runs, the writer's next commit moves the recent runs into
// probe_run_history in one transaction, so each probe's history leaf is
// written once per move instead of once per run. Only the agent's writer
// moves: opening or closing a store (CLI commands, a stop) writes nothing.
//
// Invariants:
// - A run is in exactly one of the two tables at every commit: the move is
//   one transaction (INSERT ... SELECT, then DELETE).
// - Ids come from probe_runs_recent's AUTOINCREMENT sequence (seeded by
//   migration 7 above every id the history gave) and keep their value when
//   moved: ids follow commit order across both tables, so the run feed's
//   cursor stays an id.
// - Every reader reads both tables, each through its own index: the view
//   probe_runs where SQLite merges the two by id (the feed), a compound
//   SELECT with the same WHERE on each side elsewhere.
// - A move that fails changes nothing and is tried again after another
//   kRecentRuns runs; until then the recent table is larger, never wrong.

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <string_view>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "probes/sqlite_handle.hpp"
#include "store/sqlite_state_store.hpp"

namespace datawatch {
namespace {

// File-local names are unique within datawatch_store (unity builds).
constexpr const char* kRunColumns =
    "probe, type, source, target, owner, status, value, unit, message, threshold, details, "
    "observed_at_ms, duration_seconds";

// BEGIN IMMEDIATE, `body`, COMMIT; ROLLBACK when any of them fails. A failed
// BEGIN or COMMIT is reported after `what`; the body's own error as it is.
Status inWriteTransaction(sqlite3* db, const std::string& what,
                          const std::function<Status()>& body) {
  std::string err;
  if (!sqliteExec(db, "BEGIN IMMEDIATE", err)) return Status::Error(what + ": " + err);
  Status st = body();
  if (st && sqliteExec(db, "COMMIT", err)) return st;
  std::string ignored;
  sqliteExec(db, "ROLLBACK", ignored);
  return st ? Status::Error(what + ": " + err) : st;
}

std::string runColumnText(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

ProbeResult readRunRow(sqlite3_stmt* s) {
  ProbeResult r;
  r.probe = runColumnText(s, 0);
  r.type = runColumnText(s, 1);
  r.source = runColumnText(s, 2);
  r.target = runColumnText(s, 3);
  r.owner = runColumnText(s, 4);
  r.status = probeStatusFromString(runColumnText(s, 5)).value_or(ProbeStatus::Error);
  if (sqlite3_column_type(s, 6) != SQLITE_NULL) r.value = sqlite3_column_double(s, 6);
  r.unit = runColumnText(s, 7);
  r.message = runColumnText(s, 8);
  r.threshold = nlohmann::json::parse(runColumnText(s, 9), nullptr, false);
  if (r.threshold.is_discarded()) r.threshold = nlohmann::json::object();
  r.details = nlohmann::json::parse(runColumnText(s, 10), nullptr, false);
  if (r.details.is_discarded()) r.details = nlohmann::json::object();
  r.observed_at = fromUnixMillis(sqlite3_column_int64(s, 11));
  r.duration_seconds = sqlite3_column_double(s, 12);
  return r;
}

}  // namespace

Status SqliteStateStore::prepareRuns() {
  MutexLock lock(mu_);
  const char* insert =
      "INSERT INTO probe_runs_recent (probe, type, source, target, owner, status, value, unit, "
      "message, threshold, details, observed_at_ms, duration_seconds) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(db_, insert, -1, &insert_, nullptr) != SQLITE_OK) {
    return Status::Error(std::string("cannot prepare state store statement: ") +
                         sqlite3_errmsg(db_));
  }
  SqliteStatement s(db_, "SELECT count(*) FROM probe_runs_recent");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW)
    return Status::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  recent_runs_ = static_cast<size_t>(sqlite3_column_int64(s.get(), 0));
  return Status::Ok();
}

Status SqliteStateStore::moveRecentRunsLocked() {
  if (recent_runs_ == 0) return Status::Ok();
  const std::string what = "cannot move recent probe runs into their history";
  const std::string move = std::string("INSERT INTO probe_run_history (id, ") + kRunColumns +
                           ") SELECT id, " + kRunColumns +
                           " FROM probe_runs_recent ORDER BY id; DELETE FROM probe_runs_recent;";
  auto st = inWriteTransaction(db_, what, [&] {
    std::string err;
    return sqliteExec(db_, move.c_str(), err) ? Status::Ok() : Status::Error(what + ": " + err);
  });
  if (st) recent_runs_ = 0;
  return st;
}

void SqliteStateStore::afterRunsCommitted(size_t n) {
  recent_runs_ += n;
  if (recent_runs_ < kRecentRuns) return;
  // Stored either way. A failed move (disk full, a lock held past the busy
  // timeout) is tried again after another kRecentRuns runs, not every commit.
  if (!moveRecentRunsLocked()) recent_runs_ = 0;
}

Status SqliteStateStore::recordRun(const ProbeResult& r) {
  MutexLock lock(mu_);
  if (auto st = insertRunLocked(r); !st) return st;
  afterRunsCommitted(1);
  return Status::Ok();
}

Status SqliteStateStore::recordSharedRuns(const std::vector<SharedRun>& runs) {
  MutexLock lock(mu_);
  auto st =
      inWriteTransaction(db_, "cannot record probe runs in the state store", [&]() REQUIRES(mu_) {
        for (const auto& r : runs)
          if (auto one = insertRunLocked(*r); !one) return one;
        return Status::Ok();
      });
  if (!st) return st;
  afterRunsCommitted(runs.size());
  return Status::Ok();
}

Status SqliteStateStore::insertRunLocked(const ProbeResult& r) {
  // Text bound without a copy (SQLITE_STATIC, issue 19: the copies were most of
  // an insert's allocations): everything bound outlives the step below, and the
  // bindings are cleared before this returns.
  const std::string threshold = dumpJson(r.threshold);
  const std::string details = dumpJson(r.details);
  const auto bindStatic = [](sqlite3_stmt* st, int idx, std::string_view v) {
    sqlite3_bind_text(st, idx, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  sqlite3_stmt* s = insert_;
  bindStatic(s, 1, r.probe);
  bindStatic(s, 2, r.type);
  bindStatic(s, 3, r.source);
  bindStatic(s, 4, r.target);
  bindStatic(s, 5, r.owner);
  bindStatic(s, 6, toString(r.status));
  if (r.value && std::isfinite(*r.value))
    sqlite3_bind_double(s, 7, *r.value);
  else
    sqlite3_bind_null(s, 7);
  bindStatic(s, 8, r.unit);
  bindStatic(s, 9, r.message);
  bindStatic(s, 10, threshold);
  bindStatic(s, 11, details);
  sqlite3_bind_int64(s, 12, toUnixMillis(r.observed_at));
  sqlite3_bind_double(s, 13, r.duration_seconds);
  const bool done = sqlite3_step(s) == SQLITE_DONE;
  const std::string err = done ? std::string() : sqlite3_errmsg(db_);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);  // no pointer into this call's strings is kept
  if (!done) return Status::Error("cannot record probe run in the state store: " + err);
  return Status::Ok();
}

Result<std::vector<ProbeResult>> SqliteStateStore::select(const std::string& where_sql,
                                                          const std::string& probe, int64_t from_ms,
                                                          int64_t to_ms, size_t limit,
                                                          bool newest_first) {
  MutexLock lock(mu_);
  // Not the view: with a WHERE on probe and time SQLite runs the view as a
  // subquery and sorts every matching run of the history before the LIMIT.
  // As a compound with ORDER BY it merges the two sides, each read in order
  // from its (probe, observed_at_ms) index, and stops at the LIMIT.
  const std::string where =
      " WHERE probe = ?1 AND observed_at_ms >= ?2 AND observed_at_ms < ?3" + where_sql;
  const char* dir = newest_first ? " DESC" : " ASC";
  const std::string sql = std::string("SELECT ") + kRunColumns + ", id FROM probe_run_history" +
                          where + " UNION ALL SELECT " + kRunColumns +
                          ", id FROM probe_runs_recent" + where + " ORDER BY observed_at_ms" + dir +
                          ", id" + dir + " LIMIT ?4";
  SqliteStatement s(db_, sql);
  if (!s.ok())
    return Result<std::vector<ProbeResult>>::Error(std::string("state store query failed: ") +
                                                   sqlite3_errmsg(db_));
  sqlite3_bind_text(s.get(), 1, probe.data(), static_cast<int>(probe.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 2, from_ms);
  sqlite3_bind_int64(s.get(), 3, to_ms);
  sqlite3_bind_int64(s.get(), 4, static_cast<int64_t>(limit));
  std::vector<ProbeResult> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(readRunRow(s.get()));
  if (rc != SQLITE_DONE)
    return Result<std::vector<ProbeResult>>::Error(std::string("state store query failed: ") +
                                                   sqlite3_errmsg(db_));
  return out;
}

Result<std::optional<ProbeResult>> SqliteStateStore::lastRun(const std::string& probe) {
  auto r = select("", probe, INT64_MIN, INT64_MAX, 1, true);
  if (!r) return r.status();
  if (r->empty()) return std::optional<ProbeResult>{};
  return std::optional<ProbeResult>(std::move(r->front()));
}

Result<std::optional<ProbeResult>> SqliteStateStore::lastMeasuredRun(const std::string& probe) {
  auto r =
      select(" AND value IS NOT NULL AND status != 'error'", probe, INT64_MIN, INT64_MAX, 1, true);
  if (!r) return r.status();
  if (r->empty()) return std::optional<ProbeResult>{};
  return std::optional<ProbeResult>(std::move(r->front()));
}

Result<std::vector<ProbeResult>> SqliteStateStore::runs(const std::string& probe, TimePoint from,
                                                        TimePoint to, size_t limit) {
  return select("", probe, toUnixMillis(from), toUnixMillis(to), limit, false);
}

Result<std::vector<ProbeResult>> SqliteStateStore::latestRuns(const std::string& probe,
                                                              TimePoint from, TimePoint to,
                                                              size_t limit) {
  auto r = select("", probe, toUnixMillis(from), toUnixMillis(to), limit, true);
  if (r) std::reverse(r->begin(), r->end());
  return r;
}

Result<int64_t> SqliteStateStore::countRuns() {
  MutexLock lock(mu_);
  // Per table: count(*) on the view would read every row of the history.
  SqliteStatement s(db_,
                    "SELECT (SELECT count(*) FROM probe_run_history) + "
                    "(SELECT count(*) FROM probe_runs_recent)");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) {
    return Result<int64_t>::Error(std::string("state store query failed: ") + sqlite3_errmsg(db_));
  }
  return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
}

Result<int64_t> SqliteStateStore::pruneBefore(TimePoint cutoff) {
  MutexLock lock(mu_);
  const std::string what = "state store prune failed";
  int64_t pruned = 0;
  auto st = inWriteTransaction(db_, what, [&] {
    for (const char* table : {"probe_run_history", "probe_runs_recent"}) {
      SqliteStatement s(db_, std::string("DELETE FROM ") + table + " WHERE observed_at_ms < ?1");
      if (s.ok()) sqlite3_bind_int64(s.get(), 1, toUnixMillis(cutoff));
      if (!s.ok() || sqlite3_step(s.get()) != SQLITE_DONE)
        return Status::Error(what + ": " + sqlite3_errmsg(db_));
      pruned += sqlite3_changes(db_);
    }
    return Status::Ok();
  });
  if (!st) return Result<int64_t>(st);
  return pruned;
}

Result<RunFeedPage> SqliteStateStore::runFeed(const std::string& cursor, size_t limit) {
  // Writers take the database's write lock (BEGIN IMMEDIATE) and ids come from
  // one sequence, so ids follow commit order: the id is the cursor. The view
  // reads both tables; SQLite merges them by id.
  MutexLock lock(mu_);
  const auto fail = [&] {
    return Result<RunFeedPage>::Error(std::string("state store query failed: ") +
                                      sqlite3_errmsg(db_));
  };
  RunFeedPage page;
  if (cursor.empty()) {
    SqliteStatement s(db_,
                      "SELECT max((SELECT COALESCE(max(id), 0) FROM probe_run_history), "
                      "(SELECT COALESCE(max(id), 0) FROM probe_runs_recent))");
    if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return fail();
    page.cursor = std::to_string(sqlite3_column_int64(s.get(), 0));
    return page;
  }
  int64_t after = 0;
  try {
    after = std::stoll(cursor);
  } catch (const std::exception&) {
    return Result<RunFeedPage>::Error("run feed: malformed cursor \"" + cursor + "\"");
  }
  SqliteStatement s(db_, std::string("SELECT ") + kRunColumns +
                             ", id FROM probe_runs WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!s.ok()) return fail();
  sqlite3_bind_int64(s.get(), 1, after);
  sqlite3_bind_int64(s.get(), 2, static_cast<int64_t>(limit));
  int rc;
  const int id_col = sqlite3_column_count(s.get()) - 1;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    page.runs.push_back(readRunRow(s.get()));
    after = sqlite3_column_int64(s.get(), id_col);
  }
  if (rc != SQLITE_DONE) return fail();
  page.cursor = std::to_string(after);
  return page;
}

}  // namespace datawatch
