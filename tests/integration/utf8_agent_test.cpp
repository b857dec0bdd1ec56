// Issue 15, defect 2: one non-UTF-8 byte in the monitored data must not kill the
// agent. Text read from data is made valid UTF-8 at the probe boundary (U+FFFD for
// each bad sequence), and every JSON dump replaces what slips through.

#include <httplib.h>
#include <signal.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const char* kConfig = R"(agent:
  state: sqlite://./state.db
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: statuses, type: values, source: shop, table: orders, column: status, accepted: [ok], every: 1s, alert: {after: 1}}
)";

const std::string kReplacement = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("datawatch run survives a non-UTF-8 text value and shows its firing alert",
          "[integration][run][utf8]") {
  TempDir dir;
  {
    SqliteDb db(dir / "warehouse.db");
    db.exec(
        "CREATE TABLE orders (id INTEGER, status TEXT);"
        "INSERT INTO orders VALUES (1, 'ok'), (2, CAST(X'6261FF64' AS TEXT));");
  }
  writeFile(dir / "datawatch.yaml", kConfig);
  Process agent(
      {DATAWATCH_BINARY, "run", "-c", (dir / "datawatch.yaml").string(), "--listen", "127.0.0.1:0"},
      dir / "out.log", dir / "err.log");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "err.log")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5, 0);

  nlohmann::json status;
  const bool firing = eventually(
      [&] {
        auto res = http.Get("/api/v1/status");
        if (!res || res->status != 200) return false;
        status = nlohmann::json::parse(res->body);
        return status["alerts"].size() == 1;
      },
      20s);
  INFO(readFile(dir / "err.log"));
  REQUIRE(firing);
  CHECK(status["alerts"][0]["id"].get<std::string>().rfind("probe:statuses:", 0) == 0);
  const auto& last = status["probes"].at(0)["last"];
  CHECK(last["status"] == "fail");
  CHECK(last["details"]["samples"] == nlohmann::json::array({"ba" + kReplacement + "d"}));
  CHECK(last["message"].get<std::string>().find("ba" + kReplacement + "d") != std::string::npos);

  // Still up after more runs (the alert snapshot is written on every change).
  std::this_thread::sleep_for(2s);  // a real process: a few more 1 s runs
  CHECK(agent.running());
  CHECK(http.Get("/api/v1/status")->status == 200);
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
}
