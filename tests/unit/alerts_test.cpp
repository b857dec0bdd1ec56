#include <catch2/catch.hpp>

#include "alerting/alerts.hpp"
#include "alerting/silences.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::loadTestConfig;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

std::shared_ptr<const config::Config> alertConfig(const std::string& slo_alerting = "") {
  const std::string yaml = R"(
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
)" + slo_alerting + R"(
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

// orders-fresh (99.5% over 28d) with its 1h/5m page row breaching at `burn`.
SloStatus pageBreaching(double burn) {
  SloStatus st;
  st.name = "orders-fresh";
  st.objective = 0.995;
  st.window = 28 * 24h;
  RowStatus page;
  page.row.severity = "page";
  page.row.long_window = 1h;
  page.row.short_window = 5min;
  page.row.burn_rate = 13.44;
  page.long_burn_rate = page.short_burn_rate = burn;
  page.breaching = true;
  st.rows = {page};
  st.breaching = {"page"};
  return st;
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
  const auto gone = after.restore(firing, kT0 + 30s);
  REQUIRE(after.firing().size() == 1);  // "gone" is not configured...
  // ...so it resolves, with a change like a reload's, not silently dropped.
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].alert.id() == "probe:gone:critical");
  CHECK_FALSE(gone[0].fired);
  CHECK(*gone[0].alert.resolved_at == kT0 + 30s);
  CHECK(after.firing()[0].id() == "probe:rows:critical");
  CHECK(after.firing()[0].started_at == kT0);
  // Still failing after the restart: no new change; a pass resolves it.
  CHECK(after.observeProbe(run("rows", kT0 + 1min, ProbeStatus::Fail)).empty());
  auto resolved = after.observeProbe(run("rows", kT0 + 2min, ProbeStatus::Pass));
  REQUIRE(resolved.size() == 1);
  CHECK_FALSE(resolved[0].fired);
  CHECK(resolved[0].alert.started_at == kT0);
}

namespace {

std::shared_ptr<const config::Config> routingConfig() {
  const char* yaml = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: raw_orders, type: freshness, source: shop, table: raw_orders, column: ts, max_age: 30m,
     consumers: [ingest-monitor], alert: {after: 1, severity: critical, notify: [pager]}}
  - {name: orders, type: freshness, source: shop, table: orders, column: ts, max_age: 30m,
     upstream: [raw_orders], consumers: [finance-dashboard],
     alert: {after: 1, severity: warning, notify: [pager, chat]}}
  - {name: revenue, type: volume, source: shop, table: revenue, min: 1, upstream: [orders],
     consumers: [churn-model]}
notifiers:
  pager: {type: file, path: /tmp/pager.jsonl, repeat_interval: 1h}
  chat: {type: file, path: /tmp/chat.jsonl}
silences:
  - {match: {probe: orders, severity: warning}, starts: "2026-11-26T02:00:00Z", until: "2026-11-26T03:00:00Z", reason: backfill}
)";
  auto r = config::loadConfigFromString(yaml, "routing.yaml", "",
                                        [](const std::string&) { return std::nullopt; });
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  return std::make_shared<const config::Config>(*r.config);
}

// "notifier firing|resolved[ repeat]" for each planned notification of `id`.
std::vector<std::string> sent(const std::vector<Outgoing>& out, const std::string& id) {
  std::vector<std::string> s;
  for (const auto& o : out) {
    if (o.alert.id() != id) continue;
    s.push_back(o.notifier + (o.firing ? " firing" : " resolved") + (o.repeat ? " repeat" : ""));
  }
  return s;
}

}  // namespace

