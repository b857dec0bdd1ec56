// The alertmanager notifier against a real Alertmanager (issue 20): an HA pair
// of URLs, basic auth, generatorURL, Alertmanager's own routing and grouping
// (its webhook receiver hears one group), a silence created through its API,
// both down for 30 s and back (nothing lost), and the resolve — asserted
// through Alertmanager's GET /api/v2/alerts.
//
// Alertmanager runs on the real clock and judges startsAt/endsAt by it, so the
// pipeline's simulated clock starts three minutes before the real now and moves
// 1 min, then through the 30 s outage and the retries after it (5 s backoff
// doubling, +-20%: ~78 s at most), then 10 s — under 2.5 minutes in all:
// firing alerts end 5 minutes after their send (ahead of the real clock while
// the test runs under ~2 minutes) and the resolve's endsAt is behind it. The
// test requires the latter before the resolve: a resolve whose endsAt is still
// in the future is merged into the firing alert and keeps its later endsAt, so
// no wait would see it resolved.
#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "tests/support/alertmanager.hpp"
#include "tests/support/notify_pipeline.hpp"
#include "tests/support/receiver.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// bcrypt (cost 4) of "s3cret-pass", as Alertmanager's web config takes it.
const Alertmanager::User kUser{"datawatch", "s3cret-pass",
                               "$2b$04$0XxaMWH4aD97GJrd9MZ7SuN2hCRJXPpAsW7r9RfgC5hCCvSF6yzEO"};
const std::string kGenerator = "http://datawatch.example:9464/";

std::string amConfig(const Receiver& hook) {
  return "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n"
         "  group_interval: 1s\n  repeat_interval: 1h\n"
         "receivers:\n  - name: hook\n    webhook_configs:\n      - url: \"" +
         hook.url("/am") + "\"\n        send_resolved: true\n";
}

std::string pipelineConfig(const Alertmanager& a, const Alertmanager& b) {
  return R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 1h,
     owner: team-billing, alert: {after: 1, severity: critical, notify: [am]}}
  - {name: refunds_fresh, type: freshness, source: shop, table: refunds, column: ts, max_age: 1h,
     owner: team-billing, alert: {after: 1, severity: critical, notify: [am]}}
notifiers:
  am: {type: alertmanager, urls: [")" +
         a.url() + "\", \"" + b.url() +
         R"("], basic_auth: {username: datawatch, password: s3cret-pass},
       generator_url: ")" +
         kGenerator + "\", timeout: 2s}\n";
}

// The alert with label alert=`id` in an Alertmanager's answer, or null.
json find(const json& alerts, const std::string& id) {
  for (const auto& a : alerts)
    if (a["labels"].value("alert", "") == id) return a;
  return nullptr;
}

bool bothActive(const Alertmanager& am) {
  const json all = am.alerts();
  return all.size() == 2 && !find(all, "probe:orders_fresh:critical").is_null() &&
         !find(all, "probe:refunds_fresh:critical").is_null();
}

}  // namespace

