#pragma once
// ODCS logical types (logicalType: string, integer, number, boolean, date,
// timestamp, time, object, array) of the column types the catalogs report.
//
// Invariants:
// - One table maps every canonical type (Dialect::canonicalType: PostgreSQL's
//   spelling) to its family, for every dialect; docs/probes.md lists it.
// - "integer" is a kind of "number": a column whose family is integer
//   satisfies logical_type: number, never the other way round.
// - A type in no family ("bytea", "interval", "geometry", ...) satisfies no
//   logical type: the schema probe reports it as found.

#include <string>
#include <string_view>

#include "probes/dialect.hpp"

namespace datawatch {

// The family of a canonical type, or "" when it belongs to none. numeric(p)
// and numeric(p,0) are integers; arrays ("integer[]", "array<int64>",
// "array(integer)") and semi-structured types (json, jsonb, struct, map, row,
// tuple, variant, object, super) are array and object.
std::string logicalFamily(std::string_view canonical);

// logicalFamily, plus SQLite's type affinity for declared types the table does
// not name (a declared type containing "INT" is an integer, "CHAR"/"CLOB"/
// "TEXT" a string, "REAL"/"FLOA"/"DOUB" a number, none or "BLOB" nothing, any
// other a number).
std::string logicalFamily(const Dialect& d, std::string_view canonical);

// Whether a column of `canonical` type on `d` is of logical type `expected`.
// Snowflake reports NUMBER without its scale (integers are NUMBER(38,0)) and
// ClickHouse's UInt64 is a bare numeric: there a bare "numeric" is also taken
// as an integer.
bool logicalTypeMatches(const Dialect& d, std::string_view expected, std::string_view canonical);

}  // namespace datawatch
