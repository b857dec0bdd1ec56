// Fleet over PostgreSQL (ha/fleet.hpp): two connections, one for the
// heartbeat and the leader lease, one for the schedule, so leadership never
// waits behind a claim.

#include <algorithm>
#include <atomic>
#include <set>

#include "core/mutex.hpp"
#include "ha/fleet.hpp"
#include "ha/fleet_sql.hpp"
#include "ha/pg_link.hpp"

namespace datawatch {

namespace {

using Steady = std::chrono::steady_clock;

TimePoint fromMicros(int64_t us) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(us)));
}

std::string intArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

PgLink::Prepared beatStatements() {
  return {{"dw_beat", fleet_sql::kBeat},
          {"dw_state", fleet_sql::kState},
          {"dw_resign", fleet_sql::kResign}};
}

PgLink::Prepared workStatements() {
  return {{"dw_claim_due", fleet_sql::kClaimDue},     {"dw_claim_take", fleet_sql::kClaimTake},
          {"dw_release", fleet_sql::kRelease},        {"dw_next_due", fleet_sql::kNextDue},
          {"dw_replicas", fleet_sql::kReplicas},      {"dw_probe_owners", fleet_sql::kProbeOwners},
          {"dw_sync_probes", fleet_sql::kSyncProbes}, {"dw_sync_limits", fleet_sql::kSyncLimits},
          {"dw_drop_limits", fleet_sql::kDropLimits}};
}

struct DueRow {
  std::string probe;
  std::string source;
  TimePoint due;
  std::optional<int64_t> room;  // fleet-wide free slots of its source; none: no limit
};

// Earliest first (the query's order): at most max_runs, within each source's
// fleet-wide room and this replica's free slots.
std::vector<const DueRow*> pick(const std::vector<DueRow>& rows, size_t max_runs,
                                const std::map<std::string, size_t>& free_per_source) {
  std::vector<const DueRow*> out;
  std::map<std::string, int64_t> taken;
  for (const auto& row : rows) {
    if (out.size() >= max_runs) break;
    const int64_t n = taken[row.source];
    if (row.room && n >= *row.room) continue;
    if (auto it = free_per_source.find(row.source);
        it != free_per_source.end() && static_cast<size_t>(n) >= it->second)
      continue;
    ++taken[row.source];
    out.push_back(&row);
  }
  return out;
}

class PgFleet final : public Fleet {
 public:
  PgFleet(FleetOptions options, std::shared_ptr<spdlog::logger> log)
      : opts_(std::move(options)),
        log_(std::move(log)),
        margin_(opts_.leader_lease / 5),
        beat_link_(opts_.dsn, opts_.statement_timeout, beatStatements(), watcher_),
        work_link_(opts_.dsn, opts_.statement_timeout, workStatements(), watcher_),
        config_hash_(opts_.config_hash) {}

  Status start() {
    std::string missing;
    {
      MutexLock lock(work_mu_);
      Status s = work_link_.run("start", [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        auto r = tx.exec(fleet_sql::kTablesMissing);
        if (!r.empty() && !r[0][0].is_null()) missing = r[0][0].c_str();
      });
      if (!s.ok()) return s;
    }
    if (!missing.empty()) {
      return Status::Error("the fleet tables (" + missing + ") are missing from " +
                           fleetRedact(opts_.dsn) + ": run the state store migrations first");
    }
    MutexLock lock(beat_mu_);
    return beat_link_.connect();
  }

  Result<FleetState> beat() override;
  bool leaderValidNow() const override {
    return Steady::now().time_since_epoch().count() < valid_until_.load();
  }
  void resign() override;
  void setConfigHash(const std::string& hash) override {
    MutexLock lock(hash_mu_);
    config_hash_ = hash;
  }

  Status syncProbes(const std::vector<FleetProbe>& probes,
                    const std::map<std::string, int>& source_limits) override;
  Result<std::vector<FleetClaim>> claim(
      size_t max_runs, const std::map<std::string, size_t>& free_per_source) override;
  Status release(const std::vector<std::string>& probes) override;
  Result<std::optional<TimePoint>> nextDue() override;
  Result<std::vector<FleetReplica>> replicas() override;
  Result<std::map<std::string, FleetProbeOwner>> probeOwners() override;
  const std::string& replicaId() const override { return opts_.replica_id; }

 private:
  std::string configHash() const {
    MutexLock lock(hash_mu_);
    return config_hash_;
  }
  void noteLeadership(FleetState& st) REQUIRES(beat_mu_);

  const FleetOptions opts_;
  const std::shared_ptr<spdlog::logger> log_;
  const Duration margin_;
  // Cuts a link's call that the database leaves unanswered (pg_link.hpp); real time.
  SystemClock real_clock_;
  QueryWatcher watcher_{real_clock_, 0, "dw-fleet-watch", std::chrono::hours(1)};  // pg_pool.hpp

