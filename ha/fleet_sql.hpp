#pragma once
// The fleet's SQL (internal to ha/). Every value is a bound parameter; times
// are the database's (now(): the statement's start in autocommit;
// statement_timestamp() inside the claim transaction, which may have waited on
// the claim lock). Timestamps travel as microseconds since the Unix epoch.

namespace datawatch::fleet_sql {

// Serialises claims fleet-wide (pg_advisory_xact_lock), so the per-source
// counts a claim reads cannot be stale: 'dwfleet'.
inline constexpr const char* kClaimLock = "BEGIN; SELECT pg_advisory_xact_lock(28263716150703476)";

// $1 replica id, $2 config hash, $3 lease ms. The heartbeat, then the lease:
// renewed (same epoch) while this replica holds it unexpired, acquired (epoch
// + 1) when it has expired or was given up; no row when another holds it.
inline constexpr const char* kBeat = R"SQL(
WITH hb AS (
  INSERT INTO dw_replicas (id, config_hash, started_at, last_seen)
  VALUES ($1, $2, now(), now())
  ON CONFLICT (id) DO UPDATE SET config_hash = EXCLUDED.config_hash, last_seen = now()
  RETURNING 1)
UPDATE dw_leader SET
  epoch = CASE WHEN owner = $1 AND lease_until > now() THEN epoch ELSE epoch + 1 END,
  owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', config_hash = $2
WHERE id = 1 AND ((owner = $1 AND lease_until > now()) OR lease_until <= now())
RETURNING epoch)SQL";

// $1 replica ttl ms.
inline constexpr const char* kState = R"SQL(
SELECT epoch, owner, config_hash, lease_until > now(),
  (SELECT count(*) FROM dw_replicas
    WHERE last_seen > now() - $1::float8 * interval '1 millisecond')
FROM dw_leader WHERE id = 1)SQL";

// $1 replica id.
// Also ends the leases of runs this replica claimed and will not finish.
inline constexpr const char* kResign = R"SQL(
WITH gone AS (DELETE FROM dw_replicas WHERE id = $1 RETURNING 1),
     freed AS (UPDATE dw_schedule SET lease_until = NULL, owner = NULL WHERE owner = $1
               RETURNING 1)
UPDATE dw_leader SET lease_until = '-infinity' WHERE id = 1 AND owner = $1)SQL";

// $1 known probes (text[]), $2 row bound, $3 sources this replica has no free
// slot for (text[]). Due, unleased rows of sources with room left fleet-wide;
// room is NULL for a source without a limit.
inline constexpr const char* kClaimDue = R"SQL(
WITH busy AS (
  SELECT source, count(*) AS n FROM dw_schedule
  WHERE lease_until > statement_timestamp() GROUP BY source)
SELECT s.probe, s.source, (extract(epoch FROM s.next_run) * 1000000)::bigint,
       l.max_connections - coalesce(b.n, 0)
FROM dw_schedule s
LEFT JOIN dw_source_limits l ON l.source = s.source
LEFT JOIN busy b ON b.source = s.source
WHERE s.probe = ANY($1::text[]) AND s.next_run <= statement_timestamp()
  AND (s.lease_until IS NULL OR s.lease_until <= statement_timestamp())
  AND (l.max_connections IS NULL OR l.max_connections > coalesce(b.n, 0))
  AND NOT (s.source = ANY($3::text[]))
ORDER BY s.next_run, s.probe COLLATE "C"
LIMIT $2
FOR UPDATE OF s SKIP LOCKED)SQL";

// $1 picked probes (text[]), $2 replica id. Leases them and moves next_run to
// the first point of the probe's grid strictly after now.
inline constexpr const char* kClaimTake = R"SQL(
UPDATE dw_schedule SET owner = $2, last_owner = $2, last_run_at = statement_timestamp(),
  lease_until = statement_timestamp() + lease_ms::float8 * interval '1 millisecond',
  claims = claims + 1,
  next_run = next_run + (floor(extract(epoch FROM statement_timestamp() - next_run) * 1000
                               / every_ms) + 1)::float8 * every_ms * interval '1 millisecond'
WHERE probe = ANY($1::text[]))SQL";

// $1 probes (text[]), $2 replica id.
inline constexpr const char* kRelease = R"SQL(
UPDATE dw_schedule SET lease_until = NULL, owner = NULL
WHERE probe = ANY($1::text[]) AND owner = $2)SQL";

// $1 known probes. A leased row is not due before its lease ends.
inline constexpr const char* kNextDue = R"SQL(
SELECT (extract(epoch FROM min(CASE WHEN lease_until > now()
                                    THEN greatest(next_run, lease_until)
                                    ELSE next_run END)) * 1000000)::bigint
FROM dw_schedule WHERE probe = ANY($1::text[]))SQL";

// $1 probe, $2 source, $3 every ms, $4 lease ms, $5 first delay ms (arrays).
inline constexpr const char* kSyncProbes = R"SQL(
INSERT INTO dw_schedule (probe, source, every_ms, lease_ms, next_run)
SELECT p, s, e, l, now() + d::float8 * interval '1 millisecond'
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(p, s, e, l, d)
ON CONFLICT (probe) DO UPDATE SET source = EXCLUDED.source, lease_ms = EXCLUDED.lease_ms,
  next_run = CASE WHEN dw_schedule.every_ms <> EXCLUDED.every_ms THEN EXCLUDED.next_run
                  ELSE dw_schedule.next_run END,
  every_ms = EXCLUDED.every_ms)SQL";

// $1 source, $2 max_connections (arrays).
inline constexpr const char* kSyncLimits = R"SQL(
INSERT INTO dw_source_limits (source, max_connections)
SELECT s, m FROM unnest($1::text[], $2::int[]) AS t(s, m)
ON CONFLICT (source) DO UPDATE SET max_connections = EXCLUDED.max_connections)SQL";

// $1 this config's sources, $2 those with a limit.
inline constexpr const char* kDropLimits = R"SQL(
DELETE FROM dw_source_limits WHERE source = ANY($1::text[]) AND NOT (source = ANY($2::text[])))SQL";

// $1 replica ttl ms.
inline constexpr const char* kReplicas = R"SQL(
SELECT r.id, r.config_hash, (extract(epoch FROM r.started_at) * 1000000)::bigint,
       (extract(epoch FROM r.last_seen) * 1000000)::bigint,
       (l.owner = r.id AND l.lease_until > now())
FROM dw_replicas r CROSS JOIN (SELECT owner, lease_until FROM dw_leader WHERE id = 1) l
WHERE r.last_seen > now() - $1::float8 * interval '1 millisecond'
ORDER BY r.id)SQL";

// $1 known probes.
inline constexpr const char* kProbeOwners = R"SQL(
SELECT probe, last_owner, (extract(epoch FROM last_run_at) * 1000000)::bigint
FROM dw_schedule WHERE probe = ANY($1::text[]) AND last_owner IS NOT NULL)SQL";

inline constexpr const char* kTablesMissing = R"SQL(
SELECT string_agg(t, ', ') FROM unnest(ARRAY['dw_replicas', 'dw_leader', 'dw_schedule',
  'dw_source_limits']) AS t WHERE to_regclass(t) IS NULL)SQL";

}  // namespace datawatch::fleet_sql
