// Notifiers and the outbox against real HTTP receivers on 127.0.0.1 (SPEC §5):
// each payload is checked against its receiver's documented format, and the
// delivery guarantees (retries, Retry-After, timeouts, 24 h give-up, isolation
// between notifiers) are exercised on the simulated clock where time matters.
#include <openssl/hmac.h>
#include <catch2/catch.hpp>

#include <set>

#include "alerting/alerts.hpp"
#include "alerting/notification.hpp"
#include "alerting/notifiers.hpp"
#include "alerting/outbox.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/notify_pipeline.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const TimePoint kT0 = kNotifyT0;

// ---- format checks, from the receivers' documentation. Each returns the problems.
size_t chars(const std::string& s) {  // UTF-8 code points, as Slack counts
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool isRfc3339(const json& v) {
  return v.is_string() && parseTimestamp(v.get<std::string>()).has_value();
}

// Block Kit (api.slack.com/reference/block-kit): at most 50 blocks; header text
// plain_text <= 150; section text <= 3000; context elements <= 10.
std::vector<std::string> slackProblems(const json& m) {
  std::vector<std::string> p;
  if (!m.contains("text") || !m["text"].is_string()) p.push_back("no fallback text");
  if (!m.contains("blocks") || !m["blocks"].is_array()) return {"no blocks"};
  if (m["blocks"].size() > 50) p.push_back("more than 50 blocks");
  for (const auto& b : m["blocks"]) {
    const std::string type = b.value("type", "");
    if (type == "header") {
      if (b["text"].value("type", "") != "plain_text") p.push_back("header not plain_text");
      if (chars(b["text"].value("text", "")) > 150) p.push_back("header over 150 chars");
    } else if (type == "section") {
      if (chars(b["text"].value("text", "")) > 3000) p.push_back("section over 3000 chars");
      if (b["text"].value("type", "") != "mrkdwn") p.push_back("section not mrkdwn");
    } else if (type == "context") {
      if (!b["elements"].is_array() || b["elements"].empty() || b["elements"].size() > 10)
        p.push_back("context elements not 1..10");
    } else {
      p.push_back("unexpected block type " + type);
    }
  }
  return p;
}

// Events API v2 (developer.pagerduty.com, "Send an Alert Event").
std::vector<std::string> pagerdutyProblems(const json& e) {
  std::vector<std::string> p;
  if (e.value("routing_key", "").size() != 32) p.push_back("routing_key not 32 chars");
  const std::string action = e.value("event_action", "");
  if (action != "trigger" && action != "resolve") p.push_back("bad event_action " + action);
  const std::string dedup = e.value("dedup_key", "");
  if (dedup.empty() || dedup.size() > 255) p.push_back("dedup_key missing or over 255");
  if (action == "trigger") {
    const json pl = e.value("payload", json::object());
    const std::string summary = pl.value("summary", "");
    if (summary.empty() || summary.size() > 1024) p.push_back("summary empty or over 1024");
    if (pl.value("source", "").empty()) p.push_back("no source");
    const std::set<std::string> sev{"critical", "error", "warning", "info"};
    if (!sev.count(pl.value("severity", ""))) p.push_back("bad severity");
    if (pl.contains("timestamp") && !isRfc3339(pl["timestamp"])) p.push_back("bad timestamp");
  }
  return p;
}

// Alertmanager API v2 postableAlerts (api/v2/openapi.yaml).
std::vector<std::string> alertmanagerProblems(const json& alerts) {
  if (!alerts.is_array() || alerts.empty()) return {"not a non-empty array"};
  std::vector<std::string> p;
  for (const auto& a : alerts) {
    if (!a.contains("labels") || !a["labels"].is_object() || a["labels"].empty())
      p.push_back("labels missing");
    const json labels = a.value("labels", json::object());
    const json annotations = a.value("annotations", json::object());
    for (const auto& [k, v] : labels.items())
      if (!v.is_string()) p.push_back("label " + k + " not a string");
    for (const auto& [k, v] : annotations.items())
      if (!v.is_string()) p.push_back("annotation " + k + " not a string");
    if (!a["labels"].contains("alertname")) p.push_back("no alertname");
    if (!isRfc3339(a["startsAt"]) || !isRfc3339(a["endsAt"])) p.push_back("bad startsAt/endsAt");
  }
  return p;
}

// Alertmanager webhook v4 (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
std::vector<std::string> webhookV4Problems(const json& b) {
  std::vector<std::string> p;
  if (b.value("version", "") != "4") p.push_back("version not 4");
  for (const char* k : {"groupKey", "status", "receiver", "externalURL"})
    if (!b.contains(k) || !b[k].is_string()) p.push_back(std::string("no ") + k);
  for (const char* k : {"groupLabels", "commonLabels", "commonAnnotations"})
    if (!b.contains(k) || !b[k].is_object()) p.push_back(std::string("no ") + k);
  if (!b.contains("alerts") || !b["alerts"].is_array() || b["alerts"].size() != 1)
    return p.push_back("alerts not one element"), p;
  const json& a = b["alerts"][0];
  for (const char* k : {"status", "startsAt", "endsAt", "generatorURL", "fingerprint"})
    if (!a.contains(k) || !a[k].is_string()) p.push_back(std::string("alert without ") + k);
  return p;
}

// SPEC §5 generic body.
std::vector<std::string> datawatchProblems(const json& b) {
  std::vector<std::string> p;
  if (b.value("version", "") != "1") p.push_back("version not 1");
  if (b.value("delivery_id", "").size() != 32) p.push_back("delivery_id not 32 hex");
  const json a = b.value("alert", json::object());
  for (const char* k : {"id", "kind", "name", "severity", "summary", "started_at", "owner"})
    if (!a.contains(k) || !a[k].is_string()) p.push_back(std::string("alert without ") + k);
  for (const char* k : {"resolved_at", "labels", "incident_id", "probes", "links"})
    if (!a.contains(k)) p.push_back(std::string("alert without ") + k);
  return p;
}

std::string hmacHex(const std::string& key, const std::string& msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
  std::string out;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

}  // namespace

TEST_CASE("every notifier's payload matches its receiver's documented format",
          "[integration][notify][threads]") {
  Receiver slack, hook, am_hook, pd, am;
  Pipeline p(R"(
agent: {postmortems: {dashboard_url: "https://grafana.example.com/d/datawatch"}}
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: raw_orders_fresh, type: freshness, source: shop, table: raw_orders, column: ts, max_age: 1h,
     owner: team-ingest, consumers: [ingest-monitor],
     alert: {after: 1, severity: page, notify: [slack, hook, am-hook, pd, am, log]}}
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 1h,
     upstream: [raw_orders_fresh], consumers: [finance-dashboard, churn-model]}
notifiers:
  slack: {type: slack, webhook_url: ")" +
             slack.url("/services/T0/B0/XYZ") + R"(", mention: "<!subteam^S0123>", group_wait: 30s}
  hook: {type: webhook, url: ")" +
             hook.url("/dw") + R"(", secret: s3cret-hmac-key, headers: {X-Team: billing}}
  am-hook: {type: webhook, url: ")" +
             am_hook.url("/am") + R"(", format: alertmanager}
  pd: {type: pagerduty, routing_key: 0123456789abcdef0123456789abcdef, url: ")" +
             pd.url() + R"("}
  am: {type: alertmanager, url: ")" +
             am.url() + R"("}
  log: {type: file, path: alerts.jsonl}
)");
  REQUIRE(p.run("raw_orders_fresh", ProbeStatus::Fail) == 6);
  for (const char* n : {"hook", "am-hook", "pd", "am", "log"}) {
    INFO(n);
    CHECK(p.pump(n).delivered == 1);
  }
  // Slack waits group_wait for more changes to join the message.
  CHECK(p.pump("slack").delivered == 0);
  p.clock.advance(30s);
  CHECK(p.pump("slack").delivered == 1);
  CHECK(p.queued() == 0);

  // The generic webhook: SPEC §5 body, headers, signature checked with OpenSSL.
  REQUIRE(hook.accepted().size() == 1);
  const auto hr = hook.accepted().at(0);
  CHECK(hr.path == "/dw");
  const json body = hr.json();
  CHECK(datawatchProblems(body).empty());
  CHECK(body["status"] == "firing");
  CHECK(body["alert"]["id"] == "probe:raw_orders_fresh:page");
  CHECK(body["alert"]["owner"] == "team-ingest");
  CHECK(body["alert"]["probes"][0]["value"] == 7260);
  CHECK(body["alert"]["probes"][0]["unit"] == "seconds");
  CHECK(body["alert"]["links"]["dashboard"] == "https://grafana.example.com/d/datawatch");
  // Lineage: the upstream alert names the downstream probe and every consumer affected.
  CHECK(body["alert"]["downstream"]["probes"] == json::array({"orders_fresh"}));
  CHECK(body["alert"]["downstream"]["consumers"] ==
        json::array({"churn-model", "finance-dashboard", "ingest-monitor"}));
  CHECK(hr.header("x-datawatch-delivery") == body["delivery_id"]);
  CHECK(hr.header("x-datawatch-timestamp") ==
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(p.clock.now().time_since_epoch() - 30s)
                .count()));
  CHECK(hr.header("x-datawatch-signature") ==
        "sha256=" + hmacHex("s3cret-hmac-key", hr.header("x-datawatch-timestamp") + "." + hr.body));
  CHECK(hr.header("x-team") == "billing");
  CHECK(hr.header("content-type") == "application/json; charset=utf-8");

  // Alertmanager webhook v4 body.
  const json v4 = am_hook.accepted().at(0).json();
  CHECK(webhookV4Problems(v4).empty());
  CHECK(v4["alerts"][0]["labels"]["alertname"] == "DatawatchProbeFailing");
  CHECK(v4["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z");

  // PagerDuty Events v2.
  REQUIRE(pd.accepted().size() == 1);
  CHECK(pd.accepted()[0].path == "/v2/enqueue");
  const json ev = pd.accepted()[0].json();
  CHECK(pagerdutyProblems(ev).empty());
  CHECK(ev["event_action"] == "trigger");
  CHECK(ev["dedup_key"] == "probe:raw_orders_fresh:page");
  CHECK(ev["payload"]["severity"] == "critical");  // page -> critical
  CHECK(ev["payload"]["component"] == "raw_orders");

  // Alertmanager API v2.
  REQUIRE(am.accepted().size() == 1);
  CHECK(am.accepted()[0].path == "/api/v2/alerts");
  const json ams = am.accepted()[0].json();
  CHECK(alertmanagerProblems(ams).empty());
  CHECK(ams[0]["labels"]["probe"] == "raw_orders_fresh");
  CHECK(*parseTimestamp(ams[0]["endsAt"].get<std::string>()) > p.clock.now());

  // Slack Block Kit, with the mention and the numbers.
  REQUIRE(slack.accepted().size() == 1);
  CHECK(slack.accepted()[0].path == "/services/T0/B0/XYZ");
  const json msg = slack.accepted()[0].json();
  CHECK(slackProblems(msg).empty());
  CHECK(msg["blocks"][0]["text"]["text"] == "[FIRING] page: probe raw_orders_fresh");
  const std::string section = msg["blocks"][1]["text"]["text"];
  CHECK_THAT(section, Catch::StartsWith("<!subteam^S0123> :rotating_light:"));
  CHECK_THAT(section, Catch::Contains("`raw_orders_fresh` fail: 2h1m (max age 1h)"));
  CHECK_THAT(section, Catch::Contains("*Owner:* team-ingest"));
  CHECK_THAT(section, Catch::Contains("downstream probes orders_fresh"));

  // The file: one SPEC §5 body a line.
  const auto lines = readFile(p.dir / "alerts.jsonl");
  CHECK(json::parse(lines.substr(0, lines.find('\n')))["alert"]["id"] ==
        "probe:raw_orders_fresh:page");

  // The resolve reaches every notifier that heard the alert fire.
  p.clock.advance(5min);
  REQUIRE(p.run("raw_orders_fresh", ProbeStatus::Pass) == 6);
  for (const char* n : {"hook", "am-hook", "pd", "am", "log"}) CHECK(p.pump(n).delivered == 1);
  p.clock.advance(30s);
  CHECK(p.pump("slack").delivered == 1);
  CHECK(hook.accepted().at(1).json()["status"] == "resolved");
  CHECK(hook.accepted().at(1).json()["delivery_id"] != body["delivery_id"]);
  const json resolve = pd.accepted().at(1).json();
  CHECK(pagerdutyProblems(resolve).empty());
  CHECK(resolve["event_action"] == "resolve");
  CHECK(resolve["dedup_key"] == "probe:raw_orders_fresh:page");
  CHECK(am.accepted().at(1).json()[0]["endsAt"] == formatRfc3339(kT0 + 5min + 30s));
  CHECK(webhookV4Problems(am_hook.accepted().at(1).json()).empty());
  CHECK(am_hook.accepted().at(1).json()["status"] == "resolved");
  CHECK(slack.accepted().at(1).json()["blocks"][0]["text"]["text"] ==
        "[RESOLVED] page: probe raw_orders_fresh");
}

