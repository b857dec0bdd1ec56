// The Grafana dashboards against a real Prometheus (Debian's package): the agent
// runs on a small SQLite warehouse with passing and failing probes and an SLO,
// Prometheus scrapes it every second with the rules of `datawatch rules`, and
// every panel query of both dashboards must run without error and return data.
// `promtool check metrics` lints the agent's /metrics. With two replicas on one
// PostgreSQL state store, both scraped, the dashboards' and rules' aggregations
// count each run and each SLO event once, and give one value per SLO
// (needs DATAWATCH_TEST_PG_DSN).

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/integration/fleet_support.hpp"
#include "tests/support/ha_replicas.hpp"
#include "tests/support/tcp.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;

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

// A real Prometheus scraping `targets` every second with `rules`.
class Prometheus {
 public:
  Prometheus(const TempDir& dir, const std::vector<int>& targets, const std::string& rules)
      : port_(freePort()) {
    writeFile(dir / "rules.yml", rules);
    std::string list;
    for (int t : targets)
      list += (list.empty() ? "'" : ", '") + ("127.0.0.1:" + std::to_string(t)) + "'";
    writeFile(dir / "prometheus.yml",
              "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [" +
                  (dir / "rules.yml").string() +
                  "]\nscrape_configs:\n  - job_name: datawatch\n    static_configs:\n"
                  "      - targets: [" +
                  list + "]\n");
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{requiredTool(DATAWATCH_PROMETHEUS, "prometheus"),
                                 "--config.file=" + (dir / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir / "tsdb").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir / "prom.out", dir / "prom.err");
  }
  // The instant query's result vector (empty on error or no answer).
  json query(const std::string& expr) {
    httplib::Client api("127.0.0.1", port_);
    api.set_read_timeout(10, 0);
    auto res = api.Get("/api/v1/query?query=" + httplib::detail::encode_query_param(expr));
    if (!res) return json::array();
    const json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return json::array();
    return j["data"]["result"];
  }
  // The value of a query that returns one series (nullopt otherwise).
  std::optional<double> scalar(const std::string& expr) {
    const json r = query(expr);
    if (r.size() != 1) return std::nullopt;
    return std::stod(r[0]["value"][1].get<std::string>());
  }

 private:
  int port_;
  std::unique_ptr<Process> proc_;
};

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
  // The fleet panel has data only with PostgreSQL state (the HA test below).
  for (auto& q : panelQueries("probe-detail.json"))
    if (q.panel.rfind("Fleet", 0) != 0) queries.push_back(q);
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

TEST_CASE("the dashboards aggregate every metric over replicas", "[dashboards]") {
  // Gauges are the same on every replica (max), counters count one replica's
  // runs (sum), SLO event counters every replica's view (sum / count): a panel
  // that shows a bare metric would draw one line per replica.
  const std::regex aggregated(R"(^(1 - )?(sum|max|min|count)( by \([a-z_, ]+\))? ?\(|^slo:)");
  for (const char* f : {"slo-overview.json", "probe-detail.json"}) {
    for (const auto& q : panelQueries(f)) {
      if (q.panel.rfind("variable ", 0) == 0) continue;
      INFO(q.dashboard << " / " << q.panel << ": " << q.expr);
      CHECK(std::regex_search(q.expr, aggregated));
    }
  }
}

