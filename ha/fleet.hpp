#pragma once
// Fleet: the replicas of one datawatch deployment coordinating through their
// shared PostgreSQL state store (agent.state: postgres://...). PostgreSQL is
// the coordination engine, as in River, Oban and graphile-worker: rows, row
// locks and the database's clock; no gossip, no consensus of our own.
//
// Tables (created by the state store's migrations, store/postgres_ha_schema.hpp):
//   dw_replicas(id, config_hash, started_at, last_seen)        one heartbeat row each
//   dw_leader(id = 1, epoch, owner, lease_until, config_hash)  the leader lease
//   dw_schedule(probe, source, every_ms, lease_ms, next_run, lease_until, owner,
//               last_owner, last_run_at, claims)               one row per probe
//   dw_source_limits(source, max_connections)
//
// Invariants:
// - Times in these tables are the database's clock (now()/clock_timestamp()),
//   never a replica's, so clock skew between replicas cannot split a lease.
// - Leadership: at most one replica holds the lease at a time in the database;
//   every acquisition increments dw_leader.epoch (the fencing token). A replica
//   considers itself leader only until its LOCAL deadline (steady clock taken
//   BEFORE the acquiring/renewing statement was sent + lease - safety margin),
//   which always ends before the database lease does, so a paused replica
//   knows, on waking, that it may no longer be leader without asking anyone.
//   The state store's fence (StateStore::fence) makes the leader's writes
//   conditional on the epoch in the database as well.
// - Probe runs: a run of probe P is claimed by one replica per slot: a claim
//   succeeds only when P's next_run <= now() and no unexpired lease is on the
//   row, and it advances next_run to the next point of P's grid after now()
//   and sets lease_until = now() + lease_ms in the same statement (rows taken
//   FOR UPDATE SKIP LOCKED). release() clears the lease; a dead replica's lease
//   expires, so its probes are claimed again within one interval plus the lease.
// - Per-source max_connections holds fleet-wide: a probe of source S is claimed
//   only while fewer than max_connections rows of S hold an unexpired lease
//   (claims serialise on a transaction-scoped advisory lock, so two replicas
//   cannot both take the last slot). A replica paused inside a claim
//   transaction loses it (and the lock) after idle_in_transaction_session_timeout
//   (the statement timeout, at least 1 s), so it cannot stall the fleet's claims.
// - beat() never waits behind claim()/release(): they use separate connections.
// Thread-safety: beat()/resign() from one thread, claim()/release()/syncProbes()
// from another; the read-only accessors from any thread.

#include <spdlog/logger.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace datawatch {

struct FleetOptions {
  std::string dsn;  // the state store's postgres:// URL (never logged unredacted)
  std::string replica_id;
  std::string config_hash;
  Duration leader_lease{std::chrono::seconds(15)};
  // A replica whose heartbeat is older than this is not counted as live.
  Duration replica_ttl{std::chrono::seconds(10)};
  Duration statement_timeout{std::chrono::seconds(5)};
};

// What one beat() saw. The flags compare with the previous beat() (a failed
// beat changes nothing: the local deadline alone ends leadership meanwhile).
struct FleetState {
  // This replica holds the lease (until leader_valid_until). False also when the
  // answer came back after its own local deadline: such a lease does not count.
  bool leader = false;
  int64_t epoch = 0;               // the current leader epoch in the database
  std::string leader_id;           // "" when no replica holds an unexpired lease
  std::string leader_config_hash;  // "" when no replica holds an unexpired lease
  int live_replicas = 0;           // heartbeats younger than replica_ttl, this one included
  // Local deadline: steady clock before the statement was sent + lease - lease/5.
  std::chrono::steady_clock::time_point leader_valid_until{};
  // This beat holds an epoch the previous beat did not: acquired, or re-acquired
  // after this replica's own lease lapsed in the database (then lost_leadership
  // is set too: the old epoch is over, state built on it must be rebuilt).
  bool became_leader = false;
  // The previous beat held an epoch this one does not hold.
  bool lost_leadership = false;
};

struct FleetReplica {
  std::string id;
  std::string config_hash;
  TimePoint started_at{};
  TimePoint last_seen{};
  bool leader = false;
};

// One probe as the fleet schedules it.
struct FleetProbe {
  std::string name;
  std::string source;
  Duration every{};
  Duration lease{};        // how long a run may hold the probe: its timeout plus a margin
  Duration first_delay{};  // a new row's first next_run is now() + first_delay (jitter)
};

struct FleetClaim {
  std::string probe;
  TimePoint due{};  // the grid point it was claimed for (database time)
};

struct FleetProbeOwner {
  std::string replica;  // who ran (or runs) it last
  TimePoint at{};       // when that run was claimed
};

class Fleet {
 public:
  static Result<std::unique_ptr<Fleet>> open(FleetOptions options,
                                             std::shared_ptr<spdlog::logger> log);
  virtual ~Fleet() = default;

  // Upserts this replica's heartbeat, then acquires the leader lease when it is
  // free or expired (epoch + 1), renews it when this replica holds it, and
  // reports what it saw. Call every lease/5 or so.
  virtual Result<FleetState> beat() = 0;
  // True while this replica may act as leader: it holds the lease and the local
  // deadline has not passed. Cheap; call before every send.
  virtual bool leaderValidNow() const = 0;
  // Clean stop: gives the lease up (if held), ends the leases of probe runs it
  // claimed (call it after the probe loop stopped) and deletes the heartbeat
  // row, so another replica takes over at its next beat, not after the lease.
  virtual void resign() = 0;
  virtual void setConfigHash(const std::string& hash) = 0;

  // Makes dw_schedule match `probes` for this replica's config: inserts new
  // probes (first next_run: now() + first_delay),
  // updates source/every/lease of changed ones (a changed interval restarts its
  // grid), and sets dw_source_limits. Rows of probes not in `probes` are left
  // (another replica's config may still have them); they are claimed only by
  // replicas that know them.
  virtual Status syncProbes(const std::vector<FleetProbe>& probes,
                            const std::map<std::string, int>& source_limits) = 0;
  // Claims up to `max_runs` due runs among the probes this replica knows
  // (the last syncProbes), at most `free_per_source[s]` of source s when s is
  // listed, earliest next_run first, honouring the fleet-wide source limits.
  virtual Result<std::vector<FleetClaim>> claim(
      size_t max_runs, const std::map<std::string, size_t>& free_per_source) = 0;
  // A claim's `due` is the grid point it was claimed for (the row's next_run
  // before the claim): one claim per (probe, due) fleet-wide. A probe overdue by
  // several intervals (its replica died) runs once, for the earliest missed
  // point, and its next_run jumps past now.
  // Ends the leases of finished runs (rows this replica owns; a lease that
  // expired and was claimed by another replica is not this one's any more).
  virtual Status release(const std::vector<std::string>& probes) = 0;
  // The earliest next_run among known probes (for the claim loop's sleep),
  // a leased row counting from its lease's end. Database time.
  virtual Result<std::optional<TimePoint>> nextDue() = 0;

  virtual Result<std::vector<FleetReplica>> replicas() = 0;
  virtual Result<std::map<std::string, FleetProbeOwner>> probeOwners() = 0;
  virtual const std::string& replicaId() const = 0;
};

}  // namespace datawatch
