#pragma once
// `datawatch import dbt`: turns a dbt manifest.json (schema v10-v12) into probes.
//
// - sources with `freshness` and a `loaded_at_field` -> freshness probes
//   (max_age = error_after, else warn_after; `filter` kept);
// - generic tests `not_null`, `unique`, `accepted_values` on sources and models
//   -> values probes (max_null_ratio: 0 / unique: true / accepted: [...]).
// Other tests are skipped and listed in the output's header comment.
//
// The source follows the manifest's adapter (`metadata.adapter_type`, see
// dbt_warehouse.hpp): postgres/redshift -> type postgres with dsn
// "${<dsn_env>}"; sqlite -> type sqlite with path "${SQLITE_PATH}"; the
// warehouses reached through ODBC -> type odbc + dialect with a connection
// string of ${ENV} placeholders. Tables keep the qualifiers their warehouse
// needs: database.schema.table on Snowflake / BigQuery (project.dataset.table)
// / Databricks / SQL Server / Trino; schema.table elsewhere, and on PostgreSQL
// and Redshift database.schema.table for a database other than the one most
// models use. What the user must fill or decide comes back as warnings (the
// CLI prints them to stderr) and in the header comment; an adapter datawatch
// has no dialect for still yields the probes, with a source `validate` refuses
// until its dialect and connection are chosen.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/result.hpp"

namespace datawatch::config {

struct DbtImportOptions {
  std::string source = "warehouse";       // the datawatch source the probes use
  std::string dsn_env = "WAREHOUSE_DSN";  // postgres/redshift sources: dsn "${<dsn_env>}"
  bool probes_only = false;               // omit the sources: section
  std::string manifest_name = "manifest.json";
};

struct DbtImport {
  std::string yaml;                   // `datawatch validate` accepts it (known adapters)
  std::vector<std::string> warnings;  // what the user must fill in or decide, one line each
};

// The import, or an error naming what is wrong with the manifest.
Result<DbtImport> importDbtManifest(const nlohmann::json& manifest,
                                    const DbtImportOptions& options);

}  // namespace datawatch::config
