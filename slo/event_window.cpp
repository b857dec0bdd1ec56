#include "slo/event_window.hpp"

#include <algorithm>
#include <cassert>

namespace datawatch {

RingSet::RingSet(const std::vector<Tier>& tiers) {
  size_t offset = 0;
  for (const auto& t : tiers) {
    Duration r = std::max<Duration>(t.resolution, Duration{1});
    for (Duration w : t.windows) r = std::min(r, std::max<Duration>(w, Duration{1}));
    // Spans of floor(W / r) whole buckets, plus the trailing bucket, one more in
    // case the window's start falls a bucket further back (W not a multiple of r),
    // and one for a head that ran ahead of `now` (an event stamped after it).
    TierState ts{r, offset, 1, windows_.size(), 0};
    for (Duration w : t.windows) {
      const int64_t span = std::max<int64_t>(1, w / r);
      windows_.push_back({w, tiers_.size(), span, w == span * r, {}, {}});
      ts.size = std::max(ts.size, span + 3);
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

namespace {
// The slot of `bucket` in a ring of `size` whose `head` sits in `head_slot`:
// bucket mod size, without a division when the bucket is within a ring's
// length of the head (every caller's case).
int64_t ringSlot(int64_t bucket, int64_t head, int64_t head_slot, int64_t size) {
  const int64_t d = bucket - head;
  if (d > -size && d < size) {
    const int64_t i = head_slot + d;
    return i < 0 ? i + size : i >= size ? i - size : i;
  }
  return (bucket % size + size) % size;
}
}  // namespace

RingSet::Bucket& RingSet::slot(const TierState& t, int64_t bucket) {
  return buckets_[t.offset + static_cast<size_t>(ringSlot(bucket, t.head, t.head_slot, t.size))];
}

const RingSet::Bucket& RingSet::slot(const TierState& t, int64_t bucket) const {
  return buckets_[t.offset + static_cast<size_t>(ringSlot(bucket, t.head, t.head_slot, t.size))];
}

void RingSet::advance(TierState& t, int64_t bucket) {
  if (t.head != INT64_MIN && bucket <= t.head) return;
  if (t.head == INT64_MIN || bucket - t.head >= t.size) {
    // Everything has left every window of the tier.
    std::fill(buckets_.begin() + static_cast<std::ptrdiff_t>(t.offset),
              buckets_.begin() + static_cast<std::ptrdiff_t>(t.offset) + t.size, Bucket{});
    for (size_t w = t.first_window; w < t.end_window; ++w) {
      windows_[w].sum = {};
      windows_[w].trailing = {};
    }
    t.head = bucket;
    t.head_slot = (bucket % t.size + t.size) % t.size;
    return;
  }
  for (int64_t b = t.head + 1; b <= bucket; ++b) {
    // Bucket b - span leaves the running sum (it becomes the trailing bucket). The
    // slot b reuses is older than every window's trailing bucket.
    for (size_t w = t.first_window; w < t.end_window; ++w) {
      const Bucket& gone = slot(t, b - windows_[w].span);
      windows_[w].sum.total -= gone.good.n + gone.bad.n;
      windows_[w].sum.bad -= gone.bad.n;
      windows_[w].sum.no_data -= gone.no_data;
      windows_[w].trailing = gone;
    }
    slot(t, b) = {};
  }
  t.head_slot = ringSlot(bucket, t.head, t.head_slot, t.size);
  t.head = bucket;
}

void RingSet::Events::add(uint32_t count, uint32_t offset) {
  if (count == 0) return;
  first = n == 0 ? offset : std::min(first, offset);
  last = n == 0 ? offset : std::max(last, offset);
  n += count;
}

uint64_t RingSet::Events::after(int64_t c) const {
  // Evenly spaced from first to last: those with first + k * step > c.
  if (n == 0 || c < static_cast<int64_t>(first)) return n;
  if (c >= static_cast<int64_t>(last)) return 0;
  const int64_t k = n;
  return static_cast<uint64_t>(k - 1 - (c - first) * (k - 1) / (last - first));
}

void RingSet::add(TimePoint at, uint32_t good, uint32_t bad, uint32_t no_data) {
  const auto at_ms = std::chrono::duration_cast<Duration>(at.time_since_epoch()).count();
  for (auto& t : tiers_) {
    const int64_t b = bucketOf(t, at);
    advance(t, b);
    if (b <= t.head - t.size) {
      if (&t == &tiers_.front()) dropped_ += good + bad;  // older than the ring
      continue;
    }
    Bucket& s = slot(t, b);
    const auto off = static_cast<uint32_t>(at_ms - b * t.resolution.count());
    const auto fill = [&](Bucket& into) {
      into.good.add(good, off);
      into.bad.add(bad, off);
      into.no_data += no_data;
    };
    fill(s);
    for (size_t w = t.first_window; w < t.end_window; ++w) {
      if (b == t.head - windows_[w].span) fill(windows_[w].trailing);
      if (b <= t.head - windows_[w].span) continue;  // trailing or older: read by sum()
      windows_[w].sum.total += good + bad;
      windows_[w].sum.bad += bad;
      windows_[w].sum.no_data += no_data;
    }
  }
}

void RingSet::add(TimePoint at, bool bad, uint32_t count) {
  add(at, bad ? 0 : count, bad ? count : 0, 0);
}

void RingSet::addNoData(TimePoint at, uint32_t minutes) {
  add(at, 0, 0, minutes);
}

void RingSet::advanceTo(TimePoint now) {
  for (auto& t : tiers_) {
    t.now_bucket = bucketOf(t, now);
    advance(t, t.now_bucket);
  }
  now_ = now;
}

EventCounts RingSet::after(const TierState& t, const Bucket& s, int64_t b, TimePoint cutoff) {
  const int64_t r = t.resolution.count();
  const int64_t c = std::chrono::duration_cast<Duration>(cutoff.time_since_epoch()).count() - b * r;
  EventCounts out;
  out.bad = s.bad.after(c);
  out.total = s.good.after(c) + out.bad;
  // No-data minutes, spread over the bucket: those starting after c.
  if (s.no_data > 0 && c < r)
    out.no_data = static_cast<uint64_t>(std::max<int64_t>(0, r - c - 1) * s.no_data / r);
  return out;
}

EventCounts RingSet::sum(size_t window) const {
  const WindowState& w = windows_[window];
  const TierState& t = tiers_[w.tier];
  EventCounts out = w.sum;
  if (!now_ || t.head == INT64_MIN) return out;
  const TimePoint cutoff = *now_ - w.window;
  const int64_t trailing = w.aligned ? t.now_bucket - w.span : bucketOf(t, cutoff);
  const int64_t oldest = t.head - t.size + 1;  // the oldest bucket still in the ring
  // Whole buckets between the trailing one and the running sum (W not a multiple
  // of the resolution, or a head that ran ahead of `now`).
  for (int64_t b = std::max(trailing + 1, oldest); b <= t.head - w.span; ++b) {
    const Bucket& s = slot(t, b);
    out.total += s.good.n + s.bad.n;
    out.bad += s.bad.n;
    out.no_data += s.no_data;
  }
  // The copy's invariant, checked by every test (Debug builds).
  assert(w.trailing == slot(t, t.head - w.span));
  if (trailing >= oldest && trailing <= t.head - w.span) {
    const Bucket& s = trailing == t.head - w.span ? w.trailing : slot(t, trailing);
    const EventCounts part = after(t, s, trailing, cutoff);
    out.total += part.total;
    out.bad += part.bad;
    out.no_data += part.no_data;
  }
  return out;
}

SlidingCounter::SlidingCounter(Duration window, int buckets)
    : set_({{Duration{std::max<Duration::rep>(1, window.count() / std::max(1, buckets))},
             {window}}}) {}

}  // namespace datawatch
