// What contracts need of the table probes, on every database kind of
// db_under_test.hpp: volume `must`, sql `must` with {table}/{column},
// freshness `oldest` (retention), schema `logical_type` / `required`; the
// logical type family of each dialect's catalog types; and the config errors
// of each bad input. Expected values are worked out by hand from the rows.

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "probes/logical_types.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

using Runner = DbProbes;

// The name quoted for fixture SQL on `kind` (backticks on MariaDB).
std::string fixtureIdent(const std::string& kind, const std::string& name) {
  const char q = kind == "odbc-mariadb" ? '`' : '"';
  std::string out(1, q);
  for (char c : name) out += c == q ? std::string(2, q) : std::string(1, c);
  return out + q;
}

}  // namespace

TEST_CASE("volume must: each operator at its edge, with min, on every database",
          "[volume][contract_probes][postgres][odbc]") {
  struct Case {
    std::string must;
    bool pass;
  };
  // Five rows.
  const std::vector<Case> cases{
      {"= 5", true},
      {"= 4", false},
      {"!= 5", false},
      {"!= 4", true},
      {"> 4", true},
      {"> 5", false},
      {">= 5", true},
      {">= 6", false},
      {"< 6", true},
      {"< 5", false},
      {"<= 5", true},
      {"<= 4", false},
      {"between 5 and 9", true},
      {"between 1 and 5", true},
      {"between 6 and 9", false},
      {"between 1 and 4", false},
      {"not between 6 and 9", true},
      {"not between 1 and 4", true},
      {"not between 5 and 9", false},
      {"not between 1 and 5", false},
  };
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      db->exec("CREATE TABLE five (id int); INSERT INTO five VALUES (1), (2), (3), (4), (5)");
      const std::string t = db->table("five");
      std::string probes;
      for (size_t i = 0; i < cases.size(); ++i)
        probes += "  - {name: v" + std::to_string(i) + ", type: volume, source: db, table: " + t +
                  ", must: \"" + cases[i].must + "\"}\n";
      probes += "  - {name: both, type: volume, source: db, table: " + t +
                ", must: \"between 1 and 10\", min: 6}\n";
      probes += "  - {name: both_bad, type: volume, source: db, table: " + t +
                ", must: \">= 6\", max: 4}\n";
      Runner r(*db, probes);
      for (size_t i = 0; i < cases.size(); ++i) {
        auto res = r.run(i);
        INFO(cases[i].must << ": " << res.message);
        CHECK(res.value == 5);
        CHECK(res.status == (cases[i].pass ? ProbeStatus::Pass : ProbeStatus::Fail));
        CHECK(res.threshold["must"] == cases[i].must);
        CHECK(res.message ==
              (cases[i].pass ? "5 rows within bounds" : "5 rows, must be " + cases[i].must));
      }
      auto both = r.run(cases.size());
      CHECK(both.status == ProbeStatus::Fail);
      CHECK(both.message == "5 rows < min 6");
      auto both_bad = r.run(cases.size() + 1);
      CHECK(both_bad.message == "5 rows > max 4; 5 rows, must be >= 6");
    }
  }
}

TEST_CASE("sql probes fill {table} and {column} with quoted hostile names, on every database",
          "[sql][contract_probes][postgres][odbc]") {
  // A quote of each kind, a space, and "{column}" inside the table's own name
  // (filled in one pass: never replaced again).
  const std::string table = "or\"d er's {column}";
  const std::string column = "am\"t 'x`";
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      const std::string ft = fixtureIdent(kind, table), fc = fixtureIdent(kind, column);
      db->exec("CREATE TABLE " + ft + " (id int, " + fc + " int); INSERT INTO " + ft +
               " VALUES (1, 10), (2, 20), (3, -4), (4, NULL)");
      const std::string common = ", type: sql, source: db, table: " + yamlQuoted(db->table(table)) +
                                 ", column: " + yamlQuoted(column) + ", ";
      Runner r(*db,
               "  - {name: sum" + common +
                   "query: 'SELECT sum({column}) FROM {table} WHERE {column} > 0', equals: 30}\n"
                   "  - {name: negatives" +
                   common +
                   "query: 'SELECT count(*) FROM {table} WHERE {column} < 0', must: '= 0'}\n"
                   "  - {name: rows" +
                   common + "query: 'SELECT count(*) FROM {table}', must: 'between 1 and 4'}\n");
      auto sum = r.run(0);
      INFO(sum.message);
      CHECK(sum.status == ProbeStatus::Pass);
      CHECK(sum.value == 30);
      CHECK(sum.details["table"] == db->table(table));
      CHECK(sum.details["checked_column"] == column);
      auto neg = r.run(1);
      INFO(neg.message);
      CHECK(neg.status == ProbeStatus::Fail);
      CHECK(neg.value == 1);
      CHECK(neg.message == "value 1, must be = 0");
      CHECK(neg.threshold["must"] == "= 0");
      auto rows = r.run(2);
      CHECK(rows.status == ProbeStatus::Pass);
      CHECK(rows.value == 4);
      CHECK(rows.target == db->table(table));  // status and metrics show the table
    }
  }
}

