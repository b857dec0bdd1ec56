#include "agent/status_page.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "alerting/alerts.hpp"
#include "core/duration.hpp"
#include "core/markup.hpp"
#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "probes/sql_probes.hpp"

namespace datawatch {
namespace {

using nlohmann::json;

std::string esc(const json& v) {
  return xmlEscape(v.is_string() ? v.get<std::string>() : "");
}

std::string jsonPercent(const json& v, int decimals) {
  if (!v.is_number()) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, v.get<double>() * 100);
  return buf;
}

// "3m ago" from two RFC 3339 stamps; "" when either is missing.
std::string ago(const json& at, const json& now) {
  if (!at.is_string() || !now.is_string()) return "";
  const auto a = parseTimestamp(at.get<std::string>());
  const auto n = parseTimestamp(now.get<std::string>());
  if (!a || !n) return "";
  const auto d = std::chrono::duration_cast<Duration>(*n - *a);
  return d.count() <= 0 ? "now" : humanDuration(d) + " ago";
}

std::string statusClass(const std::string& s) {
  return s == "pass" || s == "fail" || s == "error" ? s : "pending";
}

constexpr const char* kStyle =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#1f2328;"
    "padding:0 1em}h1{font-size:20px;margin:0}h2{font-size:15px;margin:1.4em 0 .4em;"
    "border-bottom:1px solid #d0d7de}header p{margin:.2em 0;color:#57606a}"
    ".summary span{display:inline-block;margin-right:1.2em;font-weight:600}"
    "table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;text-align:left;"
    "border-bottom:1px solid #eaeef2;vertical-align:top}th{font-weight:600;color:#57606a}"
    ".pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}.error{color:#9a6700;"
    "font-weight:600}.pending{color:#57606a}.msg{color:#57606a;max-width:38em}"
    ".bar{position:relative;width:160px;height:12px;background:#eaeef2;border-radius:3px;"
    "display:inline-block;vertical-align:middle;overflow:hidden}.bar i{position:absolute;left:0;"
    "top:0;bottom:0}.ok i{background:#2da44e}.low i{background:#bf8700}.out i{background:#cf222e}"
    "small{color:#57606a}a{color:#0969da}";

// HA: which replica claimed the probe's last run.
std::string ranBy(const json& probe) {
  const auto by = probe.value("ran_by", json());
  if (!by.is_object()) return "";
  return " <small>by " + esc(by.value("replica", json())) + "</small>";
}

// A contract's probe: "contract ID · file:line" under its name.
std::string contractOf(const json& probe) {
  const auto c = probe.value("contract", json());
  if (!c.is_object()) return "";
  std::string where = c.value("file", "");
  if (c.value("line", 0) > 0) where += ":" + std::to_string(c.value("line", 0));
  return "<br><small>contract " + esc(c.value("id", json())) + " &middot; " + xmlEscape(where) +
         "</small>";
}

// Under a probe's target: its upstream chain through the lineage graph
// ("upstream: job airflow/load [nightly_orders: fail] < dataset …"), nearest
// first, each node with the probes watching it and their status; else its
// configured `upstream` probes.
std::string upstreamOf(const json& probe, const std::map<std::string, std::string>& status) {
  auto named = [&](const json& names) {
    std::string out;
    for (const auto& n : names) {
      if (!n.is_string()) continue;
      auto it = status.find(n.get<std::string>());
      out += (out.empty() ? "" : ", ") + xmlEscape(n.get<std::string>()) + ": " +
             xmlEscape(it == status.end() ? "?" : it->second);
    }
    return out;
  };
  const auto ol = probe.value("lineage", json());
  if (ol.is_object() && ol.value("upstream", json()).is_array() && !ol["upstream"].empty()) {
    std::string html = "<br><small>upstream: ";
    size_t shown = 0;
    for (const auto& step : ol["upstream"]) {
      if (shown++ == 4) {
        html += " &lt; &hellip;";
        break;
      }
      html += (shown > 1 ? " &lt; " : "") + esc(step.value("kind", json())) + " " +
              esc(step.value("node", json()));
      const auto watched = named(step.value("probes", json::array()));
      if (!watched.empty()) html += " [" + watched + "]";
    }
    return html + "</small>";
  }
  const auto up = probe.value("upstream", json());
  if (!up.is_array() || up.empty()) return "";
  return "<br><small>upstream: " + named(up) + "</small>";
}

// HA: this replica, the leader and every live replica.
std::string fleetSection(const json& fleet, const json& now) {
  if (!fleet.is_object()) return "";
  std::string html = "<h2>Fleet</h2><p>this replica <b>" + esc(fleet.value("replica", json())) +
                     "</b> (" + esc(fleet.value("role", json())) + ") &middot; leader " +
                     esc(fleet.value("leader", json())) + " &middot; epoch " +
                     std::to_string(fleet.value("epoch", int64_t{0})) +
                     (fleet.value("config_mismatch", false)
                          ? " &middot; <span class=\"fail\">config differs from the leader's</span>"
                          : "") +
                     "</p><table><tr><th>replica</th><th>role</th><th>config</th><th>started</th>"
                     "<th>last heartbeat</th></tr>\n";
  for (const auto& r : fleet.value("replicas", json::array())) {
    html += "<tr><td>" + esc(r.value("id", json())) + "</td><td>" +
            (r.value("leader", false) ? "leader" : "follower") + "</td><td>" +
            esc(r.value("config_hash", json())) + "</td><td>" +
            xmlEscape(ago(r.value("started_at", json()), now)) + "</td><td>" +
            xmlEscape(ago(r.value("last_seen", json()), now)) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

}  // namespace

std::string renderStatusPage(const json& status) {
  const json now = status.value("now", json());
  const json probes = status.value("probes", json::array());
  const json slos = status.value("slos", json::array());
  const json alerts = status.value("alerts", json::array());
  const json incidents = status.value("incidents", json::array());
  int passing = 0, failing = 0, erroring = 0;
  for (const auto& p : probes) {
    const auto last = p.value("last", json());
    const std::string s = last.is_object() ? last.value("status", "") : "";
    passing += s == "pass";
    failing += s == "fail";
    erroring += s == "error";
  }
  std::string html =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta http-equiv=\"refresh\" content=\"30\"><title>datawatch</title><style>" +
      std::string(kStyle) + "</style></head><body><header><h1>datawatch</h1><p>version " +
      esc(status.value("version", json())) + " &middot; " + esc(now) +
      " &middot; refreshes every 30 s &middot; <a href=\"/metrics\">metrics</a> &middot; "
      "<a href=\"/api/v1/status\">status API</a> &middot; <a href=\"/api/v1/incidents\">"
      "incidents API</a></p><p class=\"summary\"><span class=\"pass\">" +
      std::to_string(passing) + " passing</span><span class=\"fail\">" + std::to_string(failing) +
      " failing</span><span class=\"error\">" + std::to_string(erroring) +
      " erroring</span><span class=\"" + (alerts.empty() ? "pass" : "fail") + "\">" +
      std::to_string(alerts.size()) + " alerts firing</span><span class=\"" +
      (incidents.empty() ? "pass" : "fail") + "\">" + std::to_string(incidents.size()) +
      " open incidents</span></p></header>\n";

  html += fleetSection(status.value("fleet", json()), now);
  if (!slos.empty()) {
    html +=
        "<h2>SLOs</h2><table><tr><th>SLO</th><th>objective</th><th>SLI</th>"
        "<th>error budget left</th><th>state</th><th>burn rates</th></tr>\n";
    for (const auto& s : slos) {
      const json budget = s.value("error_budget_remaining", json());
      const double b = budget.is_number() ? budget.get<double>() : 1.0;
      const char* cls = b < 0 ? "out" : b < 0.25 ? "low" : "ok";
      const double width = std::clamp(b, 0.0, 1.0) * 100;
      std::string breaching;
      for (const auto& x : s.value("breaching", json::array()))
        breaching += (breaching.empty() ? "" : ", ") + xmlEscape(x.get<std::string>());
      std::string burns;
      for (const auto& w : s.value("windows", json::array())) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s&nbsp;%.2f", xmlEscape(w.value("window", "")).c_str(),
                      w.value("burn_rate", 0.0));
        burns += (burns.empty() ? "" : " &middot; ") + std::string(buf);
      }
      char width_css[32];
      std::snprintf(width_css, sizeof width_css, "%.1f", width);
      html += "<tr><td>" + esc(s.value("name", json())) + "</td><td>" +
              xmlEscape(dumpJson(json(s.value("objective_percent", 0.0)))) + "% / " +
              esc(s.value("window", json())) + "</td><td>" +
              jsonPercent(s.value("sli", json()), 3) + "</td><td><span class=\"bar " + cls +
              "\" title=\"" + jsonPercent(budget, 1) + "\"><i style=\"width:" + width_css +
              "%\"></i></span> " + jsonPercent(budget, 1) + "</td><td class=\"" +
              (breaching.empty() ? "pass\">ok" : "fail\">" + breaching) + "</td><td><small>" +
              burns + "</small></td></tr>\n";
    }
    html += "</table>\n";
  }

