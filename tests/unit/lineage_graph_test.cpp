#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/time_format.hpp"
#include "lineage/graph.hpp"
#include "lineage/run_event.hpp"
#include "tests/support/openlineage_events.hpp"

namespace ol = datawatch::testing::openlineage;
namespace lineage = datawatch::lineage;
using datawatch::parseTimestamp;
using lineage::EventType;
using lineage::LineageGraph;
using nlohmann::json;

namespace {

const std::string kPg = "postgres://db:5432";
const std::string kOrders = kPg + "/shop.public.orders";
const std::string kRaw = kPg + "/shop.public.orders_raw";
const std::string kLoadJob = "airflow/orders_dag.load_orders";

ol::AirflowTask loadOrders(int run, int64_t rows = 1200) {
  auto t = ol::airflowTask("orders_dag", "load_orders", ol::runId(run));
  t.inputs = {ol::table(kPg, "shop.public.orders_raw")};
  t.outputs = {ol::table(kPg, "shop.public.orders", rows)};
  return t;
}

lineage::RunEvent ev(const json& j) {
  auto r = lineage::parseRunEvent(j);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return std::move(*r);
}

datawatch::TimePoint at(const char* text) {
  return *parseTimestamp(text);
}

// A day of a small pipeline, in the order the producers would send it: Airflow
// tasks (one failed, one still running) and a Spark job with RUNNING events.
std::vector<json> pipelineDayDocs() {
  std::vector<json> out;
  auto extract = ol::airflowTask("orders_dag", "extract", ol::runId(10));
  extract.outputs = {ol::table(kPg, "shop.public.orders_raw", 5000)};
  out.push_back(ol::airflowEvent(extract, "START", "2026-11-30T02:00:01.100000+00:00"));
  out.push_back(ol::airflowEvent(extract, "COMPLETE", "2026-11-30T02:03:00.200000+00:00"));
  for (int day = 0; day < 3; ++day) {
    auto load = loadOrders(20 + day, 1000 + day);
    const std::string d = "2026-11-2" + std::to_string(7 + day);
    out.push_back(ol::airflowEvent(load, "START", d + "T02:05:00.000001+00:00"));
    out.push_back(day == 1 ? ol::airflowFailEvent(load, d + "T02:06:00+00:00", "boom")
                           : ol::airflowEvent(load, "COMPLETE", d + "T02:07:00.5+00:00"));
  }
  auto report = ol::airflowTask("orders_dag", "report", ol::runId(30));
  report.inputs = {ol::table(kPg, "shop.public.orders")};
  report.outputs = {ol::table(kPg, "shop.public.daily_revenue")};
  out.push_back(ol::airflowEvent(report, "START", "2026-11-30T02:10:00+00:00"));
  auto spark = ol::sparkJob("orders_daily", "execute_insert_into_hadoop_fs_relation_command.od",
                            ol::runId(40));
  spark.inputs = {ol::table(kPg, "shop.public.orders")};
  spark.outputs = {ol::table("hdfs://namenode:8020", "/warehouse/orders_daily", 777)};
  out.push_back(ol::sparkEvent(spark, "START", "2026-11-30T03:00:00.001Z"));
  out.push_back(ol::sparkEvent(spark, "RUNNING", "2026-11-30T03:00:05.002Z"));
  out.push_back(ol::sparkEvent(spark, "RUNNING", "2026-11-30T03:00:09.003Z"));
  out.push_back(ol::sparkEvent(spark, "COMPLETE", "2026-11-30T03:01:00.004Z"));
  return out;
}

std::vector<lineage::RunEvent> pipelineDay() {
  std::vector<lineage::RunEvent> out;
  for (const auto& doc : pipelineDayDocs()) out.push_back(ev(doc));
  return out;
}

}  // namespace

