#include "probes/drift.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/drift_stats.hpp"
#include "probes/sql_probes.hpp"
#include "probes/time_window.hpp"

namespace datawatch {
namespace {

using config::ColumnKind;
using config::DriftMethod;

constexpr int kMinRowsPerBin = 10;       // a baseline needs this many values per bin
constexpr double kMinSampledPages = 50;  // below this, TABLESAMPLE SYSTEM is too lumpy
constexpr size_t kTopMoved = 3;
constexpr size_t kNewCategories = 5;

// Exact decimal text of a double, for bound parameters and stored baselines.
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string percent(double ratio) {
  return formatNumber(std::round(ratio * 1000) / 10) + "%";
}

// Which rows a histogram reads: a condition on the time column (placeholders
// from 1) with its parameters, or the whole table; and how they are sampled.
struct Scope {
  std::string where;  // "" = the whole table
  std::vector<SqlValue> params;
  nlohmann::json describe = nlohmann::json::object();  // {from, to} or {}
  std::string sample_method = "none";                  // none | system | bernoulli | random
  double sample_percent = 100;
  int64_t seed = 0;
};

// The bins both histograms share.
struct Bins {
  bool numeric = true;
  // numeric: below (< min), [min, t1], (t1, t2], ..., (t_{m-1}, t_m = max], above (> max)
  double min = 0;
  std::vector<double> thresholds;
  double spread = 1;  // the baseline's standard deviation (Wasserstein's unit)
  // categorical: the baseline's top categories, then "other"
  std::vector<std::string> categories;

  size_t valueBins() const { return numeric ? thresholds.size() + 2 : categories.size() + 1; }

  std::string label(size_t i) const {
    if (!numeric) return i < categories.size() ? categories[i] : "(other)";
    if (i == 0) return "< " + formatNumber(min);
    if (i == thresholds.size() + 1) return "> " + formatNumber(thresholds.back());
    const std::string lo = formatNumber(i == 1 ? min : thresholds[i - 2]);
    return (i == 1 ? "[" : "(") + lo + ", " + formatNumber(thresholds[i - 1]) + "]";
  }

  nlohmann::json toJson() const {
    if (numeric) {
      std::vector<std::string> t;
      for (double v : thresholds) t.push_back(exact(v));
      return {
          {"kind", "numeric"}, {"min", exact(min)}, {"thresholds", t}, {"spread", exact(spread)}};
    }
    return {{"kind", "categorical"}, {"categories", categories}};
  }
  static Bins fromJson(const nlohmann::json& j) {
    Bins b;
    b.numeric = j.at("kind") == "numeric";
    if (b.numeric) {
      b.min = std::stod(j.at("min").get<std::string>());
      for (const auto& t : j.at("thresholds"))
        b.thresholds.push_back(std::stod(t.get<std::string>()));
      b.spread = std::stod(j.at("spread").get<std::string>());
    } else {
      b.categories = j.at("categories").get<std::vector<std::string>>();
    }
    return b;
  }
};

// One side's counts over Bins::valueBins(), plus its nulls.
struct Histogram {
  std::vector<drift::NumericBin> bins;
  double rows = 0;
  double nulls = 0;
  nlohmann::json sample = nlohmann::json::object();

