#pragma once
// SlidingCounter: counts of events (all, bad) and of minutes without data over a
// sliding time window, in O(1) amortised work per event and per query and fixed
// memory.
//
// The window is cut into `buckets` equal buckets (resolution r = window/buckets).
// sums(now) covers the buckets that start after now - window: between window - r
// and window of history, i.e. at most one bucket (window/buckets) is missing at the
// trailing edge — the worst-case error. With 60 buckets: 5 seconds of a 5-minute
// window, 1 minute of a 1-hour window, 72 minutes of a 3-day window.
//
// Memory: 12 bytes a bucket (32-bit counts per bucket, 64-bit running sums).
// Events may arrive out of order as long as they fall inside the window; older
// ones are ignored (and counted in dropped()). Not thread-safe.

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

class SlidingCounter {
 public:
  explicit SlidingCounter(Duration window, int buckets = 60);

  void add(TimePoint at, bool bad, uint32_t count = 1);
  void addNoData(TimePoint at, uint32_t minutes = 1);
  // The counts over (now - window, now], to the bucket resolution.
  EventCounts sums(TimePoint now);

  Duration window() const { return window_; }
  Duration resolution() const { return resolution_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Bucket {
    uint32_t total = 0;
    uint32_t bad = 0;
    uint32_t no_data = 0;
  };
  int64_t bucketOf(TimePoint t) const;
  void advance(int64_t bucket);  // expire buckets older than the window ending at `bucket`
  Bucket* slotFor(TimePoint at, uint32_t count);  // null when older than the window

  Duration window_;
  Duration resolution_;
  std::vector<Bucket> ring_;
  int64_t head_ = INT64_MIN;  // absolute number of the newest bucket
  EventCounts sum_;
  uint64_t dropped_ = 0;
};

}  // namespace datawatch
