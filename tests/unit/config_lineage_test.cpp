// The config of what OpenLineage events feed (docs/lineage.md): `type: job`
// probes, freshness and volume probes with `dataset:`, a source's
// lineage_namespace / lineage_database and agent.lineage_token. Issue 21.

#include <catch2/catch.hpp>

#include <algorithm>

#include "config/loader.hpp"
#include "core/redact.hpp"
#include "tests/support/test_support.hpp"
#include "tests/unit/config_test_support.hpp"

using namespace datawatch;
using namespace datawatch::config;
using namespace std::chrono_literals;
using datawatch::testing::allErrors;
using datawatch::testing::kPrelude;
using datawatch::testing::loadTestYaml;

namespace {

const char* kLineage = R"(agent: {lineage_token: "${OL_TOKEN}"}
sources:
  warehouse: {type: postgres, dsn: "postgres://u@db/shop", lineage_namespace: "postgres://db:5432", lineage_database: shop}
  events: {type: kafka, brokers: "k:9092", lineage_namespace: "kafka://k:9092"}
probes:
  - {name: nightly_orders, type: job, job: "airflow/orders_dag.load_orders", max_age: 1d}
  - {name: hourly_job, type: job, job: "spark/etl.hourly", schedule: "0 * * * *", grace: 30m, timezone: Europe/Paris, max_duration: 2h}
  - {name: orders_ds_fresh, type: freshness, dataset: "postgres://db:5432/shop.public.orders", max_age: 1h}
  - {name: orders_ds_rows, type: volume, dataset: "postgres://db:5432/shop.public.orders", min: 1000}
  - {name: slow_job, type: job, job: "dbt/shop.run", max_duration: 45m, every: 5m, timeout: 5s}
  - {name: batch_ds, type: freshness, dataset: "file//data/orders.csv", schedule: "0 6 * * *", grace: 2h}
  - {name: rows_ds, type: volume, dataset: "s3://bucket/orders", max: 5000, max_change: 0.5, must: "> 10"}
  - {name: orders_table, type: volume, source: warehouse, table: public.orders, min: 1,
     upstream: [nightly_orders, orders_ds_fresh]}
slos:
  - {name: orders-lineage, objective: 99, probes: [nightly_orders, orders_ds_fresh, orders_ds_rows]}
environments:
  staging:
    sources: {warehouse: {lineage_namespace: "postgres://staging-db:5432", lineage_database: shop_staging}}
    agent: {lineage_token: "${STAGING_OL_TOKEN}"}
    probes: {nightly_orders: {job: "airflow-staging/orders_dag.load_orders"}}
)";

std::map<std::string, std::string> lineageEnv() {
  return {{"OL_TOKEN", "ol-token-123456"}, {"STAGING_OL_TOKEN", "ol-staging-987654"}};
}

LoadResult load(const std::string& yaml, const std::string& env = "") {
  return loadTestYaml(yaml, env, lineageEnv());
}

bool hasSecret(const Config& c, const std::string& s) {
  return std::find(c.secrets.begin(), c.secrets.end(), s) != c.secrets.end();
}

}  // namespace

