#pragma once
// Dialect: everything in the SQL datawatch generates that differs between
// databases — identifier quoting and case folding, LIMIT, casts, time
// arithmetic, random sampling, percentiles, and the catalog queries (columns,
// row estimates). Probes build every statement through the Dialect of their
// source; placeholders stay the source's (a driver property, not a dialect's).
//
// Invariants (the security and correctness contract of generated SQL):
// - An identifier from config reaches SQL only through ident()/qualified():
//   quoted with the dialect's quote character, quote characters doubled (on
//   BigQuery, which has no doubled quotes, written \x60) and backslashes doubled
//   where names take backslash escapes (BigQuery, ClickHouse), NUL dropped; so
//   no quote character inside a name ever follows a backslash. Never spliced bare.
// - A value from config or data reaches SQL only as a bound parameter; the
//   only literals spliced are numbers datawatch computed (fractions, limits).
// - Names are folded the way the dialect folds unquoted names, so a config can
//   name a column as its users see it: on Snowflake `order_id` means ORDER_ID,
//   on PostgreSQL `ORDER_ID` means order_id. A name in mixed case is taken as
//   written (it was created quoted), and a name written in double quotes in the
//   config ("Order Id") is always taken exactly.
// - What a dialect cannot do is known before a probe runs
//   (config::dialectLimitation, reported by validate), never discovered as a
//   syntax error at 3 a.m.
// - Immutable: one constant instance per dialect (dialectFor), shared by every
//   source and thread.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/types.hpp"
#include "probes/sql_value.hpp"

namespace datawatch {

using config::DialectId;

// The n-th (1-based) parameter marker of the source the SQL is for.
using Placeholder = std::function<std::string(int)>;

// A table named in config, split into its parts and folded to stored names.
// `schema` is "" when the config named no schema (the session's default
// applies); `catalog` ("database" on Snowflake / SQL Server, "project" on
// BigQuery, "catalog" on Trino / Databricks) is "" unless written.
struct TableRef {
  std::string catalog;
  std::string schema;
  std::string table;
};

// A catalog statement with its bound values.
struct CatalogQuery {
  std::string sql;
  std::vector<SqlValue> params;
};

// Where a dialect reads a backslash inside quotes as escaping the next character.
struct BackslashEscapes {
  bool strings =
      false;  // '...' and "..." literals (MySQL, BigQuery, ClickHouse, Databricks, Snowflake)
  bool names = false;  // `...` names (BigQuery, ClickHouse)
};

// How a dialect computes the quantiles of a column (drift's bin edges).
struct QuantileSql {
  enum class Shape {
    Columns,         // one column per fraction, in order
    Array,           // one column: an array of the fractions' values, in order
    ArrayWithEnds,   // one array of B+1 values: min, the B-1 quantiles, max
    OrderStatistics  // no function: rank the rows and interpolate (exact)
  };
  std::string select;  // the expression(s), "" for OrderStatistics
  Shape shape = Shape::OrderStatistics;
  bool exact = true;  // false: the database's approximation (the result says so)
};

class Dialect {
 public:
  enum class Fold { None, Lower, Upper };

  DialectId id() const { return id_; }
  const char* name() const { return config::toString(id_); }

  // ---- identifiers
  // The name as the database stores it (see the folding rule at the top).
  std::string storedName(std::string_view configured) const;
  // One identifier quoted: "x" (standard), `x` (mysql, sqlite, bigquery, databricks,
  // clickhouse), [x] (sqlserver).
  std::string quote(std::string_view stored) const;
  // storedName + quote.
  std::string ident(std::string_view configured) const { return quote(storedName(configured)); }
  // A dotted table name, part by part: shop.orders -> "shop"."orders".
  std::string qualified(std::string_view dotted) const;
  TableRef tableRef(std::string_view dotted) const;

