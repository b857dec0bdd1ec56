// The default post-mortem draft in Markdown (renderPostmortem), from the data
// model of postmortem.cpp. Names are code spans, free text is escaped.
#include <algorithm>
#include <utility>
#include <vector>

#include "core/duration.hpp"
#include "core/human_units.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem.hpp"
#include "incidents/postmortem_text.hpp"

namespace datawatch {

using nlohmann::json;

namespace {

std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : std::string("—");
}

// "a, b, c" of code spans, or "—".
std::string codeList(const json& items) {
  std::string list;
  for (const auto& x : items) list += (list.empty() ? "" : ", ") + codeSpan(str(x));
  return list.empty() ? "—" : list;
}

// "2026-11-24 09:30 → 14:05 UTC (4h35m)": the second time without its date
// when on the same day.
std::string utcSpan(const json& from, const json& to, const json& length) {
  if (!from.is_string()) return "—";
  const std::string a = utcDayMinute(*parseTimestamp(from.get<std::string>()));
  if (!to.is_string()) return a + " UTC → not over when this was drafted";
  std::string b = utcDayMinute(*parseTimestamp(to.get<std::string>()));
  if (b.substr(0, 10) == a.substr(0, 10)) b = b.substr(11);
  return a + " → " + b + " UTC (" + str(length) + ")";
}

std::string renderImpact(const json& d) {
  std::string md = "## Impact\n\n| | |\n|---|---|\n";
  md += "| Bad data window | " +
        (d.value("data_recovery_unknown", false)
             ? "from " + str(d["first_bad_run"]) +
                   "; its end is unknown: no runs of its probes are stored"
             : utcSpan(d["first_bad_run"], d["data_recovered_at"], d["time_to_recover"])) +
        ": first bad run → every probe passing again |\n";
  md += "| Alert duration | " + utcSpan(d["first_alert"], d["resolved_at"], d["alert_duration"]) +
        ": first alert → last resolve";
  if (d["last_alert"].is_string())
    md +=
        "; " + codeSpan(str(d["last_alert"])) + " resolved last" +
        (str(d["last_alert_note"]).empty() ? "" : ": " + markdownEscape(str(d["last_alert_note"])));
  md += " |\n";
  for (const auto& slo : d["slos"]) {
    md += "| SLO | " + codeSpan(str(slo["name"])) + ": " + plainNumber(slo["objective_percent"]) +
          "% over " + str(slo["window"]) + " |\n";
    if (slo.contains("budget_consumed_percent")) {
      md += "| Error budget consumed | " +
            fixedDigits(slo["budget_consumed_percent"].get<double>()) + "% (" +
            fixedDigits(slo["budget_consumed_minutes"].get<double>()) + " budget minutes); " +
            fixedDigits(slo["budget_left"].get<double>() * 100) + "% left |\n";
    }
  }
  md += "| Targets | " + codeList(d["targets"]) + " |\n";
  md += "| Downstream consumers | " + codeList(d["consumers"]) + " |\n";
  md += "| Owner | " + (str(d["owner"]).empty() ? "—" : codeSpan(str(d["owner"]))) + " |\n";
  md += "| Alerts | " + codeList(d["alerts"]) + " |\n\n";
  return md;
}

std::string renderDetection(const json& d) {
  std::string md = "## Detection\n\n";
  md += "- First bad probe run: " + str(d["first_bad_run"]) + "\n";
  md += "- First alert: " + str(d["first_alert"]) + "\n";
  md += "- Time to detect: " + str(d["time_to_detect"]) + "\n";
  md += "- Time to recover: " +
        (d["time_to_recover"].is_string()
             ? str(d["time_to_recover"]) + " (the data recovered at " +
                   str(d["data_recovered_at"]) + ")"
             : std::string(d.value("data_recovery_unknown", false)
                               ? "unknown: no runs of its probes are stored"
                               : "the data had not recovered when this was drafted")) +
        "\n";
  // Peak burn rates, shortest window first.
  std::vector<std::pair<Duration, const json*>> peaks;
  for (const auto& p : d["peak_burn_rates"]) {
    const auto w = parseDuration(str(p["window"]));
    peaks.emplace_back(w ? *w : Duration{0}, &p);
  }
  std::stable_sort(peaks.begin(), peaks.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [w, p] : peaks)
    md += "- Peak burn rate over " + str((*p)["window"]) + ": " +
          fixedDigits((*p)["burn_rate"].get<double>()) + " at " + str((*p)["at"]) + "\n";
  return md;
}

std::string renderData(const json& d) {
  std::string md = "\n## Data\n\n![probe values and burn rate](" + str(d["chart"]) + ")\n\n";
  md +=
      "| probe | target | threshold | before | worst | after | recovered |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& p : d["probes"]) {
    const std::string recovered =
        p["recovered_at"].is_string()
            ? utcDayMinute(*parseTimestamp(p["recovered_at"].get<std::string>())).substr(11)
            : (p["failed"].get<bool>() ? "not yet" : "did not fail");
    md += "| " + codeSpan(str(p["name"])) + " | " +
          (str(p["target"]).empty() ? "—" : codeSpan(str(p["target"]))) + " | " +
          str(p["threshold_text"]) + " | " + str(p["before_text"]) + " | " + str(p["worst_text"]) +
          " | " + str(p["after_text"]) + " | " + recovered + " |\n";
  }
  return md;
}

