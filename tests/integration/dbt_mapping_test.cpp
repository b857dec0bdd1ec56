// `datawatch import dbt` maps dbt's tests, freshness, contracts, owners,
// exposures and lineage as dbt means them (docs/dbt.md), on manifests in the
// shapes of schema v7 (dbt 1.3, Snowflake), v10 (dbt 1.6, BigQuery) and v12
// (dbt 1.10, PostgreSQL): tests/fixtures/dbt/v*.json, described in
// tests/fixtures/dbt/README.md. Each probe is compared field by field after
// the config loader read it, and `datawatch validate` accepts every file.

#include <catch2/catch.hpp>

#include <set>

#include "config/loader.hpp"
#include "import/dbt_manifest.hpp"
#include "import/dbt_names.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using config::Bound;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kFixtures = std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/dbt/";

struct Imported {
  CommandResult run;
  std::string yaml;
  config::Config config;
};

Imported importFixture(const TempDir& dir, const std::string& fixture,
                       const std::map<std::string, std::string>& env) {
  const auto out = (dir / "dbt.yaml").string();
  Imported i{runCommand({kBinary, "import", "dbt", kFixtures + fixture, "-o", out}), "", {}};
  REQUIRE(i.run.exit_code == 0);
  i.yaml = readFile(out);
  auto loaded = config::loadConfigFromString(i.yaml, out, "", envFrom(env));
  for (const auto& d : loaded.diagnostics) INFO(d.message);
  REQUIRE(loaded.ok());
  i.config = *loaded.config;
  auto validate = runCommand({kBinary, "validate", "-c", out}, env);
  INFO(validate.err);
  CHECK(validate.exit_code == 0);
  return i;
}

const config::ProbeConfig& probe(const config::Config& c, const std::string& name) {
  const auto* p = c.findProbe(name);
  INFO("probe " << name);
  REQUIRE(p);
  return *p;
}

