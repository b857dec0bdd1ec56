#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "core/time_format.hpp"
#include "probes/anomaly.hpp"
#include "probes/volume_judge.hpp"
#include "probes/volume_series.hpp"
#include "tests/support/test_support.hpp"

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

namespace {

// Snapshots in memory, counting what each save writes.
class MemorySnapshots final : public SnapshotStore {
 public:
  std::map<std::string, nlohmann::json> docs;
  size_t bytes_written = 0;
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override {
    const auto it = docs.find(key);
    if (it == docs.end()) return std::optional<nlohmann::json>{};
    return std::optional<nlohmann::json>(it->second);
  }
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override {
    bytes_written += key.size() + value.dump().size();
    docs[key] = value;
    return Status::Ok();
  }
};

// `days` of counts every `step` ending before `end`: a daily wave, a few anomalies.
std::vector<SeriesPoint> countSeries(TimePoint end, int days, Duration step) {
  std::vector<SeriesPoint> out;
  const int per_day = static_cast<int>(24h / step);
  for (int i = days * per_day; i >= 1; --i) {
    const double v = std::round(2000 + 1500 * std::sin(i * 2 * M_PI / per_day) + (i * 37 % 101));
    out.push_back({end - i * step + std::chrono::milliseconds(i * 7 % 1000), v, i % 997 == 0});
  }
  out[5].value = 12.5;  // not every value is a count
  return out;
}

// The previous format: the whole series in one document, rewritten every run.
size_t legacyBytes(const std::vector<SeriesPoint>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : pts) a.push_back({toUnixMillis(p.at), p.value, p.anomalous ? 1 : 0});
  return nlohmann::json({{"points", a}}).dump().size();
}

}  // namespace

TEST_CASE("the volume series round-trips by day and a run rewrites only the current day",
          "[anomaly][series]") {
  const Duration step = GENERATE(Duration(5min), Duration(1min));
  MemorySnapshots store;
  const auto pts = countSeries(kNow, 14, step);
  VolumeSeries s("p:volume_series", 14 * 24h);
  s.assign(pts, kNow);
  REQUIRE(s.save(store).ok());
  const size_t full = store.bytes_written;
  VolumeSeries back("p:volume_series", 14 * 24h);
  REQUIRE(back.load(store, kNow).ok());
  REQUIRE(back.points().size() == pts.size());
  for (size_t i = 0; i < pts.size(); ++i) {
    INFO(i);
    CHECK(back.points()[i].at == pts[i].at);
    CHECK(back.points()[i].value == pts[i].value);
    CHECK(back.points()[i].anomalous == pts[i].anomalous);
  }
  // A live run: one point more, one day rewritten (no new day, no index).
  store.bytes_written = 0;
  back.add({kNow, 2100, false}, kNow);
  REQUIRE(back.save(store).ok());
  const size_t per_run = store.bytes_written;
  const size_t legacy = legacyBytes(back.points());
  INFO(pts.size() << " points: legacy " << legacy << " B per run; by day " << per_run
                  << " B per run, all days " << full << " B");
  CHECK(per_run * 40 < legacy);  // one day of 14, at under half the bytes a point
  CHECK(full < legacy / 2);
}

TEST_CASE("the volume series drops points older than training and never caps silently",
          "[anomaly][series]") {
  MemorySnapshots store, capped_store;
  VolumeSeries s("p:volume_series", 2h, 20);
  for (int i = 48; i >= 0; --i) s.add({kNow - i * 5min, 100, false}, kNow - i * 5min);
  // 4 hours of 5-minute points; the last 2 hours (25 points, both ends in) kept, but the cap is 20.
  CHECK(s.points().size() == 20);
  CHECK(s.cappedPoints() == 29);  // each point after the 20th pushed the oldest out
  CHECK(s.points().front().at == kNow - 19 * 5min);
  REQUIRE(s.save(capped_store).ok());
  CHECK(s.cappedPoints() == 0);  // reported once, by the run that dropped them
  VolumeSeries wide("p:volume_series", 2h);
  for (int i = 48; i >= 0; --i) wide.add({kNow - i * 5min, 100, false}, kNow - i * 5min);
  CHECK(wide.points().size() == 25);
  CHECK(wide.cappedPoints() == 0);
  CHECK(wide.points().front().at == kNow - 2h);
  // The days that left the window are overwritten in the store, and a reload
  // applies the window at its own time.
  REQUIRE(wide.save(store).ok());
  VolumeSeries later("p:volume_series", 2h);
  REQUIRE(later.load(store, kNow + 1h).ok());
  CHECK(later.points().size() == 13);  // kNow - 1h .. kNow
}

