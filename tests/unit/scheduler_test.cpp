#include <catch2/catch.hpp>

#include <set>

#include "agent/scheduler.hpp"
#include "core/time_format.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = *parseTimestamp("2026-11-26T00:00:00Z");

// Drives a scheduler on simulated time where every run takes `run_time`, and
// records each dispatch. Runs started at t finish at t + run_time.
struct Sim {
  Sim(Scheduler& sched, Duration rt) : s(sched), run_time(rt) {}
  Scheduler& s;
  Duration run_time;
  std::vector<std::pair<size_t, TimePoint>> started;
  std::vector<std::pair<TimePoint, size_t>> running;  // finish time, index
  size_t max_concurrent_seen = 0;

  void until(TimePoint end) {
    TimePoint now = kStart;
    while (true) {
      // The next event: a finish or a due run.
      std::optional<TimePoint> next = s.nextWakeup();
      for (const auto& [fin, _] : running)
        if (!next || fin < *next) next = fin;
      if (!next || *next > end) break;
      now = std::max(now, *next);
      for (auto it = running.begin(); it != running.end();) {
        if (it->first <= now) {
          s.finished(it->second, now);
          it = running.erase(it);
        } else {
          ++it;
        }
      }
      for (const auto& d : s.takeDue(now)) {
        started.emplace_back(d.index, now);
        running.emplace_back(now + run_time, d.index);
      }
      max_concurrent_seen = std::max(max_concurrent_seen, running.size());
    }
  }
};

}  // namespace

TEST_CASE("probes run at their interval, first runs jittered within bounds", "[scheduler]") {
  std::vector<ScheduledProbe> probes{{"a", "db", 1min}, {"b", "db", 5min}, {"c", "db", 10s}};
  Scheduler s({8, {}, 30s}, probes, kStart);
  for (size_t i = 0; i < probes.size(); ++i) {
    const auto j = Scheduler::jitterFor(probes[i].name, probes[i].every, 30s);
    CHECK(j >= 0s);
    CHECK(j < std::min(probes[i].every, Duration(30s)));
    CHECK(s.nextDue(i) == kStart + j);
  }
  Sim sim{s, 100ms};
  sim.until(kStart + 1h);
  std::map<size_t, std::vector<TimePoint>> by_probe;
  for (auto [i, t] : sim.started) by_probe[i].push_back(t);
  CHECK(by_probe[0].size() == 60);
  CHECK(by_probe[1].size() == 12);
  CHECK(by_probe[2].size() == 360);
  for (auto& [i, times] : by_probe) {
    for (size_t k = 1; k < times.size(); ++k) CHECK(times[k] - times[k - 1] == probes[i].every);
  }
  // Jitter is stable: the same name gets the same offset every time.
  CHECK(Scheduler::jitterFor("a", 1min, 30s) == Scheduler::jitterFor("a", 1min, 30s));
}

TEST_CASE("jitter spreads many probes across the interval", "[scheduler]") {
  std::set<int64_t> offsets;
  for (int i = 0; i < 1000; ++i) {
    offsets.insert(Scheduler::jitterFor("probe_" + std::to_string(i), 1s, 30s).count());
  }
  CHECK(offsets.size() > 500);  // 1000 names over 1000 ms slots
  CHECK(*offsets.begin() >= 0);
  CHECK(*offsets.rbegin() < 1000);
}

TEST_CASE("a probe never overlaps itself: overruns are counted as missed, not stacked",
          "[scheduler]") {
  Scheduler s({8, {}, 0s}, {{"slow", "db", 1min}}, kStart);
  Sim sim{s, 150s};  // every run takes 2.5 intervals
  sim.until(kStart + 10min);
  // Started at 0, then when each run ends on the next grid tick: 3min, 6min, 9min.
  REQUIRE(sim.started.size() == 4);
  CHECK(sim.started[0].second == kStart);
  CHECK(sim.started[1].second == kStart + 3min);
  CHECK(sim.started[2].second == kStart + 6min);
  CHECK(sim.started[3].second == kStart + 9min);
  CHECK(s.missedRuns(0) == 6);  // 1,2 then 4,5 then 7,8
  CHECK(sim.max_concurrent_seen == 1);
}

TEST_CASE("the global worker limit and per-source limits hold", "[scheduler]") {
  std::vector<ScheduledProbe> probes;
  for (int i = 0; i < 10; ++i) probes.push_back({"a" + std::to_string(i), "small", 1min});
  for (int i = 0; i < 10; ++i) probes.push_back({"b" + std::to_string(i), "big", 1min});
  Scheduler s({5, {{"small", 2}, {"big", 4}}, 0s}, probes, kStart);
  auto first = s.takeDue(kStart);
  REQUIRE(first.size() == 5);
  int small = 0, big = 0;
  for (const auto& d : first) (s.probe(d.index).source == "small" ? small : big)++;
  CHECK(small <= 2);
  CHECK(big <= 4);
  CHECK(s.running() == 5);
  CHECK_FALSE(s.nextWakeup());  // pool full: wait for a finish
  CHECK(s.takeDue(kStart + 1s).empty());

  Sim sim{s, 10s};
  for (const auto& d : first) sim.running.emplace_back(kStart + 10s, d.index);
  sim.until(kStart + 5min);
  CHECK(sim.max_concurrent_seen <= 5);
  // Everyone still gets to run, once per minute.
  std::map<size_t, int> count;
  for (const auto& d : first) count[d.index]++;
  for (auto [i, t] : sim.started) count[i]++;
  for (size_t i = 0; i < probes.size(); ++i) CHECK(count[i] >= 4);
}

