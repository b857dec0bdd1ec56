#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "slo/burn_rate.hpp"
#include "slo/event_window.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {
const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");
}

TEST_CASE("default burn-rate rows follow the budget shares and the SLO window", "[slo]") {
  auto at30 = defaultBurnRows(30 * 24h);
  REQUIRE(at30.size() == 4);
  CHECK(at30[0].severity == "page");
  CHECK(at30[0].long_window == 1h);
  CHECK(at30[0].short_window == 5min);
  CHECK(at30[0].burn_rate == Approx(14.4));
  CHECK(at30[1].burn_rate == Approx(6));
  CHECK(at30[2].burn_rate == Approx(3));
  CHECK(at30[3].burn_rate == Approx(1));
  auto at28 = defaultBurnRows(28 * 24h);
  CHECK(at28[0].burn_rate == Approx(13.44));
  CHECK(at28[1].burn_rate == Approx(5.6));
  CHECK(at28[2].burn_rate == Approx(2.8));
  CHECK(at28[3].burn_rate == 1.0);  // 10% over 3d of 28d is 0.93: never below 1
  auto at7 = defaultBurnRows(7 * 24h);
  REQUIRE(at7.size() == 4);
  CHECK(at7[0].burn_rate == Approx(3.36));
  auto at2 = defaultBurnRows(48h);  // the 3d row is longer than the SLO window: dropped
  REQUIRE(at2.size() == 3);
  CHECK(at2[2].burn_rate == 1.0);  // 10% over 1d of 2d is 0.2: never below 1
  CHECK(burnRate(0.01, 0.995) == Approx(2.0));
}

TEST_CASE("a sliding counter is exact to its bucket resolution", "[slo][window]") {
  SlidingCounter c(1h, 60);
  CHECK(c.resolution() == 1min);
  // One event a minute for two hours; minutes 100-109 bad.
  for (int i = 0; i < 120; ++i) c.add(kT0 + i * 1min, i >= 100 && i < 110);
  auto s = c.sums(kT0 + 120min);  // covers minutes 61..120
  CHECK(s.total == 59);
  CHECK(s.bad == 10);
  CHECK(s.errorRatio() == Approx(10.0 / 59));
  CHECK(c.sums(kT0 + 120min + 30s).total == 59);  // same bucket
  auto mid = c.sums(kT0 + 150min);  // minutes 91..150: events 91..119, the bad 100..109 inside
  CHECK(mid.total == 29);
  CHECK(mid.bad == 10);
  auto after = c.sums(kT0 + 170min);  // minutes 111..170: the bad ones have left
  CHECK(after.total == 9);
  CHECK(after.bad == 0);
  c.add(kT0 + 30min, true);  // older than the window: dropped
  CHECK(c.dropped() == 1);
  auto later = c.sums(kT0 + 10h);
  CHECK(later.total == 0);
  CHECK(later.bad == 0);
}

TEST_CASE("late events inside the window are counted in their own bucket", "[slo][window]") {
  SlidingCounter c(10min, 10);
  c.add(kT0 + 9min, false);
  c.add(kT0 + 2min, true);  // late, but within the window
  auto s = c.sums(kT0 + 9min);
  CHECK(s.total == 2);
  CHECK(s.bad == 1);
  auto s2 = c.sums(kT0 + 12min);  // covers minutes 3..12: the late bad one expired
  CHECK(s2.total == 1);
  CHECK(s2.bad == 0);
}

#include <algorithm>
#include <random>

TEST_CASE("a window ring keeps every window's sum equal to a brute-force count", "[slo][window]") {
  // Windows of 5, 30 and 60 one-minute buckets over one ring; random events, some
  // late, some older than the ring; checked against counting the kept events in
  // (now - W, now]. The trailing bucket's events are taken as evenly spaced: exact
  // when it holds at most one event, else off by less than its events.
  WindowRing ring(1min, {5min, 30min, 1h});
  CHECK(ring.buckets() == 63);  // 60 + the trailing bucket + 2 spare
  const auto minute = [](TimePoint t) -> TimePoint {
    return std::chrono::floor<std::chrono::minutes>(t);
  };
  std::mt19937 rng(7);
  std::vector<std::pair<TimePoint, bool>> kept;  // events the ring accepted
  TimePoint head = minute(kT0);                  // the newest minute the ring has seen
  TimePoint now = kT0;
  uint64_t dropped = 0;
  int exact = 0;
  for (int step = 0; step < 3000; ++step) {
    now += std::chrono::seconds(std::uniform_int_distribution<int>(0, 150)(rng));
    const TimePoint at =
        now - std::chrono::seconds(std::uniform_int_distribution<int>(0, 4000)(rng));
    const bool bad = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
    ring.add(at, bad);  // up to 67 minutes late
    head = std::max(head, minute(at));
    if (minute(at) <= head - 63min) {
      ++dropped;  // older than the ring when it arrived
    } else {
      kept.emplace_back(at, bad);
    }
    if (step % 7 != 0) continue;
    head = std::max(head, minute(now));
    const std::vector<Duration> windows{5min, 30min, 1h};
    for (size_t i = 0; i < windows.size(); ++i) {
      const TimePoint cutoff = now - windows[i];
      uint64_t total = 0, bad_n = 0, trailing = 0;
      for (const auto& [t, b] : kept) {
        trailing += minute(t) == minute(cutoff);
        if (t <= cutoff || t > now) continue;
        ++total;
        bad_n += b;
      }
      const auto sums = ring.sums(now, i);
      INFO("step " << step << " window " << i << " trailing bucket events " << trailing);
      if (trailing <= 1) {
        REQUIRE(sums.total == total);
        REQUIRE(sums.bad == bad_n);
        ++exact;
      } else {
        REQUIRE(sums.total + trailing > total);
        REQUIRE(sums.total < total + trailing);
        REQUIRE(sums.bad <= sums.total);
      }
    }
  }
  CHECK(ring.dropped() == dropped);
  CHECK(dropped > 0);
  CHECK(exact > 500);
}