std::vector<std::string> names(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& p : c.probes) out.push_back(p.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string severity(const config::ProbeConfig& p) {
  return p.alert ? p.alert->severity : "";
}

Bound bound(Bound::Op op, double a) {
  return Bound{op, a, 0, false};
}

const config::ValuesSpec& values(const config::ProbeConfig& p) {
  REQUIRE(p.type == config::ProbeType::Values);
  return std::get<config::ValuesSpec>(p.spec);
}
const config::SqlSpec& sql(const config::ProbeConfig& p) {
  REQUIRE(p.type == config::ProbeType::Sql);
  return std::get<config::SqlSpec>(p.spec);
}
const config::FreshnessSpec& freshness(const config::ProbeConfig& p) {
  REQUIRE(p.type == config::ProbeType::Freshness);
  return std::get<config::FreshnessSpec>(p.spec);
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("import dbt v12: merged values probes, where, quoting, levels, lineage and owners",
          "[integration][dbt]") {
  TempDir dir;
  auto i = importFixture(dir, "v12.json", {{"WAREHOUSE_DSN", "postgresql://u@h/db"}});
  const auto& c = i.config;
  CHECK(names(c) ==
        Strings{"assert_no_negative_order_ids", "customers__contract", "customers__email",
                "not_null_orders_customer_id", "not_null_orders_customer_id__warn",
                "orders__customer_id_order_date", "orders__order_id", "orders__status",
                "orders__status__warn", "orders__transactionhash", "orders__tx_id",
                "relationships_orders_customer_id__customer_id__ref_customers",
                "shop_raw_customers_fresh", "shop_raw_orders_fresh", "shop_raw_orders_fresh__warn",
                "unique_customers_name", "unique_customers_name__warn"});

  // not_null + unique on one column: one values probe, one query.
  const auto& id = probe(c, "orders__order_id");
  CHECK(id.table == "analytics.orders");
  CHECK(values(id).column == "order_id");
  CHECK(values(id).max_null_ratio == 0.0);
  CHECK(values(id).unique);
  CHECK(values(id).accepted.empty());
  CHECK(id.description ==
        "dbt test.shop.not_null_orders_order_id.a1, test.shop.unique_orders_order_id.a1; dbt "
        "level error");
  CHECK(severity(id) == "critical");
  CHECK(id.owner == "team-finance");  // the group's owner
  CHECK(id.consumers == Strings{"weekly_revenue"});
  CHECK(id.upstream == Strings{"shop_raw_orders_fresh"});  // not the __warn level

  // config.where -> filter.
  const auto& tx = probe(c, "orders__tx_id");
  CHECK(values(tx).unique);
  CHECK(!values(tx).max_null_ratio);
  CHECK(values(tx).filter == "origin_chain_id IS NOT NULL");

  // quote: null on PostgreSQL: folded as the warehouse folds it; quote: true: exact.
  CHECK(values(probe(c, "orders__transactionhash")).column == "transactionhash");
  const auto& email = probe(c, "customers__email");
  CHECK(values(email).column == "\"Email\"");
  CHECK(email.table == "analytics.dim_customers");
  CHECK(email.owner == "team-data");  // the test's own meta.owner

  // accepted_values (error) and not_null with severity warn on one column: two levels.
  CHECK(values(probe(c, "orders__status")).accepted == Strings{"placed", "shipped", "completed"});
  CHECK(!values(probe(c, "orders__status")).max_null_ratio);
  const auto& status_warn = probe(c, "orders__status__warn");
  CHECK(values(status_warn).max_null_ratio == 0.0);
  CHECK(severity(status_warn) == "warning");

  // error_if "> 10" (warn_if the default "!= 0"): two probes with the negated conditions.
  const auto& cust = probe(c, "not_null_orders_customer_id");
  CHECK(values(cust).must.at(config::ValuesMetric::Nulls) == bound(Bound::Op::Le, 10));
  CHECK(severity(cust) == "critical");
  const auto& cust_warn = probe(c, "not_null_orders_customer_id__warn");
  CHECK(values(cust_warn).must.at(config::ValuesMetric::Nulls) == bound(Bound::Op::Eq, 0));
  CHECK(severity(cust_warn) == "warning");

  // dbt_utils groups NULL keys like any other: a sql probe, not a values probe
  // (which skips all-NULL keys).
  const auto& combo = probe(c, "orders__customer_id_order_date");
  CHECK(combo.table == "analytics.orders");
  CHECK(sql(combo).query ==
        "SELECT count(*) FROM (SELECT \"customer_id\", \"order_date\" FROM {table} GROUP BY "
        "\"customer_id\", \"order_date\" HAVING count(*) > 1) dbt_test");
  CHECK(sql(combo).must == bound(Bound::Op::Eq, 0));

  const auto& rel = probe(c, "relationships_orders_customer_id__customer_id__ref_customers");
  CHECK(rel.table == "analytics.orders");
  CHECK(sql(rel).column == "customer_id");
  CHECK(sql(rel).query ==
        "SELECT count(*) FROM {table} dbt_child WHERE dbt_child.{column} IS NOT NULL AND NOT "
        "EXISTS (SELECT 1 FROM \"analytics\".\"dim_customers\" dbt_parent WHERE "
        "dbt_parent.\"customer_id\" = dbt_child.{column})");
  CHECK(sql(rel).must == bound(Bound::Op::Eq, 0));

  // error_if ">= 3" with compiled code: dbt's failure count of its own SQL.
  const auto& name = probe(c, "unique_customers_name");
  CHECK(name.table.empty());
  CHECK(sql(name).query ==
        "SELECT count(*) FROM (\nselect name as unique_field, count(*) as n_records\nfrom "
        "\"warehouse\".\"analytics\".\"dim_customers\"\nwhere name is not null\ngroup by "
        "name\nhaving count(*) > 1\n) dbt_test\n");
  CHECK(sql(name).must == bound(Bound::Op::Lt, 3));
  CHECK(sql(probe(c, "unique_customers_name__warn")).must == bound(Bound::Op::Eq, 0));
  CHECK(probe(c, "unique_customers_name").owner == "team-crm");

  // A singular test: its compiled SQL counted; a trailing -- comment stays closed.
  const auto& singular = probe(c, "assert_no_negative_order_ids");
  CHECK(sql(singular).query ==
        "SELECT count(*) FROM (\n-- orders must not have negative ids\nselect * from "
        "\"warehouse\".\"analytics\".\"orders\" where order_id < 0 -- done\n) dbt_test\n");
  CHECK(sql(singular).must == bound(Bound::Op::Eq, 0));
  CHECK(singular.owner == "team-qa");
  CHECK(singular.upstream == Strings{"shop_raw_orders_fresh"});

  // The contract: the columns' data_type, not_null constraints required.
  const auto& contract = probe(c, "customers__contract");
  REQUIRE(contract.type == config::ProbeType::Schema);
  const auto& schema = std::get<config::SchemaSpec>(contract.spec);
  CHECK(schema.columns ==
        std::vector<std::pair<std::string, std::string>>{
            {"\"Email\"", "text"}, {"customer_id", "integer"}, {"name", "character varying(100)"}});
  CHECK(schema.required == std::map<std::string, bool>{{"customer_id", true}});
  CHECK(!schema.allow_extra_columns);
  CHECK(contract.upstream == Strings{"shop_raw_customers_fresh"});

  // Freshness: error_after and warn_after, two levels; filter kept.
  const auto& fresh = probe(c, "shop_raw_orders_fresh");
  CHECK(fresh.table == "raw.raw_orders");
  CHECK(freshness(fresh).column == "_loaded_at");
  CHECK(freshness(fresh).max_age == std::chrono::hours(24));
  CHECK(freshness(fresh).filter == "_loaded_at > '2020-01-01'");
  CHECK(severity(fresh) == "critical");
  const auto& fresh_warn = probe(c, "shop_raw_orders_fresh__warn");
  CHECK(freshness(fresh_warn).max_age == std::chrono::hours(12));
  CHECK(severity(fresh_warn) == "warning");
  // loaded_at_query: the age of its timestamp in seconds, at most error_after.
  const auto& query = probe(c, "shop_raw_customers_fresh");
  CHECK(
      sql(query).query ==
      "SELECT extract(epoch from CURRENT_TIMESTAMP::timestamptz) - extract(epoch from (SELECT "
      "* FROM (\nselect max(updated_at) from raw.raw_customers\n) dbt_loaded_at)::timestamptz)\n");
  CHECK(sql(query).must == bound(Bound::Op::Le, 6 * 3600));

  // What was not imported, with the reason: in the header and on stderr.
  for (const std::string line :
       {"#   test.shop.assert_no_negative_order_ids\n",
        "# Disabled in dbt (not imported):\n#   test.shop.not_null_orders_order_date.d1 (disabled "
        "in dbt)\n",
        "#   test.shop.assert_no_future_orders (singular test: the manifest has no compiled SQL "
        "for it (run `dbt compile` first))\n",
        "#   source.shop.shop.raw_events (freshness without loaded_at_field: dbt reads the "
        "warehouse's table metadata; datawatch reads a column)\n",
        "#   test.shop.dbt_expectations_expect_column_values_to_be_between_orders_order_id.a1 "
        "(dbt_expectations.expect_column_values_to_be_between: no datawatch equivalent, and the "
        "manifest has no compiled SQL for it (run `dbt compile` first))\n",
        "#   test.shop.unique_orders_lower_status_.a1 (unique: column_name \"lower(status)\" is "
        "an SQL expression, and the manifest has no compiled SQL for it (run `dbt compile` "
        "first))\n",
        "#   test.shop.not_null_orders_order_date.j1 (not_null: its where holds Jinja "
        "(\"order_date >= '{{ var(\"start_date\") }}'\"), and the manifest has no compiled SQL "
        "for it (run `dbt compile` first))\n"}) {
    INFO(line);
    CHECK(i.yaml.find(line) != std::string::npos);
  }
  CHECK(i.yaml.find("cannot resolve") == std::string::npos);
  CHECK(i.run.err.find("warning: not imported: test.shop.not_null_orders_order_date.d1 "
                       "(disabled in dbt)\n") != std::string::npos);
  CHECK(i.run.err.find("warning: not imported: test.shop.assert_no_future_orders") !=
        std::string::npos);
}

TEST_CASE("import dbt v7: compiled_sql, no attached_node, Snowflake folding, WARN severity",
          "[integration][dbt]") {
  TempDir dir;
  auto i = importFixture(dir, "v7.json",
                         {{"SNOWFLAKE_ACCOUNT", "a"},
                          {"SNOWFLAKE_USER", "u"},
                          {"SNOWFLAKE_PASSWORD", "p"},
                          {"SNOWFLAKE_WAREHOUSE", "w"}});
  const auto& c = i.config;
  CHECK(names(c) ==
        Strings{"assert_orders_have_status", "orders__customername", "orders__order_id",
                "orders__status__warn", "relationships_orders_customer_id__id__ref_customers",
                "shop_orders_fresh", "unique_orders_status", "unique_orders_status__warn"});
  const auto& id = probe(c, "orders__order_id");
  CHECK(id.table == "ANALYTICS.MARTS.ORDERS");
  CHECK(values(id).column == "ORDER_ID");  // unquoted: Snowflake upper-cases it
  CHECK(values(id).unique);
  CHECK(values(id).max_null_ratio == 0.0);
  CHECK(id.owner == "team-sales");
  CHECK(id.consumers == Strings{"sales_dashboard"});
  CHECK(values(probe(c, "orders__customername")).column == "\"customerName\"");
  const auto& status = probe(c, "orders__status__warn");
  CHECK(values(status).accepted == Strings{"placed", "shipped"});
  CHECK(severity(status) == "warning");
  // The child is the test's `model` kwarg, not the first of depends_on (the parent).
  const auto& rel = probe(c, "relationships_orders_customer_id__id__ref_customers");
  CHECK(rel.table == "ANALYTICS.MARTS.ORDERS");
  CHECK(sql(rel).column == "CUSTOMER_ID");
  CHECK(sql(rel).query.find("FROM \"ANALYTICS\".\"MARTS\".\"CUSTOMERS\" dbt_parent WHERE "
                            "dbt_parent.\"ID\" = dbt_child.{column})") != std::string::npos);
  // warn_if ">5" / error_if ">50", no compiled SQL: dbt's failures are the
  // duplicated values, counted by a query of the probe's own table and column.
  const auto& uniq = probe(c, "unique_orders_status");
  CHECK(sql(uniq).query ==
        "SELECT count(*) FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY "
        "{column} HAVING count(*) > 1) dbt_test");
  CHECK(sql(uniq).column == "STATUS");
  CHECK(sql(uniq).must == bound(Bound::Op::Le, 50));
  CHECK(sql(probe(c, "unique_orders_status__warn")).must == bound(Bound::Op::Le, 5));
  CHECK(sql(probe(c, "assert_orders_have_status")).query ==
        "SELECT count(*) FROM (\nselect * from analytics.marts.orders where status is null\n) "
        "dbt_test\n");  // the trailing ';' dropped
  // warn_after only: one probe, at the warning level.
  const auto& fresh = probe(c, "shop_orders_fresh");
  CHECK(fresh.table == "RAW.SHOP.RAW_ORDERS");
  CHECK(freshness(fresh).max_age == std::chrono::hours(6));
  CHECK(severity(fresh) == "warning");
}

TEST_CASE("import dbt v10: contracts, groups, where groups, fail_calc, sources as parents",
          "[integration][dbt]") {
  TempDir dir;
  auto i = importFixture(dir, "v10.json",
                         {{"BIGQUERY_PROJECT", "p"},
                          {"BIGQUERY_SERVICE_ACCOUNT", "s"},
                          {"BIGQUERY_KEY_FILE", "/k.json"}});
  const auto& c = i.config;
  CHECK(names(c) == Strings{"accepted_values_orders_order_id__1__2",
                            "accepted_values_orders_order_id__1__2__warn", "orders__contract",
                            "orders__order_id", "orders__order_id_2", "orders__order_id_order_date",
                            "orders__order_id_order_date__warn", "orders__orderref",
                            "relationships_orders_customer_id__id__source_shop_customers",
                            "shop_customers_fresh", "shop_customers_fresh__warn"});
  // Same column, different `where`: separate probes.
  CHECK(values(probe(c, "orders__order_id")).filter == "order_date > '2024-01-01'");
  CHECK(values(probe(c, "orders__order_id")).unique);
  CHECK(!values(probe(c, "orders__order_id_2")).filter);
  CHECK(!values(probe(c, "orders__order_id_2")).unique);
  CHECK(probe(c, "orders__order_id").owner == "sales@example.com");  // group owner, email only
  CHECK(probe(c, "orders__order_id").consumers == Strings{"churn_model"});
  CHECK(values(probe(c, "orders__orderref")).column == "OrderRef");  // BigQuery: any case
  const auto& calc = probe(c, "accepted_values_orders_order_id__1__2");
  // sum() over no failing rows is NULL, which dbt passes: 0.
  CHECK(sql(calc).query.rfind(
            "SELECT coalesce(sum(n_records), 0) FROM (\nselect order_id as value_field", 0) == 0);
  CHECK(sql(calc).must == bound(Bound::Op::Le, 100));
  const auto& rel = probe(c, "relationships_orders_customer_id__id__source_shop_customers");
  CHECK(sql(rel).query.find("FROM `raw-project`.`shop`.`customers` dbt_parent WHERE "
                            "dbt_parent.`id` = dbt_child.{column})") != std::string::npos);
  const auto& contract = std::get<config::SchemaSpec>(probe(c, "orders__contract").spec);
  CHECK(contract.columns ==
        std::vector<std::pair<std::string, std::string>>{{"OrderRef", "STRING"},
                                                         {"customer_id", "INT64"},
                                                         {"order_date", "DATE"},
                                                         {"order_id", "INT64"}});
  CHECK(contract.required == std::map<std::string, bool>{{"order_id", true}});
  CHECK(freshness(probe(c, "shop_customers_fresh")).max_age == std::chrono::hours(48));
  CHECK(i.yaml.find("#   test.shop.not_null_legacy_id.c3 (disabled in dbt)\n") !=
        std::string::npos);
  CHECK(i.yaml.find("#   source.shop.shop.events (freshness: loaded_at_field "
                    "\"TIMESTAMP_MILLIS(event_ms)\" is an SQL expression") != std::string::npos);
  // error_if "> 0" on unique_combination_of_columns, no compiled SQL: dbt's
  // count (the duplicated keys) built through BigQuery's quoting, two levels.
  const auto& combo = probe(c, "orders__order_id_order_date");
  CHECK(sql(combo).query ==
        "SELECT count(*) FROM (SELECT `order_id`, `order_date` FROM {table} GROUP BY `order_id`, "
        "`order_date` HAVING count(*) > 1) dbt_test");
  CHECK(sql(combo).must == bound(Bound::Op::Le, 0));
  CHECK(sql(probe(c, "orders__order_id_order_date__warn")).must == bound(Bound::Op::Eq, 0));
}

TEST_CASE("import dbt refuses a catalog.json, a directory and a bad --source, and has help",
          "[integration][dbt]") {
  TempDir dir;
  writeFile(
      dir / "catalog.json",
      R"({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
                "nodes": {}, "sources": {}})");
  auto catalog = runCommand({kBinary, "import", "dbt", (dir / "catalog.json").string()});
  CHECK(catalog.exit_code == 2);
  CHECK(catalog.err.find("this is a dbt catalog.json "
                         "(https://schemas.getdbt.com/dbt/catalog/v1.json); import reads "
                         "target/manifest.json") != std::string::npos);

  std::filesystem::create_directories(dir / "project");
  auto folder = runCommand({kBinary, "import", "dbt", (dir / "project").string()});
  CHECK(folder.exit_code == 2);
  CHECK(folder.err ==
        (dir / "project").string() + ": is a directory; import dbt reads a manifest.json\n");
  std::filesystem::create_directories(dir / "project/target");
  writeFile(dir / "project/target/manifest.json", "{}");
  folder = runCommand({kBinary, "import", "dbt", (dir / "project").string()});
  CHECK(folder.exit_code == 2);
  CHECK(folder.err.find("(try " + (dir / "project/target/manifest.json").string() + ")") !=
        std::string::npos);
  CHECK(folder.err.find("internal error") == std::string::npos);

  for (const std::string bad : {"Ware House", "wh;drop", ""}) {
    auto r = runCommand({kBinary, "import", "dbt", kFixtures + "v12.json", "--source", bad});
    INFO(bad);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--source \"" + bad + "\" must be a source name: [a-z0-9_-]+") !=
          std::string::npos);
  }
  auto ok = runCommand({kBinary, "import", "dbt", kFixtures + "v12.json", "--source", "dw-1"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("  dw-1: {type: postgres") != std::string::npos);

  for (const auto& argv :
       {Strings{kBinary, "import", "dbt", "--help"}, Strings{kBinary, "import", "--help"}}) {
    auto help = runCommand(argv);
    CHECK(help.exit_code == 0);
    CHECK(help.out.rfind("usage: datawatch import dbt MANIFEST", 0) == 0);
  }
}

