// Identifiers and statement shapes of each dialect (dialect.hpp). The catalog
// queries, types and sessions are in dialect_catalog.cpp.
#include <array>
#include <cctype>
#include <cstdio>

#include "probes/dialect.hpp"

namespace datawatch {
namespace {

using D = DialectId;

// Exact decimal text of a computed number (fractions, thresholds).
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool plainIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) return false;
  return true;
}

bool hasLower(std::string_view s) {
  for (char c : s)
    if (std::islower(static_cast<unsigned char>(c))) return true;
  return false;
}

bool hasUpper(std::string_view s) {
  for (char c : s)
    if (std::isupper(static_cast<unsigned char>(c))) return true;
  return false;
}

// Quotes with `open`/`close`: `close` inside becomes `close_as`, and a
// backslash becomes two where the dialect reads backslash escapes in names. No
// raw `close` ever follows a backslash, so a scanner that knows only doubled
// quotes (OdbcSource::rewritePlaceholders) still sees where each name ends.
std::string quoteWith(std::string_view s, char open, char close, std::string_view close_as,
                      bool backslash) {
  std::string out(1, open);
  for (char c : s) {
    if (c == '\0') continue;  // NUL cannot appear in an identifier; drop it
    if (c == close)
      out += close_as;
    else if (backslash && c == '\\')
      out += "\\\\";
    else
      out += c;
  }
  return out + close;
}

}  // namespace

const Dialect& dialectFor(DialectId id) {
  static const std::array<Dialect, 10> kDialects{
      Dialect(D::Postgres),  Dialect(D::Mysql),     Dialect(D::Sqlite),     Dialect(D::SqlServer),
      Dialect(D::Snowflake), Dialect(D::BigQuery),  Dialect(D::Databricks), Dialect(D::Redshift),
      Dialect(D::Trino),     Dialect(D::ClickHouse)};
  return kDialects.at(static_cast<size_t>(id));
}

Dialect::Fold Dialect::fold() const {
  switch (id_) {
    case D::Postgres:
    case D::Redshift:
    case D::Trino: return Fold::Lower;
    case D::Snowflake: return Fold::Upper;
    default: return Fold::None;  // case-insensitive or case-sensitive as written
  }
}

bool Dialect::namesCaseInsensitive() const {
  return id_ == D::Mysql || id_ == D::SqlServer || id_ == D::BigQuery || id_ == D::Databricks ||
         id_ == D::Sqlite;
}

BackslashEscapes Dialect::backslashEscapes() const {
  switch (id_) {
    case D::BigQuery:
    case D::ClickHouse: return {true, true};
    case D::Mysql:
    case D::Databricks:
    case D::Snowflake: return {true, false};
    default: return {};  // standard strings: a quote is escaped by doubling it
  }
}

