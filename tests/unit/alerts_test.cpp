#include <catch2/catch.hpp>

#include "alerting/alerts.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

std::shared_ptr<const config::Config> alertConfig() {
  const char* yaml = R"(
agent: {default_notify: [team-webhook]}
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 1m, owner: team-shop,
     alert: {after: 3, severity: warning, notify: [oncall-slack]}}
  - {name: rows, type: volume, source: shop, table: orders, min: 1, every: 1m, alert: {after: 1, severity: critical}}
  - {name: quiet, type: volume, source: shop, table: orders, min: 1, every: 1m}
slos:
  - name: orders-fresh
    objective: 99.5
    window: 28d
    probes: [fresh]
    alerting:
      page: {notify: [oncall-slack]}
notifiers:
  oncall-slack: {type: file, path: /tmp/slack.jsonl}
  team-webhook: {type: file, path: /tmp/webhook.jsonl}
)";
  auto r = config::loadConfigFromString(yaml, "alerts.yaml", "",
                                        [](const std::string&) { return std::nullopt; });
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  return std::make_shared<const config::Config>(*r.config);
}

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus s) {
  ProbeResult r;
  r.probe = probe;
  r.status = s;
  r.observed_at = at;
  r.message = s == ProbeStatus::Pass ? "age 1m <= 30m" : "age 2h > 30m";
  return r;
}

}  // namespace

TEST_CASE("an SLO alert fires once per severity, routes, and resolves", "[alerts]") {
  const auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  SloState slo(cfg->slos[0], {{"fresh", 1min}});
  // Three good days, then failing runs from minute 0: the page row trips at the 5th
  // bad run of the hour (minute 4), the ticket rows later.
  std::vector<std::pair<int, AlertChange>> changes;
  for (int m = -72 * 60; m < 500; ++m) {
    const TimePoint t = kT0 + m * 1min;
    slo.record(run("fresh", t, m >= 0 && m < 60 ? ProbeStatus::Fail : ProbeStatus::Pass));
    for (auto& c : tracker.observeSlo(slo.evaluate(t), t)) changes.emplace_back(m, c);
  }
  REQUIRE(changes.size() == 4);
  const auto& page = changes[0].second;
  CHECK(changes[0].first == 4);
  CHECK(page.fired);
  CHECK(page.alert.id() == "slo:orders-fresh:page");
  CHECK(page.alert.started_at == kT0 + 4min);
  CHECK(page.alert.owner == "team-shop");
  CHECK(page.alert.notify == std::vector<std::string>{"oncall-slack"});
  CHECK_THAT(page.alert.summary, Catch::StartsWith("SLO orders-fresh (99.5% over 28d) burn rate "));
  const auto& ticket = changes[1].second;
  CHECK(ticket.fired);
  CHECK(ticket.alert.id() == "slo:orders-fresh:ticket");
  CHECK(ticket.alert.notify == std::vector<std::string>{"team-webhook"});  // default_notify
  // Resolutions: each once, with its resolution time, after the failures end at 59.
  for (size_t i = 2; i < 4; ++i) {
    CHECK_FALSE(changes[i].second.fired);
    CHECK(changes[i].first >= 60);
    CHECK(changes[i].second.alert.resolved_at == kT0 + changes[i].first * 1min);
  }
  // The page clears when the 30m window (runs k-29..k) is clean: minute 89; the
  // ticket when the 6h window of the 3d row (runs k-359..k) holds at most one bad run
  // (1/360 = 0.28% < 0.467%): k - 359 > 58, minute 418.
  CHECK(changes[2].second.alert.id() == "slo:orders-fresh:page");
  CHECK(changes[2].first == 89);
  CHECK(changes[3].second.alert.id() == "slo:orders-fresh:ticket");
  CHECK(changes[3].first == 418);
  CHECK(tracker.firing().empty());
}

