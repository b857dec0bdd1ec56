// BackgroundQueue (core/background_queue.hpp): tasks that may block for ever
// (a cancel request to a frozen server) run off the posting thread, in order;
// post() never waits, drops beyond max_pending, and destruction is bounded.

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/background_queue.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

// A gate tasks wait at until the test opens it (shared: it may outlive the queue).
struct Gate {
  std::promise<void> opened;
  std::shared_future<void> wait = opened.get_future().share();
};

}  // namespace

TEST_CASE("a background queue runs its tasks in order, off the posting thread",
          "[background_queue][threads]") {
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::promise<void> last;
  {
    BackgroundQueue q("dw-test-bg", 16, 2s);
    for (int i = 0; i < 5; ++i)
      q.post([&, i] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
        threads.push_back(std::this_thread::get_id());
        if (i == 4) last.set_value();
      });
    REQUIRE(last.get_future().wait_for(5s) == std::future_status::ready);
    CHECK(q.dropped() == 0);
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  for (const auto& id : threads) CHECK(id != std::this_thread::get_id());
}

TEST_CASE("a background queue never blocks its poster and drops beyond its bound",
          "[background_queue][threads]") {
  auto gate = std::make_shared<Gate>();
  auto ran = std::make_shared<std::atomic<int>>(0);
  {
    BackgroundQueue q("dw-test-bg", 3, 2s);
    std::promise<void> started;
    q.post([&started, gate, ran] {
      started.set_value();
      gate->wait.wait();  // blocks as PQcancel does on a frozen server
      ++*ran;
    });
    REQUIRE(started.get_future().wait_for(5s) == std::future_status::ready);
    // The first task runs (blocked): three more wait, the next two are dropped.
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) q.post([ran] { ++*ran; });
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);  // never waited for the blocked task
    CHECK(q.dropped() == 2);
    CHECK(q.pending() == 4);
    gate->opened.set_value();
  }  // the destructor lets the three waiting tasks run
  CHECK(ran->load() == 4);
}

TEST_CASE("destroying a background queue whose task blocks returns after its drain time",
          "[background_queue][threads]") {
  auto gate = std::make_shared<Gate>();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::promise<void> started;
  auto q = std::make_unique<BackgroundQueue>("dw-test-bg", 4, 100ms);
  q->post([&started, gate, done] {
    started.set_value();
    gate->wait.wait();
    *done = true;
  });
  q->post([] { throw std::runtime_error("a task that throws is dropped"); });
  REQUIRE(started.get_future().wait_for(5s) == std::future_status::ready);
  const auto t0 = std::chrono::steady_clock::now();
  q.reset();  // the task still blocks: the thread is left to it
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 100ms);
  CHECK(took < 2s);
  CHECK_FALSE(done->load());
  // Released afterwards, the left thread finishes its task on its own state.
  gate->opened.set_value();
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done->load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  CHECK(done->load());
}

TEST_CASE("a task that throws does not stop a background queue", "[background_queue][threads]") {
  std::promise<void> after;
  BackgroundQueue q("dw-test-bg", 4, 2s);
  q.post([] { throw std::runtime_error("dropped"); });
  q.post([&after] { after.set_value(); });
  CHECK(after.get_future().wait_for(5s) == std::future_status::ready);
}
