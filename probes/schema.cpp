#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "probes/logical_types.hpp"
#include "probes/sql_probes.hpp"

namespace datawatch {

std::string canonicalType(std::string_view type) {
  std::string t;
  for (char c : type) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
  std::string mod;
  if (auto p = t.find('('); p != std::string::npos) {
    mod = t.substr(p);
    t = t.substr(0, p);
    while (!t.empty() && t.back() == ' ') t.pop_back();
    // PostgreSQL writes a time precision inside the name ("timestamp(3) with time
    // zone"): the name is "timestamp with time zone", the modifier "(3)".
    if (const auto close = mod.find(')');
        close != std::string::npos && mod.compare(close + 1, 5, " with") == 0) {
      t += mod.substr(close + 1);
      mod.erase(close + 1);
    }
  }
  static const std::map<std::string, std::string> kAliases{
      {"int8", "bigint"},
      {"int4", "integer"},
      {"int", "integer"},
      {"int2", "smallint"},
      {"float8", "double precision"},
      {"double", "double precision"},
      {"float4", "real"},
      {"bool", "boolean"},
      {"varchar", "character varying"},
      {"char", "character"},
      {"decimal", "numeric"},
      {"timestamptz", "timestamp with time zone"},
      {"timestamp", "timestamp without time zone"},
      {"timetz", "time with time zone"},
      {"time", "time without time zone"},
      {"serial", "integer"},
      {"bigserial", "bigint"}};
  if (auto it = kAliases.find(t); it != kAliases.end()) t = it->second;
  return t + mod;
}

namespace {

std::string baseType(const std::string& canonical) {
  return canonical.substr(0, canonical.find('('));
}

// Whether a declared type accepts an actual one: equal, or the declaration names
// no modifier ("numeric" accepts "numeric(10,2)").
bool typeMatches(const std::string& declared, const std::string& actual) {
  if (declared == actual) return true;
  return declared.find('(') == std::string::npos && baseType(actual) == declared;
}

// A type change consumers can absorb: integer widening, float widening, to text.
bool wideningChange(const std::string& from, const std::string& to) {
  static const std::vector<std::string> kInts{"smallint", "integer", "bigint", "numeric"};
  auto rank = [](const std::vector<std::string>& v, const std::string& t) {
    auto it = std::find(v.begin(), v.end(), baseType(t));
    return it == v.end() ? -1 : static_cast<int>(it - v.begin());
  };
  const int a = rank(kInts, from), b = rank(kInts, to);
  if (a >= 0 && b >= 0) return b >= a;
  if (baseType(from) == "real" && baseType(to) == "double precision") return true;
  if ((baseType(from) == "character varying" || baseType(from) == "character") &&
      baseType(to) == "text")
    return true;
  if (baseType(from) == "character varying" && baseType(to) == "character varying") {
    // varchar(n) -> varchar(m): widening when m >= n (or unbounded).
    auto len = [](const std::string& t) {
      auto p = t.find('(');
      return p == std::string::npos ? 1 << 30 : std::atoi(t.c_str() + p + 1);
    };
    return len(to) >= len(from);
  }
  return false;
}

struct Column {
  std::string name;
  std::string type;  // canonical
  bool not_null = false;
};

class SchemaProbe final : public Probe {
 public:
  SchemaProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::SchemaSpec>(cfg_.spec)), src_(src) {
    const Dialect& d = src_.dialect();
    catalog_ = d.columns(d.tableRef(cfg_.table), src_.placeholders());
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    const Dialect& d = src_.dialect();
    auto q = src_.query(catalog_.sql, catalog_.params, builtQuery(ctx.limits));
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.empty()) {
      return ProbeResult::error("table " + cfg_.table +
                                " does not exist (or is not visible to this user)");
    }
    std::vector<Column> current;
    for (const auto& row : q->rows) {
      current.push_back({sqlValueToString(row.at(0)), d.canonicalType(sqlValueToString(row.at(1))),
                         sqlValueToDouble(row.at(2)).value_or(0) != 0});
    }
    const auto declared = declaredColumns(current);
    auto find = [](const std::vector<Column>& cols, const std::string& name) -> const Column* {
      for (const auto& c : cols)
        if (c.name == name) return &c;
      return nullptr;
    };