std::string renderResolution(const json& d) {
  auto at = [](const json& p) {
    return utcDayMinute(*parseTimestamp(p["recovered_at"].get<std::string>())).substr(11);
  };
  std::string md = "## Resolution\n\n";
  if (d["data_recovered_at"].is_string()) {
    std::string each;
    for (const auto& p : d["probes"])
      if (!p["related"].get<bool>() && p["recovered_at"].is_string())
        each += (each.empty() ? "" : ", ") + codeSpan(str(p["name"])) + " at " + at(p);
    md += "The data recovered at " + str(d["data_recovered_at"]) +
          ", when every probe passed again (" + each + ")";
  } else {
    md += d.value("data_recovery_unknown", false)
              ? "When the data recovered is unknown: no runs of its probes are stored"
              : "The data had not recovered when this was drafted";
  }
  if (d["resolved_at"].is_string()) md += "; the last alert resolved at " + str(d["resolved_at"]);
  md += ".";
  std::string related;
  for (const auto& p : d["probes"])
    if (p["related"].get<bool>())
      related +=
          (related.empty() ? "" : ", ") + codeSpan(str(p["name"])) +
          (p["recovered_at"].is_string() ? " passed again at " + at(p) : " was still failing");
  if (!related.empty()) md += " Other probes of the same tables: " + related + ".";
  md += "\n\n_To fill in: what brought the data back?_\n\n";
  return md;
}

}  // namespace

std::string renderPostmortem(const json& d) {
  std::string md;
  md += "# " + markdownEscape(str(d["id"])) + ": " + markdownEscape(str(d["subject"])) + " (" +
        markdownEscape(str(d["severity"])) + ")\n\n";
  md += "**Status:** " + str(d["status"]) +
        " — written by datawatch from what it recorded; edit freely.\n\n";
  md += "## Summary\n\n" + markdownEscape(str(d["summary"])) + "\n\n";
  md += renderImpact(d) + renderDetection(d);
  md += "\n## Timeline (UTC)\n\n| time | event |\n|---|---|\n";
  for (const auto& e : d["timeline"])
    md += "| " + str(e["time"]) + " | " + markdownEscape(str(e["text"])) + " |\n";
  md += renderData(d);
  md +=
      "\n## Root cause\n\n_To fill in: why did the data go wrong? The facts above: the first "
      "bad run at " +
      str(d["first_bad_run"]) + "._\n\n";
  md +=
      "## Trigger\n\n_To fill in: what change or event set it off (a deploy, a schema change, "
      "an upstream outage)?_\n\n";
  md += renderResolution(d);
  md +=
      "## Action items\n\n"
      "_mitigate: limits the harm of the next one; prevent: stops it happening again; process: "
      "detects, escalates or communicates it better._\n\n"
      "| type | action | owner | due | ticket |\n|---|---|---|---|---|\n"
      "| mitigate | | | | |\n| prevent | | | | |\n| process | | | | |\n\n";
  md +=
      "## Lessons learned\n\n- **What went well:** \n- **What went badly:** \n- **Where we got "
      "lucky:** \n\n";
  md += "## Links\n\n";
  if (d["dashboard_url"].is_string())
    md += "- [Dashboard for the incident's time range](" + str(d["dashboard_url"]) + ")\n";
  md += "- Chart: [" + str(d["chart"]) + "](" + str(d["chart"]) + ")\n";
  return md;
}

}  // namespace datawatch
