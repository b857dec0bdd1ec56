#pragma once
// BackgroundQueue: runs tasks that may block for long (a network call without
// a timeout of its own) one after another on a thread of its own, so that the
// thread posting them never waits for them.
//
// Why (the case it was written for): PQcancel opens a new connection to the
// server and waits for the server to close it, with no timeout (libpq 15).
// Against a frozen server, or a host that drops packets, it blocks for minutes
// or for ever. Called on a QueryWatcher's thread, it stopped every later
// deadline of its source from being enforced, and the source's probes hung
// with it: a monitor gone silent because what it monitors froze.
//
// Invariants:
// - post() never blocks and never runs the task itself: at most `max_pending`
//   tasks wait; one posted beyond that is dropped and counted (dropped()).
// - Tasks run one at a time, in the order posted, on one thread that the first
//   post() starts (a queue never posted to costs no thread).
// - The destructor is bounded: it gives the tasks posted up to `drain` to run
//   (the cancels of a stop reach the server), then leaves the thread to finish
//   them on its own (detached: it owns the tasks and the state it touches,
//   nothing of the queue's owner).
// - A task must not throw; one that does is dropped, and the queue goes on.
// Thread-safe: post(), dropped() and pending() from any thread, but not while
// the queue is being destroyed (its owner stops posting first).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/mutex.hpp"

namespace datawatch {

class BackgroundQueue {
 public:
  BackgroundQueue(std::string thread_name, size_t max_pending, Duration drain);
  ~BackgroundQueue();
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;

  // Throws what starting the thread or queueing the task throws; the task is
  // then not queued. (A post() meanwhile on another thread may queue its task
  // before any thread runs; the next post() starts one.)
  void post(std::function<void()> task);
  // Tasks dropped because max_pending were waiting.
  uint64_t dropped() const;
  // Tasks posted and not yet done (the one running included).
  size_t pending() const;

 private:
  // Shared with the thread, which may outlive the queue (see the destructor).
  struct State {
    Mutex mu;
    CondVar cv;
    std::deque<std::function<void()>> tasks GUARDED_BY(mu);
    bool running GUARDED_BY(mu) = false;  // a task taken from `tasks` runs
    bool started GUARDED_BY(mu) = false;  // a post() has started (or is starting) the thread
    bool stop GUARDED_BY(mu) = false;     // the owner is gone: exit once `tasks` is empty
    bool exited GUARDED_BY(mu) = false;
    uint64_t dropped GUARDED_BY(mu) = 0;
  };
  static void loop(State& s);

  const std::string name_;
  const size_t max_pending_;
  const Duration drain_;
  const std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;  // set by the post() that set State::started
};

}  // namespace datawatch
