// `datawatch import dbt` per dbt adapter: the source type and dialect, the
// connection placeholders, the qualified table names, the warnings on stderr,
// and `datawatch validate` accepting what was written (fixtures:
// tests/fixtures/dbt/adapters/, described in tests/fixtures/dbt/README.md).

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kFixtures = std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/dbt/";

// The fixture `name`, with metadata.adapter_type replaced by `adapter` ("-":
// removed) unless `adapter` is empty; returns the manifest's path.
std::string manifest(const TempDir& dir, const std::string& name, const std::string& adapter) {
  const std::string path = kFixtures + name;
  if (adapter.empty()) return path;
  auto j = nlohmann::json::parse(readFile(path));
  if (adapter == "-")
    j["metadata"].erase("adapter_type");
  else
    j["metadata"]["adapter_type"] = adapter;
  const auto out = dir / ("manifest-" + adapter + ".json");
  writeFile(out, j.dump());
  return out.string();
}

struct Imported {
  CommandResult run;
  std::string yaml;
};

Imported import(const TempDir& dir, const std::string& manifest_path,
                const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{kBinary,       "import", "dbt",
                                manifest_path, "-o",     (dir / "dbt.yaml").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Imported i{runCommand(argv), ""};
  if (i.run.exit_code == 0) i.yaml = readFile(dir / "dbt.yaml");
  return i;
}

struct Case {
  std::string fixture;
  std::string adapter;  // "" = the fixture's own
  std::map<std::string, std::string> env;
  config::SourceType type;
  config::DialectId dialect;
  std::string connection;  // odbc: after ${ENV} expansion; postgres: the dsn
  std::string source_table;
  std::string model_table;
  std::string warning;  // a line stderr must hold
  // Probes beyond shop_orders_fresh and orders__order_id, with their tables.
  std::map<std::string, std::string> more = {};
};

const std::string kSqlServer =
    "Driver={ODBC Driver 18 for SQL Server};Server=sql.example.com;Database=warehouse;"
    "UID=dw;PWD={ss-Secret-4};Encrypt=yes";
const std::map<std::string, std::string> kSqlServerEnv{{"SQLSERVER_HOST", "sql.example.com"},
                                                       {"SQLSERVER_DATABASE", "warehouse"},
                                                       {"SQLSERVER_USER", "dw"},
                                                       {"SQLSERVER_PASSWORD", "ss-Secret-4"}};
const std::map<std::string, std::string> kMysqlEnv{
    {"MYSQL_HOST", "db.example.com"}, {"MYSQL_USER", "dw"}, {"MYSQL_PASSWORD", "my-Secret-7"}};
const std::string kMysql =
    "Driver=MariaDB Unicode;Server=db.example.com;Port=3306;UID=dw;PWD={my-Secret-7}";

std::vector<Case> cases() {
  using config::DialectId;
  using config::SourceType;
  return {
      {"snowflake.json",
       "",
       {{"SNOWFLAKE_ACCOUNT", "acme-eu1"},
        {"SNOWFLAKE_USER", "DW_MONITOR"},
        {"SNOWFLAKE_PASSWORD", "sf-Secret-1"},
        {"SNOWFLAKE_WAREHOUSE", "MONITOR"}},
       SourceType::Odbc,
       DialectId::Snowflake,
       "Driver=SnowflakeDSIIDriver;Server=acme-eu1.snowflakecomputing.com;UID=DW_MONITOR;"
       "PWD={sf-Secret-1};Warehouse=MONITOR",
       "RAW.SHOP.RAW_ORDERS",
       "ANALYTICS.MARTS.FCT_ORDERS",
       "warning: source warehouse: Snowflake through ODBC: install the SnowflakeDSIIDriver "
       "driver (registered in odbcinst.ini under that name) and set SNOWFLAKE_ACCOUNT, "
       "SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, SNOWFLAKE_WAREHOUSE, or edit the source's "
       "connection string: docs/warehouses.md\n",
       // dbt quoted it: stored lower-case, so written in double quotes.
       {{"customers__customer_id", "ANALYTICS.MARTS.\"dim_customers\""}}},
      {"bigquery.json",
       "",
       {{"BIGQUERY_PROJECT", "my-project-123"},
        {"BIGQUERY_SERVICE_ACCOUNT", "dw@my-project-123.iam.gserviceaccount.com"},
        {"BIGQUERY_KEY_FILE", "/etc/datawatch/bigquery.json"}},
       SourceType::Odbc,
       DialectId::BigQuery,
       "Driver=Simba ODBC Driver for Google BigQuery;Catalog=my-project-123;OAuthMechanism=0;"
       "Email=dw@my-project-123.iam.gserviceaccount.com;KeyFilePath=/etc/datawatch/bigquery.json",
       "raw-project.shop.raw_orders",
       "my-project-123.analytics.fct_orders",
       "BigQuery through ODBC: install the Simba ODBC Driver for Google BigQuery driver"},
      {"databricks.json",
       "",
       {{"DATABRICKS_HOST", "dbc-1.cloud.databricks.com"},
        {"DATABRICKS_HTTP_PATH", "/sql/1.0/warehouses/abc"},
        {"DATABRICKS_TOKEN", "dapi-Secret-3"}},
       SourceType::Odbc,
       DialectId::Databricks,
       "Driver=Simba Spark ODBC Driver;Host=dbc-1.cloud.databricks.com;Port=443;"
       "HTTPPath=/sql/1.0/warehouses/abc;SSL=1;ThriftTransport=2;AuthMech=3;UID=token;"
       "PWD={dapi-Secret-3};UseNativeQuery=1",
       "shop.raw_orders",
       "main.sales.fct_orders",
       "set DATABRICKS_HOST, DATABRICKS_HTTP_PATH, DATABRICKS_TOKEN,"},
      {"sqlserver.json", "", kSqlServerEnv, SourceType::Odbc, DialectId::SqlServer, kSqlServer,
       "raw.shop.raw_orders", "warehouse.dbo.fct_orders",
       "SQL Server through ODBC: install the ODBC Driver 18 for SQL Server driver"},
      {"sqlserver.json", "synapse", kSqlServerEnv, SourceType::Odbc, DialectId::SqlServer,
       kSqlServer, "raw.shop.raw_orders", "warehouse.dbo.fct_orders", "Azure Synapse through ODBC"},
      {"sqlserver.json", "fabric", kSqlServerEnv, SourceType::Odbc, DialectId::SqlServer,
       kSqlServer + ";Authentication=ActiveDirectoryServicePrincipal", "raw.shop.raw_orders",
       "warehouse.dbo.fct_orders", "Microsoft Fabric through ODBC"},
      {"trino.json",
       "",
       {{"TRINO_HOST", "trino.example.com"},
        {"TRINO_USER", "dw"},
        {"TRINO_PASSWORD", "tr-Secret-5"}},
       SourceType::Odbc,
       DialectId::Trino,
       "Driver=Starburst ODBC Driver;Host=trino.example.com;Port=443;SSL=1;"
       "AuthenticationType=LDAP Authentication;UID=dw;PWD={tr-Secret-5}",
       "hive.shop.raw_orders",
       "iceberg.sales.fct_orders",
       "Trino through ODBC: install the Starburst ODBC Driver driver"},
      {"clickhouse.json",
       "",
       {{"CLICKHOUSE_HOST", "ch.example.com"},
        {"CLICKHOUSE_USER", "dw"},
        {"CLICKHOUSE_PASSWORD", "ch-Secret-6"}},
       SourceType::Odbc,
       DialectId::ClickHouse,
       "Driver={ClickHouse ODBC Driver (Unicode)};Url=https://ch.example.com:8443;UID=dw;"
       "PWD={ch-Secret-6}",
       "shop.raw_orders",
       "sales.fct_orders",
       "ClickHouse through ODBC: install the ClickHouse ODBC Driver (Unicode) driver"},
      {"mysql.json", "", kMysqlEnv, SourceType::Odbc, DialectId::Mysql, kMysql, "shop.raw_orders",
       "analytics.fct_orders", "MySQL through ODBC: install the MariaDB Unicode driver"},
      {"mysql.json", "mariadb", kMysqlEnv, SourceType::Odbc, DialectId::Mysql, kMysql,
       "shop.raw_orders", "analytics.fct_orders", "MariaDB through ODBC"},
      {"redshift.json",
       "",
       {{"WAREHOUSE_DSN", "postgresql://dw@rs.example.com:5439/dev"}},
       SourceType::Postgres,
       DialectId::Redshift,
       "postgresql://dw@rs.example.com:5439/dev",
       "raw_db.shop.raw_orders",
       "analytics.fct_orders",
       "warning: 1 table(s) outside database \"dev\" (the one most models use) are written "
       "database.schema.table: raw_db.shop.raw_orders; Redshift reads them through "
       "cross-database queries (RA3 and Serverless)\n"},
  };
}

// The source's connection (odbc) or dsn (postgres).
std::string connectionOf(const config::SourceConfig& s) {
  if (auto* o = std::get_if<config::OdbcSourceConfig>(&s.spec)) return o->connection;
  if (auto* p = std::get_if<config::PostgresSourceConfig>(&s.spec)) return p->dsn;
  return "";
}

}  // namespace

