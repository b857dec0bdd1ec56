// Alerting through the `datawatch` binary: notifications survive kill -9 in the
// middle of retrying (at least once, same delivery_id), silences over the API,
// secrets kept out of logs and responses, and an SLO alert end to end.

#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include "core/time_format.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kToken = "tok-Zq81xLr0aa";
const std::string kUrlSecret = "urlsecret-9f8e7d6c";
const std::string kHmacSecret = "hmacsecret-1a2b3c4d";

std::unique_ptr<Process> startAgent(const TempDir& dir, const std::string& log,
                                    const std::map<std::string, std::string>& env) {
  return std::make_unique<Process>(
      std::vector<std::string>{kBinary, "run", "-c", (dir / "datawatch.yaml").string(), "--listen",
                               "127.0.0.1:0"},
      dir / (log + ".out"), dir / (log + ".err"), env);
}

// Waits until /api/v1/incidents lists exactly one incident, resolved.
bool oneResolvedIncident(httplib::Client& http, json& incidents, std::chrono::seconds timeout) {
  return eventually(
      [&] {
        auto res = http.Get("/api/v1/incidents");
        if (!res) return false;
        incidents = json::parse(res->body);
        return incidents.size() == 1 && incidents[0]["status"] == "resolved";
      },
      timeout);
}

}  // namespace

TEST_CASE(
    "kill -9 while a notification is being retried: delivered after the restart once "
    "with its delivery id - silences API - no secret in logs or responses",
    "[integration][notify][agent][threads]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());  // newest row 10 minutes old: older than max_age 1m
  Receiver hook;
  hook.respondWith(500, "receiver broken");
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: sqlite://./state.db
  api_token: ${DW_TOKEN}
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: created_at,
     max_age: 1m, every: 1s, owner: team-billing, alert: {after: 1, severity: warning, notify: [hook]}}
notifiers:
  hook: {type: webhook, url: "${HOOK_URL}", secret: "${HOOK_SECRET}", timeout: 2s}
)");
  const std::map<std::string, std::string> env{{"DW_TOKEN", kToken},
                                               {"HOOK_URL", hook.url("/dw?token=" + kUrlSecret)},
                                               {"HOOK_SECRET", kHmacSecret}};

  auto agent = startAgent(dir, "first", env);
  // The alert fires, its notification fails (500) and is retried with backoff.
  REQUIRE(hook.waitRequests(2, 40s));
  int port = listenPort(dir / "first.err");
  REQUIRE(port > 0);
  {
    httplib::Client http("127.0.0.1", port);
    std::string metrics;
    REQUIRE(eventually(
        [&] {
          auto res = http.Get("/metrics");
          metrics = res ? res->body : "";
          return promSample(metrics, R"(datawatch_notification_failures_total{notifier="hook"})")
                     .value_or(0) >= 2;
        },
        10s));
    CHECK(promSample(metrics, "datawatch_notification_queue_size") == 1);
    CHECK(promSample(metrics, R"(datawatch_notifications_dropped_total{notifier="hook"})") == 0);
  }
  agent->signal(SIGKILL);
  agent->wait(10s);
  const auto before = hook.requests();
  const std::string id = before.at(0).header("x-datawatch-delivery");
  REQUIRE(id.size() == 32);
  for (const auto& r : before) CHECK(r.header("x-datawatch-delivery") == id);
  CHECK(before.at(0).json()["alert"]["id"] == "probe:orders_fresh:warning");

  // Back up: the receiver works now; the new agent finds the queued notification.
  hook.respondWith(200, "ok");
  agent = startAgent(dir, "second", env);
  REQUIRE(hook.waitAccepted(1, 40s));
  const auto accepted = hook.accepted();
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0].header("x-datawatch-delivery") == id);
  CHECK(accepted[0].path == "/dw");
  CHECK(accepted[0].json()["status"] == "firing");
  // The alert was restored, not fired again: no second firing notification.
  REQUIRE(eventually([&] { return listenPort(dir / "second.err") > 0; }, 10s));
  port = listenPort(dir / "second.err");
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5, 0);
  CHECK(eventually(
      [&] {
        return readFile(dir / "second.err").find("notification " + id + " delivered to hook") !=
               std::string::npos;
      },
      10s));
  CHECK(readFile(dir / "second.err").find("1 firing alert(s) restored") != std::string::npos);
  {
    // Restored, not re-fired: this agent made exactly the one attempt, the outbox is empty.
    std::string metrics = http.Get("/metrics")->body;
    CHECK(promSample(metrics, R"(datawatch_notifications_total{notifier="hook"})") == 1);
    CHECK(eventually(
        [&] {
          return promSample(http.Get("/metrics")->body, "datawatch_notification_queue_size") == 0;
        },
        5s));
  }

  // Silences over the API: reads are open, changes need the bearer token.
  auto get = [&](const std::string& path) { return json::parse(http.Get(path)->body); };
  CHECK(get("/api/v1/silences") == json::array());
  const std::string body = R"({"match":{"probe":"orders_fresh"},"until":")" +
                           formatRfc3339(std::chrono::system_clock::now() + 1h) +
                           R"(","reason":"backfill"})";
  auto res = http.Post("/api/v1/silences", body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 401);
  httplib::Headers wrong{{"Authorization", "Bearer nope"}};
  CHECK(http.Post("/api/v1/silences", wrong, body, "application/json")->status == 401);
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  res = http.Post("/api/v1/silences", auth, R"({"match":{}})", "application/json");
  CHECK(res->status == 400);
  CHECK_THAT(json::parse(res->body)["error"].get<std::string>(), Catch::Contains("match"));
  res = http.Post("/api/v1/silences", auth, body, "application/json");
  REQUIRE(res->status == 201);
  const std::string silence = json::parse(res->body)["id"];
  CHECK(get("/api/v1/silences").at(0)["id"] == silence);
  CHECK(get("/api/v1/silences").at(0)["active"] == true);
  const json status = get("/api/v1/status");
  REQUIRE(status["alerts"].size() == 1);
  CHECK(status["alerts"][0]["silenced_by"] == silence);  // still firing, still shown
  CHECK(status["silences"].size() == 1);
  const std::string page = http.Get("/")->body;  // the status page shows both
  CHECK(page.find("probe:orders_fresh:warning") != std::string::npos);
  CHECK(page.find("silenced by " + silence) != std::string::npos);
  CHECK(http.Delete("/api/v1/silences/" + silence)->status == 401);
  CHECK(http.Delete("/api/v1/silences/" + silence, auth)->status == 204);
  CHECK(http.Delete("/api/v1/silences/" + silence, auth)->status == 404);
  CHECK(get("/api/v1/silences") == json::array());

  // Secrets: the webhook URL's token, the HMAC key and the API token appear nowhere.
  std::string everything = readFile(dir / "first.err") + readFile(dir / "first.out") +
                           readFile(dir / "second.err") + readFile(dir / "second.out") +
                           http.Get("/api/v1/status")->body + http.Get("/metrics")->body +
                           http.Get("/")->body + http.Get("/api/v1/silences")->body;
  for (const auto& secret : {kUrlSecret, kHmacSecret, kToken}) {
    INFO(secret);
    CHECK(everything.find(secret) == std::string::npos);
  }
  agent->signal(SIGTERM);
  CHECK(agent->wait(20s) == 0);
}

