// OpenLineage through the binary (docs/lineage.md): POST /api/v1/lineage with
// its refusals, the graph surviving a restart, and a failing upstream job that
// opens the incident, inhibits the stale table below it and whose post-mortem
// lists the datasets and jobs downstream.

#include <httplib.h>
#include <signal.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/time_format.hpp"
#include "tests/support/receiver.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kLineageToken = "ol-tok-7Hq2-never-log-me";
const std::string kNs = "sqlite://warehouse";

std::unique_ptr<Process> runAgent(const TempDir& dir, const std::string& log) {
  return std::make_unique<Process>(
      std::vector<std::string>{kBinary, "run", "-c", (dir / "datawatch.yaml").string(), "--listen",
                               "127.0.0.1:0"},
      dir / (log + ".out"), dir / (log + ".err"),
      std::map<std::string, std::string>{{"OL_TOKEN", kLineageToken}});
}

// A RunEvent as Airflow's provider sends one (trimmed to what matters here).
json olEvent(const std::string& type, const std::string& run_id, TimePoint at,
             const std::string& job, const std::vector<std::string>& inputs,
             const std::vector<std::string>& outputs, const std::string& error = "") {
  json e = {{"eventType", type},
            {"eventTime", formatRfc3339Millis(at)},
            {"run", {{"runId", run_id}, {"facets", json::object()}}},
            {"job", {{"namespace", "airflow"}, {"name", job}}},
            {"producer", "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"},
            {"schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
            {"inputs", json::array()},
            {"outputs", json::array()}};
  for (const auto& d : inputs) e["inputs"].push_back({{"namespace", kNs}, {"name", d}});
  for (const auto& d : outputs) e["outputs"].push_back({{"namespace", kNs}, {"name", d}});
  if (!error.empty())
    e["run"]["facets"]["errorMessage"] = {
        {"_producer", "https://github.com/apache/airflow"},
        {"_schemaURL", "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json"},
        {"message", error},
        {"programmingLanguage", "python"}};
  return e;
}

httplib::Result post(httplib::Client& http, const json& body, const std::string& token) {
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return http.Post("/api/v1/lineage", h, body.dump(), "application/json");
}

json getJson(httplib::Client& http, const std::string& path) {
  auto res = http.Get(path);
  if (!res || res->status != 200) return json();
  return json::parse(res->body);
}

const json* probeIn(const json& status, const std::string& name) {
  for (const auto& p : status["probes"])
    if (p["name"] == name) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("POST /api/v1/lineage: stored once, refused with reasons, kept across a restart",
          "[integration][lineage][threads]") {
  TempDir dir;
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: sqlite://./state.db
  lineage_token: ${OL_TOKEN}
probes:
  - {name: load_job, type: job, job: "airflow/etl.load_daily", max_age: 1d, every: 1s}
  - {name: daily_written, type: freshness, dataset: "sqlite://warehouse/main.daily", max_age: 1h, every: 1s}
  - {name: daily_rows, type: volume, dataset: "sqlite://warehouse/main.daily", min: 100, every: 1s}
)");
  auto agent = runAgent(dir, "first");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "first.err")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10, 0);

  const auto now = std::chrono::system_clock::now();
  json start = olEvent("START", "r-1", now - 10min, "etl.load_daily", {"main.raw"}, {"main.daily"});
  json complete =
      olEvent("COMPLETE", "r-1", now - 5min, "etl.load_daily", {"main.raw"}, {"main.daily"});
  complete["outputs"][0]["outputFacets"] = {
      {"outputStatistics",
       {{"_producer", "https://github.com/apache/airflow"},
        {"_schemaURL",
         "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"},
        {"rowCount", 42},
        {"size", 4096}}}};

  // Refusals change nothing: a wrong token, a bad event, a body over 1 MiB.
  auto denied = post(http, start, "wrong");
  REQUIRE(denied);
  CHECK(denied->status == 401);
  CHECK(denied->body.find(kLineageToken) == std::string::npos);
  json no_run = start;
  no_run["run"].erase("runId");
  auto bad = post(http, json::array({complete, no_run}), kLineageToken);
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"].get<std::string>().find("runId") != std::string::npos);
  json huge = start;
  huge["run"]["facets"]["padding"] = {{"text", std::string(2 * 1024 * 1024, 'x')}};
  auto too_big = post(http, huge, kLineageToken);
  REQUIRE(too_big);
  CHECK(too_big->status == 413);
  // A producer's clock two hours ahead: its run would pass for the newest.
  auto ahead =
      post(http, olEvent("COMPLETE", "r-future", now + 2h, "etl.load_daily", {}, {"main.daily"}),
           kLineageToken);
  REQUIRE(ahead);
  CHECK(ahead->status == 400);
  CHECK(json::parse(ahead->body)["error"].get<std::string>().find("ahead of the agent's clock") !=
        std::string::npos);
  CHECK(getJson(http, "/api/v1/lineage")["jobs"].empty());

  // Accepted; the same events again are duplicates.
  auto ok = post(http, json::array({complete, start}), kLineageToken);  // out of order
  REQUIRE(ok);
  // Runs from here on judge the applied events (a run between `now` and the
  // answer saw none; +1 s: observed_at is compared at whole seconds below).
  const auto applied = std::chrono::system_clock::now() + 1s;
  CHECK(ok->status == 201);
  CHECK(json::parse(ok->body) == json({{"accepted", 2}, {"duplicates", 0}}));
  auto again = post(http, start, kLineageToken);
  REQUIRE(again);
  CHECK(json::parse(again->body) == json({{"accepted", 0}, {"duplicates", 1}}));
  // The auth scheme's case does not matter (RFC 7235).
  auto lower = http.Post("/api/v1/lineage", {{"Authorization", "bearer " + kLineageToken}},
                         start.dump(), "application/json");
  REQUIRE(lower);
  CHECK(lower->status == 201);

  // The probes judge the events on their next run.
  json status;
  REQUIRE(eventually(
      [&] {
        status = getJson(http, "/api/v1/status");
        for (const char* name : {"load_job", "daily_written", "daily_rows"}) {
          const json* p = probeIn(status, name);
          if (!p || !(*p)["last"].is_object() ||
              (*p)["last"]["observed_at"].get<std::string>() < formatRfc3339(applied))
            return false;
        }
        return (*probeIn(status, "daily_rows"))["last"]["status"] == "fail";
      },
      20s));
  const json& job = (*probeIn(status, "load_job"))["last"];
  CHECK(job["status"] == "pass");
  CHECK(job["message"].get<std::string>().find("last run COMPLETE at") != std::string::npos);
  CHECK(job["value"].get<double>() >= 300);
  CHECK(job["value"].get<double>() < 400);
  const json& written = (*probeIn(status, "daily_written"))["last"];
  CHECK(written["status"] == "pass");
  CHECK(written["details"]["written_by"] == "airflow/etl.load_daily");
  const json& rows = (*probeIn(status, "daily_rows"))["last"];
  CHECK(rows["value"] == 42);
  CHECK(rows["message"].get<std::string>().find("100") != std::string::npos);

  const std::string metrics = http.Get("/metrics")->body;
  CHECK(promSample(metrics, "datawatch_lineage_events_total{event_type=\"START\"}") == 1);
  CHECK(promSample(metrics, "datawatch_lineage_events_total{event_type=\"COMPLETE\"}") == 1);
  CHECK(promSample(metrics, "datawatch_lineage_events_total{event_type=\"FAIL\"}") == 0);
  // The 401, the refused batch (refused whole: once), the 413, the future event.
  CHECK(promSample(metrics, "datawatch_lineage_events_rejected_total") == 4);

  const json graph = getJson(http, "/api/v1/lineage");
  agent->signal(SIGTERM);
  REQUIRE(agent->wait(20s) == 0);
  CHECK(readFile(dir / "first.err").find(kLineageToken) == std::string::npos);

  // A restart rebuilds the same graph from the state store.
  auto second = runAgent(dir, "second");
  REQUIRE(eventually([&] { return (port = listenPort(dir / "second.err")) > 0; }, 20s));
  httplib::Client http2("127.0.0.1", port);
  CHECK(getJson(http2, "/api/v1/lineage") == graph);
  CHECK(graph["jobs"].size() == 1);
  CHECK(graph["datasets"].size() == 2);
  second->signal(SIGTERM);
  CHECK(second->wait(20s) == 0);
}

