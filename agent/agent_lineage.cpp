// The Agent's OpenLineage side (agent.hpp, lineage_service.hpp): the
// endpoint, the graph's load at start, and the links handed to the lifecycle.
#include "agent/agent.hpp"

namespace datawatch {

std::optional<std::string> Agent::lineageToken() {
  std::lock_guard lock(mu_);
  if (runtime_) return runtime_->config().agent.lineage_token;
  return starting_ ? starting_->agent.lineage_token : std::nullopt;
}

std::pair<int, nlohmann::json> Agent::receiveLineage(const std::string& body) {
  if (!store_) return {503, {{"error", "the agent is starting"}}};
  const auto r = lineage_.receive(*store_, body);
  if (r.accepted > 0) relinkLifecycle();  // inhibition follows the graph before we answer
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
  if (fleet_) {
    if (auto st = lineage_.follow(*store_); !st) {
      log_->warn("lineage: cannot read other replicas' events: {}", st.message());
      metrics_.stateStoreError();
    }
  }
  relinkLifecycle();
}

std::shared_ptr<const config::Config> Agent::currentConfig() const {
  std::lock_guard lock(mu_);
  return runtime_ ? runtime_->sharedConfig() : nullptr;
}

void Agent::relinkLifecycle() {
  std::lock_guard lock(reload_mu_);
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

nlohmann::json Agent::lineageOf(const std::shared_ptr<const config::Config>& cfg,
                                const std::string& probe) {
  auto links = lineage_.links(cfg);
  const auto& nodes = links->nodesOf(probe);
  if (nodes.empty()) return nullptr;
  nlohmann::json chain = nlohmann::json::array();
  for (const auto& step : links->upstreamChain(probe)) {
    chain.push_back({{"node", step.node},
                     {"kind", step.job ? "job" : "dataset"},
                     {"depth", step.depth},
                     {"probes", step.probes}});
  }
  return {{"nodes", nodes}, {"upstream_probes", links->upstreamProbes(probe)}, {"upstream", chain}};
}

}  // namespace datawatch