TEST_CASE("Slack: a storm of changes is one message within Block Kit limits, 429 is honoured",
          "[integration][notify][slack][threads]") {
  Receiver slack;
  Pipeline p(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
)" +
             [] {
               std::string probes;
               for (int i = 0; i < 60; ++i)
                 probes += "  - {name: t" + std::to_string(i) +
                           ", type: freshness, source: shop, table: t, column: ts, max_age: 1h, "
                           "alert: {after: 1, severity: warning, notify: [slack]}}\n";
               return probes;
             }() +
             R"(
notifiers:
  slack: {type: slack, webhook_url: ")" +
             slack.url("/hook") + R"(", mention: "@here", group_wait: 30s}
)");
  // 60 alerts fire over 20 s, with messages of 5,000 characters each.
  for (int i = 0; i < 60; ++i) {
    ProbeResult r;
    r.probe = "t" + std::to_string(i);
    r.status = ProbeStatus::Fail;
    r.message = std::string(5000, 'x') + " é";
    r.observed_at = p.clock.now();
    p.queue(p.tracker.observeProbe(r));
    if (i % 3 == 0) p.clock.advance(1s);
  }
  slack.respondWith(429, "rate_limited", {{"Retry-After", "45"}});
  p.clock.advance(10s);  // 30 s after the first change
  auto r = p.pump("slack");
  CHECK(r.failed == 60);
  REQUIRE(r.next);
  CHECK(*r.next == p.clock.now() + 45s);  // Retry-After, not the backoff
  slack.respondWith(200, "ok");
  p.clock.advance(44s);
  CHECK(p.pump("slack").delivered == 0);
  p.clock.advance(1s);
  CHECK(p.pump("slack").delivered == 60);
  REQUIRE(slack.requests().size() == 2);  // the 429, then one message with all 60
  const json msg = slack.accepted().at(0).json();
  CHECK(slackProblems(msg).empty());
  CHECK(msg["blocks"].size() == 50);
  CHECK(msg["blocks"][0]["text"]["text"] == "datawatch: 60 firing, 0 resolved");
  const std::string overflow = msg["blocks"].back()["text"]["text"];
  CHECK_THAT(overflow, Catch::StartsWith("…and 36 more:"));
  CHECK_THAT(overflow, Catch::Contains("`probe:t59:warning` firing"));
  CHECK(p.queued() == 0);

  // Slack's 4xx bodies say what is wrong; such a message is not retried.
  ProbeResult pass;
  pass.probe = "t0";
  pass.status = ProbeStatus::Pass;
  pass.observed_at = p.clock.now();
  p.queue(p.tracker.observeProbe(pass));
  slack.respondWith(400, "invalid_blocks");
  p.clock.advance(30s);
  CHECK(p.pump("slack").dropped == 1);
  REQUIRE(p.events.drop_reasons.size() == 1);
  CHECK_THAT(p.events.drop_reasons[0], Catch::Contains("HTTP 400: invalid_blocks"));
}

