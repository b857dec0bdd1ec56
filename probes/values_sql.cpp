// The statements of the values probe (values_sql.hpp).
#include "probes/values_sql.hpp"

#include <map>

#include "probes/dialect.hpp"

namespace datawatch::values_sql {
namespace {

constexpr int64_t kMaxSamples = 5;

// The markers of one statement: each config value is bound once and its
// marker reused wherever the statement needs it (markers are numbered, so a
// marker may appear more than once: SqlSource::placeholder).
class Marks {
 public:
  Marks(const SqlSource& src, int first) : src_(src), next_(first) {}
  std::string operator()(const std::string& key, SqlValue v) {
    auto [it, fresh] = markers_.try_emplace(key);
    if (fresh) {
      it->second = src_.placeholder(next_++);
      params.push_back(std::move(v));
    }
    return it->second;
  }
  std::vector<SqlValue> params;

 private:
  const SqlSource& src_;
  int next_;
  std::map<std::string, std::string> markers_;
};

// What every statement of one probe shares.
struct Parts {
  const config::ValuesSpec& s;
  const Dialect& d;
  const SqlSource& src;
  std::string col;           // the quoted column ("" for a composite key)
  std::string from;          // " FROM <table>[ WHERE <window/filter>]"
  std::string and_or_where;  // " AND " after a WHERE, else " WHERE "
  int first_marker;          // 3 with a window, else 1
};

std::string sumIf(const std::string& pred) {
  return "sum(CASE WHEN " + pred + " THEN 1 ELSE 0 END)";
}

std::string valueList(Marks& m, const std::string& key, const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + m(key + std::to_string(i), values[i]);
  return out;
}

// Each validity rule's predicate on a non-NULL value, "" when not configured,
// in the order of Count (kNotAccepted .. kWrongLength).
std::vector<std::string> rules(const Parts& p, Marks& m) {
  const auto& s = p.s;
  const std::string& c = p.col;
  std::vector<std::string> out(4);
  if (!s.accepted.empty()) out[0] = c + " NOT IN (" + valueList(m, "accepted", s.accepted) + ")";
  if (s.min || s.max) {
    std::string r;
    if (s.min) r = c + " < " + m("min", *s.min);
    if (s.max) r += (r.empty() ? "" : " OR ") + c + " > " + m("max", *s.max);
    out[1] = "(" + r + ")";
  }
  if (s.pattern) out[2] = "NOT (" + *p.d.regexMatch(c, m("pattern", *s.pattern)) + ")";
  if (s.min_length || s.max_length) {
    const std::string len = p.d.charLength(c);
    std::string r;
    if (s.min_length) r = len + " < " + m("min_length", *s.min_length);
    if (s.max_length) r += (r.empty() ? "" : " OR ") + len + " > " + m("max_length", *s.max_length);
    out[3] = "(" + r + ")";
  }
  return out;
}

// "col IS NOT NULL AND (rule OR rule ...)", or "" without a rule.
std::string invalidPredicate(const Parts& p, Marks& m) {
  std::string any;
  for (const auto& r : rules(p, m))
    if (!r.empty()) any += (any.empty() ? "" : " OR ") + r;
  return any.empty() ? "" : p.col + " IS NOT NULL AND (" + any + ")";
}

Statement countsOneColumn(const Parts& p) {
  Marks m(p.src, p.first_marker);
  const std::string& c = p.col;
  std::string sql = "SELECT count(*), " + sumIf(c + " IS NULL");
  sql += p.s.missing.empty() ? ", 0"
                             : ", " + sumIf(c + " IS NULL OR " + c + " IN (" +
                                            valueList(m, "missing", p.s.missing) + ")");
  for (const auto& r : rules(p, m))
    sql += r.empty() ? ", 0" : ", " + sumIf(c + " IS NOT NULL AND " + r);
  const std::string invalid = invalidPredicate(p, m);
  sql += invalid.empty() ? ", 0" : ", " + sumIf(invalid);
  sql += countsDuplicates(p.s) ? ", count(" + c + ") - count(DISTINCT " + c + ")" : ", 0";
  return {sql + p.from, std::move(m.params)};
}

// The quoted key columns, "a, b", and "a IS NULL AND b IS NULL".
std::pair<std::string, std::string> keyList(const Parts& p) {
  std::string keys, all_null;
  for (const auto& k : p.s.columns) {
    keys += (keys.empty() ? "" : ", ") + p.d.ident(k);
    all_null += (all_null.empty() ? "" : " AND ") + p.d.ident(k) + " IS NULL";
  }
  return {keys, all_null};
}

// A composite key: rows beyond the first of each key, over the rows whose key
// is not entirely NULL (NULLs in part of a key compare equal, as GROUP BY does).
Statement countsCompositeKey(const Parts& p) {
  std::string aliased, keys, all_null;
  for (size_t i = 0; i < p.s.columns.size(); ++i) {
    const std::string k = "k" + std::to_string(i + 1);
    aliased += p.d.ident(p.s.columns[i]) + " AS " + k + ", ";
    keys += (i ? ", " : "") + p.d.ident(p.s.columns[i]);
    all_null += (i ? " AND " : "") + k + " IS NULL";
  }
  std::string sql = "SELECT coalesce(sum(n), 0)";
  for (size_t i = kNulls; i < kDuplicates; ++i) sql += ", 0";
  sql += ", coalesce(sum(CASE WHEN " + all_null + " THEN 0 ELSE n - 1 END), 0) FROM (SELECT " +
         aliased + "count(*) AS n" + p.from + " GROUP BY " + keys + ") g";
  return {sql, {}};
}

Statement samples(const Parts& p) {
  Marks m(p.src, p.first_marker);
  const std::string invalid = invalidPredicate(p, m);
  if (invalid.empty()) return {};
  return {p.d.selectLimited(p.col + p.from + p.and_or_where + "(" + invalid + ") ORDER BY 1",
                            kMaxSamples, true),
          std::move(m.params)};
}

Statement duplicates(const Parts& p) {
  if (!countsDuplicates(p.s)) return {};
  if (p.s.columns.empty())
    return {p.d.selectLimited(p.col + p.from + p.and_or_where + p.col + " IS NOT NULL GROUP BY " +
                                  p.col + " HAVING count(*) > 1 ORDER BY count(*) DESC, 1",
                              kMaxSamples),
            {}};
  const auto [keys, all_null] = keyList(p);
  std::string order;
  for (size_t i = 1; i <= p.s.columns.size(); ++i) order += ", " + std::to_string(i);
  return {p.d.selectLimited(keys + p.from + p.and_or_where + "NOT (" + all_null + ") GROUP BY " +
                                keys + " HAVING count(*) > 1 ORDER BY count(*) DESC" + order,
                            kMaxSamples),
          {}};
}

}  // namespace

bool countsDuplicates(const config::ValuesSpec& s) {
  return s.unique || s.must.count(config::ValuesMetric::Duplicates) > 0;
}

bool hasValidityRule(const config::ValuesSpec& s) {
  return !s.accepted.empty() || s.min || s.max || s.pattern || s.min_length || s.max_length;
}

Result<Statements> build(const config::ProbeConfig& cfg, const SqlSource& src,
                         const std::string& window_condition) {
  const auto& s = std::get<config::ValuesSpec>(cfg.spec);
  const Dialect& d = src.dialect();
  if (s.pattern && !d.regexMatch("v", "m"))
    return Result<Statements>::Error(std::string("pattern is not available on ") + d.name() +
                                     " (it has no regular expressions; validate reports this)");
  std::vector<std::string> where;
  if (!window_condition.empty()) where.push_back(window_condition);
  if (s.filter) where.push_back("(" + *s.filter + ")");
  std::string from = " FROM " + d.qualified(cfg.table);
  for (size_t i = 0; i < where.size(); ++i) from += (i == 0 ? " WHERE " : " AND ") + where[i];
  const Parts p{s,
                d,
                src,
                s.columns.empty() ? d.ident(s.column) : "",
                from,
                where.empty() ? " WHERE " : " AND ",
                window_condition.empty() ? 1 : 3};
  Statements out;
  out.counts = s.columns.empty() ? countsOneColumn(p) : countsCompositeKey(p);
  if (s.columns.empty()) out.samples = samples(p);
  out.duplicates = duplicates(p);
  return out;
}

}  // namespace datawatch::values_sql
