// The `agent:` section.
#include "config/sections.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/redact.hpp"

namespace datawatch::config::detail {

namespace {

void readListen(Ctx& ctx, const Entry& e, MapReader& m, AgentConfig& a) {
  auto v = m.str("listen", true);
  if (!v) return;
  auto colon = v->rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    auto ps = v->substr(colon + 1);
    auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
    if (ec != std::errc() || p != ps.data() + ps.size()) port = -1;
  }
  if (port < 0 || port > 65535) {
    ctx.error(ctx.loc(*e.doc, e.node),
              "agent.listen must be HOST:PORT (port 0-65535), got \"" + *v + "\"");
  } else {
    a.listen = *v;
  }
}

void readState(Ctx& ctx, const Entry& e, MapReader& m, AgentConfig& a) {
  auto v = m.str("state", true);
  if (!v) return;
  if (v->rfind("sqlite://", 0) == 0) {
    a.state = "sqlite://" + resolvePath(*e.doc, v->substr(9)).string();
  } else if (isSharedState(*v)) {
    a.state = *v;
    addDsnSecret(ctx, *v);
  } else {
    ctx.error(ctx.loc(*e.doc, e.node),
              "agent.state must start with sqlite:// or postgres://, got \"" +
                  Redactor::redactDsn(*v) + "\"");
  }
}

void readPostmortems(Ctx& ctx, const Entry& e, AgentConfig& a) {
  MapReader p(ctx, *e.doc, e.node, "agent.postmortems");
  p.checkKeys({"dir", "template", "dashboard_url"});
  if (auto v = p.str("dir")) a.postmortems.dir = resolvePath(*e.doc, *v);
  if (auto v = p.str("template")) a.postmortems.template_path = resolvePath(*e.doc, *v);
  if (auto v = p.str("dashboard_url")) a.postmortems.dashboard_url = *v;
}

void readReplicaId(Ctx& ctx, const Entry& e, MapReader& m, AgentConfig& a) {
  auto v = m.str("replica_id");
  if (!v || v->empty()) return;  // "" (an unset ${VAR} with a default): hostname-pid
  const bool ok =
      !v->empty() && v->size() <= 128 && std::all_of(v->begin(), v->end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
      });
  if (!ok) {
    ctx.error(ctx.loc(*e.doc, e.node),
              "agent.replica_id must be 1-128 characters of letters, digits, '-', '_', '.', "
              "':', got \"" +
                  *v + "\"");
    return;
  }
  a.replica_id = *v;
}

// One known agent key.
void readAgentKey(Ctx& ctx, const std::string& key, const Entry& e, AgentConfig& a) {
  YAML::Node wrapper(YAML::NodeType::Map);
  wrapper[key] = e.node;
  MapReader m(ctx, *e.doc, wrapper, "agent");
  if (key == "listen") {
    readListen(ctx, e, m, a);
  } else if (key == "state") {
    readState(ctx, e, m, a);
  } else if (key == "retention") {
    if (auto d = m.duration("retention", true, std::chrono::hours(1))) a.retention = *d;
  } else if (key == "api_token") {
    if (auto v = m.str("api_token", false, true)) a.api_token = *v;
  } else if (key == "lineage_token") {
    if (auto v = m.str("lineage_token", false, true)) {
      if (v->empty())
        ctx.error(ctx.loc(*e.doc, e.node),
                  "agent.lineage_token must not be empty (leave it out to accept OpenLineage "
                  "events without a token)");
      else
        a.lineage_token = *v;
    }
  } else if (key == "default_notify") {
    std::vector<Location> locs;
    if (auto v = m.strList("default_notify", false, &locs)) {
      a.default_notify = *v;
      a.default_notify_locs = std::move(locs);
    }
  } else if (key == "max_concurrent_probes") {
    if (auto v = m.intInRange("max_concurrent_probes", 1, 256))
      a.max_concurrent_probes = static_cast<int>(*v);
  } else if (key == "postmortems") {
    readPostmortems(ctx, e, a);
  } else if (key == "replica_id") {
    readReplicaId(ctx, e, m, a);
  } else if (key == "run_flush_interval") {
    if (auto d = m.duration("run_flush_interval", true, std::chrono::milliseconds(10))) {
      if (*d > std::chrono::seconds(10))
        ctx.error(ctx.loc(*e.doc, e.node),
                  "agent.run_flush_interval must be at most 10s (a crash loses the runs "
                  "still waiting)");
      else
        a.run_flush_interval = *d;
    }
  } else if (key == "leader_lease") {
    if (auto d = m.duration("leader_lease", true, std::chrono::seconds(2))) {
      if (*d > std::chrono::minutes(5)) {
        ctx.error(ctx.loc(*e.doc, e.node),
                  "agent.leader_lease must be at most 5m (failover waits for it)");
      } else {
        a.leader_lease = *d;
      }
    }
  }
}

}  // namespace

void parseAgent(Ctx& ctx, const std::map<std::string, Entry>& keys, AgentConfig& a) {
  // Each agent key may come from a different file; read each from its own entry.
  static const std::vector<std::string_view> kKeys{
      "listen",        "state",        "retention",         "api_token",
      "lineage_token", "postmortems",  "default_notify",    "max_concurrent_probes",
      "replica_id",    "leader_lease", "run_flush_interval"};
  for (const auto& [key, e] : keys) {
    // Keep the original key node's mark for unknown-key errors.
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      ctx.error(ctx.loc(*e.doc, e.key_node),
                "unknown key \"" + key + "\" in agent" + didYouMean(key, kKeys));
      continue;
    }
    readAgentKey(ctx, key, e, a);
  }
  // A fleet's replicas follow each other's runs through the store in commit
  // order, and each takes a probe's runs in time order (agent_ha.cpp): a run
  // committed more than a probe interval late (probes run at most once a
  // second) would be skipped. A run can wait the interval plus a commit: half
  // a second leaves the margin. (A store that refuses writes for longer can
  // still delay runs past it.)
  const auto flush = keys.find("run_flush_interval");
  if (flush != keys.end() && a.run_flush_interval && isSharedState(a.state) &&
      *a.run_flush_interval > std::chrono::milliseconds(500)) {
    ctx.error(ctx.loc(*flush->second.doc, flush->second.node),
              "agent.run_flush_interval must be at most 500ms with a PostgreSQL state store "
              "(the replicas read each other's runs from it in order)");
  }
}

}  // namespace datawatch::config::detail
