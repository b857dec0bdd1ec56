#include "config/dbt_import.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "config/dbt_warehouse.hpp"
#include "core/utf8.hpp"

namespace datawatch::config {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// A probe name: [a-z0-9_]+, unique within the import.
std::string probeName(const std::string& raw, std::set<std::string>& used) {
  std::string out;
  for (char c : raw) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      out += l;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty()) out = "dbt_probe";
  std::string name = out;
  for (int i = 2; used.count(name); ++i) name = out + "_" + std::to_string(i);
  used.insert(name);
  return name;
}

// dbt's {count, period} as a datawatch duration.
std::string period(const json& after) {
  if (!after.is_object() || !after.contains("count") || !after["count"].is_number_integer())
    return "";
  const auto p = str(after, "period");
  const char* unit = p == "minute" ? "m" : p == "hour" ? "h" : p == "day" ? "d" : nullptr;
  if (!unit) return "";
  return std::to_string(after["count"].get<int64_t>()) + unit;
}

bool hasUpper(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c) != 0; });
}
bool hasLower(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c) != 0; });
}

// One part of a relation (database, schema or table) as the config must write
// it for datawatch to find the name dbt created. dbt quoted it (relation_name
// holds "part"): exactly that name, in double quotes where datawatch would fold
// it otherwise; not quoted: as the warehouse folded it (Snowflake upper-cases).
// A name holding '.' or '"' is always quoted ('"' doubled).
std::string part(std::string name, const std::string& relation_name, const DbtWarehouse& w) {
  using Fold = DbtWarehouse::Fold;
  const bool quoted = relation_name.find('"' + name + '"') != std::string::npos;
  if (!quoted && w.fold == Fold::Upper) {
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  bool wrap = name.find_first_of(".\"") != std::string::npos;
  if (quoted && w.fold == Fold::Upper) wrap = wrap || !hasUpper(name);
  if (quoted && w.fold == Fold::Lower) wrap = wrap || !hasLower(name);
  if (!wrap) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// How relations are named in the warehouse the probes read.
struct Naming {
  DbtWarehouse warehouse;
  std::string home;                 // home_database: the database most models use
  std::set<std::string> elsewhere;  // relations written with another database
};

// The database most models (else sources) are built in: the profile's.
std::string homeDatabase(const json& nodes, const json& sources) {
  std::map<std::string, int> count;
  for (const auto& [id, node] : nodes.items()) {
    const auto kind = str(node, "resource_type");
    if (kind == "model" || kind == "seed" || kind == "snapshot") ++count[str(node, "database")];
  }
  if (count.empty())
    for (const auto& [id, src] : sources.items()) ++count[str(src, "database")];
  std::string best;
  int most = 0;
  for (const auto& [db, n] : count)
    if (n > most) most = n, best = db;
  return best;
}

std::string relation(const json& node, Naming& naming) {
  std::string table = str(node, "alias");
  if (table.empty()) table = str(node, "identifier");
  if (table.empty()) table = str(node, "name");
  const std::string schema = str(node, "schema");
  const std::string database = str(node, "database");
  const auto& w = naming.warehouse;
  const std::string rel = str(node, "relation_name");
  const std::string name =
      schema.empty() ? part(table, rel, w) : part(schema, rel, w) + "." + part(table, rel, w);
  if (schema.empty() || database.empty()) return name;
  const std::string full = part(database, rel, w) + "." + name;
  if (w.keep_database) return full;
  if (w.home_database && database != naming.home) {
    naming.elsewhere.insert(full);
    return full;
  }
  return name;
}

void emitSource(YAML::Emitter& out, const DbtImportOptions& options, const DbtWarehouse& w) {
  out << YAML::Key << "sources" << YAML::Value << YAML::BeginMap << YAML::Key << options.source
      << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value
      << w.type;
  if (!w.dialect.empty()) out << YAML::Key << "dialect" << YAML::Value << w.dialect;
  if (w.type == "postgres") {
    out << YAML::Key << "dsn" << YAML::Value << YAML::DoubleQuoted
        << ("${" + options.dsn_env + "}");
  } else if (w.type == "sqlite") {
    out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << "${SQLITE_PATH}";
  } else {
    out << YAML::Key << "connection" << YAML::Value << YAML::DoubleQuoted << w.connection;
  }
  out << YAML::EndMap << YAML::EndMap;
}

// What the user must do about the source before the probes can run.
std::vector<std::string> sourceNotes(const DbtImportOptions& options, const DbtWarehouse& w) {
  std::vector<std::string> notes;
  const std::string src = "source " + options.source + ": ";
  if (!w.known) {
    notes.push_back(src + "datawatch has no SQL dialect for the dbt adapter \"" + w.adapter +
                    "\"; the probes are written, but `datawatch validate` refuses the source "
                    "until you set its dialect (" +
                    (w.hint.empty() ? "the closest of postgres, mysql, sqlite, sqlserver, "
                                      "snowflake, bigquery, databricks, redshift, trino, clickhouse"
                                    : "try " + w.hint) +
                    ") and an ODBC connection string for its driver: docs/warehouses.md");
    return notes;
  }
  if (options.probes_only) return notes;
  if (w.type == "sqlite") {
    notes.push_back(src +
                    "set SQLITE_PATH to the database file (dbt-sqlite's "
                    "schemas_and_paths), or edit the source's path");
  } else if (w.type == "odbc") {
    std::string vars;
    for (const auto& v : envVariables(w.connection)) vars += (vars.empty() ? "" : ", ") + v;
    notes.push_back(src + w.vendor + " through ODBC: install the " + w.driver +
                    " driver (registered in odbcinst.ini under that name) and set " + vars +
                    ", or edit the source's connection string: docs/warehouses.md");
  } else if (w.adapter.empty()) {
    notes.push_back(src +
                    "the manifest names no adapter (metadata.adapter_type): "
                    "wrote a postgres source; set " +
                    options.dsn_env);
  }
  return notes;
}

// The probes of one import, written into `out` as they are found.
struct Writer {
  YAML::Emitter& out;
  const DbtImportOptions& options;
  Naming& naming;
  std::set<std::string> used;
  std::vector<std::string> skipped;
  int count = 0;

  // A source with `freshness` and a `loaded_at_field`: a freshness probe.
  void freshness(const std::string& id, const json& src) {
    const json fresh = src.value("freshness", json());
    const std::string loaded_at = str(src, "loaded_at_field");
    if (!fresh.is_object() || loaded_at.empty()) return;
    const std::string error_after = period(fresh.value("error_after", json()));
    const std::string warn_after = period(fresh.value("warn_after", json()));
    const std::string max_age = error_after.empty() ? warn_after : error_after;
    if (max_age.empty()) return;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value
        << probeName(str(src, "source_name") + "_" + str(src, "name") + "_fresh", used);
    out << YAML::Key << "type" << YAML::Value << "freshness";
    out << YAML::Key << "source" << YAML::Value << options.source;
    out << YAML::Key << "table" << YAML::Value << relation(src, naming);
    out << YAML::Key << "column" << YAML::Value << loaded_at;
    out << YAML::Key << "max_age" << YAML::Value << max_age;
    if (fresh.contains("filter") && fresh["filter"].is_string()) {
      out << YAML::Key << "filter" << YAML::Value << fresh["filter"].get<std::string>();
    }
    out << YAML::Key << "description" << YAML::Value
        << ("dbt " + id + " freshness" + (warn_after.empty() ? "" : ", warn after " + warn_after) +
            (error_after.empty() ? "" : ", error after " + error_after));
    out << YAML::EndMap;
    ++count;
  }

  // A generic test node: a values probe, or a line in `skipped`.
  Status test(const std::string& id, const json& node, const json& nodes, const json& sources) {
    const json meta = node["test_metadata"];
    const std::string test = str(meta, "name");
    const json kwargs = meta.value("kwargs", json::object());
    std::string column = str(kwargs, "column_name");
    if (column.empty()) column = str(node, "column_name");
    if (test != "not_null" && test != "unique" && test != "accepted_values") {
      skipped.push_back(id + " (" + (test.empty() ? "singular" : test) + ")");
      return Status::Ok();
    }
    if (test == "accepted_values" && (!kwargs.contains("values") || kwargs["values"].empty())) {
      return Status::Error("test " + id + ": accepted_values without values");
    }
    // The tested model or source: attached_node (dbt >= 1.5), else the first dependency.
    std::string target_id = str(node, "attached_node");
    if (target_id.empty() && node.contains("depends_on") && node["depends_on"].contains("nodes") &&
        node["depends_on"]["nodes"].is_array() && !node["depends_on"]["nodes"].empty()) {
      target_id = node["depends_on"]["nodes"][0].get<std::string>();
    }
    const json* target = nullptr;
    if (nodes.contains(target_id))
      target = &nodes[target_id];
    else if (sources.contains(target_id))
      target = &sources[target_id];
    if (target == nullptr || column.empty()) {
      skipped.push_back(id + " (cannot resolve its table or column)");
      return Status::Ok();
    }
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << probeName(str(node, "name"), used);
    out << YAML::Key << "type" << YAML::Value << "values";
    out << YAML::Key << "source" << YAML::Value << options.source;
    out << YAML::Key << "table" << YAML::Value << relation(*target, naming);
    out << YAML::Key << "column" << YAML::Value << column;
    if (test == "not_null") {
      out << YAML::Key << "max_null_ratio" << YAML::Value << 0;
    } else if (test == "unique") {
      out << YAML::Key << "unique" << YAML::Value << true;
    } else {
      out << YAML::Key << "accepted" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : kwargs["values"]) {
        out << YAML::DoubleQuoted << (v.is_string() ? v.get<std::string>() : dumpJson(v));
      }
      out << YAML::EndSeq;
    }
    out << YAML::Key << "description" << YAML::Value << ("dbt " + id);
    out << YAML::EndMap;
    ++count;
    return Status::Ok();
  }
};

// Relations outside the home database, which one PostgreSQL connection cannot read.
std::string elsewhereNote(const Naming& naming) {
  std::string list;
  for (const auto& r : naming.elsewhere) list += (list.empty() ? "" : ", ") + r;
  const bool redshift = naming.warehouse.dialect == "redshift";
  return std::to_string(naming.elsewhere.size()) + " table(s) outside database \"" + naming.home +
         "\" (the one most models use) are written database.schema.table: " + list +
         (redshift ? "; Redshift reads them through cross-database queries (RA3 and Serverless)"
                   : "; a PostgreSQL connection reads one database, so give them a source of "
                     "their own");
}

}  // namespace

