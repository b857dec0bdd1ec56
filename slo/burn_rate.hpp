#pragma once
// The multi-window, multi-burn-rate alerting policy of SPEC §4 (Google SRE
// workbook, as Sloth does it). Each row spends a share of the error budget within
// its long window, so its burn-rate threshold is share × SLO window / long window,
// but never below 1: a burn rate under 1 leaves budget at the end of the SLO
// window, so a row asking for less is meaningless (a 1h SLO's page row would ask
// for 0.02). Custom rows keep their thresholds; `validate` reports those under 1.
//
// Widening: a window holds the events of exactly the last W (event_window.hpp),
// so a short window shorter than the time between two events would sometimes
// hold none. The rows in force widen such a short window to minEventWindow():
// two intervals of the slowest probe (occurrences; a result is current for two
// intervals, so the window always holds the latest run, even a late one), or 2
// minutes (timeslices: one event a minute, counted once the minute has ended).
// The long window is never widened, and a short window never beyond its long one.

#include <string>
#include <vector>

#include "config/types.hpp"

namespace datawatch {

struct BurnRow {
  std::string severity;  // page | ticket
  Duration long_window;
  Duration short_window;        // in force (widened, see above)
  double burn_rate;             // threshold
  double budget_share;          // 0 for custom rows
  Duration configured_short{};  // the short window as configured, when widened; else 0
};

// The default table for an SLO window, rows longer than the SLO window dropped:
// page 1h/5m 2%, page 6h/30m 5%, ticket 1d/2h 10%, ticket 3d/6h 10%; thresholds
// at least 1.
std::vector<BurnRow> defaultBurnRows(Duration slo_window);

// The rows as configured for an SLO: its custom `alerting.windows`, else the defaults.
std::vector<BurnRow> burnRows(const config::SloConfig& slo);

// The shortest window that always holds an event (see Widening above);
// `slowest_every`: the longest interval among the SLO's probes (0: none known).
Duration minEventWindow(config::Budgeting budgeting, Duration slowest_every);
// The rows in force: burnRows(slo) with short windows widened to minEventWindow.
std::vector<BurnRow> burnRows(const config::SloConfig& slo, Duration slowest_every);
// The same, with the slowest interval among `slo`'s probes in `cfg`.
std::vector<BurnRow> burnRows(const config::Config& cfg, const config::SloConfig& slo);
Duration slowestEvery(const config::Config& cfg, const config::SloConfig& slo);

// The events an SLO counts in `window` at its probes' cadence: window / 1m for
// timeslices, the sum of window / every over its probes for occurrences.
double plannedEvents(const config::Config& cfg, const config::SloConfig& slo, Duration window);

// Burn rate = error ratio / (1 - objective), objective as a ratio (0.995).
inline double burnRate(double error_ratio, double objective_ratio) {
  return error_ratio / (1.0 - objective_ratio);
}

}  // namespace datawatch
