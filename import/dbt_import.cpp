#include "import/dbt_import.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>

#include "import/dbt_emit.hpp"
#include "import/dbt_plan.hpp"

namespace datawatch::dbt {
namespace {

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

bool validSourceName(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// upstream: the error-level probes on the nodes a probe's node depends on
// (a singular test: those the nodes it reads depend on); never a warning-level
// one (severity warn, warn_after only included), so a warning upstream never
// mutes alerts downstream. consumers: the exposures that depend on the probe's node.
void link(std::vector<Plan>& plans, const Manifest& m) {
  std::map<std::string, std::vector<std::string>> on;  // node -> probe names
  for (const auto& p : plans)
    if (!p.node.empty() && !p.warn) on[p.node].push_back(p.name);
  std::map<std::string, std::vector<std::string>> exposed;  // node -> exposures
  for (const auto& [id, e] : m.exposures.items())
    for (const auto& n : dependsOn(e, m)) exposed[n].push_back(str(e, "name"));
  for (auto& p : plans) {
    std::vector<std::string> reads;
    for (const auto& id : p.node.empty() ? p.reads : std::vector<std::string>{p.node})
      if (const json* n = m.find(id))
        for (const auto& d : dependsOn(*n, m)) reads.push_back(d);
    for (const auto& r : reads) {
      if (r == p.node) continue;
      for (const auto& name : on[r])
        if (std::find(p.upstream.begin(), p.upstream.end(), name) == p.upstream.end())
          p.upstream.push_back(name);
    }
    if (auto it = exposed.find(p.node); it != exposed.end()) p.consumers = it->second;
  }
}

// The disabled tests (manifest `disabled`: unique_id -> its versions).
void disabledTests(const Manifest& m, Skipped& skipped) {
  for (const auto& [id, versions] : m.disabled.items()) {
    const json* first = versions.is_array() && !versions.empty() ? &versions[0] : nullptr;
    const bool test = first ? str(*first, "resource_type") == "test" : id.rfind("test.", 0) == 0;
    if (test) skipped.disabled.push_back(id + " (disabled in dbt)");
  }
}

std::string header(const DbtImportOptions& o, const std::string& version, size_t probes,
                   const Skipped& s, const std::vector<std::string>& notes) {
  std::string h = "# Generated by `datawatch import dbt " + o.manifest_name + "`" +
                  (version.empty() ? "" : " (" + version + ")") + ": " + std::to_string(probes) +
                  " probes.\n";
  for (const auto& note : notes) h += "# TODO: " + note + "\n";
  auto section = [&](const char* title, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    h += std::string("# ") + title + ":\n";
    for (const auto& l : lines) h += "#   " + l + "\n";
  };
  section("Singular tests, imported as sql probes from their compiled SQL", s.singular);
  section("Disabled in dbt (not imported)", s.disabled);
  section("Skipped (not imported), with the reason", s.unmapped);
  return h;
}

}  // namespace

Result<DbtImport> importDbtManifest(const json& manifest, const DbtImportOptions& options) {
  if (!validSourceName(options.source))
    return Result<DbtImport>::Error("--source \"" + options.source +
                                    "\" must be a source name: [a-z0-9_-]+");
  if (!manifest.is_object()) return Result<DbtImport>::Error("not a dbt manifest: not an object");
  const json metadata = manifest.value("metadata", json::object());
  const std::string version = str(metadata, "dbt_schema_version");
  if (auto kind = artifactKind(version); !kind.empty() && kind != "manifest") {
    std::replace(kind.begin(), kind.end(), '-', '_');  // run-results/v6.json: run_results.json
    return Result<DbtImport>::Error("this is a dbt " + kind + ".json (" + version +
                                    "); import reads target/manifest.json");
  }
  if (!manifest.contains("nodes") || !manifest["nodes"].is_object())
    return Result<DbtImport>::Error("not a dbt manifest: no \"nodes\" object");
  auto object = [&](const char* key) {
    const json* v = member(manifest, key);
    return v && v->is_object() ? *v : json::object();
  };
  const Manifest m{manifest["nodes"],   object("sources"), object("disabled"),
                   object("exposures"), object("groups"),  version};
  Naming naming = namingFor(str(metadata, "adapter_type"), m.nodes, m.sources);
  Planner planner(m, naming);
  for (const auto& [id, src] : m.sources.items()) planner.source(id, src);
  for (const auto& [id, node] : m.nodes.items())
    if (str(node, "resource_type") == "model") planner.contract(id, node);
  for (const auto& [id, node] : m.nodes.items())
    if (str(node, "resource_type") == "test") planner.test(id, node);
  disabledTests(m, planner.skipped);
  std::set<std::string> used;
  for (auto& p : planner.plans) p.name = probeName(p.base, used);
  link(planner.plans, m);

  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!options.probes_only) emitSource(out, options, naming.warehouse);
  out << YAML::Key << "probes" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : planner.plans) emitProbe(out, p, options.source);
  out << YAML::EndSeq << YAML::EndMap;
  if (!out.good()) return Result<DbtImport>::Error("cannot write YAML: " + out.GetLastError());

  DbtImport result;
  result.warnings = sourceNotes(options, naming.warehouse);
  if (!naming.elsewhere.empty()) result.warnings.push_back(elsewhereNote(naming));
  const std::string h =
      header(options, version, planner.plans.size(), planner.skipped, result.warnings);
  for (const auto& s : planner.skipped.disabled) result.warnings.push_back("not imported: " + s);
  for (const auto& s : planner.skipped.unmapped) result.warnings.push_back("not imported: " + s);
  result.yaml = h + out.c_str() + "\n";
  return result;
}

}  // namespace datawatch::dbt
