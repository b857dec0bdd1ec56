#pragma once
// The fleet's coordination tables (ha/fleet.hpp), created by the PostgreSQL
// state store's migrations next to its own tables. Times are the database's.

namespace datawatch {

inline constexpr const char* kPostgresHaSchemaSql = R"SQL(
CREATE TABLE dw_replicas (
  id          text PRIMARY KEY,
  config_hash text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL
);
CREATE TABLE dw_leader (
  id          int PRIMARY KEY CHECK (id = 1),
  epoch       bigint NOT NULL,
  owner       text NOT NULL DEFAULT '',
  lease_until timestamptz NOT NULL DEFAULT '-infinity',
  config_hash text NOT NULL DEFAULT ''
);
INSERT INTO dw_leader (id, epoch) VALUES (1, 0);
CREATE TABLE dw_schedule (
  probe       text PRIMARY KEY,
  source      text NOT NULL,
  every_ms    bigint NOT NULL,
  lease_ms    bigint NOT NULL,
  next_run    timestamptz NOT NULL,
  lease_until timestamptz,
  owner       text,
  last_owner  text,
  last_run_at timestamptz,
  claims      bigint NOT NULL DEFAULT 0
);
CREATE INDEX dw_schedule_due ON dw_schedule (next_run);
-- The leased rows (few: release() clears the lease): a claim counts them per source.
CREATE INDEX dw_schedule_leased ON dw_schedule (source) WHERE lease_until IS NOT NULL;
CREATE TABLE dw_source_limits (
  source          text PRIMARY KEY,
  max_connections int NOT NULL
);
)SQL";

}  // namespace datawatch
