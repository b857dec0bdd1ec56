// The Grafana dashboards against a real Prometheus (Debian's package): the agent
// runs on a small SQLite warehouse with passing and failing probes and an SLO,
// Prometheus scrapes it every second with the rules of `datawatch rules`, and
// every panel query of both dashboards must run without error and return data.
// `promtool check metrics` lints the agent's /metrics.

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/test_support.hpp"

using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;

// A TCP port free at the time of asking (Prometheus takes no port 0).
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Orders one a minute for two days (amounts and statuses cycling), and a stale table.
void makeWarehouse(const std::filesystem::path& db) {
  SqliteDb w(db);
  w.exec(
      "CREATE TABLE orders (id INTEGER, created_at TEXT, amount REAL, status TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2879) "
      "INSERT INTO orders SELECT i, strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || i || ' minutes'), "
      "(i * 37) % 100, CASE i % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'pending' ELSE 'refunded' END "
      "FROM n;"
      "CREATE TABLE stale (created_at TEXT);"
      "INSERT INTO stale VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours'));");
}

constexpr const char* kProbes = R"(
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: created_at, max_age: 1h, every: 1s}
  - {name: stale, type: freshness, source: shop, table: stale, column: created_at, max_age: 1m, every: 1s,
     alert: {after: 3, notify: [log]}}
  - {name: volume, type: volume, source: shop, table: orders, column: created_at, window: 1h, min: 1,
     anomaly: {training: 1d}, every: 1s}
  - {name: drift, type: drift, source: shop, table: orders, column: amount, time_column: created_at,
     window: 1h, baseline: {window: 6h, lag: 6h}, bins: 5, every: 1s}
  - {name: schema, type: schema, source: shop, table: orders, columns: {id: integer}, allow_extra_columns: true, every: 1s}
  - {name: statuses, type: values, source: shop, table: orders, column: status, accepted: [paid, pending], every: 1s}
slos:
  - {name: orders-fresh, objective: 99, window: 28d, probes: [fresh, stale],
     alerting: {page: {notify: [log]}, ticket: {notify: [log]}}}
notifiers:
  log: {type: file, path: ./alerts.jsonl}
)";

// Grafana's variables replaced the way "All" would: regexes matching everything.
std::string substitute(std::string expr) {
  expr = std::regex_replace(expr, std::regex(R"(\$\{?(slo|probe)\}?)"), ".*");
  return std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "1m");
}

struct Query {
  std::string dashboard, panel, expr;
};

std::vector<Query> panelQueries(const std::string& file) {
  const json d = json::parse(readFile(std::string(DATAWATCH_SOURCE_DIR) + "/dashboards/" + file));
  std::vector<Query> out;
  for (const auto& p : d.at("panels"))
    for (const auto& t : p.at("targets"))
      out.push_back({file, p.at("title"), substitute(t.at("expr").get<std::string>())});
  // Variables: label_values(metric, label) needs the metric to carry the label.
  for (const auto& v : d.at("templating").at("list")) {
    if (v.at("type") != "query") continue;
    std::smatch m;
    const std::string def = v.at("definition");
    REQUIRE(std::regex_match(def, m, std::regex(R"(label_values\((\w+), (\w+)\))")));
    out.push_back({file, "variable " + v.at("name").get<std::string>(),
                   "count by (" + m[2].str() + ") (" + m[1].str() + ")"});
  }
  return out;
}

}  // namespace

TEST_CASE("every dashboard panel query returns data from a real Prometheus",
          "[dashboards][prometheus]") {
  const std::string prometheus = requiredTool(DATAWATCH_PROMETHEUS, "prometheus");
  const std::string promtool = requiredTool(DATAWATCH_PROMTOOL, "promtool");
  TempDir dir;
  makeWarehouse(dir / "warehouse.db");
  writeFile(dir / "datawatch.yaml", "agent: {state: \"sqlite://" + (dir / "state.db").string() +
                                        "\"}\nsources:\n  shop: {type: sqlite, path: " +
                                        (dir / "warehouse.db").string() + "}\n" + kProbes);
  auto rules = runCommand({kBinary, "rules", "-c", (dir / "datawatch.yaml").string()});
  REQUIRE(rules.exit_code == 0);
  writeFile(dir / "rules.yml", rules.out);
  Process agent(
      {kBinary, "run", "-c", (dir / "datawatch.yaml").string(), "--listen", "127.0.0.1:0"},
      dir / "agent.out", dir / "agent.err");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "agent.err")) > 0; }, 20s));

  const int prom_port = freePort();
  writeFile(dir / "prometheus.yml",
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [" +
                (dir / "rules.yml").string() +
                "]\n"
                "scrape_configs:\n  - job_name: datawatch\n    static_configs:\n"
                "      - targets: ['127.0.0.1:" +
                std::to_string(port) + "']\n");
  Process prom({prometheus, "--config.file=" + (dir / "prometheus.yml").string(),
                "--storage.tsdb.path=" + (dir / "tsdb").string(),
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
               dir / "prom.out", dir / "prom.err");
  httplib::Client api("127.0.0.1", prom_port);
  api.set_read_timeout(10, 0);
  auto run = [&](const std::string& expr, std::string& why) {
    auto res = api.Get("/api/v1/query?query=" + httplib::detail::encode_query_param(expr));
    if (!res) {
      why = "no answer from Prometheus";
      return false;
    }
    const json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") {
      why = "error: " + res->body;
      return false;
    }
    if (j["data"]["result"].empty()) {
      why = "empty result";
      return false;
    }
    return true;
  };

  std::vector<Query> queries = panelQueries("slo-overview.json");
  for (auto& q : panelQueries("probe-detail.json")) queries.push_back(q);
  REQUIRE(queries.size() > 20);
  // Prometheus needs a few scrapes (and rule evaluations) before every series has
  // samples enough for increase(); then every query must answer.
  std::map<std::string, std::string> failing;
  const bool all = eventually(
      [&] {
        failing.clear();
        for (const auto& q : queries) {
          std::string why;
          if (!run(q.expr, why)) failing[q.dashboard + " / " + q.panel + ": " + q.expr] = why;
        }
        return failing.empty();
      },
      90s);
  for (const auto& [q, why] : failing) UNSCOPED_INFO(q << " -> " << why);
  CHECK(all);

  // The agent's exposition passes Prometheus's own linter.
  httplib::Client agent_http("127.0.0.1", port);
  auto metrics = agent_http.Get("/metrics");
  REQUIRE(metrics);
  writeFile(dir / "metrics.txt", metrics->body);
  auto lint =
      runCommand({"/bin/sh", "-c",
                  "'" + promtool + "' check metrics < '" + (dir / "metrics.txt").string() + "'"});
  INFO(lint.out << lint.err);
  CHECK(lint.exit_code == 0);
  CHECK(metrics->body.find("datawatch_probe_threshold{bound=\"max\"") != std::string::npos);
}