TEST_CASE(
    "end to end: a table goes stale and the SLO alert reaches the receiver - the table is "
    "fixed and the resolve arrives",
    "[integration][notify][agent][e2e][threads]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());
  Receiver hook;
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: sqlite://./state.db
  postmortems: {dir: ./pm}
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: created_at,
     max_age: 1h, every: 1s, owner: team-billing, consumers: [finance-dashboard]}
slos:
  - name: orders-fresh
    objective: 90
    window: 1d
    probes: [orders_fresh]
    alerting:
      page: {notify: [hook]}
      ticket: {notify: []}
      windows: [{severity: page, long: 5m, short: 1m, burn_rate: 5}]
notifiers:
  hook: {type: webhook, url: ")" + hook.url("/dw") +
                                        R"("}
)");
  auto agent = startAgent(dir, "agent", {});
  REQUIRE(eventually([&] { return listenPort(dir / "agent.err") > 0; }, 20s));
  // A few good runs, then the loader stops: every row is two hours old.
  REQUIRE(eventually(
      [&] { return readFile(dir / "agent.err").find("started") != std::string::npos; }, 10s));
  SqliteDb db(dir / "warehouse.db");
  db.exec("UPDATE orders SET created_at = '" +
          formatRfc3339(std::chrono::system_clock::now() - 2h) + "'");
  REQUIRE(hook.waitAccepted(1, 60s));
  const json fired = hook.accepted().at(0).json();
  CHECK(fired["status"] == "firing");
  CHECK(fired["alert"]["id"] == "slo:orders-fresh:page");
  CHECK(fired["alert"]["owner"] == "team-billing");
  CHECK(fired["alert"]["slo"]["objective"] == 0.9);
  CHECK(fired["alert"]["slo"]["burn_rates"]["5m"].get<double>() > 5);
  CHECK(fired["alert"]["probes"][0]["status"] == "fail");
  CHECK(fired["alert"]["probes"][0]["value"].get<double>() >= 7200);
  CHECK(fired["alert"]["downstream"]["consumers"] == json::array({"finance-dashboard"}));
  // Notifications carry their incident (issue 15 #7).
  REQUIRE(fired["alert"]["incident_id"].is_string());
  const std::string incident_id = fired["alert"]["incident_id"];
  CHECK(incident_id.rfind("INC-", 0) == 0);
  // The loader catches up.
  db.exec("INSERT INTO orders (created_at) VALUES ('" +
          formatRfc3339(std::chrono::system_clock::now()) + "')");
  INFO(readFile(dir / "agent.err"));
  REQUIRE(hook.waitAccepted(2, 120s));
  const json resolved = hook.accepted().at(1).json();
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["alert"]["id"] == "slo:orders-fresh:page");
  CHECK(resolved["alert"]["started_at"] == fired["alert"]["started_at"]);
  CHECK(resolved["delivery_id"] != fired["delivery_id"]);
  CHECK(resolved["alert"]["incident_id"] == incident_id);
  const std::string pm_link = resolved["alert"]["links"].value("postmortem", "");
  CHECK(pm_link.size() > incident_id.size() + 3);
  CHECK(pm_link.substr(pm_link.size() - incident_id.size() - 3) == incident_id + ".md");
  CHECK(hook.accepted().size() == 2);
  // The incident it opened has resolved, with its post-mortem drafted.
  httplib::Client http("127.0.0.1", listenPort(dir / "agent.err"));
  json incidents;
  REQUIRE(oneResolvedIncident(http, incidents, 20s));
  const std::string id = incidents[0]["id"];
  CHECK(id == incident_id);
  // The draft is written right after the incident is stored resolved (which the
  // API shows at once): wait for it, within the agent's next step.
  CHECK(eventually(
      [&] {
        return std::filesystem::exists(dir / "pm" / (id + ".md")) &&
               std::filesystem::exists(dir / "pm" / (id + ".svg"));
      },
      20s));
  CHECK(std::filesystem::exists(pm_link));
  CHECK(incidents[0]["subject"] == "orders-fresh");
  CHECK(std::filesystem::exists(dir / "pm" / (id + ".md")));
  CHECK(std::filesystem::exists(dir / "pm" / (id + ".svg")));
  auto one = http.Get("/api/v1/incidents/" + id);
  REQUIRE(one);
  CHECK(json::parse(one->body)["timeline"].size() >= 4);
  CHECK(http.Get("/api/v1/incidents/INC-19990101-1")->status == 404);
  agent->signal(SIGTERM);
  CHECK(agent->wait(20s) == 0);
}

