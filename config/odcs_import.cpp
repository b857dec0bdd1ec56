// `datawatch import odcs` (odcs_import.hpp): the expansion written as config.
#include "config/odcs_import.hpp"

#include <yaml-cpp/yaml.h>

#include "config/odcs_expand_detail.hpp"
#include "core/duration.hpp"

namespace datawatch::config::odcs {
namespace {

using detail::number;

void emitList(YAML::Emitter& out, const char* key, const std::vector<std::string>& v) {
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& x : v) out << YAML::DoubleQuoted << x;
  out << YAML::EndSeq;
}

void emitFreshness(YAML::Emitter& out, const FreshnessSpec& s) {
  out << YAML::Key << "column" << YAML::Value << s.column;
  if (s.max_age) out << YAML::Key << "max_age" << YAML::Value << formatDuration(*s.max_age);
  if (s.schedule) {
    out << YAML::Key << "schedule" << YAML::Value << YAML::DoubleQuoted << s.schedule->text();
    out << YAML::Key << "grace" << YAML::Value << formatDuration(s.grace);
  }
  if (s.oldest) out << YAML::Key << "oldest" << YAML::Value << true;
}

void emitSchema(YAML::Emitter& out, const SchemaSpec& s) {
  out << YAML::Key << "columns" << YAML::Value << YAML::BeginMap;
  for (const auto& [col, type] : s.columns) {
    out << YAML::Key << col << YAML::Value;
    const auto lt = s.logical_types.find(col);
    const auto req = s.required.find(col);
    if (lt == s.logical_types.end() && req == s.required.end()) {
      out << YAML::DoubleQuoted << type;
      continue;
    }
    out << YAML::Flow << YAML::BeginMap;
    if (!type.empty()) out << YAML::Key << "type" << YAML::Value << YAML::DoubleQuoted << type;
    if (lt != s.logical_types.end())
      out << YAML::Key << "logical_type" << YAML::Value << lt->second;
    if (req != s.required.end()) out << YAML::Key << "required" << YAML::Value << req->second;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "allow_extra_columns" << YAML::Value << s.allow_extra_columns;
}

void emitValues(YAML::Emitter& out, const ValuesSpec& s) {
  if (s.columns.empty())
    out << YAML::Key << "column" << YAML::Value << s.column;
  else
    emitList(out, "columns", s.columns);
  if (!s.accepted.empty()) emitList(out, "accepted", s.accepted);
  if (!s.missing.empty()) emitList(out, "missing", s.missing);
  if (s.pattern) out << YAML::Key << "pattern" << YAML::Value << YAML::SingleQuoted << *s.pattern;
  if (s.min_length) out << YAML::Key << "min_length" << YAML::Value << *s.min_length;
  if (s.max_length) out << YAML::Key << "max_length" << YAML::Value << *s.max_length;
  if (s.min) out << YAML::Key << "min" << YAML::Value << number(*s.min);
  if (s.max) out << YAML::Key << "max" << YAML::Value << number(*s.max);
  if (s.unique) out << YAML::Key << "unique" << YAML::Value << true;
  if (!s.must.empty()) {
    out << YAML::Key << "must" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [m, b] : s.must)
      out << YAML::Key << toString(m) << YAML::Value << YAML::DoubleQuoted << b.str();
    out << YAML::EndMap;
  }
}

void emitSpec(YAML::Emitter& out, const ProbeConfig& p) {
  if (const auto* f = std::get_if<FreshnessSpec>(&p.spec)) emitFreshness(out, *f);
  if (const auto* s = std::get_if<SchemaSpec>(&p.spec)) emitSchema(out, *s);
  if (const auto* v = std::get_if<ValuesSpec>(&p.spec)) emitValues(out, *v);
  if (const auto* v = std::get_if<VolumeSpec>(&p.spec); v && v->must)
    out << YAML::Key << "must" << YAML::Value << YAML::DoubleQuoted << v->must->str();
  if (const auto* q = std::get_if<SqlSpec>(&p.spec)) {
    // A block scalar for a multi-line query (it keeps one final newline, as
    // `query: |` wrote it); quoted otherwise, so the text stays exact.
    out << YAML::Key << "query" << YAML::Value
        << (q->query.find('\n') != std::string::npos ? YAML::Literal : YAML::DoubleQuoted)
        << q->query;
    if (!q->column.empty()) out << YAML::Key << "column" << YAML::Value << q->column;
    if (q->must) out << YAML::Key << "must" << YAML::Value << YAML::DoubleQuoted << q->must->str();
  }
}

void emitProbe(YAML::Emitter& out, const ProbeConfig& p) {
  out << YAML::Newline << YAML::Comment("from " + p.loc.str());
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << p.name;
  out << YAML::Key << "type" << YAML::Value << toString(p.type);
  out << YAML::Key << "source" << YAML::Value << p.source;
  out << YAML::Key << "table" << YAML::Value << p.table;
  out << YAML::Key << "every" << YAML::Value << formatDuration(p.every);
  if (!p.owner.empty()) out << YAML::Key << "owner" << YAML::Value << p.owner;
  if (!p.description.empty()) out << YAML::Key << "description" << YAML::Value << p.description;
  if (p.alert) {
    out << YAML::Key << "alert" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "after" << YAML::Value << p.alert->after;
    out << YAML::Key << "severity" << YAML::Value << p.alert->severity;
    if (!p.alert->notify.empty()) emitList(out, "notify", p.alert->notify);
    out << YAML::EndMap;
  }
  emitSpec(out, p);
  out << YAML::EndMap;
}

std::string header(const Contract& c, const Expansion& ex,
                   const std::vector<Diagnostic>& warnings) {
  std::string h = "# Probes for the ODCS contract " + c.file + " (id " + c.id +
                  (c.version.empty() ? "" : ", version " + c.version) +
                  "), written by `datawatch import odcs`\n"
                  "# (docs/contracts.md). Each probe names the contract line it comes from.\n";
  if (!warnings.empty()) {
    h += "# Contract warnings (" + std::to_string(warnings.size()) + "):\n";
    for (const auto& w : warnings) h += "#   " + w.loc.str() + ": " + w.message + "\n";
  }
  if (ex.skipped.empty() && warnings.empty()) {
    h += "# Every quality rule and SLA property of the contract is watched.\n";
  } else if (!ex.skipped.empty()) {
    h += "# Not watched (" + std::to_string(ex.skipped.size()) + "):\n";
    for (const auto& s : ex.skipped)
      h += "#   " + s.loc.str() + ": " + s.what + ": " + s.reason + "\n";
  }
  if (!ex.notes.empty()) {
    h += "# Watched approximately:\n";
    for (const auto& n : ex.notes)
      h += "#   " + n.loc.str() + ": " + n.what + ": " + n.reason + "\n";
  }
  if (!ex.probes.empty()) {
    h += "# An SLO over all of them (or declare the contract under contracts: with slo:):\n"
         "# slos:\n#   - name: " +
         ex.name + "\n#     objective: 99.5\n#     window: 28d\n#     probes:\n";
    for (const auto& p : ex.probes) h += "#       - " + p.name + "\n";
  }
  // Newlines inside a path or message must not end the comment.
  for (size_t i = 0; i + 1 < h.size(); ++i)
    if (h[i] == '\n' && h[i + 1] != '#' && h[i + 1] != '\n') h.insert(i + 1, "# ");
  return h;
}

}  // namespace

OdcsImport importContract(const Contract& c, const ExpandOptions& o,
                          const std::vector<Diagnostic>& warnings) {
  Expansion ex = expandContract(c, o);
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "probes" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : ex.probes) emitProbe(out, p);
  out << YAML::EndSeq << YAML::EndMap;
  OdcsImport r;
  r.yaml = header(c, ex, warnings) + (ex.probes.empty() ? std::string("probes: []") : out.c_str()) +
           "\n";
  r.probes = std::move(ex.probes);
  r.skipped = std::move(ex.skipped);
  r.notes = std::move(ex.notes);
  return r;
}

}  // namespace datawatch::config::odcs
