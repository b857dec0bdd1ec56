#include "probes/volume_judge.hpp"

#include <cmath>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/sql_probes.hpp"

namespace datawatch {

VolumeJudge::VolumeJudge(const config::ProbeConfig& cfg, std::string unit, bool approx,
                         Backfill backfill)
    : spec_(std::get<config::VolumeSpec>(cfg.spec)),
      unit_(std::move(unit)),
      approx_(approx),
      backfill_(std::move(backfill)),
      series_(cfg.name + ":volume_series",
              spec_.anomaly ? spec_.anomaly->training : Duration::zero()) {}

ProbeResult VolumeJudge::judge(const RunContext& ctx, double rows, nlohmann::json details) {
  nlohmann::json threshold = nlohmann::json::object();
  if (spec_.window) {
    details["window"] = formatDuration(*spec_.window);
    details["from"] = formatRfc3339(ctx.now - *spec_.window);
    details["to"] = formatRfc3339(ctx.now);
  }
  std::vector<std::string> problems;
  if (spec_.min) {
    threshold["min"] = *spec_.min;
    if (rows < *spec_.min)
      problems.push_back(formatNumber(rows) + " " + unit_ + " < min " + formatNumber(*spec_.min));
  }
  if (spec_.max) {
    threshold["max"] = *spec_.max;
    if (rows > *spec_.max)
      problems.push_back(formatNumber(rows) + " " + unit_ + " > max " + formatNumber(*spec_.max));
  }
  if (spec_.must) {
    threshold["must"] = spec_.must->str();
    if (!spec_.must->holds(rows))
      problems.push_back(formatNumber(rows) + " " + unit_ + ", must be " + spec_.must->str());
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
  const std::string scope = spec_.window ? " in the last " + humanDuration(*spec_.window) : "";
  const std::string approx = approx_ ? "~" : "";
  ProbeResult r =
      problems.empty()
          ? ProbeResult::pass(rows, unit_,
                              approx + formatNumber(rows) + " " + unit_ + scope + " within bounds")
          : ProbeResult::fail(rows, unit_, "");
  if (!problems.empty()) {
    for (const auto& p : problems) r.message += (r.message.empty() ? approx : "; ") + p;
    r.message += scope;
  }
  r.threshold = threshold;
  r.details = details;
  return r;
}

// Loads the training series (memory, else the snapshot, else the backfill),
// judges `rows`, appends it and saves the series. Returns the problem text when
// anomalous.
std::optional<std::string> VolumeJudge::checkAnomaly(const RunContext& ctx, double rows,
                                                     nlohmann::json& details,
                                                     nlohmann::json& threshold) {
  const auto& cfg = *spec_.anomaly;
  if (!loaded_ || ctx.shared_snapshots) {  // HA: the last run may have been another replica's
    loaded_ = true;
    if (ctx.snapshots) {
      if (Status st = series_.load(*ctx.snapshots, ctx.now); !st.ok())
        details["anomaly_series_error"] = st.message();
    }
    if (series_.empty() && backfill_) {
      if (auto points = backfill_(ctx); points) {
        // Points anomalous against the rest are kept out of training, as live ones are.
        std::vector<SeriesPoint> judged;
        for (const auto& p : *points) {
          const auto v = detectAnomaly(*points, p.at, p.value, cfg);
          judged.push_back({p.at, p.value, v.evaluated && v.anomalous});
        }
        series_.assign(std::move(judged), ctx.now);
        details["anomaly_backfilled_points"] = series_.points().size();
      } else {
        details["anomaly_backfill_error"] = points.error();
      }
    }
  }
  const AnomalyVerdict v = detectAnomaly(series_.points(), ctx.now, rows, cfg);
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
      problem = formatNumber(rows) + " " + unit_ + " is anomalous (expected " +
                formatNumber(std::max(0.0, v.lower)) + ".." + formatNumber(v.upper) + ", median " +
                formatNumber(v.median) + (v.slot.empty() ? "" : " for " + v.slot) + ")";
    }
  }
  series_.add({ctx.now, rows, v.anomalous}, ctx.now);
  if (series_.cappedPoints() > 0) {  // the window holds more points than the cap
    a["series_capped"] = {{"dropped_points", series_.cappedPoints()},
                          {"max_points", series_.maxPoints()}};
  }
  details["anomaly"] = a;
  if (ctx.snapshots) {
    if (Status st = series_.save(*ctx.snapshots); !st.ok())
      details["anomaly_series_error"] = st.message();
  }
  return problem;
}

}  // namespace datawatch