TEST_CASE("notifications go out on fire, every repeat_interval per notifier, and on resolve",
          "[alerts][notify]") {
  const auto cfg = routingConfig();
  AlertTracker tracker(cfg);
  SilenceSet silences;
  silences.configure(cfg->silences);
  const std::string id = "probe:orders:warning";
  auto changes = tracker.observeProbe(run("orders", kT0, ProbeStatus::Fail));
  REQUIRE(changes.size() == 1);
  auto out = tracker.plan(changes, silences, kT0);
  CHECK(sent(out, id) == std::vector<std::string>{"pager firing", "chat firing"});
  CHECK(tracker.plan({}, silences, kT0 + 59min).empty());
  // pager repeats every 1h, chat every 4h (the default).
  CHECK(sent(tracker.plan({}, silences, kT0 + 60min), id) ==
        std::vector<std::string>{"pager firing repeat"});
  CHECK(tracker.plan({}, silences, kT0 + 61min).empty());
  // 02:00-03:00 a config silence matches {probe: orders, severity: warning}: nothing goes out,
  // the alert shows who silenced it.
  CHECK(tracker.plan({}, silences, kT0 + 150min).empty());
  REQUIRE(tracker.find(id));
  CHECK(tracker.find(id)->silenced_by == "config-1");
  // At 03:00 the silence ends: the repeat owed to pager and chat's 4h repeat... chat
  // was told at 00:00, so only pager (last told at 01:00) is due.
  CHECK(sent(tracker.plan({}, silences, kT0 + 180min), id) ==
        std::vector<std::string>{"pager firing repeat"});
  CHECK(tracker.find(id)->silenced_by.empty());
  CHECK(sent(tracker.plan({}, silences, kT0 + 240min), id) ==
        std::vector<std::string>{"pager firing repeat", "chat firing repeat"});
  // The resolve goes to both notifiers that heard it fire.
  auto resolved = tracker.observeProbe(run("orders", kT0 + 250min, ProbeStatus::Pass));
  REQUIRE(resolved.size() == 1);
  CHECK(sent(tracker.plan(resolved, silences, kT0 + 250min), id) ==
        std::vector<std::string>{"chat resolved", "pager resolved"});
}

TEST_CASE("an alert silenced from the start sends nothing, not even its resolve",
          "[alerts][notify]") {
  const auto cfg = routingConfig();
  AlertTracker tracker(cfg);
  SilenceSet silences;
  Silence s;
  s.match = {{"alert", "probe:orders:warning"}};
  s.starts = kT0;
  s.ends = kT0 + 1h;
  const auto added = silences.add(s);
  CHECK_THAT(added.id, Catch::StartsWith("api-"));
  auto changes = tracker.observeProbe(run("orders", kT0 + 1min, ProbeStatus::Fail));
  CHECK(tracker.plan(changes, silences, kT0 + 1min).empty());
  CHECK(tracker.firing().at(0).silenced_by == added.id);
  auto resolved = tracker.observeProbe(run("orders", kT0 + 2min, ProbeStatus::Pass));
  CHECK(tracker.plan(resolved, silences, kT0 + 2min).empty());
  // Removed: the next alert is sent.
  CHECK(silences.remove(added.id));
  CHECK_FALSE(silences.remove(added.id));
  changes = tracker.observeProbe(run("orders", kT0 + 3min, ProbeStatus::Fail));
  CHECK(tracker.plan(changes, silences, kT0 + 3min).size() == 2);
}

TEST_CASE("a failing upstream probe inhibits its downstream alerts until it recovers",
          "[alerts][notify]") {
  const auto cfg = routingConfig();
  AlertTracker tracker(cfg);
  SilenceSet silences;
  auto up = tracker.observeProbe(run("raw_orders", kT0, ProbeStatus::Fail));
  auto down = tracker.observeProbe(run("orders", kT0, ProbeStatus::Fail));
  up.insert(up.end(), down.begin(), down.end());
  auto out = tracker.plan(up, silences, kT0);
  CHECK(sent(out, "probe:raw_orders:critical") == std::vector<std::string>{"pager firing"});
  CHECK(sent(out, "probe:orders:warning").empty());
  CHECK(tracker.find("probe:orders:warning")->inhibited_by ==
        std::vector<std::string>{"raw_orders"});
  // The upstream recovers while the downstream still fails: the downstream alert,
  // never sent, goes out now (it is its own problem).
  auto rec = tracker.observeProbe(run("raw_orders", kT0 + 5min, ProbeStatus::Pass));
  out = tracker.plan(rec, silences, kT0 + 5min);
  CHECK(sent(out, "probe:raw_orders:critical") == std::vector<std::string>{"pager resolved"});
  CHECK(sent(out, "probe:orders:warning") ==
        std::vector<std::string>{"pager firing", "chat firing"});
  CHECK(tracker.find("probe:orders:warning")->inhibited_by.empty());
}

