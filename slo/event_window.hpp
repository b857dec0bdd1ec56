#pragma once
// Sliding-window event counts for the SLO engine, in O(1) work per event and
// per window and fixed memory.
//
// A RingSet holds one or more tiers; a tier is a ring of buckets of one
// resolution spanning the longest of its windows, and each window keeps a
// running sum of its newest k = window/resolution buckets (rounded up). Adding
// an event updates its bucket and the sums of the windows it falls in; moving a
// tier to a new bucket subtracts, for each of its windows, the bucket that has
// just left it. A window's sum at `now` covers the buckets that start after
// now - window: between window - resolution and window of history, so at most one
// bucket (one resolution) is missing at the trailing edge — the worst-case error.
//
// Memory: 12 bytes a bucket; every bucket and window of a RingSet lives in three
// allocations, so evaluating all windows touches a few cache lines. Events may
// arrive out of order as long as they fall inside their tier; older ones are
// ignored (and counted in dropped()). Not thread-safe.

#include <cstdint>
#include <vector>

#include "core/clock.hpp"

namespace datawatch {

struct EventCounts {
  uint64_t total = 0;    // events
  uint64_t bad = 0;      // of them bad
  uint64_t no_data = 0;  // minutes without data (see SloState)
  double errorRatio() const {
    return total == 0 ? 0.0 : static_cast<double>(bad) / static_cast<double>(total);
  }
};

class RingSet {
 public:
  struct Tier {
    Duration resolution;
    std::vector<Duration> windows;
  };
  // Windows are numbered in the order given, tier after tier. No tier may be empty.
  explicit RingSet(const std::vector<Tier>& tiers);

  void add(TimePoint at, bool bad, uint32_t count = 1);
  void addNoData(TimePoint at, uint32_t minutes = 1);
  // Moves every tier to `now` (expiring what left each window); then sum() reads.
  void advanceTo(TimePoint now);
  const EventCounts& sum(size_t window) const { return windows_[window].sum; }
  EventCounts sums(TimePoint now, size_t window) {
    advanceTo(now);
    return sum(window);
  }

  size_t windowCount() const { return windows_.size(); }
  Duration window(size_t i) const { return windows_[i].window; }
  Duration resolution(size_t window) const { return tiers_[windows_[window].tier].resolution; }
  size_t buckets() const { return buckets_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Bucket {
    uint32_t total = 0;
    uint32_t bad = 0;
    uint32_t no_data = 0;
  };
  struct TierState {
    Duration resolution;
    size_t offset;  // first bucket in buckets_
    int64_t size;   // buckets in the ring
    size_t first_window, end_window;
    int64_t head = INT64_MIN;  // absolute number of the newest bucket
  };
  struct WindowState {
    Duration window;
    size_t tier;
    int64_t span;  // buckets
    EventCounts sum;
  };
  int64_t bucketOf(const TierState& t, TimePoint at) const;
  Bucket& slot(const TierState& t, int64_t bucket);
  void advance(TierState& t, int64_t bucket);
  void add(TimePoint at, const Bucket& delta);

  std::vector<TierState> tiers_;
  std::vector<WindowState> windows_;
  std::vector<Bucket> buckets_;
  uint64_t dropped_ = 0;
};

// One tier of windows (tests, simple uses).
class WindowRing {
 public:
  WindowRing(Duration resolution, std::vector<Duration> windows)
      : set_({{resolution, std::move(windows)}}) {}
  void add(TimePoint at, bool bad, uint32_t count = 1) { set_.add(at, bad, count); }
  EventCounts sums(TimePoint now, size_t i) { return set_.sums(now, i); }
  size_t buckets() const { return set_.buckets(); }
  uint64_t dropped() const { return set_.dropped(); }

 private:
  RingSet set_;
};

// One window alone, in 60 buckets.
class SlidingCounter {
 public:
  explicit SlidingCounter(Duration window, int buckets = 60);
  void add(TimePoint at, bool bad, uint32_t count = 1) { set_.add(at, bad, count); }
  EventCounts sums(TimePoint now) { return set_.sums(now, 0); }
  Duration window() const { return set_.window(0); }
  Duration resolution() const { return set_.resolution(0); }
  uint64_t dropped() const { return set_.dropped(); }

 private:
  RingSet set_;
};

}  // namespace datawatch
