#pragma once
// Sliding-window event counts for the SLO engine, in O(1) work per event and
// per window and fixed memory.
//
// Window semantics (the contract): the window W at `now` counts the entries
// observed in (now - W, now] — exactly the last W, no more, no less.
//
// A RingSet holds one or more tiers; a tier is a ring of buckets of one
// resolution r spanning the longest of its windows. Each window keeps a running
// sum of its newest span = floor(W / r) buckets — all of them inside the window
// — and adds, when read, the part of the one bucket that straddles now - W (the
// trailing bucket) observed after now - W:
// - events: each bucket keeps, for its good and for its bad events apart, the
//   offsets of the first and the last; the trailing bucket's good (bad) events
//   are taken as evenly spaced between the two, so the count after the cutoff is
//   exact when they are (one probe at a steady cadence, a single event, a run of
//   failures) and otherwise off by less than the good (bad) events of that one
//   bucket;
// - no-data minutes: taken as spread evenly over the bucket (exact for one-minute
//   buckets, whose minute starts at the bucket's start).
// Moving a tier to a new bucket subtracts, for each of its windows, the bucket
// that has just become the trailing one.
//
// Memory: 28 bytes a bucket, span + 3 buckets per tier; every bucket and window
// of a RingSet lives in three allocations, so evaluating all windows touches a
// few cache lines. Events may arrive out of order as long as they fall inside
// their tier's ring; older ones are ignored (and counted in dropped()). Not
// thread-safe.

#include <cstdint>
#include <optional>
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
    Duration resolution;  // clamped to [1 ms, the tier's shortest window]
    std::vector<Duration> windows;
  };
  // Windows are numbered in the order given, tier after tier. No tier may be empty.
  explicit RingSet(const std::vector<Tier>& tiers);

  void add(TimePoint at, bool bad, uint32_t count = 1);
  void addNoData(TimePoint at, uint32_t minutes = 1);
  // Moves every tier to `now` (expiring what left each window); then sum() reads
  // the windows ending at `now`.
  void advanceTo(TimePoint now);
  // Entries in (now - W, now] for the `now` of the last advanceTo.
  EventCounts sum(size_t window) const;
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
  // Events of one kind (good or bad) in a bucket.
  struct Events {
    uint32_t n = 0;
    uint32_t first = 0;  // offset of the first from the bucket's start, ms
    uint32_t last = 0;   // and of the last
    void add(uint32_t count, uint32_t offset);
    // Those after offset `c`, taken as evenly spaced from first to last.
    uint64_t after(int64_t c) const;
    bool operator==(const Events&) const = default;
  };
  struct Bucket {
    Events good, bad;
    uint32_t no_data = 0;
    bool operator==(const Bucket&) const = default;
  };
  // Hot path (an evaluation tick reads every window of every SLO): a bucket's
  // slot is found from the head's without a division (slot()), a window's
  // trailing bucket from the tier's bucket of `now` when the window is a
  // whole number of buckets (aligned), and its contents from the window's own
  // copy (WindowState::trailing): reading it from the ring was a cache miss
  // per window, most of a tick's time with 10,000 SLOs.
  struct TierState {
    Duration resolution;
    size_t offset;  // first bucket in buckets_
    int64_t size;   // buckets in the ring
    size_t first_window, end_window;
    int64_t head = INT64_MIN;  // absolute number of the newest bucket
    int64_t head_slot = 0;     // head's slot in the ring: head mod size
    int64_t now_bucket = 0;    // bucketOf(now_), set by advanceTo
  };
  struct WindowState {
    Duration window;
    size_t tier;
    int64_t span;     // whole buckets in the running sum: floor(window / resolution)
    bool aligned;     // window == span x resolution
    EventCounts sum;  // of the buckets (head - span, head]
    Bucket trailing;  // invariant: equal to bucket head - span
  };
  int64_t bucketOf(const TierState& t, TimePoint at) const;
  Bucket& slot(const TierState& t, int64_t bucket);
  const Bucket& slot(const TierState& t, int64_t bucket) const;
  void advance(TierState& t, int64_t bucket);
  void add(TimePoint at, uint32_t good, uint32_t bad, uint32_t no_data);
  // The entries of bucket `b` observed after `cutoff` (see the header comment).
  static EventCounts after(const TierState& t, const Bucket& s, int64_t b, TimePoint cutoff);

  std::vector<TierState> tiers_;
  std::vector<WindowState> windows_;
  std::vector<Bucket> buckets_;
  std::optional<TimePoint> now_;
  uint64_t dropped_ = 0;
};

// One tier of windows (tests, simple uses).
class WindowRing {
 public:
  WindowRing(Duration resolution, std::vector<Duration> windows)
      : set_({{resolution, std::move(windows)}}) {}
  void add(TimePoint at, bool bad, uint32_t count = 1) { set_.add(at, bad, count); }
  void addNoData(TimePoint at, uint32_t minutes = 1) { set_.addNoData(at, minutes); }
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