TEST_CASE("two probes naming each other upstream do not mute each other", "[alerts][notify]") {
  auto r = config::loadConfigFromString(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: a, type: freshness, source: shop, table: a, column: ts, max_age: 30m, upstream: [b],
     alert: {after: 1, severity: critical, notify: [pager]}}
  - {name: b, type: freshness, source: shop, table: b, column: ts, max_age: 30m,
     alert: {after: 1, severity: critical, notify: [pager]}}
notifiers:
  pager: {type: file, path: /tmp/pager.jsonl}
)",
                                        "mutual.yaml", "",
                                        [](const std::string&) { return std::nullopt; });
  REQUIRE(r.ok());
  // validate refuses a cycle written in the config; lineage links added to
  // the lifecycle's config (agent/lineage_service.hpp) may close one.
  r.config->probes[1].upstream = {"a"};
  AlertTracker tracker(std::make_shared<const config::Config>(*r.config));
  SilenceSet silences;
  auto changes = tracker.observeProbe(run("a", kT0, ProbeStatus::Fail));
  auto more = tracker.observeProbe(run("b", kT0, ProbeStatus::Fail));
  changes.insert(changes.end(), more.begin(), more.end());
  const auto out = tracker.plan(changes, silences, kT0);
  CHECK(sent(out, "probe:a:critical") == std::vector<std::string>{"pager firing"});
  CHECK(sent(out, "probe:b:critical") == std::vector<std::string>{"pager firing"});
}

TEST_CASE("API silences: request bodies are checked and matchers need every label",
          "[alerts][silences]") {
  const auto now = kT0;
  auto ok = silenceFromRequest(
      nlohmann::json::parse(
          R"({"match":{"slo":"orders-fresh"},"until":"2026-11-27T00:00:00Z","reason":"backfill"})"),
      now);
  REQUIRE(ok);
  CHECK(ok->starts == now);
  CHECK(ok->reason == "backfill");
  CHECK(ok->matches({{"slo", "orders-fresh"}, {"severity", "page"}}));
  CHECK_FALSE(ok->matches({{"slo", "orders"}, {"severity", "page"}}));
  CHECK_FALSE(ok->matches({{"severity", "page"}}));
  auto bad = [&](const char* body) {
    auto r = silenceFromRequest(nlohmann::json::parse(body), now);
    return r ? std::string("accepted") : r.error();
  };
  CHECK_THAT(bad(R"({"until":"2026-11-27T00:00:00Z"})"), Catch::Contains("match"));
  CHECK_THAT(bad(R"({"match":{},"until":"2026-11-27T00:00:00Z"})"), Catch::Contains("non-empty"));
  CHECK_THAT(bad(R"({"match":{"slo":"x"}})"), Catch::Contains("until"));
  CHECK_THAT(bad(R"({"match":{"slo":"x"},"until":"tomorrow"})"), Catch::Contains("RFC 3339"));
  CHECK_THAT(bad(R"({"match":{"slo":"x"},"until":"2026-11-25T00:00:00Z"})"),
             Catch::Contains("past"));
  CHECK_THAT(bad(R"({"match":{"slo":1},"until":"2026-11-27T00:00:00Z"})"),
             Catch::Contains("string"));
  CHECK_THAT(bad(R"({"match":{"slo":"x"},"until":"2026-11-27T00:00:00Z","ttl":5})"),
             Catch::Contains("unknown field \"ttl\""));
  // Stored API silences come back with their ids; expired ones are dropped from the list.
  SilenceSet set;
  auto a = set.add(*ok);
  SilenceSet restored;
  restored.restoreApiSilences(set.apiSilencesJson());
  auto listed = restored.list(now);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == a.id);
  CHECK(listed[0].match == ok->match);
  CHECK(restored.list(now + 25h).empty());
}