TEST_CASE("a window counts exactly the last W at any phase of its buckets", "[slo][window]") {
  // A probe every 5 s, every 5 min and every 7 min 13 s (not a divisor of anything);
  // windows of 1m, 5m, 1d (30-minute buckets) and 28d (4-hour buckets) read at
  // every second of a few minutes and at random instants.
  for (Duration every : {Duration{5s}, Duration{5min}, Duration{7min + 13s}}) {
    RingSet set({{1min, {1min, 5min}}, {30min, {24h}}, {4h, {28 * 24h}}});
    std::vector<TimePoint> events;
    for (TimePoint t = kT0 - 30 * 24h + 7s; t <= kT0 + 10min; t += every) events.push_back(t);
    size_t next = 0;
    for (TimePoint now = kT0; now <= kT0 + 10min; now += 1s) {
      for (; next < events.size() && events[next] <= now; ++next) set.add(events[next], false);
      set.advanceTo(now);
      for (size_t w = 0; w < set.windowCount(); ++w) {
        const TimePoint cutoff = now - set.window(w);
        const auto end = events.begin() + static_cast<std::ptrdiff_t>(next);
        const auto expect =
            static_cast<uint64_t>(end - std::upper_bound(events.begin(), end, cutoff));
        INFO(formatRfc3339(now) << " window " << w);
        REQUIRE(set.sum(w).total == expect);
      }
    }
  }
}

#include "slo/slo_engine.hpp"

TEST_CASE("a burst of failures pages from the minute both windows burn, until the short one clears",
          "[slo][engine]") {
  config::SloConfig cfg;
  cfg.name = "orders-fresh";
  cfg.objective = 99.5;  // budget 0.005
  cfg.window = 28 * 24h;
  SloState slo(cfg, {});
  REQUIRE(slo.rows().size() == 4);
  // One good event a minute for three days, then minutes 50-59 of the next hour bad.
  const TimePoint start = kT0 - 72h;
  std::map<int, std::set<std::string>> breaching;  // minute after kT0 -> severities
  for (TimePoint t = start; t <= kT0 + 90min; t += 1min) {
    const int minute = static_cast<int>((t - kT0) / 1min);
    slo.recordEvent(t, minute >= 50 && minute < 60);
    if (t >= kT0) breaching[minute] = slo.evaluate(t).breaching;
  }
  // Page needs the 1h burn > 13.44, i.e. more than 6.72% of 60 events: 5 bad (at 54),
  // with the 5-minute window burning too and at least 2 bad events.
  CHECK(breaching[53].empty());
  CHECK(breaching[54] == std::set<std::string>{"page"});
  CHECK(breaching[59] == std::set<std::string>{"page"});
  // The 5-minute window still holds minute 59 at 63:00 (burn 40), not at 64:00.
  CHECK(breaching[63] == std::set<std::string>{"page"});
  CHECK(breaching[64].empty());
  // Ten bad events never reach the ticket rows: 1d burn 10/1440/0.005 = 1.39 < 2.8,
  // 3d burn 10/4320/0.005 = 0.46 < 0.93.
  for (const auto& [m, sev] : breaching) CHECK(sev.count("ticket") == 0);
  auto st = slo.evaluate(kT0 + 90min);
  // The 28d window holds every event since `start`: 4411, of them 10 bad.
  CHECK(st.windows.back().window == 28 * 24h);
  CHECK(st.windows.back().counts.total == 72 * 60 + 91);
  CHECK(st.windows.back().counts.bad == 10);
  CHECK(st.error_budget_remaining == Approx(1 - (10.0 / 4411) / 0.005));
}

TEST_CASE("min_bad_events keeps a single bad run from paging, errors can be ignored",
          "[slo][engine]") {
  config::SloConfig cfg;
  cfg.objective = 99.5;
  cfg.window = 28 * 24h;
  cfg.alerting.min_bad_events = 2;
  SloState slo(cfg, {});
  // A probe every 5 minutes: 12 events an hour; one bad run is 1/12 = 8.3% > 6.72%.
  for (TimePoint t = kT0 - 1h; t < kT0; t += 5min) slo.recordEvent(t, false);
  slo.recordEvent(kT0, true);
  CHECK(slo.evaluate(kT0).breaching.empty());  // one bad event: not enough
  slo.recordEvent(kT0 + 5min, true);
  // Two bad of 13 (with only an hour of history every row burns, tickets too).
  CHECK(slo.evaluate(kT0 + 5min).breaching == std::set<std::string>{"page", "ticket"});

  cfg.errors = config::ErrorPolicy::Ignore;
  SloState ignoring(cfg, {{"p", 5min}});
  ProbeResult err = ProbeResult::error("connection refused");
  err.probe = "p";
  err.observed_at = kT0;
  ignoring.record(err);
  CHECK(ignoring.evaluate(kT0).windows.back().counts.total == 0);
  cfg.errors = config::ErrorPolicy::Bad;
  SloState counting(cfg, {{"p", 5min}});
  counting.record(err);
  CHECK(counting.evaluate(kT0).windows.back().counts.bad == 1);
}

// ---------------------------------------------------------------- through probe runs

#include "store/state_store.hpp"
#include "tests/support/test_support.hpp"

namespace {

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus status) {
  ProbeResult r;
  r.probe = probe;
  r.status = status;
  r.observed_at = at;
  r.message = "test";
  return r;
}

