#pragma once
// ProbeLoop: drives a RunSchedule (agent/run_schedule.hpp) in real time over a Runtime with a
// bounded worker pool. One dispatcher thread plus `max_concurrent` workers.
//
// Invariants:
// - never two runs of one probe at once, across reloads too: a probe whose run
//   of the previous Runtime is still going counts as running in the new
//   schedule until that run finishes;
// - a reload (replaceRuntime) never pauses probing: runs queued but not started
//   move to the new Runtime at once, runs in flight finish on the old one and
//   are recorded normally (the old Runtime lives until its last run ends), and
//   probes whose name and interval did not change keep their next due time;
// - stop() is bounded: no new runs start; in-flight runs get `grace` to finish,
//   then are cancelled (QueryLimits::cancelled: their queries interrupted; a
//   cancelled run is not recorded) and get kCancelWait more; a run that still
//   does not return is abandoned (stop() reports it and leaves its thread);
// - a run is handed out when due by the dispatcher (timer wake-ups) or by the
//   worker whose run just ended (it queues what its end made startable and
//   takes the front of the queue), so a steady load costs no dispatcher round
//   trip per run;
// - the runs the dispatcher queues together wake one worker, which starts them
//   one after another: a batch of quick runs costs one wake-up, not one per run
//   (issue 19: a futex hand-off and a context switch each). The batch spreads
//   over idle workers as soon as it is slow: a worker that takes a run which
//   waited kSlowQueue or more in the queue wakes another worker for the rest,
//   and the dispatcher, which sleeps at most kHandOff while runs are queued,
//   wakes one when the front run has waited kSlowQueue (the case of a run at
//   the front while the workers taking runs are all busy on slow ones). So,
//   with an idle worker, a queued run waits at most about the run ahead of it
//   (when that one ends, the next taken spreads the batch) and never much more
//   than kHandOff (plus wake-ups).
//   Waiting is measured in real time (threads, not the schedule: a simulated
//   Clock would not move it);
// - queued runs that would join a batch on one source (Runtime::wouldJoinBatch:
//   PostgreSQL probes whose query datawatch builds, whose last run was quick
//   and did not fail) go to one worker together (at most kMaxBatch; the
//   queue's first kBatchLookahead runs looked at): their queries are sent in
//   one round trip (Runtime::runBatch), and another worker is woken for what
//   is left in the queue. A batch is one worker and one connection: its runs
//   after the first ride on the first's slots (RunSchedule::ride), so the
//   runs of the source those slots let start join it too (takeBatch; a due
//   group of 50 is one batch, not one per max_connections runs). Runs the
//   batch did not answer (after another's error, cut short) then run alone,
//   one after another, on the same worker, and the first run's slots are
//   freed after them: never more connections than max_connections. Under a
//   schedule that does not share slots (a fleet's claims) each run of a
//   batch holds its own slots, and those left go back to the front of the
//   queue, to run alone;
// - an exception never leaves a thread of the loop: a run that throws is an
//   error result (Runtime::runProbe), anything else is logged at error level
//   and the loop goes on.
//
// start(), replaceRuntime() and stop() are called by one owner, never at the
// same time; completedRuns() and wake() from any thread.

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/runtime.hpp"
#include "agent/scheduler.hpp"
#include "core/mutex.hpp"

namespace datawatch {

class ProbeLoop {
 public:
  // How long cancelled runs get to return once stop()'s grace is over.
  static constexpr Duration kCancelWait{std::chrono::seconds(2)};
  // A run that waited this long in the queue means its batch is slow: more
  // workers join (real time, whatever the Clock).
  static constexpr Duration kSlowQueue{std::chrono::milliseconds(5)};
  // The dispatcher's longest sleep while runs are queued (real time).
  static constexpr Duration kHandOff{std::chrono::milliseconds(100)};
  // The most runs in one batch, and how far down the queue a worker looks for them.
  static constexpr size_t kMaxBatch = 64;
  static constexpr size_t kBatchLookahead = 256;

  // Observes each run once, as a worker starts it (for the benchmark: the lag
  // from its due time to its start, queueing included). A run a batch left is
  // observed when the batch took it, not again when it starts on its own;
  // unless a reload drops it from the queue first: the new schedule hands it
  // out again, and that dispatch is observed too. Called under the loop's
  // lock, on the worker; keep it cheap. What it throws is logged and ignored
  // (the run goes on: thrown through the worker, it lost the runs it had taken).
  using DispatchObserver = std::function<void(const Dispatch&, TimePoint started)>;
  // Builds the schedule of a Runtime: `previous` is the schedule being replaced
  // (null at start) and `in_flight` the probes whose run of it is still going.
  // The default builds a Scheduler (this process decides when probes run).
  using ScheduleFactory = std::function<std::unique_ptr<RunSchedule>(
      const Runtime& rt, int max_concurrent, TimePoint now, const RunSchedule* previous,
      const std::set<std::string>& in_flight)>;

  ProbeLoop(std::shared_ptr<Runtime> runtime, const Clock& clock, int max_concurrent,
            Metrics* metrics, DispatchObserver observer = {}, ScheduleFactory factory = {});
  // Stops with no grace; waits for abandoned runs (unbounded: an owner that
  // must exit promptly exits the process after a stop() that returned false).
  ~ProbeLoop();
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