  // ---- statement shapes
  // "SELECT [DISTINCT] <rest> LIMIT n", or "SELECT [DISTINCT] TOP n <rest>" (sqlserver).
  std::string selectLimited(std::string_view rest, int64_t n, bool distinct = false) const;
  std::string castDouble(std::string_view expr) const;
  std::string castText(std::string_view expr) const;
  // floor(expr) as a 64-bit integer.
  std::string floorToBigint(std::string_view expr) const;
  // Integer division of two non-negative integer expressions.
  std::string intDiv(std::string_view a, std::string_view b) const;
  // A bound time value (a window's bound, "now") where it is compared with a
  // time column. Text parameters compare with timestamp columns everywhere
  // except Trino and BigQuery, which never coerce a string parameter: there the
  // marker is cast to a timestamp (so a window's column must be a TIMESTAMP or
  // DATE there, not text or epoch numbers; docs/warehouses.md).
  std::string timeBound(std::string_view marker) const;
  // A timestamp/datetime column (already quoted) as Unix seconds (a number).
  std::string epochSeconds(std::string_view quoted_column) const;
  // A per-row predicate true with probability `fraction` (drift's row sampling
  // where the dialect has no TABLESAMPLE datawatch uses). A statement that reads
  // its sample more than once (the order-statistics quantiles) must see the same
  // rows each time: MySQL's RAND(seed) repeats its sequence per reference; the
  // other dialects read the sample once, or materialise it (SQLite).
  std::string randomBelow(double fraction, int64_t seed) const;
  // " TABLESAMPLE ... REPEATABLE (seed)" after the table: PostgreSQL (SYSTEM or
  // BERNOULLI) and SQL Server (SYSTEM only: its NEWID() predicate would draw a
  // new sample at each reference); "" where datawatch samples with randomBelow.
  std::string tablesample(bool system, double percent, int64_t seed) const;
  bool hasRepeatableTablesample() const {
    return id_ == DialectId::Postgres || id_ == DialectId::SqlServer;
  }
  // The population standard deviation aggregate of expr.
  std::string stddevPop(std::string_view expr) const;
  // Quantiles of `v` at `fractions` (each in (0,1)), over the rows of a subquery.
  QuantileSql quantiles(std::string_view v, const std::vector<double>& fractions) const;
  // Text ordering that does not depend on the server's collation, where the
  // dialect has one ("v COLLATE \"C\"" on PostgreSQL); else `v`.
  std::string binaryOrder(std::string_view v) const;
  // WITH ... AS MATERIALIZED where the dialect has it (one sample per statement).
  std::string materialized() const;
  // The predicate "expr matches the regular expression bound at `marker`"
  // (a search: anchor with ^ and $ for a whole-value match), true/false for a
  // non-NULL expr; non-text values are matched as their text. Each database
  // uses its own engine (docs/probes.md: POSIX on PostgreSQL/Redshift, PCRE on
  // MariaDB, ICU on MySQL, RE2 on BigQuery/ClickHouse, Java on Databricks/
  // Trino, std::regex ECMAScript on SQLite); MySQL/MariaDB match case-sensitively
  // whatever the column's collation. nullopt where the dialect has no regular
  // expressions (sqlserver: config::dialectLimitation refuses `pattern`).
  std::optional<std::string> regexMatch(std::string_view expr, std::string_view marker) const;
  // The length of expr in characters, trailing blanks included (SQL Server's
  // LEN drops them: LEN(CONCAT(expr, '.')) - 1 keeps them); non-text values are
  // measured as their text. NULL for NULL except on SQL Server (0): callers
  // test IS NOT NULL first.
  std::string charLength(std::string_view expr) const;

  // ---- catalog
  // Rows (name, type, not_null 0/1) of a table's columns in declared order; no
  // rows when the table does not exist.
  CatalogQuery columns(const TableRef& t, const Placeholder& ph) const;
  // One row whose first column is the row-count estimate (NULL when there is
  // none yet); nullopt when the dialect keeps none (config::dialectLimitation).
  std::optional<CatalogQuery> rowEstimate(const TableRef& t, const Placeholder& ph) const;
  // The estimate in rowEstimate's result rows and where it came from
  // ("pg_class.reltuples"); nullopt when there is none yet (PostgreSQL before
  // the first ANALYZE falls back to pg_stat_user_tables' live-tuple counter).
  struct Estimate {
    double rows;
    std::string source;
  };
  std::optional<Estimate> readEstimate(const std::vector<std::vector<SqlValue>>& rows) const;
  // A column type as the catalog reports it, normalised to the names
  // datawatch compares (PostgreSQL's spelling: "bigint", "character varying(20)",
  // "timestamp with time zone"); see canonicalType() in sql_probes.hpp.
  std::string canonicalType(std::string_view raw) const;

  // ---- sessions (ODBC)
  // Statements run once on each new connection: UTC, and a read-only session
  // where the dialect has one. May be empty.
  std::vector<std::string> sessionSetup() const;
  // Statements that undo what user SQL may have changed in the session (run
  // after it, before sessionSetup again): PostgreSQL's DISCARD ALL (GUCs set with
  // set_config, temp tables, advisory locks). May be empty.
  std::vector<std::string> sessionReset() const;
  // The trivial query a connection check runs ("SELECT 1").
  std::string ping() const;

  Fold fold() const;
  // Column and table names compare regardless of case (mysql, sqlserver,
  // bigquery, databricks, sqlite).
  bool namesCaseInsensitive() const;
  BackslashEscapes backslashEscapes() const;

 private:
  friend const Dialect& dialectFor(DialectId id);
  explicit Dialect(DialectId id) : id_(id) {}
  DialectId id_;
};

// The constant Dialect of `id`.
const Dialect& dialectFor(DialectId id);

}  // namespace datawatch
