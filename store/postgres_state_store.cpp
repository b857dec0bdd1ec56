#include "store/postgres_state_store.hpp"

#include <pqxx/pqxx>

#include <set>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "store/pg_pool.hpp"

namespace datawatch {
namespace {

// How long opening the store may spend migrating it (PgPool::run's limit).
constexpr Duration kMigrationLimit = std::chrono::minutes(10);

constexpr const char* kPgRunColumns =
    "probe, type, source, target, owner, status, value, unit, message, threshold, details, "
    "observed_at_ms, duration_seconds";

constexpr const char* kOutboxColumns =
    "seq, delivery_id, notifier, alert_id, payload, created_at_ms, next_attempt_ms, attempts, "
    "last_error";

nlohmann::json parseObject(const pqxx::field& f) {
  auto j = nlohmann::json::parse(f.c_str(), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

ProbeResult readRun(const pqxx::row& row) {
  ProbeResult r;
  r.probe = row[0].as<std::string>();
  r.type = row[1].as<std::string>();
  r.source = row[2].as<std::string>();
  r.target = row[3].as<std::string>();
  r.owner = row[4].as<std::string>();
  r.status = probeStatusFromString(row[5].as<std::string>()).value_or(ProbeStatus::Error);
  if (!row[6].is_null()) r.value = row[6].as<double>();
  r.unit = row[7].as<std::string>();
  r.message = row[8].as<std::string>();
  r.threshold = parseObject(row[9]);
  r.details = parseObject(row[10]);
  r.observed_at = fromUnixMillis(row[11].as<int64_t>());
  r.duration_seconds = row[12].as<double>();
  return r;
}

OutboxItem readItem(const pqxx::row& row) {
  OutboxItem it;
  it.seq = row[0].as<int64_t>();
  it.delivery_id = row[1].as<std::string>();
  it.notifier = row[2].as<std::string>();
  it.alert_id = row[3].as<std::string>();
  it.payload = parseObject(row[4]);
  it.created_at = fromUnixMillis(row[5].as<int64_t>());
  it.next_attempt = fromUnixMillis(row[6].as<int64_t>());
  it.attempts = row[7].as<int>();
  it.last_error = row[8].as<std::string>();
  return it;
}

// A double as text that reads back exactly.
std::string exactDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

int64_t sqlLimit(size_t limit) {
  return static_cast<int64_t>(std::min<size_t>(limit, static_cast<size_t>(INT64_MAX)));
}

// Text PostgreSQL accepts (valid UTF-8 without NUL).
std::string pgText(const std::string& s) {
  std::string out = toValidUtf8(s);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

void upsertSnapshot(pqxx::transaction_base& tx, const std::string& key,
                    const nlohmann::json& value) {
  tx.exec_params(
      "INSERT INTO snapshots (key, value, updated_at_ms) VALUES ($1, $2, 0) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      pgText(key), pgText(dumpJson(value)));
}

void upsertIncident(pqxx::transaction_base& tx, const nlohmann::json& doc) {
  const auto opened = parseTimestamp(doc.value("opened_at", ""));
  tx.exec_params(
      "INSERT INTO incidents (id, status, opened_at_ms, doc) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
      pgText(doc.value("id", "")), pgText(doc.value("status", "open")),
      opened ? toUnixMillis(*opened) : int64_t{0}, pgText(dumpJson(doc)));
}

// "<txid>:<id>" -> (txid, id).
bool parseCursor(const std::string& cursor, std::string& txid, int64_t& id) {
  const auto colon = cursor.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  txid = cursor.substr(0, colon);
  if (txid.find_first_not_of("0123456789") != std::string::npos) return false;
  try {
    size_t used = 0;
    id = std::stoll(cursor.substr(colon + 1), &used);
    return used == cursor.size() - colon - 1;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int PostgresStateStore::latestSchemaVersion() {
  return postgresStateStoreSchemaVersion();
}

PostgresStateStore::PostgresStateStore(std::unique_ptr<PgPool> pool, Options options)
    : pool_(std::move(pool)), options_(options) {}

PostgresStateStore::~PostgresStateStore() = default;

Result<std::unique_ptr<PostgresStateStore>> PostgresStateStore::open(const std::string& url,
                                                                     Options options) {
  using R = Result<std::unique_ptr<PostgresStateStore>>;
  PgPoolOptions pool_options;
  pool_options.size = std::max<size_t>(1, options.pool_size);
  pool_options.statement_timeout = options.statement_timeout;
  pool_options.clock = options.clock;
  auto pool = std::make_unique<PgPool>(url, pool_options);
  const Duration timeout = options.statement_timeout;
  // Its statements run under 120 s of statement_timeout (the lock wait of
  // another replica's migration, DDL on a large table): the call gets minutes.
  Status st = pool->run("migration", kMigrationLimit, [timeout](pqxx::connection& c) {
    return migratePostgresStateStore(c, timeout);
  });
  if (!st) return R::Error("cannot open state store " + pool->redactedDsn() + ": " + st.message());
  return R(std::unique_ptr<PostgresStateStore>(new PostgresStateStore(std::move(pool), options)));
}

std::string PostgresStateStore::describe() const {
  return pool_->redactedDsn();
}

void PostgresStateStore::fence(std::optional<int64_t> epoch) {
  MutexLock lock(fence_mu_);
  fenced_ = true;
  epoch_ = epoch;
}

Status PostgresStateStore::checkFence(pqxx::transaction_base& tx) {
  std::optional<int64_t> epoch;
  {
    MutexLock lock(fence_mu_);
    if (!fenced_) return Status::Ok();
    epoch = epoch_;
  }
  if (!epoch) return Status::Error(std::string(kFencedPrefix) + "this replica is not the leader");
  // FOR SHARE: a takeover (UPDATE of this row) waits until this write commits.
  const auto r = tx.exec("SELECT epoch FROM dw_leader WHERE id = 1 FOR SHARE");
  if (r.empty()) return Status::Error(std::string(kFencedPrefix) + "no leader row (dw_leader)");
  const auto current = r[0][0].as<int64_t>();
  if (current != *epoch) {
    return Status::Error(std::string(kFencedPrefix) + "the leader epoch is " +
                         std::to_string(current) + ", this replica led epoch " +
                         std::to_string(*epoch));
  }
  return Status::Ok();
}

Status PostgresStateStore::recordRun(const ProbeResult& r) {
  return pool_->run("write (probe run)", [&](pqxx::connection& c) {
    const std::string value =
        r.value && std::isfinite(*r.value) ? exactDouble(*r.value) : std::string();
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO probe_runs (probe, type, source, target, owner, status, value, unit, "
        "message, threshold, details, observed_at_ms, duration_seconds) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::double precision, $8, $9, $10, $11, $12, "
        "$13::double precision)",
        pgText(r.probe), pgText(r.type), pgText(r.source), pgText(r.target), pgText(r.owner),
        toString(r.status), value.empty() ? nullptr : value.c_str(), pgText(r.unit),
        pgText(r.message), pgText(dumpJson(r.threshold)), pgText(dumpJson(r.details)),
        toUnixMillis(r.observed_at),
        exactDouble(std::isfinite(r.duration_seconds) ? r.duration_seconds : 0.0));
    tx.commit();
    return Status::Ok();
  });
}

namespace {
constexpr size_t kRunParams = 13;  // the columns of a run's INSERT

// INSERT of `n` runs: VALUES ($1, ..., $13), ($14, ...), ...
std::string multiRowInsert(size_t n) {
  std::string sql =
      "INSERT INTO probe_runs (probe, type, source, target, owner, status, value, unit, "
      "message, threshold, details, observed_at_ms, duration_seconds) VALUES ";
  for (size_t i = 0; i < n; ++i) {
    sql += i ? ", (" : "(";
    for (size_t k = 1; k <= kRunParams; ++k) {
      sql += (k > 1 ? ", $" : "$") + std::to_string(i * kRunParams + k);
      if (k == 7 || k == 13) sql += "::double precision";
      if (k == 12) sql += "::bigint";
    }
    sql += ")";
  }
  return sql;
}

// The run's kRunParams values as text, in multiRowInsert's order ("" for a NULL value).
void appendRunValues(const ProbeResult& r, std::vector<std::string>& texts) {
  for (const auto* v : {&r.probe, &r.type, &r.source, &r.target, &r.owner})
    texts.push_back(pgText(*v));
  texts.push_back(toString(r.status));
  texts.push_back(r.value && std::isfinite(*r.value) ? exactDouble(*r.value) : "");
  texts.push_back(pgText(r.unit));
  texts.push_back(pgText(r.message));
  texts.push_back(pgText(dumpJson(r.threshold)));
  texts.push_back(pgText(dumpJson(r.details)));
  texts.push_back(std::to_string(toUnixMillis(r.observed_at)));
  texts.push_back(exactDouble(std::isfinite(r.duration_seconds) ? r.duration_seconds : 0.0));
}
}  // namespace

Status PostgresStateStore::recordSharedRuns(const std::vector<SharedRun>& runs) {
  if (runs.empty()) return Status::Ok();
  return pool_->run("write (probe runs)", [&](pqxx::connection& c) {
    pqxx::work tx(c);  // one transaction, one txid: the run feed's invariant holds
    for (size_t first = 0; first < runs.size(); first += kRunsPerInsert) {
      const size_t n = std::min(kRunsPerInsert, runs.size() - first);
      std::vector<std::string> texts;
      texts.reserve(n * kRunParams);  // never reallocates: `params` points into it
      for (size_t i = 0; i < n; ++i) appendRunValues(*runs[first + i], texts);
      std::vector<const char*> params;
      params.reserve(texts.size());
      for (size_t k = 0; k < texts.size(); ++k) {
        const bool null_value = k % kRunParams == 6 && texts[k].empty();
        params.push_back(null_value ? nullptr : texts[k].c_str());
      }
      tx.exec_params(multiRowInsert(n), pqxx::prepare::make_dynamic_params(params));
    }
    tx.commit();
    return Status::Ok();
  });
}

Result<std::vector<ProbeResult>> PostgresStateStore::select(const std::string& where_sql,
                                                            const std::string& probe,
                                                            int64_t from_ms, int64_t to_ms,
                                                            size_t limit, bool newest_first) {
  std::vector<ProbeResult> out;
  const char* order = newest_first ? "DESC" : "ASC";
  const std::string sql =
      std::string("SELECT ") + kPgRunColumns +
      " FROM probe_runs WHERE probe = $1 AND observed_at_ms >= $2 AND observed_at_ms < $3" +
      where_sql + " ORDER BY observed_at_ms " + order + ", id " + order + " LIMIT $4";
  Status st = pool_->run("query", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec_params(sql, pgText(probe), from_ms, to_ms, sqlLimit(limit)))
      out.push_back(readRun(row));
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Result<std::optional<ProbeResult>> PostgresStateStore::lastRun(const std::string& probe) {
  auto r = select("", probe, INT64_MIN, INT64_MAX, 1, true);
  if (!r) return r.status();
  if (r->empty()) return std::optional<ProbeResult>{};
  return std::optional<ProbeResult>(std::move(r->front()));
}

Result<std::optional<ProbeResult>> PostgresStateStore::lastMeasuredRun(const std::string& probe) {
  auto r =
      select(" AND value IS NOT NULL AND status <> 'error'", probe, INT64_MIN, INT64_MAX, 1, true);
  if (!r) return r.status();
  if (r->empty()) return std::optional<ProbeResult>{};
  return std::optional<ProbeResult>(std::move(r->front()));
}

Result<std::vector<ProbeResult>> PostgresStateStore::runs(const std::string& probe, TimePoint from,
                                                          TimePoint to, size_t limit) {
  return select("", probe, toUnixMillis(from), toUnixMillis(to), limit, false);
}

Result<std::vector<ProbeResult>> PostgresStateStore::latestRuns(const std::string& probe,
                                                                TimePoint from, TimePoint to,
                                                                size_t limit) {
  auto r = select("", probe, toUnixMillis(from), toUnixMillis(to), limit, true);
  if (r) std::reverse(r->begin(), r->end());
  return r;
}

namespace {
// One bigint from a one-row query.
Result<int64_t> scalar(PgPool& pool, const std::string& sql) {
  int64_t n = 0;
  Status st = pool.run("query", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    n = tx.exec(sql)[0][0].as<int64_t>();
    return Status::Ok();
  });
  if (!st) return st;
  return n;
}
}  // namespace

Result<int64_t> PostgresStateStore::countRuns() {
  return scalar(*pool_, "SELECT count(*) FROM probe_runs");
}

Result<int64_t> PostgresStateStore::deleteInBatches(const char* what, const std::string& delete_sql,
                                                    int64_t cutoff_ms) {
  int64_t total = 0;
  for (;;) {
    int64_t deleted = 0;
    Status st = pool_->run(what, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      deleted =
          static_cast<int64_t>(tx.exec_params(delete_sql, cutoff_ms, kPruneBatch).affected_rows());
      tx.commit();
      return Status::Ok();
    });
    if (!st) return st;
    total += deleted;
    if (deleted < kPruneBatch) return total;
  }
}

Result<int64_t> PostgresStateStore::pruneBefore(TimePoint cutoff) {
  return deleteInBatches("prune",
                         "DELETE FROM probe_runs WHERE id IN (SELECT id FROM probe_runs "
                         "WHERE observed_at_ms < $1 LIMIT $2)",
                         toUnixMillis(cutoff));
}

Status PostgresStateStore::ping() {
  return pool_->run("ping", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1 FROM schema_migrations LIMIT 1");
    return Status::Ok();
  });
}

Result<std::optional<nlohmann::json>> PostgresStateStore::loadSnapshot(const std::string& key) {
  std::optional<nlohmann::json> out;
  Status st = pool_->run("query", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto r = tx.exec_params("SELECT value FROM snapshots WHERE key = $1", pgText(key));
    if (r.empty()) return Status::Ok();
    auto j = nlohmann::json::parse(r[0][0].c_str(), nullptr, false);
    if (j.is_discarded()) return Status::Error("state store: snapshot " + key + " is corrupt");
    out = std::move(j);
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Status PostgresStateStore::saveSnapshot(const std::string& key, const nlohmann::json& value) {
  return pool_->run("write (snapshot)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    upsertSnapshot(tx, key, value);
    tx.commit();
    return Status::Ok();
  });
}

Status PostgresStateStore::commitAlerts(const std::string& key, const nlohmann::json& value,
                                        const std::vector<OutboxItem>& items,
                                        const std::vector<nlohmann::json>& incidents) {
  return pool_->run("write (alerts)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (Status st = checkFence(tx); !st) return st;  // rolled back by ~work
    upsertSnapshot(tx, key, value);
    for (const auto& it : items) {
      tx.exec_params(
          "INSERT INTO outbox (delivery_id, notifier, alert_id, payload, created_at_ms, "
          "next_attempt_ms, attempts) VALUES ($1, $2, $3, $4, $5, $6, 0) "
          "ON CONFLICT (delivery_id) DO NOTHING",
          pgText(it.delivery_id), pgText(it.notifier), pgText(it.alert_id),
          pgText(dumpJson(it.payload)), toUnixMillis(it.created_at), toUnixMillis(it.next_attempt));
    }
    for (const auto& doc : incidents) upsertIncident(tx, doc);
    tx.commit();
    return Status::Ok();
  });
}

Result<std::vector<OutboxItem>> PostgresStateStore::dueNotifications(const std::string& notifier,
                                                                     TimePoint due, size_t limit) {
  std::vector<OutboxItem> out;
  Status st = pool_->run("query (outbox)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (Status fenced = checkFence(tx); !fenced) return fenced;
    const auto r = tx.exec_params(
        std::string("SELECT ") + kOutboxColumns +
            " FROM outbox o WHERE notifier = $1 AND next_attempt_ms <= $2 AND NOT EXISTS ("
            "  SELECT 1 FROM outbox e WHERE e.notifier = o.notifier"
            "  AND e.alert_id = o.alert_id AND e.seq < o.seq AND e.next_attempt_ms > $2) "
            "ORDER BY seq LIMIT $3",
        pgText(notifier), toUnixMillis(due), sqlLimit(limit));
    tx.commit();
    for (const auto& row : r) out.push_back(readItem(row));
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Result<std::optional<TimePoint>> PostgresStateStore::nextNotificationAt(
    const std::string& notifier) {
  std::optional<TimePoint> out;
  Status st = pool_->run("query (outbox)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    // Only the head of each alert's queue: the ones behind it wait for it.
    const auto r = tx.exec_params(
        "SELECT min(next_attempt_ms) FROM outbox o WHERE notifier = $1 AND NOT EXISTS ("
        "  SELECT 1 FROM outbox e WHERE e.notifier = o.notifier"
        "  AND e.alert_id = o.alert_id AND e.seq < o.seq)",
        pgText(notifier));
    if (!r[0][0].is_null()) out = fromUnixMillis(r[0][0].as<int64_t>());
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Status PostgresStateStore::removeNotification(int64_t seq) {
  return pool_->run("write (outbox)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (Status st = checkFence(tx); !st) return st;
    tx.exec_params("DELETE FROM outbox WHERE seq = $1", seq);
    tx.commit();
    return Status::Ok();
  });
}

Status PostgresStateStore::rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                                  const std::string& error) {
  return pool_->run("write (outbox)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (Status st = checkFence(tx); !st) return st;
    tx.exec_params(
        "UPDATE outbox SET attempts = $2, next_attempt_ms = $3, last_error = $4 WHERE seq = $1",
        seq, attempts, toUnixMillis(next_attempt), pgText(error));
    tx.commit();
    return Status::Ok();
  });
}

Result<int64_t> PostgresStateStore::countNotifications() {
  return scalar(*pool_, "SELECT count(*) FROM outbox");
}

Result<std::vector<std::string>> PostgresStateStore::queuedNotifiers() {
  std::vector<std::string> out;
  Status st = pool_->run("query (outbox)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT DISTINCT notifier COLLATE \"C\" AS n FROM outbox ORDER BY n"))
      out.push_back(row[0].as<std::string>());
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Status PostgresStateStore::saveIncident(const nlohmann::json& doc) {
  return pool_->run("write (incident)", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (Status st = checkFence(tx); !st) return st;
    upsertIncident(tx, doc);
    tx.commit();
    return Status::Ok();
  });
}

Result<std::vector<nlohmann::json>> PostgresStateStore::loadIncidents(bool open_only,
                                                                      size_t limit) {
  std::vector<nlohmann::json> out;
  Status st = pool_->run("query (incidents)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto r = tx.exec_params(std::string("SELECT doc FROM incidents") +
                                      (open_only ? " WHERE status = 'open'" : "") +
                                      " ORDER BY opened_at_ms DESC, id COLLATE \"C\" DESC LIMIT $1",
                                  sqlLimit(limit));
    for (const auto& row : r) {
      auto j = nlohmann::json::parse(row[0].c_str(), nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Result<std::optional<nlohmann::json>> PostgresStateStore::loadIncident(const std::string& id) {
  std::optional<nlohmann::json> out;
  Status st = pool_->run("query (incidents)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto r = tx.exec_params("SELECT doc FROM incidents WHERE id = $1", pgText(id));
    if (r.empty()) return Status::Ok();
    auto j = nlohmann::json::parse(r[0][0].c_str(), nullptr, false);
    if (j.is_discarded()) return Status::Error("state store: incident " + id + " is corrupt");
    out = std::move(j);
    return Status::Ok();
  });
  if (!st) return st;
  return out;
}

Result<int> PostgresStateStore::nextIncidentSeq(const std::string& day) {
  int n = 0;
  Status st = pool_->run("query (incidents)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    n = tx.exec_params("SELECT count(*) FROM incidents WHERE id LIKE $1",
                       "INC-" + pgText(day) + "-%")[0][0]
            .as<int>();
    return Status::Ok();
  });
  if (!st) return st;
  return n + 1;
}

uint64_t PostgresStateStore::feedHorizon(pqxx::transaction_base& tx) {
  // The snapshot's xmax and the transactions in progress. A datawatch session's
  // transaction (application_name 'datawatch': this store's pool, on any
  // replica) always holds the horizon: it may be a run's insert, however long
  // its commit takes. Another session's transaction holds it only while young
  // (feed_txn_age), so a stranger's long transaction on the same server (an
  // ETL job, an ANALYZE) cannot stall the fleet's SLOs.
  const auto r = tx.exec(
      "SELECT pg_snapshot_xmax(s)::text, ARRAY(SELECT pg_snapshot_xip(s))::text[], "
      "ARRAY(SELECT backend_xid::text FROM pg_stat_activity WHERE application_name = "
      "'datawatch' AND backend_xid IS NOT NULL)::text[] FROM pg_current_snapshot() s");
  uint64_t horizon = std::stoull(r[0][0].as<std::string>());
  std::set<uint64_t> ours;  // 32-bit xids
  auto own = r[0][2].as_array();
  for (auto e = own.get_next(); e.first != pqxx::array_parser::juncture::done; e = own.get_next())
    if (e.first == pqxx::array_parser::juncture::string_value) ours.insert(std::stoull(e.second));
  const auto now = std::chrono::steady_clock::now();
  std::map<uint64_t, std::chrono::steady_clock::time_point> still;
  MutexLock lock(feed_mu_);
  auto xip = r[0][1].as_array();
  for (auto e = xip.get_next(); e.first != pqxx::array_parser::juncture::done; e = xip.get_next()) {
    if (e.first != pqxx::array_parser::juncture::string_value) continue;
    const uint64_t x = std::stoull(e.second);
    auto seen = xip_first_seen_.find(x);
    const auto first = seen == xip_first_seen_.end() ? now : seen->second;
    still[x] = first;
    if (ours.count(x & 0xffffffffULL) > 0 || now - first < options_.feed_txn_age)
      horizon = std::min(horizon, x);
  }
  xip_first_seen_.swap(still);  // forgets the ones that ended
  return horizon;
}

Result<RunFeedPage> PostgresStateStore::runFeed(const std::string& cursor, size_t limit) {
  RunFeedPage page;
  std::string txid;
  int64_t after = 0;
  if (!cursor.empty() && !parseCursor(cursor, txid, after))
    return Result<RunFeedPage>::Error("run feed: malformed cursor \"" + cursor + "\"");
  Status st = pool_->run("query (run feed)", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const std::string horizon = std::to_string(feedHorizon(tx));
    if (cursor.empty()) {
      page.cursor = horizon + ":0";
      return Status::Ok();
    }
    // Only transactions older than every young one still in progress: a run
    // that commits later has a txid at or above the horizon, so it is never skipped.
    const auto r = tx.exec_params(std::string("SELECT ") + kPgRunColumns +
                                      ", txid::text AS feed_txid, id FROM probe_runs WHERE (txid, "
                                      "id) > ($1::xid8, $2::bigint) "
                                      // probe_runs.txid: a bare "txid" would name the text output
                                      // column and sort "1000" before "999".
                                      "AND txid < $3::xid8 ORDER BY probe_runs.txid, id LIMIT $4",
                                  txid, after, horizon, sqlLimit(limit));
    for (const auto& row : r) {
      page.runs.push_back(readRun(row));
      txid = row[13].as<std::string>();
      after = row[14].as<int64_t>();
    }
    page.cursor = txid + ":" + std::to_string(after);
    return Status::Ok();
  });
  if (!st) return st;
  return page;
}

}  // namespace datawatch
