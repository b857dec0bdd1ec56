#pragma once
// Internal to the values probe (values.cpp): the statements it sends, built once
// from its config through the source's Dialect.
//
// Invariants:
// - Every value from the config (accepted, missing, min, max, pattern,
//   lengths) is a bound parameter, in each Statement's `params`; identifiers
//   are quoted by the Dialect. The window's two bounds, when the probe has a
//   window, are markers 1 and 2 of every statement and are NOT in `params`
//   (the caller prepends them at run time).
// - The counts row has kCountColumns numbers in the order of Count; a count a
//   config does not ask for is the constant 0 (never NULL on an empty table
//   except the sums, which the caller reads as 0).
// - A row counts once in kInvalid however many rules it breaks; the per-rule
//   counts (kNotAccepted ... kWrongLength) may overlap.

#include <string>
#include <vector>

#include "config/types.hpp"
#include "probes/source.hpp"

namespace datawatch::values_sql {

enum Count : size_t {
  kRows,
  kNulls,
  kMissing,  // 0 when the config lists no `missing` values (missing = nulls then)
  kNotAccepted,
  kOutOfRange,
  kNotMatching,
  kWrongLength,
  kInvalid,
  kDuplicates,
  kCountColumns
};

struct Statement {
  std::string sql;  // "" when not needed
  std::vector<SqlValue> params;
};

struct Statements {
  Statement counts;      // one row of kCountColumns numbers
  Statement samples;     // up to 5 distinct invalid values ("" without a validity rule)
  Statement duplicates;  // up to 5 duplicated values or keys, one column per key column
};

// Whether the probe counts duplicates (unique, or a bound on them).
bool countsDuplicates(const config::ValuesSpec& s);
// Whether any rule can make a value invalid (accepted, min/max, pattern, lengths).
bool hasValidityRule(const config::ValuesSpec& s);

// The statements of values probe `cfg`. `window_condition` is the window's
// predicate on markers 1 and 2, or "" without a window. An error when the
// dialect cannot express a rule (pattern on sqlserver: config::dialectLimitation).
Result<Statements> build(const config::ProbeConfig& cfg, const SqlSource& src,
                         const std::string& window_condition);

}  // namespace datawatch::values_sql
