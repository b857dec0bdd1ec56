// Agent: leadership and the HA fleet (see agent.hpp and agent/fleet_member.hpp).
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <thread>

#include "agent/agent.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {
// Runs read from the feed per page; a backlog drains a few pages per tick.
constexpr size_t kFeedPage = 5000;
constexpr int kFeedPagesPerTick = 20;

std::string defaultReplicaId() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "datawatch") + "-" + std::to_string(getpid());
}
}  // namespace

Agent::Leadership::Leadership(Agent& a)
    : incidents([&a](const std::string& day) {
        auto n = a.store_->nextIncidentSeq(day);
        return n ? *n : 1;
      }),
      lifecycle(a.store_.get(), &incidents) {}

std::shared_ptr<Agent::Leadership> Agent::leading() const {
  MutexLock lock(leader_mu_);
  return leading_;
}

bool Agent::lead(const std::shared_ptr<const config::Config>& cfg, int64_t epoch) {
  if (fleet_) {
    // What a new leader restores must be readable now (the state database just
    // came back, say): leading on nothing would overwrite the fleet's alerts.
    Status st = AlertLifecycle::canRestore(*store_);
    if (auto open = store_->loadIncidents(true, 1); st && !open) st = open.status();
    if (!st) {
      log_->warn("fleet: not leading yet: cannot read the alert state ({}); retrying",
                 st.message());
      return false;
    }
    store_->fence(epoch);  // before the first write of this term
  }
  auto l = std::make_shared<Leadership>(*this);
  l->epoch = epoch;
  restoreIncidents(l->incidents);
  SendGate gate;
  if (fleet_) gate = [this] { return fleet_->leaderNow(); };
  l->dispatcher =
      std::make_unique<Dispatcher>(*store_, clock_, &delivery_report_, RetryPolicy{}, gate);
  const auto step = l->lifecycle.configure(lifecycleConfig(cfg), clock_.now());
  if (step.restored > 0)
    log_->info("alerts: {} firing alert(s) restored from the state store", step.restored);
  {
    MutexLock lock(leader_mu_);
    leading_ = l;
  }
  report(step);
  for (const auto& w : l->lifecycle.takeWarnings()) log_->warn("{}", w);
  for (const auto& a : l->lifecycle.firing()) metrics_.setAlertFiring(a);
  l->dispatcher->configure(*cfg);
  return true;
}

void Agent::stepDown() {
  std::shared_ptr<Leadership> l;
  {
    MutexLock lock(leader_mu_);
    l.swap(leading_);
  }
  if (fleet_) {
    store_->fence(std::nullopt);
    metrics_.setHaLeader(false);
  }
  if (!l) return;
  l->dispatcher->stop();                  // no callback holds `l` after this
  for (auto a : l->lifecycle.firing()) {  // the new leader exports them now
    a.firing = false;
    metrics_.setAlertFiring(a);
  }
}

