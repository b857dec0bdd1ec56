#pragma once
// The probe scenarios of dialect_sql_test.cpp: one probe config each, and per
// dialect the statements it must send (labels) with the canned rows that drive
// every code path: a future newest timestamp (freshness's second statement),
// violations (values' samples and duplicates), a window with an anomaly
// backfill, the catalog's estimate, quantiles in each QuantileSql shape, forced
// sampling (TABLESAMPLE on PostgreSQL, Dialect::randomBelow elsewhere) and a
// current histogram with an "other" bin (drift's new categories).
//
// A scenario whose script is empty for a dialect is one the dialect cannot run
// (config::dialectLimitation): the probe must report an error and send nothing.

#include <functional>
#include <string>
#include <vector>

#include "config/types.hpp"
#include "probes/dialect.hpp"
#include "tests/support/recording_source.hpp"

namespace datawatch::testing {

struct SqlScenario {
  std::string name;  // "drift numeric, window, sampled"
  config::ProbeConfig probe;
  std::function<std::vector<CannedStep>(const Dialect&)> script;
};

// Every scenario, in golden-file order.
std::vector<SqlScenario> sqlScenarios();

// The table and column names of the hostile-identifier scenario.
inline const char* kHostileTable = "we\"ird.ta``ble]";
inline const char* kHostileColumn = "co\"l`u]m n";

}  // namespace datawatch::testing
