#pragma once
// `import dbt`: reading a manifest.json as dbt writes it, schema v7 (dbt 1.3)
// to v12 (dbt 1.8+). Field names that moved between versions are read in
// both spellings here, so the rest of the import sees one shape:
// compiled_sql (v7) / compiled_code (v8+), attached_node (v9+, else the
// test's `model` kwarg), meta at the top level or under config, group at the
// top level or under config.
//
// dbt's test semantics kept here (docs.getdbt.com, "test configs"): a test's
// result is a failure count (fail_calc, default count(*), over the rows its
// SQL returns); with severity error (the default) it errors when error_if
// holds of the count, else warns when warn_if holds; with severity warn only
// warn_if is evaluated. Both conditions default to "!= 0".

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "config/types.hpp"

namespace datawatch::dbt {

using nlohmann::json;

// j[key] when it is a string, else "".
std::string str(const json& j, const char* key);
// j[key] when j is an object holding it, else nullptr.
const json* member(const json& j, const char* key);

// The manifest's top-level maps (empty objects where the version has none).
struct Manifest {
  json nodes;
  json sources;
  json disabled;        // unique_id -> [node, ...]
  json exposures;       // v4+
  json groups;          // v10+
  std::string version;  // metadata.dbt_schema_version
  // A node or source by unique_id (an object), or nullptr.
  const json* find(const std::string& id) const;
};

// The dbt artifact `version` names ("catalog" for .../dbt/catalog/v1.json), or "".
std::string artifactKind(const std::string& version);

// Whether `text` holds Jinja ({{ ... }} or {% ... %}) that dbt renders when it
// compiles: such a `where`, filter or query is not SQL yet.
bool hasJinja(const std::string& text);
// Why dbt's SQL text (compiled code, a `where`, fail_calc, loaded_at_query)
// cannot go into a datawatch sql probe's query, or "": the config loader takes
// one statement (no ';' but trailing ones, even in a comment or a literal) and
// fills {table} / {column} itself (a query holding them without a table is a
// config error), so such text would make the whole imported file invalid.
std::string notOneQuery(std::string sql);
// compiled_code (v8+) or compiled_sql (v7), "" when not compiled.
std::string compiledCode(const json& node);
// node.config.<key>, else node.<key> (older manifests), else nullptr.
const json* config(const json& node, const char* key);
// meta.owner or config.meta.owner (a string), else the owner of the node's
// group (its name, else its email), else "".
std::string ownerOf(const json& node, const Manifest& m);
// The models, sources, seeds and snapshots a node depends on.
std::vector<std::string> dependsOn(const json& node, const Manifest& m);

// A ref('name') / ref('package', 'name') / source('src', 'table') call in
// `text` (the kwargs `to` or `model`), as the id of the node it names in the
// manifest, or "" when none matches.
std::string resolveRef(const std::string& text, const Manifest& m);

// A test's levels: what its failure count must satisfy to pass each one.
struct Levels {
  std::optional<config::Bound> error;  // severity error: not error_if
  std::optional<config::Bound> warn;   // not warn_if, when it differs from error
  std::string fail_calc = "count(*)";
  // severity, warn_if, error_if and fail_calc all dbt's defaults (severity
  // may be warn): the count must be 0 at the one level there is.
  bool plain = true;
};
// The levels of a test node, or nullopt with *why set (a condition that is
// not a comparison with a number).
std::optional<Levels> levelsOf(const json& test, std::string* why);

// dbt's condition on the failure count ("!=0", "> 10", ">= 5", "<>0") negated:
// the config::Bound the count must satisfy for the condition not to hold.
std::optional<config::Bound> passBound(const std::string& condition);

}  // namespace datawatch::dbt
