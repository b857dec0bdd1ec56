#pragma once
// VolumeSeries: a volume probe's anomaly training series, in memory and in its
// snapshots, bounded and stored so that a run writes little.
//
// Invariants:
// - Bounded by the training window: points older than now - training are
//   dropped (detectAnomaly reads nothing older, seasonal slots included: a slot
//   is trained on the points of the window that fall in it). A hard cap of
//   max_points (newest kept) guards against a tiny cadence with a long window;
//   when it drops anything, cappedPoints() says how many (never silent).
// - Stored by UTC day: an index "<key>" {"format": 2, "days": [...]} and one
//   document per day "<key>:<YYYY-MM-DD>" {"t": [ms since the day's start of
//   the first point, then deltas], "v": [values], "a": [indices anomalous]}.
//   save() rewrites only the days changed since the last save (a live run: the
//   current day) and the index when the set of days changes; a day that leaves
//   the window is overwritten with null.
// - Reads the previous format (one document {"points": [[ms, value, 0|1]...]})
//   and rewrites it in this one on the next save.
//
// Not thread-safe: one per probe (a probe never runs concurrently with itself).

#include <set>
#include <string>
#include <vector>

#include "probes/anomaly.hpp"
#include "probes/snapshot_store.hpp"

namespace datawatch {

class VolumeSeries {
 public:
  static constexpr size_t kMaxPoints = 100000;  // ~69 days at one point a minute

  VolumeSeries(std::string key, Duration training, size_t max_points = kMaxPoints);

  // Loads the stored series (dropping points older than the window at `now`),
  // replacing whatever this object held: what the store says is the series.
  Status load(SnapshotStore& store, TimePoint now);
  // Replaces the series (a backfill), oldest first; every day is rewritten.
  void assign(std::vector<SeriesPoint> points, TimePoint now);
  // Appends a point (newer than every other) and applies the bounds at `now`.
  void add(const SeriesPoint& p, TimePoint now);
  // Writes the changed days and, when the set of days changed, the index.
  Status save(SnapshotStore& store);

  const std::vector<SeriesPoint>& points() const { return points_; }
  bool empty() const { return points_.empty(); }
  // Points the cap dropped since the last save (0: none).
  size_t cappedPoints() const { return capped_; }
  size_t maxPoints() const { return max_points_; }

 private:
  void bound(TimePoint now);
  std::string dayKey(const std::string& day) const { return key_ + ":" + day; }
  nlohmann::json encodeDay(const std::string& day) const;
  void decodeDay(const nlohmann::json& doc, const std::string& day);

  std::string key_;
  Duration training_;
  size_t max_points_;
  size_t capped_ = 0;
  std::vector<SeriesPoint> points_;    // oldest first
  std::set<std::string> stored_days_;  // days the stored index lists
  std::set<std::string> dirty_days_;   // days to rewrite at the next save
  bool index_dirty_ = false;
};

}  // namespace datawatch
