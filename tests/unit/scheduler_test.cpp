#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
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

TEST_CASE("jitter spreads many probes across the interval, in kMinPhases slots", "[scheduler]") {
  static_assert(Scheduler::kMinPhases == 20, "the expected slots below assume 20 phases");
  std::set<int64_t> offsets;
  for (int i = 0; i < 1000; ++i) {
    offsets.insert(Scheduler::jitterFor("probe_" + std::to_string(i), 1s, 30s).count());
  }
  CHECK(offsets.size() == 20);  // 1000 names fill all 20 slots of 50 ms
  CHECK(*offsets.begin() == 0);
  CHECK(*offsets.rbegin() == 950);
  for (auto o : offsets) CHECK(o % 50 == 0);
  // Longer intervals: the slots widen (30 s of jitter: 20 slots of 1.5 s).
  std::set<int64_t> wide;
  for (int i = 0; i < 1000; ++i)
    wide.insert(Scheduler::jitterFor("probe_" + std::to_string(i), 5min, 30s).count());
  CHECK(wide.size() == 20);
  CHECK(*wide.rbegin() == 28500);
  for (auto o : wide) CHECK(o % 1500 == 0);
  // A span that is not a multiple of 20 grid steps: slots round up to the grid.
  std::set<int64_t> odd;
  for (int i = 0; i < 1000; ++i)
    odd.insert(Scheduler::jitterFor("probe_" + std::to_string(i), 330ms, 30s).count());
  CHECK(odd.size() == 20);  // every 16.5 ms, each floored to the 10 ms grid: 0, 10, 30, 40, ...
  for (auto o : odd) CHECK(o % 10 == 0);
  CHECK(*odd.rbegin() == 310);
  CHECK(Scheduler::jitterFor("x", 150ms, 30s).count() % 10 == 0);  // 15 slots of 10 ms
  CHECK(Scheduler::jitterFor("x", 5ms, 30s) == 0ms);               // shorter than one slot
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

TEST_CASE("a source's limit holds and no probe starves, interval after interval", "[scheduler]") {
  // Eight jittered probes on one source of two connections; runs take 10 s.
  std::vector<ScheduledProbe> probes;
  for (int i = 0; i < 8; ++i) probes.push_back({"p" + std::to_string(i), "s", 1min});
  Scheduler s({16, {{"s", 2}}, 1min}, probes, kStart);
  Sim sim{s, 10s};
  sim.until(kStart + 10min);
  CHECK(sim.max_concurrent_seen <= 2);
  std::map<size_t, int> count;
  for (auto [i, t] : sim.started) count[i]++;
  // Two slots take 12 runs of 10 s a minute, eight are asked: each probe runs
  // every minute (its first within the first), none is missed.
  for (size_t i = 0; i < probes.size(); ++i) {
    CHECK(count[i] >= 9);
    CHECK(s.missedRuns(i) == 0);
  }
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

TEST_CASE("a reload continues the schedule - kept due times and in-flight runs hold their slot",
          "[scheduler][reload]") {
  Scheduler old({8, {{"db", 2}}, 0s}, {{"a", "db", 1min}, {"b", "db", 1min}, {"c", "db", 5min}},
                kStart);
  auto first = old.takeDue(kStart);
  REQUIRE(first.size() == 2);  // a and b; c waits for a slot of db
  old.finished(*old.find("a"), kStart + 1s);
  // Reload: a unchanged, b still running (in flight), c's interval changed, d new.
  const TimePoint now = kStart + 2s;
  Scheduler next({8, {{"db", 2}}, 0s},
                 {{"d", "db", 1min}, {"c", "db", 2min}, {"b", "db", 1min}, {"a", "db", 1min}}, now,
                 old, {"b"});
  const size_t a = *next.find("a"), b = *next.find("b"), c = *next.find("c"), d = *next.find("d");
  CHECK_FALSE(next.find("zz"));
  CHECK(next.nextDue(a) == kStart + 1min);  // kept: no earlier, no later run
  CHECK(next.isRunning(b));
  CHECK(next.running() == 1);
  CHECK(next.nextDue(c) == now);  // changed interval: starts afresh (no jitter here)
  CHECK(next.nextDue(d) == now);
  // b holds one of db's two slots until its old run finishes: one of c and d starts.
  auto due = next.takeDue(now);
  REQUIRE(due.size() == 1);
  for (const auto& x : due) CHECK(x.index != b);
  next.finished(b, now + 5s);  // the old run ends: b is due one interval after its tick
  CHECK(next.nextDue(b) == kStart + 1min);
  CHECK_FALSE(next.isRunning(b));
}

TEST_CASE("a reload re-issues a run handed out but never started", "[scheduler][reload]") {
  Scheduler old({8, {}, 0s}, {{"a", "db", 1min}}, kStart);
  REQUIRE(old.takeDue(kStart + 5s).size() == 1);  // queued, then the reload came
  Scheduler next({8, {}, 0s}, {{"a", "db", 1min}}, kStart + 6s, old, {});
  auto due = next.takeDue(kStart + 6s);
  REQUIRE(due.size() == 1);
  CHECK(due[0].due == kStart);  // the same tick: neither skipped nor doubled
  CHECK(due[0].missed == 0);
}

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "agent/probe_loop.hpp"
#include "core/mutex.hpp"
#include "store/sqlite_state_store.hpp"

namespace {

// Probes that throw, pass, or block until released, for ProbeLoop.
struct Gate {
  datawatch::Mutex mu;
  datawatch::CondVar cv;
  bool open GUARDED_BY(mu) = false;
  int running GUARDED_BY(mu) = 0;
  int most_at_once GUARDED_BY(mu) = 0;
  int started GUARDED_BY(mu) = 0;
  std::string error_message = "table gone";  // what the probe "broken" reports
};

class ScriptedProbe final : public Probe {
 public:
  ScriptedProbe(config::ProbeConfig cfg, Gate* gate) : cfg_(std::move(cfg)), gate_(gate) {}
  const config::ProbeConfig& config() const override { return cfg_; }
  ProbeResult run(const RunContext&) override {
    if (cfg_.name == "boom") throw std::runtime_error("kaboom");
    if (cfg_.name == "broken") return ProbeResult::error(gate_->error_message);
    if (cfg_.name == "weird") throw 42;
    if (cfg_.name.rfind("nap", 0) == 0) {  // nap1, nap2, ...: a 40 ms query
      {
        MutexLock lock(gate_->mu);
        gate_->most_at_once = std::max(gate_->most_at_once, ++gate_->running);
      }
      std::this_thread::sleep_for(40ms);  // real time: the worker's thread is busy
      MutexLock lock(gate_->mu);
      --gate_->running;
    }
    if (cfg_.name.rfind("slow", 0) == 0) {  // slow, slow1, ...: block until the gate opens
      MutexLock lock(gate_->mu);
      ++gate_->started;
      gate_->most_at_once = std::max(gate_->most_at_once, ++gate_->running);
      gate_->cv.notifyAll();
      gate_->cv.wait(lock, [&]() REQUIRES(gate_->mu) { return gate_->open; });
      --gate_->running;
    }
    return ProbeResult::pass(1, "rows", cfg_.name);
  }

 private:
  config::ProbeConfig cfg_;
  Gate* gate_;
};

struct NullSource final : Source {
  std::string n = "db";
  const std::string& name() const override { return n; }
  config::SourceType type() const override { return config::SourceType::Sqlite; }
};

// A Runtime over `names` (every 1s, on source db) with ScriptedProbes, recording in `store`.
struct LoopRig {
  explicit LoopRig(StateStore* store) : store_(store) {
    probes.add("volume",
               [this](const config::ProbeConfig& pc, Source&) -> Result<std::unique_ptr<Probe>> {
                 return std::unique_ptr<Probe>(std::make_unique<ScriptedProbe>(pc, &gate));
               });
    sources.add("sqlite",
                [](const config::SourceConfig&, const Clock&) -> Result<std::unique_ptr<Source>> {
                  return std::unique_ptr<Source>(std::make_unique<NullSource>());
                });
  }
  std::shared_ptr<Runtime> runtime(const std::vector<std::string>& names,
                                   std::shared_ptr<spdlog::logger> log = nullptr) {
    std::string yaml = "sources:\n  db: {type: sqlite, path: w.db}\nprobes:\n";
    for (const auto& n : names)
      yaml += "  - {name: " + n + ", type: volume, source: db, table: t, min: 1, every: 1s}\n";
    auto loaded =
        config::loadConfigFromString(yaml, "/t/c.yaml", "", datawatch::testing::envFrom({}));
    REQUIRE(loaded.ok());
    return std::make_shared<Runtime>(std::make_shared<config::Config>(std::move(*loaded.config)),
                                     clock, sources, probes, store_, nullptr,
                                     log ? log : std::make_shared<spdlog::logger>("t"));
  }
  size_t recorded(const std::string& probe) {
    auto r = store_->runs(probe, TimePoint{}, TimePoint::max());
    return r ? r->size() : 0;
  }
  // Advances the simulated clock a second at a time until `done` holds (real time: the
  // loop's threads); false after 100 steps.
  bool stepUntil(ProbeLoop& loop, const std::function<bool()>& done) {
    for (int i = 0; i < 100 && !done(); ++i) {
      clock.advance(1s);
      loop.wake();
      datawatch::testing::eventually(done, 200ms);
    }
    return done();
  }
  SimulatedClock clock{kStart};
  Gate gate;
  SourceRegistry sources;
  ProbeRegistry probes;
  StateStore* store_;
};

}  // namespace

TEST_CASE("a probe that throws is an error result and the loop keeps running the others",
          "[scheduler][probe_loop][threads]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  auto rt = rig.runtime({"boom", "weird", "fine"});
  ProbeLoop loop(rt, rig.clock, 2, nullptr);
  loop.start();
  REQUIRE(rig.stepUntil(loop, [&] {
    return rig.recorded("boom") >= 3 && rig.recorded("weird") >= 3 && rig.recorded("fine") >= 3;
  }));
  CHECK(loop.stop(0s));
  for (const char* name : {"boom", "weird"}) {
    auto runs = store->runs(name, TimePoint{}, TimePoint::max());
    REQUIRE(runs.ok());
    for (const auto& r : *runs) {
      CHECK(r.status == ProbeStatus::Error);
      CHECK_THAT(r.message, Catch::StartsWith("internal error: "));
    }
  }
  CHECK(store->runs("boom", TimePoint{}, TimePoint::max())->front().message ==
        "internal error: kaboom");
  CHECK(store->runs("fine", TimePoint{}, TimePoint::max())->front().status == ProbeStatus::Pass);
}

TEST_CASE("replaceRuntime keeps probing while an in-flight run finishes on the old runtime",
          "[scheduler][probe_loop][reload][threads]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  auto old_rt = rig.runtime({"slow", "quick"});
  std::vector<std::string> seen_old;  // results observed through each runtime
  Mutex seen_mu;
  old_rt->setResultObserver([&](const std::shared_ptr<const ProbeResult>& r) {
    MutexLock lock(seen_mu);
    seen_old.push_back(r->probe);
  });
  ProbeLoop loop(old_rt, rig.clock, 4, nullptr);
  loop.start();
  auto slowStarted = [&](int n) {
    return [&rig, n] {
      MutexLock lock(rig.gate.mu);
      return rig.gate.started >= n;
    };
  };
  REQUIRE(rig.stepUntil(loop, slowStarted(1)));
  const size_t quick_before = rig.recorded("quick");

  loop.replaceRuntime(rig.runtime({"quick", "slow", "added"}), 4);
  old_rt.reset();  // the loop keeps it alive while its run is in flight
  // Probing goes on while slow's old run is still going; slow does not start twice.
  REQUIRE(rig.stepUntil(loop, [&] {
    return rig.recorded("added") >= 2 && rig.recorded("quick") >= quick_before + 2;
  }));
  {
    MutexLock lock(rig.gate.mu);
    CHECK(rig.gate.started == 1);
    rig.gate.open = true;
    rig.gate.cv.notifyAll();
  }
  // The old run is recorded normally, then slow runs again on the new runtime.
  REQUIRE(rig.stepUntil(loop, slowStarted(2)));
  REQUIRE(rig.stepUntil(loop, [&] { return rig.recorded("slow") >= 2; }));
  CHECK(loop.stop(0s));
  {
    MutexLock lock(seen_mu);
    CHECK(std::count(seen_old.begin(), seen_old.end(), "slow") == 1);
  }
  MutexLock lock(rig.gate.mu);
  CHECK(rig.gate.most_at_once == 1);
}

TEST_CASE("runs queued behind a run that blocks are handed to other workers",
          "[scheduler][probe_loop][threads]") {
  // The dispatcher wakes one worker per batch; others join when runs wait in
  // the queue (kSlowQueue, kHandOff). Three runs that block and one that does
  // not, all due at the same tick: whatever their order in the queue, all three
  // blocked runs must be going at once and the quick one must be recorded, with
  // the simulated clock standing still (no later tick wakes another worker).
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  auto rt = rig.runtime({"slow1", "slow2", "slow3", "quick"});
  ProbeLoop loop(rt, rig.clock, 4, nullptr);
  loop.start();
  // First runs fall in [0, 1s) on a 10 ms grid: all due, none due a second time.
  rig.clock.advance(990ms);
  loop.wake();
  CHECK(datawatch::testing::eventually(
      [&] {
        MutexLock lock(rig.gate.mu);
        return rig.gate.running == 3;
      },
      5s));
  CHECK(datawatch::testing::eventually([&] { return rig.recorded("quick") == 1; }, 5s));
  {
    MutexLock lock(rig.gate.mu);
    CHECK(rig.gate.started == 3);
    rig.gate.open = true;
    rig.gate.cv.notifyAll();
  }
  CHECK(loop.stop(2s));
  for (const char* name : {"slow1", "slow2", "slow3"}) CHECK(rig.recorded(name) == 1);
}

TEST_CASE("a batch of runs that wait longer than kSlowQueue spreads over idle workers",
          "[scheduler][probe_loop][threads]") {
  // Three 40 ms runs due together with three workers: one worker taking them
  // one after another would start the last 80 ms late, before the dispatcher's
  // kHandOff check. The second run has waited 40 ms when it is taken, so
  // another worker joins for the third.
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  auto rt = rig.runtime({"nap1", "nap2", "nap3"});
  ProbeLoop loop(rt, rig.clock, 3, nullptr);
  loop.start();
  rig.clock.advance(990ms);  // every first run due, none twice
  loop.wake();
  REQUIRE(datawatch::testing::eventually(
      [&] {
        for (const char* n : {"nap1", "nap2", "nap3"})
          if (rig.recorded(n) != 1) return false;
        return true;
      },
      5s));
  CHECK(loop.stop(2s));
  MutexLock lock(rig.gate.mu);
  CHECK(rig.gate.most_at_once >= 2);
}

TEST_CASE("a probe failing with the same error logs one warning, not one per run",
          "[runtime][logging]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  auto log = std::make_shared<spdlog::logger>("t", sink);
  log->set_level(spdlog::level::warn);
  auto rt = rig.runtime({"broken"}, log);
  auto warnings = [&] {
    const std::string text = out.str();
    size_t n = 0;
    for (size_t at = 0; (at = text.find("probe broken error: ", at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  for (int i = 0; i < 3; ++i) REQUIRE(rt->run(0, nullptr)->status == ProbeStatus::Error);
  CHECK(warnings() == 1);  // the same error three times
  rig.gate.error_message = "connection refused";
  for (int i = 0; i < 2; ++i) (void)rt->run(0, nullptr);
  CHECK(warnings() == 2);  // a new error is news
  CHECK(out.str().find("probe broken error: connection refused") != std::string::npos);
}

namespace {
// The names of this process's threads (/proc/self/task/*/comm).
std::multiset<std::string> threadNames() {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    if (std::getline(in, name)) names.insert(name);
  }
  return names;
}
}  // namespace

TEST_CASE("the probe loop's threads carry names that top -H and perf show",
          "[probe_loop][threads]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  LoopRig rig(store.get());
  ProbeLoop loop(rig.runtime({"quick"}), rig.clock, 3, nullptr);
  loop.start();
  // Named when start() returns (the creator names them: see thread_name.hpp),
  // not once each thread has been scheduled.
  const auto names = threadNames();
  CHECK(names.count("dw-probe") == 3);
  CHECK(names.count("dw-dispatch") == 1);
  REQUIRE(rig.stepUntil(loop, [&] { return rig.recorded("quick") >= 1; }));
  CHECK(loop.stop(2s));
}
