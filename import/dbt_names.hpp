#pragma once
// `import dbt`: names as the config must write them for datawatch to read the
// relation and column dbt created.
//
// Quoting, as dbt does it: dbt quotes a relation part when its `quoting`
// config says so (relation_name then holds "part"), and a column only when the
// column's `quote: true` (a test's column_name then arrives already quoted:
// "col", `col` or [col]). A name dbt did not quote was folded by the warehouse
// (PostgreSQL/Redshift/Trino lower-case it, Snowflake upper-cases it; MySQL,
// SQL Server, BigQuery, Databricks and SQLite compare names regardless of
// case; ClickHouse keeps it as written). datawatch reads a config name the
// same way (probes/dialect.hpp: a plain name is folded, a mixed-case one taken
// as written, a double-quoted one exactly), so:
// - not quoted by dbt -> written folded (PostgreSQL `transactionHash` ->
//   `transactionhash`, Snowflake `order_id` -> `ORDER_ID`);
// - quoted by dbt -> written in double quotes ("transactionHash"), unless the
//   plain name already means exactly that name.

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "import/dbt_warehouse.hpp"
#include "probes/dialect.hpp"

namespace datawatch::dbt {

struct Naming {
  DbtWarehouse warehouse;
  const Dialect* dialect = nullptr;  // nullptr: an adapter datawatch has no dialect for
  std::string home;                  // home_database: the database most models use
  std::set<std::string> elsewhere;   // relations written with another database

  // The node's (model, seed, snapshot or source) relation as config writes
  // it, "" when the node names no table (alias, identifier or name).
  std::string relation(const nlohmann::json& node);
  // A column of `node` named `raw` as dbt wrote it in SQL: quoted when `raw`
  // holds dbt's quotes or the node's column `raw` has quote: true.
  std::string column(const std::string& raw, const nlohmann::json* node) const;
  // A column dbt writes as given (loaded_at_field, relationships' field), unless quoted.
  std::string asWritten(const std::string& raw) const { return column(raw, nullptr); }
  // Whether `name` is one plain identifier or one quoted as dbt's adapters
  // quote ("x", `x`, [x]), not an SQL expression.
  static bool identifier(const std::string& name);
};

// The Naming of a manifest: its adapter's warehouse and dialect, and the home
// database (the one most models use) where one connection reads one database.
Naming namingFor(const std::string& adapter, const nlohmann::json& nodes,
                 const nlohmann::json& sources);

// A probe name from `raw`: [a-z0-9_]+, unique among `used` (which it joins).
std::string probeName(const std::string& raw, std::set<std::string>& used);

}  // namespace datawatch::dbt