TEST_CASE("sql must combines with min, max and equals", "[sql][contract_probes]") {
  auto db = makeDb("sqlite");
  Runner r(*db,
           "  - {name: a, type: sql, source: db, query: 'SELECT 7', must: '> 5', max: 6}\n"
           "  - {name: b, type: sql, source: db, query: 'SELECT 7', must: 'not between 6 and 8'}\n"
           "  - {name: c, type: sql, source: db, query: 'SELECT 7', must: '!= 6', min: 7}\n");
  CHECK(r.run(0).message == "value 7 > max 6");
  CHECK(r.run(1).message == "value 7, must be not between 6 and 8");
  auto c = r.run(2);
  CHECK(c.status == ProbeStatus::Pass);
  CHECK(c.threshold == nlohmann::json{{"min", 7.0}, {"must", "!= 6"}});
}

TEST_CASE("freshness oldest: the oldest row's age against the retention, on every database",
          "[freshness][contract_probes][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      std::string values;
      for (int days : {1, 10, 40})
        values += std::string(values.empty() ? "" : ", ") + "(" +
                  db->timestamp(formatRfc3339(kNow - days * std::chrono::hours(24))) + ")";
      db->exec("CREATE TABLE ev (at " + db->timestampType() + "); INSERT INTO ev VALUES " + values +
               "; CREATE TABLE noevents (at " + db->timestampType() + ")");
      const std::string t = db->table("ev");
      Runner r(*db, "  - {name: short, type: freshness, source: db, table: " + t +
                        ", column: at, max_age: 30d, oldest: true}\n"
                        "  - {name: long, type: freshness, source: db, table: " +
                        t +
                        ", column: at, max_age: 41d, oldest: true}\n"
                        "  - {name: empty, type: freshness, source: db, table: " +
                        db->table("noevents") + ", column: at, max_age: 1d, oldest: true}\n");
      auto shrt = r.run(0);
      INFO(shrt.message);
      CHECK(shrt.status == ProbeStatus::Fail);
      CHECK(shrt.message == "oldest row is 40d old, retention 30d");
      CHECK(shrt.value == 40 * 86400.0);
      CHECK(shrt.details["oldest"] == "2026-10-17T10:00:00Z");
      CHECK(shrt.threshold["max"] == 30 * 86400.0);
      auto lng = r.run(1);
      CHECK(lng.status == ProbeStatus::Pass);
      CHECK(lng.message == "oldest row is 40d old, within retention 41d");
      auto empty = r.run(2);
      CHECK(empty.status == ProbeStatus::Pass);
      CHECK(empty.details["empty"] == true);
      CHECK(empty.message == "no rows with a at value: nothing older than 1d is kept");
      // A day and an hour later the oldest row is past 41d.
      r.clock.advance(std::chrono::hours(25));
      auto later = r.run(1);
      CHECK(later.status == ProbeStatus::Fail);
      CHECK(later.message == "oldest row is 41d1h old, retention 41d");
    }
  }
}