config::SloConfig sloConfig(double objective, Duration window, config::Budgeting b,
                            std::vector<std::string> probes = {"p"}) {
  config::SloConfig cfg;
  cfg.name = "s";
  cfg.objective = objective;
  cfg.window = window;
  cfg.budgeting = b;
  cfg.probes = std::move(probes);
  return cfg;
}

// Feeds a probe that runs every minute at second `offset` from minute `from` to
// `to` (exclusive; minutes relative to kT0), failing where `bad(minute)`, and
// evaluates at every whole minute from kT0 on (after that minute's run when
// offset is 0, before it otherwise).
std::map<int, SloStatus> simulate(SloState& slo, int from, int to,
                                  const std::function<bool(int)>& bad,
                                  Duration offset = Duration{0}) {
  std::map<int, SloStatus> out;
  for (int m = from; m < to; ++m) {
    const TimePoint t = kT0 + m * 1min;
    if (m >= 0 && offset > Duration{0}) out[m] = slo.evaluate(t);
    slo.record(run("p", t + offset, bad(m) ? ProbeStatus::Fail : ProbeStatus::Pass));
    if (m >= 0 && offset == Duration{0}) out[m] = slo.evaluate(t);
  }
  return out;
}

// The minutes at which `severity` starts and stops breaching.
// The minutes at which `severity` starts and stops breaching: "34 on, 74 off".
std::string transitions(const std::map<int, SloStatus>& b, const std::string& severity) {
  std::string out;
  bool on = false;
  for (const auto& [m, s] : b) {
    const bool now = s.breaching.count(severity) > 0;
    if (now != on) out += (out.empty() ? "" : ", ") + std::to_string(m) + (now ? " on" : " off");
    on = now;
  }
  return out;
}

}  // namespace

TEST_CASE("occurrences, flapping: page from the 5th bad run in the hour until the 5m window clears",
          "[slo][engine]") {
  SloState slo(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences), {{"p", 1min}});
  // Three good days, then minutes 0-9 alternate (odd minutes fail), then good.
  auto b = simulate(slo, -72 * 60, 120, [](int m) { return m >= 0 && m < 10 && m % 2 == 1; });
  // 1h window at minute k holds runs in (k-60, k]: k-59..k (60); page needs > 6.72%:
  // 5 bad (at minute 9; 4/60 = 6.67% at minute 7 is not enough). The 5m window holds
  // runs k-4..k: it still holds minute 9 at 13, not at 14. No 6h row: 5/360 = 1.4% < 2.8%.
  CHECK(transitions(b, "page") == "9 on, 14 off");
  CHECK(transitions(b, "ticket") == "");
  const auto& st = b.at(10);
  const auto* h1 = st.find(1h);
  REQUIRE(h1);
  CHECK(h1->counts.total == 60);
  CHECK(h1->counts.bad == 5);
  CHECK(h1->error_ratio == Approx(5.0 / 60));
  CHECK(h1->burn_rate == Approx(5.0 / 60 / 0.005));
  CHECK(st.no_data_since == std::nullopt);
  CHECK(st.recent_gaps.empty());
}

TEST_CASE("occurrences, slow leak: tickets, never a page", "[slo][engine]") {
  SloState slo(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences), {{"p", 1min}});
  // One bad run every 50 minutes from minute 0 (burn 4 in every window).
  auto b = simulate(slo, -72 * 60, 1100, [](int m) { return m >= 0 && m % 50 == 0; });
  CHECK(transitions(b, "page") == "");  // 1h: at most 2/60 (burn 6.7 < 13.44); 6h: burn ~4 < 5.6
  // The 1d window holds exactly the runs k-1439..k: 1440. The 1d/2h row needs more
  // than 2.8 × 0.5% = 1.4%, i.e. 21 bad runs: the 21st is at minute 1000 (0, 50, ...).
  // The 2h window holds 2 or 3 of them (1.7% or more) from then on. The 3d/6h row
  // (threshold 1: > 0.5% of 4320 runs, 22 bad) stays under.
  CHECK(transitions(b, "ticket") == "1000 on");
  const auto& st = b.at(1000);
  const auto* d1 = st.find(24h);
  REQUIRE(d1);
  CHECK(d1->counts.total == 1440);
  CHECK(d1->counts.bad == 21);
  REQUIRE(st.rows.size() == 4);
  CHECK(st.rows[2].breaching);  // 21/1440 = 1.46% > 2.8 × 0.5% = 1.4%
  CHECK(st.rows[2].long_burn_rate == Approx(21.0 / 1440 / 0.005));
  CHECK_FALSE(st.rows[3].breaching);  // 21/4320 = 0.49% < 0.5%
}

TEST_CASE("timeslices: each minute is one event, judged by the latest result at its end",
          "[slo][engine]") {
  SloState slo(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 1min}});
  // Runs at second 10 of each minute; those of minutes 30-44 fail.
  auto b = simulate(
      slo, -72 * 60, 120, [](int m) { return m >= 30 && m < 45; }, 10s);
  // Evaluated at minute k, the closed minutes are ..k-1: the 1h window holds minutes
  // k-59..k-1 (59 events), the 5m window k-4..k-1. The 1h/5m row needs > 6.72%: 4 bad of
  // 59 (6.78%) at minute 34. The 6h/30m row (> 2.8%) holds on: 15 bad of 359 is 4.2%,
  // until the 30m window (minutes k-29..k-1) has no bad minute left: k - 29 >= 45, at 74.
  CHECK(transitions(b, "page") == "34 on, 74 off");
  CHECK(transitions(b, "ticket") == "");
  const auto& st = b.at(40);
  const auto* h1 = st.find(1h);
  CHECK(h1->counts.total == 59);
  CHECK(h1->counts.bad == 10);
  CHECK(st.events_total == 72 * 60 + 40);  // one per closed minute, none for the open one
}