TEST_CASE("import dbt maps each adapter to its source type and dialect and keeps qualifiers",
          "[integration][dbt]") {
  for (const auto& c : cases()) {
    INFO(c.fixture << " as " << (c.adapter.empty() ? "itself" : c.adapter));
    TempDir dir;
    auto imported = import(dir, manifest(dir, "adapters/" + c.fixture, c.adapter));
    REQUIRE(imported.run.exit_code == 0);
    CHECK(imported.run.err.find(c.warning) != std::string::npos);
    // An ODBC source's placeholders are listed in the file too.
    CHECK((imported.yaml.find("# TODO: source warehouse: ") != std::string::npos) ==
          (c.type == config::SourceType::Odbc));

    auto loaded = config::loadConfigFromString(imported.yaml, (dir / "dbt.yaml").string(), "",
                                               envFrom(c.env));
    REQUIRE(loaded.ok());
    const auto* src = loaded.config->findSource("warehouse");
    REQUIRE(src);
    CHECK(src->type == c.type);
    CHECK(src->dialect == c.dialect);
    CHECK(connectionOf(*src) == c.connection);
    REQUIRE(loaded.config->probes.size() == 2 + c.more.size());
    for (const auto& [probe, table] : c.more) {
      REQUIRE(loaded.config->findProbe(probe));
      CHECK(loaded.config->findProbe(probe)->table == table);
    }
    const auto* fresh = loaded.config->findProbe("shop_orders_fresh");
    REQUIRE(fresh);
    CHECK(fresh->table == c.source_table);
    const auto* not_null = loaded.config->findProbe("orders__order_id");
    REQUIRE(not_null);
    CHECK(not_null->table == c.model_table);

    auto validate = runCommand({kBinary, "validate", "-c", (dir / "dbt.yaml").string()}, c.env);
    CHECK(validate.exit_code == 0);
    CHECK(validate.out.find("config OK: 1 sources, " + std::to_string(2 + c.more.size()) +
                            " probes") != std::string::npos);
    for (const auto& [name, value] : c.env) {
      if (name.find("PASSWORD") != std::string::npos || name.find("TOKEN") != std::string::npos) {
        CHECK(validate.out.find(value) == std::string::npos);
        CHECK(validate.err.find(value) == std::string::npos);
      }
    }
  }
}

