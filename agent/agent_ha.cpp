// Agent: leadership and the HA fleet (see agent.hpp and agent/fleet_member.hpp).
#include <unistd.h>

#include <climits>

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

bool isSharedState(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

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

void Agent::lead(const std::shared_ptr<const config::Config>& cfg, int64_t epoch) {
  if (fleet_) store_->fence(epoch);  // before the first write of this term
  auto l = std::make_shared<Leadership>(*this);
  l->epoch = epoch;
  restoreIncidents(l->incidents);
  SendGate gate;
  if (fleet_) gate = [this] { return fleet_->leaderNow(); };
  l->dispatcher =
      std::make_unique<Dispatcher>(*store_, clock_, &delivery_report_, RetryPolicy{}, gate);
  const auto step = l->lifecycle.configure(cfg, clock_.now());
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
}

void Agent::stepDown() {
  std::shared_ptr<Leadership> l;
  {
    MutexLock lock(leader_mu_);
    l.swap(leading_);
  }
  if (fleet_) store_->fence(std::nullopt);
  if (!l) return;
  l->dispatcher->stop();                  // no callback holds `l` after this
  for (auto a : l->lifecycle.firing()) {  // the new leader exports them now
    a.firing = false;
    metrics_.setAlertFiring(a);
  }
}

Status Agent::joinFleet(const config::Config& cfg) {
  FleetOptions o;
  o.dsn = cfg.agent.state;
  o.replica_id = cfg.agent.replica_id.empty() ? defaultReplicaId() : cfg.agent.replica_id;
  o.config_hash = configHash(cfg.files);
  o.leader_lease = cfg.agent.leader_lease;
  auto fleet = Fleet::open(o, log_);
  if (!fleet) return fleet.status();
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
  std::shared_ptr<const config::Config> cfg;
  {
    std::lock_guard l(mu_);
    if (runtime_) cfg = runtime_->sharedConfig();
  }
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
    for (const auto& r : page->runs) {
      // Runs of one probe come in order (one run at a time fleet-wide); the
      // mark also skips runs the SLO replay at start already counted.
      auto [seen, fresh] = feed_seen_.try_emplace(r.probe, feed_start_);
      if (r.observed_at <= seen->second) continue;
      seen->second = r.observed_at;
      metrics_.observe(r, false);
      if (rt) rt->remember(r);
      slos_.record(r);
      if (l) report(l->lifecycle.observeProbe(r));
    }
    if (page->runs.size() < kFeedPage) return;
  }
}

}  // namespace datawatch
