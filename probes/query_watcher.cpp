#include "probes/query_watcher.hpp"

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
                                        const std::atomic<bool>* cancelled) {
  MutexLock lock(mu_);
  const uint64_t id = next_id_++;
  const bool was_idle = entries_.empty();
  entries_.emplace(id, Entry{std::move(cancel), deadline, cancelled});
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  // Only an idle watcher sleeps without a timeout; a polling one sees the new
  // query within kPoll. Waking it for every query would cost a context switch
  // per query (issue 19: two of the thirteen futex calls of a PostgreSQL run).
  if (was_idle) cv_.notifyAll();
  return Watch(*this, id);
}

uint64_t QueryWatcher::due() {
  const MonoTime now = clock_.monotonic();
  for (auto& [id, e] : entries_) {
    if (e.fired != Reason::None) continue;
    if (e.cancelled && e.cancelled->load())
      e.fired = Reason::Cancelled;
    else if (now >= e.deadline)
      e.fired = Reason::Deadline;
    else
      continue;
    e.calling = true;
    return id;
  }
  return 0;
}

void QueryWatcher::loop() {
  MutexLock lock(mu_);
  while (!stop_) {
    if (entries_.empty()) {
      cv_.wait(lock, [&]() REQUIRES(mu_) { return stop_ || !entries_.empty(); });
      continue;
    }
    while (const uint64_t id = due()) {
      auto& e = entries_.at(id);  // stays: unwatch() waits while calling
      lock.unlock();
      e.cancel();  // a network round trip: not under the lock
      lock.lock();
      e.calling = false;
      cv_.notifyAll();
    }
    cv_.waitFor(lock, kPoll, [&]() REQUIRES(mu_) { return stop_; });
  }
}

QueryWatcher::Reason QueryWatcher::unwatch(uint64_t id) {
  MutexLock lock(mu_);
  cv_.wait(lock, [&]() REQUIRES(mu_) { return !entries_.at(id).calling; });
  const Reason r = entries_.at(id).fired;
  entries_.erase(id);
  return r;
}

}  // namespace datawatch
