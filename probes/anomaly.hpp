#pragma once
// Volume anomaly detection: a robust z-score of the new value against the
// training history (median and MAD), optionally within a seasonal slot.
//
//   z = 0.6745 * (x - median) / MAD          (MAD = median |x_i - median|)
//
// A point is anomalous when |z| > sensitivity AND |x - median| >= min_change
// absolute AND |x - median| / median >= min_change relative. With MAD = 0 (a flat
// series) any departure that clears the floors is anomalous. At least 7 training
// points (in the slot) are needed; fewer is "not evaluated", not a failure.
// Points judged anomalous are kept out of later training.

#include <optional>
#include <string>
#include <vector>

#include "config/types.hpp"
#include "core/clock.hpp"

namespace datawatch {

struct SeriesPoint {
  TimePoint at;
  double value = 0;
  bool anomalous = false;
};

struct AnomalyVerdict {
  bool evaluated = false;  // false: not enough training points
  bool anomalous = false;
  size_t training_points = 0;
  double median = 0;
  double mad = 0;
  double z = 0;
  double lower =
      0;  // the expected range: median -/+ sensitivity * MAD / 0.6745, widened by the floors
  double upper = 0;
  std::string slot;  // "" without seasonality, else e.g. "day_of_week=4"
};

constexpr size_t kMinTrainingPoints = 7;

// The seasonal slot of a time: hour of day 0-23, day of week 0-6 (Sunday 0), hour of week 0-167.
int seasonSlot(TimePoint t, config::Seasonality s);

AnomalyVerdict detectAnomaly(const std::vector<SeriesPoint>& history, TimePoint now, double value,
                             const config::AnomalyConfig& cfg);

double median(std::vector<double> v);

}  // namespace datawatch
