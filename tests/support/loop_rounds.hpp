#pragma once
// Drives a ProbeLoop on a SimulatedClock one second at a time (tests of
// probes every 1s).

#include <chrono>
#include <cstdint>
#include <functional>

#include "agent/probe_loop.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

// First runs fall in [0, 1s) (one may be due at 0): the clock moves a second
// before the loop starts, so its first look finds every probe due at once,
// and so does each second after. Round by round, waits until `per_round`
// more runs have completed, then calls `each(round)`. False on a timeout.
inline bool runRounds(ProbeLoop& loop, SimulatedClock& clock, uint64_t rounds, uint64_t per_round,
                      std::chrono::milliseconds timeout,
                      const std::function<void(uint64_t)>& each = {}) {
  clock.advance(std::chrono::seconds(1));
  loop.start();
  for (uint64_t round = 1; round <= rounds; ++round) {
    if (round > 1) {
      clock.advance(std::chrono::seconds(1));
      loop.wake();
    }
    if (!eventually([&] { return loop.completedRuns() >= per_round * round; }, timeout))
      return false;
    if (each) each(round);
  }
  return true;
}

}  // namespace datawatch::testing
