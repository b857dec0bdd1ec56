#pragma once
// FleetMember: this replica's membership in an HA fleet (agent.state on
// PostgreSQL): the heartbeat thread that holds or seeks the leader lease, the
// claim thread (FleetClaimer) and what the status API shows of the fleet.
//
// Roles: every replica claims and runs probes, follows the run feed (SLO
// metrics, probe gauges) and serves the API; the leader alone runs the alert
// lifecycle, the outbox dispatcher and incidents. The heartbeat thread only
// records what it saw; the agent's main loop applies role changes
// (Agent::applyRole), so leader components start and stop on one thread.
//
// Invariants:
// - leaderNow() is true only while the lease is held AND its local deadline
//   (ha/fleet.hpp) has not passed: a replica paused past its lease knows it is
//   no longer leader the moment it wakes, before any database round trip;
// - epoch() is the epoch the lease was acquired with; the state store is
//   fenced with it (StateStore::fence) before any leader component starts.
// Thread-safety: state_ is guarded by mu_; the Fleet's beat connection is used
// by the heartbeat thread only.

#include <spdlog/logger.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/fleet_schedule.hpp"
#include "core/mutex.hpp"
#include "ha/fleet.hpp"

namespace datawatch {
namespace config {
struct Config;
}

class Metrics;

class FleetMember {
 public:
  FleetMember(std::unique_ptr<Fleet> fleet, Duration lease, std::shared_ptr<spdlog::logger> log,
              Metrics* metrics);
  ~FleetMember();
  FleetMember(const FleetMember&) = delete;
  FleetMember& operator=(const FleetMember&) = delete;

  // Beats once (so the first role is known at start), then every lease/5.
  void start(std::function<void()> role_changed);
  // Stops both threads and resigns (a clean stop hands leadership over at once).
  void stop();

  bool leaderNow() const;
  int64_t epoch() const EXCLUDES(mu_);
  void setConfigHash(const std::string& hash);
  FleetClaimer& claimer() { return claimer_; }
  const std::string& replicaId() const { return fleet_->replicaId(); }
  // {"replica", "leader", "epoch", "replicas": [...], "config_mismatch"}.
  nlohmann::json status();
  // Who ran each probe last, for the status API.
  std::map<std::string, FleetProbeOwner> probeOwners();

 private:
  void beatLoop();
  void beatOnce();

  std::unique_ptr<Fleet> fleet_;
  Duration lease_;
  std::shared_ptr<spdlog::logger> log_;
  Metrics* metrics_;
  FleetClaimer claimer_;
  std::function<void()> role_changed_;
  std::string config_hash_ GUARDED_BY(mu_);
  mutable Mutex mu_;
  CondVar cv_;
  FleetState state_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool mismatch_logged_ = false;  // the heartbeat thread's own
  std::thread thread_;
};

// A stable hash of a configuration's files' contents in order (hex; not their
// paths), to spot replicas running another version of the config.
std::string configHash(const std::vector<std::string>& files);
// The hash of everything a loaded configuration was read from: its files, then
// the contract files its `contracts:` entries name, in order (a contract file
// is configuration: replicas watching different contracts must not match).
std::string configHash(const config::Config& cfg);

}  // namespace datawatch