  double values() const { return rows - nulls; }
  std::vector<double> counts() const {
    std::vector<double> c;
    for (const auto& b : bins) c.push_back(b.count);
    return c;
  }
  nlohmann::json toJson() const {
    nlohmann::json b = nlohmann::json::array();
    for (const auto& x : bins) b.push_back({x.count, exact(x.min), exact(x.max), exact(x.mean)});
    return {{"bins", b}, {"rows", rows}, {"nulls", nulls}, {"sample", sample}};
  }
  static Histogram fromJson(const nlohmann::json& j) {
    Histogram h;
    for (const auto& x : j.at("bins"))
      h.bins.push_back({x.at(0).get<double>(), std::stod(x.at(1).get<std::string>()),
                        std::stod(x.at(2).get<std::string>()),
                        std::stod(x.at(3).get<std::string>())});
    h.rows = j.at("rows").get<double>();
    h.nulls = j.at("nulls").get<double>();
    h.sample = j.at("sample");
    return h;
  }
};

// PostgreSQL array text ("{1.5,2,NaN}") to doubles.
std::vector<double> parseFloatArray(const std::string& text) {
  std::vector<double> out;
  std::string body = text;
  if (body.size() >= 2 && body.front() == '{' && body.back() == '}')
    body = body.substr(1, body.size() - 2);
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::strtod(item.c_str(), nullptr));
  return out;
}

class DriftProbe final : public Probe {
 public:
  DriftProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::DriftSpec>(cfg_.spec)), src_(src) {
    table_ = quoteQualified(cfg_.table);
    column_ = quoteIdentifier(spec_.column);
    pg_ = src_.dialect() == SqlDialect::Postgres;
    if (!spec_.time_column.empty() && spec_.window)
      window_.emplace(src_, cfg_.table, spec_.time_column, *spec_.window);
    if (spec_.kind != ColumnKind::Auto) numeric_ = spec_.kind == ColumnKind::Numeric;
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    limits_ = builtQuery(ctx.limits);
    if (auto st = resolveKind(); !st) return ProbeResult::error(st.message());
    auto current_scope = scope(ctx, false);
    if (!current_scope) return ProbeResult::error(current_scope.error());

    Bins bins;
    Histogram base;
    nlohmann::json baseline_info;
    if (spec_.baseline.pinned) {
      auto pinned = pinnedBaseline(ctx, *current_scope, bins, base);
      if (!pinned) return ProbeResult::error(pinned.error());
      baseline_info = *pinned;
    } else {
      auto base_scope = scope(ctx, true);
      if (!base_scope) return ProbeResult::error(base_scope.error());
      auto st = capture(ctx, *base_scope, bins, base);
      if (!st) return ProbeResult::error(st.message());
      baseline_info = {{"window", formatDuration(spec_.baseline.window)},
                       {"lag", formatDuration(spec_.baseline.lag)},
                       {"range", base_scope->describe}};
    }
    auto cur = histogram(*current_scope, bins);
    if (!cur) return ProbeResult::error(cur.error());
    if (cur->rows == 0) {
      return ProbeResult::error(
          "no rows in the current " +
          (window_ ? "window (" + formatDuration(*spec_.window) + ")" : std::string("table")) +
          ": nothing to compare with the baseline");
    }
    return evaluate(bins, base, *cur, baseline_info, *current_scope);
  }

 private:
  // Learns whether the column is numeric from one of its values (once).
  Status resolveKind() {
    if (numeric_) return Status::Ok();
    auto q = src_.query(
        "SELECT " + column_ + " FROM " + table_ + " WHERE " + column_ + " IS NOT NULL LIMIT 1", {},
        limits_);
    if (!q) return q.status();
    if (q->rows.empty() || q->rows[0].empty())
      return Status::Error("column " + spec_.column + " holds no values yet: cannot tell " +
                           "numeric from categorical (set kind)");
    const SqlValue& v = q->rows[0][0];
    numeric_ = std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
    const auto m = spec_.method;
    if (!*numeric_ && (m == DriftMethod::Ks || m == DriftMethod::Wasserstein)) {
      const std::string name = config::toString(m);
      numeric_.reset();
      return Status::Error(name + " needs a numeric column; " + spec_.column +
                           " holds text (use psi, js or chi2)");
    }
    if (*numeric_ && m == DriftMethod::Chi2) {
      numeric_.reset();
      return Status::Error(
          "chi2 needs a categorical column; " + spec_.column +
          " is numeric (use psi, ks, js or wasserstein, or set kind: categorical)");
    }
    return Status::Ok();
  }

