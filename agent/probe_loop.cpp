#include "agent/probe_loop.hpp"

#include <algorithm>
#include <exception>

#include "core/thread_name.hpp"

namespace datawatch {
namespace {

Scheduler::Options schedulerOptions(const Runtime& rt, int max_concurrent) {
  return Scheduler::Options{max_concurrent, rt.sourceLimits(), Scheduler::kMaxJitter};
}

std::unique_ptr<RunSchedule> localSchedule(const Runtime& rt, int max_concurrent, TimePoint now,
                                           const RunSchedule* previous,
                                           const std::set<std::string>& in_flight) {
  if (const auto* prev = dynamic_cast<const Scheduler*>(previous))
    return std::make_unique<Scheduler>(schedulerOptions(rt, max_concurrent), rt.schedule(), now,
                                       *prev, in_flight);
  return std::make_unique<Scheduler>(schedulerOptions(rt, max_concurrent), rt.schedule(), now);
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}
}  // namespace

ProbeLoop::ProbeLoop(std::shared_ptr<Runtime> runtime, const Clock& clock, int max_concurrent,
                     Metrics* metrics, DispatchObserver observer, ScheduleFactory factory)
    : clock_(clock),
      metrics_(metrics),
      observer_(std::move(observer)),
      log_(runtime->logger()),
      factory_(factory ? std::move(factory) : ScheduleFactory(localSchedule)),
      runtime_(runtime),
      scheduler_(factory_(*runtime, max_concurrent, clock.now(), nullptr, {})),
      workers_(max_concurrent) {}

ProbeLoop::~ProbeLoop() {
  stop(Duration{0});
  for (auto& t : worker_threads_)
    if (t.joinable()) t.join();  // runs that ignored cancellation
}

void ProbeLoop::start() {
  for (int i = 0; i < workers_; ++i) startWorker();
  dispatcher_thread_ = startNamedThread("dw-dispatch", [this] { dispatcher(); });
}

uint64_t ProbeLoop::completedRuns() const {
  MutexLock lock(mu_);
  return completed_;
}

void ProbeLoop::wake() {
  MutexLock lock(mu_);
  woken_ = true;
  wake_.notifyAll();
}

void ProbeLoop::logError(const std::string& what) const {
  if (log_) log_->error("{}", what);
}

void ProbeLoop::observe(const Dispatch& d) const {
  if (!observer_) return;
  try {
    observer_(d, clock_.now());
  } catch (...) {
    logError("dispatch observer: " + describe(std::current_exception()) + "; ignored");
  }
}

void ProbeLoop::guarded(const char* thread, const std::function<void()>& body) const {
  while (true) {
    try {
      body();
      return;
    } catch (...) {
      logError(std::string(thread) + ": " + describe(std::current_exception()) + "; carrying on");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no hot loop on a bug
  }
}

void ProbeLoop::dispatcher() {
  guarded("probe scheduler", [this] {
    MutexLock lock(mu_);
    while (!stopping_) {
      // One worker for what became due (it starts the runs one after another),
      // one more for a queue whose front run has waited kSlowQueue.
      const int wake = (queueSlow() ? 1 : 0) + (enqueueDue(clock_.now()) > 0 ? 1 : 0);
      if (wake > 0) {
        // Woken under the lock, a worker would block on mu_ at once (a futex
        // pair and a context switch more). What changes meanwhile is seen by
        // waitForNext: it reads the schedule and the clock afresh.
        lock.unlock();
        for (int i = 0; i < wake; ++i) work_cv_.notifyOne();
        lock.lock();
      }
      waitForNext(lock);
    }
  });
}

size_t ProbeLoop::enqueueDue(TimePoint now) {
  const auto due = scheduler_->takeDue(now);
  for (const auto& d : due) queue_.push_back(handedOut(d));
  return due.size();
}

ProbeLoop::Job ProbeLoop::handedOut(const Dispatch& d) {
  const std::string& name = scheduler_->probe(d.index).name;
  if (d.missed > 0 && metrics_) metrics_->addMissedRuns(name, d.missed);
  ++in_flight_;
  return {d, runtime_, generation_, name, realTime()};
}

void ProbeLoop::wakeDispatcherIfEarlier() {
  const auto next = scheduler_->nextWakeup();
  if (next && *next < wait_until_) {
    wait_until_ = *next;
    woken_ = true;
    wake_.notifyOne();
  }
}

void ProbeLoop::waitForNext(MutexLock& lock) {
  const auto next = scheduler_->nextWakeup();
  wait_until_ = next.value_or(TimePoint::max());
  woken_ = false;
  auto news = [&]() REQUIRES(mu_) { return stopping_ || woken_; };
  if (!next && queue_.empty()) return wake_.wait(lock, news);
  using std::chrono::nanoseconds;
  nanoseconds wait = next ? nanoseconds(*next - clock_.now()) : nanoseconds(kHandOff);
  if (!queue_.empty()) wait = std::min(wait, nanoseconds(kHandOff));  // then: queueSlow()?
  if (wait > nanoseconds::zero()) wake_.waitFor(lock, wait, news);
}

void ProbeLoop::startWorker() {
  worker_threads_.push_back(
      startNamedThread("dw-probe", [this] { guarded("probe worker", [this] { work(); }); }));
}

void ProbeLoop::work() {
  MutexLock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and nothing left
    std::vector<Job> jobs;
    jobs.push_back(std::move(queue_.front()));
    queue_.pop_front();
    // A run that waited kSlowQueue: its batch is slow, another worker takes the
    // rest (and, finding the next run late too, wakes one more). So does the
    // rest of the queue behind a batch of runs sent together.
    const bool late = realTime() - jobs[0].queued >= kSlowQueue;
    takeBatch(jobs);
    const bool rode = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.riding; });
    const bool spread = !queue_.empty() && (late || jobs.size() > 1);
    for (const auto& job : jobs) {
      // Once per run: a run a batch left was observed when the batch took it.
      if (!job.alone) observe(job.d);
      executing_.insert(job.name);
    }
    lock.unlock();
    if (spread) work_cv_.notifyOne();
    const std::vector<size_t> left = runJobs(jobs);
    std::vector<Job> back = takeLeft(jobs, left);
    if (rode && !back.empty()) runLeftInTurn(jobs, back);
    for (auto& job : jobs) job.rt.reset();  // an old Runtime's last run ends here, unlocked
    if (rode)
      for (auto& job : back) job.rt.reset();
    lock.lock();
    for (const auto& job : jobs) finish(job);
    if (rode) {
      for (const auto& job : back) finish(job);
    } else {
      requeue(std::move(back));
    }
    if (stopping_) continue;
    // What is due now is queued here, on this thread: the run that ended freed
    // a worker (this one) and maybe a source slot. No hand-off to the
    // dispatcher and back (two context switches per run); this worker takes
    // the front of the queue next, other workers are woken for the rest.
    const size_t wake = workersFor(enqueueDue(clock_.now()));
    for (size_t i = 1; i < wake; ++i) work_cv_.notifyOne();
    wakeDispatcherIfEarlier();
  }
}