  Mutex beat_mu_;
  PgLink beat_link_ GUARDED_BY(beat_mu_);
  bool was_leader_ GUARDED_BY(beat_mu_) = false;
  int64_t held_epoch_ GUARDED_BY(beat_mu_) = 0;
  std::atomic<Steady::rep> valid_until_{0};  // local leader deadline; 0: not leader

  Mutex work_mu_;
  PgLink work_link_ GUARDED_BY(work_mu_);
  std::string known_ GUARDED_BY(work_mu_) = "{}";  // the probes of the last syncProbes
  bool any_known_ GUARDED_BY(work_mu_) = false;

  mutable Mutex hash_mu_;
  std::string config_hash_ GUARDED_BY(hash_mu_);
};

Result<FleetState> PgFleet::beat() {
  MutexLock lock(beat_mu_);
  const std::string hash = configHash();
  const int64_t lease_ms = opts_.leader_lease.count();
  std::optional<int64_t> got;
  Steady::time_point t0{};
  FleetState st;
  Status s = beat_link_.run("heartbeat", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    t0 = Steady::now();  // before the statement leaves: the local deadline ends first
    auto r = tx.exec_prepared("dw_beat", opts_.replica_id, hash, lease_ms);
    if (!r.empty()) got = r[0][0].as<int64_t>();
    auto row = tx.exec_prepared1("dw_state", static_cast<int64_t>(opts_.replica_ttl.count()));
    st.epoch = row[0].as<int64_t>();
    if (row[3].as<bool>()) {
      st.leader_id = row[1].as<std::string>();
      st.leader_config_hash = row[2].as<std::string>();
    }
    st.live_replicas = static_cast<int>(row[4].as<int64_t>());
  });
  if (!s.ok()) return s;  // the local deadline, unchanged, still ends leadership
  const auto deadline = t0 + opts_.leader_lease - margin_;
  // A lease whose answer came back after its local deadline does not count.
  st.leader = got.has_value() && Steady::now() < deadline;
  st.leader_valid_until = st.leader ? deadline : Steady::time_point{};
  if (st.leader) st.epoch = *got;
  noteLeadership(st);
  if (st.leader) held_epoch_ = *got;
  was_leader_ = st.leader;
  valid_until_.store(st.leader ? deadline.time_since_epoch().count() : 0);
  return st;
}

// Flags against the previous beat: a new epoch is a step up even when this
// replica held the one before (its lease lapsed in the database meanwhile).
void PgFleet::noteLeadership(FleetState& out) {
  const FleetState& st = out;
  const bool new_epoch = st.leader && (!was_leader_ || st.epoch != held_epoch_);
  out.became_leader = new_epoch;
  out.lost_leadership = was_leader_ && (!st.leader || st.epoch != held_epoch_);
  if (out.lost_leadership) {
    log_->debug("fleet: replica {} is no longer the leader (epoch {}, leader now {})",
                opts_.replica_id, held_epoch_, st.leader_id.empty() ? "none" : st.leader_id);
  }
  if (new_epoch) log_->debug("fleet: replica {} leads, epoch {}", opts_.replica_id, st.epoch);
}

void PgFleet::resign() {
  MutexLock lock(beat_mu_);
  valid_until_.store(0);
  const bool was = was_leader_;
  was_leader_ = false;
  Status s = beat_link_.run("resign", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec_prepared("dw_resign", opts_.replica_id);
  });
  if (!s.ok()) {
    log_->warn("{} (the lease expires by itself)", s.message());
  } else if (was) {
    log_->info("fleet: replica {} gave up the lease (epoch {})", opts_.replica_id, held_epoch_);
  }
}

Status PgFleet::syncProbes(const std::vector<FleetProbe>& probes,
                           const std::map<std::string, int>& source_limits) {
  std::map<std::string, const FleetProbe*> by_name;  // one row per name: the last wins
  for (const auto& p : probes) by_name[p.name] = &p;
  std::vector<std::string> names, sources;
  std::vector<int64_t> every, lease, delay;
  std::set<std::string> used;
  for (const auto& [name, p] : by_name) {
    names.push_back(name);
    sources.push_back(p->source);
    every.push_back(std::max<int64_t>(1, p->every.count()));
    lease.push_back(std::max<int64_t>(1, p->lease.count()));
    delay.push_back(std::max<int64_t>(0, p->first_delay.count()));
    used.insert(p->source);
  }
  std::vector<std::string> limited;
  std::vector<int64_t> limits;
  for (const auto& [source, n] : source_limits) {
    limited.push_back(source);
    limits.push_back(n);
  }
  MutexLock lock(work_mu_);
  Status s = work_link_.run("probe sync", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("BEGIN");
    tx.exec_prepared("dw_sync_probes", pgTextArray(names), pgTextArray(sources), intArray(every),
                     intArray(lease), intArray(delay));
    tx.exec_prepared("dw_sync_limits", pgTextArray(limited), intArray(limits));
    tx.exec_prepared("dw_drop_limits", pgTextArray({used.begin(), used.end()}),
                     pgTextArray(limited));
    tx.exec("COMMIT");
  });
  if (!s.ok()) return s;
  known_ = pgTextArray(names);
  any_known_ = !names.empty();
  return Status::Ok();
}

