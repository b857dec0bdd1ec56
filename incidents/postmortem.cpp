#include "incidents/postmortem.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include <kainjow/mustache.hpp>

#include <regex>
#include <sstream>

#include "core/duration.hpp"
#include "core/markup.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {

using nlohmann::json;

std::string fixed(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// Plain numbers for people: 18020, 1520, 0.25 (no exponents below 1e15).
std::string num(double v) {
  char b[64];
  if (std::fabs(v) >= 1e4 && std::fabs(v) < 1e15)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string dayMinute(TimePoint t) {
  return formatRfc3339(t).substr(0, 16).replace(10, 1, " ");  // "2026-11-24 09:34"
}

std::string human(Duration d) {
  return humanDuration(std::chrono::duration_cast<Duration>(d));
}

// The numeric limits in a result's threshold ({"max": 1800}, {"min": 100}).
std::optional<double> limit(const json& threshold, const char* key) {
  if (!threshold.is_object()) return std::nullopt;
  auto it = threshold.find(key);
  if (it == threshold.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

std::string markdownEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (std::string_view("\\`*_[]<>|#").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

json postmortemData(const Incident& inc, const config::Config& cfg, StateStore& store,
                    TimePoint now) {
  const TimePoint end = inc.resolved_at.value_or(now);
  const Duration duration = inc.duration(now);
  const Duration margin = std::max<Duration>(std::chrono::minutes(30),
                                             std::chrono::duration_cast<Duration>(duration / 4));
  const TimePoint from = inc.first_bad_run.value_or(inc.opened_at) - margin;
  const TimePoint to = end + margin;

  json d;
  d["id"] = inc.id;
  d["open"] = inc.open;
  d["status"] = inc.open ? "Draft (the incident is still open)" : "Draft";
  d["subject"] = inc.subject;
  d["kind"] = inc.kind;
  d["severity"] = inc.severity;
  d["opened_at"] = formatRfc3339(inc.opened_at);
  d["resolved_at"] = inc.resolved_at ? json(formatRfc3339(*inc.resolved_at)) : json(nullptr);
  d["duration"] = human(duration);
  d["duration_minutes"] = std::chrono::duration<double, std::ratio<60>>(duration).count();
  d["chart"] = inc.id + ".svg";
  const TimePoint first_bad = inc.first_bad_run.value_or(inc.opened_at);
  d["first_bad_run"] = formatRfc3339(first_bad);
  d["first_alert"] = formatRfc3339(inc.opened_at);
  d["time_to_detect"] = human(std::chrono::duration_cast<Duration>(inc.opened_at - first_bad));

  // Impact: targets, consumers, owners, SLO budget.
  std::set<std::string> targets, consumers, owners;
  json probes = json::array();
  for (const auto& name : inc.probes) {
    const auto* pc = cfg.findProbe(name);
    json p{{"name", name}, {"target", pc ? pc->target() : ""}, {"unit", ""}};
    if (pc) {
      if (!pc->target().empty()) targets.insert(pc->target());
      consumers.insert(pc->consumers.begin(), pc->consumers.end());
      if (!pc->owner.empty()) owners.insert(pc->owner);
    }
    auto runs = store.runs(name, from, to, 5000);
    json values = json::array();
    std::optional<double> before, worst, max_limit, min_limit;
    // `after` as a flag and a value, not an optional: GCC 12 at -O2 reports the
    // optional's payload as maybe-uninitialised (a false positive that breaks
    // Release builds with warnings as errors).
    bool has_after = false;
    double after = 0;
    bool failed_since = false;  // a failing run was seen since `after` was last set
    if (runs) {
      for (const auto& r : *runs) {
        if (!r.unit.empty()) p["unit"] = r.unit;
        if (auto m = limit(r.threshold, "max")) max_limit = m;
        if (auto m = limit(r.threshold, "min")) min_limit = m;
        if (!r.value) continue;
        values.push_back({{"at", formatRfc3339(r.observed_at)},
                          {"value", *r.value},
                          {"status", toString(r.status)}});
        if (r.observed_at < first_bad) before = r.value;
        // After: the first passing value once the probe's last failure is over.
        if (r.observed_at >= first_bad && r.status != ProbeStatus::Pass) {
          failed_since = true;
          has_after = false;
        } else if (failed_since && !has_after && r.status == ProbeStatus::Pass) {
          has_after = true;
          after = *r.value;
        }
        if (r.observed_at >= first_bad && r.observed_at <= end) {
          const bool high = max_limit.has_value() || !min_limit;
          if (!worst || (high ? *r.value > *worst : *r.value < *worst)) worst = r.value;
        }
      }
    }
    auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    p["values"] = std::move(values);
    p["before"] = opt(before);
    p["worst"] = opt(worst);
    p["after"] = has_after ? json(after) : json(nullptr);
    p["threshold_max"] = opt(max_limit);
    p["threshold_min"] = opt(min_limit);
    probes.push_back(std::move(p));
  }
  d["probes"] = probes;
  json slos = json::array();
  if (inc.kind == "slo") {
    if (const auto* slo = cfg.findSlo(inc.subject)) {
      json s{{"name", slo->name},
             {"objective_percent", slo->objective},
             {"window", formatDuration(slo->window)}};
      if (inc.budget_at_open && inc.budget_now) {
        const double consumed = *inc.budget_at_open - *inc.budget_now;
        const double window_min =
            std::chrono::duration<double, std::ratio<60>>(slo->window).count();
        s["budget_at_open"] = *inc.budget_at_open;
        s["budget_left"] = *inc.budget_now;
        s["budget_consumed_percent"] = consumed * 100;
        // The budget in minutes: (1 - objective) of the window.
        s["budget_consumed_minutes"] = consumed * (1 - slo->objective / 100) * window_min;
      }
      slos.push_back(std::move(s));
    }
  }
  d["slos"] = slos;
  json peaks = json::array();
  for (const auto& [w, p] : inc.peak_burn)
    peaks.push_back({{"window", w}, {"burn_rate", p.first}, {"at", formatRfc3339(p.second)}});
  d["peak_burn_rates"] = peaks;
  json series = json::array();
  for (const auto& [t, v] : inc.burn_series)
    series.push_back({{"at", formatRfc3339(t)}, {"burn_rate", v}});
  d["burn_series"] = series;
  d["targets"] = std::vector<std::string>(targets.begin(), targets.end());
  d["consumers"] = std::vector<std::string>(consumers.begin(), consumers.end());
  d["owner"] = owners.empty() ? "" : *owners.begin();
  d["alerts"] = inc.alerts;
  json tl = json::array();
  for (const auto& e : inc.timeline)
    tl.push_back({{"at", formatRfc3339(e.at)},
                  {"time", dayMinute(e.at)},
                  {"kind", e.kind},
                  {"text", e.text}});
  d["timeline"] = tl;
  d["window_from"] = formatRfc3339(from);
  d["window_to"] = formatRfc3339(to);
  if (cfg.agent.postmortems.dashboard_url) {
    const std::string url = *cfg.agent.postmortems.dashboard_url;
    d["dashboard_url"] = url + (url.find('?') == std::string::npos ? "?" : "&") +
                         "from=" + std::to_string(toUnixMillis(from)) +
                         "&to=" + std::to_string(toUnixMillis(to));
  } else {
    d["dashboard_url"] = nullptr;
  }
  // One paragraph of plain language.
  std::string what = inc.kind == "slo" ? "the SLO " + inc.subject : "the probe " + inc.subject;
  std::string targets_s;
  for (const auto& t : targets) targets_s += (targets_s.empty() ? "" : ", ") + t;
  std::string consumers_s;
  for (const auto& c : consumers) consumers_s += (consumers_s.empty() ? "" : ", ") + c;
  std::string summary = "From " + dayMinute(first_bad) + " UTC the data behind " + what +
                        (targets_s.empty() ? "" : " (" + targets_s + ")") +
                        " was not as promised: " +
                        (inc.timeline.empty() ? std::string("see the timeline")
                                              : [&] {
                                                  for (const auto& e : inc.timeline)
                                                    if (e.kind == "probe_failing") return e.text;
                                                  return inc.timeline.front().text;
                                                }()) +
                        ". The first alert fired at " + dayMinute(inc.opened_at) + " UTC (" +
                        d["time_to_detect"].get<std::string>() + " after the first bad run); " +
                        (inc.open ? "the incident is still open after "
                                  : "the incident resolved after ") +
                        d["duration"].get<std::string>() + ".";
  if (!consumers_s.empty()) summary += " Affected downstream: " + consumers_s + ".";
  if (!slos.empty() && slos[0].contains("budget_consumed_percent"))
    summary += " It consumed " + fixed(slos[0]["budget_consumed_percent"].get<double>()) +
               "% of the SLO's error budget.";
  d["summary"] = summary;
  return d;
}

std::string renderPostmortem(const json& d) {
  auto s = [&](const json& v) { return v.is_string() ? v.get<std::string>() : std::string("—"); };
  std::string md;
  md += "# " + markdownEscape(s(d["id"])) + ": " + markdownEscape(s(d["subject"])) + " (" +
        markdownEscape(s(d["severity"])) + ")\n\n";
  md += "**Status:** " + s(d["status"]) +
        " — written by datawatch from what it recorded; edit "
        "freely.\n\n";
  md += "## Summary\n\n" + markdownEscape(s(d["summary"])) + "\n\n";
  md += "## Impact\n\n";
  md += "| | |\n|---|---|\n";
  md += "| Duration | " + s(d["duration"]) + " (" + s(d["opened_at"]) + " → " +
        s(d["resolved_at"]) + ") |\n";
  for (const auto& slo : d["slos"]) {
    md += "| SLO | " + markdownEscape(s(slo["name"])) + ": " + num(slo["objective_percent"]) +
          "% over " + s(slo["window"]) + " |\n";
    if (slo.contains("budget_consumed_percent")) {
      md += "| Error budget consumed | " + fixed(slo["budget_consumed_percent"].get<double>()) +
            "% (" + fixed(slo["budget_consumed_minutes"].get<double>()) + " budget minutes); " +
            fixed(slo["budget_left"].get<double>() * 100) + "% left |\n";
    }
  }
  std::string list;
  for (const auto& t : d["targets"]) list += (list.empty() ? "" : ", ") + markdownEscape(t);
  md += "| Targets | " + (list.empty() ? "—" : list) + " |\n";
  list.clear();
  for (const auto& c : d["consumers"]) list += (list.empty() ? "" : ", ") + markdownEscape(c);
  md += "| Downstream consumers | " + (list.empty() ? "—" : list) + " |\n";
  md += "| Owner | " + (s(d["owner"]).empty() ? "—" : markdownEscape(s(d["owner"]))) + " |\n";
  list.clear();
  for (const auto& a : d["alerts"]) list += (list.empty() ? "" : ", ") + markdownEscape(a);
  md += "| Alerts | " + list + " |\n\n";
  md += "## Detection\n\n";
  md += "- First bad probe run: " + s(d["first_bad_run"]) + "\n";
  md += "- First alert: " + s(d["first_alert"]) + "\n";
  md += "- Time to detect: " + s(d["time_to_detect"]) + "\n";
  for (const auto& p : d["peak_burn_rates"])
    md += "- Peak burn rate over " + s(p["window"]) + ": " + fixed(p["burn_rate"].get<double>()) +
          " at " + s(p["at"]) + "\n";
  md += "\n## Timeline (UTC)\n\n| time | event |\n|---|---|\n";
  for (const auto& e : d["timeline"])
    md += "| " + s(e["time"]) + " | " + markdownEscape(s(e["text"])) + " |\n";
  md += "\n## Data\n\n![probe values and burn rate](" + s(d["chart"]) + ")\n\n";
  md +=
      "| probe | target | unit | threshold | before | worst | after "
      "|\n|---|---|---|---|---|---|---|\n";
  auto v = [](const json& x) { return x.is_number() ? num(x.get<double>()) : std::string("—"); };
  for (const auto& p : d["probes"]) {
    std::string th;
    if (p["threshold_max"].is_number()) th += "max " + v(p["threshold_max"]);
    if (p["threshold_min"].is_number())
      th += std::string(th.empty() ? "" : ", ") + "min " + v(p["threshold_min"]);
    md += "| " + markdownEscape(s(p["name"])) + " | " + markdownEscape(s(p["target"])) + " | " +
          markdownEscape(s(p["unit"])) + " | " + (th.empty() ? "—" : th) + " | " + v(p["before"]) +
          " | " + v(p["worst"]) + " | " + v(p["after"]) + " |\n";
  }
  md +=
      "\n## Root cause\n\n_To fill in: why did the data go wrong? The facts above: the first "
      "bad run at " +
      s(d["first_bad_run"]) + "._\n\n";
  md +=
      "## Trigger\n\n_To fill in: what change or event set it off (a deploy, a schema change, "
      "an upstream outage)?_\n\n";
  md += "## Resolution\n\n_To fill in: what brought the data back. datawatch saw recovery at " +
        s(d["resolved_at"]) + "._\n\n";
  md += "## Action items\n\n| action | owner | ticket | due |\n|---|---|---|---|\n| | | | |\n\n";
  md +=
      "## Lessons learned\n\n- **What went well:** \n- **What went badly:** \n- **Where we got "
      "lucky:** \n\n";
  md += "## Links\n\n";
  if (d["dashboard_url"].is_string())
    md += "- [Dashboard for the incident's time range](" + s(d["dashboard_url"]) + ")\n";
  md += "- Chart: [" + s(d["chart"]) + "](" + s(d["chart"]) + ")\n";
  return md;
}

std::string renderChart(const json& d) {
  constexpr double W = 900, left = 70, right = 20, top1 = 40, h1 = 200, top2 = 290, h2 = 110;
  const double pw = W - left - right;
  const auto from = *parseTimestamp(d["window_from"].get<std::string>());
  const auto to = *parseTimestamp(d["window_to"].get<std::string>());
  const double span = std::max(1.0, std::chrono::duration<double>(to - from).count());
  auto x = [&](TimePoint t) {
    return left + pw * std::clamp(std::chrono::duration<double>(t - from).count() / span, 0.0, 1.0);
  };
  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"440\" "
      "viewBox=\"0 0 900 440\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"900\" height=\"440\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fixed(left, 0) + "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" +
         xmlEscape(d["id"].get<std::string>() + " — " + d["subject"].get<std::string>()) +
         "</text>\n";
  // The firing span, shaded on both panels.
  const TimePoint opened = *parseTimestamp(d["opened_at"].get<std::string>());
  const TimePoint closed =
      d["resolved_at"].is_string() ? *parseTimestamp(d["resolved_at"].get<std::string>()) : to;
  for (auto [top, h] : {std::pair{top1, h1}, std::pair{top2, h2}}) {
    svg += "<rect id=\"firing\" x=\"" + fixed(x(opened)) + "\" y=\"" + fixed(top) + "\" width=\"" +
           fixed(x(closed) - x(opened)) + "\" height=\"" + fixed(h) +
           "\" fill=\"#cf222e\" fill-opacity=\"0.12\"/>\n";
    svg += "<rect x=\"" + fixed(left) + "\" y=\"" + fixed(top) + "\" width=\"" + fixed(pw) +
           "\" height=\"" + fixed(h) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  }
  // Time axis: five UTC ticks under each panel.
  for (int i = 0; i <= 4; ++i) {
    const TimePoint t = from + std::chrono::duration_cast<Duration>((to - from) * i / 4);
    const std::string label = formatRfc3339(t).substr(11, 5);
    for (double base : {top1 + h1, top2 + h2}) {
      svg += "<line x1=\"" + fixed(x(t)) + "\" y1=\"" + fixed(base) + "\" x2=\"" + fixed(x(t)) +
             "\" y2=\"" + fixed(base + 4) + "\" stroke=\"#888\"/>\n";
      svg += "<text x=\"" + fixed(x(t)) + "\" y=\"" + fixed(base + 15) +
             "\" text-anchor=\"middle\">" + label + "</text>\n";
    }
  }
  svg += "<text x=\"" + fixed(left + pw) + "\" y=\"" + fixed(top2 + h2 + 28) +
         "\" text-anchor=\"end\">UTC, " + formatRfc3339(from).substr(0, 10) + "</text>\n";
  // Panel 1: the first probe with values, and its threshold.
  const json* probe = nullptr;
  for (const auto& p : d["probes"])
    if (!p["values"].empty()) {
      probe = &p;
      break;
    }
  auto panel = [&](const std::vector<std::pair<TimePoint, double>>& pts,
                   std::optional<double> threshold, double top, double h, const std::string& label,
                   const std::string& color, const std::string& id) {
    double lo = 0, hi = 1;
    for (const auto& [t, v] : pts) hi = std::max(hi, v), lo = std::min(lo, v);
    if (threshold) hi = std::max(hi, *threshold);
    hi *= 1.1;
    auto y = [&](double v) { return top + h - h * (v - lo) / (hi - lo); };
    std::string out;
    for (double v : {lo, (lo + hi) / 2, hi}) {
      out += "<text x=\"" + fixed(left - 6) + "\" y=\"" + fixed(y(v) + 4) +
             "\" text-anchor=\"end\">" + num(v) + "</text>\n";
    }
    out += "<text x=\"14\" y=\"" + fixed(top + h / 2) + "\" transform=\"rotate(-90 14 " +
           fixed(top + h / 2) + ")\" text-anchor=\"middle\">" + xmlEscape(label) + "</text>\n";
    if (threshold) {
      out += "<line id=\"" + id + "-threshold\" x1=\"" + fixed(left) + "\" y1=\"" +
             fixed(y(*threshold)) + "\" x2=\"" + fixed(left + pw) + "\" y2=\"" +
             fixed(y(*threshold)) + "\" stroke=\"#cf222e\" stroke-dasharray=\"6 4\"/>\n";
      out += "<text x=\"" + fixed(left + pw - 4) + "\" y=\"" + fixed(y(*threshold) - 4) +
             "\" text-anchor=\"end\" fill=\"#cf222e\">threshold " + num(*threshold) + "</text>\n";
    }
    std::string path;
    for (const auto& [t, v] : pts)
      path += (path.empty() ? "M" : " L") + fixed(x(t)) + " " + fixed(y(v));
    if (!path.empty())
      out += "<path id=\"" + id + "\" d=\"" + path + "\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"1.5\"/>\n";
    return out;
  };
  if (probe) {
    std::vector<std::pair<TimePoint, double>> pts;
    for (const auto& v : (*probe)["values"])
      pts.push_back({*parseTimestamp(v["at"].get<std::string>()), v["value"].get<double>()});
    std::optional<double> th;
    if ((*probe)["threshold_max"].is_number())
      th = (*probe)["threshold_max"].get<double>();
    else if ((*probe)["threshold_min"].is_number())
      th = (*probe)["threshold_min"].get<double>();
    svg += panel(
        pts, th, top1, h1,
        (*probe)["name"].get<std::string>() + " (" + (*probe)["unit"].get<std::string>() + ")",
        "#0969da", "probe-value");
  }
  std::vector<std::pair<TimePoint, double>> burn;
  for (const auto& b : d["burn_series"])
    burn.push_back({*parseTimestamp(b["at"].get<std::string>()), b["burn_rate"].get<double>()});
  svg += panel(burn, std::nullopt, top2, h2, "burn rate", "#8250df", "burn-rate");
  svg += "</svg>\n";
  return svg;
}

namespace {

kainjow::mustache::data toMustache(const json& j) {
  using kainjow::mustache::data;
  switch (j.type()) {
    case json::value_t::object: {
      data d{data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, toMustache(v));
      return d;
    }
    case json::value_t::array: {
      data d{data::type::list};
      for (const auto& v : j) d.push_back(toMustache(v));
      return d;
    }
    case json::value_t::string: return data{j.get<std::string>()};
    case json::value_t::boolean: return data{j.get<bool>()};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return data{num(j.get<double>())};
    default: return data{false};  // null: falsy in sections, empty as a value
  }
}

}  // namespace

Result<std::string> renderPostmortemTemplate(const std::string& tmpl, const std::string& name,
                                             const json& data) {
  kainjow::mustache::mustache m{tmpl};
  std::string error = m.is_valid() ? "" : m.error_message();
  std::string out;
  if (error.empty()) {
    out = m.render(toMustache(data));
    if (!m.is_valid()) error = m.error_message();
  }
  if (error.empty()) return out;
  // kainjow names a byte offset ("Unclosed section \"x\" at 120"): make it a line.
  std::smatch at;
  if (std::regex_search(error, at, std::regex("at (\\d+)$"))) {
    const size_t pos = std::min<size_t>(std::stoul(at[1]), tmpl.size());
    const size_t line =
        1 + static_cast<size_t>(
                std::count(tmpl.begin(), tmpl.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    const size_t col = pos -
                       (tmpl.rfind('\n', pos == 0 ? 0 : pos - 1) == std::string::npos
                            ? 0
                            : tmpl.rfind('\n', pos == 0 ? 0 : pos - 1) + 1) +
                       1;
    return Result<std::string>::Error(name + ":" + std::to_string(line) + ":" +
                                      std::to_string(col) + ": " +
                                      error.substr(0, static_cast<size_t>(at.position(0)) - 1));
  }
  return Result<std::string>::Error(name + ": " + error);
}

Result<PostmortemFiles> writePostmortem(const Incident& inc, const config::Config& cfg,
                                        StateStore& store, TimePoint now,
                                        const std::filesystem::path& markdown_path) {
  PostmortemFiles f;
  f.markdown = markdown_path.empty() ? cfg.agent.postmortems.dir / (inc.id + ".md") : markdown_path;
  f.chart = f.markdown.parent_path() / (inc.id + ".svg");
  std::error_code ec;
  if (!f.markdown.parent_path().empty())
    std::filesystem::create_directories(f.markdown.parent_path(), ec);
  if (ec)
    return Result<PostmortemFiles>::Error("cannot create " + f.markdown.parent_path().string() +
                                          ": " + ec.message());
  const json data = postmortemData(inc, cfg, store, now);
  std::string markdown;
  if (const auto& tp = cfg.agent.postmortems.template_path) {
    std::ifstream in(*tp);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in) {
      f.template_error = "cannot read the post-mortem template " + tp->string();
    } else if (auto r = renderPostmortemTemplate(buf.str(), tp->string(), data)) {
      markdown = *r;
    } else {
      f.template_error = r.error();
    }
  }
  if (markdown.empty()) markdown = renderPostmortem(data);
  for (const auto& [path, text] :
       {std::pair{f.markdown, markdown}, std::pair{f.chart, renderChart(data)}}) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) return Result<PostmortemFiles>::Error("cannot write " + path.string());
  }
  return f;
}

}  // namespace datawatch