  // The rows of the current window (baseline = false) or of the baseline window.
  Result<Scope> scope(const RunContext& ctx, bool baseline) {
    Scope s;
    // A new sample every run (REPEATABLE only ties a run's queries together).
    s.seed =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now.time_since_epoch()).count() %
        2147483647;
    if (window_) {
      TimePoint from = ctx.now - *spec_.window, to = ctx.now;
      if (baseline) {
        to = ctx.now - spec_.baseline.lag;
        from = to - spec_.baseline.window;
      }
      auto r = window_->range(ctx, from, to);
      if (!r) return r.status();
      if (!*r) {
        return Result<Scope>::Error("column " + spec_.time_column +
                                    " holds no timestamps: the table is empty");
      }
      s.where = window_->condition(1);
      s.params = std::move(**r);
      s.describe = {{"from", formatRfc3339(from)}, {"to", formatRfc3339(to)}};
    }
    if (auto st = planSample(s); !st) return st;
    return s;
  }

  // Decides whether and how to sample `s` (above sample_rows rows).
  Status planSample(Scope& s) {
    double rows = 0, pages = 0, table_rows = -1;
    if (pg_) {
      auto c = src_.query(
          "SELECT reltuples::float8, relpages::float8 FROM pg_class WHERE oid = to_regclass(" +
              src_.placeholder(1) + ")",
          {table_}, limits_);
      if (!c) return c.status();
      if (c->rows.empty() || std::holds_alternative<std::monostate>(c->rows[0][0]))
        return Status::Error("table " + cfg_.table + " does not exist");
      rows = table_rows = sqlValueToDouble(c->rows[0][0]).value_or(-1);
      pages = sqlValueToDouble(c->rows[0][1]).value_or(0);
      if (!s.where.empty() || rows < 0) {
        // The planner's estimate of the rows in scope: no scan.
        auto e = src_.query("EXPLAIN (FORMAT JSON) SELECT 1 FROM " + table_ +
                                (s.where.empty() ? "" : " WHERE " + s.where),
                            s.params, limits_);
        if (!e) return e.status();
        try {
          rows = nlohmann::json::parse(sqlValueToString(e->rows.at(0).at(0)))
                     .at(0)
                     .at("Plan")
                     .at("Plan Rows")
                     .get<double>();
        } catch (const std::exception&) {
          return Status::Error("cannot read the planner's row estimate");
        }
      }
    } else {
      auto c = src_.query(
          "SELECT count(*) FROM " + table_ + (s.where.empty() ? "" : " WHERE " + s.where), s.params,
          limits_);
      if (!c) return c.status();
      rows = sqlValueToDouble(c->rows.at(0).at(0)).value_or(0);
    }
    if (rows <= static_cast<double>(spec_.sample_rows)) return Status::Ok();
    s.sample_percent = std::max(1e-4, 100.0 * static_cast<double>(spec_.sample_rows) / rows);
    // TABLESAMPLE samples the whole table before the window's condition applies:
    // it reads percent% of every page. Reading the window through its index reads
    // (rows / table_rows) of them. Page sampling wins only when
    // sample_rows / rows < rows / table_rows; otherwise the window's rows are read
    // and thinned with random() (which spares the sort, not the reads).
    const bool window_cheaper = !s.where.empty() && table_rows > 0 &&
                                rows * rows <= static_cast<double>(spec_.sample_rows) * table_rows;
    if (!pg_ || window_cheaper)
      s.sample_method = "random";
    else
      s.sample_method = pages * s.sample_percent / 100 >= kMinSampledPages ? "system" : "bernoulli";
    return Status::Ok();
  }

  // "FROM t [TABLESAMPLE ...] [WHERE ...]" of `s`, selecting `expr` AS v.
  std::string rowsOf(const Scope& s, const std::string& expr) const {
    std::string sql = "SELECT " + expr + " AS v FROM " + table_;
    std::vector<std::string> where;
    if (!s.where.empty()) where.push_back(s.where);
    if (s.sample_method == "system" || s.sample_method == "bernoulli") {
      sql += std::string(" TABLESAMPLE ") + (s.sample_method == "system" ? "SYSTEM" : "BERNOULLI") +
             " (" + exact(s.sample_percent) + ") REPEATABLE (" + std::to_string(s.seed) + ")";
    } else if (s.sample_method == "random") {
      // SQLite: random() is a 64-bit integer; PostgreSQL: a double in [0, 1).
      where.push_back(pg_ ? "random() < " + exact(s.sample_percent / 100)
                          : "abs(random() % 1000000) < " +
                                std::to_string(static_cast<int64_t>(s.sample_percent * 10000)));
    }
    for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
    return sql;
  }

  std::string numericExpr() const { return "CAST(" + column_ + " AS DOUBLE PRECISION)"; }
  std::string textExpr() const { return "CAST(" + column_ + " AS TEXT)"; }

  nlohmann::json sampleJson(const Scope& s, double rows) const {
    nlohmann::json j = {{"method", s.sample_method}, {"rows", rows}};
    if (s.sample_method != "none") j["percent"] = s.sample_percent;
    return j;
  }

  // Builds the bins from the rows of `s` and counts them into `base`.
  Status capture(const RunContext&, const Scope& s, Bins& bins, Histogram& base) {
    bins = Bins{};
    bins.numeric = *numeric_;
    auto st = bins.numeric ? numericBins(s, bins) : categoricalBins(s, bins);
    if (!st) return st;
    auto h = histogram(s, bins);
    if (!h) return h.status();
    base = std::move(*h);
    const double need = static_cast<double>(kMinRowsPerBin) * spec_.bins;
    if (base.values() < need) {
      return Status::Error(
          "baseline has " + formatNumber(base.values()) + " rows with a value" +
          (s.describe.contains("from") ? " in [" + s.describe["from"].get<std::string>() + ", " +
                                             s.describe["to"].get<std::string>() + "]"
                                       : std::string()) +
          "; drift needs at least " + formatNumber(need) + " (" + std::to_string(kMinRowsPerBin) +
          " per bin, bins: " + std::to_string(spec_.bins) + ")");
    }
    return Status::Ok();
  }

  // Quantile thresholds, min and standard deviation of the column over `s`.
  Status numericBins(const Scope& s, Bins& bins) {
    const int b = spec_.bins;
    std::vector<double> quantiles;
    double n = 0, lo = 0, hi = 0, spread = 0, mean = 0;
    if (pg_) {
      std::string fractions;
      for (int j = 1; j < b; ++j) fractions += (j > 1 ? "," : "") + exact(double(j) / b);
      auto q = src_.query(
          "SELECT count(v), min(v), max(v), avg(v), stddev_pop(v), "
          "percentile_cont(ARRAY[" +
              fractions + "]::float8[]) WITHIN GROUP (ORDER BY v) FROM (" +
              rowsOf(s, numericExpr()) + ") s",
          s.params, limits_);
      if (!q) return q.status();
      const auto& r = q->rows.at(0);
      n = sqlValueToDouble(r.at(0)).value_or(0);
      if (n == 0) return Status::Ok();
      lo = sqlValueToDouble(r.at(1)).value_or(0);
      hi = sqlValueToDouble(r.at(2)).value_or(0);
      mean = sqlValueToDouble(r.at(3)).value_or(0);
      spread = sqlValueToDouble(r.at(4)).value_or(0);
      quantiles = parseFloatArray(sqlValueToString(r.at(5)));
    } else {
      // SQLite has no percentile_cont: the order statistics around each quantile
      // position h = (n-1)·j/B come back (2 rows per quantile), interpolated here
      // exactly as percentile_cont does. One statement, so one random sample.
      const std::string bs = std::to_string(b);
      auto q = src_.query(
          "WITH RECURSIVE s AS MATERIALIZED (" + rowsOf(s, numericExpr()) +
              "), st AS (SELECT count(v) AS n, min(v) AS lo, max(v) AS hi, avg(v) AS a FROM s), "
              "o AS (SELECT v, row_number() OVER (ORDER BY v) - 1 AS i FROM s WHERE v IS NOT "
              "NULL), k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < " +
              bs +
              " - 1) SELECT -1, st.n, st.lo, st.hi, st.a, (SELECT avg((s.v - st.a) * (s.v - "
              "st.a)) FROM s) FROM st UNION ALL SELECT k.j, o.i, o.v, NULL, NULL, NULL FROM "
              "k, st JOIN o ON o.i = ((st.n - 1) * k.j) / " +
              bs + " OR o.i = ((st.n - 1) * k.j) / " + bs + " + 1",
          s.params, limits_);
      if (!q) return q.status();
      std::map<std::pair<int64_t, int64_t>, double> order;  // (j, rank) -> value
      for (const auto& r : q->rows) {
        const auto j = static_cast<int64_t>(sqlValueToDouble(r.at(0)).value_or(0));
        if (j < 0) {
          n = sqlValueToDouble(r.at(1)).value_or(0);
          lo = sqlValueToDouble(r.at(2)).value_or(0);
          hi = sqlValueToDouble(r.at(3)).value_or(0);
          mean = sqlValueToDouble(r.at(4)).value_or(0);
          spread = std::sqrt(std::max(0.0, sqlValueToDouble(r.at(5)).value_or(0)));
        } else {
          order[{j, static_cast<int64_t>(sqlValueToDouble(r.at(1)).value_or(0))}] =
              sqlValueToDouble(r.at(2)).value_or(0);
        }
      }
      if (n == 0) return Status::Ok();
      for (int j = 1; j < b; ++j) {
        const double h = (n - 1) * j / b;
        const auto r0 = static_cast<int64_t>(std::floor(h));
        const double x0 = order[{j, r0}];
        const auto it = order.find({j, r0 + 1});
        const double x1 = it == order.end() ? x0 : it->second;
        quantiles.push_back(x0 + (h - double(r0)) * (x1 - x0));
      }
    }
    quantiles.push_back(hi);
    std::sort(quantiles.begin(), quantiles.end());
    quantiles.erase(std::unique(quantiles.begin(), quantiles.end()), quantiles.end());
    bins.min = lo;
    bins.thresholds = std::move(quantiles);
    bins.spread = spread > 0 ? spread : (mean != 0 ? std::abs(mean) : 1.0);
    return Status::Ok();
  }

  // The top `bins` categories of the column over `s` (count desc, then value).
  Status categoricalBins(const Scope& s, Bins& bins) {
    const std::string order = pg_ ? "v COLLATE \"C\"" : "v";
    auto q = src_.query("SELECT v, count(*) FROM (" + rowsOf(s, textExpr()) +
                            ") s WHERE v IS NOT NULL GROUP BY v ORDER BY count(*) DESC, " + order +
                            " LIMIT " + std::to_string(spec_.bins),
                        s.params, limits_);
    if (!q) return q.status();
    for (const auto& r : q->rows) bins.categories.push_back(sqlValueToString(r.at(0)));
    return Status::Ok();
  }

  // Counts the rows of `s` into `bins` (one grouped query).
  Result<Histogram> histogram(const Scope& s, const Bins& bins) {
    std::vector<SqlValue> params = s.params;
    int p = static_cast<int>(params.size()) + 1;
    std::string key;  // bin index; -1 for null
    std::string inner;
    if (bins.numeric) {
      inner = rowsOf(s, numericExpr());
      key = "CASE WHEN v IS NULL THEN -1 WHEN v < " + src_.placeholder(p++) + " THEN 0";
      params.emplace_back(bins.min);
      const auto m = static_cast<int64_t>(bins.thresholds.size());
      if (pg_) {
        // width_bucket counts thresholds <= its operand; on -v over the negated
        // thresholds that is the count of thresholds >= v, so m - it = #{t < v}.
        std::string neg = "{";
        for (auto it = bins.thresholds.rbegin(); it != bins.thresholds.rend(); ++it)
          neg += (it == bins.thresholds.rbegin() ? "" : ",") + exact(-*it);
        params.emplace_back(neg + "}");
        key += " ELSE " + std::to_string(m + 1) + " - width_bucket(-v, " + src_.placeholder(p++) +
               "::float8[]) END";
      } else {
        for (int64_t i = 0; i < m; ++i) {
          key += " WHEN v <= " + src_.placeholder(p++) + " THEN " + std::to_string(i + 1);
          params.emplace_back(bins.thresholds[static_cast<size_t>(i)]);
        }
        key += " ELSE " + std::to_string(m + 1) + " END";
      }
    } else {
      inner = rowsOf(s, textExpr());
      key = "CASE WHEN v IS NULL THEN -1";
      for (size_t i = 0; i < bins.categories.size(); ++i) {
        key += " WHEN v = " + src_.placeholder(p++) + " THEN " + std::to_string(i);
        params.emplace_back(bins.categories[i]);
      }
      key += " ELSE " + std::to_string(bins.categories.size()) + " END";
    }
    auto q = src_.query("SELECT b, count(*), min(x), max(x), avg(x) FROM (SELECT " + key +
                            " AS b, " + (bins.numeric ? "v" : "CAST(NULL AS DOUBLE PRECISION)") +
                            " AS x FROM (" + inner + ") s) h GROUP BY b",
                        params, limits_);
    if (!q) return q.status();
    Histogram h;
    h.bins.assign(bins.valueBins(), {});
    for (const auto& r : q->rows) {
      const auto b = static_cast<int64_t>(sqlValueToDouble(r.at(0)).value_or(-1));
      const double count = sqlValueToDouble(r.at(1)).value_or(0);
      h.rows += count;
      if (b < 0) {
        h.nulls += count;
      } else if (static_cast<size_t>(b) < h.bins.size()) {
        auto& bin = h.bins[static_cast<size_t>(b)];
        bin.count = count;
        bin.min = sqlValueToDouble(r.at(2)).value_or(0);
        bin.max = sqlValueToDouble(r.at(3)).value_or(0);
        bin.mean = sqlValueToDouble(r.at(4)).value_or(0);
      }
    }
    h.sample = sampleJson(s, h.rows);
    return h;
  }

  // The pinned baseline: the stored one, or captured now over `current` and
  // stored. Returns what the details say about it.
  Result<nlohmann::json> pinnedBaseline(const RunContext& ctx, const Scope& current, Bins& bins,
                                        Histogram& base) {
    const std::string key = driftBaselineKey(cfg_.name);
    const nlohmann::json fingerprint = {
        {"column", spec_.column}, {"bins", spec_.bins}, {"numeric", *numeric_}};
    std::string repinned;
    if (ctx.snapshots) {
      auto stored = ctx.snapshots->loadSnapshot(key);
      if (!stored) return stored.status();
      if (*stored && !(*stored)->is_null()) {
        const auto& j = **stored;
        try {
          if (j.at("fingerprint") == fingerprint) {
            bins = Bins::fromJson(j.at("bins"));
            base = Histogram::fromJson(j.at("histogram"));
            return nlohmann::json{{"pinned_at", j.at("pinned_at")}};
          }
          repinned = "column, bins or kind changed since it was pinned";
        } catch (const std::exception&) {
          repinned = "the stored baseline was unreadable";
        }
      }
    }
    if (auto st = capture(ctx, current, bins, base); !st) return st;
    nlohmann::json info = {{"pinned_at", formatRfc3339(ctx.now)}, {"captured_now", true}};
    if (!repinned.empty()) info["repinned_because"] = repinned;
    if (ctx.snapshots) {
      const nlohmann::json doc = {{"fingerprint", fingerprint},
                                  {"pinned_at", formatRfc3339(ctx.now)},
                                  {"bins", bins.toJson()},
                                  {"histogram", base.toJson()}};
      if (auto st = ctx.snapshots->saveSnapshot(key, doc); !st) return st;
    } else {
      info["stored"] = false;  // no state store: re-captured on every run
    }
    return info;
  }

  ProbeResult evaluate(const Bins& bins, const Histogram& base, const Histogram& cur,
                       nlohmann::json baseline_info, const Scope& current_scope) {
    const nlohmann::json& current_range = current_scope.describe;
    const DriftMethod method = spec_.method;
    const double threshold = driftThreshold(spec_);
    const bool with_nulls = base.nulls > 0 || cur.nulls > 0;
    // All bins (values, then null when present) for psi / js / chi2.
    std::vector<double> b_all = base.counts(), c_all = cur.counts();
    if (with_nulls) {
      b_all.push_back(base.nulls);
      c_all.push_back(cur.nulls);
    }
    drift::Score score;
    nlohmann::json extra = nlohmann::json::object();
    switch (method) {
      case DriftMethod::Psi: score = drift::psi(b_all, c_all); break;
      case DriftMethod::Js: score = drift::jsDistance(b_all, c_all); break;
      case DriftMethod::Chi2:
        score = drift::chiSquare(b_all, c_all);
        extra["p_value"] = *score.p_value;
        extra["df"] = score.df;
        break;
      case DriftMethod::Ks:
      case DriftMethod::Wasserstein: {
        if (cur.values() == 0) {
          return ProbeResult::error(std::string(config::toString(method)) +
                                    ": every row of the current " + (window_ ? "window" : "table") +
                                    " is null (" + formatNumber(cur.nulls) +
                                    " rows); use psi or js to score nulls");
        }
        if (method == DriftMethod::Ks) {
          score = drift::ksBinned(base.counts(), cur.counts());
          extra["error_bound"] = drift::ksErrorBound(base.counts(), cur.counts());
        } else {
          const auto w = drift::wasserstein(base.bins, cur.bins);
          score = w;
          score.value = w.value / bins.spread;
          for (auto& c : score.contributions) c /= bins.spread;
          extra["distance"] = w.value;
          extra["spread"] = bins.spread;
          extra["error_bound"] = drift::wassersteinErrorBound(base.bins, cur.bins) / bins.spread;
        }
        if (with_nulls) score.contributions.push_back(0);
        break;
      }
    }
    const double total_b = base.rows, total_c = cur.rows;
    nlohmann::json table = nlohmann::json::array();
    std::vector<std::pair<double, size_t>> moved;
    for (size_t i = 0; i < b_all.size(); ++i) {
      const double pb = total_b > 0 ? b_all[i] / total_b : 0;
      const double pc = total_c > 0 ? c_all[i] / total_c : 0;
      const std::string label = i < bins.valueBins() ? bins.label(i) : "(null)";
      table.push_back({{"bin", label},
                       {"baseline", b_all[i]},
                       {"current", c_all[i]},
                       {"baseline_ratio", pb},
                       {"current_ratio", pc},
                       {"contribution", score.contributions.at(i)}});
      if (pb != pc) moved.emplace_back(std::abs(pc - pb), i);
    }
    std::sort(moved.begin(), moved.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    nlohmann::json top = nlohmann::json::array();
    std::string moved_text;
    for (size_t k = 0; k < moved.size() && k < kTopMoved; ++k) {
      const auto& row = table[moved[k].second];
      top.push_back({{"bin", row["bin"]},
                     {"baseline_ratio", row["baseline_ratio"]},
                     {"current_ratio", row["current_ratio"]}});
      moved_text += (k ? ", " : "") + row["bin"].get<std::string>() + " " +
                    percent(row["baseline_ratio"]) + " -> " + percent(row["current_ratio"]);
    }
    const double null_b = total_b > 0 ? base.nulls / total_b : 0;
    const double null_c = total_c > 0 ? cur.nulls / total_c : 0;
    baseline_info["rows"] = base.rows;
    baseline_info["nulls"] = base.nulls;
    baseline_info["null_ratio"] = null_b;
    baseline_info["sample"] = base.sample;
    nlohmann::json current = {
        {"rows", cur.rows}, {"nulls", cur.nulls}, {"null_ratio", null_c}, {"sample", cur.sample}};
    if (!current_range.empty()) current["range"] = current_range;
    nlohmann::json details = {{"column", spec_.column},
                              {"kind", bins.numeric ? "numeric" : "categorical"},
                              {"method", config::toString(method)},
                              {"score", score.value},
                              {"baseline", baseline_info},
                              {"current", current},
                              {"null_ratio_change", null_c - null_b},
                              {"bins", table},
                              {"top_moved", top}};
    details.update(extra);
    if (!bins.numeric && !cur.bins.empty() && cur.bins.back().count > 0) {
      auto n = newCategories(current_scope, bins);
      if (!n.empty()) details["new_categories"] = n;
    }

    const bool failing =
        method == DriftMethod::Chi2 ? *score.p_value < threshold : score.value > threshold;
    std::string msg = std::string(config::toString(method)) + " " + formatNumber(score.value);
    if (method == DriftMethod::Chi2) {
      msg += " (df " + std::to_string(score.df) + ", p " + formatNumber(*score.p_value) +
             (failing ? " < " : " >= ") + formatNumber(threshold) + ")";
    } else {
      msg += (failing ? " > " : " <= ") + formatNumber(threshold);
    }
    msg += " over " + formatNumber(cur.rows) + " rows vs " + formatNumber(base.rows);
    if (failing && !moved_text.empty()) msg += "; moved most: " + moved_text;
    if (std::abs(null_c - null_b) >= 0.01)
      msg += "; nulls " + percent(null_b) + " -> " + percent(null_c);
    ProbeResult r = failing ? ProbeResult::fail(score.value, "score", msg)
                            : ProbeResult::pass(score.value, "score", msg);
    if (method == DriftMethod::Chi2)
      r.threshold = {{"min_p_value", threshold}};
    else
      r.threshold = {{"max", threshold}};
    r.details = std::move(details);
    return r;
  }

  // Up to 5 values of the current window outside the baseline's categories.
  nlohmann::json newCategories(const Scope& current, const Bins& bins) {
    nlohmann::json out = nlohmann::json::array();
    std::vector<SqlValue> params = current.params;
    int p = static_cast<int>(params.size()) + 1;
    std::string list;
    for (const auto& c : bins.categories) {
      list += (list.empty() ? "" : ", ") + src_.placeholder(p++);
      params.emplace_back(c);
    }
    auto q = src_.query(
        "SELECT v, count(*) FROM (" + rowsOf(current, textExpr()) + ") s WHERE v IS NOT NULL" +
            (list.empty() ? "" : " AND v NOT IN (" + list + ")") +
            " GROUP BY v ORDER BY count(*) DESC, v LIMIT " + std::to_string(kNewCategories),
        params, limits_);
    if (!q) return out;  // a detail: the score stands without it
    for (const auto& r : q->rows)
      out.push_back(
          {{"value", sqlValueToString(r.at(0))}, {"rows", sqlValueToDouble(r.at(1)).value_or(0)}});
    return out;
  }

  config::ProbeConfig cfg_;
  const config::DriftSpec& spec_;
  SqlSource& src_;
  std::string table_, column_;
  bool pg_ = false;
  std::optional<TimeWindow> window_;
  std::optional<bool> numeric_;  // resolved on the first run when kind is auto
  QueryLimits limits_;
};

}  // namespace

std::string driftBaselineKey(const std::string& probe_name) {
  return probe_name + ":drift-baseline";
}

double driftThreshold(const config::DriftSpec& spec) {
  if (spec.threshold) return *spec.threshold;
  switch (spec.method) {
    case DriftMethod::Psi: return 0.2;
    case DriftMethod::Chi2: return 0.001;
    case DriftMethod::Ks:
    case DriftMethod::Js:
    case DriftMethod::Wasserstein: return 0.1;
  }
  return 0.2;
}

Result<std::unique_ptr<Probe>> makeDriftProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<DriftProbe, SqlSource>(cfg, source, "drift probes need a SQL source (table:)");
}

}  // namespace datawatch