    nlohmann::json contract = nlohmann::json::array();
    for (size_t i = 0; i < declared.size(); ++i) {
      const auto& [name, type] = declared[i];
      const std::string want = d.canonicalType(type);
      const Column* have = find(current, name);
      if (!have) {
        contract.push_back(
            {{"column", name}, {"change", "missing"}, {"expected", want}, {"breaking", true}});
        continue;
      }
      if (!want.empty() && !typeMatches(want, have->type)) {  // "" = any type
        contract.push_back({{"column", name},
                            {"change", "type"},
                            {"expected", want},
                            {"actual", have->type},
                            {"breaking", !wideningChange(want, have->type)}});
      }
      checkLogicalAndRequired(spec_.columns[i].first, *have, contract);
    }
    int extra = 0;
    for (const auto& c : current) {
      const bool is_declared = std::any_of(declared.begin(), declared.end(),
                                           [&](const auto& kv) { return kv.first == c.name; });
      if (!is_declared) {
        ++extra;
        if (!spec_.allow_extra_columns) {
          contract.push_back(
              {{"column", c.name}, {"change", "extra"}, {"actual", c.type}, {"breaking", false}});
        }
      }
    }

    nlohmann::json since = nlohmann::json::array();
    nlohmann::json snapshot = nlohmann::json::array();
    for (const auto& c : current)
      snapshot.push_back({{"name", c.name}, {"type", c.type}, {"not_null", c.not_null}});
    bool have_previous = false;
    if (ctx.snapshots) {
      auto prev = ctx.snapshots->loadSnapshot(snapshotKey());
      if (prev && *prev) {
        have_previous = true;
        std::vector<Column> before;
        for (const auto& c : **prev)
          before.push_back({c.value("name", ""), c.value("type", ""), c.value("not_null", false)});
        for (const auto& b : before) {
          const Column* now = find(current, b.name);
          if (!now) {
            since.push_back(
                {{"column", b.name}, {"change", "removed"}, {"from", b.type}, {"breaking", true}});
          } else {
            if (now->type != b.type) {
              since.push_back({{"column", b.name},
                               {"change", "type"},
                               {"from", b.type},
                               {"to", now->type},
                               {"breaking", !wideningChange(b.type, now->type)}});
            }
            if (now->not_null != b.not_null) {
              since.push_back(
                  {{"column", b.name},
                   {"change", "nullability"},
                   {"from", b.not_null ? "not null" : "null"},
                   {"to", now->not_null ? "not null" : "null"},
                   {"breaking", now->not_null}});  // tightened: writers that sent nulls now fail
            }
          }
        }
        for (const auto& c : current) {
          if (!find(before, c.name))
            since.push_back(
                {{"column", c.name}, {"change", "added"}, {"to", c.type}, {"breaking", false}});
        }
      }
      if (!have_previous || !since.empty())
        (void)ctx.snapshots->saveSnapshot(snapshotKey(), snapshot);
    }

