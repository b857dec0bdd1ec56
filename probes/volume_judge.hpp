#pragma once
// VolumeJudge: turns a count (rows in a table, messages in a topic) into a
// volume probe's result — min / max / must (every bound set must hold),
// max_change against the previous measured run, and the anomaly check with its
// training series (kept in memory and in the probe's snapshots
// "<probe>:volume_series[:<day>]", bounded by the training window: see
// volume_series.hpp). Shared by table and topic volume.
//
// Not thread-safe: one per probe (a probe never runs concurrently with itself).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "probes/anomaly.hpp"
#include "probes/probe.hpp"
#include "probes/volume_series.hpp"

namespace datawatch {

class VolumeJudge {
 public:
  // Rebuilds the training series from the data on the first run when no series
  // is stored (points oldest first, before ctx.now). Optional.
  using Backfill = std::function<Result<std::vector<SeriesPoint>>(const RunContext&)>;

  // `unit`: "rows" or "messages"; `approx` prefixes counts with "~" (estimates).
  VolumeJudge(const config::ProbeConfig& cfg, std::string unit, bool approx,
              Backfill backfill = {});

  ProbeResult judge(const RunContext& ctx, double count, nlohmann::json details);

 private:
  std::optional<std::string> checkAnomaly(const RunContext& ctx, double count,
                                          nlohmann::json& details, nlohmann::json& threshold);

  const config::VolumeSpec& spec_;
  std::string unit_;
  bool approx_;
  Backfill backfill_;
  bool loaded_ = false;
  VolumeSeries series_;  // the anomaly training series
};

}  // namespace datawatch
