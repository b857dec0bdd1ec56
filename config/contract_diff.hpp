#pragma once
// The breaking-change gate: two ODCS contracts (config/odcs.hpp) compared
// element by element, each difference classified for the contract's
// consumers. `datawatch contract diff` (agent/contract_cmd.cpp) prints them
// and exits 1 on any breaking change. Pure: no I/O, no clock.
//
// The rule behind the classes: a contract promises that its data is in a set
// (columns with these types, values in these ranges, rules within these
// thresholds, data this fresh). A change that shrinks the set (some data the
// old contract accepted is rejected by the new one) or takes away something
// consumers read is BREAKING; a change that only grows the set, or touches
// nothing checkable, is INFO; a change that does neither (the two sets are
// incomparable) is a WARNING: a person must look.
//
// Breaking, exactly:
// - an object (table) removed; a property (column) removed (a rename is a
//   removal plus an addition: objects and properties match by physical name);
// - logicalType changed, except a widening (below); a logicalType added where
//   there was none; physicalType changed, except a widening;
// - required added (false -> true); unique added;
// - the primary key changed: a column added to it, removed from it, or the
//   columns reordered (reported once, on the object);
// - an enum value removed, or an enum added where there was none; a
//   validValues entry of a quality rule removed;
// - a range tightened: minimum raised, maximum lowered, minLength raised,
//   maxLength lowered, an inclusive bound made exclusive (minimum: 0 ->
//   exclusiveMinimum: 0), any of them added; a pattern or a format added;
//   on a date/time/timestamp property, a string bound ("2024-01-01") added,
//   or moved inward (ISO values of one shape compare as text; others, and
//   values with a UTC offset, are a warning when changed);
// - a quality rule added with a threshold (`must`); a threshold tightened:
//   the set of values it accepts shrank (see Bounds below); a duplicate
//   check's key (arguments.properties) narrowed to a subset of its columns;
//   an invalidValues pattern added;
// - an SLA tightened: freshness or latency lowered (data must be newer),
//   retention lowered (consumers keep less history; and datawatch checks the
//   oldest row against it), any of the three added.
// Warning (no direction):
// - a pattern or format changed; a quality rule's metric, type, query, unit
//   (rows <-> percent) or missingValues changed; a threshold changed to one
//   that neither contains nor is contained in the old (between 1 and 5 ->
//   not between 1 and 5; = 0 -> = 5); a duplicate key changed otherwise;
// - an SLA value whose old or new side is not a duration (or a frequency, a
//   cron line) changed; an SLA's unit that makes no duration.
// Info:
// - loosening: required or unique removed, a range or length widened or
//   removed, an enum value or validValues entry added, an enum or pattern
//   removed, a threshold loosened, a quality rule or SLA removed, a type
//   widened;
// - additions: an object or property added (adding a required column is
//   still info: consumers read what they read before);
// - metadata: description, name, version, status, apiVersion, severity,
//   dimension, a table's physicalType, other SLA properties.
// Widenings (info, never breaking): logicalType integer -> number; within a
// physical family, smallint -> integer -> bigint -> numeric/decimal (unbounded),
// real -> double precision, varchar(n) -> varchar(m >= n), char/varchar ->
// text or unbounded varchar, numeric(p,s) -> numeric(p2 >= p, s2 >= s with
// p2 - s2 >= p - s). Other type changes are breaking: their values do not
// always convert.
//
// Bounds: a threshold is the set of numbers it accepts ("< 5" is (-inf,5),
// "between 1 and 5" is [1,5], "not between 1 and 5" is (-inf,1) u (5,inf)).
// New inside old: tightened (breaking) -- for "<"/"<=" lower is tighter, for
// ">"/">=" higher is tighter, for between narrower is tighter; old inside new:
// loosened (info); neither: warning. Rows and percent never compare (warning).
// A library rule counted in rows (nullValues, missingValues, invalidValues,
// duplicateValues, rowCount) is judged on whole counts >= 0 only, so a
// rewrite that accepts the same counts ("< 1" -> "= 0") is no change.
//
// Matching: objects and properties by name; quality rules by id (`id`, else
// `name`) when given, else by metric (or type) and position among the
// unnamed rules with that metric; SLA properties by id, else by property and
// element (and position, when several entries share that key). An SLA whose
// property changed under the same id is a warning.
//
// Order: deterministic: contract metadata; then each object in the old
// file's order (its metadata, primary key, properties in the old order then
// the added ones, quality rules), removed objects where they were, added
// objects last in the new file's order; then the SLA properties the same way.
//
// Locations: old_loc is where the element or field was in the old file;
// new_loc where it is in the new file, or -- for a removal -- where the
// enclosing element is in the new file (the object for a removed column), so
// an annotation on the new file lands near the change. Either may be empty
// (line 0) when the side has no such element.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/odcs.hpp"

namespace datawatch::config::odcs {

struct Change {
  enum class Level { Breaking, Warning, Info } level = Level::Info;
  // Dotted, from the contract's root: "schema.orders.properties.amount.logicalType",
  // "schema.orders.primaryKey", "schema.orders.quality.row_count.mustBe",
  // "slaProperties.freshness", "version".
  std::string path;
  std::string message;  // "type changed from number to string"
  Location old_loc, new_loc;
};

const char* toString(Change::Level l);  // "breaking", "warning", "info"

std::vector<Change> diffContracts(const Contract& old, const Contract& now);

// ---- the live side (`contract diff --against live`)
// A column as the source's catalog reports it; `type` canonical
// (Dialect::canonicalType: "bigint", "character varying(20)").
struct LiveColumn {
  std::string name;
  std::string type;
  bool not_null = false;
};
struct LiveTable {
  std::string object;  // the contract object's name
  bool exists = false;
  std::vector<LiveColumn> columns;
};

// How the live side's types are read: the source's Dialect knows its
// spellings (agent/contract_cmd.cpp fills these from Dialect::canonicalType
// and probes/logical_types.hpp; tests with plain lambdas).
struct LiveTypes {
  // A contract's physicalType spelled as the live types are.
  std::function<std::string(const std::string&)> canonical;
  // The ODCS logical family of a live type, or "" for none.
  std::function<std::string(const std::string&)> family;
  // Whether a live type satisfies a logicalType (integer satisfies number).
  std::function<bool(const std::string& logical, const std::string& live)> matches;
  // A contract's column name as the database stores it (Dialect::storedName);
  // empty: as written.
  std::function<std::string(const std::string&)> stored = {};
};

// The contract (what consumers were promised) against the live tables, one
// per contract object, matched by name. Breaking: a table or column missing;
// a column whose type does not satisfy the property's logicalType; without a
// logicalType, a physicalType of another family than the live type; a
// required column the table lets be NULL. Warning: a physicalType that
// differs from the live type within the family (varchar(10) vs text); a live
// type in no family. Info: a live column the contract does not name.
// `names_case_insensitive`: compare column names regardless of case (the
// dialect's rule). new_loc: the contract's element; old_loc: empty (the
// live side has no file).
std::vector<Change> diffAgainstLive(const Contract& contract, const std::vector<LiveTable>& live,
                                    bool names_case_insensitive, const LiveTypes& types);

}  // namespace datawatch::config::odcs