TEST_CASE("two replicas scraped by a real Prometheus: each run and each SLO event counts once",
          "[dashboards][prometheus][ha]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: skipped");
    return;
  }
  FleetDb db(false);
  TempDir dir;
  makeWarehouse(dir / "warehouse.db");
  writeFile(dir / "datawatch.yaml",
            "agent: {state: \"${STATE_URL}\", replica_id: \"${REPLICA}\", leader_lease: 3s}\n"
            "sources:\n  shop: {type: sqlite, path: " +
                (dir / "warehouse.db").string() + "}\n" + kProbes);
  auto rules = runCommand({kBinary, "rules", "-c", (dir / "datawatch.yaml").string()},
                          {{"STATE_URL", db.dsn()}, {"REPLICA", "x"}});
  REQUIRE(rules.exit_code == 0);
  std::vector<std::unique_ptr<Replica>> replicas;
  for (const char* id : {"a", "b"})
    replicas.push_back(
        std::make_unique<Replica>(kBinary, id, dir / "datawatch.yaml", dir.path(),
                                  std::map<std::string, std::string>{{"STATE_URL", db.dsn()}}));
  for (auto& r : replicas) REQUIRE(r->waitListening(20s));
  Prometheus prom(dir, {replicas[0]->port(), replicas[1]->port()}, rules.out);

  // Both replicas run probes and are scraped; one of them leads. Counts below
  // start at Prometheus's first scrape of both.
  const auto rows = [&](const std::string& where) {
    return std::stod(pgRows(db.dsn(), "SELECT count(*) FROM probe_runs" + where).at(0));
  };
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  REQUIRE(eventually([&] { return prom.scalar("sum(up{job=\"datawatch\"})") == 2.0; }, 30s));
  const std::string since = " AND observed_at_ms > " + std::to_string(now_ms());
  // Probes start within 30 s (jitter); then 20 runs of `stale` (it fails every run;
  // `near` below still tells 20 from the 40 a double count would show).
  REQUIRE(eventually(
      [&] {
        const auto ran = prom.query("count by (instance) (datawatch_probe_runs_total > 0)");
        return ran.size() == 2 && rows(" WHERE probe = 'stale'" + since) >= 20;
      },
      90s));
  CHECK(eventually([&] { return prom.scalar("sum(datawatch_ha_leader)") == 1.0; }, 20s));
  CHECK(prom.scalar("max(datawatch_ha_replicas)") == 2.0);
  // `got` is `want` give or take the scrape and tick lag, and far from 2 x `want`.
  const auto near = [](double got, double want) {
    return got > 0.85 * want - 4 && got < 1.15 * want + 4;
  };

  // Fleet totals: the sum over the replicas of the runs counter equals the runs
  // recorded (the counters lag the table by a scrape: 6 probes a second).
  const double recorded = rows("");
  const auto total = prom.scalar("sum(datawatch_probe_runs_total)");
  REQUIRE(total);
  std::printf("two replicas: %.0f runs recorded, sum(datawatch_probe_runs_total) = %.0f\n",
              recorded, *total);
  CHECK(*total >= recorded - 20);
  CHECK(*total <= rows("") + 12);  // runs counted, not yet committed
  // The dashboard's failures panel (sum by probe of increase): the runs of
  // `stale` since the first scrape (the series are younger than the range).
  const auto failures =
      prom.scalar("sum by (probe) (increase(datawatch_probe_failures_total{probe=\"stale\"}[5m]))");
  const double stale_runs = rows(" WHERE probe = 'stale'" + since);
  REQUIRE(failures);
  std::printf("stale: %.0f runs recorded, the failures panel shows %.1f\n", stale_runs, *failures);
  CHECK(near(*failures, stale_runs));
  // The events panel and the rules' counts (sum / count): each SLO event once.
  const auto events = prom.scalar(
      "sum by (slo) (increase(datawatch_slo_events_total{slo=\"orders-fresh\"}[5m])) / "
      "count by (slo) (datawatch_slo_events_total{slo=\"orders-fresh\"})");
  const auto bad = prom.scalar(
      "sum(increase(datawatch_slo_bad_events_total{slo=\"orders-fresh\"}[5m])) / "
      "count(datawatch_slo_bad_events_total{slo=\"orders-fresh\"})");
  const double slo_runs = rows(" WHERE probe IN ('fresh', 'stale')" + since);
  REQUIRE(events);
  REQUIRE(bad);
  std::printf("orders-fresh: %.0f runs recorded (%.0f of stale), events %.1f, bad %.1f\n", slo_runs,
              stale_runs, *events, *bad);
  CHECK(near(*events, slo_runs));
  CHECK(near(*bad, stale_runs));

  // One value per SLO (and window) from every SLO panel and recording rule.
  for (const auto& q : panelQueries("slo-overview.json")) {
    const json r = prom.query(q.expr);
    INFO(q.panel << ": " << q.expr << " -> " << r.dump());
    std::set<std::string> keys;
    for (const auto& s : r) keys.insert(s["metric"].dump());
    CHECK(keys.size() == r.size());
    if (q.expr.find("slo:") == 0 || q.expr.find("max by (slo) ") == 0) CHECK(r.size() == 1);
  }
  for (const char* rec : {"slo:sli_error:ratio_rate5m", "slo:sli_bad_events:increase1h"}) {
    INFO(rec);
    CHECK(eventually([&] { return prom.query(rec).size() == 1; }, 10s));
  }
  // The bad events of the last hour, once (the rule the min_bad_events gate reads).
  const auto bad_1h = prom.scalar("slo:sli_bad_events:increase1h{slo=\"orders-fresh\"}");
  REQUIRE(bad_1h);
  CHECK(near(*bad_1h, rows(" WHERE probe = 'stale'" + since)));
  // The period's group runs every 5 minutes: none yet, or one.
  CHECK(prom.query("slo:period_error_budget_remaining:ratio").size() <= 1);
  // The fleet panel: two replicas, one leader, one config, both claiming.
  CHECK(prom.scalar("max(datawatch_ha_replicas)") == 2.0);
  CHECK(prom.scalar("sum(datawatch_ha_leader)") == 1.0);
  CHECK(prom.scalar("sum(datawatch_ha_config_mismatch)") == 0.0);
  int fleet_queries = 0;
  for (const auto& q : panelQueries("probe-detail.json")) {
    if (q.panel.rfind("Fleet", 0) != 0) continue;
    ++fleet_queries;
    INFO(q.expr);
    CHECK(eventually([&] { return !prom.query(q.expr).empty(); }, 10s));
    if (q.expr.find("by (instance)") != std::string::npos) CHECK(prom.query(q.expr).size() == 2);
  }
  CHECK(fleet_queries == 4);
  // At most one alert series per (SLO, severity).
  const json alerts = prom.query("ALERTS{alertname=\"DatawatchSLOBurnRate\"}");
  std::set<std::string> seen;
  for (const auto& a : alerts)
    CHECK(seen.insert(a["metric"].value("severity", "") + a["metric"].value("alertstate", ""))
              .second);
}
