// The Agent's OpenLineage side (agent.hpp, lineage_service.hpp): the
// endpoint, the graph's load at start, and the links handed to the lifecycle.
#include "agent/agent.hpp"

namespace datawatch {

std::optional<std::string> Agent::lineageToken() {
  std::lock_guard lock(mu_);
  const config::Config* cfg = runtime_ ? &runtime_->config() : starting_.get();
  if (!cfg) return std::nullopt;
  // Without a lineage_token, the api_token (when set) guards the endpoint too:
  // anyone who can post events can mute the alerts below a job.
  return cfg->agent.lineage_token ? cfg->agent.lineage_token : cfg->agent.api_token;
}

std::pair<int, nlohmann::json> Agent::receiveLineage(const std::string& body) {
  if (!store_) return {503, {{"error", "the agent is starting"}}};
  const auto r = lineage_.receive(*store_, body, clock_.now());
  // Inhibition follows the graph before the answer — unless a reload or a
  // stop holds the lock: the main loop relinks within a second then.
  if (r.accepted > 0) relinkLifecycle(false);
  if (r.status != 201) return {r.status, {{"error", redactor_->redact(r.error)}}};
  return {201, {{"accepted", r.accepted}, {"duplicates", r.duplicates}}};
}

std::optional<nlohmann::json> Agent::lineage() {
  return lineage_.graph().toJson();
}

void Agent::loadLineage() {
  auto n = lineage_.load(*store_);
  if (!n) {
    log_->warn(
        "lineage: cannot read the stored OpenLineage events: {}; job and dataset probes "
        "see only new events until they can be read",
        n.error());
    metrics_.stateStoreError();
  } else if (*n > 0) {
    const auto& g = lineage_.graph();
    log_->info("lineage: {} stored OpenLineage events: {} jobs, {} datasets", *n, g.jobCount(),
               g.datasetCount());
  }
}

std::shared_ptr<const config::Config> Agent::lifecycleConfig(
    const std::shared_ptr<const config::Config>& cfg) {
  return withLineage(cfg, *lineage_.links(cfg));
}

void Agent::applyLineage() {
  if (!lineage_.loaded()) {
    if (auto n = lineage_.load(*store_); n)
      log_->info("lineage: the stored OpenLineage events are read ({} more)", *n);
  } else if (fleet_) {
    if (auto st = lineage_.follow(*store_); !st) {
      log_->warn("lineage: cannot read other replicas' events: {}", st.message());
      metrics_.stateStoreError();
    }
  }
  relinkLifecycle(true);
}

std::shared_ptr<const config::Config> Agent::currentConfig() const {
  std::lock_guard lock(mu_);
  return runtime_ ? runtime_->sharedConfig() : nullptr;
}

void Agent::relinkLifecycle(bool wait) {
  std::unique_lock lock(reload_mu_, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return;
  }
  if (stopping_) return;
  const auto cfg = currentConfig();
  if (!cfg) return;
  auto links = lineage_.links(cfg);
  if (links == lifecycle_links_) return;
  lifecycle_links_ = links;
  if (auto l = leading()) {
    report(l->lifecycle.configure(withLineage(cfg, *links), clock_.now()));
    for (const auto& w : l->lifecycle.takeWarnings()) log_->warn("{}", w);
  }
}

nlohmann::json Agent::lineageOf(const lineage::LineageLinks& links, const std::string& probe) {
  const auto& nodes = links.nodesOf(probe);
  if (nodes.empty()) return nullptr;
  nlohmann::json chain = nlohmann::json::array();
  for (const auto& step : links.upstreamChain(probe)) {
    chain.push_back({{"node", step.node},
                     {"kind", step.job ? "job" : "dataset"},
                     {"depth", step.depth},
                     {"probes", step.probes}});
  }
  return {{"nodes", nodes}, {"upstream_probes", links.upstreamProbes(probe)}, {"upstream", chain}};
}

}  // namespace datawatch
