// The Agent's HTTP API (HttpApi, agent/http_server.hpp): status, readiness,
// metrics, incidents and silences. OpenLineage's part is in agent_lineage.cpp.
#include "agent/agent.hpp"
#include "agent/version.hpp"
#include "config/contract_ref.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {

nlohmann::json Agent::incidents() {
  nlohmann::json out = nlohmann::json::array();
  if (!store_) return out;
  auto list = store_->loadIncidents(false, 100);
  if (!list) return out;
  for (const auto& j : *list) {
    nlohmann::json brief = j;
    brief.erase("timeline");
    brief.erase("burn_series");
    out.push_back(std::move(brief));
  }
  return out;
}

std::optional<nlohmann::json> Agent::incident(const std::string& id) {
  if (!store_) return std::nullopt;
  auto j = store_->loadIncident(id);
  if (!j || !*j) return std::nullopt;
  (*j)->erase("burn_series");
  return **j;
}

nlohmann::json Agent::silences() {
  const auto now = clock_.now();
  nlohmann::json out = nlohmann::json::array();
  auto l = leading();
  if (!l) return out;
  for (const auto& s : l->lifecycle.silences(now)) out.push_back(toJson(s, now));
  return out;
}

Result<nlohmann::json> Agent::addSilence(const nlohmann::json& body) {
  const auto now = clock_.now();
  auto s = silenceFromRequest(body, now);
  if (!s) return Result<nlohmann::json>::Error(s.error());
  std::lock_guard role(reload_mu_);  // no step-down or new term meanwhile (applyRole)
  auto l = leading();
  if (!l || (fleet_ && !fleet_->leaderNow())) return Result<nlohmann::json>::Error(notLeader());
  const Silence added = l->lifecycle.addSilence(*s);
  for (const auto& w : l->lifecycle.takeWarnings()) log_->warn("{}", w);
  log_->info("silence {} added until {}: {}", added.id, formatRfc3339(added.ends), added.reason);
  report(l->lifecycle.tick(now));  // mute state shows at once
  return toJson(added, now);
}

Status Agent::deleteSilence(const std::string& id) {
  std::lock_guard role(reload_mu_);  // no step-down or new term meanwhile (applyRole)
  auto l = leading();
  if (!l || (fleet_ && !fleet_->leaderNow())) return Status::Error(notLeader());
  if (!l->lifecycle.removeSilence(id))
    return Status::Error("no API silence \"" + id +
                         "\" (config silences are removed in the config)");
  for (const auto& w : l->lifecycle.takeWarnings()) log_->warn("{}", w);
  log_->info("silence {} removed", id);
  report(l->lifecycle.tick(clock_.now()));  // what it muted goes out now
  return Status::Ok();
}

std::string Agent::metricsText() {
  return metrics_.render();
}

Status Agent::ready() {
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  if (!rt) return Status::Error("configuration not loaded yet");
  if (!store_) return Status::Error("state store not open");
  return store_->ping();
}

std::optional<std::string> Agent::apiToken() {
  std::lock_guard lock(mu_);
  if (!runtime_) return std::nullopt;
  return runtime_->config().agent.api_token;
}

nlohmann::json Agent::status() {
  std::shared_ptr<Runtime> rt;
  std::shared_ptr<const config::Config> cfg;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
    cfg = rt ? nullptr : starting_;
  }
  nlohmann::json j;
  j["version"] = kVersion;
  j["now"] = formatRfc3339(clock_.now());
  j["probes"] = nlohmann::json::array();
  j["slos"] = nlohmann::json::array();
  for (const auto& st : slos_.evaluate(clock_.now())) j["slos"].push_back(toJson(st));
  j["alerts"] = nlohmann::json::array();
  if (auto l = leading()) {
    for (const auto& a : l->lifecycle.firing()) j["alerts"].push_back(toJson(a));
  } else if (store_) {  // an HA follower: as the leader last stored them
    for (const auto& a : AlertLifecycle::storedFiring(*store_)) j["alerts"].push_back(toJson(a));
  }
  std::map<std::string, FleetProbeOwner> ran_by;
  if (fleet_) {
    j["fleet"] = fleet_->status();
    ran_by = fleet_->probeOwners();
  }
  j["silences"] = silences();
  j["incidents"] = nlohmann::json::array();
  if (auto open = store_ ? store_->loadIncidents(true, 100)
                         : Result<std::vector<nlohmann::json>>(std::vector<nlohmann::json>{})) {
    for (auto& inc : *open) {
      inc.erase("timeline");
      inc.erase("burn_series");
      j["incidents"].push_back(std::move(inc));
    }
  }
  if (rt) cfg = rt->sharedConfig();
  const config::Config* shown = cfg.get();
  if (!shown) return j;
  j["config"] =
      redactor_->redactJson({{"files", shown->files}, {"environment", shown->environment}});
  const size_t probes = rt ? rt->size() : shown->probes.size();
  const auto links = lineage_.links(cfg);  // one snapshot for every probe
  for (size_t i = 0; i < probes; ++i) {
    const auto& c = rt ? rt->probeConfig(i) : shown->probes[i];
    nlohmann::json p{{"name", c.name},     {"type", config::toString(c.type)},
                     {"source", c.source}, {"target", c.target()},
                     {"owner", c.owner},   {"every", formatDuration(c.every)}};
    if (auto ref = config::contractRef(c); !ref.is_null()) p["contract"] = std::move(ref);
    if (auto o = ran_by.find(c.name); o != ran_by.end()) {
      p["ran_by"] = {{"replica", o->second.replica}, {"at", formatRfc3339(o->second.at)}};
    }
    std::optional<ProbeResult> last;  // none while starting
    if (rt) last = rt->lastResult(i);
    p["last"] = last ? redactor_->redactJson(last->toJson()) : nlohmann::json(nullptr);
    if (!c.upstream.empty()) p["upstream"] = c.upstream;
    if (auto ol = lineageOf(*links, c.name); !ol.is_null()) p["lineage"] = std::move(ol);
    j["probes"].push_back(std::move(p));
  }
  return j;
}

}  // namespace datawatch
