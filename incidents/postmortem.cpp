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
#include "core/human_units.hpp"
#include "core/markup.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem_text.hpp"
#include "slo/burn_rate.hpp"

namespace datawatch {
namespace {

using nlohmann::json;

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

// The probes whose recovery ends the bad data: an SLO's, then any other probe
// that joined the incident.
std::vector<std::string> incidentProbes(const Incident& inc, const config::Config& cfg) {
  std::vector<std::string> out;
  if (inc.kind == "slo")
    if (const auto* slo = cfg.findSlo(inc.subject)) out = slo->probes;
  for (const auto& p : inc.probes)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

struct Span {
  TimePoint from, first_bad, end, to;  // chart window, first bad run, resolution, window end
  bool ignore_errors = false;          // an SLO with `errors: ignore`: error runs are no data
};

// What the incident's window shows of one probe: its "probes" entry of the
// data model, and when its data went bad and recovered.
struct ProbeFacts {
  json data;
  bool any_run = false;                   // the store held a run of it in [first_bad, end]
  std::optional<TimePoint> last_bad;      // its last run that did not pass, up to the end
  std::optional<TimePoint> recovered_at;  // the first passing run after last_bad (up to the end)
};

// Scans [first_bad, end] page by page (a 1 s probe has 36,000 runs in ten
// hours; the chart's values stop at 5,000) for the probe's last bad run and
// its first passing run after it.
void scanRecovery(const std::string& name, StateStore& store, const Span& span, ProbeFacts& f) {
  constexpr size_t kPage = 5000;
  TimePoint cursor = span.first_bad;
  while (cursor <= span.end) {
    auto page = store.runs(name, cursor, span.end + Duration{1}, kPage);
    if (!page) return;  // unknown: any_run stays as far as it got
    for (const auto& r : *page) {
      f.any_run = true;
      const bool bad =
          r.status == ProbeStatus::Fail || (r.status == ProbeStatus::Error && !span.ignore_errors);
      if (bad) {
        f.last_bad = r.observed_at;
        f.recovered_at.reset();
      } else if (f.last_bad && !f.recovered_at && r.status == ProbeStatus::Pass) {
        f.recovered_at = r.observed_at;
      }
    }
    if (page->size() < kPage) return;
    cursor = page->back().observed_at + Duration{1};
  }
}

ProbeFacts probeFacts(const std::string& name, const config::ProbeConfig* pc, StateStore& store,
                      const Span& span) {
  ProbeFacts f;
  json p{{"name", name}, {"target", pc ? pc->target() : ""}, {"unit", ""}};
  auto runs = store.runs(name, span.from, span.to, 5000);
  json values = json::array();
  std::optional<double> before, worst, max_limit, min_limit;
  // `after` as a flag and a value, not an optional: GCC 12 at -O2 reports the
  // optional's payload as maybe-uninitialised (a false positive that breaks
  // Release builds with warnings as errors).
  bool has_after = false;
  double after = 0;
  bool failed_since = false;  // a failing run was seen since `after` was last set
  for (const auto& r : runs ? *runs : std::vector<ProbeResult>{}) {
    const bool in_incident = r.observed_at >= span.first_bad && r.observed_at <= span.end;
    if (!r.unit.empty()) p["unit"] = r.unit;
    if (auto m = limit(r.threshold, "max")) max_limit = m;
    if (auto m = limit(r.threshold, "min")) min_limit = m;
    if (!r.value) continue;
    values.push_back({{"at", formatRfc3339(r.observed_at)},
                      {"value", *r.value},
                      {"status", toString(r.status)}});
    if (r.observed_at < span.first_bad) before = r.value;
    // After: the first passing value once the probe's last failure is over.
    if (r.observed_at >= span.first_bad && r.status != ProbeStatus::Pass) {
      failed_since = true;
      has_after = false;
    } else if (failed_since && !has_after && r.status == ProbeStatus::Pass) {
      has_after = true;
      after = *r.value;
    }
    if (in_incident) {
      const bool high = max_limit.has_value() || !min_limit;
      if (!worst || (high ? *r.value > *worst : *r.value < *worst)) worst = r.value;
    }
  }
  const std::string unit = p["unit"];
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  auto text = [&](const std::optional<double>& v) {
    return v ? json(humanValue(*v, unit)) : json(nullptr);
  };
  std::string threshold;
  if (max_limit) threshold = "max " + humanValue(*max_limit, unit);
  if (min_limit)
    threshold += (threshold.empty() ? "min " : ", min ") + humanValue(*min_limit, unit);
  p["values"] = std::move(values);
  p["before"] = opt(before);
  p["worst"] = opt(worst);
  p["after"] = has_after ? json(after) : json(nullptr);
  p["before_text"] = text(before);
  p["worst_text"] = text(worst);
  p["after_text"] = has_after ? text(after) : json(nullptr);
  p["threshold_max"] = opt(max_limit);
  p["threshold_min"] = opt(min_limit);
  p["threshold_text"] = threshold.empty() ? json(nullptr) : json(threshold);
  scanRecovery(name, store, span, f);
  p["failed"] = f.last_bad.has_value();
  p["recovered_at"] = f.recovered_at ? json(formatRfc3339(*f.recovered_at)) : json(nullptr);
  f.data = std::move(p);
  return f;
}

// The alert that resolved last, and when (alert_resolved events name their
// alert in `key`); nullopt while one still fires or for incidents stored
// before the key was written.
std::optional<std::pair<std::string, TimePoint>> lastResolved(const Incident& inc) {
  if (inc.open) return std::nullopt;
  std::optional<std::pair<std::string, TimePoint>> last;
  for (const auto& e : inc.timeline)
    if (e.kind == "alert_resolved" && !e.key.empty() && (!last || e.at >= last->second))
      last = std::pair{e.key, e.at};
  return last;
}

// Why the last alert outlived the bad data: an SLO alert resolves when its
// longest burn-rate window of that severity no longer holds the bad events.
std::string lingerNote(const std::string& alert_id, TimePoint resolved,
                       const std::optional<TimePoint>& recovered, const config::Config& cfg) {
  if (!recovered || resolved <= *recovered) return "";
  const std::string lag = human(std::chrono::duration_cast<Duration>(resolved - *recovered)) +
                          " after the data recovered";
  const std::string at = utcDayMinute(resolved).substr(11);
  const auto first = alert_id.find(':'), second = alert_id.rfind(':');
  const std::string kind = alert_id.substr(0, first);
  const std::string subject =
      second > first ? alert_id.substr(first + 1, second - first - 1) : std::string();
  const std::string severity = alert_id.substr(second + 1);
  if (kind == "slo") {
    const auto* slo = cfg.findSlo(subject);
    if (!slo) return "it resolved at " + at + ", when its SLO left the configuration";
    // A severity resolves when none of its rows has both windows over the
    // rate; after the data recovered, the row holding out longest is the one
    // whose short window is longest.
    const auto rows = burnRows(cfg, *slo);
    const BurnRow* slowest = nullptr;
    for (const auto& row : rows)
      if (row.severity == severity && (!slowest || row.short_window > slowest->short_window))
        slowest = &row;
    if (slowest)
      return "the " + formatDuration(slowest->long_window) + " " + severity + " row (" +
             formatDuration(slowest->short_window) + " short window) cooled at " + at + ", " + lag;
  }
  if (kind == "probe" && !cfg.findProbe(subject))
    return "it resolved at " + at + ", when its probe left the configuration";
  return "it resolved at " + at + ", " + lag + " (its probe's next passing run)";
}

}  // namespace

std::string markdownEscape(const std::string& s) {
  auto word = [&](size_t i) {
    return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]));
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    // An underscore inside a word (orders_fresh) is never emphasis in GFM: left
    // as is, so the raw Markdown reads as written.
    const bool intraword = c == '_' && i > 0 && word(i - 1) && word(i + 1);
    if (!intraword && std::string_view("\\`*_[]<>|#").find(c) != std::string_view::npos)
      out += '\\';
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