size_t ProbeLoop::workersFor(size_t n) const {
  // The queue's last n runs: one worker each, but one for all the batchable
  // ones (the first worker to take one takes its batchmates too).
  size_t alone = 0;
  std::vector<std::pair<const std::string*, size_t>> batches;  // runs by source
  for (auto it = queue_.end() - static_cast<std::ptrdiff_t>(n); it != queue_.end(); ++it) {
    if (!it->rt->wouldJoinBatch(it->d.index)) {
      ++alone;
      continue;
    }
    const std::string* source = &it->rt->probeConfig(it->d.index).source;
    auto b = std::find_if(batches.begin(), batches.end(),
                          [&](const auto& e) { return *e.first == *source; });
    if (b == batches.end())
      batches.emplace_back(source, 1);
    else
      ++b->second;
  }
  for (const auto& b : batches) alone += (b.second + kMaxBatch - 1) / kMaxBatch;
  return alone;
}

void ProbeLoop::takeBatch(std::vector<Job>& jobs) {
  takeBatchmates(jobs);
  // Not a reference into `jobs`: it grows.
  Runtime* const rt = jobs[0].rt.get();
  const size_t holder = jobs[0].d.index;
  if (jobs[0].alone || jobs[0].generation != generation_ || !rt->wouldJoinBatch(holder)) return;
  // The batchmates give their slots back; the runs of the source that may
  // start now and would join come along on the holder's (those waiting for a
  // slot of the source first), so a source of one connection batches too.
  for (size_t k = 1; k < jobs.size(); ++k) jobs[k].riding = scheduler_->ride(jobs[k].d.index);
  if (jobs.size() < kMaxBatch) {
    const auto riders = scheduler_->takeRiders(holder, clock_.now(), kMaxBatch - jobs.size(),
                                               [rt](size_t i) { return rt->wouldJoinBatch(i); });
    for (const auto& d : riders) {
      jobs.push_back(handedOut(d));
      jobs.back().riding = true;
    }
  }
  // Freed slots may let other runs start (the dispatcher may sleep untimed).
  wakeDispatcherIfEarlier();
}