TEST_CASE("import dbt writes a column as each warehouse stores what dbt created",
          "[integration][dbt]") {
  const nlohmann::json node = {
      {"columns",
       {{"transactionHash", {{"name", "transactionHash"}, {"quote", nullptr}}},
        {"orderRef", {{"name", "orderRef"}, {"quote", true}}},
        {"order_id", {{"name", "order_id"}, {"quote", true}}}}}};
  struct Want {
    std::string adapter, folded, quoted, lower_quoted;
  };
  // dbt_names.hpp and docs/dbt.md: unquoted names folded by the warehouse, quoted ones exact.
  const std::vector<Want> wants{
      {"postgres", "transactionhash", "\"orderRef\"", "order_id"},
      {"redshift", "transactionhash", "\"orderRef\"", "order_id"},
      {"trino", "transactionhash", "\"orderRef\"", "order_id"},
      {"snowflake", "TRANSACTIONHASH", "\"orderRef\"", "\"order_id\""},
      {"mysql", "transactionHash", "orderRef", "order_id"},
      {"sqlserver", "transactionHash", "orderRef", "order_id"},
      {"bigquery", "transactionHash", "orderRef", "order_id"},
      {"databricks", "transactionHash", "orderRef", "order_id"},
      {"sqlite", "transactionHash", "orderRef", "order_id"},
      {"clickhouse", "transactionHash", "orderRef", "order_id"},
      {"duckdb", "transactionHash", "\"orderRef\"", "\"order_id\""},  // no dialect: quoted
  };
  for (const auto& w : wants) {
    INFO(w.adapter);
    const auto naming =
        dbt::namingFor(w.adapter, nlohmann::json::object(), nlohmann::json::object());
    CHECK(naming.column("transactionHash", &node) == w.folded);
    CHECK(naming.column("orderRef", &node) == w.quoted);
    CHECK(naming.column("order_id", &node) == w.lower_quoted);
    // A name dbt quoted itself (the test's column_name) is exact whatever the column says.
    CHECK(naming.column("\"orderRef\"", nullptr) == w.quoted);
    if (naming.dialect != nullptr) {
      // What datawatch reads back is the name the warehouse stores.
      const std::string stored_folded =
          w.adapter == "snowflake" ? "TRANSACTIONHASH"
          : (w.adapter == "postgres" || w.adapter == "redshift" || w.adapter == "trino")
              ? "transactionhash"
              : "transactionHash";
      CHECK(naming.dialect->storedName(w.folded) == stored_folded);
      CHECK(naming.dialect->storedName(w.quoted) == "orderRef");
      CHECK(naming.dialect->storedName(w.lower_quoted) == "order_id");
    }
  }
}

