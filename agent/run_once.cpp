#include "agent/run_once.hpp"

#include <thread>

#include "core/mutex.hpp"

namespace datawatch {
namespace {

// Handed between the probe threads and the loop that schedules them.
struct Handover {
  explicit Handover(size_t n) : results(n) {}
  Mutex mu;
  CondVar cv;
  std::vector<ProbeResult> results GUARDED_BY(mu);
  std::vector<size_t> finished GUARDED_BY(mu);  // not yet told to the scheduler
};

}  // namespace

std::vector<ProbeResult> runAllOnce(Runtime& runtime, const Clock& clock, int max_concurrent,
                                    const std::function<void(size_t, size_t)>& progress) {
  const size_t n = runtime.size();
  if (n == 0) return {};
  const TimePoint start = clock.now();
  // No jitter: everything is due now. Always asking at `start` means a finished
  // probe (next due start + every) is never picked twice.
  Scheduler sched(Scheduler::Options{max_concurrent, runtime.sourceLimits(), Duration{0}},
                  runtime.schedule(), start);
  Handover h(n);
  std::vector<std::thread> threads;
  size_t done = 0;
  MutexLock lock(h.mu);
  while (done < n) {
    for (const auto& d : sched.takeDue(start)) {
      threads.emplace_back([&, idx = d.index] {
        ProbeResult r = runtime.runProbe(idx);
        MutexLock l(h.mu);
        h.results[idx] = std::move(r);
        h.finished.push_back(idx);
        h.cv.notifyOne();
      });
    }
    h.cv.wait(lock, [&]() REQUIRES(h.mu) { return !h.finished.empty(); });
    for (size_t idx : h.finished) {
      sched.finished(idx, clock.now());
      ++done;
      if (progress) progress(done, n);
    }
    h.finished.clear();
  }
  std::vector<ProbeResult> out = std::move(h.results);  // every thread has written its own
  lock.unlock();
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace datawatch
