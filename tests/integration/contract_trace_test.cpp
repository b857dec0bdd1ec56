// A contract's probe names its contract and the rule's line everywhere a user
// meets it at runtime: the status API and page (`datawatch run`), `check`
// (JSON and table), `check --probe` hints, and alert payloads (SPEC §5 body,
// Alertmanager annotations, Slack). The contract below is written line by line
// so the rule's line (12) is known independently of the reader.

#include <httplib.h>
#include <signal.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "alerting/notification.hpp"
#include "alerting/notifiers.hpp"
#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kProbe = "orders_v1__orders__amount__null_values";

// The nullValues rule is on line 12; amount has no other rule.
const char* kContract =
    "kind: DataContract\n"                                                   // 1
    "apiVersion: v3.1.0\n"                                                   // 2
    "id: orders-v1\n"                                                        // 3
    "version: 1.0.0\n"                                                       // 4
    "status: active\n"                                                       // 5
    "schema:\n"                                                              // 6
    "  - name: orders\n"                                                     // 7
    "    properties:\n"                                                      // 8
    "      - name: amount\n"                                                 // 9
    "        logicalType: integer\n"                                         // 10
    "        quality:\n"                                                     // 11
    "          - {metric: nullValues, mustBeLessThan: 1, unit: percent}\n";  // 12

// A warehouse whose orders.amount is 1 null in 3 rows (33% >= 1%: fails), the
// contract, and a config watching it; returns the config's path.
std::filesystem::path writeSetup(const TempDir& dir) {
  SqliteDb db(dir / "warehouse.db");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER)");
  db.exec("INSERT INTO orders (amount) VALUES (10), (20), (NULL)");
  writeFile(dir / "orders.odcs.yaml", kContract);
  writeFile(dir / "dw.yaml",
            "agent: {state: sqlite://./state.db}\n"
            "sources:\n  shop: {type: sqlite, path: ./warehouse.db}\n"
            "contracts:\n  - {path: orders.odcs.yaml, source: shop, every: 1h}\n");
  return dir / "dw.yaml";
}

}  // namespace

TEST_CASE("contract trace: check names the contract and the rule's line", "[contracts][check]") {
  TempDir dir;
  const auto cfg_path = writeSetup(dir);
  const std::string file = (dir / "orders.odcs.yaml").string();

  auto cfg = loadTestConfig(readFile(cfg_path), cfg_path.string());
  const auto* pc = cfg->findProbe(kProbe);
  REQUIRE(pc);
  CHECK(pc->loc.line == 12);
  // A quality rule without a description gets one saying what it checks.
  CHECK(pc->description == "nullValues of orders.amount must be < 1%");

  auto js = runCommand(
      {kBinary, "check", "-c", cfg_path.string(), "--probe", kProbe, "--format", "json"});
  CHECK(js.exit_code == 1);
  const json arr = json::parse(js.out);
  REQUIRE(arr.size() == 1);
  CHECK(arr[0]["status"] == "fail");
  CHECK(arr[0]["contract"] ==
        json{{"id", "orders-v1"}, {"file", file}, {"line", 12}, {"column", pc->loc.column}});
  CHECK(pc->loc.column > 0);

  auto table = runCommand({kBinary, "check", "-c", cfg_path.string(), "--probe", kProbe});
  CHECK(table.exit_code == 1);
  INFO(table.out);
  CHECK(table.out.find("1 violating row of 3: 1 null (") != std::string::npos);
  CHECK(table.out.find(", must be < 1% (at " + file + ":12)\n") != std::string::npos);

  // The contract id's dash typed for the name's underscore: a hint.
  auto typo = runCommand({kBinary, "check", "-c", cfg_path.string(), "--probe",
                          "orders-v1__orders__amount__null_values"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err ==
        "datawatch check: no probe named \"orders-v1__orders__amount__null_values\" "
        "(did you mean \"" +
            kProbe + "\"?)\n");
  auto far = runCommand({kBinary, "check", "-c", cfg_path.string(), "--probe", "nope"});
  CHECK(far.err == "datawatch check: no probe named \"nope\"\n");
}

TEST_CASE("contract trace: the status API and page name the contract and the rule's line",
          "[contracts][run][threads]") {
  TempDir dir;
  const auto cfg_path = writeSetup(dir);
  const std::string file = (dir / "orders.odcs.yaml").string();
  Process agent({kBinary, "run", "-c", cfg_path.string(), "--listen", "127.0.0.1:0"},
                dir / "out.log", dir / "err.log");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "err.log")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5, 0);
  auto res = http.Get("/api/v1/status");
  REQUIRE(res);
  const json status = json::parse(res->body);
  bool found = false;
  for (const auto& p : status["probes"]) {
    REQUIRE(p.contains("contract"));  // every probe here comes from the contract
    CHECK(p["contract"]["id"] == "orders-v1");
    CHECK(p["contract"]["file"] == file);
    if (p["name"] != kProbe) continue;
    found = true;
    CHECK(p["contract"]["line"] == 12);
  }
  CHECK(found);
  auto page = http.Get("/");
  REQUIRE(page);
  CHECK(page->body.find("contract orders-v1 &middot; " + file + ":12</small>") !=
        std::string::npos);
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
}

TEST_CASE("contract trace: alert payloads carry the contract and the rule", "[contracts][alerts]") {
  config::Config cfg;
  config::ProbeConfig p;
  p.name = kProbe;
  p.type = config::ProbeType::Values;
  p.table = "orders";
  p.contract = "orders-v1";
  p.loc = {"contracts/orders.odcs.yaml", 12, 13};
  cfg.probes.push_back(p);
  config::ProbeConfig plain;
  plain.name = "plain";
  plain.type = config::ProbeType::Volume;
  plain.table = "orders";
  cfg.probes.push_back(plain);

  const TimePoint now = *parseTimestamp("2026-11-26T10:00:00Z");
  auto body = [&](const std::string& probe) {
    Outgoing o;
    o.alert.kind = "probe";
    o.alert.subject = probe;
    o.alert.severity = "error";
    o.alert.started_at = now;
    o.notifier = "hook";
    o.at = now;
    NotificationContext ctx;
    ctx.cfg = &cfg;
    return notificationBody(o, "d1", ctx);
  };
  const json b = body(kProbe);
  CHECK(b["alert"]["probes"][0]["contract"] == json{{"id", "orders-v1"},
                                                    {"file", "contracts/orders.odcs.yaml"},
                                                    {"line", 12},
                                                    {"column", 13}});
  const json am = alertmanagerWebhook(b, "r");
  CHECK(am["commonAnnotations"]["contract"] == "orders-v1");
  CHECK(am["commonAnnotations"]["contract_rule"] == "contracts/orders.odcs.yaml:12");
  CHECK(pagerdutyEvent(b, "k")["payload"]["custom_details"]["probes"][0]["contract"]["line"] == 12);
  const std::string slack = slackMessage({b}, config::SlackNotifierConfig{}).dump();
  CHECK(slack.find("(contract orders-v1 \xC2\xB7 contracts/orders.odcs.yaml:12)") !=
        std::string::npos);

  // A probe written in the config: no field added anywhere.
  const json q = body("plain");
  CHECK_FALSE(q["alert"]["probes"][0].contains("contract"));
  const json qa = alertmanagerWebhook(q, "r")["commonAnnotations"];
  CHECK_FALSE(qa.contains("contract"));
  CHECK_FALSE(qa.contains("contract_rule"));
}