TEST_CASE("a receiver down for an hour gets the notification once it is back, with the same id",
          "[integration][notify][retry][threads]") {
  Receiver hook;
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url("/dw") + "\", timeout: 2s}"));
  hook.stop();  // connections refused
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  const auto queued = *p.store->dueNotifications("hook", TimePoint::max(), 10);
  REQUIRE(queued.size() == 1);
  const std::string id = queued[0].delivery_id;
  std::vector<TimePoint> attempts;
  while (p.clock.now() < kT0 + 1h) {
    auto r = p.pump("hook");
    CHECK(r.delivered == 0);
    if (r.failed) attempts.push_back(p.clock.now());
    p.clock.advanceTo(*r.next);
  }
  // Exponential backoff with ±20% jitter: ~5 s, 10 s, 20 s ... capped at 5 min.
  REQUIRE(attempts.size() >= 12);
  REQUIRE(attempts.size() <= 20);
  for (size_t i = 2; i < attempts.size(); ++i) {
    const auto gap = attempts[i] - attempts[i - 1];
    CHECK(gap >= 3s);
    CHECK(gap <= 6min);
    if (i < 5) CHECK(gap > (attempts[i - 1] - attempts[i - 2]));
  }
  CHECK_THAT(p.events.errors.back(), Catch::Contains("onnect"));
  CHECK(p.queued() == 1);  // still there, never lost
  const auto stored = *p.store->dueNotifications("hook", TimePoint::max(), 10);
  CHECK(stored.at(0).attempts == static_cast<int>(attempts.size()));
  hook.start();
  for (int i = 0; i < 10 && p.queued() > 0; ++i) {
    auto r = p.pump("hook");
    if (r.next) p.clock.advanceTo(*r.next);
  }
  CHECK(p.queued() == 0);
  CHECK(p.clock.now() - attempts.back() <= 6min);
  REQUIRE(hook.accepted().size() == 1);
  CHECK(hook.accepted()[0].header("x-datawatch-delivery") == id);
  CHECK(hook.accepted()[0].json()["delivery_id"] == id);
}