TEST_CASE("job and dataset probes load into their typed fields", "[config][lineage]") {
  auto r = load(kLineage);
  INFO(allErrors(r));
  REQUIRE(r.ok());
  const Config& c = *r.config;

  REQUIRE(c.agent.lineage_token);
  CHECK(*c.agent.lineage_token == "ol-token-123456");
  CHECK(hasSecret(c, "ol-token-123456"));
  CHECK(Redactor(c.secrets).redact("Bearer ol-token-123456") == "Bearer <redacted>");

  const auto* wh = c.findSource("warehouse");
  REQUIRE(wh);
  CHECK(wh->lineage_namespace == "postgres://db:5432");
  CHECK(wh->lineage_database == "shop");
  const auto* ev = c.findSource("events");
  REQUIRE(ev);
  CHECK(ev->lineage_namespace == "kafka://k:9092");
  CHECK(ev->lineage_database.empty());

  const auto* nightly = c.findProbe("nightly_orders");
  REQUIRE(nightly);
  CHECK(nightly->type == ProbeType::Job);
  CHECK(nightly->fromLineage());
  CHECK(nightly->source.empty());
  CHECK(nightly->target() == "airflow/orders_dag.load_orders");
  CHECK(nightly->every == 1min);
  CHECK(nightly->timeout == 30s);
  const auto& nj = std::get<JobSpec>(nightly->spec);
  CHECK(nj.job == "airflow/orders_dag.load_orders");
  CHECK(nj.max_age == std::optional<Duration>(24h));
  CHECK_FALSE(nj.schedule);
  CHECK_FALSE(nj.max_duration);
  CHECK(nj.grace == 0s);
  CHECK(nj.timezone == "UTC");

  const auto* hourly = c.findProbe("hourly_job");
  REQUIRE(hourly);
  const auto& hj = std::get<JobSpec>(hourly->spec);
  CHECK(hj.job == "spark/etl.hourly");
  CHECK_FALSE(hj.max_age);
  REQUIRE(hj.schedule);
  CHECK(hj.schedule->text() == "0 * * * *");
  CHECK(hj.grace == 30min);
  CHECK(hj.timezone == "Europe/Paris");
  CHECK(hj.tz->name() == "Europe/Paris");
  CHECK(hj.max_duration == std::optional<Duration>(2h));
  CHECK(hourly->every == 1min);

  const auto* slow = c.findProbe("slow_job");
  REQUIRE(slow);
  CHECK(slow->every == 5min);  // given: kept
  CHECK(slow->timeout == 5s);
  CHECK(std::get<JobSpec>(slow->spec).max_duration == std::optional<Duration>(45min));

  const auto* fresh = c.findProbe("orders_ds_fresh");
  REQUIRE(fresh);
  CHECK(fresh->type == ProbeType::Freshness);
  CHECK(fresh->fromLineage());
  CHECK(fresh->dataset == "postgres://db:5432/shop.public.orders");
  CHECK(fresh->target() == "postgres://db:5432/shop.public.orders");
  CHECK(fresh->source.empty());
  CHECK(fresh->table.empty());
  CHECK(fresh->every == 1min);
  CHECK(std::get<FreshnessSpec>(fresh->spec).max_age == std::optional<Duration>(1h));

  const auto* batch = c.findProbe("batch_ds");
  REQUIRE(batch);
  const auto& bf = std::get<FreshnessSpec>(batch->spec);
  REQUIRE(bf.schedule);
  CHECK(bf.grace == 2h);
  CHECK_FALSE(bf.max_age);

  const auto* rows = c.findProbe("orders_ds_rows");
  REQUIRE(rows);
  CHECK(rows->type == ProbeType::Volume);
  CHECK(rows->dataset == "postgres://db:5432/shop.public.orders");
  CHECK(rows->every == 1min);
  CHECK(std::get<VolumeSpec>(rows->spec).min == std::optional<double>(1000));

  const auto* rows2 = c.findProbe("rows_ds");
  REQUIRE(rows2);
  const auto& rv = std::get<VolumeSpec>(rows2->spec);
  CHECK(rv.max == std::optional<double>(5000));
  CHECK(rv.max_change == std::optional<double>(0.5));
  REQUIRE(rv.must);
  CHECK(rv.must->str() == "> 10");

  // Table probes keep their default, and may list lineage probes upstream.
  const auto* table = c.findProbe("orders_table");
  REQUIRE(table);
  CHECK_FALSE(table->fromLineage());
  CHECK(table->every == 5min);
  CHECK(table->upstream == std::vector<std::string>{"nightly_orders", "orders_ds_fresh"});
  const auto* slo = c.findSlo("orders-lineage");
  REQUIRE(slo);
  CHECK(slo->probes.size() == 3);
}