TEST_CASE("volume anomaly says when the series is capped, and reads the previous format",
          "[anomaly][series]") {
  // A stored series in the previous format, longer than the cap, inside a long window.
  MemorySnapshots store;
  nlohmann::json legacy = nlohmann::json::array();
  const size_t n = VolumeSeries::kMaxPoints + 5;
  for (size_t i = n; i >= 1; --i)
    legacy.push_back({toUnixMillis(kNow - static_cast<int>(i) * 1min), 1000.0, 0});
  store.docs["v:volume_series"] = {{"points", legacy}};
  auto cfg = datawatch::testing::loadTestConfig(
      "sources:\n  db: {type: sqlite, path: ./w.db}\nprobes:\n"
      "  - {name: v, type: volume, source: db, table: t, anomaly: {training: 80d}}\n",
      "/tmp/anomaly.yaml");
  VolumeJudge judge(cfg->probes.at(0), "rows", false);
  RunContext ctx;
  ctx.now = kNow;
  ctx.snapshots = &store;
  const ProbeResult r = judge.judge(ctx, 1000, nlohmann::json::object());
  INFO(r.details.dump());
  CHECK(r.details["anomaly"]["series_capped"]["dropped_points"] == 6);
  CHECK(r.details["anomaly"]["series_capped"]["max_points"] == VolumeSeries::kMaxPoints);
  CHECK(r.details["anomaly"]["training_points"] == VolumeSeries::kMaxPoints);
  // Rewritten by day: the index lists the days, the old document is gone.
  CHECK(store.docs["v:volume_series"]["format"] == 2);
  CHECK_FALSE(store.docs["v:volume_series"].contains("points"));
  VolumeSeries reread("v:volume_series", 80 * 24h);
  REQUIRE(reread.load(store, kNow).ok());
  CHECK(reread.points().size() == VolumeSeries::kMaxPoints);
}

TEST_CASE("HA replicas taking turns at a volume probe train on every run, not their own share",
          "[anomaly][series]") {
  MemorySnapshots store;
  auto cfg = datawatch::testing::loadTestConfig(
      "sources:\n  db: {type: sqlite, path: ./w.db}\nprobes:\n"
      "  - {name: v, type: volume, source: db, table: t, anomaly: {training: 30d}}\n",
      "/tmp/anomaly-ha.yaml");
  // One judge per replica; the fleet hands the probe's runs out in turn.
  for (const bool shared : {false, true}) {
    store.docs.clear();
    VolumeJudge first(cfg->probes.at(0), "rows", false);
    VolumeJudge second(cfg->probes.at(0), "rows", false);
    int last_training = 0;
    for (int i = 0; i < 40; ++i) {
      RunContext ctx;
      ctx.now = kNow - (40 - i) * 1h;
      ctx.snapshots = &store;
      ctx.shared_snapshots = shared;
      const ProbeResult r = (i % 2 == 0 ? first : second).judge(ctx, 1000 + i % 3, {});
      last_training = r.details["anomaly"]["training_points"].get<int>();
    }
    VolumeSeries stored("v:volume_series", 30 * 24h);
    REQUIRE(stored.load(store, kNow).ok());
    if (shared) {
      CHECK(last_training == 39);  // every earlier run, whoever ran it
      CHECK(stored.points().size() == 40);
    } else {
      CHECK(last_training < 39);  // without reloading, each saw about half (the bug this guards)
    }
  }
}
