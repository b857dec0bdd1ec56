#pragma once
// The one place that reads the real time (Envoy TimeSource, LevelDB Env::NowMicros).
// Everything else receives a Clock&: the scheduler, the probes (`now` is a query
// parameter, never the database's now()), the state store pruning, the demo.

#include <chrono>

#include "core/mutex.hpp"

namespace datawatch {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;
using MonoTime = std::chrono::steady_clock::time_point;

// Thread-safe. Implementations must be usable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time (UTC): what results, metrics and SQL parameters carry.
  virtual TimePoint now() const = 0;
  // Monotonic time: deadlines, durations, timeouts.
  virtual MonoTime monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonic() const override { return std::chrono::steady_clock::now(); }
};

// A clock that only moves when told to: wall and monotonic time advance together.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimePoint start) : wall_(start) {}
  TimePoint now() const override;
  MonoTime monotonic() const override;
  void advance(Duration d);
  // Moves to `t`; never backwards (a earlier `t` is ignored).
  void advanceTo(TimePoint t);

 private:
  mutable Mutex mu_;
  TimePoint wall_ GUARDED_BY(mu_);
  Duration elapsed_ GUARDED_BY(mu_){0};
};

}  // namespace datawatch
