#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "probes/anomaly.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {
const TimePoint kNow = *parseTimestamp("2026-11-28T12:00:00Z");  // a Saturday

std::vector<SeriesPoint> hourly(const std::vector<double>& values) {
  std::vector<SeriesPoint> out;
  for (size_t i = 0; i < values.size(); ++i)
    out.push_back({kNow - (values.size() - i) * 1h, values[i], false});
  return out;
}
}  // namespace

TEST_CASE("robust z-score against hand-computed median and MAD", "[anomaly]") {
  // median 100; |deviations| 0,2,2,1,1,3,3 -> MAD 2.
  const auto h = hourly({100, 102, 98, 101, 99, 103, 97});
  config::AnomalyConfig cfg;
  auto big = detectAnomaly(h, kNow, 120, cfg);
  REQUIRE(big.evaluated);
  CHECK(big.training_points == 7);
  CHECK(big.median == 100);
  CHECK(big.mad == 2);
  CHECK(big.z == Approx(6.745));  // 0.6745 * 20 / 2
  CHECK(big.anomalous);
  CHECK(big.lower == Approx(91.1045).epsilon(1e-4));  // 100 - 3 * 2 / 0.6745
  CHECK(big.upper == Approx(108.8955).epsilon(1e-4));
  auto small = detectAnomaly(h, kNow, 105, cfg);
  CHECK(small.z == Approx(1.68625));
  CHECK_FALSE(small.anomalous);
  auto low = detectAnomaly(h, kNow, 80, cfg);
  CHECK(low.z == Approx(-6.745));
  CHECK(low.anomalous);
}

TEST_CASE("too little training is not evaluated, anomalous points are left out", "[anomaly]") {
  config::AnomalyConfig cfg;
  auto six = detectAnomaly(hourly({1, 2, 3, 4, 5, 6}), kNow, 100, cfg);
  CHECK_FALSE(six.evaluated);
  CHECK(six.training_points == 6);
  auto h = hourly({100, 102, 98, 101, 99, 103, 97, 5000});
  h.back().anomalous = true;
  CHECK(detectAnomaly(h, kNow, 100, cfg).training_points == 7);
  // Points older than the training window do not count.
  cfg.training = 5h;
  CHECK(detectAnomaly(h, kNow, 100, cfg).training_points == 4);
}

TEST_CASE("min_change floors keep flat series from alerting on noise", "[anomaly]") {
  const auto flat = hourly({100, 100, 100, 100, 100, 100, 100, 100});
  config::AnomalyConfig cfg;
  auto any = detectAnomaly(flat, kNow, 101, cfg);  // MAD 0: any move is infinitely many MADs
  CHECK(any.anomalous);
  cfg.min_change_absolute = 5;
  CHECK_FALSE(detectAnomaly(flat, kNow, 104, cfg).anomalous);
  CHECK(detectAnomaly(flat, kNow, 106, cfg).anomalous);
  cfg.min_change_absolute = 0;
  cfg.min_change_relative = 0.1;
  CHECK_FALSE(detectAnomaly(flat, kNow, 109, cfg).anomalous);
  auto drop = detectAnomaly(flat, kNow, 50, cfg);
  CHECK(drop.anomalous);
  CHECK(drop.lower == 90);
  CHECK(drop.upper == 110);
}

TEST_CASE("weekly seasonality compares a Saturday with Saturdays", "[anomaly]") {
  // Five weeks of daily counts: weekdays ~1000, weekends ~200.
  std::vector<SeriesPoint> h;
  for (int d = 35; d >= 1; --d) {
    const TimePoint at = kNow - d * 24h;
    const int dow = seasonSlot(at, config::Seasonality::DayOfWeek);
    const double base = (dow == 0 || dow == 6) ? 200 : 1000;
    h.push_back({at, base + (d % 3) * 10 - 10, false});
  }
  config::AnomalyConfig cfg;
  cfg.training = 35 * 24h;
  auto plain =
      detectAnomaly(h, kNow, 200, cfg);  // against all days: a Saturday looks like a collapse
  CHECK(plain.anomalous);
  cfg.seasonality = config::Seasonality::DayOfWeek;
  cfg.training = 60 * 24h;
  // Only 5 Saturdays: not enough.
  CHECK_FALSE(detectAnomaly(h, kNow, 200, cfg).evaluated);
  // Ten weeks: 10 Saturdays + 10 Sundays... only Saturdays count for a Saturday.
  for (int d = 70; d >= 36; --d) {
    const TimePoint at = kNow - d * 24h;
    const int dow = seasonSlot(at, config::Seasonality::DayOfWeek);
    h.insert(h.begin(), {at, (dow == 0 || dow == 6) ? 200.0 : 1000.0, false});
  }
  cfg.training = 71 * 24h;
  auto seasonal = detectAnomaly(h, kNow, 200, cfg);
  REQUIRE(seasonal.evaluated);
  CHECK(seasonal.training_points == 10);
  CHECK(seasonal.slot == "day_of_week=6");
  CHECK_FALSE(seasonal.anomalous);
  CHECK(detectAnomaly(h, kNow, 1000, cfg).anomalous);  // a weekday-sized Saturday is the anomaly
  CHECK(seasonSlot(*parseTimestamp("2026-11-29T05:00:00Z"), config::Seasonality::HourOfWeek) == 5);
  CHECK(seasonSlot(*parseTimestamp("2026-11-30T05:00:00Z"), config::Seasonality::HourOfWeek) == 29);
}
