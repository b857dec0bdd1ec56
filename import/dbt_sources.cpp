// Planner::source and Planner::contract: source freshness and model contracts
// as probes (dbt_plan.hpp).
#include "import/dbt_plan.hpp"

namespace datawatch::dbt {
namespace {

// dbt's {count, period} as a datawatch duration and in seconds ("" / 0: none).
struct Period {
  std::string text;
  int64_t seconds = 0;
};
Period period(const json* after) {
  if (after == nullptr) return {};
  const json* count = member(*after, "count");
  // At most ~27 years of days: n * 86400 stays far inside int64.
  if (count == nullptr || !count->is_number_integer() || count->get<int64_t>() <= 0 ||
      count->get<int64_t>() > 10'000'000)
    return {};
  const auto p = str(*after, "period");
  const int64_t n = count->get<int64_t>();
  if (p == "minute") return {std::to_string(n) + "m", n * 60};
  if (p == "hour") return {std::to_string(n) + "h", n * 3600};
  if (p == "day") return {std::to_string(n) + "d", n * 86400};
  return {};
}

std::string text(const json& node, const char* key) {
  std::string s = str(node, key);
  if (const json* c = config(node, key); s.empty() && c != nullptr && c->is_string())
    s = c->get<std::string>();
  return s;
}

// The age in seconds of the timestamp `query` returns (dbt's loaded_at_query,
// which dbt reads as `(select * from (query))`), computed by the warehouse
// against its own clock as dbt does; nullopt where datawatch has no verified
// expression for the current time in UTC.
std::optional<std::string> ageQuery(const Dialect* d, const std::string& query) {
  if (d == nullptr) return std::nullopt;
  switch (d->id()) {
    case DialectId::SqlServer:   // CURRENT_TIMESTAMP is the server's local time
    case DialectId::ClickHouse:  // no CURRENT_TIMESTAMP
      return std::nullopt;
    default: break;
  }
  return "SELECT " + d->epochSeconds("CURRENT_TIMESTAMP") + " - " +
         d->epochSeconds("(SELECT * FROM (\n" + query + "\n) dbt_loaded_at)");
}

}  // namespace

void Planner::source(const std::string& id, const json& src) {
  const json* fresh = member(src, "freshness");
  if (fresh == nullptr || !fresh->is_object()) fresh = config(src, "freshness");
  if (fresh == nullptr || !fresh->is_object()) return;
  const Period error = period(member(*fresh, "error_after"));
  const Period warn = period(member(*fresh, "warn_after"));
  if (error.text.empty() && warn.text.empty()) return;
  const std::string base = str(src, "source_name") + "_" + str(src, "name") + "_fresh";
  struct Level {
    Period max_age;
    bool warn;
    std::string base;
  };
  std::vector<Level> levels;
  if (!error.text.empty()) levels.push_back({error, false, base});
  if (!warn.text.empty() && warn.seconds != error.seconds)
    levels.push_back({warn, true, error.text.empty() ? base : base + "__warn"});
  const std::string loaded_at = text(src, "loaded_at_field");
  const std::string query = text(src, "loaded_at_query");
  if (loaded_at.empty() && query.empty())
    return skip(id,
                "freshness without loaded_at_field: dbt reads the warehouse's table metadata; "
                "datawatch reads a column");
  if (!loaded_at.empty() && !Naming::identifier(loaded_at))
    return skip(id, "freshness: loaded_at_field \"" + loaded_at +
                        "\" is an SQL expression; datawatch's freshness reads a column");
  const std::string filter = str(*fresh, "filter");
  if (hasJinja(query) || hasJinja(filter))
    return skip(id, "freshness: its " +
                        std::string(hasJinja(query) ? "loaded_at_query" : "filter") +
                        " holds Jinja, which dbt renders when it runs");
  if (const std::string bad = notOneQuery(query); !query.empty() && !bad.empty())
    return skip(id, "freshness: its loaded_at_query " + bad);
  if (naming_.relation(src).empty())
    return skip(id, "freshness: the source names no table (identifier or name)");
  std::optional<std::string> age;
  if (loaded_at.empty()) {
    age = ageQuery(naming_.dialect, query);
    if (!age)
      return skip(id, "freshness: loaded_at_query on " + naming_.warehouse.vendor +
                          ": datawatch has no verified SQL for the current UTC time there");
  }
  for (const auto& l : levels) {
    Plan p;
    p.base = l.base;
    p.node = id;
    p.warn = l.warn;
    p.owner = ownerOf(src, m_);
    p.from = {id};
    p.table = naming_.relation(src);
    if (age) {
      p.kind = Plan::Kind::Sql;
      p.table.clear();  // the query names its relations itself
      p.query = *age;
      p.sql_must = "<= " + std::to_string(l.max_age.seconds);
      p.note = "freshness from loaded_at_query: the age in seconds, at most " + l.max_age.text;
    } else {
      p.kind = Plan::Kind::Freshness;
      p.column = naming_.asWritten(loaded_at);
      p.max_age = l.max_age.text;
      if (!filter.empty()) p.filter = filter;
      p.note = "freshness";
    }
    plans.push_back(std::move(p));
  }
}

void Planner::contract(const std::string& id, const json& node) {
  const json* c = config(node, "contract");
  if (c == nullptr) c = member(node, "contract");
  const json* enforced = c ? member(*c, "enforced") : nullptr;
  if (enforced == nullptr || !enforced->is_boolean() || !enforced->get<bool>()) return;
  if (naming_.relation(node).empty()) return skip(id, "contract: the model names no table");
  Plan p;
  p.kind = Plan::Kind::Schema;
  p.base = str(node, "name") + "__contract";
  p.node = id;
  p.table = naming_.relation(node);
  p.owner = ownerOf(node, m_);
  p.from = {id};
  p.note = "contract (enforced)";
  const json* columns = member(node, "columns");
  if (columns != nullptr && columns->is_object()) {
    for (const auto& [key, col] : columns->items()) {
      const std::string name = naming_.column(key, &node);
      p.schema_columns.emplace_back(name, str(col, "data_type"));
      const json* constraints = member(col, "constraints");
      if (constraints == nullptr || !constraints->is_array()) continue;
      for (const auto& k : *constraints)
        if (str(k, "type") == "not_null") p.required.push_back(name);
    }
  }
  if (p.schema_columns.empty()) return skip(id, "contract enforced without columns");
  plans.push_back(std::move(p));
}

}  // namespace datawatch::dbt