TEST_CASE("environments override lineage keys like any other", "[config][lineage][env]") {
  auto r = load(kLineage, "staging");
  INFO(allErrors(r));
  REQUIRE(r.ok());
  const Config& c = *r.config;
  const auto* wh = c.findSource("warehouse");
  REQUIRE(wh);
  CHECK(wh->lineage_namespace == "postgres://staging-db:5432");
  CHECK(wh->lineage_database == "shop_staging");
  CHECK(std::get<PostgresSourceConfig>(wh->spec).dsn == "postgres://u@db/shop");  // kept
  REQUIRE(c.agent.lineage_token);
  CHECK(*c.agent.lineage_token == "ol-staging-987654");
  CHECK(hasSecret(c, "ol-staging-987654"));
  CHECK(std::get<JobSpec>(c.findProbe("nightly_orders")->spec).job ==
        "airflow-staging/orders_dag.load_orders");
  CHECK(std::get<JobSpec>(c.findProbe("nightly_orders")->spec).max_age ==
        std::optional<Duration>(24h));
}

TEST_CASE("lineage probes need no source at all", "[config][lineage]") {
  auto r = load(
      "probes:\n"
      "  - {name: j, type: job, job: \"airflow/dag.task\", max_age: 1d}\n"
      "  - {name: f, type: freshness, dataset: \"postgres://db:5432/shop.public.orders\", "
      "max_age: 1h, upstream: [j]}\n"
      "  - {name: v, type: volume, dataset: \"postgres://db:5432/shop.public.orders\", min: 1,\n"
      "     alert: {after: 2, severity: page}}\n"
      "slos:\n"
      "  - {name: s, objective: 99.5, probes: [j, f, v]}\n");
  INFO(allErrors(r));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  CHECK(r.config->sources.empty());
  CHECK(r.config->probes.size() == 3);
  CHECK_FALSE(r.config->agent.lineage_token);
  CHECK(r.config->findProbe("v")->alert->after == 2);
}

TEST_CASE("a job probe's misspelled key gets a did-you-mean", "[config][lineage][broken]") {
  auto r = load(std::string(kPrelude) +
                "probes:\n"                     // 6
                "  - name: j\n"                 // 7
                "    type: job\n"               // 8
                "    job: airflow/dag.task\n"   // 9
                "    max_duraton: 2h\n"         // 10
                "    schedle: \"0 6 * * *\"\n"  // 11
                "    max_age: 1d\n");           // 12
  INFO(allErrors(r));
  REQUIRE_FALSE(r.ok());
  const std::string all = allErrors(r);
  CHECK(all.find("/etc/datawatch/test.yaml:10:5: unknown key \"max_duraton\" in probe \"j\" (did "
                 "you mean \"max_duration\"?)") != std::string::npos);
  CHECK(all.find("/etc/datawatch/test.yaml:11:5: unknown key \"schedle\" in probe \"j\" (did you "
                 "mean \"schedule\"?)") != std::string::npos);
}

TEST_CASE("a lineage probe's source is reported at its value", "[config][lineage][broken]") {
  auto r = load(std::string(kPrelude) +
                "probes:\n"                                          // 6
                "  - name: j\n"                                      // 7
                "    type: job\n"                                    // 8
                "    source: db\n"                                   // 9
                "    job: airflow/dag.task\n"                        // 10
                "    max_age: 1d\n"                                  // 11
                "  - name: d\n"                                      // 12
                "    type: volume\n"                                 // 13
                "    dataset: \"postgres://db:5432/shop.orders\"\n"  // 14
                "    table: shop.orders\n"                           // 15
                "    min: 1\n");                                     // 16
  INFO(allErrors(r));
  REQUIRE_FALSE(r.ok());
  const std::string all = allErrors(r);
  CHECK(all.find("/etc/datawatch/test.yaml:9:13: probe \"j\": job probes are fed by OpenLineage "
                 "events: remove source\n") != std::string::npos);
  CHECK(all.find("/etc/datawatch/test.yaml:15:12: probe \"d\": dataset probes are fed by "
                 "OpenLineage events: remove table\n") != std::string::npos);
  CHECK(r.diagnostics.size() == 2);  // no "source is not defined", no "missing table"
}

