#pragma once
// Internal to config/: the keys of a values probe (probes_section.cpp reads
// the keys every probe has, then these). Every problem is reported at its
// line; a key with a bad value keeps its default.

#include <string>

#include "config/reader.hpp"

namespace datawatch::config::detail {

// column or columns (a composite key), accepted, missing, pattern (compiled as
// ECMAScript), min_length/max_length, max_null_ratio, unique, min, max, must
// (metric -> Bound), time_column, window, filter; at least one check.
ValuesSpec readValuesSpec(MapReader& m, const std::string& what);

}  // namespace datawatch::config::detail