TEST_CASE("a probe alert fires after N runs that did not pass and one pass resolves it",
          "[alerts]") {
  const auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  auto at = [&](int m, const std::string& probe, ProbeStatus s) {
    return tracker.observeProbe(run(probe, kT0 + m * 1min, s));
  };
  CHECK(at(0, "fresh", ProbeStatus::Fail).empty());
  CHECK(at(1, "fresh", ProbeStatus::Error).empty());  // errors count: the data is not known good
  CHECK(at(2, "fresh", ProbeStatus::Pass).empty());   // the streak resets
  CHECK(at(3, "fresh", ProbeStatus::Fail).empty());
  CHECK(at(4, "fresh", ProbeStatus::Fail).empty());
  auto fired = at(5, "fresh", ProbeStatus::Fail);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].fired);
  CHECK(fired[0].alert.id() == "probe:fresh:warning");
  CHECK(fired[0].alert.started_at == kT0 + 5min);
  CHECK(fired[0].alert.notify == std::vector<std::string>{"oncall-slack"});
  CHECK(fired[0].alert.summary == "probe fresh fail (3 runs in a row): age 2h > 30m");
  CHECK(at(6, "fresh", ProbeStatus::Fail).empty());  // still firing: no new change
  REQUIRE(tracker.firing().size() == 1);
  CHECK(tracker.firing()[0].summary == "probe fresh fail (4 runs in a row): age 2h > 30m");
  auto resolved = at(7, "fresh", ProbeStatus::Pass);
  REQUIRE(resolved.size() == 1);
  CHECK_FALSE(resolved[0].fired);
  CHECK(resolved[0].alert.started_at == kT0 + 5min);
  CHECK(resolved[0].alert.resolved_at == kT0 + 7min);
  // after: 1 fires at once and routes to default_notify; probes without `alert:` never do.
  auto rows = at(8, "rows", ProbeStatus::Fail);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].alert.id() == "probe:rows:critical");
  CHECK(rows[0].alert.notify == std::vector<std::string>{"team-webhook"});
  CHECK(at(9, "quiet", ProbeStatus::Fail).empty());
  CHECK(at(10, "unknown", ProbeStatus::Fail).empty());
}

TEST_CASE("a reload resolves the alerts whose SLO or probe alert is gone", "[alerts]") {
  auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  REQUIRE(tracker.observeProbe(run("rows", kT0, ProbeStatus::Fail)).size() == 1);
  REQUIRE(tracker.firing().size() == 1);
  CHECK(tracker.configure(cfg, kT0 + 1min).empty());  // same config: still firing
  auto changed = std::make_shared<config::Config>(*cfg);
  changed->probes[1].alert.reset();
  auto gone = tracker.configure(changed, kT0 + 2min);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].alert.id() == "probe:rows:critical");
  CHECK_FALSE(gone[0].fired);
  CHECK(gone[0].alert.resolved_at == kT0 + 2min);
  CHECK(tracker.firing().empty());
}

TEST_CASE("firing alerts survive a restart as JSON and are restored only if configured",
          "[alerts]") {
  auto cfg = alertConfig();
  AlertTracker before(cfg);
  REQUIRE(before.observeProbe(run("rows", kT0, ProbeStatus::Fail)).size() == 1);
  nlohmann::json saved = nlohmann::json::array();
  for (const auto& a : before.firing()) saved.push_back(toJson(a));
  saved.push_back({{"kind", "probe"},
                   {"subject", "gone"},
                   {"severity", "critical"},
                   {"status", "firing"},
                   {"started_at", "2026-11-26T00:00:00Z"}});
  saved.push_back({{"kind", "probe"}});  // damaged: skipped
  std::vector<Alert> firing;
  for (const auto& j : saved)
    if (auto a = alertFromJson(j)) firing.push_back(*a);
  REQUIRE(firing.size() == 2);
  AlertTracker after(cfg);
  after.restore(firing);
  REQUIRE(after.firing().size() == 1);  // "gone" is not configured
  CHECK(after.firing()[0].id() == "probe:rows:critical");
  CHECK(after.firing()[0].started_at == kT0);
  // Still failing after the restart: no new change; a pass resolves it.
  CHECK(after.observeProbe(run("rows", kT0 + 1min, ProbeStatus::Fail)).empty());
  auto resolved = after.observeProbe(run("rows", kT0 + 2min, ProbeStatus::Pass));
  REQUIRE(resolved.size() == 1);
  CHECK_FALSE(resolved[0].fired);
  CHECK(resolved[0].alert.started_at == kT0);
}
