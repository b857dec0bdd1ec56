#include "core/background_queue.hpp"

#include <utility>

#include "core/thread_name.hpp"

namespace datawatch {

BackgroundQueue::BackgroundQueue(std::string thread_name, size_t max_pending, Duration drain)
    : name_(std::move(thread_name)), max_pending_(max_pending), drain_(drain) {}

BackgroundQueue::~BackgroundQueue() {
  // No post() runs now (the owner is being destroyed): thread_ is read alone.
  if (!thread_.joinable()) return;
  State& s = *state_;
  bool exited = false;
  {
    MutexLock lock(s.mu);
    s.stop = true;
    s.cv.notifyAll();
    exited = s.cv.waitFor(lock, drain_, [&]() REQUIRES(s.mu) { return s.exited; });
  }
  if (exited) {
    thread_.join();
  } else {
    thread_.detach();  // blocked in a task: it finishes on its own, on its own state
  }
}

void BackgroundQueue::post(std::function<void()> task) {
  State& s = *state_;
  bool start = false;
  {
    MutexLock lock(s.mu);
    start = !std::exchange(s.started, true);
  }
  if (start) {
    try {
      thread_ = startNamedThread(name_, [state = state_] { loop(*state); });
    } catch (...) {
      MutexLock lock(s.mu);
      s.started = false;  // the next post() tries again; this task was not queued
      throw;
    }
  }
  MutexLock lock(s.mu);
  if (s.tasks.size() >= max_pending_) {
    ++s.dropped;
    return;
  }
  s.tasks.push_back(std::move(task));
  s.cv.notifyAll();
}

void BackgroundQueue::loop(State& s) {
  MutexLock lock(s.mu);
  while (true) {
    s.cv.wait(lock, [&]() REQUIRES(s.mu) { return s.stop || !s.tasks.empty(); });
    if (s.tasks.empty()) break;  // stopping, and nothing left
    std::function<void()> task = std::move(s.tasks.front());
    s.tasks.pop_front();
    s.running = true;
    lock.unlock();
    try {
      task();
    } catch (...) {
      // Dropped (see the header): the queue goes on.
    }
    task = nullptr;  // what it holds is released unlocked
    lock.lock();
    s.running = false;
    s.cv.notifyAll();
  }
  s.exited = true;
  s.cv.notifyAll();
}

uint64_t BackgroundQueue::dropped() const {
  State& s = *state_;
  MutexLock lock(s.mu);
  return s.dropped;
}

size_t BackgroundQueue::pending() const {
  State& s = *state_;
  MutexLock lock(s.mu);
  return s.tasks.size() + (s.running ? 1 : 0);
}

}  // namespace datawatch
