#pragma once
// The multi-window, multi-burn-rate alerting policy of SPEC §4 (Google SRE
// workbook, as Sloth does it). Each row spends a share of the error budget within
// its long window, so its burn-rate threshold is share × SLO window / long window.

#include <string>
#include <vector>

#include "config/types.hpp"

namespace datawatch {

struct BurnRow {
  std::string severity;  // page | ticket
  Duration long_window;
  Duration short_window;
  double burn_rate;     // threshold
  double budget_share;  // 0 for custom rows
};

// The default table for an SLO window, rows longer than the SLO window dropped:
// page 1h/5m 2%, page 6h/30m 5%, ticket 1d/2h 10%, ticket 3d/6h 10%.
std::vector<BurnRow> defaultBurnRows(Duration slo_window);

// The rows in force for an SLO: its custom `alerting.windows`, else the defaults.
std::vector<BurnRow> burnRows(const config::SloConfig& slo);

// The events an SLO counts in `window` at its probes' cadence: window / 1m for
// timeslices, the sum of window / every over its probes for occurrences.
double plannedEvents(const config::Config& cfg, const config::SloConfig& slo, Duration window);

// Burn rate = error ratio / (1 - objective), objective as a ratio (0.995).
inline double burnRate(double error_ratio, double objective_ratio) {
  return error_ratio / (1.0 - objective_ratio);
}

}  // namespace datawatch