TEST_CASE(
    "a real Alertmanager pair: routed and grouped, silenced through its API, down for 30 s "
    "and back, resolved",
    "[integration][notify][alertmanager][threads]") {
  TempDir dir;
  Receiver hook;  // Alertmanager's webhook receiver
  Alertmanager am1(dir, "am1", amConfig(hook), kUser);
  Alertmanager am2(dir, "am2", amConfig(hook));
  CHECK(am1.get("/api/v2/alerts", false).first == 401);  // the auth is real
  Pipeline p(pipelineConfig(am1, am2), std::chrono::system_clock::now() - 3min);

  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  REQUIRE(p.run("refunds_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("am").delivered == 2);
  for (const Alertmanager* am : {&am1, &am2}) {
    INFO(am->alerts().dump() << am->log());
    REQUIRE(bothActive(*am));
    const json a = find(am->alerts(), "probe:orders_fresh:critical");
    CHECK(a["status"]["state"] == "active");
    CHECK(a["generatorURL"] == kGenerator);
    CHECK(a["labels"]["owner"] == "team-billing");
    CHECK(a["labels"]["alertname"] == "DatawatchProbeFailing");
    CHECK_THAT(a["annotations"].value("description", ""), Catch::Contains("orders_fresh fail"));
  }
  // Its route groups both alerts (group_by alertname) into one webhook call.
  // (Alerts that started long ago flush a new group at once, so the first
  // call may hold one; the group's next call, group_interval 1s later, both.)
  json group;
  REQUIRE(eventually(
      [&] {
        for (const auto& req : hook.accepted())
          if (req.json()["alerts"].size() == 2) group = req.json();
        return !group.is_null();
      },
      30s));
  CHECK(group["status"] == "firing");
  CHECK(group["groupLabels"]["alertname"] == "DatawatchProbeFailing");
  CHECK(group["commonLabels"]["owner"] == "team-billing");

  // A silence created through Alertmanager's API.
  const auto real_now = std::chrono::system_clock::now();
  const std::string silence_id =
      am1.silence({{"matchers", json::array({{{"name", "alert"},
                                              {"value", "probe:refunds_fresh:critical"},
                                              {"isRegex", false},
                                              {"isEqual", true}}})},
                   {"startsAt", formatRfc3339(real_now)},
                   {"endsAt", formatRfc3339(real_now + 1h)},
                   {"createdBy", "datawatch tests"},
                   {"comment", "backfill"}});
  REQUIRE_FALSE(silence_id.empty());
  REQUIRE(eventually(
      [&] {
        return find(am1.alerts(), "probe:refunds_fresh:critical")["status"]["state"] ==
               "suppressed";
      },
      10s));
  CHECK(find(am1.alerts(), "probe:refunds_fresh:critical")["status"]["silencedBy"] ==
        json::array({silence_id}));

  // Both down for 30 s; the re-sends fail and wait; both back; nothing lost.
  am1.stop();
  am2.stop();
  p.clock.advance(1min);  // Alertmanager alerts are re-sent every minute: both repeats
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) + p.run("refunds_fresh", ProbeStatus::Fail) ==
          2);
  auto r = p.pump("am");
  CHECK(r.failed == 2);
  REQUIRE_FALSE(p.events.errors.empty());
  CHECK_THAT(p.events.errors.back(), Catch::Contains("alertmanager 1 of 2"));
  CHECK_THAT(p.events.errors.back(), Catch::Contains("alertmanager 2 of 2"));
  CHECK_THAT(p.events.errors.back(), !Catch::Contains("s3cret-pass"));
  const TimePoint down_at = p.clock.now();
  while (p.clock.now() < down_at + 30s) {
    r = p.pump("am");
    CHECK(r.delivered == 0);
    REQUIRE(r.next);
    p.clock.advanceTo(*r.next);
  }
  am1.start();
  am2.start();
  CHECK(am1.alerts().empty());  // Alertmanager forgot them on restart
  for (int i = 0; i < 10 && p.queued() > 0; ++i) {
    r = p.pump("am");
    if (r.next && p.queued() > 0) p.clock.advanceTo(*r.next);
  }
  CHECK(p.queued() == 0);
  CHECK(bothActive(am1));
  CHECK(bothActive(am2));
  // The silence was kept on disk: still suppressed after the restart.
  CHECK(find(am1.alerts(), "probe:refunds_fresh:critical")["status"]["state"] == "suppressed");
  CHECK(find(am1.alerts(), "probe:orders_fresh:critical")["status"]["state"] == "active");

  // The data recovers: resolved in both; Alertmanager tells its receiver.
  p.clock.advance(10s);
  // The resolve's endsAt (the simulated now) must be behind Alertmanager's clock
  // (see the top of this file).
  {
    const auto ahead = p.clock.now() - std::chrono::system_clock::now();
    INFO("the simulated clock is " << std::chrono::duration<double>(ahead).count()
                                   << " s ahead of the real one");
    REQUIRE(ahead < Duration::zero());
  }
  // Each resolve is one item; a re-send of the other, still firing alert may
  // fall due on the same step (the outage loop moved the clock by jittered
  // backoffs), so the first step queues one or two.
  const size_t first = p.run("orders_fresh", ProbeStatus::Pass, 60);
  REQUIRE(first >= 1);
  REQUIRE(first <= 2);
  REQUIRE(p.run("refunds_fresh", ProbeStatus::Pass, 60) == 1);
  CHECK(p.pump("am").delivered == first + 1);
  CHECK(eventually([&] { return am1.alerts().empty() && am2.alerts().empty(); }, 10s));
  CHECK(eventually(
      [&] {
        for (const auto& req : hook.accepted())
          if (req.json()["status"] == "resolved") return true;
        return false;
      },
      30s));
}

