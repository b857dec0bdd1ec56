#include "alerting/notification.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <set>

#include "config/contract_ref.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {

std::string sha256Hex(const std::string& s, size_t hex_chars) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  char b[3];
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH && out.size() < hex_chars; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

namespace {

// The probes an alert is about: the SLO's probes, or the probe itself.
std::vector<std::string> alertProbes(const Alert& a, const config::Config& cfg) {
  if (a.kind != "slo") return {a.subject};
  const auto* slo = cfg.findSlo(a.subject);
  return slo ? slo->probes : std::vector<std::string>{};
}

// Probes downstream of `roots` (transitively, through `upstream`).
std::vector<std::string> downstreamOf(const std::vector<std::string>& roots,
                                      const config::Config& cfg) {
  std::set<std::string> seen(roots.begin(), roots.end());
  std::vector<std::string> out, frontier = roots;
  while (!frontier.empty()) {
    std::vector<std::string> next;
    for (const auto& p : cfg.probes) {
      if (seen.count(p.name)) continue;
      for (const auto& up : p.upstream) {
        if (std::find(frontier.begin(), frontier.end(), up) != frontier.end()) {
          seen.insert(p.name);
          out.push_back(p.name);
          next.push_back(p.name);
          break;
        }
      }
    }
    frontier = std::move(next);
  }
  return out;
}

}  // namespace

std::string deliveryId(const Outgoing& o) {
  const TimePoint event = o.firing ? o.at : o.alert.resolved_at.value_or(o.at);
  return sha256Hex(o.alert.id() + "|" + std::to_string(toUnixMillis(o.alert.started_at)) + "|" +
                       (o.firing ? "firing" : "resolved") + "|" +
                       std::to_string(toUnixMillis(event)) + "|" + o.notifier +
                       (o.change.empty() ? "" : "|" + o.change),
                   32);
}

nlohmann::json notificationBody(const Outgoing& o, const std::string& delivery_id,
                                const NotificationContext& ctx) {
  const Alert& a = o.alert;
  const auto& cfg = *ctx.cfg;
  const std::string incident = ctx.incident_of ? ctx.incident_of(a.id()) : "";
  nlohmann::json alert{
      {"id", a.id()},
      {"kind", a.kind},
      {"name", a.subject},
      {"severity", a.severity},
      {"summary", a.summary},
      {"started_at", formatRfc3339(a.started_at)},
      {"resolved_at",
       a.resolved_at ? nlohmann::json(formatRfc3339(*a.resolved_at)) : nlohmann::json(nullptr)},
      {"owner", a.owner},
      {"labels", a.labels()},
      {"incident_id", incident.empty() ? nlohmann::json(nullptr) : nlohmann::json(incident)},
      {"repeat", o.repeat}};
  if (!o.change.empty()) alert["change"] = o.change;
  if (a.kind == "slo") {
    nlohmann::json slo = nlohmann::json::object();
    if (const auto* sc = cfg.findSlo(a.subject)) {
      slo["objective"] = sc->objective / 100.0;
      slo["window"] = formatDuration(sc->window);
    }
    if (ctx.slo) {
      nlohmann::json burn = nlohmann::json::object();
      for (const auto& w : ctx.slo->windows) burn[formatDuration(w.window)] = w.burn_rate;
      slo["burn_rates"] = std::move(burn);
      slo["error_budget_remaining"] = ctx.slo->error_budget_remaining;
    }
    alert["slo"] = std::move(slo);
  }
  const auto probes = alertProbes(a, cfg);
  nlohmann::json pj = nlohmann::json::array();
  std::set<std::string> consumers;
  for (const auto& name : probes) {
    nlohmann::json p{{"probe", name}};
    const auto* pc = cfg.findProbe(name);
    if (pc) {
      p["target"] = pc->target();
      if (!pc->contract.empty()) p["contract"] = config::contractRef(*pc);
      consumers.insert(pc->consumers.begin(), pc->consumers.end());
    }
    const ProbeResult* r = ctx.last_run ? ctx.last_run(name) : nullptr;
    if (r) {
      p["status"] = toString(r->status);
      p["value"] = r->value && std::isfinite(*r->value) ? nlohmann::json(*r->value)
                                                        : nlohmann::json(nullptr);
      p["unit"] = r->unit;
      p["threshold"] = r->threshold;
      p["message"] = r->message;
      p["observed_at"] = formatRfc3339(r->observed_at);
    } else {
      p["status"] = "unknown";
    }
    pj.push_back(std::move(p));
  }
  alert["probes"] = std::move(pj);
  const auto down = downstreamOf(probes, cfg);
  for (const auto& d : down)
    if (const auto* pc = cfg.findProbe(d))
      consumers.insert(pc->consumers.begin(), pc->consumers.end());
  alert["downstream"] = {
      {"probes", down},
      {"consumers", std::vector<std::string>(consumers.begin(), consumers.end())}};
  nlohmann::json links = nlohmann::json::object();
  if (cfg.agent.postmortems.dashboard_url)
    links["dashboard"] = *cfg.agent.postmortems.dashboard_url;
  if (!o.firing && !incident.empty())
    links["postmortem"] = (cfg.agent.postmortems.dir / (incident + ".md")).string();
  alert["links"] = std::move(links);
  return {{"version", "1"},
          {"delivery_id", delivery_id},
          {"status", o.firing ? "firing" : "resolved"},
          {"alert", std::move(alert)}};
}

OutboxItem outboxItem(const Outgoing& o, const NotificationContext& ctx) {
  OutboxItem it;
  it.delivery_id = deliveryId(o);
  it.notifier = o.notifier;
  it.alert_id = o.alert.id();
  it.payload = notificationBody(o, it.delivery_id, ctx);
  it.created_at = o.at;
  it.next_attempt = o.at;
  if (const auto* nc = ctx.cfg->findNotifier(o.notifier)) {
    if (const auto* slack = std::get_if<config::SlackNotifierConfig>(&nc->spec))
      it.next_attempt = o.at + slack->group_wait;
  }
  return it;
}

}  // namespace datawatch
