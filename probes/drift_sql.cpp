#include "probes/drift_sql.hpp"

#include <cstdio>

namespace datawatch {

std::string exactDecimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

DriftSql::DriftSql(const SqlSource& src, const std::string& table, const std::string& column)
    : src_(src),
      d_(src.dialect()),
      table_(src.dialect().qualified(table)),
      column_(src.dialect().ident(column)) {}

std::string DriftSql::firstValue() const {
  return d_.selectLimited(column_ + " FROM " + table_ + " WHERE " + column_ + " IS NOT NULL", 1);
}

std::string DriftSql::rowCount(const DriftScope& s) const {
  return "SELECT count(*) FROM " + table_ + (s.where.empty() ? "" : " WHERE " + s.where);
}

std::string DriftSql::pgTableStats() const {
  return "SELECT reltuples::float8, relpages::float8 FROM pg_class WHERE oid = to_regclass(" +
         src_.placeholder(1) + ")";
}

std::string DriftSql::pgExplain(const DriftScope& s) const {
  return "EXPLAIN (FORMAT JSON) SELECT 1 FROM " + table_ +
         (s.where.empty() ? "" : " WHERE " + s.where);
}

std::string DriftSql::rowsOf(const DriftScope& s, const std::string& expr) const {
  std::string sql = "SELECT " + expr + " AS v FROM " + table_;
  std::vector<std::string> where;
  if (!s.where.empty()) where.push_back(s.where);
  if (s.sample_method == "system" || s.sample_method == "bernoulli") {
    sql += d_.tablesample(s.sample_method == "system", s.sample_percent, s.seed);
  } else if (s.sample_method == "random") {
    where.push_back(d_.randomBelow(s.sample_percent / 100, s.seed));
  }
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
  return sql;
}

std::string DriftSql::numericExpr() const {
  return d_.castDouble(column_);
}
std::string DriftSql::textExpr() const {
  return d_.castText(column_);
}

std::string DriftSql::numericStats(const DriftScope& s, int bins, QuantileSql* shape) const {
  std::vector<double> fractions;
  for (int j = 1; j < bins; ++j) fractions.push_back(double(j) / bins);
  *shape = d_.quantiles("v", fractions);
  if (shape->shape != QuantileSql::Shape::OrderStatistics) {
    return "SELECT count(v), min(v), max(v), avg(v), " + d_.stddevPop("v") + ", " + shape->select +
           " FROM (" + rowsOf(s, numericExpr()) + ") s";
  }
  // No percentile function: the order statistics around each quantile position
  // h = (n-1)·j/B come back (2 rows per quantile) and drift.cpp interpolates
  // them exactly as percentile_cont does. The statement reads the sample `s`
  // three times; each reference sees the same rows (SQLite materialises it,
  // MySQL's RAND(seed) repeats, SQL Server's TABLESAMPLE is REPEATABLE).
  const std::string bs = std::to_string(bins);
  std::string ks;
  for (int j = 1; j < bins; ++j)
    ks += (j > 1 ? " UNION ALL SELECT " : "SELECT ") + std::to_string(j);
  const std::string pos = d_.intDiv("(st.n - 1) * k.j", bs);
  return "WITH s" + d_.materialized() + "(" + rowsOf(s, numericExpr()) +
         "), st AS (SELECT count(v) AS n, min(v) AS lo, max(v) AS hi, avg(v) AS a FROM s), "
         "o AS (SELECT v, row_number() OVER (ORDER BY v) - 1 AS i FROM s WHERE v IS NOT NULL), "
         "k(j) AS (" +
         ks +
         ") SELECT -1, st.n, st.lo, st.hi, st.a, (SELECT avg((s.v - st.a) * (s.v - st.a)) FROM s) "
         "FROM st UNION ALL SELECT k.j, o.i, o.v, NULL, NULL, NULL FROM k CROSS JOIN st JOIN o "
         "ON o.i = " +
         pos + " OR o.i = " + pos + " + 1";
}

std::string DriftSql::topCategories(const DriftScope& s, int bins) const {
  return d_.selectLimited("v, count(*) FROM (" + rowsOf(s, textExpr()) +
                              ") s WHERE v IS NOT NULL GROUP BY v ORDER BY count(*) DESC, " +
                              d_.binaryOrder("v"),
                          bins);
}

std::string DriftSql::histogram(const std::string& inner, const std::string& key,
                                bool numeric) const {
  return "SELECT b, count(*), min(x), max(x), avg(x) FROM (SELECT " + key + " AS b, " +
         (numeric ? "v" : d_.castDouble("NULL")) + " AS x FROM (" + inner + ") s) h GROUP BY b";
}

std::string DriftSql::numericHistogram(const DriftScope& s, double min,
                                       const std::vector<double>& thresholds,
                                       std::vector<SqlValue>& params) const {
  int p = static_cast<int>(params.size()) + 1;
  std::string key = "CASE WHEN v IS NULL THEN -1 WHEN v < " + src_.placeholder(p++) + " THEN 0";
  params.emplace_back(min);
  const auto m = static_cast<int64_t>(thresholds.size());
  if (d_.id() == DialectId::Postgres) {
    // width_bucket counts thresholds <= its operand; on -v over the negated
    // thresholds that is the count of thresholds >= v, so m - it = #{t < v}.
    std::string neg = "{";
    for (auto it = thresholds.rbegin(); it != thresholds.rend(); ++it)
      neg += (it == thresholds.rbegin() ? "" : ",") + exactDecimal(-*it);
    params.emplace_back(neg + "}");
    key += " ELSE " + std::to_string(m + 1) + " - width_bucket(-v, " + src_.placeholder(p++) +
           "::float8[]) END";
  } else {
    for (int64_t i = 0; i < m; ++i) {
      key += " WHEN v <= " + src_.placeholder(p++) + " THEN " + std::to_string(i + 1);
      params.emplace_back(thresholds[static_cast<size_t>(i)]);
    }
    key += " ELSE " + std::to_string(m + 1) + " END";
  }
  return histogram(rowsOf(s, numericExpr()), key, true);
}

std::string DriftSql::categoricalHistogram(const DriftScope& s,
                                           const std::vector<std::string>& categories,
                                           std::vector<SqlValue>& params) const {
  int p = static_cast<int>(params.size()) + 1;
  std::string key = "CASE WHEN v IS NULL THEN -1";
  for (size_t i = 0; i < categories.size(); ++i) {
    key += " WHEN v = " + src_.placeholder(p++) + " THEN " + std::to_string(i);
    params.emplace_back(categories[i]);
  }
  key += " ELSE " + std::to_string(categories.size()) + " END";
  return histogram(rowsOf(s, textExpr()), key, false);
}

std::string DriftSql::newCategories(const DriftScope& s, const std::vector<std::string>& categories,
                                    int64_t limit, std::vector<SqlValue>& params) const {
  int p = static_cast<int>(params.size()) + 1;
  std::string list;
  for (const auto& c : categories) {
    list += (list.empty() ? "" : ", ") + src_.placeholder(p++);
    params.emplace_back(c);
  }
  return d_.selectLimited("v, count(*) FROM (" + rowsOf(s, textExpr()) + ") s WHERE v IS NOT NULL" +
                              (list.empty() ? "" : " AND v NOT IN (" + list + ")") +
                              " GROUP BY v ORDER BY count(*) DESC, v",
                          limit);
}

}  // namespace datawatch
