#pragma once
// ProbeLoop: drives a Scheduler in real time over a Runtime with a bounded
// worker pool. One dispatcher thread plus `max_concurrent` workers.
//
// stop() drains: no new runs start; in-flight runs get `grace` to finish, then are
// cancelled (their queries interrupted) and not recorded. Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/runtime.hpp"
#include "agent/scheduler.hpp"

namespace datawatch {

class ProbeLoop {
 public:
  // Observes each dispatch (for the benchmark: scheduling lag). Called on the
  // dispatcher thread; keep it cheap.
  using DispatchObserver = std::function<void(const Dispatch&, TimePoint started)>;

  ProbeLoop(std::shared_ptr<Runtime> runtime, const Clock& clock, int max_concurrent,
            Metrics* metrics, DispatchObserver observer = {});
  ~ProbeLoop();
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

  void start();
  void stop(Duration grace);
  uint64_t completedRuns() const;

 private:
  void dispatcher();
  void worker();

  std::shared_ptr<Runtime> runtime_;
  const Clock& clock_;
  Metrics* metrics_;
  DispatchObserver observer_;
  Scheduler scheduler_;  // guarded by mu_
  int workers_;

  mutable std::mutex mu_;
  std::condition_variable wake_;             // dispatcher: something finished, or stop
  std::condition_variable work_cv_;          // workers: a job is queued, or stop
  std::condition_variable idle_cv_;          // stop(): in-flight count changed
  std::deque<Dispatch> queue_;               // guarded by mu_
  size_t in_flight_ = 0;                     // guarded by mu_
  uint64_t completed_ = 0;                   // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  TimePoint wait_until_ = TimePoint::max();  // the dispatcher's current deadline; guarded by mu_
  std::atomic<bool> cancelled_{false};
  std::thread dispatcher_thread_;
  std::vector<std::thread> worker_threads_;
};

}  // namespace datawatch
