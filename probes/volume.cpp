#include <cmath>
#include <cstdio>

#include "core/duration.hpp"
#include "core/time_format.hpp"
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

class SqlVolumeProbe final : public Probe {
 public:
  SqlVolumeProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::VolumeSpec>(cfg_.spec)), src_(src) {
    std::string where;
    if (!spec_.column.empty() && spec_.window) {
      window_.emplace(src_, cfg_.table, spec_.column, *spec_.window);
      where = window_->condition(1);
    }
    if (spec_.filter) where += (where.empty() ? "(" : " AND (") + *spec_.filter + ")";
    sql_ = "SELECT count(*) FROM " + quoteQualified(cfg_.table) +
           (where.empty() ? "" : " WHERE " + where);
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    std::vector<SqlValue> params;
    if (window_) {
      auto bounds = window_->bounds(ctx);
      if (!bounds) return ProbeResult::error(bounds.error());
      if (!*bounds) return evaluate(ctx, 0);  // no timestamps at all: the window holds no rows
      params = std::move(**bounds);
    }
    auto q = src_.query(sql_, params, ctx.limits);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.size() != 1 || q->rows[0].size() != 1)
      return ProbeResult::error("unexpected result shape from volume query");
    const auto rows = sqlValueToDouble(q->rows[0][0]);
    if (!rows) return ProbeResult::error("volume query returned no number");
    return evaluate(ctx, *rows);
  }

 private:
  // Checks a row count against min / max / max_change.
  ProbeResult evaluate(const RunContext& ctx, double count) {
    const std::optional<double> rows = count;
    const bool windowed = !spec_.column.empty() && spec_.window;

    nlohmann::json threshold = nlohmann::json::object();
    nlohmann::json details = nlohmann::json::object();
    if (windowed) {
      details["window"] = formatDuration(*spec_.window);
      details["from"] = formatRfc3339(ctx.now - *spec_.window);
      details["to"] = formatRfc3339(ctx.now);
    }
    std::vector<std::string> problems;
    if (spec_.min) {
      threshold["min"] = *spec_.min;
      if (*rows < *spec_.min)
        problems.push_back(formatNumber(*rows) + " rows < min " + formatNumber(*spec_.min));
    }
    if (spec_.max) {
      threshold["max"] = *spec_.max;
      if (*rows > *spec_.max)
        problems.push_back(formatNumber(*rows) + " rows > max " + formatNumber(*spec_.max));
    }
    if (spec_.max_change) {
      threshold["max_change"] = *spec_.max_change;
      if (ctx.previous && ctx.previous->value) {
        const double prev = *ctx.previous->value;
        const double change = prev == 0 ? (*rows == 0 ? 0.0 : INFINITY) : (*rows - prev) / prev;
        details["previous"] = prev;
        details["previous_observed_at"] = formatRfc3339(ctx.previous->observed_at);
        if (std::isfinite(change)) details["change"] = change;
        if (std::fabs(change) > *spec_.max_change) {
          problems.push_back(
              "changed " +
              (std::isfinite(change) ? formatNumber(change * 100) + "%" : std::string("from 0")) +
              " since the previous run (" + formatNumber(prev) + " -> " + formatNumber(*rows) +
              "), more than " + formatNumber(*spec_.max_change * 100) + "%");
        }
      } else {
        details["previous"] = nullptr;  // first run: nothing to compare against
      }
    }
    if (spec_.anomaly)
      details["anomaly"] = "not evaluated: anomaly detection is not supported by this build yet";
    const std::string scope = windowed ? " in the last " + humanDuration(*spec_.window) : "";
    ProbeResult r = problems.empty() ? ProbeResult::pass(
                                           *rows, "rows",
                                           formatNumber(*rows) + " rows" + scope + " within bounds")
                                     : ProbeResult::fail(*rows, "rows", "");
    if (!problems.empty()) {
      for (const auto& p : problems) r.message += (r.message.empty() ? "" : "; ") + p;
      r.message += scope;
    }
    r.threshold = threshold;
    r.details = details;
    return r;
  }

  config::ProbeConfig cfg_;
  const config::VolumeSpec& spec_;
  SqlSource& src_;
  std::string sql_;
  std::optional<TimeWindow> window_;
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