TEST_CASE("notification state survives the alert's JSON round trip", "[alerts][notify]") {
  Alert a;
  a.kind = "probe";
  a.subject = "orders";
  a.severity = "warning";
  a.started_at = kT0;
  a.notified = {{"pager", kT0 + 1min}, {"chat", kT0 + 2min}};
  auto back = alertFromJson(toJson(a));
  REQUIRE(back);
  CHECK(back->notified == a.notified);
  CHECK(back->labels() == std::map<std::string, std::string>{{"alertname", "DatawatchProbeFailing"},
                                                             {"alert", "probe:orders:warning"},
                                                             {"kind", "probe"},
                                                             {"severity", "warning"},
                                                             {"probe", "orders"}});
}

TEST_CASE("Alertmanager notifiers re-send firing alerts every minute", "[alerts][notify]") {
  config::NotifierConfig am;
  am.type = config::NotifierType::Alertmanager;
  am.repeat_interval = 4h;
  CHECK(repeatInterval(am) == 1min);
  am.repeat_interval = 30s;
  CHECK(repeatInterval(am) == 30s);
  config::NotifierConfig hook;
  hook.type = config::NotifierType::Webhook;
  hook.repeat_interval = 2h;
  CHECK(repeatInterval(hook) == 2h);
}

TEST_CASE("a firing SLO alert's summary quotes a breaching row, not the highest burn", "[alerts]") {
  const auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  SloStatus st;
  st.name = "orders-fresh";
  st.objective = 0.995;
  st.window = 28 * 24h;
  // The demo at 18:35: the 1d row burns hotter but its 2h window has cooled;
  // the 3d/6h row is the one that breaches.
  auto row = [](Duration long_window, Duration short_window, double threshold) {
    RowStatus r;
    r.row.severity = "ticket";
    r.row.long_window = long_window;
    r.row.short_window = short_window;
    r.row.burn_rate = threshold;
    return r;
  };
  RowStatus day = row(24h, 2h, 2.8), three = row(72h, 6h, 1.0);
  day.long_burn_rate = 38.2;
  day.short_burn_rate = 0.0;
  three.long_burn_rate = 20.8;
  three.short_burn_rate = 1.6;
  three.breaching = true;
  st.rows = {day, three};
  st.breaching = {"ticket"};
  const auto fired = tracker.observeSlo(st, kT0);
  REQUIRE(fired.size() == 1);
  const std::string summary = fired[0].alert.summary;
  CHECK_THAT(summary, Catch::Contains("burn rate 20.8 over 3d and 1.6 over 6h > 1.00"));
  // Once nothing breaches, the hottest row explains the state ("vs").
  st.rows[1].breaching = false;
  st.rows[1].short_burn_rate = 0.5;
  st.breaching.clear();
  const auto resolved = tracker.observeSlo(st, kT0 + 1min);
  REQUIRE(resolved.size() == 1);
  CHECK_THAT(resolved[0].alert.summary, Catch::Contains("38.2 over 1d and 0.0 over 2h vs 2.80"));
}

TEST_CASE("a doubled burn rate is a change for Slack threads, told once per doubling",
          "[alerts][notify]") {
  const auto cfg = loadTestConfig(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m}
slos:
  - {name: orders-fresh, objective: 99.5, window: 28d, probes: [fresh],
     alerting: {page: {notify: [oncall, hook]}}}
notifiers:
  oncall: {type: slack, token: xoxb-1, channel: C1}
  hook: {type: webhook, url: "http://127.0.0.1:9/"}
)",
                                  "alerts.yaml");
  AlertTracker tracker(cfg);
  SilenceSet silences;
  SloStatus st = pageBreaching(0);
  std::vector<std::string> told;  // the changes planned, for any notifier
  auto at = [&](int minute, double burn) {
    st = pageBreaching(burn);
    const TimePoint t = kT0 + minute * 1min;
    for (const auto& o : tracker.plan(tracker.observeSlo(st, t), silences, t)) {
      if (o.change.empty()) continue;
      CHECK(o.notifier == "oncall");  // only the thread hears it
      told.push_back(o.change);
    }
  };
  at(0, 20);   // fires: told 20
  at(1, 39);   // less than twice: nothing
  at(2, 41);   // doubled: told 41
  at(3, 80);   // less than twice 41
  at(4, 100);  // doubled again
  REQUIRE(told.size() == 2);
  CHECK_THAT(told[0], Catch::StartsWith("burn rate up to 41.0x (from 20.0x): SLO orders-fresh"));
  CHECK_THAT(told[1], Catch::StartsWith("burn rate up to 100.0x (from 41.0x)"));
}