TEST_CASE("START then COMPLETE: the run, the job and the dataset it wrote", "[lineage]") {
  LineageGraph g;
  const auto t = loadOrders(1);
  CHECK(g.apply(ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:04.512331+00:00"))));
  CHECK(g.apply(ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:00:09.100000+00:00"))));
  CHECK(g.eventCount() == 2);
  CHECK(g.jobCount() == 1);
  CHECK(g.datasetCount() == 2);

  const auto job = g.job(kLoadJob);
  REQUIRE(job);
  CHECK(job->inputs == std::vector<std::string>{kRaw});
  CHECK(job->outputs == std::vector<std::string>{kOrders});
  REQUIRE(job->last_run);
  const auto& run = *job->last_run;
  CHECK(run.run_id == ol::runId(1));
  CHECK(run.state == EventType::Complete);
  CHECK(run.ended());
  CHECK(run.started_at == at("2026-11-30T02:00:04.512Z"));
  CHECK(run.ended_at == at("2026-11-30T02:00:09.100Z"));
  CHECK(run.last_event == at("2026-11-30T02:00:09.100Z"));
  CHECK(job->last_complete == at("2026-11-30T02:00:09.100Z"));
  CHECK(job->last_complete_run == ol::runId(1));
  // Run facets, merged from both events.
  CHECK(run.facets["nominalTime"]["nominalStartTime"] == "2026-11-30T02:00:00+00:00");
  CHECK(run.facets["airflow"]["task"]["task_id"] == "load_orders");
  CHECK(run.facets["processing_engine"]["name"] == "Airflow");

  const auto orders = g.dataset(kOrders);
  REQUIRE(orders);
  CHECK(orders->last_written == at("2026-11-30T02:00:09.100Z"));
  CHECK(orders->last_writer == kLoadJob);
  CHECK(orders->last_writer_run == ol::runId(1));
  CHECK(orders->row_count == 1200);
  CHECK(orders->producers == std::vector<std::string>{kLoadJob});
  CHECK(orders->consumers.empty());
  const auto raw = g.dataset(kRaw);
  REQUIRE(raw);
  CHECK(raw->consumers == std::vector<std::string>{kLoadJob});
  CHECK_FALSE(raw->last_written);  // read, never written
  CHECK_FALSE(g.job("airflow/unknown"));
  CHECK_FALSE(g.dataset("nowhere/none"));
}

TEST_CASE("START then FAIL: the error is kept, nothing is written", "[lineage]") {
  LineageGraph g;
  const auto t = loadOrders(2);
  g.apply(ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:00Z")));
  g.apply(ev(
      ol::airflowFailEvent(t, "2026-11-30T02:00:30Z", "relation \"orders_raw\" does not exist")));
  const auto job = g.job(kLoadJob);
  REQUIRE(job);
  REQUIRE(job->last_run);
  CHECK(job->last_run->state == EventType::Fail);
  CHECK(job->last_run->ended_at == at("2026-11-30T02:00:30Z"));
  CHECK(job->last_run->error_message == "relation \"orders_raw\" does not exist");
  CHECK(job->last_run->facets["errorMessage"]["programmingLanguage"] == "python");
  CHECK_FALSE(job->last_complete);
  const auto orders = g.dataset(kOrders);
  REQUIRE(orders);
  CHECK(orders->producers == std::vector<std::string>{kLoadJob});  // the edge is there
  CHECK_FALSE(orders->last_written);
  CHECK_FALSE(orders->row_count);
}

TEST_CASE("a START that never ends is a run still going", "[lineage]") {
  LineageGraph g;
  g.apply(ev(ol::airflowEvent(loadOrders(3), "START", "2026-11-30T02:00:00Z")));
  const auto job = g.job(kLoadJob);
  REQUIRE(job->last_run);
  CHECK(job->last_run->state == EventType::Start);
  CHECK_FALSE(job->last_run->ended());
  CHECK_FALSE(job->last_run->ended_at);
  CHECK(job->last_run->started_at == at("2026-11-30T02:00:00Z"));
  CHECK_FALSE(job->last_complete);
  CHECK_FALSE(g.dataset(kOrders)->last_written);
}

TEST_CASE("a duplicate changes nothing, even in another zone spelling", "[lineage]") {
  LineageGraph g;
  const auto t = loadOrders(4);
  CHECK(g.apply(ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:00.250Z"))));
  CHECK(g.apply(ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T10:00:00.250Z"))));
  const json before = g.toJson();
  const auto version = g.version();
  const auto count = g.eventCount();
  CHECK_FALSE(g.apply(ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T10:00:00.250Z"))));
  CHECK_FALSE(g.apply(ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T12:00:00.250+02:00"))));
  CHECK_FALSE(g.apply(ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:00.250999+00:00"))));
  CHECK(g.toJson() == before);
  CHECK(g.version() == version);
  CHECK(g.eventCount() == count);
}

TEST_CASE("COMPLETE before START gives the same run", "[lineage]") {
  const auto t = loadOrders(5);
  const auto start = ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:00Z"));
  const auto done = ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:05:00Z"));
  LineageGraph ordered, reversed;
  ordered.apply(start);
  ordered.apply(done);
  reversed.apply(done);
  const auto half = reversed.job(kLoadJob);
  CHECK(half->last_run->state == EventType::Complete);
  CHECK(half->last_run->started_at == at("2026-11-30T02:05:00Z"));  // the earliest event so far
  reversed.apply(start);
  CHECK(reversed.toJson() == ordered.toJson());
  const auto job = reversed.job(kLoadJob);
  CHECK(job->last_run->started_at == at("2026-11-30T02:00:00Z"));
  CHECK(job->last_run->state == EventType::Complete);
  CHECK(job->last_run->facets == ordered.job(kLoadJob)->last_run->facets);
}

TEST_CASE("a shuffled batch builds the same graph as the ordered one", "[lineage]") {
  auto docs = pipelineDayDocs();
  LineageGraph ordered;
  for (const auto& e : pipelineDay()) REQUIRE(ordered.apply(e));
  const json expected = ordered.toJson();
  // A producer's retry in the batch, spelled in another zone: one duplicate.
  auto retry = docs[1];
  retry["eventTime"] = "2026-11-30T04:03:00.200+02:00";
  docs.push_back(retry);
  for (const unsigned seed : {1u, 2u, 3u, 42u, 2026u, 31337u}) {
    INFO("seed " << seed);
    auto shuffled = docs;
    std::mt19937 rng(seed);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    auto events = lineage::parseRunEvents(ol::batchBody(shuffled));
    REQUIRE(events.ok());
    LineageGraph g;
    size_t applied = 0;
    for (const auto& e : *events) applied += g.apply(e) ? 1 : 0;
    CHECK(applied == docs.size() - 1);
    CHECK(g.toJson() == expected);
    CHECK(g.eventCount() == ordered.eventCount());
    CHECK(g.version() == ordered.version());
    CHECK(g.job(kLoadJob)->last_run->facets == ordered.job(kLoadJob)->last_run->facets);
  }
  // What the ordered day says.
  const auto load = ordered.job(kLoadJob);
  CHECK(load->last_run->run_id == ol::runId(22));
  CHECK(load->last_complete_run == ol::runId(22));
  CHECK(ordered.dataset(kOrders)->row_count == 1002);
  CHECK(ordered.job("airflow/orders_dag.report")->last_run->state == EventType::Start);
  const auto spark = ordered.dataset("hdfs://namenode:8020//warehouse/orders_daily");
  CHECK(spark->last_written == at("2026-11-30T03:01:00.004Z"));
  CHECK(spark->row_count == 777);
  CHECK(spark->last_writer ==
        "spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.od");
}

TEST_CASE("run facets merge: the later event's facet wins, whatever the order", "[lineage]") {
  const auto t = loadOrders(6);
  json start = ol::airflowEvent(t, "START", "2026-11-30T02:00:00Z");
  json done = ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:05:00Z");
  start["run"]["facets"]["custom"] = {{"phase", "start"}};
  start["run"]["facets"]["only_start"] = {{"x", 1}};
  done["run"]["facets"]["custom"] = {{"phase", "complete"}};
  for (const bool reverse : {false, true}) {
    LineageGraph g;
    g.apply(ev(reverse ? done : start));
    g.apply(ev(reverse ? start : done));
    const auto facets = g.job(kLoadJob)->last_run->facets;
    CHECK(facets["custom"]["phase"] == "complete");
    CHECK(facets["only_start"]["x"] == 1);
  }
}

TEST_CASE("a run's merged facets are capped at 16 KiB", "[lineage]") {
  LineageGraph g;
  const auto t = loadOrders(7);
  json start = ol::airflowEvent(t, "START", "2026-11-30T02:00:00Z");
  start["run"]["facets"]["spark_unknown"] = {{"blob", std::string(20 * 1024, 'x')}};
  json done = ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:05:00Z");
  done["run"]["facets"]["filler"] = {{"blob", std::string(15 * 1024, 'y')}};
  done["run"]["facets"]["zz_late"] = {{"blob", std::string(2 * 1024, 'z')}};
  g.apply(ev(start));
  g.apply(ev(done));
  const auto facets = g.job(kLoadJob)->last_run->facets;
  CHECK_FALSE(facets.contains("spark_unknown"));  // alone above the cap
  CHECK(facets.contains("airflow"));
  CHECK(facets.dump().size() < 17 * 1024);
  CHECK(g.job(kLoadJob)->last_run->state == EventType::Complete);  // the rest is merged
}

TEST_CASE("the state is the latest terminal event's", "[lineage]") {
  const auto t = loadOrders(8);
  const auto done = ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:05:00Z"));
  const auto fail = ev(ol::airflowFailEvent(t, "2026-11-30T02:06:00Z", "late failure"));
  const auto running = ev(ol::airflowEvent(t, "RUNNING", "2026-11-30T02:07:00Z"));
  for (const bool reverse : {false, true}) {
    LineageGraph g;
    for (const auto* e :
         reverse ? std::vector{&running, &fail, &done} : std::vector{&done, &fail, &running})
      g.apply(*e);
    const auto job = g.job(kLoadJob);
    CHECK(job->last_run->state == EventType::Fail);
    CHECK(job->last_run->ended_at == at("2026-11-30T02:06:00Z"));
    CHECK(job->last_run->last_event == at("2026-11-30T02:07:00Z"));
    CHECK_FALSE(job->last_complete);
    CHECK_FALSE(g.dataset(kOrders)->last_written);
  }
}

TEST_CASE("old runs are forgotten, their summaries kept", "[lineage]") {
  LineageGraph g(2);
  const auto first = loadOrders(50, 111);
  g.apply(ev(ol::airflowEvent(first, "START", "2026-11-28T02:00:00Z")));
  g.apply(ev(ol::airflowEvent(first, "COMPLETE", "2026-11-28T02:10:00Z")));
  for (int i = 0; i < 2; ++i) {
    const auto later = loadOrders(51 + i);
    const std::string d = i == 0 ? "2026-11-29" : "2026-11-30";
    g.apply(ev(ol::airflowEvent(later, "START", d + "T02:00:00Z")));
    g.apply(ev(ol::airflowFailEvent(later, d + "T02:01:00Z", "boom")));
  }
  const auto job = g.job(kLoadJob);
  CHECK(job->last_run->run_id == ol::runId(52));
  CHECK(job->last_complete == at("2026-11-28T02:10:00Z"));
  CHECK(job->last_complete_run == ol::runId(50));
  const auto orders = g.dataset(kOrders);
  CHECK(orders->last_written == at("2026-11-28T02:10:00Z"));
  CHECK(orders->row_count == 111);
  CHECK(orders->last_writer_run == ol::runId(50));
  // Its events are no longer recognised (the header's limit), and change nothing.
  const json before = g.toJson();
  CHECK(g.apply(ev(ol::airflowEvent(first, "COMPLETE", "2026-11-28T02:10:00Z"))));
  CHECK(g.toJson() == before);
}

TEST_CASE("datasetsFor: case-insensitive names, one namespace, the database", "[lineage]") {
  LineageGraph g;
  auto t = ol::airflowTask("dag", "task", ol::runId(60));
  t.outputs = {ol::table(kPg, "SHOP.Public.Orders"), ol::table(kPg, "archive.public.orders"),
               ol::table(kPg, "orders"), ol::table(kPg, "shop.public.orders_raw"),
               ol::table("postgres://other:5432", "shop.public.orders")};
  g.apply(ev(ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:00:00Z")));
  using V = std::vector<std::string>;
  CHECK(g.datasetsFor(kPg, "public.orders") ==
        V{kPg + "/SHOP.Public.Orders", kPg + "/archive.public.orders"});
  CHECK(g.datasetsFor(kPg, "PUBLIC.ORDERS") == g.datasetsFor(kPg, "public.orders"));
  CHECK(g.datasetsFor(kPg, "orders") ==
        V{kPg + "/SHOP.Public.Orders", kPg + "/archive.public.orders", kPg + "/orders"});
  CHECK(g.datasetsFor(kPg, "public.orders", "shop") == V{kPg + "/SHOP.Public.Orders"});
  CHECK(g.datasetsFor(kPg, "public.orders", "Archive") == V{kPg + "/archive.public.orders"});
  CHECK(g.datasetsFor(kPg, "orders", "shop").empty());  // shop.orders is not there
  CHECK(g.datasetsFor(kPg, "blic.orders").empty());     // whole name parts only
  CHECK(g.datasetsFor(kPg, "").empty());
  CHECK(g.datasetsFor("postgres://nowhere:5432", "public.orders").empty());
  CHECK(g.datasetsFor("postgres://other:5432", "public.orders") ==
        V{"postgres://other:5432/shop.public.orders"});
}

TEST_CASE("topology: dataset -> job for inputs, job -> dataset for outputs", "[lineage]") {
  LineageGraph g;
  CHECK(g.version() == 0);
  const auto events = pipelineDay();
  g.apply(events[0]);  // extract START: one job, one dataset, one edge
  const auto v1 = g.version();
  CHECK(v1 > 0);
  for (const auto& e : events) g.apply(e);
  const auto topo = g.topology();
  CHECK(topo.jobs == std::vector<std::string>{
                         "airflow/orders_dag.extract", kLoadJob, "airflow/orders_dag.report",
                         "spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.od"});
  CHECK(topo.datasets == std::vector<std::string>{"hdfs://namenode:8020//warehouse/orders_daily",
                                                  kPg + "/shop.public.daily_revenue", kOrders,
                                                  kRaw});
  using E = std::pair<std::string, std::string>;
  CHECK(topo.edges ==
        std::vector<E>{
            {"airflow/orders_dag.extract", kRaw},
            {kLoadJob, kOrders},
            {"airflow/orders_dag.report", kPg + "/shop.public.daily_revenue"},
            {kOrders, "airflow/orders_dag.report"},
            {kOrders, "spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.od"},
            {kRaw, kLoadJob},
            {"spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.od",
             "hdfs://namenode:8020//warehouse/orders_daily"},
        });
  // Another run over the same nodes adds no node or edge.
  const auto v2 = g.version();
  const auto again = loadOrders(99);
  g.apply(ev(ol::airflowEvent(again, "START", "2026-11-30T05:00:00Z")));
  CHECK(g.version() == v2);
}

TEST_CASE("toJson: jobs, datasets and edges, sorted, times in RFC 3339", "[lineage]") {
  LineageGraph g;
  CHECK(g.toJson() ==
        json{{"jobs", json::array()}, {"datasets", json::array()}, {"edges", json::array()}});
  const auto t = loadOrders(70);
  g.apply(ev(ol::airflowEvent(t, "START", "2026-11-30T02:00:04.512331+00:00")));
  g.apply(ev(ol::airflowFailEvent(t, "2026-11-30T02:00:09Z", "boom")));
  const json j = g.toJson();
  REQUIRE(j["jobs"].size() == 1);
  CHECK(j["jobs"][0] == json{{"key", kLoadJob},
                             {"namespace", "airflow"},
                             {"name", "orders_dag.load_orders"},
                             {"inputs", {kRaw}},
                             {"outputs", {kOrders}},
                             {"last_run",
                              {{"run_id", ol::runId(70)},
                               {"state", "FAIL"},
                               {"started_at", "2026-11-30T02:00:04.512Z"},
                               {"ended_at", "2026-11-30T02:00:09.000Z"},
                               {"error_message", "boom"}}},
                             {"last_complete", nullptr}});
  REQUIRE(j["datasets"].size() == 2);
  CHECK(j["datasets"][0] == json{{"key", kOrders},
                                 {"namespace", kPg},
                                 {"name", "shop.public.orders"},
                                 {"producers", {kLoadJob}},
                                 {"consumers", json::array()},
                                 {"last_written", nullptr},
                                 {"row_count", nullptr}});
  CHECK(j["datasets"][1]["key"] == kRaw);
  CHECK(j["edges"] ==
        json{{{"from", kLoadJob}, {"to", kOrders}}, {{"from", kRaw}, {"to", kLoadJob}}});
  g.apply(ev(ol::airflowEvent(loadOrders(71), "COMPLETE", "2026-11-30T03:00:00Z")));
  const json k = g.toJson();
  CHECK(k["jobs"][0]["last_complete"] == "2026-11-30T03:00:00.000Z");
  CHECK(k["jobs"][0]["last_run"]["ended_at"] == "2026-11-30T03:00:00.000Z");
  CHECK(k["jobs"][0]["last_run"]["error_message"] == nullptr);
  CHECK(k["datasets"][0]["last_written"] == "2026-11-30T03:00:00.000Z");
  CHECK(k["datasets"][0]["row_count"] == 1200);
}

TEST_CASE("the graph takes events from several threads", "[lineage][threads]") {
  LineageGraph g;
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&g, w] {
      for (int i = 0; i < 50; ++i) {
        auto t = ol::airflowTask("dag" + std::to_string(w), "task", ol::runId(w * 1000 + i));
        t.outputs = {ol::table(kPg, "shop.public.t" + std::to_string(i % 5))};
        // No Catch2 assertion off the main thread.
        auto e = lineage::parseRunEvent(ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:00:00Z"));
        if (e.ok()) g.apply(*e);
        (void)g.toJson();
        (void)g.datasetsFor(kPg, "public.t1");
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(g.eventCount() == 200);
  CHECK(g.jobCount() == 4);
  CHECK(g.datasetCount() == 5);
}
