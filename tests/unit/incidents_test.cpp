#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "incidents/incidents.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T10:00:00Z");

std::shared_ptr<const config::Config> lineageConfig() {
  const char* yaml = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: raw, type: freshness, source: shop, table: raw, column: ts, max_age: 30m,
     alert: {after: 1, severity: critical}}
  - {name: orders, type: freshness, source: shop, table: orders, column: ts, max_age: 30m,
     upstream: [raw], alert: {after: 1, severity: warning}}
  - {name: other, type: freshness, source: shop, table: other, column: ts, max_age: 30m,
     alert: {after: 1, severity: warning}}
)";
  return datawatch::testing::loadTestConfig(yaml, "l.yaml");
}

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus s) {
  ProbeResult r;
  r.probe = probe;
  r.status = s;
  r.observed_at = at;
  r.message = s == ProbeStatus::Pass ? "fresh" : "stale";
  return r;
}

struct World {
  std::shared_ptr<const config::Config> cfg = lineageConfig();
  AlertTracker alerts{cfg};
  SilenceSet silences;
  int stored_today = 0;  // what the store would count
  IncidentTracker incidents{[this](const std::string&) { return stored_today + 1; }};
  World() { incidents.configure(cfg); }
  void feed(const std::string& probe, TimePoint at, ProbeStatus s) {
    const auto r = run(probe, at, s);
    incidents.observeProbe(r);
    auto changes = alerts.observeProbe(r);
    alerts.plan(changes, silences, at);
    incidents.observeAlerts(changes, alerts, at);
  }
};

}  // namespace

TEST_CASE(
    "an inhibited downstream alert joins its upstream's incident, an unrelated one opens "
    "its own",
    "[incidents]") {
  World w;
  w.feed("raw", kT0, ProbeStatus::Fail);
  w.feed("orders", kT0 + 1min, ProbeStatus::Fail);  // inhibited by raw
  w.feed("other", kT0 + 2min, ProbeStatus::Fail);
  auto open = w.incidents.open();
  REQUIRE(open.size() == 2);
  const auto& up = open[0].subject == "raw" ? open[0] : open[1];
  const auto& unrelated = open[0].subject == "raw" ? open[1] : open[0];
  CHECK(up.id == "INC-20261126-1");
  CHECK(unrelated.id == "INC-20261126-2");  // numbered even before anything is stored
  CHECK(up.alerts == std::vector<std::string>{"probe:raw:critical", "probe:orders:warning"});
  CHECK(up.severity == "critical");
  CHECK(up.first_bad_run == kT0);
  bool inhibited_noted = false;
  for (const auto& e : up.timeline)
    inhibited_noted |= e.text.find("inhibited: upstream raw failing") != std::string::npos;
  CHECK(inhibited_noted);
  // It resolves when both have resolved, not before.
  w.feed("raw", kT0 + 5min, ProbeStatus::Pass);
  CHECK(w.incidents.open().size() == 2);
  w.feed("orders", kT0 + 7min, ProbeStatus::Pass);
  auto changed = w.incidents.takeChanged();
  auto resolved = std::find_if(changed.begin(), changed.end(),
                               [](const Incident& i) { return i.id == "INC-20261126-1"; });
  REQUIRE(resolved != changed.end());
  CHECK_FALSE(resolved->open);
  CHECK(resolved->resolved_at == kT0 + 7min);
  CHECK(resolved->timeline.back().kind == "resolved");
  CHECK(w.incidents.open().size() == 1);
}

TEST_CASE("an open incident survives a restart as JSON and resolves under its id", "[incidents]") {
  World before;
  before.feed("other", kT0, ProbeStatus::Fail);
  auto saved = before.incidents.takeChanged();
  REQUIRE(saved.size() == 1);
  const auto doc = toJson(saved[0], true);
  CHECK(doc["status"] == "open");

  World after;
  (void)after.alerts.restore(before.alerts.firing(), kT0 + 2min);
  auto back = incidentFromJson(doc);
  REQUIRE(back);
  after.incidents.restore({*back});
  after.feed("other", kT0 + 3min, ProbeStatus::Pass);
  auto changed = after.incidents.takeChanged();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].id == saved[0].id);
  CHECK_FALSE(changed[0].open);
  CHECK(changed[0].timeline.front().kind == "probe_failing");  // kept from before the restart
}

