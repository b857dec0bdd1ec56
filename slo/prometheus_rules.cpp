#include "slo/prometheus_rules.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <set>

#include "core/duration.hpp"
#include "slo/burn_rate.hpp"
#include "slo/slo_engine.hpp"

namespace datawatch {
namespace {

// A PromQL string literal.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A threshold to ten significant digits: 13.44 × 0.005 prints as 0.0672, not as
// its binary neighbour 0.06720000000000005.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A rate or objective for people: four significant digits.
std::string readable(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string sloSelector(const std::string& metric, const std::string& slo) {
  return metric + "{slo=" + quoted(slo) + "}";
}

void record(YAML::Emitter& y, const std::string& name, const std::string& expr,
            const std::string& slo) {
  y << YAML::BeginMap << YAML::Key << "record" << YAML::Value << name;
  y << YAML::Key << "expr" << YAML::Value << expr;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "slo" << YAML::Value
    << slo << YAML::EndMap << YAML::EndMap;
}

// Events of the fleet over [w]. Every replica's SLO engine follows the shared
// run feed, so each replica counts every event of the fleet (from its start):
// the sum over the replicas' series is divided by the number of replicas
// exporting the counter now. Exact with a steady fleet and one replica; a pod
// that restarts leaves its old series' increase in the sum, as it should.
std::string fleetIncrease(const std::string& metric, const std::string& slo, Duration w) {
  const std::string sel = sloSelector(metric, slo);
  return "sum(increase(" + sel + "[" + formatDuration(w) + "])) / count(" + sel + ")";
}

// The error ratio: a ratio of sums is the fleet's ratio with any number of
// replicas (each replica's ratio is the fleet's), so no division is needed.
std::string ratioRate(const std::string& slo, Duration w) {
  const std::string r = "[" + formatDuration(w) + "]";
  return "sum(increase(" + sloSelector("datawatch_slo_bad_events_total", slo) + r +
         ")) / sum(increase(" + sloSelector("datawatch_slo_events_total", slo) + r + "))";
}

void sloGroups(YAML::Emitter& y, const config::Config& cfg, const config::SloConfig& slo) {
  const auto rows = burnRows(cfg, slo);  // short windows widened as the engine's
  const double budget = 1.0 - slo.objective / 100.0;
  std::set<Duration> windows, long_windows;
  for (const auto& r : rows) {
    windows.insert(r.long_window);
    windows.insert(r.short_window);
    long_windows.insert(r.long_window);
  }
  const std::string sel = "{slo=" + quoted(slo.name) + "}";

  y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "datawatch-slo-" + slo.name;
  y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (Duration w : windows)
    record(y, "slo:sli_error:ratio_rate" + formatDuration(w), ratioRate(slo.name, w), slo.name);
  if (slo.alerting.min_bad_events > 0) {
    for (Duration w : long_windows) {
      record(y, "slo:sli_bad_events:increase" + formatDuration(w),
             fleetIncrease("datawatch_slo_bad_events_total", slo.name, w), slo.name);
    }
  }
  for (const char* severity : {"page", "ticket"}) {
    std::string expr, rows_text;
    for (const auto& r : rows) {
      if (r.severity != severity) continue;
      const std::string threshold = number(r.burn_rate * budget);
      std::string clause = "(slo:sli_error:ratio_rate" + formatDuration(r.long_window) + sel +
                           " > " + threshold + " and slo:sli_error:ratio_rate" +
                           formatDuration(r.short_window) + sel + " > " + threshold;
      if (slo.alerting.min_bad_events > 0) {
        clause += " and slo:sli_bad_events:increase" + formatDuration(r.long_window) + sel +
                  " >= " + std::to_string(slo.alerting.min_bad_events);
      }
      clause += ")";
      expr += (expr.empty() ? "" : "\nor\n") + clause;
      rows_text += (rows_text.empty() ? "" : ", ") + formatDuration(r.long_window) + "/" +
                   formatDuration(r.short_window) + " above " + readable(r.burn_rate);
    }
    if (expr.empty()) continue;
    y << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << kSloBurnAlert;
    y << YAML::Key << "expr" << YAML::Value << YAML::Literal << expr;
    y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "severity"
      << YAML::Value << severity << YAML::Key << "slo" << YAML::Value << slo.name << YAML::EndMap;
    y << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "summary" << YAML::Value
      << "SLO " + slo.name + " is burning its error budget too fast (" + severity + ")";
    y << YAML::Key << "description" << YAML::Value
      << "Objective " + readable(slo.objective) + "% over " + formatDuration(slo.window) +
             "; burn rate over both windows of a row (" + rows_text + ")" +
             (slo.alerting.min_bad_events > 0
                  ? " with at least " + std::to_string(slo.alerting.min_bad_events) +
                        " bad events in the long window"
                  : std::string()) +
             (slo.description.empty() ? "" : ". " + slo.description);
    y << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap;

  // The SLO window is long: evaluated every 5 minutes, in its own group.
  const double planned = plannedEvents(cfg, slo, slo.window);
  const std::string period = formatDuration(slo.window);
  y << YAML::BeginMap << YAML::Key << "name" << YAML::Value
    << "datawatch-slo-" + slo.name + "-period";
  y << YAML::Key << "interval" << YAML::Value << "5m";
  y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  record(y, "slo:sli_error:ratio_rate" + period, ratioRate(slo.name, slo.window), slo.name);
  record(y, "slo:objective:ratio", "vector(" + number(slo.objective / 100.0) + ")", slo.name);
  record(y, "slo:error_budget:ratio", "vector(" + number(budget) + ")", slo.name);
  // As the agent: the budget is that of a full window at the probes' cadence.
  record(y, "slo:period_error_budget_remaining:ratio",
         "1 - (" + fleetIncrease("datawatch_slo_bad_events_total", slo.name, slo.window) + ") / (" +
             number(budget) + " * clamp_min(" +
             fleetIncrease("datawatch_slo_events_total", slo.name, slo.window) + ", " +
             number(planned) + "))",
         slo.name);
  y << YAML::EndSeq << YAML::EndMap;
}

}  // namespace

std::string prometheusRules(const config::Config& cfg) {
  YAML::Emitter y;
  y << YAML::Comment("Generated by `datawatch rules`: SLO recording and alerting rules (SPEC §4).")
    << YAML::Newline;
  y << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& slo : cfg.slos) sloGroups(y, cfg, slo);
  if (!cfg.probes.empty()) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "datawatch-probes";
    y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : cfg.probes) {
      // Three intervals without a run (at least 5 minutes), or no series at all.
      const auto limit = std::max<Duration>(3 * p.every, std::chrono::minutes(5));
      const std::string sel =
          "datawatch_probe_last_run_timestamp_seconds{probe=" + quoted(p.name) + "}";
      y << YAML::BeginMap << YAML::Key << "alert" << YAML::Value << kProbeNotReportingAlert;
      y << YAML::Key << "expr" << YAML::Value
        << "(time() - max(" + sel + ") > " + number(std::chrono::duration<double>(limit).count()) +
               ") or absent(" + sel + ")";
      y << YAML::Key << "for" << YAML::Value << "5m";
      y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "severity"
        << YAML::Value << "ticket" << YAML::Key << "probe" << YAML::Value << p.name << YAML::EndMap;
      y << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap << YAML::Key << "summary"
        << YAML::Value
        << "Probe " + p.name + " has not reported for more than " + formatDuration(limit) +
               " (it runs every " + formatDuration(p.every) + ")"
        << YAML::EndMap << YAML::EndMap;
    }
    y << YAML::EndSeq << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace datawatch
