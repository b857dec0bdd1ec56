#pragma once
// Text helpers shared by the post-mortem's data model, Markdown and chart
// (incidents/postmortem*.cpp). Numbers and values in human units are
// core/human_units.hpp.

#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace datawatch {

// `v` with `digits` decimals: fixedDigits(2.345, 1) == "2.3".
std::string fixedDigits(double v, int digits = 1);
// "2026-11-24 09:34" (UTC).
std::string utcDayMinute(TimePoint t);
// An identifier as a Markdown code span (`orders_fresh`): literal inside, so
// the raw Markdown reads as written; nothing to escape but a backtick (a longer
// fence) and, for GFM tables, `|`.
std::string codeSpan(std::string_view s);

}  // namespace datawatch