TEST_CASE("timeslices with two probes: a minute is good only when both latest results pass",
          "[slo][engine]") {
  SloState slo(sloConfig(99, 7 * 24h, config::Budgeting::Timeslices, {"a", "b"}),
               {{"a", 1min}, {"b", 5min}});
  for (int m = 0; m < 20; ++m) {
    slo.record(run("a", kT0 + m * 1min, ProbeStatus::Pass));
    // b runs every 5 minutes and fails at minute 5: minutes 5-9 are bad.
    if (m % 5 == 0)
      slo.record(run("b", kT0 + m * 1min, m == 5 ? ProbeStatus::Fail : ProbeStatus::Pass));
  }
  auto st = slo.evaluate(kT0 + 20min);  // minutes 0..19 closed
  CHECK(st.sloWindow().counts.total == 20);
  CHECK(st.sloWindow().counts.bad == 5);
  CHECK(st.sloWindow().counts.no_data == 0);
}

TEST_CASE("a gap is no data, not good events, and is reported", "[slo][engine]") {
  for (auto budgeting : {config::Budgeting::Occurrences, config::Budgeting::Timeslices}) {
    SloState slo(sloConfig(99.5, 28 * 24h, budgeting), {{"p", 1min}});
    // Runs each minute from -120 to -1, nothing from 0 to 29 (agent down), runs again from 30.
    for (int m = -120; m < 0; ++m) slo.record(run("p", kT0 + m * 1min, ProbeStatus::Pass));
    auto during = slo.evaluate(kT0 + 20min);
    // A result is current for 2 minutes: minute 0 (ending at 1) still has the run of -1.
    REQUIRE(during.no_data_since);
    CHECK(*during.no_data_since == kT0 + 1min);
    for (int m = 30; m < 60; ++m) slo.record(run("p", kT0 + m * 1min, ProbeStatus::Pass));
    auto st = slo.evaluate(kT0 + 60min);
    CHECK_FALSE(st.no_data_since);
    REQUIRE(st.recent_gaps.size() == 1);
    CHECK(st.recent_gaps[0].from == kT0 + 1min);
    CHECK(st.recent_gaps[0].to == kT0 + 30min);
    const auto* h1 = st.find(1h);  // minutes 1..60
    CHECK(h1->counts.no_data == 29);
    // Occurrences: runs 30..59; timeslices: closed covered minutes 30..59. Never 60.
    CHECK(h1->counts.total == 30);
    CHECK(h1->counts.bad == 0);
    CHECK(st.data_since == kT0 - 120min);
  }
}

TEST_CASE("errors: ignore leaves no data behind, errors: bad burns", "[slo][engine]") {
  // Three passing runs, then seven errors, one a minute; evaluated after minute 9.
  auto evaluated = [](config::ErrorPolicy errors) {
    auto cfg = sloConfig(99, 7 * 24h, config::Budgeting::Timeslices);
    cfg.errors = errors;
    SloState slo(cfg, {{"p", 1min}});
    for (int m = 0; m < 10; ++m)
      slo.record(run("p", kT0 + m * 1min, m < 3 ? ProbeStatus::Pass : ProbeStatus::Error));
    return slo.evaluate(kT0 + 10min).sloWindow().counts;
  };
  // Ignored: the pass at minute 2 stays current until 4: minutes 0..3 good, 4..9 no data.
  auto ignoring = evaluated(config::ErrorPolicy::Ignore);
  CHECK(ignoring.total == 4);
  CHECK(ignoring.bad == 0);
  CHECK(ignoring.no_data == 6);
  auto bad = evaluated(config::ErrorPolicy::Bad);
  CHECK(bad.total == 10);
  CHECK(bad.bad == 7);
  CHECK(bad.no_data == 0);
}

TEST_CASE("custom alerting windows replace the default table", "[slo][engine]") {
  auto cfg = sloConfig(99, 30 * 24h, config::Budgeting::Occurrences);
  cfg.alerting.windows = {{"page", 2h, 10min, 5.0}};
  cfg.alerting.min_bad_events = 3;
  SloState slo(cfg, {{"p", 1min}});
  REQUIRE(slo.rows().size() == 1);
  CHECK(slo.rows()[0].long_window == 2h);
  // The 2h window at minute k holds runs k-119..k (120). The row needs > 5% (burn 5 at
  // 99%): 6/120 at minute 5 is not more, 7/120 at 6 is. The 10m window (runs k-9..k)
  // holds the last bad run (6) until minute 15.
  auto b = simulate(slo, -180, 60, [](int m) { return m >= 0 && m < 7; });
  CHECK(transitions(b, "page") == "6 on, 16 off");
  CHECK(b.at(6).windows.size() == 3);  // 10m, 2h, 30d
}

TEST_CASE("thresholds follow the SLO window: 7d, 28d, 30d", "[slo][engine]") {
  for (auto [days, page1] : {std::pair{7, 3.36}, {28, 13.44}, {30, 14.4}}) {
    SloState slo(sloConfig(99.9, days * 24h, config::Budgeting::Occurrences), {{"p", 1min}});
    CHECK(slo.rows()[0].burn_rate == Approx(page1));
    CHECK(slo.rows()[1].burn_rate == Approx(page1 * 5 / 12.0));  // 5% over 6h vs 2% over 1h
  }
}

