#include <catch2/catch.hpp>

#include "alerting/burn_rate.hpp"
#include "alerting/event_window.hpp"
#include "core/time_format.hpp"

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
  CHECK(at28[3].burn_rate == Approx(0.9333).epsilon(1e-3));
  auto at7 = defaultBurnRows(7 * 24h);
  REQUIRE(at7.size() == 4);
  CHECK(at7[0].burn_rate == Approx(3.36));
  auto at2 = defaultBurnRows(48h);  // the 3d row is longer than the SLO window: dropped
  REQUIRE(at2.size() == 3);
  CHECK(at2[2].burn_rate == Approx(0.2));
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

#include "alerting/slo_engine.hpp"

TEST_CASE("a burst of failures pages from the minute both windows burn, until the short one clears",
          "[slo][engine]") {
  config::SloConfig cfg;
  cfg.name = "orders-fresh";
  cfg.objective = 99.5;  // budget 0.005
  cfg.window = 28 * 24h;
  SloState slo(cfg);
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

TEST_CASE("min_bad_events keeps a single bad run from paging; errors can be ignored",
          "[slo][engine]") {
  config::SloConfig cfg;
  cfg.objective = 99.5;
  cfg.window = 28 * 24h;
  cfg.alerting.min_bad_events = 2;
  SloState slo(cfg);
  // A probe every 5 minutes: 12 events an hour; one bad run is 1/12 = 8.3% > 6.72%.
  for (TimePoint t = kT0 - 1h; t < kT0; t += 5min) slo.recordEvent(t, false);
  slo.recordEvent(kT0, true);
  CHECK(slo.evaluate(kT0).breaching.empty());  // one bad event: not enough
  slo.recordEvent(kT0 + 5min, true);
  // Two bad of 13 (with only an hour of history every row burns, tickets too).
  CHECK(slo.evaluate(kT0 + 5min).breaching == std::set<std::string>{"page", "ticket"});

  cfg.errors = config::ErrorPolicy::Ignore;
  SloState ignoring(cfg);
  ProbeResult err = ProbeResult::error("connection refused");
  err.observed_at = kT0;
  ignoring.record(err);
  CHECK(ignoring.evaluate(kT0).windows.back().counts.total == 0);
  cfg.errors = config::ErrorPolicy::Bad;
  SloState counting(cfg);
  counting.record(err);
  CHECK(counting.evaluate(kT0).windows.back().counts.bad == 1);
}