  html += "<h2>Alerts firing</h2>";
  if (alerts.empty()) {
    html += "<p class=\"pass\">none</p>\n";
  } else {
    html +=
        "<table><tr><th>alert</th><th>severity</th><th>since</th><th>notified</th>"
        "<th>summary</th></tr>\n";
    for (const auto& a : alerts) {
      const auto alert = alertFromJson(a);
      std::string muted = alert ? muteReason(*alert) : "";
      if (muted.empty()) muted = "sent";
      html += "<tr><td class=\"fail\">" + esc(a.value("id", json())) + "</td><td>" +
              esc(a.value("severity", json())) + "</td><td>" +
              xmlEscape(ago(a.value("started_at", json()), now)) + "</td><td>" + xmlEscape(muted) +
              "</td><td class=\"msg\">" + esc(a.value("summary", json())) + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  const json silences = status.value("silences", json::array());
  if (!silences.empty()) {
    html += "<p><small>silences: ";
    bool first = true;
    for (const auto& x : silences) {
      html += std::string(first ? "" : "; ") + esc(x.value("id", json())) + " " +
              xmlEscape(dumpJson(x.value("match", json::object()))) + " until " +
              esc(x.value("ends", json())) + (x.value("active", false) ? "" : " (pending)");
      first = false;
    }
    html += "</small></p>\n";
  }

  html += "<h2>Open incidents</h2>";
  if (incidents.empty()) {
    html += "<p class=\"pass\">none</p>\n";
  } else {
    html +=
        "<table><tr><th>incident</th><th>subject</th><th>severity</th><th>opened</th>"
        "<th>alerts</th></tr>\n";
    for (const auto& i : incidents) {
      const std::string id = i.value("id", "");
      html += "<tr><td class=\"fail\"><a href=\"/api/v1/incidents/" + xmlEscape(id) + "\">" +
              xmlEscape(id) + "</a></td><td>" + esc(i.value("subject", json())) + "</td><td>" +
              esc(i.value("severity", json())) + "</td><td>" +
              xmlEscape(ago(i.value("opened_at", json()), now)) + "</td><td>" +
              xmlEscape(dumpJson(i.value("alerts", json::array()))) + "</td></tr>\n";
    }
    html += "</table>\n";
  }

  html +=
      "<h2>Probes</h2><table><tr><th>probe</th><th>type</th><th>target</th><th>status</th>"
      "<th>value</th><th>last run</th><th>message</th></tr>\n";
  std::map<std::string, std::string> states;  // probe -> its last status
  for (const auto& p : probes) {
    const auto last = p.value("last", json());
    states[p.value("name", "")] = last.is_object() ? last.value("status", "") : "pending";
  }
  for (const auto& p : probes) {
    const auto last = p.value("last", json());
    const std::string st = last.is_object() ? last.value("status", "") : "pending";
    std::string value;
    if (last.is_object() && last.contains("value") && last["value"].is_number()) {
      const double v = last["value"].get<double>();
      char big[32];
      std::snprintf(big, sizeof big, "%.0f", v);  // no exponents for big counts and ages
      value = (std::fabs(v) >= 1000 ? std::string(big) : formatNumber(v)) + " " +
              last.value("unit", "");
    }
    html += "<tr><td>" + esc(p.value("name", json())) + contractOf(p) + "</td><td>" +
            esc(p.value("type", json())) + "</td><td>" + esc(p.value("target", json())) +
            upstreamOf(p, states) + "</td><td class=\"" + statusClass(st) + "\">" +
            xmlEscape(st.empty() ? "pending" : st) + "</td><td>" + xmlEscape(value) + "</td><td>" +
            xmlEscape(last.is_object() ? ago(last.value("observed_at", json()), now) : "") +
            ranBy(p) + "</td><td class=\"msg\">" +
            xmlEscape(last.is_object() ? last.value("message", "") : "") + "</td></tr>\n";
  }
  html += "</table></body></html>\n";
  return html;
}

}  // namespace datawatch