void ProbeLoop::runLeftInTurn(std::vector<Job>& done, std::vector<Job>& left) {
  // The answered riders end now: their next runs are not held up by the rest.
  std::vector<Job> ended;
  for (auto it = done.begin(); it != done.end();) {
    if (!it->riding) {
      ++it;
      continue;
    }
    it->rt.reset();  // unlocked (a Runtime's last run may end here)
    ended.push_back(std::move(*it));
    it = done.erase(it);
  }
  // One after another on this worker: the batch's one connection slot, held
  // by its first run (not riding: the caller finishes it after these). A left
  // run counts as executing only once it starts, and each rider ends as soon
  // as it has run, so a reload during the chain sees it as it is: the runs
  // not started move to the new Runtime (its schedule has them due at once).
  // After a reload during the batch itself, the new schedule counts them all
  // as running: they run here, each ended as it has run.
  std::vector<Job> rest;     // for the caller: the holder, and runs never started
  std::vector<Job> dropped;  // moved to the new Runtime by a reload; released unlocked
  bool counted = false;      // by a schedule that replaced the batch's
  size_t k = 0;
  for (bool more = true; more;) {
    {
      MutexLock lock(mu_);
      if (k == 0) {
        counted = left.front().generation != generation_;
        if (!counted)
          for (const auto& job : left) executing_.erase(job.name);
      }
      for (const auto& job : ended) finish(job);
      wakeDispatcherIfEarlier();
      for (; !counted && k < left.size() && !stopping_ && left[k].generation != generation_; ++k) {
        --in_flight_;  // as replaceRuntime does for the queue: never started here
        dropped.push_back(std::move(left[k]));
      }
      more = k < left.size() && !stopping_;  // stopping: the rest never start
      if (more) executing_.insert(left[k].name);
    }
    ended.clear();
    dropped.clear();
    if (!more) break;
    Job job = std::move(left[k++]);
    (void)runJobs({job});
    if (job.riding) job.rt.reset();
    (job.riding ? ended : rest).push_back(std::move(job));
  }
  for (; k < left.size(); ++k) rest.push_back(std::move(left[k]));
  left = std::move(rest);
}

