#include "core/human_units.hpp"

#include <cmath>
#include <cstdio>

#include "core/duration.hpp"

namespace datawatch {

std::string plainNumber(double v) {
  char b[64];
  if (std::fabs(v) >= 1e4 && std::fabs(v) < 1e15)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string humanValue(double v, std::string_view unit) {
  if (unit == "seconds" && std::isfinite(v) && std::fabs(v) < 1e12)
    return humanDuration(Duration{std::llround(v * 1000)});
  if (unit == "percent") return plainNumber(v) + "%";
  if (unit.empty()) return plainNumber(v);
  return plainNumber(v) + " " + std::string(unit);
}

}  // namespace datawatch