TEST_CASE("import dbt for sqlite and postgres manifests, and one that names no adapter",
          "[integration][dbt]") {
  TempDir dir;
  auto sqlite = import(dir, manifest(dir, "adapters/sqlite.json", ""));
  REQUIRE(sqlite.run.exit_code == 0);
  CHECK(sqlite.yaml.find("warehouse: {type: sqlite, path: \"${SQLITE_PATH}\"}") !=
        std::string::npos);
  CHECK(sqlite.run.err.find("warning: source warehouse: set SQLITE_PATH") != std::string::npos);
  auto loaded = config::loadConfigFromString(sqlite.yaml, (dir / "dbt.yaml").string(), "",
                                             envFrom({{"SQLITE_PATH", "/data/shop.db"}}));
  REQUIRE(loaded.ok());
  CHECK(loaded.config->findSource("warehouse")->type == config::SourceType::Sqlite);
  CHECK(loaded.config->findProbe("shop_orders_fresh")->table == "shop.raw_orders");
  CHECK(loaded.config->findProbe("orders__order_id")->table == "main.fct_orders");
  CHECK(runCommand({kBinary, "validate", "-c", (dir / "dbt.yaml").string()},
                   {{"SQLITE_PATH", "/data/shop.db"}})
            .exit_code == 0);

  // The jaffle_shop manifest says postgres, every model in one database: no warning.
  auto pg = import(dir, manifest(dir, "manifest.json", ""));
  REQUIRE(pg.run.exit_code == 0);
  CHECK(pg.run.err.find("warning") == std::string::npos);
  CHECK(pg.yaml.find("warehouse: {type: postgres, dsn: \"${WAREHOUSE_DSN}\"}") !=
        std::string::npos);

  // No metadata.adapter_type (older dbt): postgres, said so.
  auto none = import(dir, manifest(dir, "manifest.json", "-"));
  REQUIRE(none.run.exit_code == 0);
  CHECK(none.run.err.find("warning: source warehouse: the manifest names no adapter "
                          "(metadata.adapter_type): wrote a postgres source; set "
                          "WAREHOUSE_DSN\n") != std::string::npos);
  CHECK(none.yaml.find("type: postgres") != std::string::npos);
}

