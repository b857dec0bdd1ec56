#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/types.hpp"
#include "lineage/graph.hpp"
#include "lineage/links.hpp"
#include "lineage/run_event.hpp"
#include "tests/support/openlineage_events.hpp"

namespace ol = datawatch::testing::openlineage;
namespace lineage = datawatch::lineage;
namespace config = datawatch::config;
using lineage::LineageGraph;
using lineage::LineageLinks;
using nlohmann::json;
using Names = std::vector<std::string>;

namespace {

const std::string kPg = "postgres://db:5432";
const std::string kRaw = kPg + "/shop.public.orders_raw";
const std::string kOrders = kPg + "/shop.public.orders";
const std::string kRevenue = kPg + "/shop.public.daily_revenue";
const std::string kArchive = kPg + "/archive.public.orders";
const std::string kLake = "s3://lake/raw/orders";
const std::string kWarehouse = "hdfs://namenode:8020//warehouse/orders_daily";
const std::string kExtract = "airflow/orders_dag.extract";
const std::string kLoad = "airflow/orders_dag.load_orders";
const std::string kReport = "airflow/orders_dag.report";
const std::string kSpark = "spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.od";

void applyOrThrow(LineageGraph& g, const json& j) {
  auto e = lineage::parseRunEvent(j);
  INFO((e.ok() ? std::string() : e.error()));
  REQUIRE(e.ok());
  g.apply(*e);
}

// s3 raw -> extract -> orders_raw -> load -> orders -> report -> daily_revenue
//                                                  \-> spark -> /warehouse/orders_daily
// and an archive copy of orders no probe maps (another database).
void buildPipeline(LineageGraph& g) {
  auto extract = ol::airflowTask("orders_dag", "extract", ol::runId(1));
  extract.inputs = {ol::table("s3://lake", "raw/orders")};
  extract.outputs = {ol::table(kPg, "shop.public.orders_raw", 10)};
  auto load = ol::airflowTask("orders_dag", "load_orders", ol::runId(2));
  load.inputs = {ol::table(kPg, "shop.public.orders_raw")};
  load.outputs = {ol::table(kPg, "shop.public.orders", 10),
                  ol::table(kPg, "archive.public.orders")};
  auto report = ol::airflowTask("orders_dag", "report", ol::runId(3));
  report.inputs = {ol::table(kPg, "shop.public.orders")};
  report.outputs = {ol::table(kPg, "shop.public.daily_revenue")};
  auto spark = ol::sparkJob("orders_daily", "execute_insert_into_hadoop_fs_relation_command.od",
                            ol::runId(4));
  spark.inputs = {ol::table(kPg, "shop.public.orders")};
  spark.outputs = {ol::table("hdfs://namenode:8020", "/warehouse/orders_daily", 5)};
  applyOrThrow(g, ol::airflowEvent(extract, "COMPLETE", "2026-11-30T02:01:00+00:00"));
  applyOrThrow(g, ol::airflowEvent(load, "COMPLETE", "2026-11-30T02:02:00+00:00"));
  applyOrThrow(g, ol::airflowEvent(report, "START", "2026-11-30T02:03:00+00:00"));
  applyOrThrow(g, ol::sparkEvent(spark, "COMPLETE", "2026-11-30T03:00:00.000Z"));
}

config::SourceConfig pgSource(const std::string& name, const std::string& ns,
                              const std::string& database) {
  config::SourceConfig s;
  s.name = name;
  s.type = config::SourceType::Postgres;
  s.dialect = config::DialectId::Postgres;
  s.spec = config::PostgresSourceConfig{"postgresql://db/shop"};
  s.lineage_namespace = ns;
  s.lineage_database = database;
  return s;
}

config::ProbeConfig tableProbe(const std::string& name, config::ProbeType type,
                               const std::string& source, const std::string& table) {
  config::ProbeConfig p;
  p.name = name;
  p.type = type;
  p.source = source;
  p.table = table;
  if (type == config::ProbeType::Volume) p.spec = config::VolumeSpec{};
  return p;
}

config::ProbeConfig jobProbe(const std::string& name, const std::string& job) {
  config::ProbeConfig p;
  p.name = name;
  p.type = config::ProbeType::Job;
  config::JobSpec spec;
  spec.job = job;
  spec.max_age = std::chrono::hours(26);
  p.spec = spec;
  return p;
}

config::ProbeConfig datasetProbe(const std::string& name, const std::string& dataset) {
  config::ProbeConfig p;
  p.name = name;
  p.type = config::ProbeType::Freshness;
  p.dataset = dataset;
  return p;
}

config::Config pipelineConfig() {
  config::Config cfg;
  cfg.sources = {pgSource("shop_pg", kPg, "shop"), pgSource("other_pg", "", "")};
  using config::ProbeType;
  cfg.probes = {
      tableProbe("raw_fresh", ProbeType::Freshness, "shop_pg", "public.orders_raw"),
      jobProbe("load_job", kLoad),
      tableProbe("orders_fresh", ProbeType::Freshness, "shop_pg", "public.orders"),
      tableProbe("orders_volume", ProbeType::Volume, "shop_pg", "PUBLIC.ORDERS"),
      tableProbe("revenue_volume", ProbeType::Volume, "shop_pg", "public.daily_revenue"),
      datasetProbe("warehouse_fresh", kWarehouse),
      tableProbe("unmapped", ProbeType::Freshness, "other_pg", "public.orders"),
      jobProbe("ghost_job", "airflow/never_seen.task"),
  };
  return cfg;
}

}  // namespace