// Two live processes with one replica_id would both renew one lease: refuse.
// The id's last heartbeat may be this pod's previous process (a container
// restart keeps the pod name): wait for it to expire first.
Status Agent::awaitUniqueId(Fleet& fleet, Duration ttl) {
  const auto give_up = std::chrono::steady_clock::now() + ttl + std::chrono::seconds(2);
  bool logged = false;
  while (true) {
    auto live = fleet.replicas();
    if (!live) return live.status();
    const bool taken = std::any_of(live->begin(), live->end(), [&](const FleetReplica& r) {
      return r.id == fleet.replicaId();
    });
    if (!taken) return Status::Ok();
    if (std::chrono::steady_clock::now() > give_up) {
      return Status::Error("replica_id \"" + fleet.replicaId() +
                           "\" is in use by another live replica: give each replica its own "
                           "agent.replica_id (the chart sets it to the pod name)");
    }
    if (!logged) {
      log_->warn(
          "fleet: replica_id {} has a recent heartbeat (a previous process?); waiting "
          "for it to expire",
          fleet.replicaId());
      logged = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Status Agent::joinFleet(const config::Config& cfg) {
  FleetOptions o;
  o.dsn = cfg.agent.state;
  o.replica_id = cfg.agent.replica_id.empty() ? defaultReplicaId() : cfg.agent.replica_id;
  o.config_hash = configHash(cfg);
  o.leader_lease = cfg.agent.leader_lease;
  // Three missed beats (every lease/5) make a replica dead; a beat must fit
  // well inside the lease's safety margin.
  o.replica_ttl = std::max<Duration>(std::chrono::seconds(10), o.leader_lease * 3 / 5);
  o.statement_timeout =
      std::clamp<Duration>(o.leader_lease / 5, std::chrono::seconds(1), std::chrono::seconds(5));
  auto fleet = Fleet::open(o, log_);
  if (!fleet) return fleet.status();
  if (auto st = awaitUniqueId(**fleet, o.replica_ttl); !st) return st;
  store_->fence(std::nullopt);  // a follower until the lease says otherwise
  auto cursor = store_->runFeed("", 0);
  if (!cursor) return cursor.status();
  feed_cursor_ = cursor->cursor;
  fleet_ = std::make_unique<FleetMember>(std::move(fleet).value(), o.leader_lease, log_, &metrics_);
  fleet_->setConfigHash(o.config_hash);
  log_->info("fleet: replica {} joining (leader lease {})", fleet_->replicaId(),
             formatDuration(o.leader_lease));
  return Status::Ok();
}

std::string Agent::notLeader() const {
  auto st = fleet_ ? fleet_->status() : nlohmann::json::object();
  const auto leader = st.value("leader", nlohmann::json(nullptr));
  return "this replica (" + (fleet_ ? fleet_->replicaId() : std::string("?")) +
         ") is not the fleet's leader; send this to the leader (" +
         (leader.is_string() ? leader.get<std::string>() : std::string("none yet")) + ")";
}

void Agent::applyRole() {
  std::lock_guard lock(reload_mu_);
  if (stopping_) return;
  const auto cfg = currentConfig();
  if (!cfg) return;
  const bool should_lead = fleet_->leaderNow();
  const int64_t epoch = fleet_->epoch();
  auto l = leading();
  if (l && (!should_lead || l->epoch != epoch)) {
    log_->warn("fleet: stepping down as leader (epoch {}): alerts and notifications stop here",
               l->epoch);
    stepDown();
    l.reset();
  }
  if (!l && should_lead) {
    log_->info("fleet: leading with epoch {}: alerts, incidents and notifications run here", epoch);
    lead(cfg, epoch);
  }
}

void Agent::followFeed() {
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  const auto l = leading();
  for (int pages = 0; pages < kFeedPagesPerTick; ++pages) {
    auto page = store_->runFeed(feed_cursor_, kFeedPage);
    if (!page) {
      if (!feed_trouble_) log_->warn("fleet: cannot read the run feed: {}", page.error());
      feed_trouble_ = true;  // logged once per outage
      metrics_.stateStoreError();
      return;
    }
    if (feed_trouble_) log_->info("fleet: the run feed answers again");
    feed_trouble_ = false;
    feed_cursor_ = page->cursor;
    for (auto& run : page->runs) {
      // Runs of one probe come in order (one run at a time fleet-wide); the
      // mark also skips runs the SLO replay at start already counted.
      auto [seen, fresh] = feed_seen_.try_emplace(run.probe, feed_start_);
      if (run.observed_at <= seen->second) continue;
      seen->second = run.observed_at;
      // One copy shared by the runtime's slot and the alert tracker (as a run
      // done here is), not one each.
      const auto r = std::make_shared<const ProbeResult>(std::move(run));
      metrics_.observe(*r, false);
      if (rt) rt->remember(r);
      slos_.record(*r);
      if (l) report(l->lifecycle.observeProbe(r));
    }
    if (page->runs.size() < kFeedPage) return;
  }
}

}  // namespace datawatch
