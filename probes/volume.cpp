#include <cmath>
#include <cstdio>
#include <map>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/anomaly.hpp"
#include "probes/sql_probes.hpp"
#include "probes/time_window.hpp"

namespace datawatch {

std::string formatNumber(double v) {
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

namespace {

constexpr size_t kMaxSeriesPoints = 20000;

class SqlVolumeProbe final : public Probe {
 public:
  SqlVolumeProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::VolumeSpec>(cfg_.spec)), src_(src) {
    const std::string from = " FROM " + quoteQualified(cfg_.table);
    if (spec_.method == config::VolumeMethod::Estimate) {
      // Catalog statistics, no scan: reltuples (-1 before the first ANALYZE in
      // PostgreSQL 14+), else the live-tuple counter of the statistics collector.
      const auto dot = cfg_.table.find('.');
      schema_ = dot == std::string::npos ? "" : cfg_.table.substr(0, dot);
      table_ = dot == std::string::npos ? cfg_.table : cfg_.table.substr(dot + 1);
      sql_ =
          "SELECT c.reltuples::float8, s.n_live_tup::float8 FROM pg_class c "
          "JOIN pg_namespace n ON n.oid = c.relnamespace "
          "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
          "WHERE n.nspname = COALESCE(NULLIF($1::text, ''), current_schema()) AND c.relname = $2";
      return;
    }
    std::string where;
    if (!spec_.column.empty() && spec_.window) {
      window_.emplace(src_, cfg_.table, spec_.column, *spec_.window);
      where = window_->condition(1);
    }
    if (spec_.filter) {
      filter_ = "(" + *spec_.filter + ")";
      where += (where.empty() ? "" : " AND ") + filter_;
    }
    sql_ = "SELECT count(*)" + from + (where.empty() ? "" : " WHERE " + where);
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    nlohmann::json details = nlohmann::json::object();
    std::optional<double> rows;
    if (spec_.method == config::VolumeMethod::Estimate) {
      auto q = src_.query(sql_, {schema_, table_}, builtQuery(ctx.limits));
      if (!q) return ProbeResult::error(q.error());
      if (q->rows.empty())
        return ProbeResult::error("table " + cfg_.table +
                                  " does not exist (or is not visible to this user)");
      const auto reltuples = sqlValueToDouble(q->rows[0][0]);
      const auto live = sqlValueToDouble(q->rows[0][1]);
      if (reltuples && *reltuples >= 0) {
        rows = std::round(*reltuples);
        details["estimate_source"] = "pg_class.reltuples";
      } else if (live) {
        rows = *live;
        details["estimate_source"] = "pg_stat_user_tables.n_live_tup";
      } else {
        return ProbeResult::error("no row estimate for " + cfg_.table +
                                  " yet: run ANALYZE, or use method: count");
      }
      details["method"] = "estimate";
    } else {
      std::vector<SqlValue> params;
      bool empty_window = false;
      if (window_) {
        auto bounds = window_->bounds(ctx);
        if (!bounds) return ProbeResult::error(bounds.error());
        if (!*bounds)
          empty_window = true;  // no timestamps at all: the window holds no rows
        else
          params = std::move(**bounds);
      }
      if (empty_window) {
        rows = 0;
      } else {
        auto q = src_.query(sql_, params, builtQuery(ctx.limits, !filter_.empty()));
        if (!q) return ProbeResult::error(q.error());
        if (q->rows.size() != 1 || q->rows[0].size() != 1)
          return ProbeResult::error("unexpected result shape from volume query");
        rows = sqlValueToDouble(q->rows[0][0]);
        if (!rows) return ProbeResult::error("volume query returned no number");
      }
      details["method"] = "count";
    }
    return evaluate(ctx, *rows, std::move(details));
  }

 private:
  // Checks a row count against min / max / max_change / anomaly.
  ProbeResult evaluate(const RunContext& ctx, double rows, nlohmann::json details) {
    nlohmann::json threshold = nlohmann::json::object();
    if (window_) {
      details["window"] = formatDuration(*spec_.window);
      details["from"] = formatRfc3339(ctx.now - *spec_.window);
      details["to"] = formatRfc3339(ctx.now);
    }
    std::vector<std::string> problems;
    if (spec_.min) {
      threshold["min"] = *spec_.min;
      if (rows < *spec_.min)
        problems.push_back(formatNumber(rows) + " rows < min " + formatNumber(*spec_.min));
    }
    if (spec_.max) {
      threshold["max"] = *spec_.max;
      if (rows > *spec_.max)
        problems.push_back(formatNumber(rows) + " rows > max " + formatNumber(*spec_.max));
    }
    if (spec_.max_change) {
      threshold["max_change"] = *spec_.max_change;
      if (ctx.previous && ctx.previous->value) {
        const double prev = *ctx.previous->value;
        const double change = prev == 0 ? (rows == 0 ? 0.0 : INFINITY) : (rows - prev) / prev;
        details["previous"] = prev;
        details["previous_observed_at"] = formatRfc3339(ctx.previous->observed_at);
        if (std::isfinite(change)) details["change"] = change;
        if (std::fabs(change) > *spec_.max_change) {
          problems.push_back(
              "changed " +
              (std::isfinite(change) ? formatNumber(change * 100) + "%" : std::string("from 0")) +
              " since the previous run (" + formatNumber(prev) + " -> " + formatNumber(rows) +
              "), more than " + formatNumber(*spec_.max_change * 100) + "%");
        }
      } else {
        details["previous"] = nullptr;  // first run: nothing to compare against
      }
    }
    if (spec_.anomaly) {
      if (auto p = checkAnomaly(ctx, rows, details, threshold)) problems.push_back(*p);
    }
    const std::string scope = window_ ? " in the last " + humanDuration(*spec_.window) : "";
    const std::string approx = spec_.method == config::VolumeMethod::Estimate ? "~" : "";
    ProbeResult r =
        problems.empty()
            ? ProbeResult::pass(rows, "rows",
                                approx + formatNumber(rows) + " rows" + scope + " within bounds")
            : ProbeResult::fail(rows, "rows", "");
    if (!problems.empty()) {
      for (const auto& p : problems) r.message += (r.message.empty() ? approx : "; ") + p;
      r.message += scope;
    }
    r.threshold = threshold;
    r.details = details;
    return r;
  }

  std::string seriesKey() const { return cfg_.name + ":volume_series"; }

  // Loads the training series (memory, else the snapshot, else a backfill from
  // the table), judges `rows`, appends it and saves the series. Returns the
  // problem text when anomalous.
  std::optional<std::string> checkAnomaly(const RunContext& ctx, double rows,
                                          nlohmann::json& details, nlohmann::json& threshold) {
    const auto& cfg = *spec_.anomaly;
    if (!loaded_) {
      loaded_ = true;
      if (ctx.snapshots) {
        if (auto snap = ctx.snapshots->loadSnapshot(seriesKey()); snap && *snap) {
          for (const auto& p : (**snap)["points"]) {
            series_.push_back({fromUnixMillis(p.at(0).get<int64_t>()), p.at(1).get<double>(),
                               p.at(2).get<int>() != 0});
          }
        }
      }
      if (series_.empty() && window_) {
        if (auto n = backfill(ctx); n)
          details["anomaly_backfilled_points"] = *n;
        else
          details["anomaly_backfill_error"] = n.error();
      }
    }
    const AnomalyVerdict v = detectAnomaly(series_, ctx.now, rows, cfg);
    nlohmann::json a = {{"training_points", v.training_points},
                        {"sensitivity", cfg.sensitivity},
                        {"training", formatDuration(cfg.training)}};
    if (!v.slot.empty()) a["slot"] = v.slot;
    std::optional<std::string> problem;
    if (!v.evaluated) {
      a["evaluated"] = false;
      a["reason"] = "not enough training points (" + std::to_string(v.training_points) + " of " +
                    std::to_string(kMinTrainingPoints) + ")";
    } else {
      a["evaluated"] = true;
      a["median"] = v.median;
      a["mad"] = v.mad;
      a["z"] = std::isfinite(v.z) ? nlohmann::json(v.z) : nlohmann::json(v.z > 0 ? "inf" : "-inf");
      a["expected"] = {{"lower", v.lower}, {"upper", v.upper}};
      a["anomalous"] = v.anomalous;
      threshold["expected_lower"] = v.lower;
      threshold["expected_upper"] = v.upper;
      if (v.anomalous) {
        problem = formatNumber(rows) + " rows is anomalous (expected " +
                  formatNumber(std::max(0.0, v.lower)) + ".." + formatNumber(v.upper) +
                  ", median " + formatNumber(v.median) + (v.slot.empty() ? "" : " for " + v.slot) +
                  ")";
      }
    }
    details["anomaly"] = a;
    series_.push_back({ctx.now, rows, v.anomalous});
    const TimePoint cutoff = ctx.now - cfg.training;
    std::erase_if(series_, [&](const SeriesPoint& p) { return p.at < cutoff; });
    if (series_.size() > kMaxSeriesPoints)
      series_.erase(series_.begin(), series_.end() - static_cast<long>(kMaxSeriesPoints));
    if (ctx.snapshots) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& p : series_)
        pts.push_back({toUnixMillis(p.at), p.value, p.anomalous ? 1 : 0});
      (void)ctx.snapshots->saveSnapshot(seriesKey(), {{"points", pts}});
    }
    return problem;
  }