TEST_CASE("links: the nodes each probe watches", "[lineage]") {
  LineageGraph g;
  buildPipeline(g);
  const LineageLinks links(pipelineConfig(), g);
  CHECK(links.nodesOf("raw_fresh") == Names{kRaw});
  CHECK(links.nodesOf("load_job") == Names{kLoad});
  CHECK(links.nodesOf("orders_fresh") == Names{kOrders});  // lineage_database: not the archive
  CHECK(links.nodesOf("orders_volume") == Names{kOrders});
  CHECK(links.nodesOf("warehouse_fresh") == Names{kWarehouse});
  CHECK(links.nodesOf("unmapped").empty());   // its source has no lineage_namespace
  CHECK(links.nodesOf("ghost_job").empty());  // not in the graph
  CHECK(links.nodesOf("no such probe").empty());
}

TEST_CASE("links: a job probe is upstream of the table its job writes", "[lineage]") {
  LineageGraph g;
  buildPipeline(g);
  const LineageLinks links(pipelineConfig(), g);
  CHECK(links.upstreamProbes("orders_fresh") == Names{"load_job"});
  CHECK(links.upstreamProbes("orders_volume") == Names{"load_job"});
  CHECK(links.upstreamProbes("load_job") == Names{"raw_fresh"});
  CHECK(links.upstreamProbes("raw_fresh").empty());
  CHECK(links.upstreamProbes("unmapped").empty());
  CHECK(links.upstreamProbes("no such probe").empty());
}

TEST_CASE("links: the walk stops at the first watched node", "[lineage]") {
  LineageGraph g;
  buildPipeline(g);
  const LineageLinks links(pipelineConfig(), g);
  // revenue <- report (unwatched) <- orders (watched: stop; load_job is beyond).
  CHECK(links.upstreamProbes("revenue_volume") == Names{"orders_fresh", "orders_volume"});
  CHECK(links.upstreamProbes("warehouse_fresh") == Names{"orders_fresh", "orders_volume"});

  const auto chain = links.upstreamChain("revenue_volume");
  REQUIRE(chain.size() == 2);
  CHECK(chain[0].node == kReport);
  CHECK(chain[0].job);
  CHECK(chain[0].depth == 1);
  CHECK(chain[0].probes.empty());
  CHECK(chain[1].node == kOrders);
  CHECK_FALSE(chain[1].job);
  CHECK(chain[1].depth == 2);
  CHECK(chain[1].probes == Names{"orders_fresh", "orders_volume"});
  CHECK(links.upstreamChain("revenue_volume", 1).size() == 1);
  CHECK(links.upstreamChain("revenue_volume", 0).empty());

  // Nothing watched above raw: the chain runs to the graph's end.
  const auto raw = links.upstreamChain("raw_fresh");
  REQUIRE(raw.size() == 2);
  CHECK(raw[0].node == kExtract);
  CHECK(raw[1].node == kLake);
  CHECK(raw[1].depth == 2);

  // Without the job probe, orders' upstream is two steps up.
  auto cfg = pipelineConfig();
  cfg.probes.erase(cfg.probes.begin() + 1);
  const LineageLinks no_job(cfg, g);
  CHECK(no_job.upstreamProbes("orders_fresh") == Names{"raw_fresh"});
}

