#include "slo/slo_advice.hpp"

#include <cmath>
#include <cstdio>

#include "core/duration.hpp"
#include "slo/burn_rate.hpp"

namespace datawatch {
namespace {

using config::Diagnostic;
using std::chrono::minutes;

// `v` with `decimals` decimals, or none when it is a whole number.
std::string num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::abs(v - std::round(v)) < 1e-9 ? 0 : decimals, v);
  return buf;
}

std::string rowName(const BurnRow& row) {
  return row.severity + " row " + formatDuration(row.long_window) + "/" +
         formatDuration(row.configured_short > Duration{0} ? row.configured_short
                                                           : row.short_window);
}

Diagnostic warning(const config::SloConfig& slo, const std::string& text) {
  return {Diagnostic::Severity::Warning, slo.loc, "slo \"" + slo.name + "\": " + text};
}

std::optional<Diagnostic> retentionWarning(const config::Config& cfg,
                                           const config::SloConfig& slo) {
  if (cfg.agent.retention >= slo.window) return std::nullopt;
  return warning(slo, "agent.retention (" + formatDuration(cfg.agent.retention) +
                          ") is shorter than its window (" + formatDuration(slo.window) +
                          "): after a restart only that much history can be rebuilt; set "
                          "agent.retention to at least " +
                          formatDuration(slo.window));
}

// A row under burn rate 1 fires while the budget outlasts the SLO window.
std::optional<Diagnostic> lowThresholdWarning(const config::SloConfig& slo, const BurnRow& row) {
  if (row.burn_rate >= 1) return std::nullopt;
  return warning(slo, rowName(row) + " has a burn-rate threshold of " + num(row.burn_rate) +
                          ", below 1: it fires while the budget would still last the whole " +
                          formatDuration(slo.window) +
                          " window, so it means nothing; use a burn_rate of 1 or more");
}

std::optional<Diagnostic> widenedWarning(const config::Config& cfg, const config::SloConfig& slo,
                                         const BurnRow& row) {
  if (row.configured_short == Duration{0}) return std::nullopt;
  const bool timeslices = slo.budgeting == config::Budgeting::Timeslices;
  const std::string why =
      timeslices ? "with timeslices a minute is counted once it has ended"
                 : "its slowest probe runs every " + formatDuration(slowestEvery(cfg, slo));
  return warning(slo, rowName(row) + ": the short window " + formatDuration(row.configured_short) +
                          " would hold no event at times (" + why + "), so it is widened to " +
                          formatDuration(row.short_window) + " to hold the latest one");
}

// The remedies for a page row that one bad event trips, each with the value
// that keeps one bad event under the threshold; never an impossible objective.
std::string remedies(const config::SloConfig& slo, const BurnRow& row, double n_long) {
  const double budget = 1.0 - slo.objective / 100.0;
  const std::string lw = formatDuration(row.long_window);
  std::string m = ". Remedies: ";
  if (n_long * row.burn_rate > 1) {
    const double max_objective = std::floor((1.0 - 1.0 / (n_long * row.burn_rate)) * 1e4) / 100;
    m += "an objective of " + num(max_objective) + "% or lower";
  } else {
    m += "no objective helps (a single bad event is the whole " + lw + " window)";
  }
  if (slo.budgeting != config::Budgeting::Timeslices) {
    const double needed = std::floor(1.0 / (row.burn_rate * budget)) + 1;  // runs per window
    const auto every = std::chrono::duration_cast<Duration>(
        row.long_window * static_cast<int64_t>(slo.probes.size()) / needed);
    m += "; faster probes (" + num(needed, 0) + " runs per " + lw + ": every " +
         humanDuration(std::chrono::floor<std::chrono::seconds>(every)) + " or faster)";
    const double ts_burn = 1.0 / (row.long_window / minutes(1)) / budget;
    m += "; budgeting: timeslices (one bad minute is a burn rate of " + num(ts_burn) +
         (ts_burn > row.burn_rate ? ", still too much" : "") + ")";
  }
  return m + "; or alerting.windows with a longer page window";
}

// One bad event over both windows of a page row exceeds its threshold.
std::optional<Diagnostic> singleEventWarning(const config::Config& cfg,
                                             const config::SloConfig& slo, const BurnRow& row) {
  const double budget = 1.0 - slo.objective / 100.0;
  if (row.severity != "page" || budget <= 0 || slo.probes.empty()) return std::nullopt;
  const double n_long = plannedEvents(cfg, slo, row.long_window);
  const double n_short = std::max(1.0, plannedEvents(cfg, slo, row.short_window));
  if (n_long <= 0) return std::nullopt;
  const double burn_long = 1.0 / n_long / budget;
  const double burn_short = 1.0 / n_short / budget;
  if (burn_long <= row.burn_rate || burn_short <= row.burn_rate) return std::nullopt;

  const bool timeslices = slo.budgeting == config::Budgeting::Timeslices;
  const std::string lw = formatDuration(row.long_window);
  const std::string what = timeslices ? "minute" : "run";
  std::string m = "a single bad event would page: ";
  m += timeslices ? "with timeslices the " + lw + " window holds " + num(n_long, 0) + " minutes"
                  : "its probes run " + num(n_long, 1) + " times in " + lw;
  m += ", so one bad " + what + " is an error ratio of " + num(100.0 / n_long) + "% over " + lw +
       ", a burn rate of " + num(burn_long) + " > " + num(row.burn_rate) + " (page row " + lw +
       "/" + formatDuration(row.short_window) + ")";
  if (slo.alerting.min_bad_events >= 2) {
    m += "; min_bad_events: " + std::to_string(slo.alerting.min_bad_events) +
         " holds back a single one, but " + std::to_string(slo.alerting.min_bad_events) +
         " within " + lw + " page";
  }
  return warning(slo, m + remedies(slo, row, n_long));
}

}  // namespace

std::vector<config::Diagnostic> sloCadenceWarnings(const config::Config& cfg) {
  std::vector<config::Diagnostic> out;
  auto push = [&](std::optional<Diagnostic> d) {
    if (d) out.push_back(std::move(*d));
  };
  for (const auto& slo : cfg.slos) {
    push(retentionWarning(cfg, slo));
    const auto rows = burnRows(cfg, slo);
    for (const auto& row : rows) push(lowThresholdWarning(slo, row));
    for (const auto& row : rows) push(widenedWarning(cfg, slo, row));
    for (const auto& row : rows) {
      auto d = singleEventWarning(cfg, slo, row);
      if (!d) continue;
      out.push_back(std::move(*d));
      break;  // one per SLO: the first page row that trips
    }
  }
  return out;
}

}  // namespace datawatch