void ProbeLoop::takeBatchmates(std::vector<Job>& jobs) {
  // Not a reference into `jobs`: it grows.
  Runtime* const rt = jobs[0].rt.get();
  if (jobs[0].alone || !rt->wouldJoinBatch(jobs[0].d.index)) return;
  const std::string& source = rt->probeConfig(jobs[0].d.index).source;
  size_t looked = 0;
  for (auto it = queue_.begin();
       it != queue_.end() && jobs.size() < kMaxBatch && looked < kBatchLookahead; ++looked) {
    if (it->rt.get() == rt && !it->alone && rt->wouldJoinBatch(it->d.index) &&
        it->rt->probeConfig(it->d.index).source == source) {
      jobs.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<ProbeLoop::Job> ProbeLoop::takeLeft(std::vector<Job>& jobs,
                                                const std::vector<size_t>& left) {
  std::vector<Job> back;
  for (auto it = jobs.begin(); it != jobs.end();) {
    if (std::find(left.begin(), left.end(), it->d.index) == left.end()) {
      ++it;
      continue;
    }
    it->alone = true;
    back.push_back(std::move(*it));
    it = jobs.erase(it);
  }
  return back;
}

void ProbeLoop::requeue(std::vector<Job> back) {
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    if (stopping_) {
      finish(*it);  // never started: nothing to record
      continue;
    }
    executing_.erase(it->name);
    queue_.push_front(std::move(*it));
  }
  // This worker takes the first; the others get one each.
  for (size_t i = 1; i < back.size() && !stopping_; ++i) work_cv_.notifyOne();
}

std::vector<size_t> ProbeLoop::runJobs(const std::vector<Job>& jobs) const {
  try {
    if (jobs.size() == 1) {
      (void)jobs[0].rt->run(jobs[0].d.index, &cancelled_);
      return {};
    }
    std::vector<size_t> probes;
    for (const auto& job : jobs) probes.push_back(job.d.index);
    return jobs[0].rt->runBatch(probes, &cancelled_);
  } catch (...) {
    // Runtime::run records a throwing probe as an error result; this is the
    // backstop for anything else.
    logError("probe " + jobs[0].name + (jobs.size() > 1 ? " (and its batch)" : "") +
             ": the run failed with " + describe(std::current_exception()) +
             "; the loop carries on");
  }
  return {};
}

void ProbeLoop::finish(const Job& job) {
  executing_.erase(job.name);
  const TimePoint now = clock_.now();
  if (job.generation == generation_) {
    scheduler_->finished(job.d.index, now);
  } else if (auto i = scheduler_->find(job.name)) {
    scheduler_->finished(*i, now);  // a run of the previous configuration held its slot
  } else {
    scheduler_->finishedUnscheduled(job.name);
  }
  --in_flight_;
  ++completed_;
  if (stopping_) idle_cv_.notifyAll();
}

void ProbeLoop::replaceRuntime(std::shared_ptr<Runtime> runtime, int max_concurrent) {
  std::deque<Job> unstarted;  // released outside the lock
  std::shared_ptr<Runtime> old = runtime;
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    scheduler_ = factory_(*runtime, max_concurrent, clock_.now(), scheduler_.get(), executing_);
    // Handed out and never started: a fleet schedule gives their claims back.
    for (const auto& job : queue_) scheduler_->finishedUnscheduled(job.name);
    // Handed out but not started: the new schedule has them due at once.
    in_flight_ -= queue_.size();
    unstarted.swap(queue_);
    std::swap(runtime_, old);
    ++generation_;
    woken_ = true;
    wake_.notifyAll();
  }
  for (; workers_ < max_concurrent; ++workers_) startWorker();
}

bool ProbeLoop::stop(Duration grace) {
  if (!dispatcher_thread_.joinable() && worker_threads_.empty()) return true;
  std::deque<Job> unstarted;  // never run; released outside the lock
  std::string abandoned;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    in_flight_ -= queue_.size();
    unstarted.swap(queue_);
    wake_.notifyAll();
    work_cv_.notifyAll();
    auto done = [&]() REQUIRES(mu_) { return idle(); };
    if (!idle_cv_.waitFor(lock, grace, done)) {
      cancelled_ = true;  // interrupt the stragglers' queries
      if (!idle_cv_.waitFor(lock, kCancelWait, done)) {
        for (const auto& n : executing_) abandoned += (abandoned.empty() ? "" : ", ") + n;
      }
    }
  }
  if (dispatcher_thread_.joinable()) dispatcher_thread_.join();
  if (!abandoned.empty()) {
    logError("probe run(s) of " + abandoned + " ignored cancellation: abandoned");
    return false;
  }
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
  return true;
}

}  // namespace datawatch