TEST_CASE("a severity that loses all its rows resolves (issue 15 #9)", "[alerts]") {
  const auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  // A page alert is firing...
  SloStatus st = pageBreaching(20);
  auto fired = tracker.observeSlo(st, kT0);
  REQUIRE(fired.size() == 1);
  REQUIRE(fired[0].fired);
  // ...then a reload leaves only ticket rows (custom windows): nothing can keep
  // the page firing, so it resolves instead of firing forever.
  RowStatus ticket = st.rows[0];
  ticket.row.severity = "ticket";
  ticket.breaching = false;
  st.rows = {ticket};
  st.breaching.clear();
  const auto gone = tracker.observeSlo(st, kT0 + 10s);
  REQUIRE(gone.size() == 1);
  CHECK_FALSE(gone[0].fired);
  CHECK(gone[0].alert.id() == "slo:orders-fresh:page");
  CHECK(*gone[0].alert.resolved_at == kT0 + 10s);
  CHECK(tracker.firing().empty());
}

TEST_CASE("no data never resolves an SLO alert: a restored page holds until data clears it",
          "[alerts]") {
  const auto cfg = alertConfig();
  AlertTracker tracker(cfg);
  Alert page;
  page.kind = "slo";
  page.subject = "orders-fresh";
  page.severity = "page";
  page.started_at = kT0;
  page.notify = {"oncall-slack"};
  REQUIRE(tracker.restore({page}, kT0 + 2h).empty());
  // The agent was down longer than the page windows: they hold no event.
  SloStatus st;
  st.name = "orders-fresh";
  RowStatus row;
  row.row.severity = "page";
  row.no_data = true;
  st.rows = {row};
  CHECK(tracker.observeSlo(st, kT0 + 2h).empty());
  CHECK(tracker.find("slo:orders-fresh:page") != nullptr);
  // Data that does not breach resolves it.
  st.rows[0].no_data = false;
  const auto changes = tracker.observeSlo(st, kT0 + 2h + 5min);
  REQUIRE(changes.size() == 1);
  CHECK_FALSE(changes[0].fired);
}