namespace {

// One column per logical family in `kind`'s own types, and the families that
// each database reports for them (MariaDB keeps JSON as LONGTEXT: a string;
// only PostgreSQL has arrays).
std::string familiesTable(const std::string& kind) {
  if (kind == "postgres" || kind == "odbc-postgres")
    return "CREATE TABLE lt (s varchar(20), i bigint NOT NULL, n numeric(10,2), z numeric(9,0), "
           "b boolean, d date, ts timestamptz, t time, j jsonb, a integer[])";
  if (kind == "odbc-mariadb")
    return "CREATE TABLE lt (s varchar(20), i bigint NOT NULL, n decimal(10,2), z decimal(9,0), "
           "b boolean, d date, ts datetime(6), t time, j json)";
  // SQLite: declared types (j: affinity-free JSON, w: a name only its affinity
  // rules place).
  return "CREATE TABLE lt (s varchar(20), i bigint NOT NULL, n numeric(10,2), z numeric(9,0), "
         "b boolean, d date, ts datetime, t time, j json, w \"varying character(5)\")";
}

}  // namespace

TEST_CASE("schema logical types and required, on every database",
          "[schema][contract_probes][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      const bool pg = kind == "postgres" || kind == "odbc-postgres";
      const bool maria = kind == "odbc-mariadb";
      auto db = makeDb(kind);
      db->exec(familiesTable(kind));
      const std::string t = db->table("lt");
      std::string cols =
          "s: {logical_type: string}, i: {type: bigint, logical_type: integer, required: true}, "
          "n: {logical_type: number}, z: {logical_type: integer}, b: {logical_type: boolean}, "
          "d: {logical_type: date}, ts: {logical_type: timestamp}, t: {logical_type: time}, "
          "j: {logical_type: object}";
      if (pg) cols += ", a: {logical_type: array}";
      if (!pg && !maria) cols += ", w: {logical_type: string}";
      Runner r(*db, "  - {name: families, type: schema, source: db, table: " + t + ", columns: {" +
                        cols +
                        "}}\n"
                        "  - {name: wrong, type: schema, source: db, table: " +
                        t +
                        ", allow_extra_columns: true, columns: {s: {logical_type: integer}, "
                        "i: {logical_type: number, required: true}, n: {type: '', logical_type: "
                        "integer, required: true}, d: {logical_type: timestamp}}}\n");
      auto fam = r.run(0);
      INFO(fam.message << " " << fam.details.dump());
      if (maria) {
        CHECK(fam.status == ProbeStatus::Fail);
        CHECK(fam.message == "j: object expected, found text");
        CHECK(fam.details["contract"][0]["actual_logical_type"] == "string");
      } else {
        CHECK(fam.status == ProbeStatus::Pass);
        CHECK(fam.value == 0);
      }
      CHECK(fam.threshold["logical_types"]["z"] == "integer");
      CHECK(fam.threshold["required"]["i"] == true);
      auto wrong = r.run(1);
      INFO(wrong.message);
      CHECK(wrong.status == ProbeStatus::Fail);
      CHECK(wrong.message ==
            "s: integer expected, found character varying(20); n: integer expected, found "
            "numeric(10,2); n: must be NOT NULL; d: timestamp expected, found date");
      CHECK(wrong.details["breaking"] == 4);
    }
  }
}

