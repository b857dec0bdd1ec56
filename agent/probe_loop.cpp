#include "agent/probe_loop.hpp"

namespace datawatch {

ProbeLoop::ProbeLoop(std::shared_ptr<Runtime> runtime, const Clock& clock, int max_concurrent,
                     Metrics* metrics, DispatchObserver observer)
    : runtime_(std::move(runtime)),
      clock_(clock),
      metrics_(metrics),
      observer_(std::move(observer)),
      scheduler_(
          Scheduler::Options{max_concurrent, runtime_->sourceLimits(), std::chrono::seconds(30)},
          runtime_->schedule(), clock.now()),
      workers_(max_concurrent) {}

ProbeLoop::~ProbeLoop() {
  stop(Duration{0});
}

void ProbeLoop::start() {
  for (int i = 0; i < workers_; ++i) worker_threads_.emplace_back([this] { worker(); });
  dispatcher_thread_ = std::thread([this] { dispatcher(); });
}

uint64_t ProbeLoop::completedRuns() const {
  std::lock_guard lock(mu_);
  return completed_;
}

void ProbeLoop::dispatcher() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const TimePoint now = clock_.now();
    auto due = scheduler_.takeDue(now);
    for (const auto& d : due) {
      if (d.missed > 0 && metrics_)
        metrics_->addMissedRuns(scheduler_.probe(d.index).name, d.missed);
      if (observer_) observer_(d, now);
      queue_.push_back(d);
      ++in_flight_;
    }
    for (size_t i = 0; i < due.size(); ++i) work_cv_.notify_one();
    const auto next = scheduler_.nextWakeup();
    wait_until_ = next.value_or(TimePoint::max());
    if (next) {
      const auto wait = *next - clock_.now();
      if (wait > std::chrono::nanoseconds::zero()) wake_.wait_for(lock, wait);
    } else {
      wake_.wait(lock);
    }
  }
}

void ProbeLoop::worker() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and nothing left
    const Dispatch d = queue_.front();
    queue_.pop_front();
    lock.unlock();
    (void)runtime_->runProbe(d.index, &cancelled_);
    lock.lock();
    scheduler_.finished(d.index, clock_.now());
    --in_flight_;
    ++completed_;
    // Wake the dispatcher only when this finish moved its next deadline earlier
    // (a freed worker or source slot for a run already due).
    const auto next = scheduler_.nextWakeup();
    if (next && *next < wait_until_) {
      wait_until_ = *next;
      wake_.notify_one();
    }
    if (stopping_) idle_cv_.notify_all();
  }
}

void ProbeLoop::stop(Duration grace) {
  {
    std::unique_lock lock(mu_);
    if (stopping_ && worker_threads_.empty() && !dispatcher_thread_.joinable()) return;
    stopping_ = true;
    // Queued but not started: drop them; they were never run.
    in_flight_ -= queue_.size();
    queue_.clear();
    wake_.notify_all();
    work_cv_.notify_all();
    if (!idle_cv_.wait_for(lock, grace, [&] { return in_flight_ == 0; })) {
      cancelled_ = true;  // interrupt the stragglers' queries
    }
  }
  if (dispatcher_thread_.joinable()) dispatcher_thread_.join();
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
}

}  // namespace datawatch
