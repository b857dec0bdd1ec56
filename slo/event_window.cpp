#include "slo/event_window.hpp"

#include <algorithm>

namespace datawatch {

RingSet::RingSet(const std::vector<Tier>& tiers) {
  size_t offset = 0;
  for (const auto& t : tiers) {
    TierState ts{std::max<Duration>(t.resolution, Duration{1}), offset, 1, windows_.size(), 0};
    for (Duration w : t.windows) {
      const int64_t r = ts.resolution.count();
      const int64_t k = std::max<int64_t>(1, (w.count() + r - 1) / r);
      windows_.push_back({w, tiers_.size(), k, {}});
      ts.size = std::max(ts.size, k);
    }
    ts.end_window = windows_.size();
    offset += static_cast<size_t>(ts.size);
    tiers_.push_back(ts);
  }
  buckets_.resize(offset);
}

int64_t RingSet::bucketOf(const TierState& t, TimePoint at) const {
  const auto ms = std::chrono::duration_cast<Duration>(at.time_since_epoch()).count();
  const auto r = t.resolution.count();
  return ms >= 0 ? ms / r : -((-ms + r - 1) / r);
}

RingSet::Bucket& RingSet::slot(const TierState& t, int64_t bucket) {
  return buckets_[t.offset + static_cast<size_t>((bucket % t.size + t.size) % t.size)];
}

void RingSet::advance(TierState& t, int64_t bucket) {
  if (t.head != INT64_MIN && bucket <= t.head) return;
  if (t.head == INT64_MIN || bucket - t.head >= t.size) {
    // Everything has left every window of the tier.
    std::fill(buckets_.begin() + static_cast<std::ptrdiff_t>(t.offset),
              buckets_.begin() + static_cast<std::ptrdiff_t>(t.offset) + t.size, Bucket{});
    for (size_t w = t.first_window; w < t.end_window; ++w) windows_[w].sum = {};
    t.head = bucket;
    return;
  }
  for (int64_t b = t.head + 1; b <= bucket; ++b) {
    // Bucket b - k leaves the window of span k. The longest window's leaver is the
    // slot b reuses, so the subtractions come before the slot is cleared.
    for (size_t w = t.first_window; w < t.end_window; ++w) {
      const Bucket& gone = slot(t, b - windows_[w].span);
      windows_[w].sum.total -= gone.total;
      windows_[w].sum.bad -= gone.bad;
      windows_[w].sum.no_data -= gone.no_data;
    }
    slot(t, b) = {};
  }
  t.head = bucket;
}

void RingSet::add(TimePoint at, const Bucket& delta) {
  for (auto& t : tiers_) {
    const int64_t b = bucketOf(t, at);
    advance(t, b);
    if (b <= t.head - t.size) {
      if (&t == &tiers_.front()) dropped_ += delta.total;  // older than the ring
      continue;
    }
    Bucket& s = slot(t, b);
    s.total += delta.total;
    s.bad += delta.bad;
    s.no_data += delta.no_data;
    for (size_t w = t.first_window; w < t.end_window; ++w) {
      if (b <= t.head - windows_[w].span) continue;  // already left this window
      windows_[w].sum.total += delta.total;
      windows_[w].sum.bad += delta.bad;
      windows_[w].sum.no_data += delta.no_data;
    }
  }
}

void RingSet::add(TimePoint at, bool bad, uint32_t count) {
  add(at, Bucket{count, bad ? count : 0, 0});
}

void RingSet::addNoData(TimePoint at, uint32_t minutes) {
  add(at, Bucket{0, 0, minutes});
}

void RingSet::advanceTo(TimePoint now) {
  for (auto& t : tiers_) advance(t, bucketOf(t, now));
}

SlidingCounter::SlidingCounter(Duration window, int buckets)
    : set_({{Duration{std::max<Duration::rep>(1, window.count() / std::max(1, buckets))},
             {window}}}) {}

}  // namespace datawatch