TEST_CASE(
    "alertmanager notifier: a bearer token is sent as Authorization - one URL of a pair "
    "down still delivers",
    "[integration][notify][alertmanager][threads]") {
  Receiver up, down;
  down.stop();
  Pipeline p(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 1h,
     alert: {after: 1, severity: critical, notify: [am]}}
notifiers:
  am: {type: alertmanager, urls: [")" +
             down.url() + "\", \"" + up.url() + R"("], bearer_token: "tok-am-77"}
)");
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("am").delivered == 1);             // as Prometheus: one Alertmanager is enough
  REQUIRE(p.events.degraded_errors.size() == 1);  // ... and the other's failure is told
  CHECK_THAT(p.events.degraded_errors[0], Catch::StartsWith("alertmanager 1 of 2: "));
  REQUIRE(up.accepted().size() == 1);
  CHECK(up.accepted()[0].path == "/api/v2/alerts");
  CHECK(up.accepted()[0].header("authorization") == "Bearer tok-am-77");
  CHECK_FALSE(up.accepted()[0].json()[0].contains("generatorURL"));  // no dashboard, no URL
}

TEST_CASE("Alertmanager annotations are human and the same on every re-send",
          "[integration][notify][alertmanager][threads]") {
  Receiver am, am_hook;
  Pipeline p(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 1h,
     owner: team-billing, alert: {after: 1, severity: critical, notify: [am, am-hook]}}
notifiers:
  am: {type: alertmanager, url: ")" +
             am.url() + R"("}
  am-hook: {type: webhook, url: ")" +
             am_hook.url("/am") + R"(", format: alertmanager}
)");
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 2);
  CHECK(p.pump("am").delivered == 1);
  CHECK(p.pump("am-hook").delivered == 1);
  // A minute later the same measurement: only Alertmanager hears it again (a
  // repeat with its own delivery id, and the tracker counts a second run).
  p.clock.advance(1min);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("am").delivered == 1);
  REQUIRE(am.accepted().size() == 2);
  const json first = am.accepted()[0].json()[0]["annotations"];
  const json second = am.accepted()[1].json()[0]["annotations"];
  CHECK(first == second);
  CHECK_FALSE(first.contains("delivery_id"));
  CHECK(first["owner"] == "team-billing");
  const json hook = am_hook.accepted().at(0).json()["alerts"][0]["annotations"];
  CHECK(hook == first);
  for (const json& an : {first, hook}) {
    const std::string description = an.value("description", "");
    INFO(description);
    CHECK(description.find("{\"") == std::string::npos);
    CHECK(description.find("newest row is 2h 1m old (max 1h)") != std::string::npos);
    CHECK(an.value("summary", "").find("runs in a row") == std::string::npos);
  }

  // A result without a message reads as its value and threshold, in human units.
  const json probe{{"probe", "orders_fresh"},
                   {"status", "fail"},
                   {"value", 7260},
                   {"unit", "seconds"},
                   {"threshold", {{"max", 3600.0}}}};
  const json payload{{"status", "firing"},
                     {"alert",
                      {{"id", "probe:orders_fresh:critical"},
                       {"kind", "probe"},
                       {"name", "orders_fresh"},
                       {"severity", "critical"},
                       {"started_at", "2026-11-26T10:00:00Z"},
                       {"probes", json::array({probe})}}}};
  const json desc = alertmanagerAlerts({payload}, kNotifyT0)[0]["annotations"]["description"];
  CHECK(desc == "- orders_fresh fail: 2h1m (max 1h)\n");
}