TEST_CASE("after a restart the engine rebuilds its windows from the state store",
          "[slo][engine][store]") {
  datawatch::testing::TempDir dir;
  auto store = openStateStore("sqlite://" + (dir / "state.db").string());
  REQUIRE(store);
  config::Config cfg;
  config::ProbeConfig p;
  p.name = "p";
  p.every = 1min;
  cfg.probes.push_back(p);
  cfg.slos.push_back(sloConfig(99.5, 7 * 24h, config::Budgeting::Occurrences));
  cfg.slos.push_back(sloConfig(99.5, 7 * 24h, config::Budgeting::Timeslices));
  cfg.slos.back().name = "t";

  SloEngine live;
  live.configure(cfg, store->get(), kT0 - 6h);
  // Six hours of runs, the last 20 minutes failing: both SLOs page at the "restart".
  for (int m = -360; m < 0; ++m) {
    auto r = run("p", kT0 + m * 1min + 5s, m >= -20 ? ProbeStatus::Fail : ProbeStatus::Pass);
    REQUIRE((*store)->recordRun(r));
    live.record(r);
  }
  auto before = live.evaluate(kT0);
  REQUIRE(before.size() == 2);
  CHECK(before[0].breaching == std::set<std::string>{"page", "ticket"});

  SloEngine restarted;
  auto stats = restarted.configure(cfg, store->get(), kT0);
  CHECK(stats.slos == 2);
  CHECK(stats.runs == 2 * 360);
  CHECK(stats.errors.empty());
  auto after = restarted.evaluate(kT0);
  REQUIRE(after.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    INFO(after[i].name);
    CHECK(after[i].breaching == before[i].breaching);
    CHECK(after[i].error_budget_remaining == Approx(before[i].error_budget_remaining));
    REQUIRE(after[i].windows.size() == before[i].windows.size());
    for (size_t w = 0; w < after[i].windows.size(); ++w) {
      CHECK(after[i].windows[w].counts.total == before[i].windows[w].counts.total);
      CHECK(after[i].windows[w].counts.bad == before[i].windows[w].counts.bad);
    }
    // Replayed events are not live (the Prometheus counters restart at 0); the one
    // timeslice that ended after the last stored run is.
    CHECK(after[i].events_total == (i == 0 ? 0u : 1u));
  }
  // A reload with the same definitions keeps the state; a changed objective rebuilds.
  auto same = restarted.configure(cfg, store->get(), kT0);
  CHECK(same.kept == 2);
  CHECK(same.runs == 0);
  cfg.slos[0].objective = 99;
  auto changed = restarted.configure(cfg, store->get(), kT0);
  CHECK(changed.kept == 1);
  CHECK(changed.slos == 1);
  // The store going away does not lose the engine: an empty SLO and an error, no crash.
}

TEST_CASE("the error budget is the full window's: a young SLO spends the month's budget",
          "[slo][engine]") {
  // Every 5 minutes over 28 days plans 8064 runs: 40.32 bad runs allowed at 99.5%.
  SloState slo(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences), {{"p", 5min}});
  CHECK(slo.plannedEvents() == Approx(8064));
  for (int i = 0; i < 100; ++i)
    slo.record(run("p", kT0 + i * 5min, i < 10 ? ProbeStatus::Fail : ProbeStatus::Pass));
  auto st = slo.evaluate(kT0 + 500min);
  CHECK(st.error_budget_events == Approx(40.32));
  CHECK(st.error_budget_remaining == Approx(1 - 10 / 40.32));
  // Timeslices plan one event a minute: 40320 minutes, 201.6 bad minutes allowed.
  SloState ts(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 5min}});
  CHECK(ts.plannedEvents() == Approx(40320));
}

#include "slo/slo_advice.hpp"

TEST_CASE("validate warns when one bad event would page, with the numbers and remedies",
          "[slo][advice]") {
  const std::string yaml = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 5m}
  - {name: fast, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 1m}
slos:
  - {name: occ, objective: 99.5, window: 28d, probes: [fresh]}
  - {name: slices-strict, objective: 99.9, window: 30d, probes: [fresh], budgeting: timeslices}
  - {name: slices-ok, objective: 99.5, window: 28d, probes: [fresh], budgeting: timeslices}
  - {name: fast-ok, objective: 99.5, window: 28d, probes: [fast]}
)";
  auto r = config::loadConfigFromString(
      yaml, "slos.yaml", "", [](const std::string&) { return std::optional<std::string>(); });
  REQUIRE(r.ok());
  auto w = sloCadenceWarnings(*r.config);
  REQUIRE(w.size() == 3);
  // A 5-minute probe: the 5m short window is widened to 10m (two intervals).
  CHECK_THAT(w[0].message, Catch::Contains("slo \"occ\": page row 1h/5m: the short window 5m "
                                           "would hold no event at times (its slowest probe "
                                           "runs every 5m), so it is widened to 10m"));
  w.erase(w.begin());
  CHECK(w[0].severity == config::Diagnostic::Severity::Warning);
  CHECK(w[0].loc.line == 8);
  // 12 runs an hour: 1/12 = 8.33%, burn 16.67 > 13.44. Fixes: objective <= 1 - 1/(12 × 13.44)
  // = 99.37%; more than 1/(13.44 × 0.005) = 14.9 runs an hour, i.e. 15: every 4m; timeslices
  // make one bad minute 1/60/0.005 = 3.33.
  CHECK_THAT(w[0].message, Catch::Contains("slo \"occ\"") &&
                               Catch::Contains("run 12 times in 1h") &&
                               Catch::Contains("8.33% over 1h, a burn rate of 16.67 > 13.44") &&
                               Catch::Contains("an objective of 99.37% or lower") &&
                               Catch::Contains("15 runs per 1h: every 4m or faster") &&
                               Catch::Contains("one bad minute is a burn rate of 3.33)"));
  // Timeslices at 99.9% over 30d: 1/60/0.001 = 16.67 > 14.4; objective <= 1 - 1/(60 × 14.4).
  CHECK_THAT(w[1].message, Catch::Contains("slo \"slices-strict\"") &&
                               Catch::Contains("1.67% over 1h, a burn rate of 16.67 > 14.40") &&
                               Catch::Contains("an objective of 99.88% or lower"));
  // Retention shorter than a window: the rebuild after a restart would be partial.
  auto cfg = *r.config;
  cfg.agent.retention = 7 * 24h;
  auto short_retention = sloCadenceWarnings(cfg);
  REQUIRE(short_retention.size() == 3 + 4);
  CHECK_THAT(short_retention[0].message,
             Catch::Contains("agent.retention (7d) is shorter than its window (28d)"));
}

