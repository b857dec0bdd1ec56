#pragma once
// The statements a drift probe runs (drift.cpp runs them and reads the rows),
// built for its source's Dialect. Histograms are computed in the database: only
// bin counts cross the wire.
//
// Parameter numbering: a scope's condition uses placeholders 1..k (its params);
// statements that bind more values append them after the scope's and number on.

#include <string>
#include <vector>

#include "probes/source.hpp"

namespace datawatch {

// Which rows a histogram reads: a condition on the time column (placeholders
// from 1) with its parameters, or the whole table; and how they are sampled.
struct DriftScope {
  std::string where;  // "" = the whole table
  std::vector<SqlValue> params;
  std::string sample_method = "none";  // none | system | bernoulli | random
  double sample_percent = 100;
  int64_t seed = 0;
};

class DriftSql {
 public:
  DriftSql(const SqlSource& src, const std::string& table, const std::string& column);

  // One non-null value of the column (to tell numeric from text).
  std::string firstValue() const;
  // count(*) of the scope's rows.
  std::string rowCount(const DriftScope& s) const;
  // PostgreSQL only: the table's reltuples and relpages; the planner's estimate of the scope.
  std::string pgTableStats() const;
  std::string pgExplain(const DriftScope& s) const;

  // "SELECT <expr> AS v FROM t [TABLESAMPLE ...] [WHERE ...]" of `s`.
  std::string rowsOf(const DriftScope& s, const std::string& expr) const;
  std::string numericExpr() const;
  std::string textExpr() const;

  // count, min, max, avg, stddev_pop of v and its quantiles at j/bins
  // (j = 1..bins-1), in the dialect's shape (QuantileSql). For
  // OrderStatistics the rows are: (-1, n, min, max, avg, variance), then per
  // quantile j the two order statistics around rank (n-1)·j/bins: (j, rank, value).
  std::string numericStats(const DriftScope& s, int bins, QuantileSql* shape) const;
  // The top `bins` categories (value, count), count desc then value.
  std::string topCategories(const DriftScope& s, int bins) const;
  // (bin, count, min, max, avg) per bin; appends the bound values to `params`.
  std::string numericHistogram(const DriftScope& s, double min,
                               const std::vector<double>& thresholds,
                               std::vector<SqlValue>& params) const;
  std::string categoricalHistogram(const DriftScope& s, const std::vector<std::string>& categories,
                                   std::vector<SqlValue>& params) const;
  // Up to `limit` values of the scope outside `categories` (value, count).
  std::string newCategories(const DriftScope& s, const std::vector<std::string>& categories,
                            int64_t limit, std::vector<SqlValue>& params) const;

 private:
  std::string histogram(const std::string& inner, const std::string& key, bool numeric) const;
  const SqlSource& src_;
  const Dialect& d_;
  std::string table_, column_;
};

// Exact decimal text of a double, for bound parameters and stored baselines.
std::string exactDecimal(double v);

}  // namespace datawatch