TEST_CASE("import dbt writes the probes of an adapter without a dialect and validate refuses them",
          "[integration][dbt]") {
  TempDir dir;
  auto duck = import(dir, manifest(dir, "adapters/duckdb.json", ""));
  REQUIRE(duck.run.exit_code == 0);
  CHECK(duck.run.err.find("warning: source warehouse: datawatch has no SQL dialect for the dbt "
                          "adapter \"duckdb\"") != std::string::npos);
  CHECK(duck.yaml.find("type: postgres") == std::string::npos);
  CHECK(duck.yaml.find("warehouse: {type: odbc, dialect: duckdb, connection: \"TODO: an ODBC "
                       "connection string for duckdb\"}") != std::string::npos);
  CHECK(duck.yaml.find("table: shop.raw_orders") != std::string::npos);
  CHECK(duck.yaml.find("table: main.fct_orders") != std::string::npos);
  auto validate = runCommand({kBinary, "validate", "-c", (dir / "dbt.yaml").string()});
  CHECK(validate.exit_code == 2);
  CHECK(validate.err.find("unknown dialect \"duckdb\"") != std::string::npos);

  // Spark: the closest dialect is named.
  auto spark = import(dir, manifest(dir, "adapters/duckdb.json", "spark"));
  REQUIRE(spark.run.exit_code == 0);
  CHECK(spark.run.err.find("adapter \"spark\"") != std::string::npos);
  CHECK(spark.run.err.find("(try databricks (Spark SQL))") != std::string::npos);
}

TEST_CASE("import dbt --probes-only keeps the adapter's table names and asks for no connection",
          "[integration][dbt]") {
  TempDir dir;
  auto snow = import(dir, manifest(dir, "adapters/snowflake.json", ""), {"--probes-only"});
  REQUIRE(snow.run.exit_code == 0);
  CHECK(snow.yaml.find("sources:") == std::string::npos);
  CHECK(snow.yaml.find("table: ANALYTICS.MARTS.FCT_ORDERS") != std::string::npos);
  CHECK(snow.run.err.find("warning") == std::string::npos);
}

TEST_CASE("datawatch import dbt turns a manifest into probes that validate", "[integration][dbt]") {
  TempDir dir;
  auto r = import(dir, kFixtures + "manifest.json");
  REQUIRE(r.run.exit_code == 0);
  auto loaded = config::loadConfigFromString(r.yaml, (dir / "dbt.yaml").string(), "",
                                             envFrom({{"WAREHOUSE_DSN", "postgresql://u@h/db"}}));
  REQUIRE(loaded.ok());
  const auto& c = *loaded.config;
  REQUIRE(c.probes.size() == 8);
  const auto* fresh = c.findProbe("raw_orders_fresh");
  REQUIRE(fresh);
  CHECK(fresh->table == "landing.raw_orders");
  const auto& fs = std::get<config::FreshnessSpec>(fresh->spec);
  CHECK(fs.column == "_etl_loaded_at");
  CHECK(fs.max_age == std::chrono::hours(24));  // error_after 1 day
  CHECK(fs.filter == "_etl_loaded_at >= '2020-01-01'");
  CHECK(std::get<config::FreshnessSpec>(c.findProbe("raw_orders_fresh__warn")->spec).max_age ==
        std::chrono::hours(12));  // warn_after 12 hours
  CHECK(std::get<config::FreshnessSpec>(c.findProbe("raw_payments_fresh")->spec).max_age ==
        std::chrono::minutes(30));
  CHECK(c.findProbe("raw_payments_fresh")->alert->severity == "warning");  // warn_after only
  const auto* accepted = c.findProbe("orders__status");
  REQUIRE(accepted);
  CHECK(std::get<config::ValuesSpec>(accepted->spec).accepted ==
        std::vector<std::string>{"placed", "shipped", "completed", "returned"});
  CHECK(c.findProbe("customers__customer_id")->table == "analytics.dim_customers");  // the alias
  const auto& order_id = std::get<config::ValuesSpec>(c.findProbe("orders__order_id")->spec);
  CHECK(order_id.max_null_ratio == 0.0);
  CHECK(order_id.unique);
  CHECK(c.findProbe("raw_orders__id")->table == "landing.raw_orders");
  REQUIRE(c.findProbe("relationships_orders_customer_id__customer_id__ref_customers"));

  auto validate = runCommand({kBinary, "validate", "-c", (dir / "dbt.yaml").string()},
                             {{"WAREHOUSE_DSN", "postgresql://u@h/db"}});
  CHECK(validate.exit_code == 0);
  writeFile(dir / "broken.json", "{\"nodes\": [");
  auto broken = runCommand({kBinary, "import", "dbt", (dir / "broken.json").string()});
  CHECK(broken.exit_code == 2);
  CHECK(broken.err.find("not valid JSON") != std::string::npos);
  writeFile(dir / "other.json", "{\"hello\": 1}");
  auto other = runCommand({kBinary, "import", "dbt", (dir / "other.json").string()});
  CHECK(other.exit_code == 2);
  CHECK(other.err.find("not a dbt manifest") != std::string::npos);
}
