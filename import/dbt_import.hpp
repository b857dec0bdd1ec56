#pragma once
// `datawatch import dbt`: turns a dbt manifest.json (schema v7 to v12, dbt
// 1.3 to 1.10) into probes that check what dbt checks, as dbt means it
// (docs/dbt.md has the whole mapping):
//
// - source freshness (loaded_at_field, or loaded_at_query where datawatch has
//   SQL for the warehouse's UTC time) -> freshness probes, one per level:
//   error_after -> `<source>_<table>_fresh` (alert severity critical),
//   warn_after -> `..._fresh__warn` (alert severity warning); `filter` kept;
// - not_null / unique / accepted_values with dbt's default thresholds -> ONE
//   values probe per (relation, column, `where`, level), named
//   `<model>__<column>`: the warehouse runs one query per column; `where` ->
//   the probe's filter (all three ignore NULL as dbt's macros do, not_null aside);
// - relationships -> a sql probe counting the child rows whose non-null key
//   has no parent; dbt_utils.unique_combination_of_columns -> a sql probe
//   counting the keys seen more than once, NULL keys included as dbt_utils
//   groups them (names quoted by the dialect);
// - tests with warn_if / error_if / fail_calc other than dbt's defaults, any
//   other generic test and singular tests -> sql probes counting the rows of
//   dbt's compiled SQL (must: the negated condition), or, without compiled
//   SQL, a built equivalent (not_null, unique) or a skip with the reason;
// - severity warn -> the warning level only;
// - model contracts (contract.enforced) -> a schema probe of the columns'
//   data_type (constraints not_null -> required);
// - meta.owner / the group's owner -> owner; exposures -> consumers of the
//   probes on the models they depend on; depends_on -> upstream (the probes
//   on the upstream models and sources, error level, where there are some).
// Column names follow dbt's quoting and the warehouse's folding (dbt_names.hpp).
// Disabled tests and every test not imported are listed with the reason, in
// the header comment and as warnings.
//
// The source follows the manifest's adapter (`metadata.adapter_type`, see
// dbt_warehouse.hpp): postgres/redshift -> type postgres with dsn
// "${<dsn_env>}"; sqlite -> type sqlite with path "${SQLITE_PATH}"; the
// warehouses reached through ODBC -> type odbc + dialect with a connection
// string of ${ENV} placeholders. Tables keep the qualifiers their warehouse
// needs: database.schema.table on Snowflake / BigQuery (project.dataset.table)
// / Databricks / SQL Server / Trino; schema.table elsewhere, and on PostgreSQL
// and Redshift database.schema.table for a database other than the one most
// models use. An adapter datawatch has no dialect for still yields the probes,
// with a source `validate` refuses until its dialect and connection are chosen.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/result.hpp"

namespace datawatch::dbt {

struct DbtImportOptions {
  std::string source = "warehouse";       // the datawatch source the probes use: [a-z0-9_-]+
  std::string dsn_env = "WAREHOUSE_DSN";  // postgres/redshift sources: dsn "${<dsn_env>}"
  bool probes_only = false;               // omit the sources: section
  std::string manifest_name = "manifest.json";
};

struct DbtImport {
  std::string yaml;                   // `datawatch validate` accepts it (known adapters)
  std::vector<std::string> warnings;  // what the user must fill in or decide, one line each
};

// The import, or an error naming what is wrong with the manifest or options
// (another dbt artifact such as catalog.json is named as such).
Result<DbtImport> importDbtManifest(const nlohmann::json& manifest,
                                    const DbtImportOptions& options);

}  // namespace datawatch::dbt
