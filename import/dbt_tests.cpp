// Planner::test: dbt's generic and singular tests as probes (dbt_plan.hpp).
#include <algorithm>

#include "core/ascii.hpp"
#include "import/dbt_plan.hpp"

namespace datawatch::dbt {
namespace {

std::string whereOf(const json& test) {
  const json* w = config(test, "where");
  return w && w->is_string() ? w->get<std::string>() : "";
}

bool countStar(const std::string& fail_calc) {
  std::string calc = asciiLower(fail_calc);
  calc.erase(std::remove(calc.begin(), calc.end(), ' '), calc.end());
  return calc == "count(*)";
}

bool countsRows(const Levels& l) {
  return countStar(l.fail_calc);
}

// dbt's failure count of a test's compiled SQL (the rows it returns). Another
// fail_calc (sum(n_records)) is NULL over no rows, which dbt passes (its
// should_warn/should_error are NULL, not true): 0 here.
std::string countQuery(const std::string& fail_calc, std::string code) {
  while (!code.empty() &&
         (std::isspace(static_cast<unsigned char>(code.back())) != 0 || code.back() == ';'))
    code.pop_back();
  const std::string calc = countStar(fail_calc) ? fail_calc : "coalesce(" + fail_calc + ", 0)";
  // The newline ends a trailing -- comment before the parenthesis.
  return "SELECT " + calc + " FROM (\n" + code + "\n) dbt_test";
}

std::string columnOf(const json& test, const json& kwargs) {
  std::string column = str(kwargs, "column_name");
  return column.empty() ? str(test, "column_name") : column;
}

bool isNumber(const std::string& s) {
  size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) != 0)
      digits = true;
    else if (s[i] == '.' && !dot)
      dot = true;
    else
      return false;
  }
  return digits;
}

// accepted_values' values as the values probe compares them (bound as text):
// with dbt's default quote: true, as dbt writes them into '{{ value }}' (Python's
// True/False/None); with quote: false each is an SQL literal, kept when it is a
// number, a boolean or a '...' string (unquoted), else nullopt: an SQL
// expression only dbt's compiled SQL has.
std::optional<std::vector<std::string>> acceptedValues(const json& kwargs) {
  const json* values = member(kwargs, "values");
  const json* q = member(kwargs, "quote");
  const bool quote = !(q != nullptr && q->is_boolean() && !q->get<bool>());
  std::vector<std::string> out;
  if (values == nullptr || !values->is_array()) return out;
  for (const auto& v : *values) {
    if (v.is_boolean()) {
      const bool b = v.get<bool>();
      out.push_back(quote ? (b ? "True" : "False") : (b ? "true" : "false"));
    } else if (v.is_number()) {
      out.push_back(v.dump());
    } else if (v.is_null() && quote) {
      out.push_back("None");
    } else if (v.is_string() && quote) {
      out.push_back(v.get<std::string>());
    } else if (v.is_string()) {
      const std::string t = v.get<std::string>();
      if (isNumber(t) || asciiLower(t) == "true" || asciiLower(t) == "false") {
        out.push_back(asciiLower(t));
        continue;
      }
      if (t.size() < 2 || t.front() != '\'' || t.back() != '\'') return std::nullopt;
      std::string inner;
      for (size_t i = 1; i + 1 < t.size(); ++i) {
        if (t[i] == '\'' && (i + 2 >= t.size() || t[i + 1] != '\'')) return std::nullopt;
        inner += t[i];
        if (t[i] == '\'') ++i;  // '' stands for '
      }
      out.push_back(inner);
    } else {
      return std::nullopt;
    }
  }
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
  if (naming_.relation(*t.node).empty())
    return skip(id, label + ": " + t.id + " names no table (alias, identifier or name)");
  const bool column_test = kind == "not_null" || kind == "unique" || kind == "accepted_values";
  const std::string column = columnOf(node, kwargs);
  if ((column_test || kind == "relationships") && column.empty())
    return skip(id, label + ": names no column");
  if (kind == "accepted_values") {
    const json* values = member(kwargs, "values");
    if (values == nullptr || !values->is_array() || values->empty())
      return skip(id, label + ": no values");
  }
  // dbt allows an expression (lower(email)), Jinja in `where` and SQL
  // expressions as accepted values (quote: false); only the compiled SQL has
  // them as dbt runs them.
  std::string compiled_only;
  if (!column.empty() && !Naming::identifier(column))
    compiled_only = "column_name \"" + column + "\" is an SQL expression";
  else if (hasJinja(whereOf(node)))
    compiled_only = "its where holds Jinja (\"" + whereOf(node) + "\")";
  else if (kind == "accepted_values" && !acceptedValues(kwargs))
    compiled_only = "its values (quote: false) are SQL expressions";
  if (!compiled_only.empty()) {
    if (compiledCode(node).empty())
      return skip(id,
                  label + ": " + compiled_only +
                      ", and the manifest has no compiled SQL for it (run `dbt compile` first)");
    Levels counted = *levels;
    counted.plain = false;
    return perLevel(id, node, label, t, kwargs, counted);
  }
  if (levels->plain && column_test)
    return merge(id, node, kind, t, kwargs, levels->warn.has_value());
  if (kind == "unique_combination_of_columns" && ns == "dbt_utils") {
    // Not a values probe: dbt_utils groups NULL keys like any other (two rows
    // with the same NULLs are a duplicate), the values probe skips them.
    std::string cols;
    if (const json* list = member(kwargs, "combination_of_columns"); list && list->is_array())
      for (const auto& c : *list)
        if (c.is_string()) cols += "_" + c.get<std::string>();
    return perLevel(id, node, label, t, kwargs, *levels,
                    cols.empty() ? "" : nameOf(t) + "_" + cols);
  }
  perLevel(id, node, label, t, kwargs, *levels);
}

