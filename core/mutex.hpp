#pragma once
// A std::mutex the thread-safety analysis understands (LevelDB port::Mutex).
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);
//   void bump() EXCLUDES(mu_) { MutexLock lock(mu_); ++count_; }
//
// Waiting on a condition: CondVar::wait(lock, pred) with the MutexLock held;
// the analysis treats the mutex as held throughout (it is, whenever the
// predicate and the caller's code run). Clang analyses a lambda on its own, so
// a predicate reading guarded members says so:
//   cv_.wait(lock, [&]() REQUIRES(mu_) { return count_ > 0; });

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/thread_annotations.hpp"

namespace datawatch {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For documentation and the analysis: the caller holds it.
  void assertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope; may be released early and re-taken.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() RELEASE() { lock_.unlock(); }
  void lock() ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

class CondVar {
 public:
  void notifyOne() { cv_.notify_one(); }
  void notifyAll() { cv_.notify_all(); }
  template <class Pred>
  void wait(MutexLock& lock, Pred pred) {
    cv_.wait(lock.lock_, pred);
  }
  // Returns pred() at the end: false on timeout.
  template <class Rep, class Period, class Pred>
  bool waitFor(MutexLock& lock, std::chrono::duration<Rep, Period> d, Pred pred) {
    return cv_.wait_for(lock.lock_, d, pred);
  }
  template <class Clock, class Dur, class Pred>
  bool waitUntil(MutexLock& lock, std::chrono::time_point<Clock, Dur> t, Pred pred) {
    return cv_.wait_until(lock.lock_, t, pred);
  }

 private:
  std::condition_variable cv_;
};

}  // namespace datawatch
