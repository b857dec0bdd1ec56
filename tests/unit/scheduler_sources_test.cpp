// Scheduler: per-source limits (max_connections). A run that ends frees one
// slot of its source, which goes to the earliest run waiting for it. Runs in
// one batch share one run's slots (ride), and probes whose source batches
// share fewer, fuller phases.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "agent/scheduler.hpp"
#include "core/time_format.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = *parseTimestamp("2026-11-26T00:00:00Z");

std::vector<ScheduledProbe> onSource(const std::string& source, const std::string& prefix, int n,
                                     Duration every = 1min) {
  std::vector<ScheduledProbe> out;
  for (int i = 0; i < n; ++i) out.push_back({prefix + std::to_string(i), source, every});
  return out;
}

std::vector<size_t> indices(const std::vector<Dispatch>& ds) {
  std::vector<size_t> out;
  for (const auto& d : ds) out.push_back(d.index);
  return out;
}

}  // namespace

TEST_CASE("a slot freed on a full source goes to the earliest run waiting for it", "[scheduler]") {
  // Jittered first runs: the eight probes are due at different times (some
  // share one), all within the first minute.
  const auto probes = onSource("s", "p", 8);
  Scheduler s({16, {{"s", 2}}, 1min}, probes, kStart);
  std::vector<size_t> expected(probes.size());
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = i;
  std::sort(expected.begin(), expected.end(), [&](size_t a, size_t b) {
    return std::pair(s.nextDue(a), a) < std::pair(s.nextDue(b), b);
  });
  REQUIRE(s.nextDue(expected.front()) < s.nextDue(expected.back()));

  const TimePoint now = kStart + 59s;  // every first run is due (jitter < 1 min), none missed
  std::vector<size_t> order = indices(s.takeDue(now));
  REQUIRE(order.size() == 2);
  CHECK_FALSE(s.nextWakeup());  // the others wait for a slot, not for time
  // Each run that ends lets exactly one more start: the earliest due waiting.
  for (size_t k = 0; k + 2 < probes.size(); ++k) {
    s.finished(order[k], now);
    auto next = s.takeDue(now);
    REQUIRE(next.size() == 1);
    CHECK(next[0].missed == 0);
    order.push_back(next[0].index);
  }
  CHECK(order == expected);
}

TEST_CASE("slots freed before the scheduler is asked again each start one waiting run",
          "[scheduler]") {
  // s0..s2 on a source of one connection, o0 and o1 on another; two workers.
  auto probes = onSource("s", "s", 3);
  for (auto& p : onSource("o", "o", 2)) probes.push_back(p);
  Scheduler s({2, {{"s", 1}}, 0s}, probes, kStart);                // all due at kStart
  CHECK(indices(s.takeDue(kStart)) == std::vector<size_t>{0, 3});  // s0, o0: workers full
  CHECK(s.running() == 2);
  // Both end before the next takeDue: s1 (the first waiting for "s") and o1
  // start; s2 still waits for s1's slot.
  s.finished(0, kStart + 1s);
  s.finished(3, kStart + 1s);
  CHECK(indices(s.takeDue(kStart + 1s)) == std::vector<size_t>{1, 4});
  CHECK(s.takeDue(kStart + 2s).empty());
  s.finished(4, kStart + 2s);  // a worker frees, but "s" is still full
  CHECK(s.takeDue(kStart + 2s).empty());
  s.finished(1, kStart + 3s);
  CHECK(indices(s.takeDue(kStart + 3s)) == std::vector<size_t>{2});
}

TEST_CASE("a reload that lowers a source's limit starts nothing there until runs end below it",
          "[scheduler][reload]") {
  const auto probes = onSource("s", "p", 5);
  Scheduler before({8, {{"s", 3}}, 0s}, probes, kStart);
  const auto started = indices(before.takeDue(kStart));  // p0, p1, p2
  REQUIRE(started.size() == 3);
  std::set<std::string> in_flight;
  for (size_t i : started) in_flight.insert(before.probe(i).name);
  Scheduler after({8, {{"s", 1}}, 0s}, probes, kStart + 1s, before, in_flight);
  CHECK(after.takeDue(kStart + 1s).empty());  // 3 in flight, limit 1
  after.finished(started[0], kStart + 2s);
  CHECK(after.takeDue(kStart + 2s).empty());  // 2 in flight
  after.finished(started[1], kStart + 3s);
  CHECK(after.takeDue(kStart + 3s).empty());  // 1 in flight
  after.finished(started[2], kStart + 4s);
  const auto next = after.takeDue(kStart + 4s);
  REQUIRE(next.size() == 1);
  CHECK(next[0].index == 3);  // the earliest waiting (due at kStart, first by index)
  CHECK(after.takeDue(kStart + 5s).empty());
}