Result<std::vector<FleetClaim>> PgFleet::claim(
    size_t max_runs, const std::map<std::string, size_t>& free_per_source) {
  MutexLock lock(work_mu_);
  std::vector<FleetClaim> out;
  if (max_runs == 0 || !any_known_) return out;
  // Rows of full sources are filtered in SQL; the bound leaves room for rows
  // this replica has no free slot for.
  const auto bound = static_cast<int64_t>(std::min<size_t>(max_runs * 4 + 64, 10000));
  std::vector<std::string> no_room;  // rows of these would only fill the bound
  for (const auto& [source, n] : free_per_source)
    if (n == 0) no_room.push_back(source);
  const std::string full = pgTextArray(no_room);
  const std::string known = known_;  // lambdas are analysed apart from the lock
  Status s = work_link_.run("claim", [&](pqxx::connection& c) {
    out.clear();
    pqxx::nontransaction tx(c);
    tx.exec(fleet_sql::kClaimLock);
    auto r = tx.exec_prepared("dw_claim_due", known, bound, full);
    std::vector<DueRow> rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      rows.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                      fromMicros(row[2].as<int64_t>()),
                      row[3].is_null() ? std::nullopt : std::optional(row[3].as<int64_t>())});
    }
    const auto picked = pick(rows, max_runs, free_per_source);
    if (!picked.empty()) {
      std::vector<std::string> names;
      for (const DueRow* p : picked) {
        names.push_back(p->probe);
        out.push_back({p->probe, p->due});
      }
      tx.exec_prepared("dw_claim_take", pgTextArray(names), opts_.replica_id);
    }
    tx.exec("COMMIT");
  });
  if (!s.ok()) return s;
  return out;
}

Status PgFleet::release(const std::vector<std::string>& probes) {
  if (probes.empty()) return Status::Ok();
  MutexLock lock(work_mu_);
  return work_link_.run("release", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec_prepared("dw_release", pgTextArray(probes), opts_.replica_id);
  });
}

Result<std::optional<TimePoint>> PgFleet::nextDue() {
  MutexLock lock(work_mu_);
  std::optional<TimePoint> out;
  if (!any_known_) return out;
  const std::string known = known_;
  Status s = work_link_.run("next due", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto row = tx.exec_prepared1("dw_next_due", known);
    if (!row[0].is_null()) out = fromMicros(row[0].as<int64_t>());
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<FleetReplica>> PgFleet::replicas() {
  MutexLock lock(work_mu_);
  std::vector<FleetReplica> out;
  Status s = work_link_.run("replica list", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto r = tx.exec_prepared("dw_replicas", static_cast<int64_t>(opts_.replica_ttl.count()));
    for (const auto& row : r) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     fromMicros(row[2].as<int64_t>()), fromMicros(row[3].as<int64_t>()),
                     row[4].as<bool>()});
    }
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::map<std::string, FleetProbeOwner>> PgFleet::probeOwners() {
  MutexLock lock(work_mu_);
  std::map<std::string, FleetProbeOwner> out;
  if (!any_known_) return out;
  const std::string known = known_;
  Status s = work_link_.run("probe owners", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto r = tx.exec_prepared("dw_probe_owners", known);
    for (const auto& row : r) {
      out[row[0].as<std::string>()] = {
          row[1].as<std::string>(),
          row[2].is_null() ? TimePoint{} : fromMicros(row[2].as<int64_t>())};
    }
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Result<std::unique_ptr<Fleet>> Fleet::open(FleetOptions options,
                                           std::shared_ptr<spdlog::logger> log) {
  if (options.replica_id.empty()) return Status::Error("fleet: the replica id is empty");
  if (options.leader_lease < std::chrono::milliseconds(100))
    return Status::Error("fleet: the leader lease must be at least 100ms");
  auto fleet = std::make_unique<PgFleet>(std::move(options), std::move(log));
  if (Status s = fleet->start(); !s.ok()) return s;
  return std::unique_ptr<Fleet>(std::move(fleet));
}

}  // namespace datawatch
