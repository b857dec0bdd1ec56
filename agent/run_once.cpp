#include "agent/run_once.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace datawatch {

std::vector<ProbeResult> runAllOnce(Runtime& runtime, const Clock& clock, int max_concurrent,
                                    const std::function<void(size_t, size_t)>& progress) {
  const size_t n = runtime.size();
  std::vector<ProbeResult> results(n);
  if (n == 0) return results;
  const TimePoint start = clock.now();
  // No jitter: everything is due now. Always asking at `start` means a finished
  // probe (next due start + every) is never picked twice.
  Scheduler sched(Scheduler::Options{max_concurrent, runtime.sourceLimits(), Duration{0}},
                  runtime.schedule(), start);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<size_t> finished;
  std::vector<std::thread> threads;
  size_t done = 0;
  std::unique_lock lock(mu);
  while (done < n) {
    for (const auto& d : sched.takeDue(start)) {
      threads.emplace_back([&, idx = d.index] {
        ProbeResult r = runtime.runProbe(idx);
        std::lock_guard l(mu);
        results[idx] = std::move(r);
        finished.push_back(idx);
        cv.notify_one();
      });
    }
    cv.wait(lock, [&] { return !finished.empty(); });
    for (size_t idx : finished) {
      sched.finished(idx, clock.now());
      ++done;
      if (progress) progress(done, n);
    }
    finished.clear();
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace datawatch