  // Impact: targets, consumers, owners, SLO budget. The Data table and the
  // recovery cover every probe of an SLO, failing or not.
  std::set<std::string> targets, consumers, owners;
  std::set<std::pair<std::string, std::string>> tables;  // (source, target) of those probes
  json probes = json::array();
  std::optional<TimePoint> data_recovered;
  bool all_recovered = true, any_run = false;
  const auto* slo_cfg = inc.kind == "slo" ? cfg.findSlo(inc.subject) : nullptr;
  // Incident times are stored in whole seconds: the run that resolved it may
  // be up to a second after `end`, and is part of the incident.
  const Span span{from, first_bad, end + std::chrono::seconds(1) - Duration{1}, to,
                  slo_cfg && slo_cfg->errors == config::ErrorPolicy::Ignore};
  for (const auto& name : incidentProbes(inc, cfg)) {
    const auto* pc = cfg.findProbe(name);
    ProbeFacts f = probeFacts(name, pc, store, span);
    const bool involved = std::find(inc.probes.begin(), inc.probes.end(), name) != inc.probes.end();
    if (pc && (f.last_bad || involved)) {  // the impact: probes that failed
      if (!pc->target().empty()) targets.insert(pc->target());
      tables.emplace(pc->source, pc->target());
      consumers.insert(pc->consumers.begin(), pc->consumers.end());
      if (!pc->owner.empty()) owners.insert(pc->owner);
    }
    any_run = any_run || f.any_run;
    if (f.last_bad && !f.recovered_at) all_recovered = false;
    if (f.recovered_at)
      data_recovered = std::max(data_recovered.value_or(*f.recovered_at), *f.recovered_at);
    f.data["related"] = false;
    probes.push_back(std::move(f.data));
  }
  // Other probes of the same tables that failed meanwhile (a volume probe
  // beside a freshness SLO): in the Data table, not in the recovery.
  for (const auto& pc : cfg.probes) {
    const bool listed = std::any_of(probes.begin(), probes.end(),
                                    [&](const json& p) { return p["name"] == pc.name; });
    if (listed || pc.target().empty() || !tables.count({pc.source, pc.target()})) continue;
    ProbeFacts f = probeFacts(pc.name, &pc, store, span);
    if (!f.last_bad) continue;
    f.data["related"] = true;
    probes.push_back(std::move(f.data));
  }
  d["probes"] = probes;
  // Recovery as the data showed it, apart from when the alerts ended.
  if (!all_recovered) data_recovered.reset();
  // No run stored (retention pruned them): unknown, not "still bad".
  d["data_recovery_unknown"] = !any_run;
  auto when = [](const std::optional<TimePoint>& t) {
    return t ? json(formatRfc3339(*t)) : json(nullptr);
  };
  d["data_recovered_at"] = when(data_recovered);
  d["time_to_recover"] =
      data_recovered
          ? json(human(std::chrono::duration_cast<Duration>(*data_recovered - first_bad)))
          : json(nullptr);
  d["alert_duration"] = d["duration"];
  const auto last = lastResolved(inc);
  d["last_alert"] = last ? json(last->first) : json(nullptr);
  d["last_alert_resolved_at"] = last ? when(last->second) : json(nullptr);
  d["last_alert_note"] = last ? lingerNote(last->first, last->second, data_recovered, cfg) : "";
  json slos = json::array();
  if (inc.kind == "slo") {
    if (const auto* slo = cfg.findSlo(inc.subject)) {
      json s{{"name", slo->name},
             {"objective_percent", slo->objective},
             {"window", formatDuration(slo->window)}};
      // The rows in force (widened short windows), for the chart's page line.
      json rows = json::array();
      for (const auto& r : burnRows(cfg, *slo))
        rows.push_back({{"severity", r.severity},
                        {"long_window", formatDuration(r.long_window)},
                        {"short_window", formatDuration(r.short_window)},
                        {"burn_rate", r.burn_rate}});
      s["burn_rows"] = std::move(rows);
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
                  {"time", utcDayMinute(e.at)},
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
  std::string summary = "From " + utcDayMinute(first_bad) + " UTC the data behind " + what +
                        (targets_s.empty() ? "" : " (" + targets_s + ")") +
                        " was not as promised: " +
                        (inc.timeline.empty() ? std::string("see the timeline")
                                              : [&] {
                                                  for (const auto& e : inc.timeline)
                                                    if (e.kind == "probe_failing") return e.text;
                                                  return inc.timeline.front().text;
                                                }()) +
                        ". The first alert fired at " + utcDayMinute(inc.opened_at) + " UTC (" +
                        d["time_to_detect"].get<std::string>() + " after the first bad run). " +
                        (data_recovered ? "The data recovered at " +
                                              utcDayMinute(*data_recovered).substr(11) + " UTC (" +
                                              d["time_to_recover"].get<std::string>() +
                                              " of bad data); "
                                        : std::string(!any_run ? "" : "The data had not recovered yet; ")) +
                        (inc.open ? "the incident is still open after "
                                  : "the incident resolved after ") +
                        d["duration"].get<std::string>() + ".";
  if (!consumers_s.empty()) summary += " Affected downstream: " + consumers_s + ".";
  if (!slos.empty() && slos[0].contains("budget_consumed_percent"))
    summary += " It consumed " + fixedDigits(slos[0]["budget_consumed_percent"].get<double>()) +
               "% of the SLO's error budget.";
  d["summary"] = summary;
  return d;
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
    case json::value_t::number_float: return data{plainNumber(j.get<double>())};
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
