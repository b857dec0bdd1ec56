#include "core/duration.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

namespace datawatch {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

constexpr std::array<Unit, 6> kUnits{{{"w", 7LL * 24 * 3600 * 1000},
                                      {"d", 24LL * 3600 * 1000},
                                      {"h", 3600LL * 1000},
                                      {"m", 60LL * 1000},
                                      {"s", 1000},
                                      {"ms", 1}}};

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  if (text.empty()) return Result<Duration>::Error("empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Result<Duration>::Error("invalid duration \"" + std::string(text) +
                                     "\" (expected a number and a unit: 500ms, 30s, 5m, 1h, 1d)");
    }
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > std::numeric_limits<int64_t>::max() / 10 - 10) {
        return Result<Duration>::Error("duration \"" + std::string(text) + "\" is too large");
      }
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(start, i - start);
    const Unit* found = nullptr;
    for (const auto& u : kUnits) {
      if (u.name == unit) found = &u;
    }
    if (found == nullptr) {
      return Result<Duration>::Error("invalid duration \"" + std::string(text) + "\": " +
                                     (unit.empty() ? std::string("missing unit")
                                                   : "unknown unit \"" + std::string(unit) + "\"") +
                                     " (use ms, s, m, h, d or w)");
    }
    if (n > std::numeric_limits<int64_t>::max() / found->ms - total) {
      return Result<Duration>::Error("duration \"" + std::string(text) + "\" is too large");
    }
    total += n * found->ms;
  }
  return Duration(total);
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const auto& u : kUnits) {
    if (u.name == "w") continue;  // days read better than weeks in config: 14d, 28d
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

std::string humanDuration(Duration d) {
  if (d.count() < 0) {
    std::string out(1, '-');
    out += humanDuration(-d);
    return out;
  }
  if (d < std::chrono::seconds(1)) return std::to_string(d.count()) + "ms";
  if (d < std::chrono::minutes(1)) {
    const int64_t tenths = d.count() / 100;
    if (tenths % 10 == 0) return std::to_string(tenths / 10) + "s";
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
  }
  int64_t s = d.count() / 1000;
  const int64_t days = s / 86400;
  const int64_t hours = (s % 86400) / 3600;
  const int64_t minutes = (s % 3600) / 60;
  const int64_t seconds = s % 60;
  std::string out;
  if (days > 0) return std::to_string(days) + "d" + (hours ? std::to_string(hours) + "h" : "");
  if (hours > 0)
    return std::to_string(hours) + "h" + (minutes ? std::to_string(minutes) + "m" : "");
  out = std::to_string(minutes) + "m";
  if (seconds) out += std::to_string(seconds) + "s";
  return out;
}

}  // namespace datawatch