std::string Dialect::storedName(std::string_view configured) const {
  const auto n = configured.size();
  if (n >= 2 && configured.front() == '"' && configured.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < n; ++i) {
      out += configured[i];
      if (configured[i] == '"' && i + 2 < n && configured[i + 1] == '"') ++i;  // "" -> "
    }
    return out;
  }
  std::string out(configured);
  if (!plainIdentifier(configured)) return out;
  if (fold() == Fold::Upper && !hasUpper(configured)) {
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else if (fold() == Fold::Lower && !hasLower(configured)) {
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string Dialect::quote(std::string_view stored) const {
  switch (id_) {
    case D::Mysql:
    case D::Databricks:
    // SQLite: backticks, not "...": a "name" that matches no column is read as a
    // string literal ('double-quoted string' compatibility, on by default in
    // libsqlite3 and only switchable through sqlite3_db_config, which sqliteodbc
    // does not expose), so a misspelt column would be a constant; `name` never is.
    case D::Sqlite: return quoteWith(stored, '`', '`', "``", false);
    // ClickHouse's lexer reads both doubled quotes and backslash escapes in names.
    case D::ClickHouse: return quoteWith(stored, '`', '`', "``", true);
    // GoogleSQL names take string-literal escapes, not doubled quotes: \x60 is '`'.
    case D::BigQuery: return quoteWith(stored, '`', '`', "\\x60", true);
    case D::SqlServer: return quoteWith(stored, '[', ']', "]]", false);
    default: return quoteWith(stored, '"', '"', "\"\"", false);
  }
}

namespace {

// The dot-separated parts of a configured table name; a part in double quotes
// may hold dots.
std::vector<std::string> splitDotted(std::string_view dotted) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (char c : dotted) {
    if (c == '"') quoted = !quoted;
    if (c == '.' && !quoted) {
      parts.emplace_back();
      continue;
    }
    parts.back() += c;
  }
  return parts;
}

}  // namespace

std::string Dialect::qualified(std::string_view dotted) const {
  std::string out;
  for (const auto& part : splitDotted(dotted)) out += (out.empty() ? "" : ".") + ident(part);
  return out;
}

TableRef Dialect::tableRef(std::string_view dotted) const {
  auto parts = splitDotted(dotted);
  if (id_ == D::Databricks) {
    // Unity Catalog stores catalog, schema and table names in lower case (its
    // catalog views compare them as stored); column names keep their case.
    for (auto& p : parts)
      if (p.empty() || p.front() != '"')
        for (auto& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  TableRef t;
  t.table = storedName(parts.back());
  if (parts.size() >= 2) t.schema = storedName(parts[parts.size() - 2]);
  for (size_t i = 0; i + 2 < parts.size(); ++i)
    t.catalog += (t.catalog.empty() ? "" : ".") + storedName(parts[i]);
  return t;
}

std::string Dialect::selectLimited(std::string_view rest, int64_t n, bool distinct) const {
  const std::string head = distinct ? "SELECT DISTINCT " : "SELECT ";
  if (id_ == D::SqlServer) return head + "TOP " + std::to_string(n) + " " + std::string(rest);
  return head + std::string(rest) + " LIMIT " + std::to_string(n);
}

std::string Dialect::castDouble(std::string_view e) const {
  const std::string x(e);
  switch (id_) {
    case D::Mysql:
    case D::Snowflake:
    case D::Databricks:
    case D::Trino: return "CAST(" + x + " AS DOUBLE)";
    case D::SqlServer: return "CAST(" + x + " AS FLOAT)";
    case D::BigQuery: return "CAST(" + x + " AS FLOAT64)";
    case D::ClickHouse: return "toFloat64(" + x + ")";  // keeps NULL (Nullable in, Nullable out)
    default: return "CAST(" + x + " AS DOUBLE PRECISION)";
  }
}

std::string Dialect::castText(std::string_view e) const {
  const std::string x(e);
  switch (id_) {
    case D::Mysql: return "CAST(" + x + " AS CHAR)";
    case D::SqlServer: return "CAST(" + x + " AS NVARCHAR(4000))";
    case D::Snowflake:
    case D::Trino: return "CAST(" + x + " AS VARCHAR)";
    case D::Redshift: return "CAST(" + x + " AS VARCHAR(65535))";
    case D::BigQuery:
    case D::Databricks: return "CAST(" + x + " AS STRING)";
    case D::ClickHouse: return "toString(" + x + ")";
    default: return "CAST(" + x + " AS TEXT)";
  }
}

std::string Dialect::floorToBigint(std::string_view e) const {
  const std::string x(e);
  switch (id_) {
    case D::Sqlite: return "CAST(" + x + " AS INTEGER)";  // e >= 0 here: truncation is floor
    case D::Mysql: return "FLOOR(" + x + ")";  // a whole number (DOUBLE for a DOUBLE operand)
    case D::BigQuery: return "CAST(FLOOR(" + x + ") AS INT64)";
    case D::ClickHouse: return "toInt64(floor(" + x + "))";
    default: return "CAST(FLOOR(" + x + ") AS BIGINT)";
  }
}

std::string Dialect::intDiv(std::string_view a, std::string_view b) const {
  const std::string x(a), y(b);
  switch (id_) {
    case D::Mysql:
    case D::Databricks: return "(" + x + ") DIV (" + y + ")";
    case D::BigQuery: return "DIV(" + x + ", " + y + ")";
    case D::ClickHouse: return "intDiv(" + x + ", " + y + ")";
    case D::Snowflake: return "FLOOR((" + x + ") / (" + y + "))";
    default: return "(" + x + ") / (" + y + ")";  // integer operands: integer division
  }
}

std::string Dialect::timeBound(std::string_view marker) const {
  const std::string m(marker);
  if (id_ == D::Trino) return "CAST(" + m + " AS TIMESTAMP(6) WITH TIME ZONE)";
  if (id_ == D::BigQuery) return "TIMESTAMP(" + m + ")";
  return m;
}

std::string Dialect::epochSeconds(std::string_view col) const {
  const std::string c(col);
  switch (id_) {
    case D::Postgres: return "extract(epoch from " + c + "::timestamptz)";
    case D::Redshift: return "extract(epoch from " + c + ")";
    case D::Sqlite: return "((julianday(" + c + ") - 2440587.5) * 86400.0)";
    case D::Mysql: return "UNIX_TIMESTAMP(" + c + ")";  // session time_zone is UTC
    case D::SqlServer: return "CAST(DATEDIFF_BIG(SECOND, '1970-01-01', " + c + ") AS FLOAT)";
    case D::Snowflake: return "DATE_PART(EPOCH_SECOND, " + c + ")";
    case D::BigQuery: return "UNIX_SECONDS(TIMESTAMP(" + c + "))";
    case D::Databricks: return "unix_timestamp(" + c + ")";
    case D::Trino: return "to_unixtime(" + c + ")";
    case D::ClickHouse: return "toUnixTimestamp(" + c + ")";
  }
  return c;
}

std::string Dialect::tablesample(bool system, double percent, int64_t seed) const {
  const std::string tail = ") REPEATABLE (" + std::to_string(seed) + ")";
  if (id_ == D::Postgres)
    return std::string(" TABLESAMPLE ") + (system ? "SYSTEM" : "BERNOULLI") + " (" + num(percent) +
           tail;
  if (id_ == D::SqlServer) return " TABLESAMPLE SYSTEM (" + num(percent) + " PERCENT" + tail;
  return "";
}

std::string Dialect::randomBelow(double fraction, int64_t seed) const {
  const auto per_million = std::to_string(static_cast<int64_t>(fraction * 1e6));
  switch (id_) {
    case D::Sqlite: return "abs(random() % 1000000) < " + per_million;  // random(): 64-bit int
    case D::Snowflake: return "UNIFORM(0, 999999, RANDOM()) < " + per_million;
    case D::ClickHouse: return "rand() % 1000000 < " + per_million;  // rand(): UInt32
    case D::Mysql: return "RAND(" + std::to_string(seed) + ") < " + num(fraction);
    case D::BigQuery: return "RAND() < " + num(fraction);
    case D::Databricks: return "rand() < " + num(fraction);
    default: return "random() < " + num(fraction);  // a double in [0, 1)
  }
}

std::string Dialect::stddevPop(std::string_view e) const {
  const std::string x(e);
  switch (id_) {
    case D::SqlServer: return "STDEVP(" + x + ")";
    case D::ClickHouse: return "stddevPop(" + x + ")";
    default: return "stddev_pop(" + x + ")";
  }
}

QuantileSql Dialect::quantiles(std::string_view v, const std::vector<double>& fractions) const {
  const std::string x(v);
  std::string list;
  for (double f : fractions) list += (list.empty() ? "" : ", ") + num(f);
  using S = QuantileSql::Shape;
  switch (id_) {
    case D::Postgres:
      return {"percentile_cont(ARRAY[" + list + "]::float8[]) WITHIN GROUP (ORDER BY " + x + ")",
              S::Array, true};
    case D::Redshift:
    case D::Snowflake: {
      std::string cols;
      for (double f : fractions)
        cols += (cols.empty() ? "" : ", ") + std::string("PERCENTILE_CONT(") + num(f) +
                ") WITHIN GROUP (ORDER BY " + x + ")";
      return {cols, S::Columns, true};
    }
    case D::BigQuery:
      return {"APPROX_QUANTILES(" + x + ", " + std::to_string(fractions.size() + 1) + ")",
              S::ArrayWithEnds, false};
    case D::Databricks: return {"percentile(" + x + ", array(" + list + "))", S::Array, true};
    case D::Trino: return {"approx_percentile(" + x + ", ARRAY[" + list + "])", S::Array, false};
    case D::ClickHouse:
      // Linear interpolation between order statistics, as percentile_cont.
      return {"quantilesExactInclusive(" + list + ")(" + x + ")", S::Array, true};
    default: return {"", S::OrderStatistics, true};  // sqlite, mysql, sqlserver
  }
}

std::string Dialect::binaryOrder(std::string_view v) const {
  if (id_ == D::Postgres) return std::string(v) + " COLLATE \"C\"";
  return std::string(v);
}

std::string Dialect::materialized() const {
  return id_ == D::Postgres || id_ == D::Sqlite ? " AS MATERIALIZED " : " AS ";
}

std::optional<std::string> Dialect::regexMatch(std::string_view expr,
                                               std::string_view marker) const {
  const std::string x(expr), m(marker);
  switch (id_) {
    case D::Postgres:
    case D::Redshift: return castText(x) + " ~ " + m;
    // REGEXP follows the collation (case-insensitive by default); the inline
    // flag (?-i), read by MariaDB's PCRE and MySQL's ICU, makes it exact.
    case D::Mysql: return x + " REGEXP CONCAT('(?-i)', " + m + ")";
    case D::Sqlite:
      return x + " REGEXP " + m;  // regexp() from SqliteSource
    // Snowflake's REGEXP_LIKE matches the whole value; REGEXP_INSTR searches.
    case D::Snowflake: return "REGEXP_INSTR(" + castText(x) + ", " + m + ") > 0";
    case D::BigQuery: return "REGEXP_CONTAINS(" + castText(x) + ", " + m + ")";
    case D::Databricks: return castText(x) + " RLIKE " + m;
    case D::Trino: return "regexp_like(" + castText(x) + ", " + m + ")";
    case D::ClickHouse: return "match(" + castText(x) + ", " + m + ")";
    case D::SqlServer: return std::nullopt;
  }
  return std::nullopt;
}

std::string Dialect::charLength(std::string_view expr) const {
  const std::string x(expr);
  switch (id_) {
    case D::Mysql:
    case D::Databricks: return "CHAR_LENGTH(" + x + ")";  // MySQL's LENGTH counts bytes
    case D::SqlServer: return "(LEN(CONCAT(" + x + ", '.')) - 1)";
    case D::Sqlite:
    case D::Snowflake: return "LENGTH(" + x + ")";
    case D::ClickHouse: return "lengthUTF8(" + castText(x) + ")";  // length() counts bytes
    case D::Trino: return "length(" + castText(x) + ")";
    default: return "CHAR_LENGTH(" + castText(x) + ")";  // postgres, redshift, bigquery
  }
}

}  // namespace datawatch
