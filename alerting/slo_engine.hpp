#pragma once
// SloState: one SLO's events (budgeting: occurrences — each probe run one event)
// in sliding windows, and its evaluation against the burn-rate rows of SPEC §4.
// O(1) amortised work per event and per window; fixed memory (60 buckets per
// distinct window). Not thread-safe.
//
// Still to come (issue 4): timeslices budgeting, gap reporting, rebuild from the
// state store after a restart, metrics, the status API, `validate` warnings,
// `datawatch rules`.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "alerting/burn_rate.hpp"
#include "alerting/event_window.hpp"
#include "config/types.hpp"
#include "probes/result.hpp"

namespace datawatch {

struct WindowStatus {
  Duration window;
  EventCounts counts;
  double error_ratio = 0;
  double burn_rate = 0;
};

struct SloStatus {
  std::vector<WindowStatus> windows;  // every alert window, then the SLO window
  double error_budget_remaining = 1;  // 1 untouched, < 0 overspent
  std::set<std::string> breaching;    // severities with a breaching row
};

class SloState {
 public:
  explicit SloState(const config::SloConfig& cfg);

  // One probe run of one of the SLO's probes. Errors count as bad or are ignored
  // per `errors:`.
  void record(const ProbeResult& run);
  void recordEvent(TimePoint at, bool bad);
  SloStatus evaluate(TimePoint now);

  const std::vector<BurnRow>& rows() const { return rows_; }

 private:
  SlidingCounter& counter(Duration w);

  config::SloConfig cfg_;
  double objective_;  // ratio
  std::vector<BurnRow> rows_;
  std::map<Duration, SlidingCounter> counters_;  // one per distinct window
};

}  // namespace datawatch