TEST_CASE("links: downstream lists datasets and jobs, nearest first", "[lineage]") {
  LineageGraph g;
  buildPipeline(g);
  const LineageLinks links(pipelineConfig(), g);
  const auto from_raw = links.downstreamOf({"raw_fresh"});
  CHECK(from_raw.jobs == Names{kLoad, kReport, kSpark});
  CHECK(from_raw.datasets == Names{kArchive, kOrders, kWarehouse, kRevenue});
  const auto from_load = links.downstreamOf({"load_job", "orders_fresh"});
  CHECK(from_load.jobs == Names{kReport, kSpark});  // the probes' own nodes excluded
  CHECK(from_load.datasets == Names{kArchive, kWarehouse, kRevenue});
  CHECK(links.downstreamOf({"revenue_volume"}).datasets.empty());
  CHECK(links.downstreamOf({"unmapped", "no such probe"}).jobs.empty());
  CHECK_FALSE(from_raw.truncated);
  // Bounded: the nearest first, and it says more lie beyond.
  const auto first_two = links.downstreamOf({"raw_fresh"}, 2);
  CHECK(first_two.jobs == Names{kLoad});
  CHECK(first_two.datasets.size() + first_two.jobs.size() == 2);
  CHECK(first_two.truncated);
}

TEST_CASE("links: cycles are walked once", "[lineage]") {
  // a reads x, writes y; b reads y, writes x; c reads and writes z.
  LineageGraph g;
  auto a = ol::airflowTask("loop", "a", ol::runId(1));
  a.inputs = {ol::table(kPg, "x")};
  a.outputs = {ol::table(kPg, "y")};
  auto b = ol::airflowTask("loop", "b", ol::runId(2));
  b.inputs = {ol::table(kPg, "y")};
  b.outputs = {ol::table(kPg, "x")};
  auto c = ol::airflowTask("loop", "c", ol::runId(3));
  c.inputs = {ol::table(kPg, "z")};
  c.outputs = {ol::table(kPg, "z")};
  for (const auto* t : {&a, &b, &c})
    applyOrThrow(g, ol::airflowEvent(*t, "COMPLETE", "2026-11-30T02:00:00Z"));

  config::Config cfg;
  cfg.probes = {datasetProbe("x_fresh", kPg + "/x"), datasetProbe("z_fresh", kPg + "/z")};
  const LineageLinks links(cfg, g);
  CHECK(links.upstreamProbes("x_fresh").empty());
  const auto chain = links.upstreamChain("x_fresh");
  REQUIRE(chain.size() == 3);
  CHECK(chain[0].node == "airflow/loop.b");
  CHECK(chain[1].node == kPg + "/y");
  CHECK(chain[2].node == "airflow/loop.a");
  CHECK(chain[2].depth == 3);
  const auto down = links.downstreamOf({"x_fresh"});
  CHECK(down.jobs == Names{"airflow/loop.a", "airflow/loop.b"});
  CHECK(down.datasets == Names{kPg + "/y"});
  CHECK(links.upstreamProbes("z_fresh").empty());  // its own node: never itself
  CHECK(links.upstreamChain("z_fresh").size() == 1);

  cfg.probes.push_back(jobProbe("a_job", "airflow/loop.a"));
  const LineageLinks watched(cfg, g);
  // a_job and x_fresh sit on one cycle: each would mute the other while both
  // fail, and nothing would be sent. Neither is the other's upstream.
  CHECK(watched.upstreamProbes("x_fresh").empty());
  CHECK(watched.upstreamProbes("a_job").empty());

  // A job that reads what it writes (c: z -> z) is upstream of z, not below it.
  cfg.probes.push_back(jobProbe("c_job", "airflow/loop.c"));
  const LineageLinks merge(cfg, g);
  CHECK(merge.upstreamProbes("z_fresh") == Names{"c_job"});
  CHECK(merge.upstreamProbes("c_job").empty());
}

TEST_CASE("links: no lineage, no links", "[lineage]") {
  const LineageLinks none;
  CHECK(none.nodesOf("orders_fresh").empty());
  CHECK(none.upstreamProbes("orders_fresh").empty());
  CHECK(none.upstreamChain("orders_fresh").empty());
  CHECK(none.downstreamOf({"orders_fresh"}).datasets.empty());
  LineageGraph empty;
  const LineageLinks over_empty(pipelineConfig(), empty);
  CHECK(over_empty.nodesOf("load_job").empty());
  CHECK(over_empty.upstreamProbes("orders_fresh").empty());
}
