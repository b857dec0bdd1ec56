#include <cmath>
#include <cstdio>
#include <map>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/anomaly.hpp"
#include "probes/sql_probes.hpp"
#include "probes/time_window.hpp"
#include "probes/volume_judge.hpp"

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

class SqlVolumeProbe final : public Probe {
 public:
  SqlVolumeProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)),
        spec_(std::get<config::VolumeSpec>(cfg_.spec)),
        src_(src),
        judge_(cfg_, "rows", spec_.method == config::VolumeMethod::Estimate,
               [this](const RunContext& ctx) -> Result<std::vector<SeriesPoint>> {
                 if (!window_) return std::vector<SeriesPoint>{};
                 return backfill(ctx);
               }) {
    const std::string from = " FROM " + src_.dialect().qualified(cfg_.table);
    if (spec_.method == config::VolumeMethod::Estimate) {
      // Catalog statistics, no scan (Dialect::rowEstimate). A dialect without
      // them is refused by validate (config::dialectLimitation).
      estimate_ =
          src_.dialect().rowEstimate(src_.dialect().tableRef(cfg_.table), src_.placeholders());
      if (estimate_) planned_ = PlannedQuery{&src_, estimate_->sql, estimate_->params, false};
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
    if (!window_) planned_ = PlannedQuery{&src_, sql_, {}, !filter_.empty()};
  }

  const config::ProbeConfig& config() const override { return cfg_; }
  const PlannedQuery* plan() const override { return planned_ ? &*planned_ : nullptr; }

  ProbeResult run(const RunContext& ctx) override {
    nlohmann::json details = nlohmann::json::object();
    std::optional<double> rows;
    if (spec_.method == config::VolumeMethod::Estimate) {
      if (!estimate_)
        return ProbeResult::error(std::string("method estimate is not available on ") +
                                  src_.dialect().name());
      auto q = runPlanned(ctx, *planned_);
      if (!q) return ProbeResult::error(q.error());
      if (q->rows.empty())
        return ProbeResult::error("table " + cfg_.table +
                                  " does not exist (or is not visible to this user)");
      const auto estimate = src_.dialect().readEstimate(q->rows);
      if (!estimate) {
        return ProbeResult::error("no row estimate for " + cfg_.table +
                                  " yet: run ANALYZE, or use method: count");
      }
      rows = estimate->rows;
      details["estimate_source"] = estimate->source;
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
        if (!params.empty() && window_->wholeDays()) {  // the days counted, both included
          details["from_date"] = sqlValueToString(params[0]);
          details["to_date"] = sqlValueToString(params[1]);
        }
      }
      if (empty_window) {
        rows = 0;
      } else {
        auto q = planned_ ? runPlanned(ctx, *planned_)
                          : src_.query(sql_, params, builtQuery(ctx.limits, !filter_.empty()));
        if (!q) return ProbeResult::error(q.error());
        if (q->rows.size() != 1 || q->rows[0].size() != 1)
          return ProbeResult::error("unexpected result shape from volume query");
        rows = sqlValueToDouble(q->rows[0][0]);
        if (!rows) return ProbeResult::error("volume query returned no number");
      }
      details["method"] = "count";
    }
    return judge_.judge(ctx, *rows, std::move(details));
  }

 private:
  // Rebuilds the training series from the table: row counts in fine buckets over
  // the training period, summed into sliding windows of `window` ending at each
  // bucket boundary. One query.
  Result<std::vector<SeriesPoint>> backfill(const RunContext& ctx) {
    const auto& cfg = *spec_.anomaly;
    const Duration w = *spec_.window;
    // About 24 buckets per window, no finer than the probe runs.
    Duration g = std::max(cfg_.every, Duration(w.count() / 24));
    const int64_t k = std::max<int64_t>(1, (w.count() + g.count() - 1) / g.count());
    g = Duration(w.count() / k);
    if (g.count() <= 0)
      return Result<std::vector<SeriesPoint>>::Error("window too small to backfill");
    const TimePoint t0 = ctx.now - cfg.training - w;
    auto bounds = window_->range(ctx, t0, ctx.now);
    if (!bounds) return bounds.status();
    if (!*bounds) return std::vector<SeriesPoint>{};
    const std::string epoch = window_->epochExpr();
    const Dialect& d = src_.dialect();
    const std::string bucket = "(" + epoch + " - " + d.castDouble(src_.placeholder(3)) + ") / " +
                               d.castDouble(src_.placeholder(4));
    const std::string floor_bucket = d.floorToBigint(bucket);
    // Grouped outside a derived table: every dialect groups by a column alias.
    const std::string sql = "SELECT b, count(*) FROM (SELECT " + floor_bucket + " AS b FROM " +
                            d.qualified(cfg_.table) + " WHERE " + window_->condition(1) +
                            (filter_.empty() ? "" : " AND " + filter_) + ") w GROUP BY b";
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
    std::vector<SeriesPoint> series;
    double sum = 0;
    for (int64_t e = 0; e < n; ++e) {  // the window ending at boundary e+1 covers buckets e-k+1..e
      sum += counts[static_cast<size_t>(e)];
      if (e >= k) sum -= counts[static_cast<size_t>(e - k)];
      if (e + 1 >= k) {
        const TimePoint at = t0 + (e + 1) * g;
        if (at < ctx.now) series.push_back({at, sum, false});
      }
    }
    return series;
  }

  config::ProbeConfig cfg_;
  const config::VolumeSpec& spec_;
  SqlSource& src_;
  std::string sql_;
  std::string filter_;
  std::optional<CatalogQuery> estimate_;  // method: estimate
  // The estimate's query, or the count's when it has no window (no bounds to compute).
  std::optional<PlannedQuery> planned_;
  std::optional<TimeWindow> window_;
  VolumeJudge judge_;  // after everything it reads
};

}  // namespace

Result<std::unique_ptr<Probe>> makeVolumeProbe(const config::ProbeConfig& cfg, Source& source) {
  const std::string needs = "volume probes need a table on a SQL source";
  if (cfg.table.empty()) return Result<std::unique_ptr<Probe>>::Error(needs);
  return makeProbeOn<SqlVolumeProbe, SqlSource>(cfg, source, needs);
}

}  // namespace datawatch