TEST_CASE("silences that start and end during an incident are on its timeline", "[incidents]") {
  World w;
  w.feed("other", kT0, ProbeStatus::Fail);
  Silence s;
  s.match = {{"probe", "other"}};
  s.starts = kT0;
  s.ends = kT0 + 1h;
  const auto added = w.silences.add(s);
  w.alerts.plan({}, w.silences, kT0 + 1min);
  w.incidents.observeMutes(w.alerts, kT0 + 1min);
  w.alerts.plan({}, w.silences, kT0 + 2min);  // unchanged: no second event
  w.incidents.observeMutes(w.alerts, kT0 + 2min);
  w.silences.remove(added.id);
  w.alerts.plan({}, w.silences, kT0 + 3min);
  w.incidents.observeMutes(w.alerts, kT0 + 3min);
  const auto open = w.incidents.open();
  REQUIRE(open.size() == 1);
  std::vector<std::string> mutes;
  for (const auto& e : open[0].timeline)
    if (e.kind == "muted" || e.kind == "unmuted") mutes.push_back(e.text);
  CHECK(mutes ==
        std::vector<std::string>{
            "alert probe:other:warning silenced by " + added.id,
            "alert probe:other:warning no longer muted (was silenced by " + added.id + ")"});
}

TEST_CASE("incidents stay small: repeats fold into one line, SLO data is saved on change only",
          "[incidents]") {
  World w;
  w.feed("other", kT0, ProbeStatus::Fail);
  REQUIRE(w.incidents.open().size() == 1);
  (void)w.incidents.takeChanged();
  // Alertmanager re-sends every minute for an hour: one timeline line.
  for (int m = 1; m <= 60; ++m)
    REQUIRE(
        w.incidents.observeDelivery("probe:other:warning", "am", true, "firing", kT0 + m * 1min));
  auto inc = w.incidents.open().at(0);
  int sent = 0;
  for (const auto& e : inc.timeline) {
    if (e.kind != "notification_sent") continue;
    ++sent;
    CHECK(e.count == 60);
    CHECK(e.at == kT0 + 1min);
    CHECK(*e.until == kT0 + 60min);
    CHECK(e.text == "notified am (probe:other:warning, firing) \u00d760, 10:01\u201311:00");
  }
  CHECK(sent == 1);
  // Another outcome is a line of its own, and folding survives the JSON round trip.
  REQUIRE(w.incidents.observeDelivery("probe:other:warning", "am", false, "HTTP 500", kT0 + 61min));
  REQUIRE(w.incidents.observeDelivery("probe:other:warning", "am", true, "firing", kT0 + 62min));
  inc = w.incidents.open().at(0);
  auto back = incidentFromJson(toJson(inc, true));
  REQUIRE(back);
  addDeliveryEvent(*back, deliveryEvent("probe:other:warning", "am", true, "firing", kT0 + 63min));
  int lines = 0;
  for (const auto& e : back->timeline) lines += e.kind.rfind("notification_", 0) == 0;
  CHECK(lines == 3);  // sent x60, failed, sent x2
  CHECK(back->timeline.back().count == 2);
}

TEST_CASE("an open SLO incident is not rewritten at every evaluation", "[incidents]") {
  const char* yaml = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: t, column: ts, max_age: 30m}
slos:
  - {name: s, objective: 99, window: 7d, probes: [fresh]}
)";
  auto cfg = datawatch::testing::loadTestConfig(yaml, "s.yaml");
  AlertTracker alerts(cfg);
  SilenceSet silences;
  IncidentTracker incidents([](const std::string&) { return 1; });
  incidents.configure(cfg);
  SloStatus st;
  st.name = "s";
  st.window = 7 * 24h;
  st.windows = {WindowStatus{1h, {}, 0.5, 50}, WindowStatus{7 * 24h, {}, 0.1, 10}};
  RowStatus row;
  row.row.severity = "page";
  row.breaching = true;
  st.rows = {row};
  st.breaching = {"page"};
  auto changes = alerts.observeSlo(st, kT0);
  alerts.plan(changes, silences, kT0);
  incidents.observeAlerts(changes, alerts, kT0);
  incidents.observeSlo(st, kT0);
  (void)incidents.takeChanged();
  // Six hours of 10 s evaluations at a steady burn: saved every 15 minutes, not 2,160 times.
  int saves = 0;
  for (int s = 10; s <= 6 * 3600; s += 10) {
    incidents.observeSlo(st, kT0 + s * 1s);
    saves += static_cast<int>(incidents.takeChanged().size());
  }
  CHECK(saves == 24);
  // A new peak is saved at once.
  st.windows[0].burn_rate = 80;
  incidents.observeSlo(st, kT0 + 6h + 10s);
  CHECK(incidents.takeChanged().size() == 1);
}
