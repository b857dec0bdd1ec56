// QueryWatcher: the deadline and the cancel flag reach a query's cancel
// function once, a query that ends in time is never cancelled, and a watcher
// that went to sleep (no queries for its linger) wakes for the next query.
// Time: deadlines are on a SimulatedClock; only the watcher's polling is real
// (kPoll, 50 ms), so each wait below is bounded by a few polls.
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/query_watcher.hpp"
#include "core/time_format.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kWatcherStart = *parseTimestamp("2026-12-02T00:00:00Z");

// Counts cancel calls and lets the test wait for the first.
struct CancelProbe {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::function<void()> fn() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      cv.notify_all();
    };
  }
  bool waitCalled(std::chrono::milliseconds within) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, within, [&] { return calls > 0; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

// Waits (bounded) until the watcher sleeps untimed.
bool waitAsleep(const QueryWatcher& w) {
  for (int i = 0; i < 200; ++i) {
    if (w.sleeping()) return true;
    std::this_thread::sleep_for(QueryWatcher::kPoll / 5);  // real time: the watcher polls in it
  }
  return false;
}

}  // namespace

TEST_CASE("query watcher: a passed deadline cancels once, reported by finish()",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock);
  CancelProbe cancel;
  auto watch = w.watch(cancel.fn(), clock.monotonic() + 1s, nullptr);
  clock.advance(2s);
  REQUIRE(cancel.waitCalled(20 * QueryWatcher::kPoll));
  CHECK(watch.finish() == QueryWatcher::Reason::Deadline);
  CHECK(cancel.count() == 1);
}

TEST_CASE("query watcher: the cancel flag cancels, a query that ends in time is not cancelled",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock);
  std::atomic<bool> stop{false};
  CancelProbe quick;
  {
    auto watch = w.watch(quick.fn(), clock.monotonic() + 1h, &stop);
    CHECK(watch.finish() == QueryWatcher::Reason::None);
  }
  CancelProbe slow;
  auto watch = w.watch(slow.fn(), clock.monotonic() + 1h, &stop);
  stop = true;
  REQUIRE(slow.waitCalled(20 * QueryWatcher::kPoll));
  CHECK(watch.finish() == QueryWatcher::Reason::Cancelled);
  CHECK(quick.count() == 0);
  CHECK(slow.count() == 1);
}

TEST_CASE("query watcher: asleep after its linger, it wakes for the next query",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock, /*linger=*/0);
  CancelProbe first;
  w.watch(first.fn(), clock.monotonic() + 1h, nullptr).finish();
  REQUIRE(waitAsleep(w));  // no query for one poll: sleeps untimed
  CancelProbe second;
  auto watch = w.watch(second.fn(), clock.monotonic(), nullptr);  // due at once
  REQUIRE(second.waitCalled(20 * QueryWatcher::kPoll));
  CHECK(watch.finish() == QueryWatcher::Reason::Deadline);
  CHECK(first.count() == 0);
}

TEST_CASE("query watcher: lingering, it keeps polling between short queries",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock);  // kLinger polls: two seconds
  CancelProbe quick;
  for (int i = 0; i < 5; ++i) {
    w.watch(quick.fn(), clock.monotonic() + 1h, nullptr).finish();
    std::this_thread::sleep_for(QueryWatcher::kPoll);  // real time between queries
    CHECK_FALSE(w.sleeping());
  }
  CHECK(quick.count() == 0);
}

TEST_CASE("query watcher: it waits a poll, or until the earliest deadline when that is sooner",
          "[query_watcher]") {
  const MonoTime now = std::chrono::steady_clock::now();
  using std::chrono::milliseconds;
  CHECK(QueryWatcher::waitAfterPoll(now, MonoTime::max()) == QueryWatcher::kPoll);
  CHECK(QueryWatcher::waitAfterPoll(now, now + 1h) == QueryWatcher::kPoll);
  CHECK(QueryWatcher::waitAfterPoll(now, now + 20ms) == milliseconds(20));
  // Rounded up (not a poll just before the deadline), never zero (no busy loop).
  CHECK(QueryWatcher::waitAfterPoll(now, now + std::chrono::microseconds(20500)) ==
        milliseconds(21));
  CHECK(QueryWatcher::waitAfterPoll(now, now + std::chrono::microseconds(10)) == milliseconds(1));
  CHECK(QueryWatcher::waitAfterPoll(now, now - 5ms) == milliseconds(1));
  // A watcher with a longer max_wait (real clock, no flags) waits until the deadline.
  CHECK(QueryWatcher::waitAfterPoll(now, now + 1h, 2h) == 1h);
  CHECK(QueryWatcher::waitAfterPoll(now, MonoTime::max(), 2h) == 2h);
}

TEST_CASE("query watcher: a Renew keeps a query watched past its deadline until it says due",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock);
  CancelProbe cancel;
  std::atomic<int> renewals{0};
  std::atomic<bool> progressing{true};
  auto watch = w.watch(cancel.fn(), clock.monotonic() + 1s, nullptr, [&](MonoTime now) {
    ++renewals;
    return progressing.load() ? now + 1s : now;
  });
  clock.advance(2s);
  for (int i = 0; i < 200 && renewals.load() == 0; ++i)
    std::this_thread::sleep_for(QueryWatcher::kPoll / 5);  // real time: the watcher polls in it
  REQUIRE(renewals.load() >= 1);
  CHECK_FALSE(cancel.waitCalled(4 * QueryWatcher::kPoll));  // renewed: not cancelled
  progressing = false;
  clock.advance(2s);
  REQUIRE(cancel.waitCalled(20 * QueryWatcher::kPoll));
  CHECK(watch.finish() == QueryWatcher::Reason::Deadline);
  CHECK(cancel.count() == 1);
}

TEST_CASE("query watcher: a query due at once among later ones is cancelled alone",
          "[threads][query_watcher]") {
  SimulatedClock clock(kWatcherStart);
  QueryWatcher w(clock);
  CancelProbe later, passed;
  auto a = w.watch(later.fn(), clock.monotonic() + 1h, nullptr);
  auto b = w.watch(passed.fn(), clock.monotonic(), nullptr);  // due at once
  REQUIRE(passed.waitCalled(20 * QueryWatcher::kPoll));
  CHECK(b.finish() == QueryWatcher::Reason::Deadline);
  CHECK(a.finish() == QueryWatcher::Reason::None);
  CHECK(later.count() == 0);
}