TEST_CASE("logical type families of each dialect's catalog types", "[schema][contract_probes]") {
  struct Row {
    DialectId dialect;
    const char* reported;  // as the dialect's catalog query returns it
    const char* family;    // "" = none
  };
  using D = DialectId;
  const std::vector<Row> rows{
      // PostgreSQL (format_type)
      {D::Postgres, "integer", "integer"},
      {D::Postgres, "bigint", "integer"},
      {D::Postgres, "smallint", "integer"},
      {D::Postgres, "numeric(10,2)", "number"},
      {D::Postgres, "numeric(12,0)", "integer"},
      {D::Postgres, "numeric", "number"},
      {D::Postgres, "real", "number"},
      {D::Postgres, "double precision", "number"},
      {D::Postgres, "money", "number"},
      {D::Postgres, "text", "string"},
      {D::Postgres, "character varying(20)", "string"},
      {D::Postgres, "character(3)", "string"},
      {D::Postgres, "uuid", "string"},
      {D::Postgres, "boolean", "boolean"},
      {D::Postgres, "date", "date"},
      {D::Postgres, "timestamp(3) with time zone", "timestamp"},
      {D::Postgres, "timestamp without time zone", "timestamp"},
      {D::Postgres, "time without time zone", "time"},
      {D::Postgres, "time with time zone", "time"},
      {D::Postgres, "json", "object"},
      {D::Postgres, "jsonb", "object"},
      {D::Postgres, "integer[]", "array"},
      {D::Postgres, "character varying(20)[]", "array"},
      {D::Postgres, "bytea", ""},
      {D::Postgres, "interval", ""},
      // MySQL / MariaDB (column_type)
      {D::Mysql, "int(11)", "integer"},
      {D::Mysql, "int unsigned", "integer"},
      {D::Mysql, "bigint(20) unsigned", "integer"},
      {D::Mysql, "tinyint(4)", "integer"},
      {D::Mysql, "mediumint(9)", "integer"},
      {D::Mysql, "tinyint(1)", "boolean"},
      {D::Mysql, "decimal(10,2)", "number"},
      {D::Mysql, "decimal(10,0)", "integer"},
      {D::Mysql, "double", "number"},
      {D::Mysql, "float", "number"},
      {D::Mysql, "varchar(20)", "string"},
      {D::Mysql, "char(3)", "string"},
      {D::Mysql, "longtext", "string"},
      {D::Mysql, "enum('a','b')", "string"},
      {D::Mysql, "set('a','b')", "string"},
      {D::Mysql, "year(4)", "integer"},
      {D::Mysql, "date", "date"},
      {D::Mysql, "datetime(6)", "timestamp"},
      {D::Mysql, "timestamp", "timestamp"},
      {D::Mysql, "time(6)", "time"},
      {D::Mysql, "json", "object"},
      {D::Mysql, "blob", ""},
      // SQLite (declared types, then its affinity rules)
      {D::Sqlite, "INTEGER", "integer"},
      {D::Sqlite, "INT", "integer"},
      {D::Sqlite, "BIGINT", "integer"},
      {D::Sqlite, "UNSIGNED BIG INT", "integer"},
      {D::Sqlite, "TEXT", "string"},
      {D::Sqlite, "VARCHAR(20)", "string"},
      {D::Sqlite, "NVARCHAR(20)", "string"},
      {D::Sqlite, "VARYING CHARACTER(5)", "string"},
      {D::Sqlite, "CLOB", "string"},
      {D::Sqlite, "REAL", "number"},
      {D::Sqlite, "DOUBLE", "number"},
      {D::Sqlite, "FLOAT", "number"},
      {D::Sqlite, "NUMERIC", "number"},
      {D::Sqlite, "DECIMAL(10,5)", "number"},
      {D::Sqlite, "BOOLEAN", "boolean"},
      {D::Sqlite, "DATE", "date"},
      {D::Sqlite, "DATETIME", "timestamp"},
      {D::Sqlite, "TIMESTAMP", "timestamp"},
      {D::Sqlite, "TIME", "time"},
      {D::Sqlite, "JSON", "object"},
      {D::Sqlite, "BLOB", ""},
      {D::Sqlite, "", ""},
      // SQL Server (data_type + length)
      {D::SqlServer, "int", "integer"},
      {D::SqlServer, "tinyint", "integer"},
      {D::SqlServer, "bit", "boolean"},
      {D::SqlServer, "decimal", "number"},
      {D::SqlServer, "money", "number"},
      {D::SqlServer, "smallmoney", "number"},
      {D::SqlServer, "float", "number"},
      {D::SqlServer, "nvarchar(50)", "string"},
      {D::SqlServer, "nvarchar(-1)", "string"},
      {D::SqlServer, "uniqueidentifier", "string"},
      {D::SqlServer, "date", "date"},
      {D::SqlServer, "datetime2", "timestamp"},
      {D::SqlServer, "datetimeoffset", "timestamp"},
      {D::SqlServer, "smalldatetime", "timestamp"},
      {D::SqlServer, "time", "time"},
      {D::SqlServer, "varbinary(-1)", ""},
      // Snowflake (data_type)
      {D::Snowflake, "NUMBER", "number"},
      {D::Snowflake, "FLOAT", "number"},
      {D::Snowflake, "TEXT", "string"},
      {D::Snowflake, "BOOLEAN", "boolean"},
      {D::Snowflake, "DATE", "date"},
      {D::Snowflake, "TIMESTAMP_NTZ", "timestamp"},
      {D::Snowflake, "TIMESTAMP_LTZ", "timestamp"},
      {D::Snowflake, "TIMESTAMP_TZ", "timestamp"},
      {D::Snowflake, "TIME", "time"},
      {D::Snowflake, "VARIANT", "object"},
      {D::Snowflake, "OBJECT", "object"},
      {D::Snowflake, "ARRAY", "array"},
      {D::Snowflake, "BINARY", ""},
      // BigQuery (data_type)
      {D::BigQuery, "INT64", "integer"},
      {D::BigQuery, "FLOAT64", "number"},
      {D::BigQuery, "NUMERIC", "number"},
      {D::BigQuery, "BIGNUMERIC", "number"},
      {D::BigQuery, "BOOL", "boolean"},
      {D::BigQuery, "STRING", "string"},
      {D::BigQuery, "STRING(10)", "string"},
      {D::BigQuery, "DATE", "date"},
      {D::BigQuery, "DATETIME", "timestamp"},
      {D::BigQuery, "TIMESTAMP", "timestamp"},
      {D::BigQuery, "TIME", "time"},
      {D::BigQuery, "JSON", "object"},
      {D::BigQuery, "STRUCT<a INT64, b NUMERIC(10, 2)>", "object"},
      {D::BigQuery, "ARRAY<STRING>", "array"},
      {D::BigQuery, "BYTES", ""},
      {D::BigQuery, "GEOGRAPHY", ""},
      // Databricks (full_data_type)
      {D::Databricks, "int", "integer"},
      {D::Databricks, "bigint", "integer"},
      {D::Databricks, "tinyint", "integer"},
      {D::Databricks, "decimal(10,2)", "number"},
      {D::Databricks, "double", "number"},
      {D::Databricks, "float", "number"},
      {D::Databricks, "string", "string"},
      {D::Databricks, "varchar(10)", "string"},
      {D::Databricks, "boolean", "boolean"},
      {D::Databricks, "date", "date"},
      {D::Databricks, "timestamp", "timestamp"},
      {D::Databricks, "timestamp_ntz", "timestamp"},
      {D::Databricks, "array<int>", "array"},
      {D::Databricks, "map<string,int>", "object"},
      {D::Databricks, "struct<a:int,b:string>", "object"},
      {D::Databricks, "variant", "object"},
      {D::Databricks, "binary", ""},
      // Redshift (data_type + length)
      {D::Redshift, "integer", "integer"},
      {D::Redshift, "numeric", "number"},
      {D::Redshift, "double precision", "number"},
      {D::Redshift, "character varying(256)", "string"},
      {D::Redshift, "boolean", "boolean"},
      {D::Redshift, "date", "date"},
      {D::Redshift, "timestamp with time zone", "timestamp"},
      {D::Redshift, "time without time zone", "time"},
      {D::Redshift, "super", "object"},
      {D::Redshift, "geometry", ""},
      // Trino (data_type)
      {D::Trino, "integer", "integer"},
      {D::Trino, "tinyint", "integer"},
      {D::Trino, "decimal(10,2)", "number"},
      {D::Trino, "double", "number"},
      {D::Trino, "real", "number"},
      {D::Trino, "varchar", "string"},
      {D::Trino, "varchar(20)", "string"},
      {D::Trino, "char(3)", "string"},
      {D::Trino, "uuid", "string"},
      {D::Trino, "boolean", "boolean"},
      {D::Trino, "date", "date"},
      {D::Trino, "timestamp(3)", "timestamp"},
      {D::Trino, "timestamp(6) with time zone", "timestamp"},
      {D::Trino, "time(3)", "time"},
      {D::Trino, "json", "object"},
      {D::Trino, "row(a integer, b varchar)", "object"},
      {D::Trino, "map(varchar, integer)", "object"},
      {D::Trino, "array(integer)", "array"},
      {D::Trino, "varbinary", ""},
      // ClickHouse (system.columns type)
      {D::ClickHouse, "Int8", "integer"},
      {D::ClickHouse, "Int32", "integer"},
      {D::ClickHouse, "UInt32", "integer"},
      {D::ClickHouse, "UInt64", "number"},
      {D::ClickHouse, "Int128", "integer"},
      {D::ClickHouse, "Float64", "number"},
      {D::ClickHouse, "Decimal(10, 2)", "number"},
      {D::ClickHouse, "Decimal64(4)", "number"},
      {D::ClickHouse, "String", "string"},
      {D::ClickHouse, "LowCardinality(Nullable(String))", "string"},
      {D::ClickHouse, "FixedString(3)", "string"},
      {D::ClickHouse, "UUID", "string"},
      {D::ClickHouse, "Enum8('a' = 1, 'b' = 2)", "string"},
      {D::ClickHouse, "Bool", "boolean"},
      {D::ClickHouse, "Date", "date"},
      {D::ClickHouse, "Date32", "date"},
      {D::ClickHouse, "DateTime('UTC')", "timestamp"},
      {D::ClickHouse, "DateTime64(3, 'UTC')", "timestamp"},
      {D::ClickHouse, "Nullable(DateTime64(3))", "timestamp"},
      {D::ClickHouse, "Array(String)", "array"},
      {D::ClickHouse, "Map(String, UInt64)", "object"},
      {D::ClickHouse, "Tuple(a Int32, b String)", "object"},
      {D::ClickHouse, "JSON", "object"},
      {D::ClickHouse, "IPv4", ""},
  };
  for (const auto& row : rows) {
    const Dialect& d = dialectFor(row.dialect);
    const std::string canonical = d.canonicalType(row.reported);
    INFO(d.name() << " " << row.reported << " -> " << canonical);
    CHECK(logicalFamily(d, canonical) == row.family);
    if (*row.family != '\0') {
      CHECK(logicalTypeMatches(d, row.family, canonical));
      CHECK(logicalTypeMatches(d, "number", canonical) ==
            (std::string(row.family) == "number" || std::string(row.family) == "integer"));
    }
  }
  // Snowflake's NUMBER and ClickHouse's UInt64 report no scale: taken as integers too.
  CHECK(logicalTypeMatches(dialectFor(D::Snowflake), "integer", "numeric"));
  CHECK(logicalTypeMatches(dialectFor(D::ClickHouse), "integer", "numeric"));
  CHECK_FALSE(logicalTypeMatches(dialectFor(D::Postgres), "integer", "numeric"));
  CHECK_FALSE(logicalTypeMatches(dialectFor(D::Postgres), "integer", "double precision"));
  CHECK_FALSE(logicalTypeMatches(dialectFor(D::Postgres), "date", "timestamp with time zone"));
}