TEST_CASE("a source at its limit does not block other sources", "[scheduler]") {
  Scheduler s({8, {{"one", 1}}, 0s},
              {{"x1", "one", 1min}, {"x2", "one", 1min}, {"y", "other", 1min}}, kStart);
  auto d = s.takeDue(kStart);
  REQUIRE(d.size() == 2);  // x1 and y; x2 waits for x1
  std::set<std::string> names{s.probe(d[0].index).name, s.probe(d[1].index).name};
  CHECK(names == std::set<std::string>{"x1", "y"});
  s.finished(d[0].index, kStart);
  s.finished(d[1].index, kStart);
  auto d2 = s.takeDue(kStart + 1s);
  REQUIRE(d2.size() == 1);
  CHECK(s.probe(d2[0].index).name == "x2");
  CHECK(d2[0].due == kStart);
}

TEST_CASE("a long pause skips to the latest tick and counts the missed ones", "[scheduler]") {
  Scheduler s({8, {}, 0s}, {{"p", "db", 1min}}, kStart);
  auto d = s.takeDue(kStart + 10min + 30s);  // e.g. the host was suspended
  REQUIRE(d.size() == 1);
  CHECK(d[0].missed == 10);
  CHECK(d[0].due == kStart + 10min);
  s.finished(d[0].index, kStart);
  CHECK(*s.nextWakeup() == kStart + 11min);
}

#include "agent/runtime.hpp"
#include "config/loader.hpp"
#include "tests/support/test_support.hpp"

namespace {

// A probe whose run takes `cost` of simulated time: it advances the clock itself.
class SlowProbe final : public Probe {
 public:
  SlowProbe(config::ProbeConfig cfg, SimulatedClock& clock, Duration cost)
      : cfg_(std::move(cfg)), clock_(clock), cost_(cost) {}
  const config::ProbeConfig& config() const override { return cfg_; }
  ProbeResult run(const RunContext&) override {
    clock_.advance(cost_);
    return ProbeResult::pass(1, "rows", "done");
  }

 private:
  config::ProbeConfig cfg_;
  SimulatedClock& clock_;
  Duration cost_;
};

}  // namespace

TEST_CASE("a run that outlives its timeout on the simulated clock is an error",
          "[scheduler][timeout]") {
  auto loaded = config::loadConfigFromString(
      "sources:\n  db: {type: sqlite, path: w.db}\nprobes:\n"
      "  - {name: quick, type: volume, source: db, table: t, min: 1, timeout: 2s}\n"
      "  - {name: slow, type: volume, source: db, table: t, min: 1, timeout: 2s}\n",
      "/t/c.yaml", "", datawatch::testing::envFrom({}));
  REQUIRE(loaded.ok());
  auto cfg = std::make_shared<config::Config>(std::move(*loaded.config));
  SimulatedClock clock(kStart);
  SourceRegistry sources;  // empty: the fake probes need no source
  ProbeRegistry probes;
  probes.add("volume",
             [&](const config::ProbeConfig& pc, Source&) -> Result<std::unique_ptr<Probe>> {
               return std::unique_ptr<Probe>(std::make_unique<SlowProbe>(
                   pc, clock, pc.name == "slow" ? Duration(3s) : Duration(1s)));
             });
  // Without a source the registry refuses: give the probes a stand-in source.
  struct NullSource final : Source {
    std::string n = "db";
    const std::string& name() const override { return n; }
    config::SourceType type() const override { return config::SourceType::Sqlite; }
  };
  sources.add("sqlite",
              [](const config::SourceConfig&, const Clock&) -> Result<std::unique_ptr<Source>> {
                return std::unique_ptr<Source>(std::make_unique<NullSource>());
              });
  Runtime rt(cfg, clock, sources, probes, nullptr, nullptr, std::make_shared<spdlog::logger>("t"));
  auto quick = rt.runProbe(0);
  CHECK(quick.status == ProbeStatus::Pass);
  CHECK(quick.duration_seconds == 1.0);
  auto slow = rt.runProbe(1);
  CHECK(slow.status == ProbeStatus::Error);
  CHECK(slow.message == "timed out after 3s (timeout 2s)");
  CHECK(slow.duration_seconds == 3.0);
  CHECK(slow.observed_at == kStart + 1s);  // when it started
}
