#pragma once
// Runs every probe of a Runtime once, `max_concurrent` at a time and within each
// source's limit (the same Scheduler as the agent). Used by `check`.

#include <functional>
#include <vector>

#include "agent/runtime.hpp"

namespace datawatch {

// `progress(done, total)` is called after each run, from the calling thread.
std::vector<ProbeResult> runAllOnce(Runtime& runtime, const Clock& clock, int max_concurrent,
                                    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace datawatch
