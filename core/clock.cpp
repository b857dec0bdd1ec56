#include "core/clock.hpp"

namespace datawatch {

TimePoint SimulatedClock::now() const {
  std::lock_guard lock(mu_);
  return wall_;
}

MonoTime SimulatedClock::monotonic() const {
  std::lock_guard lock(mu_);
  return MonoTime{} + elapsed_;
}

void SimulatedClock::advance(Duration d) {
  std::lock_guard lock(mu_);
  if (d.count() <= 0) return;
  wall_ += d;
  elapsed_ += d;
}

void SimulatedClock::advanceTo(TimePoint t) {
  std::lock_guard lock(mu_);
  if (t <= wall_) return;
  elapsed_ += std::chrono::duration_cast<Duration>(t - wall_);
  wall_ = t;
}

}  // namespace datawatch