TEST_CASE(
    "a failing upstream job opens the incident, inhibits the stale table below it, and the "
    "post-mortem lists what lies downstream",
    "[integration][lineage][incident][e2e][threads]") {
  TempDir dir;
  Receiver hook;
  {
    SqliteDb db(dir / "warehouse.db");
    db.exec("CREATE TABLE daily (loaded_at TEXT)");
    db.exec("INSERT INTO daily VALUES ('" +
            formatRfc3339(std::chrono::system_clock::now() - 10min) + "')");
  }
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: sqlite://./state.db
  postmortems: {dir: ./pm}
sources:
  wh: {type: sqlite, path: ./warehouse.db, lineage_namespace: "sqlite://warehouse"}
probes:
  - {name: load_job, type: job, job: "airflow/etl.load_daily", max_duration: 1h, every: 1s,
     alert: {after: 1, severity: critical, notify: [hook]}}
  - {name: daily_fresh, type: freshness, source: wh, table: daily, column: loaded_at,
     max_age: 1h, every: 1s, alert: {after: 1, severity: warning, notify: [hook]}}
notifiers:
  hook: {type: webhook, url: ")" + hook.url("/dw") +
                                        R"("}
)");
  auto agent = runAgent(dir, "agent");
  int port = 0;
  REQUIRE(eventually([&] { return (port = listenPort(dir / "agent.err")) > 0; }, 20s));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10, 0);
  const auto now = std::chrono::system_clock::now();

  // Yesterday's runs: load_daily writes main.daily, publish reads it and
  // writes main.report.
  json history = json::array(
      {olEvent("START", "r-1", now - 30min, "etl.load_daily", {"main.raw"}, {"main.daily"}),
       olEvent("COMPLETE", "r-1", now - 20min, "etl.load_daily", {"main.raw"}, {"main.daily"}),
       olEvent("START", "p-1", now - 19min, "etl.publish", {"main.daily"}, {"main.report"}),
       olEvent("COMPLETE", "p-1", now - 18min, "etl.publish", {"main.daily"}, {"main.report"})});
  auto ok = post(http, history, "");
  REQUIRE(ok);
  REQUIRE(ok->status == 201);
  // The table probe learnt its upstream from the graph.
  json status = getJson(http, "/api/v1/status");
  const json* daily = probeIn(status, "daily_fresh");
  REQUIRE(daily);
  CHECK((*daily)["lineage"]["nodes"] == json::array({kNs + "/main.daily"}));
  CHECK((*daily)["lineage"]["upstream_probes"] == json::array({"load_job"}));
  CHECK((*daily)["lineage"]["upstream"][0]["node"] == "airflow/etl.load_daily");
  CHECK((*daily)["lineage"]["upstream"][0]["kind"] == "job");
  CHECK(http.Get("/")->body.find("upstream: job airflow/etl.load_daily [load_job: ") !=
        std::string::npos);

  // Today's run fails; then the table goes stale.
  auto failed = post(http,
                     json::array({olEvent("START", "r-2", now - 2min, "etl.load_daily",
                                          {"main.raw"}, {"main.daily"}),
                                  olEvent("FAIL", "r-2", now - 1min, "etl.load_daily", {"main.raw"},
                                          {"main.daily"}, "relation \"main.raw\" does not exist")}),
                     "");
  REQUIRE(failed);
  REQUIRE(failed->status == 201);
  REQUIRE(hook.waitAccepted(1, 30s));
  const json fired = hook.accepted().at(0).json();
  CHECK(fired["status"] == "firing");
  CHECK(fired["alert"]["id"] == "probe:load_job:critical");
  CHECK(fired["alert"]["summary"].get<std::string>().find("does not exist") != std::string::npos);
  const json consumers = fired["alert"]["downstream"]["consumers"];
  for (const std::string& c :
       std::vector<std::string>{"dataset " + kNs + "/main.daily", "job airflow/etl.publish",
                                "dataset " + kNs + "/main.report"})
    CHECK(std::find(consumers.begin(), consumers.end(), c) != consumers.end());
  {
    SqliteDb db(dir / "warehouse.db");
    db.exec("UPDATE daily SET loaded_at = '" +
            formatRfc3339(std::chrono::system_clock::now() - 3h) + "'");
  }
  // daily_fresh's alert fires, muted by its upstream, and joins the incident.
  INFO(readFile(dir / "agent.err"));
  json alert;
  REQUIRE(eventually(
      [&] {
        const json now_status = getJson(http, "/api/v1/status");
        for (const auto& a : now_status["alerts"])
          if (a["id"] == "probe:daily_fresh:warning") alert = a;
        return alert.is_object();
      },
      30s));
  CHECK(alert["inhibited_by"] == json::array({"load_job"}));
  json incidents = getJson(http, "/api/v1/incidents");
  REQUIRE(incidents.size() == 1);
  const std::string id = incidents[0]["id"];
  CHECK(incidents[0]["alerts"].dump().find("probe:daily_fresh:warning") != std::string::npos);

  // The job reruns: it loads the table, then reports COMPLETE (as a real run
  // does), and everything resolves.
  {
    SqliteDb db(dir / "warehouse.db");
    db.exec("UPDATE daily SET loaded_at = '" + formatRfc3339(std::chrono::system_clock::now()) +
            "'");
  }
  REQUIRE(eventually(
      [&] {
        const json now_status = getJson(http, "/api/v1/status");
        const json* p = probeIn(now_status, "daily_fresh");
        return p && (*p)["last"].is_object() && (*p)["last"]["status"] == "pass";
      },
      20s));
  auto fixed = post(http,
                    json::array({olEvent("START", "r-3", std::chrono::system_clock::now(),
                                         "etl.load_daily", {"main.raw"}, {"main.daily"}),
                                 olEvent("COMPLETE", "r-3", std::chrono::system_clock::now(),
                                         "etl.load_daily", {"main.raw"}, {"main.daily"})}),
                    "");
  REQUIRE(fixed);
  REQUIRE(fixed->status == 201);
  REQUIRE(eventually([&] { return std::filesystem::exists(dir / "pm" / (id + ".md")); }, 40s));
  // Only the job's alert was sent, fired then resolved: never the muted table's.
  REQUIRE(hook.waitAccepted(2, 20s));
  for (const auto& req : hook.accepted())
    CHECK(req.json()["alert"]["id"] == "probe:load_job:critical");
  CHECK(hook.accepted().at(1).json()["status"] == "resolved");
  const std::string md = readFile(dir / "pm" / (id + ".md"));
  INFO(md);
  CHECK(md.find("dataset " + kNs + "/main.report") != std::string::npos);
  CHECK(md.find("job airflow/etl.publish") != std::string::npos);
  CHECK(md.find("daily_fresh") != std::string::npos);
  agent->signal(SIGTERM);
  CHECK(agent->wait(20s) == 0);
}