TEST_CASE("a source limit below 1 starts nothing on that source, as the fleet's zero slots",
          "[scheduler]") {
  // Not reachable from a config file (max_connections is 1 to 1024).
  auto probes = onSource("none", "n", 1);
  for (auto& p : onSource("negative", "m", 1)) probes.push_back(p);
  for (auto& p : onSource("other", "o", 1)) probes.push_back(p);
  Scheduler s({8, {{"none", 0}, {"negative", -3}}, 0s}, probes, kStart);
  CHECK(indices(s.takeDue(kStart)) == std::vector<size_t>{2});
  s.finished(2, kStart + 1s);
  CHECK(indices(s.takeDue(kStart + 2min)) == std::vector<size_t>{2});  // o0; n0, n1 never
}

TEST_CASE("two slots of one source freed before the next takeDue start two waiting runs",
          "[scheduler]") {
  Scheduler s({8, {{"s", 2}}, 0s}, onSource("s", "p", 5), kStart);
  CHECK(indices(s.takeDue(kStart)) == std::vector<size_t>{0, 1});
  s.finished(0, kStart + 1s);
  s.finished(1, kStart + 1s);
  CHECK(indices(s.takeDue(kStart + 1s)) == std::vector<size_t>{2, 3});
  CHECK(s.takeDue(kStart + 1s).empty());  // p4 waits for one of them
}

TEST_CASE("a run riding on another's slots frees its own at once and none when it ends",
          "[scheduler][batch]") {
  // One source with 2 slots, 3 workers, 6 probes due together (max_jitter 0).
  Scheduler s({3, {{"s", 2}}, 0s}, onSource("s", "p", 6), kStart);
  auto first = indices(s.takeDue(kStart));
  REQUIRE(first.size() == 2);  // the source's limit
  CHECK_FALSE(s.ride(5));      // not running: nothing to ride on
  // first[1] goes along with first[0] (one batch, one connection): its
  // source slot is free, so one more run starts.
  CHECK(s.ride(first[1]));
  CHECK_FALSE(s.ride(first[1]));  // once
  CHECK(s.running() == 1);
  auto second = indices(s.takeDue(kStart));
  REQUIRE(second.size() == 1);
  // Three riders: the worker limit (3) no longer counts them either.
  CHECK(s.ride(second[0]));
  auto third = indices(s.takeDue(kStart));
  REQUIRE(third.size() == 1);
  CHECK(s.ride(third[0]));
  CHECK(indices(s.takeDue(kStart)).size() == 1);  // a fifth starts, on a slot; the sixth waits
  // A rider that ends frees nothing: nothing more starts.
  s.finished(first[1], kStart + 10ms);
  CHECK(s.takeDue(kStart + 10ms).empty());
  CHECK_FALSE(s.isRunning(first[1]));
  // Its next run is one interval on, as any run's.
  CHECK(s.nextDue(first[1]) == kStart + 1min);
  // The holder ends: its slot goes to the earliest waiting run.
  s.finished(first[0], kStart + 20ms);
  CHECK(indices(s.takeDue(kStart + 20ms)).size() == 1);
}

TEST_CASE("runs that would join a batch come along on its first run's slots, waiting ones first",
          "[scheduler][batch]") {
  // Source s has one slot; t another source. All due at once (max_jitter 0).
  auto probes = onSource("s", "p", 6);
  for (auto& p : onSource("t", "q", 2)) probes.push_back(p);
  Scheduler s({2, {{"s", 1}}, 0s}, probes, kStart);
  auto first = s.takeDue(kStart);
  REQUIRE(first.size() == 2);  // one of s, one of t: the workers' limit
  const size_t holder = probes[first[0].index].source == "s" ? first[0].index : first[1].index;
  // Every other probe of s but p5 would join; t's never come along.
  auto joins = [&](size_t i) { return probes[i].name != "p5"; };
  auto riders = s.takeRiders(holder, kStart, 2, joins);
  CHECK(riders.size() == 2);  // `max` bounds them
  for (const auto& d : s.takeRiders(holder, kStart, 64, joins)) riders.push_back(d);
  std::set<std::string> names;
  for (const auto& d : riders) {
    names.insert(probes[d.index].name);
    CHECK(d.missed == 0);
    CHECK(s.isRunning(d.index));
  }
  std::set<std::string> expected{"p0", "p1", "p2", "p3", "p4"};
  expected.erase(probes[holder].name);
  CHECK(names == expected);
  CHECK(s.running() == 2);                                 // riders take no worker
  CHECK(s.takeRiders(holder, kStart, 64, joins).empty());  // and come once
  // A rider that ends frees nothing; the holder frees s's one slot, for p5
  // (were the riders holding slots of s, it could not start).
  s.finished(riders[0].index, kStart + 1ms);
  CHECK(s.takeDue(kStart + 1ms).empty());
  s.finished(holder, kStart + 2ms);
  auto next = s.takeDue(kStart + 2ms);
  REQUIRE(next.size() == 1);
  CHECK(probes[next[0].index].name == "p5");
  // A schedule that does not share slots (RunSchedule's default) gives none.
  struct NoSharing : RunSchedule {
    std::vector<Dispatch> takeDue(TimePoint) override { return {}; }
    void finished(size_t, TimePoint) override {}
    std::optional<TimePoint> nextWakeup() const override { return std::nullopt; }
    const ScheduledProbe& probe(size_t) const override { return p; }
    std::optional<size_t> find(const std::string&) const override { return std::nullopt; }
    ScheduledProbe p;
  } none;
  CHECK_FALSE(none.ride(0));
  CHECK(none.takeRiders(0, kStart, 64, joins).empty());
}