TEST_CASE("import dbt negates dbt's conditions on the failure count", "[integration][dbt]") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"!= 0", "= 0"},
      {"!=0", "= 0"},
      {"<>0", "= 0"},
      {"> 10", "<= 10"},
      {">10", "<= 10"},
      {">= 5", "< 5"},
      {"= 0", "!= 0"},
      {"==3", "!= 3"},
      {"< 2", ">= 2"},
      {"<= 7", "> 7"},
      {"between 1 and 5", "not between 1 and 5"}};
  for (const auto& [dbt_condition, must] : cases) {
    INFO(dbt_condition);
    auto b = dbt::passBound(dbt_condition);
    REQUIRE(b);
    CHECK(b->str() == must);
  }
  CHECK(!dbt::passBound("> 10%"));
  CHECK(!dbt::passBound("> n_records"));
  CHECK(dbt::artifactKind("https://schemas.getdbt.com/dbt/catalog/v1.json") == "catalog");
  CHECK(dbt::artifactKind("https://schemas.getdbt.com/dbt/run-results/v6.json") == "run-results");
  CHECK(dbt::artifactKind("https://schemas.getdbt.com/dbt/manifest/v12.json") == "manifest");
  CHECK(dbt::artifactKind("") == "");
}

TEST_CASE("import dbt skips what names no table instead of writing a probe validate refuses",
          "[integration][dbt]") {
  TempDir dir;
  auto j = nlohmann::json::parse(readFile(kFixtures + "v12.json"));
  j["nodes"]["model.shop.customers"] = nlohmann::json::array({1, "a", nullptr});
  for (const char* key : {"alias", "name"}) j["nodes"]["model.shop.orders"].erase(key);
  writeFile(dir / "manifest.json", j.dump());
  const auto out = (dir / "dbt.yaml").string();
  auto r = runCommand({kBinary, "import", "dbt", (dir / "manifest.json").string(), "-o", out});
  REQUIRE(r.exit_code == 0);
  const std::string yaml = readFile(out);
  INFO(yaml);
  CHECK(yaml.find("#   test.shop.not_null_orders_order_id.a1 (not_null: model.shop.orders names "
                  "no table (alias, identifier or name))\n") != std::string::npos);
  CHECK(yaml.find("#   test.shop.unique_customers_name.a1 (unique: cannot resolve the model or "
                  "source it tests)\n") != std::string::npos);
  auto validate =
      runCommand({kBinary, "validate", "-c", out}, {{"WAREHOUSE_DSN", "postgresql://u@h/db"}});
  INFO(validate.err);
  CHECK(validate.exit_code == 0);

  // A parent whose schema holds ';': quoted it is one name, but the loader
  // reads any ';' in a query as a second statement.
  j = nlohmann::json::parse(readFile(kFixtures + "v12.json"));
  j["nodes"]["model.shop.customers"]["schema"] = "a;b";
  writeFile(dir / "manifest.json", j.dump());
  r = runCommand({kBinary, "import", "dbt", (dir / "manifest.json").string(), "-o", out});
  REQUIRE(r.exit_code == 0);
  CHECK(readFile(out).find(
            "#   test.shop.relationships_orders_customer_id__customer_id__ref_customers_.a1 "
            "(relationships: a name it quotes holds ';'") != std::string::npos);
  validate =
      runCommand({kBinary, "validate", "-c", out}, {{"WAREHOUSE_DSN", "postgresql://u@h/db"}});
  INFO(validate.err);
  CHECK(validate.exit_code == 0);
}

TEST_CASE("probe names drop the quotes of exact column names", "[dbt][import]") {
  std::set<std::string> used;
  CHECK(datawatch::dbt::probeName("customers__\"customerName\"__warn", used) ==
        "customers__customername__warn");
  CHECK(datawatch::dbt::probeName("customers__\"customerName\"", used) ==
        "customers__customername");
  CHECK(datawatch::dbt::probeName("t__`a b`", used) == "t__a_b");
  // A second probe of the same name is numbered, never merged.
  CHECK(datawatch::dbt::probeName("customers__\"customerName\"", used) ==
        "customers__customername_2");
}
