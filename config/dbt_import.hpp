#pragma once
// `datawatch import dbt`: turns a dbt manifest.json (schema v10-v12) into probes.
//
// - sources with `freshness` and a `loaded_at_field` -> freshness probes
//   (max_age = error_after, else warn_after; `filter` kept);
// - generic tests `not_null`, `unique`, `accepted_values` on sources and models
//   -> values probes (max_null_ratio: 0 / unique: true / accepted: [...]).
// Other tests are skipped and listed in the output's header comment.

#include <nlohmann/json.hpp>

#include <string>

#include "core/result.hpp"

namespace datawatch::config {

struct DbtImportOptions {
  std::string source = "warehouse";       // the datawatch source the probes use
  std::string dsn_env = "WAREHOUSE_DSN";  // emitted source: dsn "${<dsn_env>}"
  bool probes_only = false;               // omit the sources: section
  std::string manifest_name = "manifest.json";
};

// YAML that `datawatch validate` accepts, or an error naming what is wrong with the manifest.
Result<std::string> importDbtManifest(const nlohmann::json& manifest,
                                      const DbtImportOptions& options);

}  // namespace datawatch::config