TEST_CASE("a notification still failing after 24 hours is dropped, counted and reported",
          "[integration][notify][retry][threads]") {
  Receiver hook;
  hook.respondWith(503, "maintenance");
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url() + "\"}"));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  while (p.queued() > 0 && p.clock.now() < kT0 + 25h) {
    auto r = p.pump("hook");
    if (r.next) p.clock.advanceTo(*r.next);
  }
  CHECK(p.queued() == 0);
  CHECK(p.events.n_dropped == 1);
  CHECK(p.events.n_delivered == 0);
  CHECK(p.clock.now() >= kT0 + 24h);
  CHECK(p.clock.now() <= kT0 + 24h + 6min);
  REQUIRE(p.events.drop_reasons.size() == 1);
  CHECK_THAT(p.events.drop_reasons[0], Catch::Contains("24h") && Catch::Contains("HTTP 503"));
}

TEST_CASE("a receiver that hangs fails the attempt at the notifier's timeout",
          "[integration][notify][retry][threads]") {
  Receiver hook;
  hook.respond([](const Receiver::Request&) { return Receiver::Reply{200, "late", {}, 20s}; });
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url() + "\", timeout: 300ms}"));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  const auto start = std::chrono::steady_clock::now();
  auto r = p.pump("hook");
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.failed == 1);
  CHECK(took < 3s);
  CHECK_THAT(p.events.errors.at(0), Catch::Contains("imed out"));
  hook.respondWith(200);
  p.clock.advanceTo(*r.next);
  CHECK(p.pump("hook").delivered == 1);
}

