// The status page (GET /) in a real browser: headless Chromium (Debian's
// package) loads it from a running agent with a failing probe, a firing alert,
// an open incident and a burning SLO; the test asserts what it rendered and
// takes a screenshot (kept in the build folder: tests/status-page.png).

#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/test_support.hpp"

using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const std::string kBinary = DATAWATCH_BINARY;

}  // namespace

TEST_CASE("the status page renders SLOs, alerts, incidents and probes in Chromium",
          "[status][chromium]") {
  const std::string browser = requiredTool(DATAWATCH_CHROMIUM, "chromium");
  TempDir dir;
  {
    SqliteDb w(dir / "warehouse.db");
    w.exec(
        "CREATE TABLE orders (created_at TEXT);"
        "INSERT INTO orders VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'));"
        "CREATE TABLE payments (created_at TEXT);"
        "INSERT INTO payments VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 hours'));");
  }
  writeFile(dir / "datawatch.yaml",
            "agent: {state: \"sqlite://" + (dir / "state.db").string() +
                "\", postmortems: {dir: " + (dir / "pm").string() +
                "}}\nsources:\n  shop: {type: sqlite, path: " + (dir / "warehouse.db").string() +
                "}\nprobes:\n"
                "  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: "
                "created_at, max_age: 1h, every: 1s}\n"
                "  - {name: payments_fresh, type: freshness, source: shop, table: payments, "
                "column: created_at, max_age: 1h, every: 1s, alert: {after: 1, severity: "
                "critical, notify: [log]}}\n"
                "slos:\n  - {name: payments-fresh, objective: 99, window: 28d, probes: "
                "[payments_fresh, orders_fresh]}\n"
                "notifiers:\n  log: {type: file, path: " +
                (dir / "alerts.jsonl").string() + "}\n");
  Process agent(
      {kBinary, "run", "-c", (dir / "datawatch.yaml").string(), "--listen", "127.0.0.1:0"},
      dir / "agent.out", dir / "agent.err");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "agent.err")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  // The alert fires and its incident opens after the first failing run.
  REQUIRE(eventually(
      [&] {
        auto res = http.Get("/api/v1/status");
        return res && res->body.find("\"INC-") != std::string::npos;
      },
      30s));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const std::vector<std::string> flags{browser,
                                       "--headless=new",
                                       "--no-sandbox",
                                       "--disable-gpu",
                                       "--disable-dev-shm-usage",
                                       "--no-first-run",
                                       "--user-data-dir=" + (dir / "chrome").string()};
  auto dumpArgs = flags;
  dumpArgs.push_back("--dump-dom");
  dumpArgs.push_back(url);
  auto dom = runCommand(dumpArgs, {{"HOME", dir.path().string()}}, 90s);
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  const std::string& html = dom.out;
  CHECK(html.find("<h1>datawatch</h1>") != std::string::npos);
  CHECK(html.find("payments-fresh") != std::string::npos);                 // the SLO
  CHECK(html.find("class=\"bar ") != std::string::npos);                   // its budget bar
  CHECK(html.find("probe:payments_fresh:critical") != std::string::npos);  // the alert
  CHECK(html.find(">INC-") != std::string::npos);                          // the incident link
  CHECK(html.find("1 alerts firing") != std::string::npos);
  CHECK(html.find("1 open incidents") != std::string::npos);
  CHECK(html.find("1 passing") != std::string::npos);
  CHECK(html.find("1 failing") != std::string::npos);
  // The age of each probe's last run ("now" within its first second).
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (auto at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count(" ago</td><td class=\"msg\">") + count(">now</td><td class=\"msg\">") == 2);
  CHECK(html.find("http-equiv=\"refresh\"") != std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);  // no external assets
  CHECK(html.find("href=\"http") == std::string::npos);

  const auto png = std::filesystem::current_path() / "status-page.png";
  std::filesystem::remove(png);
  auto shotArgs = flags;
  shotArgs.push_back("--window-size=1200,800");
  shotArgs.push_back("--screenshot=" + png.string());
  shotArgs.push_back(url);
  auto shot = runCommand(shotArgs, {{"HOME", dir.path().string()}}, 90s);
  INFO(shot.err);
  CHECK(shot.exit_code == 0);
  REQUIRE(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 10000);  // a page, not a blank image
}