TEST_CASE("while an SLO's page alert fires its ticket alert is inhibited (inhibit_lower_severity)",
          "[alerts][notify]") {
  // Minute -> what went out, over the outage of the first test: the page fires at
  // 4 and resolves at 89, the ticket fires soon after the page and resolves at 418.
  auto outage = [](const std::shared_ptr<const config::Config>& cfg,
                   std::map<int, std::vector<std::string>>& out, std::string& mute_at_60) {
    AlertTracker tracker(cfg);
    SilenceSet silences;
    SloState slo(cfg->slos[0], {{"fresh", 1min}});
    for (int m = -72 * 60; m < 500; ++m) {
      const TimePoint t = kT0 + m * 1min;
      slo.record(run("fresh", t, m >= 0 && m < 60 ? ProbeStatus::Fail : ProbeStatus::Pass));
      const auto changes = tracker.observeSlo(slo.evaluate(t), t);
      for (const auto& o : tracker.plan(changes, silences, t))
        out[m].push_back(o.alert.severity + " " + o.notifier +
                         (o.firing ? " firing" : " resolved") + (o.repeat ? " repeat" : ""));
      if (m == 60) {
        REQUIRE(tracker.find("slo:orders-fresh:ticket"));
        const Alert ticket = *tracker.find("slo:orders-fresh:ticket");
        mute_at_60 = muteReason(ticket);
        // Stored and served with the alert; read back as it was.
        CHECK(toJson(ticket)["inhibited_by_alert"] ==
              (mute_at_60.empty() ? nlohmann::json(nullptr)
                                  : nlohmann::json("slo:orders-fresh:page")));
        CHECK(alertFromJson(toJson(ticket))->inhibited_by_alert == ticket.inhibited_by_alert);
      }
    }
  };
  std::map<int, std::vector<std::string>> on, off;
  std::string mute_on, mute_off;
  outage(alertConfig(), on, mute_on);  // the default: on
  outage(alertConfig("      inhibit_lower_severity: false"), off, mute_off);
  using V = std::vector<std::string>;
  CHECK(on[4] == V{"page oncall-slack firing"});
  CHECK(mute_on == "inhibited: slo:orders-fresh:page is firing");
  // The page resolves at 89 while the ticket still fires: the ticket, never sent, goes out then.
  CHECK(on[89] == V{"page oncall-slack resolved", "ticket team-webhook firing"});
  CHECK(on[89 + 240] == V{"ticket team-webhook firing repeat"});  // repeat_interval 4h
  CHECK(on[418] == V{"ticket team-webhook resolved"});
  int sends_on = 0;
  for (const auto& [m, v] : on) sends_on += static_cast<int>(v.size());
  CHECK(sends_on == 5);
  // Off: the ticket is sent when it fires, as before.
  CHECK(mute_off.empty());
  int ticket_fired_at = -1;
  for (const auto& [m, v] : off)
    for (const auto& s : v)
      if (s == "ticket team-webhook firing" && ticket_fired_at < 0) ticket_fired_at = m;
  CHECK(ticket_fired_at > 4);
  CHECK(ticket_fired_at < 60);
  CHECK(off[89] == V{"page oncall-slack resolved"});
}

TEST_CASE("tier inhibition spares a ticket already sent and yields to a silenced page",
          "[alerts][notify]") {
  const auto cfg = alertConfig();
  auto firing = [](const std::string& severity) {
    Alert a;
    a.kind = "slo";
    a.subject = "orders-fresh";
    a.severity = severity;
    a.started_at = kT0;
    a.notify = {severity == "page" ? "oncall-slack" : "team-webhook"};
    return a;
  };
  SilenceSet silences;
  {
    AlertTracker tracker(cfg);
    Alert ticket = firing("ticket");
    ticket.notified["team-webhook"] = kT0;  // told before the page fired
    tracker.restore({firing("page"), ticket}, kT0);
    tracker.plan({}, silences, kT0 + 1min);
    CHECK(tracker.find("slo:orders-fresh:ticket")->inhibited_by_alert.empty());
    // Its repeats go on (Alertmanager would resolve an alert not re-sent).
    const auto out = tracker.plan({}, silences, kT0 + 4h);
    CHECK(sent(out, "slo:orders-fresh:ticket") ==
          std::vector<std::string>{"team-webhook firing repeat"});
  }
  {
    AlertTracker tracker(cfg);
    tracker.restore({firing("page"), firing("ticket")}, kT0);
    tracker.plan({}, silences, kT0 + 1min);
    CHECK(tracker.find("slo:orders-fresh:ticket")->inhibited_by_alert == "slo:orders-fresh:page");
    Silence s;
    s.match = {{"severity", "page"}};
    s.starts = kT0;
    s.ends = kT0 + 1h;
    silences.add(s);
    // The page is silenced: the ticket is what announces the outage.
    const auto out = tracker.plan({}, silences, kT0 + 2min);
    CHECK(tracker.find("slo:orders-fresh:page")->silenced_by.rfind("api-", 0) == 0);
    CHECK(tracker.find("slo:orders-fresh:ticket")->inhibited_by_alert.empty());
    CHECK(sent(out, "slo:orders-fresh:ticket") == std::vector<std::string>{"team-webhook firing"});
  }
}