void Planner::merge(const std::string& id, const json& node, const std::string& kind,
                    const Target& t, const json& kwargs, bool warn) {
  const std::string where = whereOf(node);
  const std::string column = naming_.column(columnOf(node, kwargs), t.node);
  const std::string key = t.id + "|" + column + "|" + where + (warn ? "|warn" : "|error");
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
    if (!where.empty()) np.filter = where;
    np.base = it == groups_.end() ? nameOf(t) + "__" + column + (warn ? "__warn" : "")
                                  : str(node, "name");
    if (it == groups_.end()) groups_[key] = plans.size();
    plans.push_back(std::move(np));
    p = &plans.back();
  }
  if (kind == "not_null") p->not_null = true;
  if (kind == "unique") p->unique = true;
  if (accepted)
    if (auto values = acceptedValues(kwargs))
      for (auto& v : *values) p->accepted.push_back(std::move(v));
}

void Planner::perLevel(const std::string& id, const json& node, const std::string& kind,
                       const Target& t, const json& kwargs, const Levels& levels,
                       const std::string& base) {
  const std::string name = base.empty() ? str(node, "name") : base;
  if (levels.error && !levelProbe(id, node, kind, t, kwargs, levels, *levels.error, false, name))
    return;
  if (levels.warn)
    levelProbe(id, node, kind, t, kwargs, levels, *levels.warn, true,
               levels.error ? name + "__warn" : name);
}

// dbt's failure count of a relationships or unique_combination_of_columns
// test built through the dialect, where dbt's count is the rows and `where`
// is SQL; else nullopt, with *why set when a reason applies.
std::optional<std::string> Planner::builtQuery(const std::string& kind, const json& node,
                                               const json& kwargs, const Target& t,
                                               const Levels& levels, std::string* column,
                                               std::string* why) const {
  const std::string where = whereOf(node);
  const std::string raw = columnOf(node, kwargs);
  if (naming_.dialect == nullptr)
    *why =
        "no SQL dialect for adapter \"" + naming_.warehouse.adapter + "\" to quote its names with";
  else if (!notOneQuery(where).empty())
    *why = "its where " + notOneQuery(where);
  if (!why->empty() || !countsRows(levels) || hasJinja(where)) return std::nullopt;
  std::optional<std::string> built;
  if (kind == "relationships" && Naming::identifier(raw)) {
    built = relationshipsSql(kwargs, where, why);
    *column = naming_.column(raw, t.node);
  } else if (kind == "dbt_utils.unique_combination_of_columns") {
    built = combinationSql(kwargs, where, why);
  }
  if (built && built->find(';') != std::string::npos) {  // in a quoted name: still refused
    *why = "a name it quotes holds ';' (datawatch runs one statement)";
    return std::nullopt;
  }
  return built;
}

