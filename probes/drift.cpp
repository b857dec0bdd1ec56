#include "probes/drift.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/drift_sql.hpp"
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
constexpr int64_t kNewCategories = 5;

std::string exact(double v) {
  return exactDecimal(v);
}

std::string percent(double ratio) {
  return formatNumber(std::round(ratio * 1000) / 10) + "%";
}

// The rows a histogram reads (drift_sql.hpp), and how the details describe them.
struct Scope : DriftScope {
  nlohmann::json describe = nlohmann::json::object();  // {from, to} or {}
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
// An array of numbers as the database prints it: {1,2} (PostgreSQL) or
// [1.0, 2.0] (Trino, Databricks, BigQuery, ClickHouse).
std::vector<double> parseFloatArray(const std::string& text) {
  std::vector<double> out;
  std::string body = text;
  if (body.size() >= 2 && (body.front() == '{' || body.front() == '['))
    body = body.substr(1, body.size() - 2);
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::strtod(item.c_str(), nullptr));
  return out;
}

// The quantiles in a stats row (DriftSql::numericStats): from column 5 on.
std::vector<double> readQuantiles(const std::vector<SqlValue>& r, QuantileSql::Shape shape,
                                  int bins) {
  using S = QuantileSql::Shape;
  if (shape == S::Columns) {
    std::vector<double> out;
    for (size_t i = 5; i < r.size() && i < 5 + static_cast<size_t>(bins - 1); ++i)
      out.push_back(sqlValueToDouble(r[i]).value_or(0));
    return out;
  }
  auto all = parseFloatArray(sqlValueToString(r.at(5)));
  if (shape == S::ArrayWithEnds && all.size() >= 2)  // min, q1..q(B-1), max
    all = std::vector<double>(all.begin() + 1, all.end() - 1);
  return all;
}

class DriftProbe final : public Probe {
 public:
  DriftProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)),
        spec_(std::get<config::DriftSpec>(cfg_.spec)),
        src_(src),
        sql_(src, cfg_.table, spec_.column) {
    pg_ = src_.dialect().id() == DialectId::Postgres;
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
    auto q = src_.query(sql_.firstValue(), {}, limits_);
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
      auto c = src_.query(sql_.pgTableStats(), {src_.dialect().qualified(cfg_.table)}, limits_);
      if (!c) return c.status();
      if (c->rows.empty() || std::holds_alternative<std::monostate>(c->rows[0][0]))
        return Status::Error("table " + cfg_.table + " does not exist");
      rows = table_rows = sqlValueToDouble(c->rows[0][0]).value_or(-1);
      pages = sqlValueToDouble(c->rows[0][1]).value_or(0);
      if (!s.where.empty() || rows < 0) {
        // The planner's estimate of the rows in scope: no scan.
        auto e = src_.query(sql_.pgExplain(s), s.params, limits_);
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
      auto c = src_.query(sql_.rowCount(s), s.params, limits_);
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
    if (src_.dialect().id() == DialectId::SqlServer)
      s.sample_method = "system";  // the one repeatable sample it has (Dialect::tablesample)
    else if (!pg_ || window_cheaper)
      s.sample_method = "random";
    else
      s.sample_method = pages * s.sample_percent / 100 >= kMinSampledPages ? "system" : "bernoulli";
    return Status::Ok();
  }

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
    QuantileSql shape;
    auto q = src_.query(sql_.numericStats(s, b, &shape), s.params, limits_);
    if (!q) return q.status();
    quantiles_exact_ = shape.exact;
    if (shape.shape != QuantileSql::Shape::OrderStatistics) {
      const auto& r = q->rows.at(0);
      n = sqlValueToDouble(r.at(0)).value_or(0);
      if (n == 0) return Status::Ok();
      lo = sqlValueToDouble(r.at(1)).value_or(0);
      hi = sqlValueToDouble(r.at(2)).value_or(0);
      mean = sqlValueToDouble(r.at(3)).value_or(0);
      spread = sqlValueToDouble(r.at(4)).value_or(0);
      quantiles = readQuantiles(r, shape.shape, b);
    } else {
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
      for (int j = 1; j < b; ++j) {  // interpolated exactly as percentile_cont does
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
    auto q = src_.query(sql_.topCategories(s, spec_.bins), s.params, limits_);
    if (!q) return q.status();
    for (const auto& r : q->rows) bins.categories.push_back(sqlValueToString(r.at(0)));
    return Status::Ok();
  }

  // Counts the rows of `s` into `bins` (one grouped query).
  Result<Histogram> histogram(const Scope& s, const Bins& bins) {
    std::vector<SqlValue> params = s.params;
    const std::string sql = bins.numeric
                                ? sql_.numericHistogram(s, bins.min, bins.thresholds, params)
                                : sql_.categoricalHistogram(s, bins.categories, params);
    auto q = src_.query(sql, params, limits_);
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
    if (bins.numeric) details["quantiles"] = quantiles_exact_ ? "exact" : "approximate";
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
    const std::string sql = sql_.newCategories(current, bins.categories, kNewCategories, params);
    auto q = src_.query(sql, params, limits_);
    if (!q) return out;  // a detail: the score stands without it
    for (const auto& r : q->rows)
      out.push_back(
          {{"value", sqlValueToString(r.at(0))}, {"rows", sqlValueToDouble(r.at(1)).value_or(0)}});
    return out;
  }

  config::ProbeConfig cfg_;
  const config::DriftSpec& spec_;
  SqlSource& src_;
  DriftSql sql_;
  bool pg_ = false;
  bool quantiles_exact_ = true;  // of the last numericBins
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