  // Rebuilds the training series from the table: row counts in fine buckets over
  // the training period, summed into sliding windows of `window` ending at each
  // bucket boundary. One query.
  Result<size_t> backfill(const RunContext& ctx) {
    const auto& cfg = *spec_.anomaly;
    const Duration w = *spec_.window;
    // About 24 buckets per window, no finer than the probe runs.
    Duration g = std::max(cfg_.every, Duration(w.count() / 24));
    const int64_t k = std::max<int64_t>(1, (w.count() + g.count() - 1) / g.count());
    g = Duration(w.count() / k);
    if (g.count() <= 0) return Result<size_t>::Error("window too small to backfill");
    const TimePoint t0 = ctx.now - cfg.training - w;
    auto bounds = window_->range(ctx, t0, ctx.now);
    if (!bounds) return bounds.status();
    if (!*bounds) return size_t{0};
    const std::string epoch = window_->epochExpr();
    const std::string bucket = "(" + epoch + " - CAST(" + src_.placeholder(3) +
                               " AS DOUBLE PRECISION)) / CAST(" + src_.placeholder(4) +
                               " AS DOUBLE PRECISION)";
    const std::string floor_bucket = src_.dialect() == SqlDialect::Postgres
                                         ? "floor(" + bucket + ")::bigint"
                                         : "CAST(" + bucket + " AS INTEGER)";
    const std::string sql = "SELECT " + floor_bucket + ", count(*) FROM " +
                            quoteQualified(cfg_.table) + " WHERE " + window_->condition(1) +
                            (filter_.empty() ? "" : " AND " + filter_) + " GROUP BY 1";
    std::vector<SqlValue> params = std::move(**bounds);
    params.emplace_back(toUnixSeconds(t0));
    params.emplace_back(std::chrono::duration<double>(g).count());
    auto q = src_.query(sql, params, builtQuery(ctx.limits, !filter_.empty()));
    if (!q) return q.status();
    const int64_t n = (ctx.now - t0) / g;
    std::vector<double> counts(static_cast<size_t>(n + 1), 0);
    for (const auto& row : q->rows) {
      const auto b = sqlValueToDouble(row.at(0));
      if (!b || *b < 0 || *b > static_cast<double>(n)) continue;
      counts[static_cast<size_t>(*b)] += sqlValueToDouble(row.at(1)).value_or(0);
    }
    double sum = 0;
    for (int64_t e = 0; e < n; ++e) {  // the window ending at boundary e+1 covers buckets e-k+1..e
      sum += counts[static_cast<size_t>(e)];
      if (e >= k) sum -= counts[static_cast<size_t>(e - k)];
      if (e + 1 >= k) {
        const TimePoint at = t0 + (e + 1) * g;
        if (at < ctx.now) series_.push_back({at, sum, false});
      }
    }
    // Points that are anomalous against the rest are kept out of training, as live ones are.
    std::vector<SeriesPoint> judged;
    for (const auto& p : series_) {
      const auto v = detectAnomaly(series_, p.at, p.value, cfg);
      judged.push_back({p.at, p.value, v.evaluated && v.anomalous});
    }
    series_ = std::move(judged);
    return series_.size();
  }

  config::ProbeConfig cfg_;
  const config::VolumeSpec& spec_;
  SqlSource& src_;
  std::string sql_;
  std::string filter_;
  std::string schema_;
  std::string table_;
  std::optional<TimeWindow> window_;
  bool loaded_ = false;
  std::vector<SeriesPoint> series_;  // the anomaly training series, oldest first
};

}  // namespace

Result<std::unique_ptr<Probe>> makeVolumeProbe(const config::ProbeConfig& cfg, Source& source) {
  auto* sql = dynamic_cast<SqlSource*>(&source);
  if (sql == nullptr || cfg.table.empty()) {
    return Result<std::unique_ptr<Probe>>::Error(
        "volume on kafka topics is not supported by this build yet");
  }
  return std::unique_ptr<Probe>(std::make_unique<SqlVolumeProbe>(cfg, *sql));
}

}  // namespace datawatch
