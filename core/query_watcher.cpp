#include "core/query_watcher.hpp"

#include <algorithm>

#include "core/thread_name.hpp"

namespace datawatch {

QueryWatcher::Watch::~Watch() {
  if (id_ != 0) w_.unwatch(id_);
}

QueryWatcher::Reason QueryWatcher::Watch::finish() {
  const Reason r = w_.unwatch(id_);
  id_ = 0;
  return r;
}

QueryWatcher::~QueryWatcher() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notifyAll();
  if (thread_.joinable()) thread_.join();
}

QueryWatcher::Watch QueryWatcher::watch(std::function<void()> cancel, MonoTime deadline,
                                        const std::atomic<bool>* cancelled, Renew renew) {
  MutexLock lock(mu_);
  // Started before the entry is added: a failed start leaves no entry whose
  // cancel function refers to its caller's (unwound) state.
  if (!thread_.joinable()) thread_ = startNamedThread(thread_name_, [this] { loop(); });
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{std::move(cancel), deadline, cancelled, std::move(renew)});
  watched_ = true;
  // Only a sleeping watcher, or one whose wait ends after this deadline, needs
  // waking; a polling one (lingering) sees the new query within max_wait_.
  if (sleeping_) {
    cv_.notifyAll();
  } else if (deadline < wait_until_) {
    repoll_ = true;
    cv_.notifyAll();
  }
  return Watch(*this, id);
}

bool QueryWatcher::sleeping() const {
  MutexLock lock(mu_);
  return sleeping_;
}

uint64_t QueryWatcher::due(MonoTime& next_deadline) {
  const MonoTime now = clock_.monotonic();
  next_deadline = MonoTime::max();
  for (auto& [id, e] : entries_) {
    if (e.fired != Reason::None) continue;
    if (e.renew && !(e.cancelled && e.cancelled->load()) && now >= e.deadline)
      e.deadline = std::max(e.deadline, e.renew(now));
    if (e.cancelled && e.cancelled->load()) {
      e.fired = Reason::Cancelled;
    } else if (now >= e.deadline) {
      e.fired = Reason::Deadline;
    } else {
      next_deadline = std::min(next_deadline, e.deadline);
      continue;
    }
    e.calling = true;
    return id;
  }
  return 0;
}

void QueryWatcher::loop() {
  MutexLock lock(mu_);
  int empty_polls = 0;
  while (!stop_) {
    // Idle: nothing registered now and nothing registered since the last poll
    // (short queries come and go between polls).
    empty_polls = entries_.empty() && !watched_ ? empty_polls + 1 : 0;
    watched_ = false;
    if (empty_polls > linger_) {
      sleeping_ = true;
      cv_.wait(lock, [&]() REQUIRES(mu_) { return stop_ || !entries_.empty(); });
      sleeping_ = false;
      empty_polls = 0;
      continue;
    }
    MonoTime next_deadline;
    while (const uint64_t id = due(next_deadline)) {
      auto& e = entries_.at(id);  // stays: unwatch() waits while calling
      lock.unlock();
      e.cancel();  // may take a network round trip (ODBC): not under the lock
      lock.lock();
      e.calling = false;
      cv_.notifyAll();
    }
    const MonoTime now = clock_.monotonic();
    const Duration wait = waitAfterPoll(now, next_deadline, max_wait_);
    wait_until_ = now + wait;
    cv_.waitFor(lock, wait, [&]() REQUIRES(mu_) { return stop_ || repoll_; });
    wait_until_ = MonoTime::min();
    repoll_ = false;
  }
}

Duration QueryWatcher::waitAfterPoll(MonoTime now, MonoTime next_deadline, Duration max_wait) {
  if (next_deadline == MonoTime::max()) return max_wait;
  // Rounded up: waking a little before the deadline would only poll twice.
  const auto left = std::chrono::ceil<Duration>(next_deadline - now);
  return std::clamp(left, Duration{1}, max_wait);
}

QueryWatcher::Reason QueryWatcher::unwatch(uint64_t id) {
  MutexLock lock(mu_);
  cv_.wait(lock, [&]() REQUIRES(mu_) { return !entries_.at(id).calling; });
  const Reason r = entries_.at(id).fired;
  entries_.erase(id);
  return r;
}

}  // namespace datawatch
