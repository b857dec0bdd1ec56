#pragma once
// Durations as written in config: "500ms", "30s", "5m", "1h", "1d", "7d", "28d",
// and compounds such as "1h30m". Units: ms, s, m, h, d, w.

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace datawatch {

// Returns the duration or an error naming what is wrong with `text`.
Result<Duration> parseDuration(std::string_view text);

// The shortest exact rendering in config syntax: 90000ms -> "1m30s", 0 -> "0s".
std::string formatDuration(Duration d);

// A human rendering for messages, rounded to seconds above a minute: "13m32s", "2d3h".
std::string humanDuration(Duration d);

}  // namespace datawatch
