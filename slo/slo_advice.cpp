#include "slo/slo_advice.hpp"

#include <cmath>
#include <cstdio>

#include "slo/burn_rate.hpp"
#include "core/duration.hpp"

namespace datawatch {
namespace {

using std::chrono::minutes;

// `v` with `decimals` decimals, or none when it is a whole number.
std::string num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::abs(v - std::round(v)) < 1e-9 ? 0 : decimals, v);
  return buf;
}

}  // namespace

std::vector<config::Diagnostic> sloCadenceWarnings(const config::Config& cfg) {
  std::vector<config::Diagnostic> out;
  for (const auto& slo : cfg.slos) {
    if (cfg.agent.retention < slo.window) {
      out.push_back({config::Diagnostic::Severity::Warning, slo.loc,
                     "slo \"" + slo.name + "\": agent.retention (" +
                         formatDuration(cfg.agent.retention) + ") is shorter than its window (" +
                         formatDuration(slo.window) +
                         "): after a restart only that much history can be rebuilt; set "
                         "agent.retention to at least " +
                         formatDuration(slo.window)});
    }
    const double budget = 1.0 - slo.objective / 100.0;
    if (budget <= 0 || slo.probes.empty()) continue;
    const bool timeslices = slo.budgeting == config::Budgeting::Timeslices;
    for (const auto& row : burnRows(slo)) {
      if (row.severity != "page") continue;
      const double n_long = plannedEvents(cfg, slo, row.long_window);
      const double n_short = std::max(1.0, plannedEvents(cfg, slo, row.short_window));
      if (n_long <= 0) continue;
      const double burn_long = 1.0 / n_long / budget;
      const double burn_short = 1.0 / n_short / budget;
      if (burn_long <= row.burn_rate || burn_short <= row.burn_rate) continue;

      const std::string lw = formatDuration(row.long_window);
      const std::string what = timeslices ? "minute" : "run";
      std::string m = "slo \"" + slo.name + "\": a single bad event would page: ";
      m += timeslices ? "with timeslices the " + lw + " window holds " + num(n_long, 0) + " minutes"
                      : "its probes run " + num(n_long, 1) + " times in " + lw;
      m += ", so one bad " + what + " is an error ratio of " + num(100.0 / n_long) + "% over " +
           lw + ", a burn rate of " + num(burn_long) + " > " + num(row.burn_rate) + " (page row " +
           lw + "/" + formatDuration(row.short_window) + ")";
      if (slo.alerting.min_bad_events >= 2) {
        m += "; min_bad_events: " + std::to_string(slo.alerting.min_bad_events) +
             " holds back a single one, but " + std::to_string(slo.alerting.min_bad_events) +
             " within " + lw + " page";
      }
      // Remedies, each with the value that keeps one bad event under the rate.
      const double max_objective = std::floor((1.0 - 1.0 / (n_long * row.burn_rate)) * 1e4) / 100;
      m += ". Remedies: an objective of " + num(max_objective) + "% or lower";
      if (!timeslices) {
        const double needed = std::floor(1.0 / (row.burn_rate * budget)) + 1;  // runs per window
        const auto every = std::chrono::duration_cast<Duration>(
            row.long_window * static_cast<int64_t>(slo.probes.size()) / needed);
        m += "; faster probes (" + num(needed, 0) + " runs per " + lw + ": every " +
             humanDuration(std::chrono::floor<std::chrono::seconds>(every)) + " or faster)";
        const double ts_burn = 1.0 / (row.long_window / minutes(1)) / budget;
        m += "; budgeting: timeslices (one bad minute is a burn rate of " + num(ts_burn) +
             (ts_burn > row.burn_rate ? ", still too much" : "") + ")";
      }
      m += "; or alerting.windows with a longer page window";
      out.push_back({config::Diagnostic::Severity::Warning, slo.loc, m});
      break;  // one warning per SLO: the first page row that trips
    }
  }
  return out;
}

}  // namespace datawatch
