#include "config/dbt_import.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

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

std::string relation(const json& node) {
  std::string table = str(node, "alias");
  if (table.empty()) table = str(node, "identifier");
  if (table.empty()) table = str(node, "name");
  const std::string schema = str(node, "schema");
  return schema.empty() ? table : schema + "." + table;
}

}  // namespace

Result<std::string> importDbtManifest(const json& manifest, const DbtImportOptions& options) {
  if (!manifest.is_object() || !manifest.contains("nodes") || !manifest["nodes"].is_object()) {
    return Result<std::string>::Error("not a dbt manifest: no \"nodes\" object");
  }
  const std::string version = str(manifest.value("metadata", json::object()), "dbt_schema_version");
  const json& nodes = manifest["nodes"];
  const json sources = manifest.value("sources", json::object());
  std::set<std::string> used;
  std::vector<std::string> skipped;
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!options.probes_only) {
    out << YAML::Key << "sources" << YAML::Value << YAML::BeginMap << YAML::Key << options.source
        << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value
        << "postgres" << YAML::Key << "dsn" << YAML::Value << YAML::DoubleQuoted
        << ("${" + options.dsn_env + "}") << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::Key << "probes" << YAML::Value << YAML::BeginSeq;
  int count = 0;
  // Sources with freshness, in a stable order.
  for (const auto& [id, src] : sources.items()) {
    const json fresh = src.value("freshness", json());
    const std::string loaded_at = str(src, "loaded_at_field");
    if (!fresh.is_object() || loaded_at.empty()) continue;
    const std::string error_after = period(fresh.value("error_after", json()));
    const std::string warn_after = period(fresh.value("warn_after", json()));
    const std::string max_age = error_after.empty() ? warn_after : error_after;
    if (max_age.empty()) continue;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value
        << probeName(str(src, "source_name") + "_" + str(src, "name") + "_fresh", used);
    out << YAML::Key << "type" << YAML::Value << "freshness";
    out << YAML::Key << "source" << YAML::Value << options.source;
    out << YAML::Key << "table" << YAML::Value << relation(src);
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
  // Generic tests.
  for (const auto& [id, node] : nodes.items()) {
    if (str(node, "resource_type") != "test" || !node.contains("test_metadata")) continue;
    const json meta = node["test_metadata"];
    const std::string test = str(meta, "name");
    const json kwargs = meta.value("kwargs", json::object());
    std::string column = str(kwargs, "column_name");
    if (column.empty()) column = str(node, "column_name");
    if (test != "not_null" && test != "unique" && test != "accepted_values") {
      skipped.push_back(id + " (" + (test.empty() ? "singular" : test) + ")");
      continue;
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
      continue;
    }
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << probeName(str(node, "name"), used);
    out << YAML::Key << "type" << YAML::Value << "values";
    out << YAML::Key << "source" << YAML::Value << options.source;
    out << YAML::Key << "table" << YAML::Value << relation(*target);
    out << YAML::Key << "column" << YAML::Value << column;
    if (test == "not_null") {
      out << YAML::Key << "max_null_ratio" << YAML::Value << 0;
    } else if (test == "unique") {
      out << YAML::Key << "unique" << YAML::Value << true;
    } else {
      out << YAML::Key << "accepted" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : kwargs.value("values", json::array())) {
        out << YAML::DoubleQuoted << (v.is_string() ? v.get<std::string>() : dumpJson(v));
      }
      out << YAML::EndSeq;
      if (!kwargs.contains("values") || kwargs["values"].empty()) {
        return Result<std::string>::Error("test " + id + ": accepted_values without values");
      }
    }
    out << YAML::Key << "description" << YAML::Value << ("dbt " + id);
    out << YAML::EndMap;
    ++count;
  }
  out << YAML::EndSeq << YAML::EndMap;
  if (!out.good()) return Result<std::string>::Error("cannot write YAML: " + out.GetLastError());
  std::string header = "# Generated by `datawatch import dbt " + options.manifest_name + "`" +
                       (version.empty() ? "" : " (" + version + ")") + ": " +
                       std::to_string(count) + " probes.\n";
  if (!skipped.empty()) {
    header += "# Skipped (no datawatch equivalent):\n";
    for (const auto& s : skipped) header += "#   " + s + "\n";
  }
  return header + out.c_str() + "\n";
}

}  // namespace datawatch::config