TEST_CASE("timeslices: steady good, flapping and a slow leak", "[slo][engine]") {
  // Runs at second 10 of every minute: minute m's event is the result of the run at
  // m:10, closed once the minute ends. Evaluated at minute k, before its run, the
  // closed minutes are ..k-1.
  SloState steady(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 1min}});
  auto good = simulate(
      steady, -72 * 60, 60, [](int) { return false; }, 10s);
  CHECK(transitions(good, "page") == "");
  CHECK(transitions(good, "ticket") == "");
  CHECK(good.at(59).error_budget_remaining == 1.0);
  CHECK(good.at(59).sloWindow().counts.total == 72 * 60 + 59);

  SloState flapping(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 1min}});
  auto f = simulate(
      flapping, -72 * 60, 60, [](int m) { return m >= 0 && m < 10 && m % 2 == 1; }, 10s);
  // 1h window: minutes k-59..k-1 (59). Page needs > 6.72%: 4 bad (6.78%), the 4th bad
  // minute is 7, closed at k = 8. The 5m window (k-4..k-1) holds minute 9 until 13.
  // 6h/30m: 5 of 359 is 1.4% < 2.8%.
  CHECK(transitions(f, "page") == "8 on, 14 off");
  CHECK(transitions(f, "ticket") == "");

  SloState leak(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 1min}});
  auto l = simulate(
      leak, -72 * 60, 1100, [](int m) { return m >= 0 && m % 50 == 0; }, 10s);
  CHECK(transitions(l, "page") == "");
  // The 1d window at k holds the 1439 minutes k-1439..k-1 that have ended. Above 1.4%
  // takes 21 bad minutes: the 21st (minute 1000) is closed at k = 1001; the 2h window
  // holds 2 or 3 of them from then on. The 3d/6h row (0.5%: 22 of 4319) stays under.
  CHECK(transitions(l, "ticket") == "1001 on");
}

// ------------------------------------------------- issue 15: exact windows, no flapping

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "store/sqlite_state_store.hpp"

