#pragma once
// Advice on SLO definitions that `validate` (and the agent at start) gives
// without connecting anywhere.

#include <vector>

#include "config/loader.hpp"
#include "config/types.hpp"

namespace datawatch {

// One warning for each SLO where a single bad event would exceed a page row's
// burn rate in both its windows at the probes' cadence (SPEC §4): the numbers
// (events per window, the error ratio and burn rate of one bad event, the
// threshold) and the remedies with the values that would fix it — a lower
// objective, faster probes, timeslices budgeting, a longer page window.
// Also one when agent.retention is shorter than an SLO's window (the history a
// restart rebuilds from).
std::vector<config::Diagnostic> sloCadenceWarnings(const config::Config& cfg);

}  // namespace datawatch