TEST_CASE("a dead receiver does not delay a live one",
          "[integration][notify][dispatcher][threads]") {
  Receiver dead, live;
  dead.respond([](const Receiver::Request&) { return Receiver::Reply{503, "", {}, 30s}; });
  TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  auto cfg = loadTestConfig(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes: []
notifiers:
  dead: {type: webhook, url: ")" +
                                dead.url() + R"(", timeout: 10s}
  live: {type: webhook, url: ")" +
                                live.url() + R"("}
)",
                            (dir / "d.yaml").string());
  SystemClock clock;
  Events events;
  Dispatcher dispatcher(*store, clock, &events);
  dispatcher.configure(*cfg);
  // Ten notifications to each, queued at once.
  std::vector<OutboxItem> items;
  for (int i = 0; i < 10; ++i) {
    for (const char* n : {"dead", "live"}) {
      OutboxItem it;
      it.delivery_id = std::string(n) + std::to_string(i);
      it.notifier = n;
      it.alert_id = "probe:p" + std::to_string(i) + ":warning";
      it.payload = {{"n", i}};
      it.created_at = it.next_attempt = clock.now();
      items.push_back(it);
    }
  }
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(store->commitAlerts("alerts/firing", json::array(), items));
  dispatcher.wake();
  CHECK(live.waitAccepted(10, 5s));
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // well before the dead one's 10 s timeout
  CHECK(dead.requests().size() == 1);                    // stuck on its first
  // The live queue removes its last item once the answer is back, just after
  // the receiver counted it.
  CHECK(eventually([&] { return *store->countNotifications() == 10; }, 5s));
  dead.stop();  // release the held request so the dispatcher can stop
  dispatcher.stop();
  CHECK(*store->countNotifications() == 10);  // the dead one's, kept for later
}

