#include "agent/fleet_member.hpp"

#include <fstream>
#include <sstream>

#include "agent/metrics.hpp"
#include "alerting/notification.hpp"
#include "config/types.hpp"
#include "core/thread_name.hpp"
#include "core/time_format.hpp"

namespace datawatch {

std::string configHash(const std::vector<std::string>& files) {
  std::string all;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str() + '\0';  // contents only: the same config at another path is the same
  }
  return sha256Hex(all, 16);
}

std::string configHash(const config::Config& cfg) {
  std::vector<std::string> files = cfg.files;
  for (const auto& k : cfg.contracts) files.push_back(k.path.string());
  return configHash(files);
}

FleetMember::FleetMember(std::unique_ptr<Fleet> fleet, Duration lease,
                         std::shared_ptr<spdlog::logger> log, Metrics* metrics)
    : fleet_(std::move(fleet)),
      lease_(lease),
      log_(std::move(log)),
      metrics_(metrics),
      claimer_(*fleet_, log_, metrics) {}

FleetMember::~FleetMember() {
  stop();
}

void FleetMember::start(std::function<void()> role_changed) {
  role_changed_ = std::move(role_changed);
  beatOnce();
  thread_ = startNamedThread("dw-fleet-beat", [this] { beatLoop(); });
}

void FleetMember::stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notifyAll();
  }
  if (thread_.joinable()) thread_.join();
  claimer_.stop();
  fleet_->resign();
}

bool FleetMember::leaderNow() const {
  return fleet_->leaderValidNow();
}

int64_t FleetMember::epoch() const {
  MutexLock lock(mu_);
  return state_.epoch;
}

void FleetMember::setConfigHash(const std::string& hash) {
  fleet_->setConfigHash(hash);
  MutexLock lock(mu_);
  config_hash_ = hash;
}

void FleetMember::beatLoop() {
  MutexLock lock(mu_);
  while (!stopping_) {
    cv_.waitFor(lock, lease_ / 5, [&]() REQUIRES(mu_) { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      beatOnce();
    } catch (const std::exception& ex) {  // a bug: logged, and beating goes on
      log_->error("fleet heartbeat: {}", ex.what());
    }
    lock.lock();
  }
}

void FleetMember::beatOnce() {
  auto st = fleet_->beat();
  bool was_leader = false;
  bool changed = false;
  std::string mine;
  {
    MutexLock lock(mu_);
    was_leader = state_.leader;
    mine = config_hash_;
    if (st) {
      state_ = *st;
    } else {
      state_.leader = false;  // unreachable: leaderValidNow() decides; the lease may lapse
    }
    changed = was_leader != (st && st->leader) || (st && st->became_leader);
  }
  if (!st) {
    log_->warn("fleet heartbeat failed: {}", st.error());
    if (was_leader) changed = true;
    if (metrics_) metrics_->setHaLeader(fleet_->leaderValidNow());
  } else {
    if (st->became_leader)
      log_->info("fleet: replica {} is now the leader (epoch {})", fleet_->replicaId(), st->epoch);
    if (st->lost_leadership)
      log_->warn("fleet: replica {} lost the leadership (leader now {}, epoch {})",
                 fleet_->replicaId(), st->leader_id.empty() ? "none" : st->leader_id, st->epoch);
    const bool mismatch = !st->leader && !st->leader_id.empty() &&
                          !st->leader_config_hash.empty() && st->leader_config_hash != mine;
    if (mismatch != mismatch_logged_) {  // logged when it starts and when it ends
      if (mismatch)
        log_->warn("fleet: this replica's config ({}) differs from the leader's ({}, {})", mine,
                   st->leader_config_hash, st->leader_id);
      else
        log_->info("fleet: this replica's config matches the leader's again");
      mismatch_logged_ = mismatch;
    }
    if (metrics_) metrics_->setHa(st->leader, st->live_replicas, st->epoch, mismatch);
  }
  if (changed && role_changed_) role_changed_();
}

nlohmann::json FleetMember::status() {
  FleetState s;
  std::string mine;
  {
    MutexLock lock(mu_);
    s = state_;
    mine = config_hash_;
  }
  nlohmann::json j{
      {"replica", fleet_->replicaId()},
      {"role", leaderNow() ? "leader" : "follower"},
      {"leader", s.leader_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.leader_id)},
      {"epoch", s.epoch},
      {"config_hash", mine},
      {"config_mismatch", !s.leader_config_hash.empty() && s.leader_config_hash != mine},
      {"replicas", nlohmann::json::array()}};
  if (auto rs = fleet_->replicas()) {
    for (const auto& r : *rs) {
      j["replicas"].push_back({{"id", r.id},
                               {"leader", r.leader},
                               {"config_hash", r.config_hash},
                               {"started_at", formatRfc3339(r.started_at)},
                               {"last_seen", formatRfc3339(r.last_seen)}});
    }
  }
  return j;
}

std::map<std::string, FleetProbeOwner> FleetMember::probeOwners() {
  auto owners = fleet_->probeOwners();
  if (!owners) return {};
  return std::move(owners).value();
}

}  // namespace datawatch
