#include "core/clock.hpp"

namespace datawatch {

TimePoint SimulatedClock::now() const {
  MutexLock lock(mu_);
  return wall_;
}

MonoTime SimulatedClock::monotonic() const {
  MutexLock lock(mu_);
  return MonoTime{} + elapsed_;
}

void SimulatedClock::advance(Duration d) {
  MutexLock lock(mu_);
  if (d.count() <= 0) return;
  wall_ += d;
  elapsed_ += d;
}

void SimulatedClock::advanceTo(TimePoint t) {
  MutexLock lock(mu_);
  if (t <= wall_) return;
  elapsed_ += std::chrono::duration_cast<Duration>(t - wall_);
  wall_ = t;
}

}  // namespace datawatch