  void start();
  // Swaps in the Runtime of a new configuration without stopping (see the
  // invariants). The worker pool grows to `max_concurrent` (it never shrinks).
  void replaceRuntime(std::shared_ptr<Runtime> runtime, int max_concurrent);
  // True when every thread was joined; false when a run ignored cancellation
  // for kCancelWait (its worker thread is left running).
  bool stop(Duration grace);
  // Re-checks what is due at the clock's now (a simulated clock was advanced).
  void wake();
  uint64_t completedRuns() const;

 private:
  struct Job {
    Dispatch d;
    std::shared_ptr<Runtime> rt;  // the Runtime it was dispatched for
    uint64_t generation;          // ... counted in replaceRuntime calls
    std::string name;
    MonoTime queued;      // real time (kSlowQueue)
    bool alone = false;   // left by a batch: runs on its own
    bool riding = false;  // in a batch, on its first run's slots (RunSchedule::ride)
  };

  void dispatcher();
  // Sleeps until the schedule's next deadline, a wake() or the stop; while runs
  // are queued, for at most kHandOff.
  void waitForNext(MutexLock& lock) REQUIRES(mu_);
  // The run at the front of the queue has waited kSlowQueue or more.
  bool queueSlow() const REQUIRES(mu_) {
    return !queue_.empty() && realTime() - queue_.front().queued >= kSlowQueue;
  }
  MonoTime realTime() const { return real_clock_.monotonic(); }
  // Queues every run the schedule has due at `now`; returns how many.
  size_t enqueueDue(TimePoint now) REQUIRES(mu_);
  // The job of a run the schedule handed out (counted in flight; its missed
  // runs counted in the metrics).
  Job handedOut(const Dispatch& d) REQUIRES(mu_);
  // Wakes the dispatcher when the schedule's next deadline is earlier than
  // the one it sleeps until.
  void wakeDispatcherIfEarlier() REQUIRES(mu_);
  // Starts one more worker thread ("dw-probe") running work().
  void startWorker();
  void work();
  // Runs `body` until it returns normally, logging what it throws.
  void guarded(const char* thread, const std::function<void()>& body) const;
  // How many workers the last `n` queued runs need (runs that would join a
  // batch share one per source and kMaxBatch).
  size_t workersFor(size_t n) const REQUIRES(mu_);
  // Moves queued runs that may share a batch with jobs[0] into `jobs`.
  void takeBatchmates(std::vector<Job>& jobs) REQUIRES(mu_);
  // takeBatchmates; then, when the schedule shares slots (RunSchedule::ride,
  // takeRiders), the batchmates ride on jobs[0]'s slots and the runs of its
  // source that may start now and would join come along, up to kMaxBatch.
  void takeBatch(std::vector<Job>& jobs) REQUIRES(mu_);
  // A batch whose runs rode on its first run's slots left `left` unanswered:
  // finishes the answered riders (moved out of `done`), then runs `left`
  // alone, one after another, finishing each rider as it ends, until the
  // loop stops. Leaves in `left` what the caller finishes: the first run (it
  // holds the slots) and the runs never started.
  void runLeftInTurn(std::vector<Job>& done, std::vector<Job>& left) EXCLUDES(mu_);
  // One run, or a batch (Runtime::runBatch); returns the probes a batch left.
  std::vector<size_t> runJobs(const std::vector<Job>& jobs) const;
  // Moves the jobs of the probes in `left` out of `jobs`, marked alone.
  static std::vector<Job> takeLeft(std::vector<Job>& jobs, const std::vector<size_t>& left);
  // Queues jobs a batch left at the front (finishes them when stopping).
  void requeue(std::vector<Job> back) REQUIRES(mu_);
  void finish(const Job& job) REQUIRES(mu_);
  bool idle() const REQUIRES(mu_) { return in_flight_ == 0; }
  void logError(const std::string& what) const;
  // Calls the DispatchObserver (if any) for a run starting now; never throws.
  void observe(const Dispatch& d) const REQUIRES(mu_);

  const Clock& clock_;
  const SystemClock real_clock_;  // how long runs wait for a thread: kSlowQueue, kHandOff
  Metrics* metrics_;
  DispatchObserver observer_;
  std::shared_ptr<spdlog::logger> log_;
  ScheduleFactory factory_;

  mutable Mutex mu_;
  CondVar wake_;     // dispatcher: something finished, reload, stop, or wake()
  CondVar work_cv_;  // workers: a job is queued, or stop
  CondVar idle_cv_;  // stop(): in-flight count changed
  std::shared_ptr<Runtime> runtime_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // of runtime_ and scheduler_
  std::unique_ptr<RunSchedule> scheduler_ GUARDED_BY(mu_);
  std::deque<Job> queue_ GUARDED_BY(mu_);
  std::set<std::string> executing_ GUARDED_BY(mu_);  // probes whose run has started
  size_t in_flight_ GUARDED_BY(mu_) = 0;             // queued + executing
  uint64_t completed_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool woken_ GUARDED_BY(mu_) = false;                       // the dispatcher has news
  TimePoint wait_until_ GUARDED_BY(mu_) = TimePoint::max();  // the dispatcher's deadline
  std::atomic<bool> cancelled_{false};
  // The owner's thread only (start, replaceRuntime, stop).
  int workers_;
  std::thread dispatcher_thread_;
  std::vector<std::thread> worker_threads_;
};

}  // namespace datawatch