namespace {

struct LineageCase {
  const char* name;
  const char* yaml;
  int line;
  const char* message;
};

// Each a complete config (after kPrelude, lines 1-5) wrong in one way.
const LineageCase kLineageBroken[] = {
    {"job without job", "probes:\n  - {name: p, type: job, max_age: 1d}\n", 7,
     "probe \"p\": missing required key \"job\""},
    {"job empty", "probes:\n  - {name: p, type: job, job: \"\", max_age: 1d}\n", 7,
     "job must not be empty"},
    {"job without namespace", "probes:\n  - {name: p, type: job, job: orders_dag, max_age: 1d}\n",
     7, "probe \"p\": job \"orders_dag\" must be \"namespace/name\""},
    {"job with empty name", "probes:\n  - {name: p, type: job, job: \"airflow/\", max_age: 1d}\n",
     7, "job \"airflow/\" must be \"namespace/name\""},
    {"job with empty namespace",
     "probes:\n  - {name: p, type: job, job: \"/orders_dag\", max_age: 1d}\n", 7,
     "job \"/orders_dag\" must be \"namespace/name\""},
    {"job checks nothing", "probes:\n  - {name: p, type: job, job: a/b}\n", 7,
     "probe \"p\": a job probe needs at least one of max_age, schedule (with grace) and "
     "max_duration"},
    {"job grace without schedule",
     "probes:\n  - {name: p, type: job, job: a/b, max_age: 1d, grace: 1h}\n", 7,
     "probe \"p\": grace applies only with a schedule"},
    {"job timezone without schedule",
     "probes:\n  - {name: p, type: job, job: a/b, max_age: 1d, timezone: Europe/Paris}\n", 7,
     "probe \"p\": timezone applies only with a schedule"},
    {"job bad timezone",
     "probes:\n  - {name: p, type: job, job: a/b, schedule: \"0 6 * * *\", timezone: "
     "Mars/Olympus}\n",
     7, "unknown time zone \"Mars/Olympus\""},
    {"job bad cron", "probes:\n  - {name: p, type: job, job: a/b, schedule: \"0 25 * * *\"}\n", 7,
     "probe \"p\": schedule: invalid cron expression \"0 25 * * *\""},
    {"job bad max_duration", "probes:\n  - {name: p, type: job, job: a/b, max_duration: forever}\n",
     7, "max_duration: invalid duration \"forever\""},
    {"job with source", "probes:\n  - {name: p, type: job, job: a/b, source: db, max_age: 1d}\n", 7,
     "probe \"p\": job probes are fed by OpenLineage events: remove source"},
    {"job with table", "probes:\n  - {name: p, type: job, job: a/b, table: t, max_age: 1d}\n", 7,
     "probe \"p\": job probes are fed by OpenLineage events: remove table"},
    {"job with topic", "probes:\n  - {name: p, type: job, job: a/b, topic: t, max_age: 1d}\n", 7,
     "probe \"p\": job probes are fed by OpenLineage events: remove topic"},
    {"job with dataset",
     "probes:\n  - {name: p, type: job, job: a/b, dataset: \"ns/ds\", max_age: 1d}\n", 7,
     "probe \"p\": dataset is taken by freshness and volume probes only (a job probe watches the "
     "runs of its job)"},
    {"job with a freshness key",
     "probes:\n  - {name: p, type: job, job: a/b, max_age: 1d, column: c}\n", 7,
     "\"column\" is not valid in probe \"p\" (it belongs to freshness probes)"},
    {"job key on freshness",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c, max_age: 1h, "
     "max_duration: 1h}\n",
     7, "\"max_duration\" is not valid in probe \"p\" (it belongs to job probes)"},
    {"job every too short",
     "probes:\n  - {name: p, type: job, job: a/b, max_age: 1d, every: 10ms}\n", 7,
     "every must be at least 1s"},
    {"job type typo", "probes:\n  - {name: p, type: jb, job: a/b, max_age: 1d}\n", 7,
     "unknown probe type \"jb\" (expected freshness, volume, drift, schema, values, sql, "
     "consumer_lag or job) (did you mean \"job\"?)"},
    {"dataset on drift", "probes:\n  - {name: p, type: drift, dataset: \"ns/ds\", column: c}\n", 7,
     "probe \"p\": dataset is taken by freshness and volume probes only, not by drift probes"},
    {"dataset on sql",
     "probes:\n  - {name: p, type: sql, dataset: \"ns/ds\", query: \"select 1\", max: 1}\n", 7,
     "dataset is taken by freshness and volume probes only, not by sql probes"},
    {"dataset without slash",
     "probes:\n  - {name: p, type: freshness, dataset: orders, max_age: 1h}\n", 7,
     "probe \"p\": dataset \"orders\" must be \"namespace/name\""},
    {"dataset namespace only",
     "probes:\n  - {name: p, type: freshness, dataset: \"postgres://\", max_age: 1h}\n", 7,
     "dataset \"postgres://\" must be \"namespace/name\""},
    {"dataset with source",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\", source: db, max_age: 1h}\n", 7,
     "probe \"p\": dataset probes are fed by OpenLineage events: remove source"},
    {"dataset with topic",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", topic: t, min: 1}\n", 7,
     "dataset probes are fed by OpenLineage events: remove topic"},
    {"dataset freshness column",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\", column: c, max_age: 1h}\n", 7,
     "probe \"p\": column is not available for dataset freshness"},
    {"dataset freshness filter",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\", filter: \"x > 1\", max_age: "
     "1h}\n",
     7, "filter is not available for dataset freshness"},
    {"dataset freshness oldest",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\", oldest: true, max_age: 1h}\n", 7,
     "oldest is not available for dataset freshness"},
    {"dataset freshness checks nothing",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\"}\n", 7,
     "freshness needs max_age, schedule (with grace), or both"},
    {"dataset freshness grace without schedule",
     "probes:\n  - {name: p, type: freshness, dataset: \"ns/ds\", max_age: 1h, grace: 1h}\n", 7,
     "grace applies only with a schedule"},
    {"dataset volume column",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", column: c, min: 1}\n", 7,
     "probe \"p\": column is not available for dataset volume: the row count comes from "
     "outputStatistics.rowCount"},
    {"dataset volume window",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", window: 1d, min: 1}\n", 7,
     "window is not available for dataset volume: the row count comes from "
     "outputStatistics.rowCount"},
    {"dataset volume anomaly",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", anomaly: {sensitivity: 3}}\n", 7,
     "anomaly is not available for dataset volume: the row count comes from "
     "outputStatistics.rowCount"},
    {"dataset volume filter",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", filter: \"x > 1\", min: 1}\n", 7,
     "filter is not available for dataset volume"},
    {"dataset volume method",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", method: estimate, min: 1}\n", 7,
     "method is not available for dataset volume"},
    {"dataset volume checks nothing", "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\"}\n",
     7, "probe \"p\" checks nothing: set at least one of min, max, max_change, must"},
    {"dataset volume drift key",
     "probes:\n  - {name: p, type: volume, dataset: \"ns/ds\", min: 1, bins: 3}\n", 7,
     "\"bins\" is not valid in probe \"p\" (it belongs to drift probes)"},
    {"upstream of a lineage probe unknown",
     "probes:\n  - {name: p, type: job, job: a/b, max_age: 1d, upstream: [q]}\n", 7,
     "upstream probe \"q\" is not defined"},
    {"slo over a lineage probe misspelled",
     "probes:\n  - {name: nightly, type: job, job: a/b, max_age: 1d}\nslos:\n  - {name: s, "
     "objective: 99, probes: [nightyl]}\n",
     9, "probe \"nightyl\" is not defined (did you mean \"nightly\"?)"},
    {"lineage_database without namespace",
     "sources:\n  wh: {type: sqlite, path: ./x.db, lineage_database: shop}\n", 7,
     "source \"wh\": lineage_database needs lineage_namespace"},
    {"lineage_namespace empty",
     "sources:\n  wh: {type: sqlite, path: ./x.db, lineage_namespace: \"\"}\n", 7,
     "source \"wh\": lineage_namespace must not be empty"},
    {"lineage_database empty",
     "sources:\n  wh: {type: sqlite, path: ./x.db, lineage_namespace: \"sqlite://x\", "
     "lineage_database: \"\"}\n",
     7, "source \"wh\": lineage_database must not be empty"},
    {"lineage_namespace not a string",
     "sources:\n  wh: {type: sqlite, path: ./x.db, lineage_namespace: [a, b]}\n", 7,
     "lineage_namespace must be a string, got a list"},
    {"lineage key typo",
     "sources:\n  wh: {type: kafka, brokers: \"k:9092\", lineage_namepsace: \"kafka://k\"}\n", 7,
     "unknown key \"lineage_namepsace\" in source \"wh\" (did you mean \"lineage_namespace\"?)"},
    {"lineage_token empty", "agent: {lineage_token: \"${EMPTY:-}\"}\n", 6,
     "agent.lineage_token must not be empty"},
    {"lineage_token not a string", "agent: {lineage_token: {a: b}}\n", 6,
     "lineage_token must be a string, got a map"},
    {"lineage_token typo", "agent: {lineage_tokn: abcdef}\n", 6,
     "unknown key \"lineage_tokn\" in agent (did you mean \"lineage_token\"?)"},
    {"lineage_token variable missing", "agent: {lineage_token: \"${NO_SUCH_TOKEN}\"}\n", 6,
     "environment variable NO_SUCH_TOKEN is not set"},
};

}  // namespace

