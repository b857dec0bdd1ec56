#pragma once
// SlidingCounter: counts of events (all, and bad) over a sliding time window,
// in O(1) amortised work per event and per query and fixed memory.
//
// The window is cut into `buckets` equal buckets (resolution r = window/buckets).
// sums(now) covers the buckets that start after now - window: between window - r
// and window of history, i.e. at most one bucket (window/buckets) is missing at the
// trailing edge — the worst-case error. With the default 60 buckets: 1 minute of a
// 1-hour window, 11.2 hours of a 28-day window.
//
// Events may arrive out of order as long as they fall inside the window; older
// ones are ignored (and counted in dropped()). Not thread-safe.

#include <cstdint>
#include <vector>

#include "core/clock.hpp"

namespace datawatch {

struct EventCounts {
  uint64_t total = 0;
  uint64_t bad = 0;
  double errorRatio() const {
    return total == 0 ? 0.0 : static_cast<double>(bad) / static_cast<double>(total);
  }
};

class SlidingCounter {
 public:
  SlidingCounter(Duration window, int buckets = 60);

  void add(TimePoint at, bool bad, uint64_t count = 1);
  // The counts over (now - window, now], to the bucket resolution.
  EventCounts sums(TimePoint now);

  Duration window() const { return window_; }
  Duration resolution() const { return resolution_; }
  uint64_t dropped() const { return dropped_; }

 private:
  int64_t bucketOf(TimePoint t) const;
  void advance(int64_t bucket);  // expire buckets older than the window ending at `bucket`

  Duration window_;
  Duration resolution_;
  std::vector<EventCounts> ring_;
  int64_t head_ = INT64_MIN;  // absolute number of the newest bucket
  EventCounts sum_;
  uint64_t dropped_ = 0;
};

}  // namespace datawatch
