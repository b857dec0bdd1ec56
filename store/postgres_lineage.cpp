// PostgresStateStore: the OpenLineage events (StateStore "OpenLineage events";
// table lineage_events, migration 3 in postgres_migrations.cpp). Not fenced:
// every replica receives events.

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdint>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "store/pg_pool.hpp"
#include "store/postgres_state_store.hpp"

namespace datawatch {
namespace {

// File-local names are unique within datawatch_store (unity builds).

// pg_advisory_xact_lock key serialising the inserts ("dwlineag" in ASCII).
constexpr int64_t kLineageInsertLockKey = 0x64776c696e656167;

// Text PostgreSQL accepts (valid UTF-8 without NUL).
std::string lineagePgText(const std::string& s) {
  std::string out = toValidUtf8(s);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

}  // namespace

Result<bool> PostgresStateStore::saveLineageEvent(const std::string& key, TimePoint event_time,
                                                  const nlohmann::json& event) {
  bool stored = false;
  Status st = pool_->run("write (lineage event)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // Seqs in commit order: an identity value is drawn at INSERT, so two
    // concurrent inserts could commit 6 before 5, and a replica reading after 6
    // would never see 5. Under this lock (held to the commit, released after
    // the row is visible) the next insert draws its seq only once this one is
    // visible.
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kLineageInsertLockKey);
    stored = tx.exec_params(
                   "INSERT INTO lineage_events (key, event_time_ms, event) VALUES ($1, $2, $3) "
                   "ON CONFLICT (key) DO NOTHING",
                   lineagePgText(key), toUnixMillis(event_time), lineagePgText(dumpJson(event)))
                 .affected_rows() == 1;
    tx.commit();
    return Status::Ok();
  });
  if (!st) return st;
  return stored;
}

Result<std::vector<LineageRow>> PostgresStateStore::lineageEventsAfter(int64_t after,
                                                                       size_t limit) {
  std::vector<LineageRow> out;
  const auto sql_limit =
      static_cast<int64_t>(std::min<size_t>(limit, static_cast<size_t>(INT64_MAX)));
  Status st = pool_->run("query (lineage events)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto r =
        tx.exec_params("SELECT seq, event FROM lineage_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                       after, sql_limit);
    out.reserve(r.size());
    for (const auto& row : r) {
      auto event = nlohmann::json::parse(row[1].c_str(), nullptr, false);
      if (event.is_discarded()) event = nlohmann::json();  // corrupt: null, the seq still counts
      out.push_back(LineageRow{row[0].as<int64_t>(), std::move(event)});
    }
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Result<int64_t> PostgresStateStore::pruneLineageBefore(TimePoint cutoff) {
  return deleteInBatches("prune (lineage events)",
                         "DELETE FROM lineage_events WHERE seq IN (SELECT seq FROM "
                         "lineage_events WHERE event_time_ms < $1 LIMIT $2)",
                         toUnixMillis(cutoff));
}

}  // namespace datawatch