namespace {

TimePoint floorMinute(TimePoint t) {
  return std::chrono::floor<std::chrono::minutes>(t);
}

// The runs of an outage scenario, kept to count windows independently.
struct Recorded {
  TimePoint at;
  bool bad;
};

// Events in (now - w, now], counted from the runs themselves.
EventCounts countIn(const std::vector<Recorded>& runs, TimePoint now, Duration w) {
  EventCounts c;
  for (const auto& r : runs) {
    if (r.at <= now - w || r.at > now) continue;
    ++c.total;
    c.bad += r.bad;
  }
  return c;
}

struct OutageCase {
  std::string name;
  config::SloConfig slo;
  Duration every;
};

std::vector<OutageCase> outageCases() {
  std::vector<OutageCase> out;
  for (Duration every : {Duration{5min}, Duration{5s}}) {
    for (auto budgeting : {config::Budgeting::Occurrences, config::Budgeting::Timeslices}) {
      const std::string tag = std::string(every == 5min ? "every 5m" : "every 5s") +
                              (budgeting == config::Budgeting::Timeslices ? ", timeslices" : "");
      // The repro: 90% over 1h, default table (its 1h/5m page row).
      out.push_back({"90% / 1h, default table, " + tag, sloConfig(90, 1h, budgeting), every});
      out.push_back(
          {"99.5% / 28d, default table, " + tag, sloConfig(99.5, 28 * 24h, budgeting), every});
      auto custom = sloConfig(90, 1h, budgeting);
      custom.alerting.windows = {{"page", 5min, 1min, 2.0}};
      custom.alerting.min_bad_events = 1;  // a 5m window holds one run of a 5m probe
      out.push_back({"90% / 1h, {page, 5m, 1m, 2}, " + tag, custom, every});
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a continuous outage never drops the breaching severity, and windows are exact",
          "[slo][engine][flap]") {
  // Half an hour of passing runs, then every run fails for four hours. The probe
  // runs at second 19 of its minute (as in the issue: firing 07:03:19). The engine
  // is evaluated every 10 s and at hh:mm:00, :03 and :59; every window's sums are
  // compared with the runs counted independently over (now - W, now].
  for (const auto& c : outageCases()) {
    INFO(c.name);
    SloState slo(c.slo, {{"p", c.every}});
    SimulatedClock clock(kT0 + 19s);
    const TimePoint outage = kT0 + 30min + 19s, end = outage + 4h;
    std::vector<Recorded> runs;
    TimePoint next_run = clock.now();
    std::set<std::string> seen;  // severities that have breached since the outage began
    int evaluations = 0, counted = 0;
    for (; clock.now() < end; clock.advance(1s)) {
      const TimePoint now = clock.now();
      if (now == next_run) {
        const bool bad = now >= outage;
        slo.record(run("p", now, bad ? ProbeStatus::Fail : ProbeStatus::Pass));
        runs.push_back({now, bad});
        next_run += c.every;
      }
      const auto sec = std::chrono::floor<std::chrono::seconds>(now - floorMinute(now)).count();
      if (sec % 10 != 0 && sec != 3 && sec != 59) continue;
      const SloStatus st = slo.evaluate(now);
      ++evaluations;
      if (now >= outage) {
        for (const auto& s : seen) {
          INFO(formatRfc3339(now) << " " << s);
          REQUIRE(st.breaching.count(s) == 1);  // never drops while the outage lasts
        }
        seen.insert(st.breaching.begin(), st.breaching.end());
      }
      if (c.slo.budgeting != config::Budgeting::Occurrences || (sec != 0 && sec != 3 && sec != 59))
        continue;
      for (const auto& w : st.windows) {
        INFO(formatRfc3339(now) << " window " << formatDuration(w.window));
        const EventCounts expect = countIn(runs, now, w.window);
        REQUIRE(w.counts.total == expect.total);
        REQUIRE(w.counts.bad == expect.bad);
        ++counted;
      }
    }
    CHECK(seen.count("page") == 1);  // the outage pages...
    CHECK(evaluations > 1500);
    if (c.slo.budgeting == config::Budgeting::Occurrences) CHECK(counted > 1000);
    // ...and every row's windows hold events throughout: no widened short window
    // is empty (the rows in force hold at least the latest run).
    const SloStatus last = slo.evaluate(end - 1s);
    for (const auto& r : last.rows) {
      CHECK_FALSE(r.no_data);
      if (c.slo.budgeting == config::Budgeting::Occurrences)
        CHECK(r.row.short_window >= std::min(r.row.long_window, 2 * c.every));
    }
  }
}

TEST_CASE("a window with no events is no data: a breaching row holds until data clears it",
          "[slo][engine][flap]") {
  auto cfg = sloConfig(90, 1h, config::Budgeting::Occurrences);
  cfg.alerting.windows = {{"page", 5min, 1min, 2.0}};
  SloState slo(cfg, {{"p", 5s}});
  for (TimePoint t = kT0; t < kT0 + 10min; t += 5s) slo.record(run("p", t, ProbeStatus::Fail));
  CHECK(slo.evaluate(kT0 + 10min).breaching == std::set<std::string>{"page"});
  // The probe stops reporting: both windows empty out, the row holds its state.
  auto quiet = slo.evaluate(kT0 + 40min);
  CHECK(quiet.find(5min)->counts.total == 0);
  CHECK(quiet.rows[0].no_data);
  CHECK(quiet.breaching == std::set<std::string>{"page"});
  // Passing runs again: evidence, the row clears.
  for (TimePoint t = kT0 + 40min; t < kT0 + 50min; t += 5s)
    slo.record(run("p", t, ProbeStatus::Pass));
  auto cleared = slo.evaluate(kT0 + 50min);
  CHECK_FALSE(cleared.rows[0].no_data);
  CHECK(cleared.breaching.empty());
  // A row that never had data does not breach.
  SloState fresh(cfg, {{"p", 5s}});
  CHECK(fresh.evaluate(kT0).breaching.empty());
}

TEST_CASE("a short window shorter than two probe intervals is widened to hold the latest run",
          "[slo][engine][flap]") {
  // Default table at 28d: page 1h/5m. A 5-minute probe widens 5m to 10m; a 1-minute
  // probe keeps it; timeslices keep it (one event a minute).
  SloState slow(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences), {{"p", 5min}});
  CHECK(slow.rows()[0].short_window == 10min);
  CHECK(slow.rows()[0].configured_short == 5min);
  CHECK(slow.rows()[1].short_window == 30min);  // 6h/30m: long enough
  SloState fast(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences), {{"p", 1min}});
  CHECK(fast.rows()[0].short_window == 5min);
  CHECK(fast.rows()[0].configured_short == Duration{0});
  SloState slices(sloConfig(99.5, 28 * 24h, config::Budgeting::Timeslices), {{"p", 5min}});
  CHECK(slices.rows()[0].short_window == 5min);
  // Custom 5m/1m with timeslices: 1m holds no ended minute, widened to 2m; never
  // beyond the long window (an hourly probe's 5m/1m row becomes 5m/5m).
  auto custom = sloConfig(90, 1h, config::Budgeting::Timeslices);
  custom.alerting.windows = {{"page", 5min, 1min, 2.0}};
  CHECK(SloState(custom, {{"p", 5s}}).rows()[0].short_window == 2min);
  custom.budgeting = config::Budgeting::Occurrences;
  CHECK(SloState(custom, {{"p", 5s}}).rows()[0].short_window == 1min);
  CHECK(SloState(custom, {{"p", 1h}}).rows()[0].short_window == 5min);
  // The status names the configured window.
  auto st = slow.evaluate(kT0);
  CHECK(toJson(st)["rows"][0]["short_window"] == "10m");
  CHECK(toJson(st)["rows"][0]["short_window_configured"] == "5m");
}

TEST_CASE("the 30d window holds exactly 30 days: 30d-1m old counts, 30d+1m old does not",
          "[slo][engine][window]") {
  // At every phase of the long tier's buckets (about 4h each).
  for (int phase = 0; phase < 6 * 60; phase += 7) {
    SloState slo(sloConfig(99.9, 30 * 24h, config::Budgeting::Occurrences), {});
    const TimePoint t0 = kT0 + phase * 1min;
    slo.recordEvent(t0, true);          // 30d + 1m old at t0 + 30d + 1m
    slo.recordEvent(t0 + 2min, false);  // 30d - 1m old
    const auto st = slo.evaluate(t0 + 30 * 24h + 1min);
    INFO("phase " << phase << " min");
    REQUIRE(st.sloWindow().window == 30 * 24h);
    REQUIRE(st.sloWindow().counts.total == 1);
    REQUIRE(st.sloWindow().counts.bad == 0);
  }
}

TEST_CASE("the default table never asks for a burn rate below 1", "[slo]") {
  CHECK(defaultBurnRows(1h).size() == 1);
  CHECK(defaultBurnRows(1h)[0].burn_rate == 1.0);        // 2% over 1h of a 1h SLO: 0.02
  CHECK(defaultBurnRows(28 * 24h)[3].burn_rate == 1.0);  // 10% over 3d of 28d: 0.93
  for (const auto& r : defaultBurnRows(7 * 24h)) CHECK(r.burn_rate >= 1.0);
}

TEST_CASE("replay keeps the newest runs: a cadence cut from 1m to 5m mid-outage",
          "[slo][engine][store]") {
  // A month of one-minute runs, then the probe goes to every 5 minutes and fails
  // for the last 3 hours. Rebuilt with the new cadence, every window holds the runs
  // of (now - W, now] — before the fix the bound (twice the 5m cadence's count)
  // kept the oldest days and every window but 28d was empty.
  datawatch::testing::TempDir dir;
  auto store = SqliteStateStore::open((dir / "state.db").string());
  REQUIRE(store.ok());
  const TimePoint now = kT0;
  const TimePoint cut = now - 3h;
  std::vector<Recorded> runs;
  for (TimePoint t = now - 30 * 24h; t < cut; t += 1min) runs.push_back({t, false});
  for (TimePoint t = cut; t < now; t += 5min) runs.push_back({t, true});
  for (const auto& r : runs)
    REQUIRE((*store)->recordRun(run("p", r.at, r.bad ? ProbeStatus::Fail : ProbeStatus::Pass)));

  config::Config cfg;
  config::ProbeConfig p;
  p.name = "p";
  p.every = 5min;
  cfg.probes.push_back(p);
  cfg.slos.push_back(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences));
  SloEngine engine;
  auto stats = engine.configure(cfg, store->get(), now);
  CHECK(stats.errors.empty());
  const auto st = engine.evaluate(now).at(0);
  for (const auto& w : st.windows) {
    INFO("window " << formatDuration(w.window));
    const EventCounts expect = countIn(runs, now, w.window);
    CHECK(w.counts.total == expect.total);
    CHECK(w.counts.bad == expect.bad);
  }
  CHECK(st.breaching == std::set<std::string>{"page", "ticket"});
  CHECK(st.error_budget_remaining < 1.0);
}

