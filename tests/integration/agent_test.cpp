// End-to-end tests of the `datawatch` binary: `run` over real HTTP on 127.0.0.1,
// signals, and the exit codes of `check` and `validate`.

#include <httplib.h>
#include <signal.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>

#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kToken = "tok-Zq81xx-never-log-me";

const char* kConfig = R"(agent:
  state: sqlite://./state.db
  api_token: ${DW_TOKEN}
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: created_at, max_age: 1h, every: 1s, owner: team-shop}
  - {name: orders_volume, type: volume, source: shop, table: orders, min: 1000, every: 1s}
  - {name: secret_table, type: volume, source: shop, table: "${DW_TOKEN}", min: 1, every: 1s}
)";

}  // namespace

TEST_CASE("datawatch run serves metrics and status, reloads on SIGHUP and stops on SIGTERM",
          "[integration][run][threads]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());
  writeFile(dir / "datawatch.yaml", kConfig);
  Process agent(
      {kBinary, "run", "-c", (dir / "datawatch.yaml").string(), "--listen", "127.0.0.1:0"},
      dir / "out.log", dir / "err.log", {{"DW_TOKEN", kToken}});
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "err.log")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5, 0);

  // Every probe has run at least once.
  nlohmann::json status;
  REQUIRE(eventually(
      [&] {
        auto res = http.Get("/api/v1/status");
        if (!res || res->status != 200) return false;
        status = nlohmann::json::parse(res->body);
        for (const auto& p : status["probes"])
          if (p["last"].is_null()) return false;
        return status["probes"].size() == 3;
      },
      20s));
  const auto& fresh = status["probes"][0];
  CHECK(fresh["name"] == "orders_fresh");
  CHECK(fresh["last"]["status"] == "pass");
  CHECK(fresh["last"]["value"].get<double>() == Approx(600).margin(15));
  CHECK(status["probes"][1]["last"]["status"] == "fail");
  CHECK(status["probes"][1]["last"]["value"] == 42.0);
  CHECK(status["probes"][2]["last"]["status"] == "error");

  auto metrics = http.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  const std::string fl =
      R"({owner="team-shop",probe="orders_fresh",probe_type="freshness",source="shop",target="orders"})";
  const std::string vl =
      R"({owner="",probe="orders_volume",probe_type="volume",source="shop",target="orders"})";
  CHECK(promSample(metrics->body, "datawatch_probe_success" + fl) == 1.0);
  CHECK(promSample(metrics->body, "datawatch_freshness_age_seconds" + fl).value_or(-1) ==
        Approx(600).margin(15));
  CHECK(promSample(metrics->body, "datawatch_volume_rows" + vl) == 42.0);
  CHECK(promSample(metrics->body, "datawatch_probe_success" + vl) == 0.0);
  CHECK(promSample(metrics->body, "datawatch_probe_failures_total" + vl).value_or(0) >= 1.0);
  CHECK(promSample(metrics->body, "datawatch_config_last_reload_success") == 1.0);
  CHECK(metrics->body.find("datawatch_build_info{version=") != std::string::npos);

  CHECK(http.Get("/healthz")->status == 200);
  CHECK(http.Get("/readyz")->status == 200);
  auto page = http.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("orders_fresh") != std::string::npos);
  auto missing = http.Get("/nope");
  CHECK(missing->status == 404);
  CHECK(nlohmann::json::parse(missing->body)["error"] == "not found");

  // Reload over HTTP needs the token.
  CHECK(http.Post("/-/reload", "", "text/plain")->status == 401);
  httplib::Headers bad{{"Authorization", "Bearer wrong"}};
  CHECK(http.Post("/-/reload", bad, "", "text/plain")->status == 401);

  // SIGHUP with a broken config: rejected, the old config keeps running.
  writeFile(dir / "datawatch.yaml", "probes:\n  - {name: x, type: nonsense}\n");
  const double runs_before =
      promSample(http.Get("/metrics")->body, "datawatch_probe_runs_total" + fl).value_or(0);
  agent.signal(SIGHUP);
  REQUIRE(eventually(
      [&] {
        return promSample(http.Get("/metrics")->body, "datawatch_config_last_reload_success") ==
               0.0;
      },
      10s));
  REQUIRE(eventually(
      [&] {
        return promSample(http.Get("/metrics")->body, "datawatch_probe_runs_total" + fl)
                   .value_or(0) > runs_before + 1;
      },
      10s));
  CHECK(readFile(dir / "err.log").find("reload rejected") != std::string::npos);

  // A good config over HTTP with the token: the new probe appears, the removed ones go.
  writeFile(dir / "datawatch.yaml",
            "agent: {state: sqlite://./state.db, api_token: \"${DW_TOKEN}\", "
            "run_flush_interval: 200ms}\n"
            "sources:\n  shop: {type: sqlite, path: ./warehouse.db}\n"
            "probes:\n  - {name: orders_fresh, type: freshness, source: shop, table: orders, "
            "column: created_at, max_age: 1h, every: 1s, owner: team-shop}\n"
            "  - {name: recent_orders, type: volume, source: shop, table: orders, column: "
            "created_at, window: 30m, min: 1, every: 1s}\n");
  httplib::Headers good{{"Authorization", "Bearer " + kToken}};
  auto reloaded = http.Post("/-/reload", good, "", "text/plain");
  REQUIRE(reloaded);
  CHECK(reloaded->status == 200);
  const std::string rl =
      R"({owner="",probe="recent_orders",probe_type="volume",source="shop",target="orders"})";
  REQUIRE(eventually(
      [&] { return promSample(http.Get("/metrics")->body, "datawatch_volume_rows" + rl) == 20.0; },
      10s));
  const auto after = http.Get("/metrics")->body;
  CHECK(promSample(after, "datawatch_config_last_reload_success") == 1.0);
  CHECK(after.find("orders_volume") == std::string::npos);
  // The store's interval (SQLite's default) is set at the start; a reload only warns.
  CHECK(readFile(dir / "err.log").find("probe runs committed every 1s") != std::string::npos);
  const auto warnings = [&] {
    const std::string log = readFile(dir / "err.log");
    size_t n = 0;
    for (size_t at = 0;
         (at = log.find("agent.run_flush_interval changed", at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  CHECK(warnings() == 1);
  // Against the interval the store was built with, not the last reload's.
  REQUIRE(http.Post("/-/reload", good, "", "text/plain")->status == 200);
  CHECK(warnings() == 2);

  // Secrets never reach the log or the API.
  CHECK(readFile(dir / "err.log").find(kToken) == std::string::npos);
  CHECK(readFile(dir / "err.log").find("<redacted>") !=
        std::string::npos);  // the secret table's error was logged, masked
  CHECK(http.Get("/api/v1/status")->body.find(kToken) == std::string::npos);

  // SIGTERM: clean exit within 10 s, every finished run recorded.
  const auto t0 = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  auto store = SqliteStateStore::open((dir / "state.db").string());
  REQUIRE(store.ok());
  auto recorded = (*store)->runs("orders_fresh", TimePoint{}, TimePoint::max());
  REQUIRE(recorded.ok());
  CHECK(recorded->size() >= 3);
  CHECK(readFile(dir / "err.log").find("stopped cleanly") != std::string::npos);
}

TEST_CASE("datawatch run exits 2 on a bad config at start", "[integration][run]") {
  TempDir dir;
  writeFile(dir / "bad.yaml",
            "probes:\n  - {name: p, type: freshness, source: nowhere, table: t, column: c, "
            "max_age: 1h}\n");
  auto r =
      runCommand({kBinary, "run", "-c", (dir / "bad.yaml").string(), "--listen", "127.0.0.1:0"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.yaml:2:40: probe \"p\": source \"nowhere\" is not defined") !=
        std::string::npos);

  // The same as JSON lines: every line parses, with a level and the message.
  auto j = runCommand({kBinary, "run", "-c", (dir / "bad.yaml").string(), "--log-format", "json"});
  CHECK(j.exit_code == 2);
  std::istringstream lines(j.err);
  std::string line;
  int parsed = 0;
  bool named = false;
  while (std::getline(lines, line)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    CHECK(doc["level"] == "error");
    CHECK(doc.contains("ts"));
    named = named || doc["msg"].get<std::string>().find("source \"nowhere\" is not defined") !=
                         std::string::npos;
    ++parsed;
  }
  CHECK(parsed >= 2);
  CHECK(named);
}

TEST_CASE("datawatch check prints results and exits 0, 1, 2 or 3", "[integration][check]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());
  writeFile(dir / "pass.yaml",
            "agent: {state: sqlite://./state.db}\nsources:\n  shop: {type: sqlite, path: "
            "./warehouse.db}\n"
            "probes:\n  - {name: fresh, type: freshness, source: shop, table: orders, column: "
            "created_at, max_age: 1h}\n"
            "  - {name: rows, type: volume, source: shop, table: orders, min: 10, max: 100}\n");
  auto ok = runCommand({kBinary, "check", "-c", (dir / "pass.yaml").string(), "--format", "json"});
  CHECK(ok.exit_code == 0);
  auto arr = nlohmann::json::parse(ok.out);
  REQUIRE(arr.size() == 2);
  CHECK(arr[0]["probe"] == "fresh");
  CHECK(arr[0]["type"] == "freshness");
  CHECK(arr[0]["source"] == "shop");
  CHECK(arr[0]["target"] == "orders");
  CHECK(arr[0]["status"] == "pass");
  CHECK(arr[0]["unit"] == "seconds");
  CHECK(arr[0]["threshold"]["max"] == 3600.0);
  CHECK(arr[0]["observed_at"].get<std::string>().size() == 20);
  CHECK(arr[0].contains("duration_seconds"));
  CHECK(arr[0]["details"].is_object());
  CHECK(arr[1]["value"] == 42.0);

  auto table =
      runCommand({kBinary, "check", "-c", (dir / "pass.yaml").string(), "--probe", "rows"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("PASS   rows") != std::string::npos);
  CHECK(table.out.find("fresh") == std::string::npos);
  CHECK(table.out.find("1 passed, 0 failed, 0 errored") != std::string::npos);

  writeFile(dir / "fail.yaml",
            "agent: {state: sqlite://./state.db}\nsources:\n  shop: {type: sqlite, path: "
            "./warehouse.db}\n"
            "probes:\n  - {name: rows, type: volume, source: shop, table: orders, min: 1000}\n"
            "  - {name: broken, type: volume, source: shop, table: no_such_table, min: 1}\n");
  auto fail = runCommand({kBinary, "check", "-c", (dir / "fail.yaml").string()});
  CHECK(fail.exit_code == 1);
  auto errored =
      runCommand({kBinary, "check", "-c", (dir / "fail.yaml").string(), "--probe", "broken"});
  CHECK(errored.exit_code == 3);
  CHECK(errored.out.find("no such table: no_such_table") != std::string::npos);
  auto unknown =
      runCommand({kBinary, "check", "-c", (dir / "fail.yaml").string(), "--probe", "nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("no probe named \"nope\"") != std::string::npos);
  auto usage =
      runCommand({kBinary, "check", "-c", (dir / "fail.yaml").string(), "--format", "xml"});
  CHECK(usage.exit_code == 2);

  // Every check run was recorded.
  auto store = SqliteStateStore::open((dir / "state.db").string());
  REQUIRE(store.ok());
  CHECK(*(*store)->countRuns() == 2 + 1 + 2 + 1);
}

TEST_CASE("datawatch validate exits 0 or 2 and speaks GitHub", "[integration][validate]") {
  TempDir dir;
  writeFile(dir / "good.yaml",
            "sources:\n  shop: {type: sqlite, path: ./w.db}\n"
            "probes:\n  - {name: rows, type: volume, source: shop, table: orders, min: 10}\n");
  writeFile(dir / "bad.yaml",
            "sources:\n  shop: {type: sqlite, path: ./w.db}\n"
            "probes:\n  - {name: rows, type: volume, source: shop, table: orders, mni: 10}\n");
  auto good = runCommand({kBinary, "validate", "-c", (dir / "good.yaml").string()});
  CHECK(good.exit_code == 0);
  CHECK(good.out.find("config OK: 1 sources, 1 probes") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "w.db"));  // validate connects to nothing
  auto bad = runCommand({kBinary, "validate", "-c", (dir / "bad.yaml").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find((dir / "bad.yaml").string() + ":4:61: unknown key \"mni\"") !=
        std::string::npos);
  auto gh =
      runCommand({kBinary, "validate", "-c", (dir / "bad.yaml").string(), "--format", "github"});
  CHECK(gh.exit_code == 2);
  CHECK(gh.out.find("::error file=" + (dir / "bad.yaml").string() +
                    ",line=4,col=61::unknown key") != std::string::npos);
  auto nothing = runCommand({kBinary, "validate"});
  CHECK(nothing.exit_code == 2);
  auto version = runCommand({kBinary, "version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("datawatch ", 0) == 0);
}

TEST_CASE("datawatch demo runs the embedded default end to end", "[integration][demo]") {
  TempDir dir;
  auto r = runCommand({kBinary, "demo", "--dir", (dir / "demo").string()}, {}, 120s);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("orders_fresh  FAIL") != std::string::npos);
  CHECK(r.out.find("orders_fresh  PASS") != std::string::npos);
  // The bad release (amounts in cents, 16:00-18:00) is drift: above the baseline's maximum.
  CHECK(r.out.find("17:00  amount_drift  FAIL   psi") != std::string::npos);
  CHECK(r.out.find("moved most: > ") != std::string::npos);
  CHECK(r.out.find("21:00  amount_drift  PASS") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "demo/state.db"));
  auto store = SqliteStateStore::open((dir / "demo/state.db").string());
  REQUIRE(store.ok());
  CHECK(*(*store)->countRuns() == 816);  // 48h of 5m, 15m and 1h probes
}