TEST_CASE("a reload counts each run still riding as holding slots until it ends",
          "[scheduler][batch]") {
  const auto probes = onSource("s", "p", 6);
  Scheduler old({8, {{"s", 2}}, 0s}, probes, kStart);
  auto taken = indices(old.takeDue(kStart));
  REQUIRE(taken.size() == 2);
  // A batch: taken[0] holds the slots, the others ride (as ProbeLoop takes them).
  for (size_t k = 1; k < 4; ++k) {
    REQUIRE(old.ride(taken[k]));
    auto more = indices(old.takeDue(kStart));
    REQUIRE(more.size() == 1);
    taken.push_back(more[0]);
  }
  std::set<std::string> in_flight;
  for (size_t i : taken) in_flight.insert(probes[i].name);
  REQUIRE(in_flight.size() == 5);
  // The new schedule does not know who rode: each run in flight holds a slot,
  // so the source (limit 2) starts nothing until all but one have ended.
  Scheduler next({8, {{"s", 2}}, 0s}, probes, kStart, old, in_flight);
  CHECK(next.takeDue(kStart).empty());
  for (size_t k = 0; k < 3; ++k) {
    next.finished(*next.find(probes[taken[k]].name), kStart + 5ms);
    CHECK(next.takeDue(kStart + 5ms).empty());
  }
  next.finished(*next.find(probes[taken[3]].name), kStart + 5ms);
  CHECK(indices(next.takeDue(kStart + 5ms)).size() == 1);  // the sixth probe, at last
}

TEST_CASE("an interval shared by many probes gets one phase per kBatch of them", "[scheduler]") {
  std::vector<ScheduledProbe> probes;
  for (int i = 0; i < 1000; ++i) probes.push_back({"fast_" + std::to_string(i), "db", 1s});
  for (int i = 0; i < 100; ++i) probes.push_back({"slow_" + std::to_string(i), "db", 1min});
  // Probes sent together in one round trip (their source batches): 50 a phase.
  for (int i = 0; i < 1000; ++i) probes.push_back({"pg_" + std::to_string(i), "pg", 1s, 30s, true});
  const auto phases = Scheduler::phasesByInterval(probes);
  CHECK(phases.at({1s, false}) == 100);   // 1000 / kBatch
  CHECK(phases.at({1min, false}) == 20);  // kMinPhases
  CHECK(phases.at({1s, true}) == 20);     // 1000 / kSharedBatch
  CHECK(phases.size() == 3);
  CHECK(Scheduler::phasesOf(phases, probes.back()) == 20);
  std::set<int64_t> fast;
  for (int i = 0; i < 1000; ++i)
    fast.insert(
        Scheduler::jitterFor("fast_" + std::to_string(i), 1s, 30s, phases.at({1s, false})).count());
  CHECK(fast.size() == 100);  // every 10 ms slot: batches of about 10
  // More phases than 10 ms slots: the grid holds (5000 probes at 1 s: 100 slots).
  CHECK(Scheduler::jitterFor("fast_7", 1s, 30s, 500).count() % 10 == 0);
  // The scheduler places them so: first runs of the 1 s probes on 10 ms slots.
  Scheduler s({8, {}, 30s}, probes, kStart);
  std::set<int64_t> due, pg_due;
  for (size_t i = 0; i < 1000; ++i) due.insert((s.nextDue(i) - kStart).count());
  for (size_t i = 1100; i < 2100; ++i) pg_due.insert((s.nextDue(i) - kStart).count());
  CHECK(due.size() == 100);
  CHECK(pg_due.size() == 20);  // every 50 ms: batches of about 50
  for (auto d : pg_due) CHECK(d % 50 == 0);
}