TEST_CASE("validate: rows under burn rate 1 are named, no advice suggests an impossible objective",
          "[slo][advice]") {
  const std::string yaml = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 5m}
  - {name: hourly, type: freshness, source: shop, table: orders, column: ts, max_age: 2h, every: 1h}
slos:
  - {name: hour, objective: 90, window: 1h, probes: [fresh]}
  - {name: strict-hour, objective: 99.9, window: 1h, probes: [hourly]}
  - name: low
    objective: 99
    window: 7d
    probes: [fresh]
    alerting:
      windows: [{severity: page, long: 2h, short: 10m, burn_rate: 0.5}]
)";
  auto r = config::loadConfigFromString(
      yaml, "slos.yaml", "", [](const std::string&) { return std::optional<std::string>(); });
  REQUIRE(r.ok());
  const auto w = sloCadenceWarnings(*r.config);
  std::string all;
  for (const auto& d : w) all += d.message + "\n";
  INFO(all);
  // The issue's repro (90% over 1h, every 5m) printed "an objective of -316.67% or
  // lower" against a page threshold of 0.02: the default row now asks for burn rate
  // 1, one bad run in 12 is 0.83 — no single-event warning, only the widening.
  CHECK(all.find("objective of -") == std::string::npos);
  CHECK(all.find("slo \"hour\": a single bad event") == std::string::npos);
  CHECK_THAT(all, Catch::Contains("slo \"hour\": page row 1h/5m: the short window 5m would hold "
                                  "no event at times (its slowest probe runs every 5m), so it "
                                  "is widened to 10m"));
  // One run an hour in a 1h window: no objective keeps one bad run under any rate.
  CHECK_THAT(all, Catch::Contains("slo \"strict-hour\": a single bad event would page") &&
                      Catch::Contains("no objective helps (a single bad event is the whole 1h "
                                      "window)"));
  // A custom row under 1 is named.
  CHECK_THAT(all, Catch::Contains("slo \"low\": page row 2h/10m has a burn-rate threshold of "
                                  "0.50, below 1"));
}

TEST_CASE("a run replayed by a reload and then recorded live counts once", "[slo][engine][store]") {
  // A reload no longer stops the probe loop: a run can reach the store just
  // before the SLO replays it, then arrive live.
  datawatch::testing::TempDir dir;
  auto store = SqliteStateStore::open((dir / "state.db").string());
  REQUIRE(store.ok());
  std::vector<ProbeResult> stored;
  for (int i = 10; i >= 1; --i) stored.push_back(run("p", kT0 - i * 1min, ProbeStatus::Fail));
  for (const auto& r : stored) REQUIRE((*store)->recordRun(r));
  config::Config cfg;
  config::ProbeConfig p;
  p.name = "p";
  p.every = 1min;
  cfg.probes.push_back(p);
  cfg.slos.push_back(sloConfig(99.5, 28 * 24h, config::Budgeting::Occurrences));
  SloEngine engine;
  REQUIRE(engine.configure(cfg, store->get(), kT0).runs == 10);
  engine.record(stored.back());                     // the same run, live
  engine.record(run("p", kT0, ProbeStatus::Fail));  // the next one counts
  const auto st = engine.evaluate(kT0 + 1s).at(0);
  const auto& longest = st.windows.back();
  CHECK(longest.counts.total == 11);
  CHECK(longest.counts.bad == 11);
}