bool Planner::levelProbe(const std::string& id, const json& node, const std::string& kind,
                         const Target& t, const json& kwargs, const Levels& levels,
                         const config::Bound& pass, bool warn, const std::string& base) {
  const std::string code = compiledCode(node);
  const std::string where = whereOf(node);
  const bool count = countsRows(levels);
  const std::string raw = columnOf(node, kwargs);
  Plan p = testPlan(id, node, t, warn);
  p.base = base;
  p.kind = Plan::Kind::Sql;
  p.sql_must = pass.str();
  std::string why;
  const auto built = builtQuery(kind, node, kwargs, t, levels, &p.column, &why);
  if (built) {
    p.query = *built;
  } else if (!code.empty()) {
    if (std::string bad = notOneQuery(code) + notOneQuery(levels.fail_calc); !bad.empty()) {
      skip(id, kind + ": its compiled SQL or fail_calc " + bad);
      return false;
    }
    p.column.clear();
    p.table.clear();  // dbt's SQL names its relations itself
    p.query = countQuery(levels.fail_calc, code);
    p.note = "dbt's compiled SQL";
  } else if (kind == "not_null" && count) {
    p.kind = Plan::Kind::Values;
    p.column = naming_.column(raw, t.node);
    if (!where.empty()) p.filter = where;
    p.must["nulls"] = pass.str();
  } else if (kind == "unique" && count && notOneQuery(where).empty()) {
    // dbt's failures: the values that occur more than once.
    p.column = naming_.column(raw, t.node);
    p.query = "SELECT count(*) FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL" +
              (where.empty() ? "" : " AND (" + where + ")") +
              " GROUP BY {column} HAVING count(*) > 1) dbt_test";
  } else {
    if (why.empty() || !(kind == "relationships" || kind == "unique" ||
                         kind == "dbt_utils.unique_combination_of_columns"))
      why = levels.plain ? "no datawatch equivalent"
                         : "warn_if/error_if/fail_calc other than dbt's defaults: datawatch "
                           "counts its failures only from dbt's SQL";
    skip(id, kind + ": " + why +
                 ", and the manifest has no compiled SQL for it (run `dbt compile` first)");
    return false;
  }
  plans.push_back(std::move(p));
  return true;
}

// dbt's relationships failures: the child rows (where `where` holds) whose
// non-null key has no parent row. The parent's names quoted by the dialect.
std::optional<std::string> Planner::relationshipsSql(const json& kwargs, const std::string& where,
                                                     std::string* why) const {
  const std::string to = str(kwargs, "to");
  const std::string field = str(kwargs, "field");
  const json* parent = m_.find(resolveRef(to, m_));
  if (parent == nullptr || field.empty() || naming_.relation(*parent).empty()) {
    *why = "cannot resolve its parent (to: " + to + ", field: " + field + ")";
    return std::nullopt;
  }
  if (!Naming::identifier(field)) {
    *why = "its field \"" + field + "\" is an SQL expression";
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

// dbt_utils.unique_combination_of_columns' failures: the keys that occur more
// than once among the rows where `where` holds, NULLs grouped as GROUP BY
// groups them (dbt_utils skips no NULL key). quote_columns: true quotes each
// name exactly as written.
std::optional<std::string> Planner::combinationSql(const json& kwargs, const std::string& where,
                                                   std::string* why) const {
  const json* list = member(kwargs, "combination_of_columns");
  const json* q = member(kwargs, "quote_columns");
  const bool quote = q != nullptr && q->is_boolean() && q->get<bool>();
  std::string keys;
  if (list == nullptr || !list->is_array() || list->empty()) {
    *why = "no combination_of_columns";
    return std::nullopt;
  }
  for (const auto& c : *list) {
    const std::string name = c.is_string() ? c.get<std::string>() : c.dump();
    if (!c.is_string() || name.empty() || (!quote && !Naming::identifier(name))) {
      *why = "its column \"" + name + "\" is an SQL expression";
      return std::nullopt;
    }
    std::string exact = "\"";
    for (char ch : name) exact += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    keys += (keys.empty() ? "" : ", ") +
            naming_.dialect->ident(naming_.asWritten(quote ? exact + "\"" : name));
  }
  return "SELECT count(*) FROM (SELECT " + keys + " FROM {table}" +
         (where.empty() ? "" : " WHERE " + where) + " GROUP BY " + keys +
         " HAVING count(*) > 1) dbt_test";
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
  if (std::string bad = notOneQuery(code) + notOneQuery(levels->fail_calc); !bad.empty())
    return skip(id, "singular test: its compiled SQL or fail_calc " + bad);
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