TEST_CASE("contract probe keys: every bad input is an error at its line",
          "[config][contract_probes]") {
  const std::string prelude = "sources:\n  db: {type: sqlite, path: /tmp/x.db}\nprobes:\n";
  struct Bad {
    std::string probe;  // one line under probes:
    std::string error;  // "t.yaml:4:COL: ..."
  };
  const std::vector<Bad> bad{
      {"  - {name: a, type: volume, source: db, table: t, must: \"< 1%\"}",
       "t.yaml:4:57: probe \"a\": must \"< 1%\" is a percentage; a volume bound counts rows"},
      {"  - {name: a, type: volume, source: db, table: t, must: \"about 5\"}",
       "t.yaml:4:57: probe \"a\": must \"about 5\": no comparison operator"},
      {"  - {name: a, type: volume, source: db, table: t, must: 5}",
       "t.yaml:4:57: probe \"a\": must \"5\": no comparison operator"},
      {"  - {name: a, type: volume, source: db, table: t, must: \"between 5 and 1\"}",
       "t.yaml:4:57: probe \"a\": must \"between 5 and 1\": the lower end is above the upper end"},
      {"  - {name: a, type: sql, source: db, query: 'SELECT 1', must: '>= 50%'}",
       "t.yaml:4:63: probe \"a\": must \">= 50%\" is a percentage; a sql probe's query returns one "
       "number"},
      {"  - {name: a, type: sql, source: db, query: 'SELECT count(*) FROM {table}', max: 1}",
       "t.yaml:4:45: probe \"a\": the query uses {table} but the probe has no table"},
      {"  - {name: a, type: sql, source: db, table: t, query: 'SELECT max({column}) FROM {table}', "
       "max: 1}",
       "t.yaml:4:55: probe \"a\": the query uses {column} but the probe has no column"},
      {"  - {name: a, type: sql, source: db, column: c, query: 'SELECT max({column}) FROM t', max: "
       "1}",
       "t.yaml:4:56: probe \"a\": {column} is filled only on a probe with a table"},
      {"  - {name: a, type: sql, source: db, table: t, query: 'SELECT count(*) FROM {table}'}",
       "probe \"a\" checks nothing"},
      {"  - {name: a, type: freshness, source: db, table: t, column: c, schedule: '0 6 * * *', "
       "oldest: true}",
       "probe \"a\": oldest checks retention (the oldest row's age against max_age); it takes no "
       "schedule"},
      {"  - {name: a, type: freshness, source: db, table: t, column: c, max_age: 1d, oldest: yes2}",
       "t.yaml:4:86: oldest must be true or false"},
      {"  - {name: a, type: freshness, source: db, table: t, column: c, oldest: true}",
       "probe \"a\": freshness needs max_age, schedule (with grace), or both"},
      {"  - {name: a, type: freshness, source: db, topic: t, max_age: 1d, oldest: true}",
       "probe \"a\": oldest reads the oldest row of a table, not of a topic"},
      {"  - {name: a, type: schema, source: db, table: t, columns: {x: {logical_type: integr}}}",
       "t.yaml:4:79: probe \"a\": column x: logical_type \"integr\" must be one of"},
      {"  - {name: a, type: schema, source: db, table: t, columns: {x: {type: int, nullable: "
       "true}}}",
       "t.yaml:4:76: unknown key \"nullable\""},
      {"  - {name: a, type: schema, source: db, table: t, columns: {x: {required: maybe}}}",
       "t.yaml:4:75:"},
      {"  - {name: a, type: schema, source: db, table: t, columns: {x: [int]}}",
       "t.yaml:4:64: probe \"a\": column x must be a type string or a map {type, logical_type, "
       "required}"},
  };
  for (const auto& b : bad) {
    INFO(b.probe);
    auto r = config::loadConfigFromString(prelude + b.probe + "\n", "t.yaml", "", envFrom({}));
    CHECK_FALSE(r.ok());
    std::string all;
    for (const auto& d : r.diagnostics) all += d.str() + "\n";
    INFO(all);
    CHECK_THAT(all, Catch::Contains(b.error));
  }
  // And the good spellings load.
  auto ok = config::loadConfigFromString(
      prelude +
          "  - {name: a, type: volume, source: db, table: t, must: 'between 1000 and 5000', min: "
          "1}\n"
          "  - {name: b, type: sql, source: db, table: s.t, column: c, query: 'SELECT "
          "max({column}) "
          "FROM {table}', must: '> 0'}\n"
          "  - {name: c, type: freshness, source: db, table: t, column: c, max_age: 1095d, oldest: "
          "true}\n"
          "  - {name: d, type: schema, source: db, table: t, columns: {x: '', y: int, z: {type: "
          "bigint, logical_type: integer, required: true}, w: {required: false}}}\n",
      "t.yaml", "", envFrom({}));
  std::string all;
  for (const auto& d : ok.diagnostics) all += d.str() + "\n";
  INFO(all);
  REQUIRE(ok.ok());
  const auto& p = ok.config->probes;
  const auto& vol = std::get<config::VolumeSpec>(p[0].spec);
  REQUIRE(vol.must);
  CHECK(vol.must->op == config::Bound::Op::Between);
  CHECK(vol.must->a == 1000);
  CHECK(vol.must->b == 5000);
  const auto& sql = std::get<config::SqlSpec>(p[1].spec);
  CHECK(sql.column == "c");
  CHECK(p[1].table == "s.t");
  CHECK(p[1].target() == "s.t");
  REQUIRE(sql.must);
  CHECK(sql.must->str() == "> 0");
  CHECK(std::get<config::FreshnessSpec>(p[2].spec).oldest);
  const auto& sch = std::get<config::SchemaSpec>(p[3].spec);
  CHECK(sch.columns == std::vector<std::pair<std::string, std::string>>{
                           {"x", ""}, {"y", "int"}, {"z", "bigint"}, {"w", ""}});
  CHECK(sch.logical_types == std::map<std::string, std::string>{{"z", "integer"}});
  CHECK(sch.required == std::map<std::string, bool>{{"z", true}, {"w", false}});
}
