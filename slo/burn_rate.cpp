#include "slo/burn_rate.hpp"

#include <algorithm>

namespace datawatch {

std::vector<BurnRow> defaultBurnRows(Duration slo_window) {
  using std::chrono::hours;
  using std::chrono::minutes;
  const struct {
    const char* severity;
    Duration long_w, short_w;
    double share;
  } kTable[] = {{"page", hours(1), minutes(5), 0.02},
                {"page", hours(6), minutes(30), 0.05},
                {"ticket", hours(24), hours(2), 0.10},
                {"ticket", hours(72), hours(6), 0.10}};
  std::vector<BurnRow> rows;
  for (const auto& r : kTable) {
    if (r.long_w > slo_window) continue;
    const double rate = std::max(1.0, r.share * std::chrono::duration<double>(slo_window).count() /
                                          std::chrono::duration<double>(r.long_w).count());
    rows.push_back({r.severity, r.long_w, r.short_w, rate, r.share});
  }
  return rows;
}

std::vector<BurnRow> burnRows(const config::SloConfig& slo) {
  if (slo.alerting.windows.empty()) return defaultBurnRows(slo.window);
  std::vector<BurnRow> rows;
  for (const auto& w : slo.alerting.windows)
    rows.push_back({w.severity, w.long_window, w.short_window, w.burn_rate, 0});
  return rows;
}

Duration minEventWindow(config::Budgeting budgeting, Duration slowest_every) {
  if (budgeting == config::Budgeting::Timeslices) return std::chrono::minutes(2);
  return 2 * slowest_every;
}

std::vector<BurnRow> burnRows(const config::SloConfig& slo, Duration slowest_every) {
  auto rows = burnRows(slo);
  const Duration min_short = minEventWindow(slo.budgeting, slowest_every);
  for (auto& r : rows) {
    const Duration widened = std::min(r.long_window, min_short);
    if (r.short_window >= widened) continue;
    r.configured_short = r.short_window;
    r.short_window = widened;
  }
  return rows;
}

Duration slowestEvery(const config::Config& cfg, const config::SloConfig& slo) {
  Duration slowest{0};
  for (const auto& name : slo.probes)
    if (const auto* p = cfg.findProbe(name)) slowest = std::max(slowest, p->every);
  return slowest;
}

std::vector<BurnRow> burnRows(const config::Config& cfg, const config::SloConfig& slo) {
  return burnRows(slo, slowestEvery(cfg, slo));
}

double plannedEvents(const config::Config& cfg, const config::SloConfig& slo, Duration window) {
  if (slo.budgeting == config::Budgeting::Timeslices) return window / std::chrono::minutes(1);
  double n = 0;
  for (const auto& name : slo.probes) {
    const auto* p = cfg.findProbe(name);
    if (p && p->every > Duration{0})
      n += std::chrono::duration<double>(window) / std::chrono::duration<double>(p->every);
  }
  return n;
}

}  // namespace datawatch
