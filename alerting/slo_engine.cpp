#include "alerting/slo_engine.hpp"

namespace datawatch {

SloState::SloState(const config::SloConfig& cfg)
    : cfg_(cfg), objective_(cfg.objective / 100.0), rows_(burnRows(cfg)) {
  for (const auto& r : rows_) {
    counters_.try_emplace(r.long_window, r.long_window);
    counters_.try_emplace(r.short_window, r.short_window);
  }
  counters_.try_emplace(cfg_.window, cfg_.window);
}

SlidingCounter& SloState::counter(Duration w) {
  return counters_.at(w);
}

void SloState::record(const ProbeResult& run) {
  if (run.status == ProbeStatus::Error && cfg_.errors == config::ErrorPolicy::Ignore) return;
  recordEvent(run.observed_at, run.status != ProbeStatus::Pass);
}

void SloState::recordEvent(TimePoint at, bool bad) {
  for (auto& [w, c] : counters_) c.add(at, bad);
}

SloStatus SloState::evaluate(TimePoint now) {
  SloStatus st;
  std::map<Duration, WindowStatus> by_window;
  for (auto& [w, c] : counters_) {
    WindowStatus ws{w, c.sums(now)};
    ws.error_ratio = ws.counts.errorRatio();
    ws.burn_rate = burnRate(ws.error_ratio, objective_);
    by_window[w] = ws;
  }
  for (const auto& [w, ws] : by_window) {
    if (w != cfg_.window) st.windows.push_back(ws);
  }
  st.windows.push_back(by_window.at(cfg_.window));
  st.error_budget_remaining = 1.0 - by_window.at(cfg_.window).burn_rate;
  for (const auto& r : rows_) {
    const auto& lw = by_window.at(r.long_window);
    const auto& sw = by_window.at(r.short_window);
    if (lw.burn_rate > r.burn_rate && sw.burn_rate > r.burn_rate &&
        lw.counts.bad >= static_cast<uint64_t>(cfg_.alerting.min_bad_events)) {
      st.breaching.insert(r.severity);
    }
  }
  return st;
}

}  // namespace datawatch
