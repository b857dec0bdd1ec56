#pragma once
// An ODCS v3 data contract (Open Data Contract Standard, v3.0.x and v3.1.0),
// read into the parts datawatch watches and diffs: the schema (objects and
// their properties), quality rules and SLA properties. Everything else in the
// file (team, pricing, servers, ...) is accepted and ignored.
//
// Invariants:
// - Every element remembers where it was written (`loc`: the line of its
//   `name:` / `property:` / first key), and `field_locs` where each of its
//   fields was, so a probe expanded from a rule and a change found by the diff
//   both point at `contract.yaml:LINE:COL`.
// - Nothing is dropped silently: a quality rule datawatch cannot run keeps
//   its place with `supported() == false` and the reason, and the expansion
//   and `import odcs` list it as skipped.
// - Parsing never throws; problems are Diagnostics (FILE:LINE:COL) and a
//   contract with errors is not returned.
// - v3.0 spellings are read into the v3.1 model: `rule:` nullCheck ->
//   metric nullValues, duplicateCount -> duplicateValues, validValues ->
//   invalidValues (with validValues), rowCount -> rowCount; top-level
//   `validValues` -> arguments.validValues; `slaDefaultElement` is the
//   element of SLA properties that name none.

#include <filesystem>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/types.hpp"

namespace datawatch::config::odcs {

// One entry of a `quality:` list (on an object or a property).
struct Quality {
  std::string id;             // `id`, else `name`, else "" (the expansion numbers it)
  std::string type;           // library | sql | text | custom (library when a metric is given)
  std::string metric;         // nullValues | missingValues | invalidValues | duplicateValues |
                              // rowCount (v3.0 `rule:` names mapped), or as written if unknown
  std::string unit;           // rows | percent ("" = rows)
  std::optional<Bound> must;  // from mustBe / mustNotBe / mustBeGreaterThan / ... (percent
                              // set from unit)
  std::vector<std::string> valid_values;    // arguments.validValues
  std::vector<std::string> missing_values;  // arguments.missingValues
  std::optional<std::string> pattern;       // arguments.pattern
  std::vector<std::string> properties;      // arguments.properties (duplicates over a key)
  std::string query;                        // type sql
  std::string severity;                     // as written ("error", "warning", ...), or ""
  std::string description;
  std::string dimension;
  Location loc;
  std::map<std::string, Location> field_locs;
  // Whether datawatch can run it; otherwise why not (listed as skipped).
  bool supported() const { return skip_reason.empty(); }
  std::string skip_reason;
};

struct LogicalTypeOptions {
  std::optional<double> minimum, maximum;                      // inclusive
  std::optional<double> exclusive_minimum, exclusive_maximum;  // v3.1 numbers (v3.0 booleans
                                                               // turn minimum/maximum exclusive)
  std::optional<int64_t> min_length, max_length;
  std::optional<std::string> pattern;
  std::optional<std::string> format;
  // (added) Bounds written as strings on a date, time or timestamp property
  // (minimum, maximum, exclusiveMinimum, exclusiveMaximum -> the value as
  // written): read, not checked (values' min/max compare numbers); the
  // expansion lists them as skipped.
  std::map<std::string, std::string> unchecked;
};

struct Property {
  std::string name;           // the column: physicalName when given, else name
  std::string logical_name;   // `name` as written
  std::string logical_type;   // string, integer, number, boolean, date, timestamp, time,
                              // object, array (lower case), or ""
  std::string physical_type;  // as written, or ""
  bool required = false;
  bool unique = false;
  bool primary_key = false;
  int primary_key_position = -1;         // -1: not given
  std::vector<std::string> enum_values;  // a property's `enum` (accepted values), if any
  LogicalTypeOptions options;
  std::vector<Quality> quality;
  std::string description;
  Location loc;
  std::map<std::string, Location> field_locs;  // "required" -> where written, ...
};

// One entry of `schema:` (a table or view).
struct Object {
  std::string name;  // the table: physicalName when given, else name
  std::string logical_name;
  std::string physical_type;  // table, view, ...
  std::string description;
  std::vector<Property> properties;
  std::vector<Quality> quality;
  Location loc;
  std::map<std::string, Location> field_locs;
  const Property* findProperty(std::string_view name) const;
  // Primary key columns in primaryKeyPosition order (declared order for ties).
  std::vector<std::string> primaryKey() const;
};

// One entry of `slaProperties:`.
struct Sla {
  std::string id;
  std::string property;  // freshness | latency | frequency | retention | ... as written
  std::string value;     // as written (a number, a cron line, a date)
  std::string value_ext;
  std::string unit;                  // as written
  std::optional<Duration> duration;  // value + unit when they make a duration
  std::string element;               // "table.column" (slaDefaultElement when absent)
  std::string schedule;              // `schedule` (cron), when given
  std::string driver;
  Location loc;
  std::map<std::string, Location> field_locs;
};

struct Contract {
  std::string file;  // as given (diagnostics name it)
  std::string id;
  std::string name;
  std::string version;
  std::string api_version;
  std::string status;
  std::string owner;  // team name / dataProduct owner when written, else ""
  // (added) The ODCS field `owner` was read from ("team.name",
  // "team[2].username"), else "".
  std::string owner_field;
  // (added) Where each top-level key was written; field_locs[owner_field] is
  // where the owner's value was.
  std::map<std::string, Location> field_locs;
  std::vector<Object> schema;
  std::vector<Sla> sla;
  Location loc;
  const Object* findObject(std::string_view name) const;
};

struct ParseResult {
  std::optional<Contract> contract;  // set when there are no errors
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return contract.has_value(); }
};

// Reads a contract file (YAML or JSON). An unreadable file, a file that is not
// an ODCS v3 contract (kind/apiVersion), a missing `id`, or a mistyped field
// is an error at its position; unknown keys are ignored (ODCS allows
// customProperties and later versions add fields).
// A directory or a file over kMaxContractBytes is an error too (a contract is
// a few KB); a FIFO or device (`<(git show ...)`) is read up to that limit.
inline constexpr uintmax_t kMaxContractBytes = 16u << 20;
ParseResult parseContractFile(const std::filesystem::path& path);
// (added) The contract read from `in` (stdin for `contract diff -`), at most
// kMaxContractBytes; `file` names it in diagnostics.
ParseResult parseContractStream(std::istream& in, const std::string& file);
ParseResult parseContractString(const std::string& text, const std::string& file);

// (added) The bound a supported quality rule is checked against: `must` when
// an operator was written, else the library default: "= 0" for nullValues,
// missingValues, invalidValues and duplicateValues, "> 0" for rowCount.
Bound effectiveBound(const Quality& q);

}  // namespace datawatch::config::odcs
