// The PostgreSQL state store's schema: forward-only migrations, applied once
// under a session advisory lock however many replicas start together.

#include <pqxx/pqxx>

#include <iterator>

#include "store/postgres_ha_schema.hpp"
#include "store/postgres_state_store.hpp"

namespace datawatch {
namespace {

// pg_advisory_lock key of the migrations ("datawatc" in ASCII).
constexpr int64_t kMigrationLockKey = 0x6461746177617463;

// Index + 1 is the schema version. Times are unix milliseconds (bigint).
const char* const kPgMigrations[] = {
    // 1: the store's tables. probe_runs.txid (the inserting transaction) orders
    // the run feed: (txid, id) pages stop at the oldest open transaction.
    R"SQL(
CREATE TABLE probe_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  probe text NOT NULL, type text NOT NULL, source text NOT NULL, target text NOT NULL,
  owner text NOT NULL DEFAULT '',
  status text NOT NULL CHECK (status IN ('pass','fail','error')),
  value double precision, unit text NOT NULL DEFAULT '', message text NOT NULL DEFAULT '',
  threshold text NOT NULL DEFAULT '{}', details text NOT NULL DEFAULT '{}',
  observed_at_ms bigint NOT NULL, duration_seconds double precision NOT NULL DEFAULT 0);
CREATE INDEX probe_runs_probe_time ON probe_runs (probe, observed_at_ms);
CREATE INDEX probe_runs_time ON probe_runs (observed_at_ms);
CREATE INDEX probe_runs_feed ON probe_runs (txid, id);
CREATE TABLE snapshots (key text PRIMARY KEY, value text NOT NULL, updated_at_ms bigint NOT NULL);
CREATE TABLE outbox (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, delivery_id text NOT NULL UNIQUE,
  notifier text NOT NULL, alert_id text NOT NULL, payload text NOT NULL,
  created_at_ms bigint NOT NULL, next_attempt_ms bigint NOT NULL,
  attempts int NOT NULL DEFAULT 0, last_error text NOT NULL DEFAULT '');
CREATE INDEX outbox_due ON outbox (notifier, next_attempt_ms);
CREATE INDEX outbox_alert_order ON outbox (notifier, alert_id, seq, next_attempt_ms);
CREATE TABLE incidents (id text PRIMARY KEY, status text NOT NULL, opened_at_ms bigint NOT NULL,
  doc text NOT NULL);
CREATE INDEX incidents_opened ON incidents (opened_at_ms);
)SQL",
    // 2: the fleet's coordination tables (ha/fleet.hpp)
    kPostgresHaSchemaSql,
    // 3: OpenLineage events as received (store/postgres_lineage.cpp), once per
    // idempotency key; seq is in commit order (inserts are serialised).
    R"SQL(
CREATE TABLE lineage_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL UNIQUE,
  event_time_ms bigint NOT NULL,
  event text NOT NULL);
CREATE INDEX lineage_events_time ON lineage_events (event_time_ms);
)SQL",
};

int currentVersion(pqxx::connection_base& c) {
  pqxx::nontransaction tx(c);
  return tx.exec("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0][0].as<int>();
}

Status migrateLocked(pqxx::connection_base& c) {
  {
    pqxx::nontransaction tx(c);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
  }
  const int current = currentVersion(c);
  const int latest = postgresStateStoreSchemaVersion();
  if (current > latest) {
    return Status::Error("state store has schema version " + std::to_string(current) +
                         ", newer than this build understands (" + std::to_string(latest) +
                         "): upgrade datawatch");
  }
  for (int v = current + 1; v <= latest; ++v) {
    pqxx::work tx(c);
    tx.exec(kPgMigrations[v - 1]);
    tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", v);
    tx.commit();
  }
  return Status::Ok();
}

}  // namespace

int postgresStateStoreSchemaVersion() {
  return static_cast<int>(std::size(kPgMigrations));
}

Status migratePostgresStateStore(pqxx::connection_base& c, Duration statement_timeout) {
  const std::string key = std::to_string(kMigrationLockKey);
  {
    // Waiting for another replica's migrations is not a slow statement.
    pqxx::nontransaction tx(c);
    tx.exec("SET statement_timeout = '120s'; SELECT pg_advisory_lock(" + key + ")");
  }
  Status st;
  try {
    st = migrateLocked(c);
  } catch (...) {
    try {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT pg_advisory_unlock(" + key + ")");
    } catch (const std::exception&) {  // the session's end releases it anyway
    }
    throw;
  }
  pqxx::nontransaction tx(c);
  tx.exec("SELECT pg_advisory_unlock(" + key +
          "); SET statement_timeout = " + std::to_string(statement_timeout.count()));
  return st;
}

}  // namespace datawatch
