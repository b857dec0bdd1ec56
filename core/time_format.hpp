#pragma once
// UTC timestamps: RFC 3339 output, lenient ISO-8601 input.

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace datawatch {

// "2026-11-26T10:00:00Z" (whole seconds, truncated).
std::string formatRfc3339(TimePoint t);
// "2026-11-26T10:00:00.123Z".
std::string formatRfc3339Millis(TimePoint t);
// "20261126" (the date part of incident ids).
std::string formatCompactDate(TimePoint t);

// Accepts "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.frac]]" with an optional zone
// "Z", "+HH:MM", "+HHMM" or "+HH". Without a zone the time is taken as UTC.
std::optional<TimePoint> parseTimestamp(std::string_view text);

double toUnixSeconds(TimePoint t);
TimePoint fromUnixSeconds(double seconds);
int64_t toUnixMillis(TimePoint t);
TimePoint fromUnixMillis(int64_t ms);

}  // namespace datawatch
