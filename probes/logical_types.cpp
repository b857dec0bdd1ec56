// The logical type families of catalog types (logical_types.hpp).
#include "probes/logical_types.hpp"

#include <cctype>
#include <map>

namespace datawatch {
namespace {

// Canonical base names (Dialect::canonicalType, no modifier) -> family, for
// every dialect. Types the canonical spelling already folds (int8 -> bigint,
// nvarchar -> character varying on SQL Server, ...) appear once.
const std::map<std::string, std::string, std::less<>>& familyTable() {
  static const std::map<std::string, std::string, std::less<>> k{
      // string
      {"text", "string"},
      {"character varying", "string"},
      {"character", "string"},
      {"nvarchar", "string"},
      {"nchar", "string"},
      {"ntext", "string"},
      {"clob", "string"},
      {"string", "string"},
      {"citext", "string"},
      {"name", "string"},
      {"uuid", "string"},              // PostgreSQL, Trino, ClickHouse
      {"uniqueidentifier", "string"},  // SQL Server
      {"enum", "string"},              // MySQL
      {"set", "string"},               // MySQL
      {"enum8", "string"},             // ClickHouse
      {"enum16", "string"},
      // integer
      {"smallint", "integer"},
      {"integer", "integer"},
      {"int", "integer"},  // MySQL 8's "int unsigned" (no display width)
      {"bigint", "integer"},
      {"tinyint", "integer"},
      {"mediumint", "integer"},
      {"byteint", "integer"},
      {"smallserial", "integer"},
      {"int128", "integer"},  // ClickHouse
      {"int256", "integer"},
      {"uint128", "integer"},
      {"uint256", "integer"},
      {"year", "integer"},  // MySQL
      // number (numeric(p) and numeric(p,0) are integers: see below)
      {"numeric", "number"},
      {"real", "number"},
      {"double precision", "number"},
      {"float", "number"},
      {"money", "number"},
      {"smallmoney", "number"},
      {"decfloat", "number"},   // Snowflake
      {"decimal32", "number"},  // ClickHouse
      {"decimal64", "number"},
      {"decimal128", "number"},
      {"decimal256", "number"},
      // boolean
      {"boolean", "boolean"},
      // date
      {"date", "date"},
      {"date32", "date"},  // ClickHouse
      // timestamp
      {"timestamp without time zone", "timestamp"},
      {"timestamp with time zone", "timestamp"},
      {"datetime", "timestamp"},  // SQLite's declared DATETIME
      {"datetime2", "timestamp"},
      {"smalldatetime", "timestamp"},
      {"datetimeoffset", "timestamp"},
      {"timestamp_ntz", "timestamp"},
      {"timestamp_ltz", "timestamp"},
      {"timestamp_tz", "timestamp"},
      {"datetime64", "timestamp"},
      // time
      {"time without time zone", "time"},
      {"time with time zone", "time"},
      // object
      {"json", "object"},
      {"jsonb", "object"},
      {"hstore", "object"},
      {"struct", "object"},   // BigQuery, Databricks
      {"map", "object"},      // Databricks, Trino, ClickHouse
      {"row", "object"},      // Trino
      {"tuple", "object"},    // ClickHouse
      {"variant", "object"},  // Snowflake, Databricks
      {"object", "object"},   // Snowflake, ClickHouse
      {"super", "object"},    // Redshift
      // array
      {"array", "array"},
      {"nested", "array"},  // ClickHouse
  };
  return k;
}

// " unsigned", " signed", " zerofill" (MySQL) removed wherever they are.
std::string withoutSignedness(std::string_view t) {
  std::string out(t);
  for (const char* word : {" unsigned", " signed", " zerofill"}) {
    for (auto p = out.find(word); p != std::string::npos; p = out.find(word))
      out.erase(p, std::char_traits<char>::length(word));
  }
  return out;
}

// numeric(p) or numeric(p, 0): a whole number. `open` is the position of '(' in `t`.
// (A std::string and a position, not a string_view: GCC 12 at -O2 reports a
// false stringop-overread on string_view::find over a substr of a local.)
bool zeroScale(const std::string& t, size_t open) {
  const auto comma = t.find(',', open);
  if (comma == std::string::npos) return t.size() - open > 2;  // "(p)": scale 0
  size_t i = comma + 1;
  while (i < t.size() && t[i] == ' ') ++i;
  return i + 1 < t.size() && t[i] == '0' && (t[i + 1] == ')' || t[i + 1] == ' ');
}

// SQLite's affinity rules (https://www.sqlite.org/datatype3.html §3.1), in order.
std::string sqliteAffinity(std::string_view declared) {
  auto has = [&](std::string_view w) { return declared.find(w) != std::string_view::npos; };
  if (has("int")) return "integer";
  if (has("char") || has("clob") || has("text")) return "string";
  if (declared.empty() || has("blob")) return "";
  return "number";  // REAL, FLOA, DOUB and NUMERIC affinities
}

}  // namespace

std::string logicalFamily(std::string_view canonical) {
  const std::string t = withoutSignedness(canonical);
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "[]") == 0) return "array";  // PostgreSQL
  const auto cut = t.find_first_of("(<");
  std::string base = t.substr(0, cut);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  const auto it = familyTable().find(base);
  if (it == familyTable().end()) return "";
  if (base == "numeric" && cut != std::string::npos && t[cut] == '(' && zeroScale(t, cut))
    return "integer";
  return it->second;
}

std::string logicalFamily(const Dialect& d, std::string_view canonical) {
  std::string family = logicalFamily(canonical);
  if (family.empty() && d.id() == DialectId::Sqlite) family = sqliteAffinity(canonical);
  return family;
}

bool logicalTypeMatches(const Dialect& d, std::string_view expected, std::string_view canonical) {
  const std::string found = logicalFamily(d, canonical);
  if (found == expected) return true;
  if (expected == "number" && found == "integer") return true;
  return expected == "integer" && canonical == "numeric" &&
         (d.id() == DialectId::Snowflake || d.id() == DialectId::ClickHouse);
}

}  // namespace datawatch