TEST_CASE("lineage config errors are reported with their line and message",
          "[config][lineage][broken]") {
  for (const auto& bc : kLineageBroken) {
    DYNAMIC_SECTION(bc.name) {
      auto r = load(std::string(kPrelude) + bc.yaml);
      INFO(allErrors(r));
      REQUIRE_FALSE(r.ok());
      bool found = false;
      for (const auto& d : r.diagnostics) {
        found = found || (d.severity == Diagnostic::Severity::Error &&
                          d.message.find(bc.message) != std::string::npos &&
                          d.loc.line == bc.line && d.loc.file == "/etc/datawatch/test.yaml");
      }
      CHECK(found);
    }
  }
}

TEST_CASE("a lineage_namespace ending in '/' is a warning", "[config][lineage]") {
  auto r =
      load("sources:\n  wh: {type: sqlite, path: ./x.db, lineage_namespace: \"sqlite://x/\"}\n");
  INFO(allErrors(r));
  REQUIRE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].severity == Diagnostic::Severity::Warning);
  CHECK(r.diagnostics[0].loc.line == 2);
  CHECK(r.diagnostics[0].message.find("lineage_namespace \"sqlite://x/\" ends with '/'") !=
        std::string::npos);
  CHECK(r.config->findSource("wh")->lineage_namespace == "sqlite://x/");
}

TEST_CASE("dialect limits do not apply to lineage probes", "[config][lineage]") {
  ProbeConfig p;
  p.name = "v";
  p.type = ProbeType::Volume;
  p.dataset = "ns/ds";
  VolumeSpec v;
  v.method = VolumeMethod::Estimate;  // would be refused on sqlite
  p.spec = v;
  CHECK_FALSE(dialectLimitation(p, DialectId::Sqlite));
  ProbeConfig j;
  j.type = ProbeType::Job;
  j.spec = JobSpec{};
  CHECK_FALSE(dialectLimitation(j, DialectId::Trino));
}
