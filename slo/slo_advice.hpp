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
// objective (only one that can help: never a negative one), faster probes,
// timeslices budgeting, a longer page window.
// Also one when agent.retention is shorter than an SLO's window (the history a
// restart rebuilds from); one per row whose burn-rate threshold is below 1
// (meaningless: it fires while the budget outlasts the window; only custom rows,
// the default table never goes below 1); and one per row whose short window is
// widened to hold the latest event (burn_rate.hpp).
std::vector<config::Diagnostic> sloCadenceWarnings(const config::Config& cfg);

}  // namespace datawatch
