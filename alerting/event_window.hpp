#pragma once
// WindowRing: counts of events (all, bad) and of minutes without data over
// several sliding windows that share one ring of buckets, in O(1) work per event
// and per window and fixed memory.
//
// The ring has one bucket per `resolution` and spans the longest of its
// windows; each window keeps a running sum of its newest k = window/resolution
// buckets (rounded up). Adding an event updates the bucket and the sums of the
// windows it falls in; moving to a new bucket subtracts, for each window, the
// bucket that has just left it. sums(now, w) covers the buckets that start after
// now - window: between window - resolution and window of history, so at most one
// bucket (one resolution) is missing at the trailing edge — the worst-case error.
//
// Memory: 12 bytes a bucket (32-bit counts per bucket, 64-bit running sums).
// Events may arrive out of order as long as they fall inside the ring; older
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

class WindowRing {
 public:
  // `windows` must not be empty; the ring spans the longest.
  WindowRing(Duration resolution, std::vector<Duration> windows);

  void add(TimePoint at, bool bad, uint32_t count = 1);
  void addNoData(TimePoint at, uint32_t minutes = 1);
  // The counts of window `i` (in constructor order) at `now`, to the resolution.
  EventCounts sums(TimePoint now, size_t i);

  const std::vector<Duration>& windows() const { return windows_; }
  Duration resolution() const { return resolution_; }
  size_t buckets() const { return ring_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Bucket {
    uint32_t total = 0;
    uint32_t bad = 0;
    uint32_t no_data = 0;
  };
  int64_t bucketOf(TimePoint t) const;
  Bucket& slot(int64_t bucket) {
    const auto n = static_cast<int64_t>(ring_.size());
    return ring_[static_cast<size_t>((bucket % n + n) % n)];
  }
  void advance(int64_t bucket);  // makes `bucket` the newest, expiring what leaves each window
  void add(TimePoint at, const Bucket& delta);

  Duration resolution_;
  std::vector<Duration> windows_;
  std::vector<int64_t> spans_;  // buckets per window
  std::vector<EventCounts> sums_;
  std::vector<Bucket> ring_;
  int64_t head_ = INT64_MIN;  // absolute number of the newest bucket
  uint64_t dropped_ = 0;
};

// One window alone (tests, simple uses): 60 buckets.
class SlidingCounter {
 public:
  explicit SlidingCounter(Duration window, int buckets = 60);
  void add(TimePoint at, bool bad, uint32_t count = 1) { ring_.add(at, bad, count); }
  EventCounts sums(TimePoint now) { return ring_.sums(now, 0); }
  Duration window() const { return ring_.windows()[0]; }
  Duration resolution() const { return ring_.resolution(); }
  uint64_t dropped() const { return ring_.dropped(); }

 private:
  WindowRing ring_;
};

}  // namespace datawatch
