#include "import/dbt_manifest.hpp"
#include "core/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace datawatch::dbt {
namespace {
// The longest text matched with std::regex (a `model` kwarg, a schema version).
constexpr size_t kMaxRegexInput = 4096;
}  // namespace

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json* Manifest::find(const std::string& id) const {
  if (id.empty()) return nullptr;
  const json* n = member(nodes, id.c_str());
  if (n == nullptr) n = member(sources, id.c_str());
  return n != nullptr && n->is_object() ? n : nullptr;
}

std::string artifactKind(const std::string& version) {
  // libstdc++'s regex recurses per character: a long string would overflow the stack.
  if (version.size() > kMaxRegexInput) return "";
  static const std::regex kind(R"(/dbt/([a-z_\-]+)/v[0-9]+\.json)");
  std::smatch m;
  if (!std::regex_search(version, m, kind)) return "";
  return m[1].str();
}

bool hasJinja(const std::string& text) {
  return text.find("{{") != std::string::npos || text.find("{%") != std::string::npos;
}

std::string notOneQuery(std::string sql) {
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) != 0 || sql.back() == ';'))
    sql.pop_back();
  if (sql.find(';') != std::string::npos)
    return "holds ';' (datawatch runs one statement, and reads any ';' as a second one)";
  if (sql.find("{table}") != std::string::npos || sql.find("{column}") != std::string::npos)
    return "holds {table} or {column}, which datawatch's sql probes fill in themselves";
  return "";
}

std::string compiledCode(const json& node) {
  std::string code = str(node, "compiled_code");
  if (code.empty()) code = str(node, "compiled_sql");
  return code;
}

const json* config(const json& node, const char* key) {
  if (const json* c = member(node, "config"))
    if (const json* v = member(*c, key); v && !v->is_null()) return v;
  if (const json* v = member(node, key); v && !v->is_null()) return v;
  return nullptr;
}

namespace {

std::string metaOwner(const json& node) {
  for (const json* meta : {member(node, "meta"), config(node, "meta")}) {
    if (meta == nullptr) continue;
    if (std::string o = str(*meta, "owner"); !o.empty()) return o;
  }
  return "";
}

std::string groupOwner(const json& node, const Manifest& m) {
  std::string group = str(node, "group");
  if (const json* g = config(node, "group"); group.empty() && g && g->is_string())
    group = g->get<std::string>();
  if (group.empty()) return "";
  for (const auto& [id, g] : m.groups.items()) {
    if (str(g, "name") != group) continue;
    const json* owner = member(g, "owner");
    if (owner == nullptr) return "";
    std::string name = str(*owner, "name");
    return name.empty() ? str(*owner, "email") : name;
  }
  return "";
}

}  // namespace

std::string ownerOf(const json& node, const Manifest& m) {
  std::string owner = metaOwner(node);
  return owner.empty() ? groupOwner(node, m) : owner;
}

std::vector<std::string> dependsOn(const json& node, const Manifest& m) {
  std::vector<std::string> out;
  const json* deps = member(node, "depends_on");
  const json* ids = deps ? member(*deps, "nodes") : nullptr;
  if (ids == nullptr || !ids->is_array()) return out;
  for (const auto& id : *ids) {
    if (!id.is_string()) continue;
    const std::string s = id.get<std::string>();
    if (m.find(s) != nullptr && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

std::string resolveRef(const std::string& text, const Manifest& m) {
  // ref('a'), ref("a"), ref('pkg', 'a'), ref('a', v=2); source('s', 't').
  static const std::regex ref(R"(ref\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"])?)");
  static const std::regex source(R"(source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"])");
  std::smatch g;
  if (text.size() > kMaxRegexInput) return "";  // see artifactKind
  if (std::regex_search(text, g, source)) {
    for (const auto& [id, s] : m.sources.items())
      if (str(s, "source_name") == g[1].str() && str(s, "name") == g[2].str()) return id;
    return "";
  }
  if (!std::regex_search(text, g, ref)) return "";
  const std::string name = g[2].matched ? g[2].str() : g[1].str();
  const std::string package = g[2].matched ? g[1].str() : "";
  for (const auto& [id, n] : m.nodes.items()) {
    const std::string kind = str(n, "resource_type");
    if (kind != "model" && kind != "seed" && kind != "snapshot") continue;
    if (str(n, "name") != name) continue;
    if (!package.empty() && str(n, "package_name") != package) continue;
    return id;
  }
  return "";
}

std::optional<config::Bound> passBound(const std::string& condition) {
  std::string c = condition;
  for (auto [from, to] : {std::pair<const char*, const char*>{"<>", "!="}, {"==", "="}}) {
    if (auto i = c.find(from); i != std::string::npos) c.replace(i, 2, to);
  }
  auto b = config::parseBound(c, nullptr);
  if (!b || b->percent) return std::nullopt;
  using Op = config::Bound::Op;
  switch (b->op) {
    case Op::Eq: b->op = Op::Ne; break;
    case Op::Ne: b->op = Op::Eq; break;
    case Op::Gt: b->op = Op::Le; break;
    case Op::Ge: b->op = Op::Lt; break;
    case Op::Lt: b->op = Op::Ge; break;
    case Op::Le: b->op = Op::Gt; break;
    case Op::Between: b->op = Op::NotBetween; break;
    case Op::NotBetween: b->op = Op::Between; break;
  }
  return b;
}

std::optional<Levels> levelsOf(const json& test, std::string* why) {
  auto text = [&](const char* key, const char* dflt) {
    const json* v = config(test, key);
    return v && v->is_string() ? v->get<std::string>() : std::string(dflt);
  };
  const std::string severity = asciiLower(text("severity", "error"));
  const std::string warn_if = text("warn_if", "!= 0");
  const std::string error_if = text("error_if", "!= 0");
  Levels l;
  l.fail_calc = text("fail_calc", "count(*)");
  const auto warn = passBound(warn_if);
  const auto error = passBound(error_if);
  const config::Bound zero{config::Bound::Op::Eq, 0, 0, false};
  const bool warn_only = severity == "warn";
  for (auto [cond, b] : {std::pair{&warn_if, &warn}, std::pair{&error_if, &error}}) {
    if (b->has_value() || (warn_only && cond == &error_if)) continue;
    *why = "its condition \"" + *cond + "\" is not a comparison with a number";
    return std::nullopt;
  }
  std::string calc = asciiLower(l.fail_calc);
  calc.erase(std::remove_if(calc.begin(), calc.end(), [](unsigned char c) { return c == ' '; }),
             calc.end());
  l.plain = calc == "count(*)" && *warn == zero && (warn_only || *error == zero);
  if (warn_only) {
    l.warn = warn;
  } else {
    l.error = error;
    if (!(*warn == *error)) l.warn = warn;
  }
  return l;
}

}  // namespace datawatch::dbt
