// The catalog queries (columns, row estimates), type names and session set-up
// of each dialect (dialect.hpp).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <regex>

#include "core/ascii.hpp"
#include "probes/dialect.hpp"
#include "probes/source.hpp"
#include "probes/sql_probes.hpp"

namespace datawatch {
namespace {

using D = DialectId;

// "<catalog>." quoted, or "" (the session's catalog).
std::string catalogPrefix(const Dialect& d, const TableRef& t) {
  return t.catalog.empty() ? "" : d.quote(t.catalog) + ".";
}

// information_schema.columns as the standard has it (Snowflake, Trino,
// Databricks, Redshift, SQL Server), with the dialect's current-schema function.
CatalogQuery standardColumns(const Dialect& d, const TableRef& t, const Placeholder& ph,
                             const std::string& type_expr, const std::string& current_schema,
                             const std::string& view = "information_schema.columns") {
  return {"SELECT column_name, " + type_expr +
              ", CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END FROM " + catalogPrefix(d, t) +
              view + " WHERE table_schema = COALESCE(NULLIF(" + ph(1) + ", ''), " + current_schema +
              ") AND table_name = " + ph(2) + " ORDER BY ordinal_position",
          {t.schema, t.table}};
}

}  // namespace

CatalogQuery Dialect::columns(const TableRef& t, const Placeholder& ph) const {
  switch (id_) {
    case D::Postgres:
      return {
          "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::int "
          "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
          "JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE n.nspname = COALESCE(NULLIF(" +
              ph(1) + "::text, ''), current_schema()) AND c.relname = " + ph(2) +
              " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
          {t.schema, t.table}};
    case D::Sqlite:
      return {"SELECT name, type, \"notnull\" FROM pragma_table_info(" + ph(2) +
                  ", COALESCE(NULLIF(" + ph(1) + ", ''), 'main'))",
              {t.schema, t.table}};
    case D::Mysql: return standardColumns(*this, t, ph, "column_type", "DATABASE()");
    case D::SqlServer:
      return standardColumns(*this, t, ph,
                             "data_type + COALESCE('(' + CAST(character_maximum_length AS "
                             "VARCHAR(12)) + ')', '')",
                             "SCHEMA_NAME()", "INFORMATION_SCHEMA.COLUMNS");
    case D::Snowflake: return standardColumns(*this, t, ph, "data_type", "CURRENT_SCHEMA()");
    case D::Redshift:
      return standardColumns(
          *this, t, ph,
          "data_type || COALESCE('(' || CAST(character_maximum_length AS VARCHAR) || ')', '')",
          "current_schema()");
    case D::Databricks: return standardColumns(*this, t, ph, "full_data_type", "current_schema()");
    case D::Trino: return standardColumns(*this, t, ph, "data_type", "current_schema");
    case D::BigQuery: {
      // INFORMATION_SCHEMA is per dataset: [project.]dataset.INFORMATION_SCHEMA.COLUMNS.
      std::string where = t.schema.empty() ? "" : quote(t.schema) + ".";
      if (!t.catalog.empty()) where = quote(t.catalog) + "." + where;
      return {
          "SELECT column_name, data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END "
          "FROM " +
              where + "INFORMATION_SCHEMA.COLUMNS WHERE table_name = " + ph(1) +
              " ORDER BY ordinal_position",
          {t.table}};
    }
    case D::ClickHouse:
      return {
          "SELECT name, type, CASE WHEN position(type, 'Nullable(') > 0 THEN 0 ELSE 1 END "
          "FROM system.columns WHERE database = COALESCE(NULLIF(" +
              ph(1) + ", ''), currentDatabase()) AND table = " + ph(2) + " ORDER BY position",
          {t.schema, t.table}};
  }
  return {};
}

std::optional<CatalogQuery> Dialect::rowEstimate(const TableRef& t, const Placeholder& ph) const {
  const std::vector<SqlValue> st{t.schema, t.table};
  switch (id_) {
    case D::Postgres:
      // reltuples is -1 before the first ANALYZE (PostgreSQL 14+); then the
      // statistics collector's live-tuple counter.
      return CatalogQuery{
          "SELECT c.reltuples::float8, s.n_live_tup::float8 FROM pg_class c "
          "JOIN pg_namespace n ON n.oid = c.relnamespace "
          "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
          "WHERE n.nspname = COALESCE(NULLIF(" +
              ph(1) + "::text, ''), current_schema()) AND c.relname = " + ph(2),
          st};
    case D::Redshift:
      return CatalogQuery{
          "SELECT CAST(estimated_visible_rows AS FLOAT8) FROM svv_table_info WHERE \"schema\" = "
          "COALESCE(NULLIF(" +
              ph(1) + ", ''), current_schema()) AND \"table\" = " + ph(2),
          st};
    case D::Mysql:
      return CatalogQuery{
          "SELECT table_rows FROM information_schema.tables WHERE table_schema = "
          "COALESCE(NULLIF(" +
              ph(1) + ", ''), DATABASE()) AND table_name = " + ph(2),
          st};
    case D::Snowflake:
      return CatalogQuery{"SELECT row_count FROM " + catalogPrefix(*this, t) +
                              "information_schema.tables WHERE table_schema = COALESCE(NULLIF(" +
                              ph(1) + ", ''), CURRENT_SCHEMA()) AND table_name = " + ph(2),
                          st};
    case D::SqlServer:
      return CatalogQuery{
          "SELECT SUM(p.row_count) FROM sys.dm_db_partition_stats p "
          "JOIN sys.tables tb ON tb.object_id = p.object_id "
          "JOIN sys.schemas s ON s.schema_id = tb.schema_id "
          "WHERE s.name = COALESCE(NULLIF(" +
              ph(1) + ", ''), SCHEMA_NAME()) AND tb.name = " + ph(2) + " AND p.index_id IN (0, 1)",
          st};
    case D::BigQuery: {
      // __TABLES__ is per dataset (TABLE_STORAGE needs a region qualifier).
      std::string where = t.schema.empty() ? "" : quote(t.schema) + ".";
      if (!t.catalog.empty()) where = quote(t.catalog) + "." + where;
      return CatalogQuery{"SELECT row_count FROM " + where + "__TABLES__ WHERE table_id = " + ph(1),
                          {t.table}};
    }
    case D::Databricks:
      // "Statistics: <bytes> bytes, <rows> rows" once ANALYZE TABLE has run.
      return CatalogQuery{"DESCRIBE TABLE EXTENDED " + catalogPrefix(*this, t) +
                              (t.schema.empty() ? "" : quote(t.schema) + ".") + quote(t.table),
                          {}};
    case D::ClickHouse:
      return CatalogQuery{
          "SELECT total_rows FROM system.tables WHERE database = "
          "COALESCE(NULLIF(" +
              ph(1) + ", ''), currentDatabase()) AND name = " + ph(2),
          st};
    case D::Sqlite:
    case D::Trino: return std::nullopt;  // config::dialectLimitation says why
  }
  return std::nullopt;
}

std::optional<Dialect::Estimate> Dialect::readEstimate(
    const std::vector<std::vector<SqlValue>>& rows) const {
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  if (id_ == D::Databricks) {
    static const std::regex kRows(R"((\d+) rows)");
    for (const auto& r : rows) {
      if (r.size() < 2 || sqlValueToString(r[0]) != "Statistics") continue;
      std::smatch m;
      const std::string text = sqlValueToString(r[1]);
      if (std::regex_search(text, m, kRows))
        return Estimate{std::stod(m[1].str()), "DESCRIBE TABLE EXTENDED statistics"};
    }
    return std::nullopt;
  }
  const auto first = sqlValueToDouble(rows[0][0]);
  if (id_ == D::Postgres) {
    if (first && *first >= 0) return Estimate{std::round(*first), "pg_class.reltuples"};
    if (rows[0].size() > 1)
      if (auto live = sqlValueToDouble(rows[0][1]))
        return Estimate{*live, "pg_stat_user_tables.n_live_tup"};
    return std::nullopt;
  }
  if (!first) return std::nullopt;
  static const std::map<D, const char*> kSource{
      {D::Redshift, "svv_table_info.estimated_visible_rows"},
      {D::Mysql, "information_schema.tables.table_rows"},
      {D::Snowflake, "information_schema.tables.row_count"},
      {D::SqlServer, "sys.dm_db_partition_stats.row_count"},
      {D::BigQuery, "__TABLES__.row_count"},
      {D::ClickHouse, "system.tables.total_rows"}};
  const auto it = kSource.find(id_);
  return Estimate{*first, it == kSource.end() ? "catalog" : it->second};
}

namespace {

// Strips a wrapper such as Nullable(...) or LowCardinality(...).
std::string unwrap(std::string t, std::string_view wrapper) {
  while (t.rfind(wrapper, 0) == 0 && t.back() == ')')
    t = t.substr(wrapper.size(), t.size() - wrapper.size() - 1);
  return t;
}

// Dialect names -> the PostgreSQL spelling canonicalType() knows. Keys are
// lower-case base names (no modifier).
const std::map<std::string, std::string>& aliasesOf(D id) {
  static const std::map<D, std::map<std::string, std::string>> kAliases{
      {D::Mysql,
       {{"tinyint", "smallint"},
        {"mediumint", "integer"},
        {"datetime", "timestamp without time zone"},
        {"timestamp", "timestamp with time zone"},  // stored as UTC
        {"float", "real"},
        {"longtext", "text"},
        {"mediumtext", "text"},
        {"tinytext", "text"},
        {"binary", "bytea"},
        {"varbinary", "bytea"},
        {"tinyblob", "bytea"},
        {"blob", "bytea"},
        {"mediumblob", "bytea"},
        {"longblob", "bytea"}}},
      {D::SqlServer,
       {{"nvarchar", "character varying"},
        {"nchar", "character"},
        {"datetime", "timestamp without time zone"},
        {"datetime2", "timestamp without time zone"},
        {"smalldatetime", "timestamp without time zone"},
        {"datetimeoffset", "timestamp with time zone"},
        {"bit", "boolean"},
        {"float", "double precision"},
        {"ntext", "text"},
        {"money", "numeric"}}},
      {D::Snowflake,
       {{"number", "numeric"},
        {"float", "double precision"},
        {"timestamp_ntz", "timestamp without time zone"},
        {"timestamp_tz", "timestamp with time zone"},
        {"timestamp_ltz", "timestamp with time zone"}}},
      {D::BigQuery,
       {{"int64", "bigint"},
        {"float64", "double precision"},
        {"string", "text"},
        {"timestamp", "timestamp with time zone"},
        {"datetime", "timestamp without time zone"},
        {"bytes", "bytea"},
        {"bignumeric", "numeric"}}},
      {D::Databricks,
       {{"string", "text"},
        {"float", "real"},
        {"timestamp", "timestamp with time zone"},
        {"timestamp_ntz", "timestamp without time zone"},
        {"tinyint", "smallint"},
        {"binary", "bytea"}}},
      {D::Trino, {{"varbinary", "bytea"}}},
      {D::ClickHouse,
       {{"int8", "smallint"},
        {"int16", "smallint"},
        {"int32", "integer"},
        {"int64", "bigint"},
        {"uint8", "smallint"},
        {"uint16", "integer"},
        {"uint32", "bigint"},
        {"uint64", "numeric"},
        {"float32", "real"},
        {"float64", "double precision"},
        {"string", "text"},
        {"fixedstring", "character"},
        {"datetime", "timestamp without time zone"},
        {"datetime64", "timestamp without time zone"},
        {"bool", "boolean"},
        {"decimal", "numeric"}}}};
  static const std::map<std::string, std::string> kNone;
  const auto it = kAliases.find(id);
  return it == kAliases.end() ? kNone : it->second;
}

}  // namespace

std::string Dialect::canonicalType(std::string_view raw) const {
  std::string t = asciiLower(raw);
  if (id_ == D::ClickHouse) {  // LowCardinality(Nullable(String)), Nullable(...): any order
    for (std::string before; before != t;) {
      before = t;
      t = unwrap(unwrap(t, "lowcardinality("), "nullable(");
    }
  }
  std::string base = t.substr(0, t.find('('));
  std::string mod = t.find('(') == std::string::npos ? "" : t.substr(t.find('('));
  if (id_ == D::Mysql) {
    if (base == "tinyint" && mod == "(1)") return "boolean";
    // Display widths of integer types ("int(11)") and binary lengths are not
    // part of the type datawatch compares.
    if (base.find("int") != std::string::npos || base.find("binary") != std::string::npos ||
        base.find("blob") != std::string::npos)
      mod.clear();
  }
  if (id_ == D::ClickHouse && (base == "datetime" || base == "datetime64")) mod.clear();
  if (id_ == D::SqlServer && mod == "(-1)") return base == "varbinary" ? "bytea" : "text";  // MAX
  if (id_ == D::Snowflake) {
    // Its catalog reports every string type as TEXT and every exact number as
    // NUMBER (precision in other columns): declarations compare on that footing.
    static const std::vector<std::string> kText{
        "text", "varchar", "char", "character", "string", "nchar", "nvarchar", "character varying"};
    static const std::vector<std::string> kNumber{"number",   "numeric", "decimal",
                                                  "int",      "integer", "bigint",
                                                  "smallint", "tinyint", "byteint"};
    if (std::find(kText.begin(), kText.end(), base) != kText.end()) return "text";
    if (std::find(kNumber.begin(), kNumber.end(), base) != kNumber.end()) return "numeric";
  }
  if (id_ == D::BigQuery) {  // INT64 and its aliases
    static const std::vector<std::string> kInt{"int",     "integer", "smallint",
                                               "tinyint", "byteint", "bigint"};
    if (std::find(kInt.begin(), kInt.end(), base) != kInt.end()) return "bigint";
  }
  const auto& aliases = aliasesOf(id_);
  if (auto it = aliases.find(base); it != aliases.end()) base = it->second;
  return datawatch::canonicalType(base + mod);
}

std::vector<std::string> Dialect::sessionSetup() const {
  switch (id_) {
    case D::Postgres: return {"SET TimeZone = 'UTC'", "SET default_transaction_read_only = on"};
    case D::Redshift: return {"SET timezone TO 'UTC'"};
    case D::Mysql: return {"SET time_zone = '+00:00'", "SET SESSION TRANSACTION READ ONLY"};
    case D::Sqlite: return {"PRAGMA query_only = 1"};
    case D::Snowflake: return {"ALTER SESSION SET TIMEZONE = 'UTC'"};
    case D::Databricks: return {"SET TIME ZONE 'UTC'"};
    case D::Trino: return {"SET TIME ZONE 'UTC'"};
    default: return {};  // read-only through grants (docs/warehouses.md)
  }
}

std::vector<std::string> Dialect::sessionReset() const {
  if (id_ == D::Postgres) return {"DISCARD ALL"};
  return {};
}

std::string Dialect::ping() const {
  return "SELECT 1";
}

}  // namespace datawatch
