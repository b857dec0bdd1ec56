#include "probes/anomaly.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace datawatch {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + static_cast<long>(n / 2), v.end());
  const double hi = v[n / 2];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<long>(n / 2));
  return (lo + hi) / 2;
}

int seasonSlot(TimePoint t, config::Seasonality s) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const int hour = static_cast<int>(duration_cast<hours>(t - day).count());
  const int dow = static_cast<int>(weekday{day}.c_encoding());
  switch (s) {
    case config::Seasonality::None: return 0;
    case config::Seasonality::HourOfDay: return hour;
    case config::Seasonality::DayOfWeek: return dow;
    case config::Seasonality::HourOfWeek: return dow * 24 + hour;
  }
  return 0;
}

AnomalyVerdict detectAnomaly(const std::vector<SeriesPoint>& history, TimePoint now, double value,
                             const config::AnomalyConfig& cfg) {
  AnomalyVerdict v;
  const int slot = seasonSlot(now, cfg.seasonality);
  if (cfg.seasonality != config::Seasonality::None) {
    static const char* kNames[] = {"", "hour_of_day", "day_of_week", "hour_of_week"};
    v.slot = std::string(kNames[static_cast<int>(cfg.seasonality)]) + "=" + std::to_string(slot);
  }
  std::vector<double> xs;
  for (const auto& p : history) {
    if (p.anomalous || p.at >= now || p.at < now - cfg.training) continue;
    if (seasonSlot(p.at, cfg.seasonality) != slot) continue;
    xs.push_back(p.value);
  }
  v.training_points = xs.size();
  if (xs.size() < kMinTrainingPoints) return v;
  v.evaluated = true;
  v.median = median(xs);
  std::vector<double> dev;
  dev.reserve(xs.size());
  for (double x : xs) dev.push_back(std::fabs(x - v.median));
  v.mad = median(dev);
  const double diff = value - v.median;
  const double spread = v.mad > 0 ? cfg.sensitivity * v.mad / 0.6745 : 0;
  const double floor_abs =
      std::max(cfg.min_change_absolute, cfg.min_change_relative * std::fabs(v.median));
  const double half = std::max(spread, floor_abs);
  v.lower = v.median - half;
  v.upper = v.median + half;
  if (v.mad > 0) {
    v.z = 0.6745 * diff / v.mad;
  } else {
    v.z = diff == 0 ? 0 : std::copysign(INFINITY, diff);
  }
  const bool beyond_z = std::fabs(v.z) > cfg.sensitivity;
  const bool beyond_abs = std::fabs(diff) >= cfg.min_change_absolute;
  const bool beyond_rel =
      v.median == 0 ? true : std::fabs(diff) / std::fabs(v.median) >= cfg.min_change_relative;
  v.anomalous = beyond_z && beyond_abs && beyond_rel && diff != 0;
  return v;
}

}  // namespace datawatch
