#include "alerting/event_window.hpp"

#include <algorithm>

namespace datawatch {

SlidingCounter::SlidingCounter(Duration window, int buckets)
    : window_(window),
      resolution_(std::max<Duration::rep>(1, window.count() / std::max(1, buckets))),
      ring_(static_cast<size_t>(std::max(1, buckets))) {}

int64_t SlidingCounter::bucketOf(TimePoint t) const {
  const auto ms = std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
  const auto r = resolution_.count();
  return ms >= 0 ? ms / r : -((-ms + r - 1) / r);
}

void SlidingCounter::advance(int64_t bucket) {
  const auto n = static_cast<int64_t>(ring_.size());
  if (head_ == INT64_MIN) {
    head_ = bucket;
    return;
  }
  if (bucket <= head_) return;
  // Every bucket from head_+1 to `bucket` is new; the ring slot it reuses expires.
  const int64_t steps = std::min(bucket - head_, n);
  for (int64_t k = 1; k <= steps; ++k) {
    Bucket& slot = ring_[static_cast<size_t>(((head_ + k) % n + n) % n)];
    sum_.total -= slot.total;
    sum_.bad -= slot.bad;
    sum_.no_data -= slot.no_data;
    slot = {};
  }
  head_ = bucket;
}

SlidingCounter::Bucket* SlidingCounter::slotFor(TimePoint at, uint32_t count) {
  const int64_t b = bucketOf(at);
  advance(b);
  const auto n = static_cast<int64_t>(ring_.size());
  if (b <= head_ - n) {
    dropped_ += count;  // older than the window
    return nullptr;
  }
  return &ring_[static_cast<size_t>((b % n + n) % n)];
}

void SlidingCounter::add(TimePoint at, bool bad, uint32_t count) {
  Bucket* slot = slotFor(at, count);
  if (!slot) return;
  slot->total += count;
  sum_.total += count;
  if (bad) {
    slot->bad += count;
    sum_.bad += count;
  }
}

void SlidingCounter::addNoData(TimePoint at, uint32_t minutes) {
  Bucket* slot = slotFor(at, 0);
  if (!slot) return;
  slot->no_data += minutes;
  sum_.no_data += minutes;
}

EventCounts SlidingCounter::sums(TimePoint now) {
  advance(bucketOf(now));
  return sum_;
}

}  // namespace datawatch
