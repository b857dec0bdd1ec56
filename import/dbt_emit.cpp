#include "import/dbt_emit.hpp"

#include <algorithm>

namespace datawatch::dbt {
namespace {

const char* typeName(Plan::Kind k) {
  switch (k) {
    case Plan::Kind::Freshness: return "freshness";
    case Plan::Kind::Values: return "values";
    case Plan::Kind::Sql: return "sql";
    case Plan::Kind::Schema: return "schema";
  }
  return "values";
}

void list(YAML::Emitter& out, const char* key, const std::vector<std::string>& items) {
  if (items.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& i : items) out << i;
  out << YAML::EndSeq;
}

void values(YAML::Emitter& out, const Plan& p) {
  if (!p.columns.empty())
    list(out, "columns", p.columns);
  else
    out << YAML::Key << "column" << YAML::Value << p.column;
  if (p.not_null) out << YAML::Key << "max_null_ratio" << YAML::Value << 0;
  if (p.unique) out << YAML::Key << "unique" << YAML::Value << true;
  if (!p.accepted.empty()) {
    out << YAML::Key << "accepted" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : p.accepted) out << YAML::DoubleQuoted << v;
    out << YAML::EndSeq;
  }
  if (!p.must.empty()) {
    out << YAML::Key << "must" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [metric, bound] : p.must)
      out << YAML::Key << metric << YAML::Value << YAML::DoubleQuoted << bound;
    out << YAML::EndMap;
  }
}

void schema(YAML::Emitter& out, const Plan& p) {
  out << YAML::Key << "columns" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, type] : p.schema_columns) {
    out << YAML::Key << name << YAML::Value;
    if (std::find(p.required.begin(), p.required.end(), name) == p.required.end()) {
      out << YAML::DoubleQuoted << type;
      continue;
    }
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value << YAML::DoubleQuoted
        << type << YAML::Key << "required" << YAML::Value << true << YAML::EndMap;
  }
  out << YAML::EndMap;
}

std::string description(const Plan& p) {
  std::string d = "dbt ";
  for (size_t i = 0; i < p.from.size(); ++i) d += (i ? ", " : "") + p.from[i];
  if (!p.note.empty()) d += " (" + p.note + ")";
  d += p.warn ? "; dbt level warn" : "; dbt level error";
  return d;
}

}  // namespace

void emitProbe(YAML::Emitter& out, const Plan& p, const std::string& source) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << p.name;
  out << YAML::Key << "type" << YAML::Value << typeName(p.kind);
  out << YAML::Key << "source" << YAML::Value << source;
  if (!p.table.empty()) out << YAML::Key << "table" << YAML::Value << p.table;
  switch (p.kind) {
    case Plan::Kind::Freshness:
      out << YAML::Key << "column" << YAML::Value << p.column;
      out << YAML::Key << "max_age" << YAML::Value << p.max_age;
      break;
    case Plan::Kind::Values: values(out, p); break;
    case Plan::Kind::Sql:
      // A literal block for several lines (the loader reads it with a final newline).
      out << YAML::Key << "query" << YAML::Value
          << (p.query.find('\n') == std::string::npos ? YAML::DoubleQuoted : YAML::Literal)
          << p.query;
      if (!p.table.empty() && !p.column.empty())
        out << YAML::Key << "column" << YAML::Value << p.column;
      out << YAML::Key << "must" << YAML::Value << YAML::DoubleQuoted << p.sql_must;
      break;
    case Plan::Kind::Schema: schema(out, p); break;
  }
  if (p.filter) out << YAML::Key << "filter" << YAML::Value << *p.filter;
  if (!p.owner.empty()) out << YAML::Key << "owner" << YAML::Value << p.owner;
  list(out, "consumers", p.consumers);
  list(out, "upstream", p.upstream);
  out << YAML::Key << "alert" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "severity" << YAML::Value << (p.warn ? "warning" : "critical") << YAML::EndMap;
  out << YAML::Key << "description" << YAML::Value << description(p);
  out << YAML::EndMap;
}

}  // namespace datawatch::dbt