    const size_t changes = contract.size() + since.size();
    size_t breaking = 0;
    for (const auto* list : {&contract, &since})
      for (const auto& c : *list) breaking += c["breaking"].get<bool>() ? 1 : 0;
    std::string msg;
    auto describe = [&](const nlohmann::json& c) {
      if (c.contains("message")) return c["message"].get<std::string>();
      const std::string column = c["column"].get<std::string>();
      const std::string change = c["change"].get<std::string>();
      std::string s = column + " " + change;
      if (change == "added" || change == "removed" || change == "missing")
        s = "column \"" + column + "\" " + change;
      else if (change == "extra")
        s = "column \"" + column + "\" not in the contract";
      if (c.contains("expected") && c.contains("actual"))
        s +=
            " (" + c["expected"].get<std::string>() + " -> " + c["actual"].get<std::string>() + ")";
      else if (c.contains("from") && c.contains("to"))
        s += " (" + c["from"].get<std::string>() + " -> " + c["to"].get<std::string>() + ")";
      return s + (c["breaking"].get<bool>() ? " [breaking]" : "");
    };
    // A column the contract comparison reported is not reported again as a
    // change since the last snapshot (details keep both lists whole).
    std::set<std::string> reported;
    for (const auto& c : contract) {
      msg += (msg.empty() ? "" : "; ") + describe(c);
      reported.insert(c["column"].get<std::string>());
    }
    for (const auto& c : since)
      if (!reported.count(c["column"].get<std::string>()))
        msg += (msg.empty() ? "" : "; ") + describe(c);
    const bool ok = contract.empty() && breaking == 0;
    ProbeResult r = ok ? ProbeResult::pass(static_cast<double>(changes), "changes",
                                           changes == 0 ? std::to_string(current.size()) +
                                                              " columns match the contract"
                                                        : "non-breaking changes: " + msg)
                       : ProbeResult::fail(static_cast<double>(changes), "changes", msg);
    r.threshold = {{"columns", spec_.columns.size()},
                   {"allow_extra_columns", spec_.allow_extra_columns}};
    if (!spec_.logical_types.empty()) r.threshold["logical_types"] = spec_.logical_types;
    if (!spec_.required.empty()) r.threshold["required"] = spec_.required;
    r.details = {{"contract", contract}, {"since_last_snapshot", since},
                 {"breaking", breaking}, {"extra_columns", extra},
                 {"columns", snapshot},  {"first_snapshot", !have_previous}};
    return r;
  }

 private:
  std::string snapshotKey() const { return cfg_.name + ":schema"; }

  // The logical type and NOT NULL the contract asks of the column configured as
  // `configured` (in the catalog as `have`): one breaking entry per difference,
  // with its message ("amount: integer expected, found text").
  void checkLogicalAndRequired(const std::string& configured, const Column& have,
                               nlohmann::json& contract) const {
    const Dialect& d = src_.dialect();
    if (const auto it = spec_.logical_types.find(configured);
        it != spec_.logical_types.end() && !logicalTypeMatches(d, it->second, have.type)) {
      const std::string found = logicalFamily(d, have.type);
      contract.push_back(
          {{"column", have.name},
           {"change", "logical_type"},
           {"expected", it->second},
           {"actual", have.type},
           {"actual_logical_type", found.empty() ? nlohmann::json() : nlohmann::json(found)},
           {"breaking", true},
           {"message", have.name + ": " + it->second + " expected, found " +
                           (have.type.empty() ? "no type" : have.type)}});
    }
    if (const auto it = spec_.required.find(configured);
        it != spec_.required.end() && it->second && !have.not_null) {
      contract.push_back({{"column", have.name},
                          {"change", "required"},
                          {"expected", "not null"},
                          {"actual", "null"},
                          {"breaking", true},
                          {"message", have.name + ": must be NOT NULL"}});
    }
  }

  // The declared columns under the names the catalog reports: folded the way the
  // dialect folds unquoted names, and matched regardless of case where the
  // dialect's names are case-insensitive (MySQL, SQL Server, BigQuery, ...).
  std::vector<std::pair<std::string, std::string>> declaredColumns(
      const std::vector<Column>& current) const {
    const Dialect& d = src_.dialect();
    auto lower = [](std::string s) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, type] : spec_.columns) {
      std::string stored = d.storedName(name);
      if (d.namesCaseInsensitive()) {
        for (const auto& c : current)
          if (lower(c.name) == lower(stored)) stored = c.name;
      }
      out.emplace_back(stored, type);
    }
    return out;
  }

  config::ProbeConfig cfg_;
  const config::SchemaSpec& spec_;
  SqlSource& src_;
  CatalogQuery catalog_;
};

}  // namespace

Result<std::unique_ptr<Probe>> makeSchemaProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<SchemaProbe, SqlSource>(cfg, source, "schema probes need a SQL source");
}

}  // namespace datawatch
