// Planner::test: dbt's generic and singular tests as probes (dbt_plan.hpp).
#include <algorithm>

#include "import/dbt_plan.hpp"

namespace datawatch::dbt {
namespace {

std::string whereOf(const json& test) {
  const json* w = config(test, "where");
  return w && w->is_string() ? w->get<std::string>() : "";
}

bool countsRows(const Levels& l) {
  std::string calc = lower(l.fail_calc);
  calc.erase(std::remove(calc.begin(), calc.end(), ' '), calc.end());
  return calc == "count(*)";
}

// dbt's failure count of a test's compiled SQL (the rows it returns).
std::string countQuery(const std::string& fail_calc, std::string code) {
  while (!code.empty() &&
         (std::isspace(static_cast<unsigned char>(code.back())) != 0 || code.back() == ';'))
    code.pop_back();
  // The newline ends a trailing -- comment before the parenthesis.
  return "SELECT " + fail_calc + " FROM (\n" + code + "\n) dbt_test";
}

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The nodes a test names: attached_node and depends_on.nodes, as written.
std::vector<std::string> testedIds(const json& test) {
  std::vector<std::string> ids;
  if (auto a = str(test, "attached_node"); !a.empty()) ids.push_back(a);
  const json* deps = member(test, "depends_on");
  const json* nodes = deps ? member(*deps, "nodes") : nullptr;
  if (nodes != nullptr && nodes->is_array())
    for (const auto& n : *nodes)
      if (n.is_string()) ids.push_back(n.get<std::string>());
  return ids;
}

}  // namespace

Planner::Target Planner::targetOf(const json& test, const json& kwargs) const {
  Target t;
  t.id = str(test, "attached_node");  // dbt >= 1.5
  if (t.id.empty()) t.id = resolveRef(str(kwargs, "model"), m_);
  if (t.id.empty()) {
    const std::string parent = resolveRef(str(kwargs, "to"), m_);
    for (const auto& d : dependsOn(test, m_))
      if (d != parent) {
        t.id = d;
        break;
      }
  }
  t.node = m_.find(t.id);
  return t;
}

std::string Planner::nameOf(const Target& t) const {
  if (str(*t.node, "resource_type") == "source")
    return str(*t.node, "source_name") + "_" + str(*t.node, "name");
  return str(*t.node, "name");
}

Plan Planner::testPlan(const std::string& id, const json& node, const Target& t, bool warn) const {
  Plan p;
  p.node = t.id;
  p.table = naming_.relation(*t.node);
  p.warn = warn;
  p.owner = ownerOf(node, m_);
  if (p.owner.empty()) p.owner = ownerOf(*t.node, m_);
  p.from = {id};
  return p;
}

void Planner::test(const std::string& id, const json& node) {
  const json* meta = member(node, "test_metadata");
  if (meta == nullptr || !meta->is_object()) return singular(id, node);
  const std::string kind = str(*meta, "name");
  const std::string ns = str(*meta, "namespace");
  const std::string label = ns.empty() || ns == "dbt" ? kind : ns + "." + kind;
  const json kwargs = meta->value("kwargs", json::object());
  std::string why;
  const auto levels = levelsOf(node, &why);
  if (!levels) return skip(id, label + ": " + why);
  const Target t = targetOf(node, kwargs);
  if (t.node == nullptr) {
    for (const auto& tested : testedIds(node)) {
      if (member(m_.disabled, tested.c_str()) == nullptr) continue;
      skipped.disabled.push_back(id + " (" + label + " on " + tested + ", disabled in dbt)");
      return;
    }
    return skip(id, label + ": cannot resolve the model or source it tests");
  }
  const bool column_test = kind == "not_null" || kind == "unique" || kind == "accepted_values";
  std::string column = str(kwargs, "column_name");
  if (column.empty()) column = str(node, "column_name");
  if ((column_test || kind == "relationships") && column.empty())
    return skip(id, label + ": names no column");
  if (kind == "accepted_values") {
    const json* values = member(kwargs, "values");
    if (values == nullptr || !values->is_array() || values->empty())
      return skip(id, label + ": no values");
  }
  const bool combination = kind == "unique_combination_of_columns";
  const bool expression = !column.empty() && !Naming::identifier(column);
  if (expression || hasJinja(whereOf(node))) {
    // dbt allows an expression (lower(email)) and Jinja in `where`; only the
    // compiled SQL has them as dbt runs them.
    if (compiledCode(node).empty())
      return skip(id,
                  label + ": " +
                      (expression ? "column_name \"" + column + "\" is an SQL expression"
                                  : "its where holds Jinja (\"" + whereOf(node) + "\")") +
                      ", and the manifest has no compiled SQL for it (run `dbt compile` first)");
    Levels counted = *levels;
    counted.plain = false;
    return perLevel(id, node, label, t, kwargs, counted);
  }
  if (levels->plain && (column_test || combination))
    return merge(id, node, kind, t, kwargs, levels->warn.has_value());
  perLevel(id, node, label, t, kwargs, *levels);
}

void Planner::merge(const std::string& id, const json& node, const std::string& kind,
                    const Target& t, const json& kwargs, bool warn) {
  const std::string where = whereOf(node);
  std::string column;
  std::vector<std::string> columns;
  if (kind == "unique_combination_of_columns") {
    const json* list = member(kwargs, "combination_of_columns");
    if (list != nullptr && list->is_array())
      for (const auto& c : *list)
        if (c.is_string()) columns.push_back(naming_.asWritten(c.get<std::string>()));
    if (columns.empty()) return skip(id, "dbt_utils.unique_combination_of_columns: no columns");
    if (columns.size() == 1) column = columns[0], columns.clear();
  } else {
    std::string raw = str(kwargs, "column_name");
    if (raw.empty()) raw = str(node, "column_name");
    column = naming_.column(raw, t.node);
  }
  const std::string what = columns.empty() ? column : joined(columns, ",");
  const std::string key = t.id + "|" + what + "|" + where + (warn ? "|warn" : "|error");
  auto it = groups_.find(key);
  const bool accepted = kind == "accepted_values";
  Plan* p = nullptr;
  if (it != groups_.end() && !(accepted && !plans[it->second].accepted.empty())) {
    p = &plans[it->second];
    p->from.push_back(id);
  } else {
    Plan np = testPlan(id, node, t, warn);
    np.kind = Plan::Kind::Values;
    np.column = column;
    np.columns = columns;
    if (!where.empty()) np.filter = where;
    np.base = it == groups_.end()
                  ? nameOf(t) + "__" + (columns.empty() ? column : joined(columns, "_")) +
                        (warn ? "__warn" : "")
                  : str(node, "name");
    if (it == groups_.end()) groups_[key] = plans.size();
    plans.push_back(std::move(np));
    p = &plans.back();
  }
  if (kind == "not_null") p->not_null = true;
  if (kind == "unique" || kind == "unique_combination_of_columns") p->unique = true;
  if (accepted)
    for (const auto& v : kwargs["values"])
      p->accepted.push_back(v.is_string() ? v.get<std::string>() : v.dump());
}

void Planner::perLevel(const std::string& id, const json& node, const std::string& kind,
                       const Target& t, const json& kwargs, const Levels& levels) {
  const std::string name = str(node, "name");
  if (levels.error && !levelProbe(id, node, kind, t, kwargs, levels, *levels.error, false, name))
    return;
  if (levels.warn)
    levelProbe(id, node, kind, t, kwargs, levels, *levels.warn, true,
               levels.error ? name + "__warn" : name);
}

bool Planner::levelProbe(const std::string& id, const json& node, const std::string& kind,
                         const Target& t, const json& kwargs, const Levels& levels,
                         const config::Bound& pass, bool warn, const std::string& base) {
  const std::string code = compiledCode(node);
  const std::string where = whereOf(node);
  const bool count = countsRows(levels);
  std::string raw = str(kwargs, "column_name");
  if (raw.empty()) raw = str(node, "column_name");
  Plan p = testPlan(id, node, t, warn);
  p.base = base;
  p.kind = Plan::Kind::Sql;
  p.sql_must = pass.str();
  if (kind == "relationships" && count && naming_.dialect != nullptr && Naming::identifier(raw)) {
    auto sql = relationshipsSql(id, kwargs, where);
    if (!sql) return false;
    p.column = naming_.column(raw, t.node);
    p.query = *sql;
  } else if (!code.empty()) {
    p.table.clear();  // dbt's SQL names its relations itself
    p.query = countQuery(levels.fail_calc, code);
    p.note = "dbt's compiled SQL";
  } else if (kind == "not_null" && count) {
    p.kind = Plan::Kind::Values;
    p.column = naming_.column(raw, t.node);
    if (!where.empty()) p.filter = where;
    p.must["nulls"] = pass.str();
  } else if (kind == "unique" && count) {
    // dbt's failures: the values that occur more than once.
    p.column = naming_.column(raw, t.node);
    p.query = "SELECT count(*) FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL" +
              (where.empty() ? "" : " AND (" + where + ")") +
              " GROUP BY {column} HAVING count(*) > 1) dbt_test";
  } else {
    std::string why = ": no datawatch equivalent";
    if (kind == "relationships" && naming_.dialect == nullptr)
      why = ": no SQL dialect for adapter \"" + naming_.warehouse.adapter +
            "\" to name its parent with";
    else if (!levels.plain)
      why =
          " with warn_if/error_if/fail_calc other than dbt's defaults: datawatch counts its "
          "failures only from dbt's SQL";
    skip(id,
         kind + why + ", and the manifest has no compiled SQL for it (run `dbt compile` first)");
    return false;
  }
  plans.push_back(std::move(p));
  return true;
}

// dbt's relationships failures: the child rows (where `where` holds) whose
// non-null key has no parent row. The parent's names quoted by the dialect.
std::optional<std::string> Planner::relationshipsSql(const std::string& id, const json& kwargs,
                                                     const std::string& where) {
  const std::string to = str(kwargs, "to");
  const std::string field = str(kwargs, "field");
  const json* parent = m_.find(resolveRef(to, m_));
  if (parent == nullptr || field.empty()) {
    skip(id, "relationships: cannot resolve its parent (to: " + to + ", field: " + field + ")");
    return std::nullopt;
  }
  const Dialect& d = *naming_.dialect;
  const std::string parent_sql = d.qualified(naming_.relation(*parent));
  const std::string field_sql = d.ident(naming_.asWritten(field));
  const std::string child =
      where.empty() ? "{table} dbt_child" : "(SELECT * FROM {table} WHERE " + where + ") dbt_child";
  return "SELECT count(*) FROM " + child +
         " WHERE dbt_child.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " + parent_sql +
         " dbt_parent WHERE dbt_parent." + field_sql + " = dbt_child.{column})";
}

void Planner::singular(const std::string& id, const json& node) {
  std::string why;
  const auto levels = levelsOf(node, &why);
  if (!levels) return skip(id, "singular test: " + why);
  const std::string code = compiledCode(node);
  if (code.empty())
    return skip(id,
                "singular test: the manifest has no compiled SQL for it (run `dbt compile` "
                "first)");
  const std::string name = str(node, "name");
  auto add = [&](const config::Bound& pass, bool warn, const std::string& base) {
    Plan p;
    p.kind = Plan::Kind::Sql;
    p.base = base;
    p.warn = warn;
    p.owner = ownerOf(node, m_);
    p.from = {id};
    p.reads = dependsOn(node, m_);
    p.query = countQuery(levels->fail_calc, code);
    p.sql_must = pass.str();
    p.note = "singular test, dbt's compiled SQL";
    plans.push_back(std::move(p));
  };
  if (levels->error) add(*levels->error, false, name);
  if (levels->warn) add(*levels->warn, true, levels->error ? name + "__warn" : name);
  skipped.singular.push_back(id);
}

}  // namespace datawatch::dbt