TEST_CASE("a dead receiver is probed not flooded - a flaky one keeps the queue moving",
          "[integration][notify][retry][threads]") {
  Receiver hook;
  std::string probes;
  for (int i = 0; i < 10; ++i)
    probes += "  - {name: t" + std::to_string(i) +
              ", type: freshness, source: shop, table: t, column: ts, max_age: 1h, "
              "alert: {after: 1, severity: warning, notify: [hook]}}\n";
  Pipeline p("sources:\n  shop: {type: sqlite, path: /nonexistent.db}\nprobes:\n" + probes +
             "notifiers:\n  hook: {type: webhook, url: \"" + hook.url() + "\"}\n");
  for (int i = 0; i < 10; ++i) p.run("t" + std::to_string(i), ProbeStatus::Fail);
  REQUIRE(p.queued() == 10);
  // Down: three requests, then the queue pauses instead of trying all ten.
  hook.respondWith(500, "down");
  auto r = p.pump("hook");
  CHECK(hook.requests().size() == 3);
  CHECK(r.failed == 3);
  REQUIRE(r.next);
  CHECK(*r.next > p.clock.now());
  CHECK(p.pump("hook").failed == 0);  // paused
  // Flaky: every other request fails; the queue keeps going and the failed ones
  // come back after their backoff, in order.
  int n = 0;
  hook.respond([&n](const Receiver::Request&) {
    return Receiver::Reply{++n % 2 ? 200 : 500, "", {}, {}};
  });
  p.clock.advanceTo(*r.next);
  while (p.queued() > 0 && p.clock.now() < kT0 + 1h) {
    r = p.pump("hook");
    if (r.next) p.clock.advanceTo(*r.next);
  }
  CHECK(p.queued() == 0);
  CHECK(p.clock.now() < kT0 + 5min);
  std::set<std::string> ids;
  for (const auto& a : hook.accepted()) ids.insert(a.header("x-datawatch-delivery"));
  CHECK(ids.size() == 10);
  CHECK(hook.accepted().size() == 10);  // each delivered once
}

TEST_CASE("fire then repeat every repeat_interval then resolve - each with its own delivery id",
          "[integration][notify][threads]") {
  Receiver hook;
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url() + "\", repeat_interval: 1h}"));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  // Still failing: nothing new within the hour, a repeat at the hour.
  p.clock.advance(59min);
  CHECK(p.run("orders_fresh", ProbeStatus::Fail) == 0);
  CHECK(p.queue({}) == 0);
  p.clock.advance(1min);
  CHECK(p.queue({}) == 1);
  CHECK(p.pump("hook").delivered == 1);
  p.clock.advance(10min);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Pass) == 1);
  CHECK(p.pump("hook").delivered == 1);
  const auto got = hook.accepted();
  REQUIRE(got.size() == 3);
  std::vector<std::string> seq;
  std::set<std::string> ids;
  for (const auto& r : got) {
    const json b = r.json();
    seq.push_back(b["status"].get<std::string>() + (b["alert"]["repeat"] == true ? "+" : ""));
    ids.insert(b["delivery_id"].get<std::string>());
    CHECK(b["alert"]["started_at"] == formatRfc3339(kT0));
  }
  CHECK(seq == std::vector<std::string>{"firing", "firing+", "resolved"});
  CHECK(ids.size() == 3);
  CHECK(got[2].json()["alert"]["resolved_at"] == formatRfc3339(kT0 + 70min));
}

