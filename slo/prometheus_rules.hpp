#pragma once
// `datawatch rules`: the SLOs of a configuration as Prometheus recording and
// alerting rules over datawatch_slo_events_total and datawatch_slo_bad_events_total,
// so Prometheus evaluates the same SLIs, windows, thresholds and min_bad_events as
// the agent (SPEC §4), independently of it. Naming follows Sloth:
//
//   slo:sli_error:ratio_rate<W>           error ratio over each window W
//   slo:sli_bad_events:increase<W>        bad events over each long window (min_bad_events)
//   slo:objective:ratio, slo:error_budget:ratio
//   slo:period_error_budget_remaining:ratio
//   alert DatawatchSLOBurnRate{slo, severity=page|ticket}
//   alert DatawatchProbeNotReporting{probe, severity=ticket}
//
// The rows are the engine's rows in force (burn_rate.hpp), short windows widened
// to two intervals of the slowest probe: `increase` over a range that holds no
// counter step is 0 / 0, no sample, and the alert would resolve in the middle of
// an outage; a range of two intervals always holds a step, whatever the scrape
// phase and the probes' jitter (up to one interval).
//
// With N replicas scraped (agent.state: postgres://, docs/deployment.md) every
// replica's SLO engine follows the shared run feed and counts every event of
// the fleet: error ratios are ratios of sums (the same with any N), and event
// counts (min_bad_events, the period's budget) divide the sum over the
// replicas' series by the number of series. The not-reporting alert takes the
// max of a gauge every replica exports alike.

#include <string>

#include "config/types.hpp"

namespace datawatch {

// The rules file (YAML), `promtool check rules` clean.
std::string prometheusRules(const config::Config& cfg);

// The alert names used above.
inline constexpr const char* kSloBurnAlert = "DatawatchSLOBurnRate";
inline constexpr const char* kProbeNotReportingAlert = "DatawatchProbeNotReporting";

}  // namespace datawatch
