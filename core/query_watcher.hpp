#pragma once
// QueryWatcher: stops statements that run past their probe's deadline or that
// the agent abandons on shutdown, for sources whose driver blocks (libpq), and
// the state store's and fleet's libpqxx calls that a server leaves unanswered
// (store/pg_pool.hpp, ha/pg_link.hpp).
//
// A query registers a cancel function for as long as it runs (a Watch). One
// watcher thread, started with the first Watch and joined on destruction, polls
// the registered queries every max_wait (kPoll unless the owner says; sooner
// when the earliest deadline falls before the next poll) while any is
// registered and for more than `linger` polls (kLinger) after the last one
// ended, then sleeps until the next watch() wakes it; a query whose `cancelled`
// flag is set or whose deadline (on the injected Clock) has passed -- and whose
// Renew, if it has one, gives no later deadline -- gets its cancel function
// called, once. watch() wakes the watcher only when it sleeps untimed or the
// new deadline falls before the end of its wait. The probes' watchers use
// kPoll and kLinger; the state store's and the fleet's (real clock, no flags,
// CutWatch's Renew: core/socket_cutter.hpp) no linger and an hour.
//
// Why the linger (issue 19): a steady load of short queries (100 a second, each
// a millisecond) leaves the watcher idle between most of them; waking it for
// each one cost two context switches per query, more than its 40 polls a second
// (kPoll was 25 ms). Why kPoll is 50 ms: the polls were still 5% of the agent's
// CPU at 100 PostgreSQL probes a second (perf), and a deadline needs no poll to
// be met on time (the wait ends at it); only the `cancelled` flag, set at
// shutdown, waits for a poll, and 50 ms plus the cancel function's own time
// (PostgreSQL: a shutdown(); ODBC: the driver's cancel) keeps the SqlSource
// contract's ~100 ms.
//
// Invariants:
// - A cancel function runs at most once, on the watcher thread, and only while
//   its Watch is alive: ~Watch waits for a call in progress, so what the
//   function refers to (a connection) may be released right after the Watch.
//   A Renew runs on the watcher thread under its lock, also only while its
//   Watch is alive.
// - `cancelled` is noticed within max_wait (kPoll: 50 ms) plus the cancel
//   function's own time: the ~100 ms of the SqlSource contract. A watcher with
//   a long max_wait must not be given `cancelled` flags. A cancel function that blocks
//   holds every later one of this watcher (and its query, through ~Watch):
//   PostgreSQL's shuts its socket down and posts the cancel request elsewhere
//   (postgres_source.hpp); ODBC's waits for the driver's SQLCancel or KILL QUERY.
// - A deadline is acted on when it passes (plus the thread's wake-up), not at
//   the next poll: the watcher's wait ends at the earliest deadline it knows,
//   and watch() wakes it for a deadline earlier than the end of its wait.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "core/clock.hpp"
#include "core/mutex.hpp"

namespace datawatch {

class QueryWatcher {
 public:
  static constexpr std::chrono::milliseconds kPoll{50};
  // Empty polls before the watcher sleeps untimed (2 s at kPoll).
  static constexpr int kLinger = 40;
  enum class Reason { None, Deadline, Cancelled };

  class Watch {
   public:
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch();
    // Stops watching (waiting for a cancel in progress) and says whether the
    // query was cancelled, in one step: a cancel cannot fire between the answer
    // and the end of the watch, so None here means no cancel reached or will
    // reach the connection. Call once; the destructor then does nothing.
    Reason finish();

   private:
    friend class QueryWatcher;
    Watch(QueryWatcher& w, uint64_t id) : w_(w), id_(id) {}
    QueryWatcher& w_;
    uint64_t id_;
  };

  // `linger`: empty polls before sleeping (kLinger; tests pass 0). `thread_name`
  // names the watcher thread (top -H). `max_wait`: the longest wait between
  // polls (kPoll). Polls are for `cancelled` flags and for a simulated clock's
  // jumps; a watcher on the real clock whose watches have no flag needs none
  // between deadlines, and may pass a long one (the state store's: hours).
  explicit QueryWatcher(const Clock& clock, int linger = kLinger,
                        std::string thread_name = "dw-query-watch", Duration max_wait = kPoll)
      : clock_(clock), linger_(linger), thread_name_(std::move(thread_name)), max_wait_(max_wait) {}
  ~QueryWatcher();
  QueryWatcher(const QueryWatcher&) = delete;
  QueryWatcher& operator=(const QueryWatcher&) = delete;

  // At a watch's deadline: a later deadline to keep watching (the query is
  // making progress), or one not after `now` to cancel it. Called on the
  // watcher thread under its lock: quick, and never throws.
  using Renew = std::function<MonoTime(MonoTime now)>;

  // Watches one query until the returned Watch is destroyed. `cancel` must not
  // throw. A watch() that throws (no thread could be started) registers nothing.
  Watch watch(std::function<void()> cancel, MonoTime deadline, const std::atomic<bool>* cancelled,
              Renew renew = {}) EXCLUDES(mu_);
  // True while the watcher thread sleeps untimed (for tests and diagnostics).
  bool sleeping() const EXCLUDES(mu_);
  // How long the watcher waits after a poll at `now` when the earliest deadline
  // not yet passed is `next_deadline` (MonoTime::max(): none): `max_wait`, or
  // until that deadline when it is sooner (rounded up to whole ms, at least 1 ms).
  static Duration waitAfterPoll(MonoTime now, MonoTime next_deadline, Duration max_wait = kPoll);

 private:
  struct Entry {
    std::function<void()> cancel;
    MonoTime deadline;
    const std::atomic<bool>* cancelled;
    Renew renew;
    Reason fired = Reason::None;
    bool calling = false;  // cancel() is running on the watcher thread
  };
  void loop() EXCLUDES(mu_);
  // The first registered query due for cancelling (marked fired and calling), or
  // 0 and, in `next_deadline`, the earliest deadline of those not due.
  uint64_t due(MonoTime& next_deadline) REQUIRES(mu_);
  Reason unwatch(uint64_t id) EXCLUDES(mu_);

  const Clock& clock_;
  const int linger_;
  const std::string thread_name_;
  const Duration max_wait_;
  mutable Mutex mu_;
  CondVar cv_;
  std::map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  bool stop_ GUARDED_BY(mu_) = false;
  bool sleeping_ GUARDED_BY(mu_) = false;  // in the untimed wait: watch() must wake it
  bool watched_ GUARDED_BY(mu_) = false;   // a watch() since the watcher's last poll
  // When the watcher's timed wait ends (min when it is not in one: it polls
  // before it waits again), and whether a watch() with an earlier deadline
  // asked it to poll again.
  MonoTime wait_until_ GUARDED_BY(mu_) = MonoTime::min();
  bool repoll_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // started under mu_ by the first watch()
};

}  // namespace datawatch