TEST_CASE("a resolve never overtakes its firing when the firing failed first (issue 15 #3)",
          "[integration][notify][threads]") {
  Receiver hook;
  int answered = 0;
  hook.respond([&](const Receiver::Request&) {
    Receiver::Reply r;
    if (answered++ == 0) r.status = 500;  // only the very first request fails
    return r;
  });
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url() + "\"}"));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").failed == 1);
  // The probe recovers before the firing's retry is due: the resolve is queued
  // and due at once, but must wait for the firing.
  p.clock.advance(1s);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Pass) == 1);
  CHECK(p.pump("hook").delivered == 0);
  p.clock.advance(1min);
  CHECK(p.pump("hook").delivered == 2);
  std::vector<std::string> seq;
  for (const auto& r : hook.accepted()) seq.push_back(r.json()["status"]);
  CHECK(seq == std::vector<std::string>{"firing", "resolved"});
  CHECK(p.queued() == 0);
}

TEST_CASE("stopping the dispatcher aborts a send that hangs and keeps its notification queued",
          "[integration][notify][dispatcher][threads]") {
  Receiver hung;  // takes the request and holds its answer for a minute
  hung.respond([](const Receiver::Request&) { return Receiver::Reply{200, "late", {}, 60s}; });
  TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  auto cfg = loadTestConfig(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes: []
notifiers:
  hung: {type: webhook, url: ")" +
                                hung.url() + R"(", timeout: 60s}
)",
                            (dir / "d.yaml").string());
  SystemClock clock;
  Events events;
  Dispatcher dispatcher(*store, clock, &events);
  dispatcher.configure(*cfg);
  OutboxItem it;
  it.delivery_id = "d1";
  it.notifier = "hung";
  it.alert_id = "probe:p:warning";
  it.payload = {{"status", "firing"}};
  it.created_at = it.next_attempt = clock.now();
  REQUIRE(store->commitAlerts("alerts/firing", json::array(), {it}));
  dispatcher.wake();
  REQUIRE(hung.waitRequests(1, 10s));
  const auto start = std::chrono::steady_clock::now();
  dispatcher.stop();  // the receiver still holds its answer
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < 2s);
  // An abort is no verdict: not a failure, no attempt counted, no backoff.
  {
    std::lock_guard l(events.mu);
    CHECK(events.n_failed == 0);
    CHECK(events.n_dropped == 0);
  }
  auto queued = store->dueNotifications("hung", TimePoint::max(), 10);
  REQUIRE(queued.ok());
  REQUIRE(queued->size() == 1);
  CHECK(queued->at(0).attempts == 0);
  CHECK(queued->at(0).next_attempt <= it.next_attempt + 1s);  // no backoff (stored to the ms)
  hung.stop();
}

TEST_CASE("a firing dropped after 24 hours takes its resolve with it: no resolve without a firing",
          "[integration][notify][retry]") {
  Receiver hook;
  hook.respondWith(503, "maintenance");
  Pipeline p(oneNotifier("{type: webhook, url: \"" + hook.url() + "\"}"));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  p.clock.advance(1h);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Pass) == 1);  // the resolve waits behind it
  while (p.queued() > 0 && p.clock.now() < kT0 + 26h) {
    auto r = p.pump("hook");
    if (r.next) p.clock.advanceTo(*r.next);
  }
  CHECK(p.queued() == 0);
  CHECK(p.events.n_dropped == 2);
  CHECK(hook.accepted().empty());
  for (const auto& r : hook.requests()) CHECK(r.json()["status"] == "firing");  // never the resolve
  REQUIRE(p.events.drop_reasons.size() == 2);
  CHECK_THAT(p.events.drop_reasons[1], Catch::Contains("firing notification before it"));
}
