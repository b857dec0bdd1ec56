#include "alerting/event_window.hpp"

#include <algorithm>

namespace datawatch {

WindowRing::WindowRing(Duration resolution, std::vector<Duration> windows)
    : resolution_(std::max<Duration>(resolution, Duration{1})), windows_(std::move(windows)) {
  int64_t longest = 1;
  for (Duration w : windows_) {
    const int64_t k =
        std::max<int64_t>(1, (w.count() + resolution_.count() - 1) / resolution_.count());
    spans_.push_back(k);
    longest = std::max(longest, k);
  }
  sums_.resize(windows_.size());
  ring_.resize(static_cast<size_t>(longest));
}

int64_t WindowRing::bucketOf(TimePoint t) const {
  const auto ms = std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
  const auto r = resolution_.count();
  return ms >= 0 ? ms / r : -((-ms + r - 1) / r);
}

void WindowRing::advance(int64_t bucket) {
  const auto n = static_cast<int64_t>(ring_.size());
  if (head_ == INT64_MIN || bucket - head_ >= n) {
    std::fill(ring_.begin(), ring_.end(), Bucket{});  // everything has left every window
    std::fill(sums_.begin(), sums_.end(), EventCounts{});
    head_ = bucket;
    return;
  }
  for (int64_t b = head_ + 1; b <= bucket; ++b) {
    // Bucket b - k leaves the window of span k. The longest window's leaver is the
    // slot b reuses, so the subtractions come before the slot is cleared.
    for (size_t i = 0; i < spans_.size(); ++i) {
      const Bucket& gone = slot(b - spans_[i]);
      sums_[i].total -= gone.total;
      sums_[i].bad -= gone.bad;
      sums_[i].no_data -= gone.no_data;
    }
    slot(b) = {};
  }
  head_ = std::max(head_, bucket);
}

void WindowRing::add(TimePoint at, const Bucket& delta) {
  const int64_t b = bucketOf(at);
  advance(b);
  const auto n = static_cast<int64_t>(ring_.size());
  if (b <= head_ - n) {
    dropped_ += delta.total;  // older than the ring
    return;
  }
  Bucket& s = slot(b);
  s.total += delta.total;
  s.bad += delta.bad;
  s.no_data += delta.no_data;
  for (size_t i = 0; i < spans_.size(); ++i) {
    if (b <= head_ - spans_[i]) continue;  // already left this window
    sums_[i].total += delta.total;
    sums_[i].bad += delta.bad;
    sums_[i].no_data += delta.no_data;
  }
}

void WindowRing::add(TimePoint at, bool bad, uint32_t count) {
  add(at, Bucket{count, bad ? count : 0, 0});
}

void WindowRing::addNoData(TimePoint at, uint32_t minutes) {
  add(at, Bucket{0, 0, minutes});
}

EventCounts WindowRing::sums(TimePoint now, size_t i) {
  advance(bucketOf(now));
  return sums_[i];
}

SlidingCounter::SlidingCounter(Duration window, int buckets)
    : ring_(Duration{std::max<Duration::rep>(1, window.count() / std::max(1, buckets))}, {window}) {
}

}  // namespace datawatch