Result<DbtImport> importDbtManifest(const json& manifest, const DbtImportOptions& options) {
  if (!manifest.is_object() || !manifest.contains("nodes") || !manifest["nodes"].is_object()) {
    return Result<DbtImport>::Error("not a dbt manifest: no \"nodes\" object");
  }
  const json metadata = manifest.value("metadata", json::object());
  const std::string version = str(metadata, "dbt_schema_version");
  const json& nodes = manifest["nodes"];
  const json sources = manifest.value("sources", json::object());
  Naming naming{dbtWarehouse(str(metadata, "adapter_type")), "", {}};
  if (naming.warehouse.home_database) naming.home = homeDatabase(nodes, sources);
  DbtImport result;
  result.warnings = sourceNotes(options, naming.warehouse);
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!options.probes_only) emitSource(out, options, naming.warehouse);
  out << YAML::Key << "probes" << YAML::Value << YAML::BeginSeq;
  Writer w{out, options, naming, {}, {}, 0};
  for (const auto& [id, src] : sources.items()) w.freshness(id, src);
  for (const auto& [id, node] : nodes.items()) {
    if (str(node, "resource_type") != "test" || !node.contains("test_metadata")) continue;
    if (auto st = w.test(id, node, nodes, sources); !st.ok()) return st;
  }
  out << YAML::EndSeq << YAML::EndMap;
  if (!out.good()) return Result<DbtImport>::Error("cannot write YAML: " + out.GetLastError());
  if (!naming.elsewhere.empty()) result.warnings.push_back(elsewhereNote(naming));
  std::string header = "# Generated by `datawatch import dbt " + options.manifest_name + "`" +
                       (version.empty() ? "" : " (" + version + ")") + ": " +
                       std::to_string(w.count) + " probes.\n";
  for (const auto& note : result.warnings) header += "# TODO: " + note + "\n";
  if (!w.skipped.empty()) {
    header += "# Skipped (no datawatch equivalent):\n";
    for (const auto& s : w.skipped) header += "#   " + s + "\n";
  }
  result.yaml = header + out.c_str() + "\n";
  return result;
}

}  // namespace datawatch::config
