#include "import/dbt_names.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "import/dbt_manifest.hpp"

namespace datawatch::dbt {
namespace {

bool hasUpper(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c) != 0; });
}
bool hasLower(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c) != 0; });
}

bool plain(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_' || c == '$'; });
}

std::string doubleQuoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// `raw` without the quotes dbt's adapters write ("x", `x`, [x]); *quoted says
// whether it had them. A doubled quote inside stands for one.
std::string unquote(const std::string& raw, bool* quoted) {
  *quoted = false;
  if (raw.size() < 2) return raw;
  const char open = raw.front(), close = raw.back();
  const char want = open == '"' ? '"' : open == '`' ? '`' : open == '[' ? ']' : 0;
  if (want == 0 || close != want) return raw;
  *quoted = true;
  std::string out;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    out += raw[i];
    if (raw[i] == close && i + 2 < raw.size() && raw[i + 1] == close) ++i;
  }
  return out;
}

std::string fold(std::string name, DbtWarehouse::Fold f) {
  if (!plain(name)) return name;
  for (auto& c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (f == DbtWarehouse::Fold::Lower) c = static_cast<char>(std::tolower(u));
    if (f == DbtWarehouse::Fold::Upper) c = static_cast<char>(std::toupper(u));
  }
  return name;
}

// One part of a relation (database, schema or table) as the config must write
// it for datawatch to find the name dbt created. dbt quoted it (relation_name
// holds "part"): exactly that name, in double quotes where datawatch would fold
// it otherwise; not quoted: as the warehouse folded it (Snowflake upper-cases).
// A name holding '.' or '"' is always quoted ('"' doubled).
std::string part(std::string name, const std::string& relation_name, const DbtWarehouse& w) {
  using Fold = DbtWarehouse::Fold;
  const bool quoted = relation_name.find('"' + name + '"') != std::string::npos;
  if (!quoted && w.fold == Fold::Upper) name = fold(name, Fold::Upper);
  bool wrap = name.find_first_of(".\"") != std::string::npos;
  if (quoted && w.fold == Fold::Upper) wrap = wrap || !hasUpper(name);
  if (quoted && w.fold == Fold::Lower) wrap = wrap || !hasLower(name);
  return wrap ? doubleQuoted(name) : name;
}

// The database most models (else sources) are built in: the profile's.
std::string homeDatabase(const nlohmann::json& nodes, const nlohmann::json& sources) {
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

}  // namespace

std::string Naming::relation(const nlohmann::json& node) {
  std::string table = str(node, "alias");
  if (table.empty()) table = str(node, "identifier");
  if (table.empty()) table = str(node, "name");
  if (table.empty()) return "";
  const std::string schema = str(node, "schema");
  const std::string database = str(node, "database");
  const auto& w = warehouse;
  const std::string rel = str(node, "relation_name");
  const std::string name =
      schema.empty() ? part(table, rel, w) : part(schema, rel, w) + "." + part(table, rel, w);
  if (schema.empty() || database.empty()) return name;
  const std::string full = part(database, rel, w) + "." + name;
  if (w.keep_database) return full;
  if (w.home_database && database != home) {
    elsewhere.insert(full);
    return full;
  }
  return name;
}

std::string Naming::column(const std::string& raw, const nlohmann::json* node) const {
  bool quoted = false;
  std::string name = unquote(raw, &quoted);
  if (!quoted && node != nullptr) {
    const json* columns = member(*node, "columns");
    const json* col = columns ? member(*columns, name.c_str()) : nullptr;
    const json* quote = col ? member(*col, "quote") : nullptr;
    quoted = quote != nullptr && quote->is_boolean() && quote->get<bool>();
  }
  if (!quoted) return fold(name, warehouse.fold);
  // Exactly `name`: plain where datawatch reads the plain name as exactly it.
  bool as_is = dialect != nullptr && plain(name) && dialect->storedName(name) == name;
  if (warehouse.fold == DbtWarehouse::Fold::Lower) as_is = as_is && !hasUpper(name);
  if (warehouse.fold == DbtWarehouse::Fold::Upper) as_is = as_is && !hasLower(name);
  return as_is ? name : doubleQuoted(name);
}

bool Naming::identifier(const std::string& name) {
  bool quoted = false;
  const std::string inner = unquote(name, &quoted);
  return quoted ? !inner.empty() : plain(name);
}

Naming namingFor(const std::string& adapter, const nlohmann::json& nodes,
                 const nlohmann::json& sources) {
  Naming n;
  n.warehouse = dbtWarehouse(adapter);
  if (n.warehouse.known) {
    std::string d = n.warehouse.dialect;
    if (d.empty()) d = n.warehouse.type;  // postgres, sqlite
    if (auto id = config::dialectFromString(d)) n.dialect = &dialectFor(*id);
  }
  if (n.warehouse.home_database) n.home = homeDatabase(nodes, sources);
  return n;
}

std::string probeName(const std::string& raw, std::set<std::string>& used) {
  std::string out;
  for (char c : raw) {
    // Quote characters of an exact name ("customerName") leave no trace, so
    // `"customerName"__warn` is customername__warn, not customername___warn.
    if (c == '"' || c == '`' || c == '[' || c == ']') continue;
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_')
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

}  // namespace datawatch::dbt
