// SqliteStateStore: the OpenLineage events (StateStore "OpenLineage events";
// table lineage_events, migration 6 in sqlite_state_store.cpp).

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "probes/sqlite_handle.hpp"
#include "store/sqlite_state_store.hpp"

namespace datawatch {
namespace {

// File-local names are unique within datawatch_store (unity builds).
void bindLineageText(sqlite3_stmt* s, int idx, const std::string& v) {
  sqlite3_bind_text(s, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string lineageColumnText(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

}  // namespace

Result<bool> SqliteStateStore::saveLineageEvent(const std::string& key, TimePoint event_time,
                                                const nlohmann::json& event) {
  MutexLock lock(mu_);
  SqliteStatement s(db_,
                    "INSERT INTO lineage_events (key, event_time_ms, event) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (key) DO NOTHING");
  if (!s.ok())
    return Result<bool>::Error(std::string("state store write failed (lineage event): ") +
                               sqlite3_errmsg(db_));
  bindLineageText(s.get(), 1, key);
  sqlite3_bind_int64(s.get(), 2, toUnixMillis(event_time));
  bindLineageText(s.get(), 3, dumpJson(event));
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Result<bool>::Error(std::string("state store write failed (lineage event): ") +
                               sqlite3_errmsg(db_));
  return sqlite3_changes(db_) == 1;
}

Result<std::vector<LineageRow>> SqliteStateStore::lineageEventsAfter(int64_t after, size_t limit) {
  using R = Result<std::vector<LineageRow>>;
  MutexLock lock(mu_);
  SqliteStatement s(db_,
                    "SELECT seq, event FROM lineage_events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s.ok())
    return R::Error(std::string("state store query failed (lineage events): ") +
                    sqlite3_errmsg(db_));
  sqlite3_bind_int64(s.get(), 1, after);
  sqlite3_bind_int64(s.get(), 2,
                     static_cast<int64_t>(std::min<size_t>(limit, static_cast<size_t>(INT64_MAX))));
  std::vector<LineageRow> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto event = nlohmann::json::parse(lineageColumnText(s.get(), 1), nullptr, false);
    if (event.is_discarded()) event = nlohmann::json();  // corrupt: null, the seq still counts
    out.push_back(LineageRow{sqlite3_column_int64(s.get(), 0), std::move(event)});
  }
  if (rc != SQLITE_DONE)
    return R::Error(std::string("state store query failed (lineage events): ") +
                    sqlite3_errmsg(db_));
  return out;
}

Result<int64_t> SqliteStateStore::pruneLineageBefore(TimePoint cutoff) {
  MutexLock lock(mu_);
  SqliteStatement s(db_, "DELETE FROM lineage_events WHERE event_time_ms < ?1");
  if (!s.ok())
    return Result<int64_t>::Error(std::string("state store prune failed (lineage events): ") +
                                  sqlite3_errmsg(db_));
  sqlite3_bind_int64(s.get(), 1, toUnixMillis(cutoff));
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    return Result<int64_t>::Error(std::string("state store prune failed (lineage events): ") +
                                  sqlite3_errmsg(db_));
  return static_cast<int64_t>(sqlite3_changes(db_));
}

}  // namespace datawatch