TEST_CASE(
    "an alert whose definition left the config while the agent was down resolves at the "
    "restart - sent, and its incident closed (issue 15 #9)",
    "[integration][notify][agent]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());  // newest row 10 minutes old: older than max_age 1m
  Receiver hook;
  const std::string head = R"(agent:
  state: sqlite://./state.db
  postmortems: {dir: ./pm}
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: created_at,
     max_age: 1m, every: 1s)";
  const std::string tail = R"(}
notifiers:
  hook: {type: webhook, url: ")" +
                           hook.url("/dw") + "\"}\n";
  writeFile(dir / "datawatch.yaml",
            head + ", alert: {after: 1, severity: warning, notify: [hook]}" + tail);
  auto agent = startAgent(dir, "first", {});
  REQUIRE(hook.waitAccepted(1, 40s));
  const json fired = hook.accepted().at(0).json();
  REQUIRE(fired["status"] == "firing");
  agent->signal(SIGTERM);
  REQUIRE(agent->wait(20s) == 0);

  // While it is down, the alert is taken out of the config.
  writeFile(dir / "datawatch.yaml", head + tail);
  agent = startAgent(dir, "second", {});
  REQUIRE(hook.waitAccepted(2, 40s));
  const json resolved = hook.accepted().at(1).json();
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["alert"]["id"] == "probe:orders_fresh:warning");
  CHECK(resolved["alert"]["started_at"] == fired["alert"]["started_at"]);
  CHECK(resolved["alert"]["summary"] == "no longer configured");
  CHECK(resolved["alert"]["incident_id"] == fired["alert"]["incident_id"]);
  REQUIRE(eventually([&] { return listenPort(dir / "second.err") > 0; }, 10s));
  httplib::Client http("127.0.0.1", listenPort(dir / "second.err"));
  json incidents;
  CHECK(oneResolvedIncident(http, incidents, 10s));
  CHECK(json::parse(http.Get("/api/v1/status")->body)["alerts"] == json::array());
  agent->signal(SIGTERM);
  CHECK(agent->wait(20s) == 0);
}
