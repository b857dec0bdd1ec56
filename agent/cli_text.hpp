#pragma once
// Text helpers of the command-line output (`check`, `demo`).

#include <ostream>
#include <string>
#include <vector>

#include "slo/slo_engine.hpp"

namespace datawatch {

// `s` padded with spaces to `width` columns (never cut).
std::string pad(const std::string& s, size_t width);

// "99.500%" style percentage of a ratio.
std::string percent(double ratio, int decimals);

// One line per SLO: objective and window, SLI and error budget left over the
// window, the state (ok, PAGE, TICKET, no data) and every window's burn rate.
void printSloTable(std::ostream& out, const std::vector<SloStatus>& slos, bool color);

}  // namespace datawatch
