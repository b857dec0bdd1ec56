#pragma once
// Numbers and measurements for people (alerts, post-mortems): one wording
// everywhere a probe's value is shown.

#include <string>
#include <string_view>

namespace datawatch {

// Plain numbers: 18020, 1520, 0.25 (no exponents below 1e15).
std::string plainNumber(double v);
// A probe value in its unit: 1808.75 seconds -> "30m8s", 12.5 percent ->
// "12.5%", 1520 rows -> "1520 rows", no unit -> "0.25".
std::string humanValue(double v, std::string_view unit);

}  // namespace datawatch
