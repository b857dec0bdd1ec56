// recordRuns / recordSharedRuns (one transaction: all or nothing) on every backend, and
// BatchedStateStore (store/batched_state_store.hpp) over the real stores:
// read-your-writes, runs durable before the alerts they caused, the writer's
// own flushes, close(), failures (kept, poison dropped, the queue bound) and
// concurrent writers. SQLite always, PostgreSQL with DATAWATCH_TEST_PG_DSN.

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "core/time_format.hpp"
#include "store/batched_state_store.hpp"
#include "tests/support/state_store_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::stateStoreBackends;
using datawatch::testing::StoreUnderTest;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");
constexpr Duration kNever = std::chrono::hours(1);  // no flush by the writer's timer

// Run `message` of `probe`, all at kT0: runs() orders them by id, i.e. as committed.
ProbeResult run(const std::string& probe, const std::string& message) {
  ProbeResult r = testing::storedRun(probe, kT0);
  r.message = message;
  return r;
}

std::vector<std::string> messages(StateStore& store, const std::string& probe) {
  auto rs = store.runs(probe, kT0 - 1h, kT0 + 1h);
  REQUIRE(rs.ok());
  std::vector<std::string> out;
  for (const auto& r : *rs) out.push_back(r.message);
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

struct Reported {
  std::mutex mu;
  std::vector<std::pair<std::string, size_t>> calls;
  size_t dropped() {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const auto& c : calls) n += c.second;
    return n;
  }
  size_t count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
};

// Notification d1 of alert a1 to notifier "n", due at kT0.
OutboxItem outboxItem() {
  OutboxItem item;
  item.delivery_id = "d1";
  item.notifier = "n";
  item.alert_id = "a1";
  item.payload = {{"x", 1}};
  item.created_at = item.next_attempt = kT0;
  return item;
}

BatchedStateStore::Options options(Duration interval, Reported* reported = nullptr) {
  BatchedStateStore::Options o;
  o.flush_interval = interval;
  if (reported) {
    o.on_error = [reported](const std::string& error, size_t dropped) {
      std::lock_guard lock(reported->mu);
      reported->calls.emplace_back(error, dropped);
    };
  }
  return o;
}

// The store refuses probe "poison" (SQLite: a trigger; PostgreSQL: a CHECK).
void refusePoison(const StoreUnderTest& db) {
  if (db.postgres()) {
    db.exec("ALTER TABLE probe_runs ADD CONSTRAINT no_poison CHECK (probe <> 'poison')");
  } else {
    db.exec(
        "CREATE TRIGGER no_poison BEFORE INSERT ON probe_runs_recent WHEN NEW.probe = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poison run refused'); END");
  }
}

// A real store that can be made to fail: `down` (writes and ping fail),
// `read_only` (writes fail, ping answers), `fail_batches` (the next N
// recordSharedRuns calls fail, the rest answers).
class FlakyStore final : public StateStore {
 public:
  explicit FlakyStore(std::unique_ptr<StateStore> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> down{false};
  std::atomic<bool> read_only{false};
  std::atomic<int> fail_batches{0};
  std::atomic<int> fail_after_ms{0};  // an injected batch failure takes this long (a lock wait)
  std::atomic<int> batches{0};        // recordSharedRuns calls that stored their runs
  std::atomic<bool> hold{false};      // recordSharedRuns waits while set (a hung database)
  std::atomic<int> entered{0};        // recordSharedRuns calls begun

  Status recordRun(const ProbeResult& r) override {
    if (down || read_only) return Status::Error("injected: cannot write");
    return inner_->recordRun(r);
  }
  Status recordSharedRuns(const std::vector<SharedRun>& runs) override {
    ++entered;
    while (hold) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (down || read_only) return Status::Error("injected: cannot write");
    if (fail_batches > 0) {
      --fail_batches;
      std::this_thread::sleep_for(std::chrono::milliseconds(fail_after_ms.load()));
      return Status::Error("injected: batch failed");
    }
    auto st = inner_->recordSharedRuns(runs);
    if (st) ++batches;
    return st;
  }
  Status ping() override { return down ? Status::Error("injected: unreachable") : inner_->ping(); }
  Result<std::optional<ProbeResult>> lastRun(const std::string& p) override {
    return inner_->lastRun(p);
  }
  Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& p) override {
    return inner_->lastMeasuredRun(p);
  }
  Result<std::vector<ProbeResult>> runs(const std::string& p, TimePoint from, TimePoint to,
                                        size_t limit) override {
    return inner_->runs(p, from, to, limit);
  }
  Result<std::vector<ProbeResult>> latestRuns(const std::string& p, TimePoint from, TimePoint to,
                                              size_t limit) override {
    return inner_->latestRuns(p, from, to, limit);
  }
  Result<int64_t> countRuns() override { return inner_->countRuns(); }
  Result<int64_t> pruneBefore(TimePoint cutoff) override { return inner_->pruneBefore(cutoff); }
  Status commitAlerts(const std::string& key, const nlohmann::json& value,
                      const std::vector<OutboxItem>& items,
                      const std::vector<nlohmann::json>& incidents) override {
    return inner_->commitAlerts(key, value, items, incidents);
  }
  Result<std::vector<OutboxItem>> dueNotifications(const std::string& n, TimePoint due,
                                                   size_t limit) override {
    return inner_->dueNotifications(n, due, limit);
  }
  Result<std::optional<TimePoint>> nextNotificationAt(const std::string& n) override {
    return inner_->nextNotificationAt(n);
  }
  Status removeNotification(int64_t seq) override { return inner_->removeNotification(seq); }
  Status rescheduleNotification(int64_t seq, int attempts, TimePoint next,
                                const std::string& error) override {
    return inner_->rescheduleNotification(seq, attempts, next, error);
  }
  Result<int64_t> countNotifications() override { return inner_->countNotifications(); }
  Result<std::vector<std::string>> queuedNotifiers() override { return inner_->queuedNotifiers(); }
  Status saveIncident(const nlohmann::json& doc) override { return inner_->saveIncident(doc); }
  Result<std::vector<nlohmann::json>> loadIncidents(bool open_only, size_t limit) override {
    return inner_->loadIncidents(open_only, limit);
  }
  Result<std::optional<nlohmann::json>> loadIncident(const std::string& id) override {
    return inner_->loadIncident(id);
  }
  Result<int> nextIncidentSeq(const std::string& day) override {
    return inner_->nextIncidentSeq(day);
  }
  Result<RunFeedPage> runFeed(const std::string& cursor, size_t limit) override {
    return inner_->runFeed(cursor, limit);
  }
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override {
    return inner_->loadSnapshot(key);
  }
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override {
    return inner_->saveSnapshot(key, value);
  }
  Result<bool> saveLineageEvent(const std::string& key, TimePoint event_time,
                                const nlohmann::json& event) override {
    if (down || read_only) return Status::Error("injected: cannot write");
    return inner_->saveLineageEvent(key, event_time, event);
  }
  Result<std::vector<LineageRow>> lineageEventsAfter(int64_t after, size_t limit) override {
    return inner_->lineageEventsAfter(after, limit);
  }
  Result<int64_t> pruneLineageBefore(TimePoint cutoff) override {
    return inner_->pruneLineageBefore(cutoff);
  }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<StateStore> inner_;
};

// Polls `store` until it holds `n` runs; false after 2 s.
bool awaitRuns(StateStore& store, int64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = store.countRuns();
    REQUIRE(c.ok());
    if (*c == n) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

}  // namespace

TEST_CASE("recordRuns stores every run in order, or none", "[store][batched]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      refusePoison(db);
      // More than one multi-row INSERT (PostgreSQL: kRunsPerInsert = 256 a statement).
      std::vector<ProbeResult> many;
      for (const auto& m : numbered("r", 0, 600)) many.push_back(run("a", m));
      many[7].value = std::nullopt;
      many[8].value = 0.1 + 0.2;
      many[9].status = ProbeStatus::Error;
      REQUIRE(store->recordRuns(many).ok());
      CHECK(messages(*store, "a") == numbered("r", 0, 600));
      auto back = store->runs("a", kT0, kT0 + 1s);
      REQUIRE(back.ok());
      CHECK_FALSE((*back)[7].value.has_value());
      CHECK((*back)[8].value == 0.1 + 0.2);  // exact
      CHECK((*back)[9].status == ProbeStatus::Error);
      CHECK((*back)[599].threshold == nlohmann::json{{"min", 10}});
      CHECK((*back)[599].duration_seconds == 0.25);
      CHECK((*back)[599].observed_at == kT0);

      // A refused run in the middle: nothing of the call is stored.
      auto refused = store->recordRuns({run("b", "1"), run("poison", "2"), run("b", "3")});
      REQUIRE_FALSE(refused.ok());
      CHECK(*store->countRuns() == 600);
      CHECK(store->recordRuns({}).ok());
      CHECK(*store->countRuns() == 600);
    }
  }
}

TEST_CASE("recordRuns: the run feed returns a batch's runs once each", "[store][batched]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      auto start = store->runFeed("", 0);
      REQUIRE(start.ok());
      std::string cursor = start->cursor;
      std::vector<ProbeResult> batch;
      for (const auto& m : numbered("r", 0, 300)) batch.push_back(run("a", m));
      REQUIRE(store->recordRuns(batch).ok());
      std::vector<std::string> seen;
      // Pages cut inside the batch's one transaction. Another session's young
      // transaction on the PostgreSQL server may hold the feed back briefly.
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (seen.size() < 300 && std::chrono::steady_clock::now() < deadline) {
        auto page = store->runFeed(cursor, 70);
        REQUIRE(page.ok());
        REQUIRE(page->runs.size() <= 70);
        cursor = page->cursor;
        for (const auto& r : page->runs) seen.push_back(r.message);
        if (page->runs.empty()) std::this_thread::sleep_for(10ms);
      }
      auto rest = store->runFeed(cursor, 70);
      REQUIRE(rest.ok());
      CHECK(rest->runs.empty());
      CHECK(seen == numbered("r", 0, 300));
    }
  }
}

TEST_CASE("batched store: a read sees the runs recorded before it", "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      BatchedStateStore store(db.open(), options(kNever));
      REQUIRE(store.recordRun(run("a", "1")).ok());
      REQUIRE(store.recordRun(run("a", "2")).ok());
      REQUIRE(store.recordRun(run("b", "3")).ok());
      CHECK(store.pending() == 3);  // queued, not written
      auto last = store.lastRun("a");
      REQUIRE(last.ok());
      REQUIRE(last->has_value());
      CHECK((*last)->message == "2");
      CHECK(store.pending() == 0);
      REQUIRE(store.recordRun(run("a", "4")).ok());
      CHECK(messages(store, "a") == std::vector<std::string>{"1", "2", "4"});
      REQUIRE(store.recordRun(run("c", "5")).ok());
      CHECK(*store.countRuns() == 5);
      REQUIRE(store.recordRun(run("c", "6")).ok());
      auto measured = store.lastMeasuredRun("c");
      REQUIRE(measured.ok());
      REQUIRE(measured->has_value());
      CHECK((*measured)->message == "6");
    }
  }
}

TEST_CASE("batched store: a shared run is queued as the pointer, not a copy, and stored whole",
          "[store][batched]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      BatchedStateStore store(db.open(), options(kNever));
      ProbeResult r = run("a", "1");
      r.details = {{"sample", {"x", "y"}}};
      const SharedRun first = std::make_shared<const ProbeResult>(r);
      REQUIRE(store.recordSharedRun(first).ok());
      CHECK(first.use_count() == 2);  // the agent's pointer and the queue's: no copy
      const std::vector<SharedRun> more{std::make_shared<const ProbeResult>(run("a", "2")),
                                        std::make_shared<const ProbeResult>(run("b", "3"))};
      REQUIRE(store.recordSharedRuns(more).ok());
      CHECK(store.pending() == 3);
      REQUIRE(store.flush().ok());
      CHECK(first.use_count() == 1);  // written: the queue let go
      CHECK(messages(store, "a") == std::vector<std::string>{"1", "2"});
      auto last = store.lastRun("b");
      REQUIRE(last.ok());
      REQUIRE(last->has_value());
      CHECK((*last)->message == "3");
      auto back = store.runs("a", kT0, kT0 + 1s);
      REQUIRE(back.ok());
      REQUIRE(back->size() == 2);
      CHECK((*back)[0].details == r.details);
    }
  }
}

TEST_CASE("batched store: runs are durable before the alerts they caused",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      BatchedStateStore store(db.open(), options(kNever));
      auto other = db.open();  // another connection
      for (const auto& m : numbered("r", 0, 5)) REQUIRE(store.recordRun(run("a", m)).ok());
      CHECK(*other->countRuns() == 0);
      REQUIRE(store.commitAlerts("alerts", {{"a1", true}}, {outboxItem()}).ok());
      // Right after commitAlerts returns, both are visible elsewhere.
      CHECK(*other->countNotifications() == 1);
      CHECK(messages(*other, "a") == numbered("r", 0, 5));

      // Incident writes flush first too.
      REQUIRE(store.recordRun(run("a", "r5")).ok());
      REQUIRE(store.saveIncident({{"id", "INC-20261126-1"}, {"status", "open"}}).ok());
      CHECK(*other->countRuns() == 6);
      // The outbox's reads and updates do not: its items were committed after
      // their runs (commitAlerts), and each notifier polls it every second.
      REQUIRE(store.recordRun(run("a", "r6")).ok());
      auto due = store.dueNotifications("n", kT0, 10);
      REQUIRE(due.ok());
      REQUIRE(due->size() == 1);
      CHECK(store.nextNotificationAt("n")->value() == kT0);
      CHECK(*store.countNotifications() == 1);
      CHECK(*store.queuedNotifiers() == std::vector<std::string>{"n"});
      REQUIRE(store.rescheduleNotification(due->front().seq, 1, kT0 + 1s, "503").ok());
      CHECK(other->dueNotifications("n", kT0 + 1s, 10)->front().attempts == 1);
      REQUIRE(store.removeNotification(due->front().seq).ok());
      CHECK(*other->countNotifications() == 0);
      CHECK(store.pending() == 1);
      CHECK(*other->countRuns() == 6);
      // Snapshots are not runs: no flush.
      REQUIRE(store.saveSnapshot("k", {{"v", 1}}).ok());
      CHECK(store.pending() == 1);
      CHECK(*other->countRuns() == 6);
    }
  }
}

TEST_CASE("batched store: the writer flushes on its timer and at max_batch",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto other = db.open();
      SECTION("every flush_interval") {
        BatchedStateStore store(db.open(), options(20ms));
        REQUIRE(store.recordRun(run("a", "1")).ok());
        CHECK(awaitRuns(*other, 1));
      }
      SECTION("max_batch runs queued: at once, not at the (hour-long) interval") {
        auto flaky = std::make_unique<FlakyStore>(db.open());
        auto* counts = flaky.get();
        BatchedStateStore store(std::move(flaky), options(kNever));
        for (const auto& m : numbered("r", 0, 255)) REQUIRE(store.recordRun(run("a", m)).ok());
        CHECK(store.pending() == 255);
        REQUIRE(store.recordRun(run("a", "r255")).ok());
        CHECK(awaitRuns(*other, 256));
        REQUIRE(store.flush().ok());  // waits for the writer's flush to return
        CHECK(counts->batches == 1);  // one transaction
        CHECK(store.pending() == 0);
      }
    }
  }
}

TEST_CASE("batched store: close and the destructor write every queued run",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto other = db.open();
      {
        BatchedStateStore store(db.open(), options(kNever));
        for (const auto& m : numbered("r", 0, 300)) REQUIRE(store.recordRun(run("a", m)).ok());
      }
      CHECK(messages(*other, "a") == numbered("r", 0, 300));
      BatchedStateStore store(db.open(), options(kNever));
      REQUIRE(store.recordRun(run("b", "1")).ok());
      store.close();
      CHECK(*other->countRuns() == 301);
      REQUIRE(store.recordRun(run("b", "2")).ok());  // synchronous now
      CHECK(store.pending() == 0);
      CHECK(messages(*other, "b") == std::vector<std::string>{"1", "2"});
      store.close();  // idempotent
    }
  }
}

TEST_CASE("batched store: closeWithin gives up on a hung database in time, and ends later",
          "[store][batched][threads]") {
  StoreUnderTest db(stateStoreBackends().front());
  auto other = db.open();
  Reported reported;
  auto flaky_owned = std::make_unique<FlakyStore>(db.open());
  FlakyStore& flaky = *flaky_owned;
  auto store =
      std::make_unique<BatchedStateStore>(std::move(flaky_owned), options(kNever, &reported));
  for (const auto& m : numbered("r", 0, 3)) REQUIRE(store->recordRun(run("a", m)).ok());
  flaky.hold = true;  // the last flush hangs in the database
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(store->closeWithin(200ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 200ms);
  CHECK(took < 2s);
  CHECK(store->unwritten() == 3);  // queued, or in the batch the database holds
  REQUIRE(testing::eventually([&] { return flaky.entered > 0; }, 5s));
  CHECK(store->pending() == 0);  // all in that batch
  CHECK(store->unwritten() == 3);
  CHECK_FALSE(store->closeWithin(0ms));  // still not done: the same answer
  flaky.hold = false;                    // the database answers: the writer ends
  CHECK(store->closeWithin(5s));
  CHECK(store->unwritten() == 0);
  store.reset();
  CHECK(messages(*other, "a") == numbered("r", 0, 3));
  CHECK(reported.count() == 0);

  // Timed out, then the database fails that batch: the destructor still waits
  // for the writer and reports the runs lost.
  Reported lost;
  auto failing_owned = std::make_unique<FlakyStore>(db.open());
  FlakyStore& failing = *failing_owned;
  store = std::make_unique<BatchedStateStore>(std::move(failing_owned), options(kNever, &lost));
  for (const auto& m : numbered("x", 0, 2)) REQUIRE(store->recordRun(run("f", m)).ok());
  failing.hold = true;
  CHECK_FALSE(store->closeWithin(50ms));
  REQUIRE(testing::eventually([&] { return failing.entered > 0; }, 5s));
  failing.down = true;
  failing.hold = false;
  store.reset();
  CHECK(lost.dropped() == 2);
  CHECK(messages(*other, "f").empty());

  // Within the budget: true, and everything written.
  auto quick = std::make_unique<BatchedStateStore>(db.open(), options(kNever));
  REQUIRE(quick->recordRun(run("b", "1")).ok());
  CHECK(quick->closeWithin(5s));
  CHECK(quick->unwritten() == 0);
  CHECK(messages(*other, "b") == std::vector<std::string>{"1"});
}

// One store per backend for several scenarios (a PostgreSQL schema costs a
// few hundred ms): each scenario has its own probe name.
TEST_CASE("batched store: failed batches are kept, in order, and written later",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      Reported reported;
      auto flaky_owned = std::make_unique<FlakyStore>(db.open());
      FlakyStore& flaky = *flaky_owned;  // its reads go straight to the real store
      BatchedStateStore store(std::move(flaky_owned), options(kNever, &reported));

      // The store is down: kept at the front of the queue, written when it returns.
      flaky.down = true;
      for (const auto& m : numbered("r", 0, 3)) REQUIRE(store.recordRun(run("down", m)).ok());
      auto failed = store.flush();
      REQUIRE_FALSE(failed.ok());
      CHECK(failed.message() == "injected: cannot write");
      CHECK(store.pending() == 3);
      CHECK_FALSE(store.countRuns().ok());  // a read cannot miss them: it fails
      for (const auto& m : numbered("r", 3, 5)) REQUIRE(store.recordRun(run("down", m)).ok());
      CHECK(*flaky.countRuns() == 0);
      CHECK(reported.count() == 2);  // flush() and countRuns()' flush
      CHECK(reported.dropped() == 0);
      flaky.down = false;
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "down") == numbered("r", 0, 5));

      // A batch fails while the store answers: retried run by run, none lost.
      flaky.fail_batches = 1;
      for (const auto& m : numbered("r", 0, 4)) REQUIRE(store.recordRun(run("once", m)).ok());
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "once") == numbered("r", 0, 4));
      CHECK(reported.count() == 2);

      // The store refuses every write but answers reads (a read-only standby,
      // a full disk): nothing is dropped.
      flaky.read_only = true;
      for (const auto& m : numbered("r", 0, 3)) REQUIRE(store.recordRun(run("ro", m)).ok());
      REQUIRE_FALSE(store.flush().ok());
      CHECK(store.pending() == 3);
      flaky.read_only = false;
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "ro") == numbered("r", 0, 3));
      CHECK(reported.count() == 3);
      CHECK(reported.dropped() == 0);
      CHECK(store.droppedRuns() == 0);
      CHECK(*flaky.countRuns() == 12);
    }
  }
}

TEST_CASE("batched store: notifications go out while the runs cannot be written",
          "[store][batched]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      Reported reported;
      auto flaky_owned = std::make_unique<FlakyStore>(db.open());
      FlakyStore& flaky = *flaky_owned;
      BatchedStateStore store(std::move(flaky_owned), options(kNever, &reported));
      REQUIRE(store.commitAlerts("alerts", {{"a1", true}}, {outboxItem()}).ok());
      flaky.down = true;  // run writes fail from here on; the outbox answers
      REQUIRE(store.recordRun(run("p", "queued")).ok());
      REQUIRE_FALSE(store.flush().ok());
      CHECK(reported.count() == 1);
      auto due = store.dueNotifications("n", kT0, 10);
      REQUIRE(due.ok());
      REQUIRE(due->size() == 1);
      CHECK(store.nextNotificationAt("n").ok());
      CHECK(*store.countNotifications() == 1);
      CHECK(store.queuedNotifiers().ok());
      CHECK(store.rescheduleNotification(due->front().seq, 1, kT0 + 1s, "503").ok());
      CHECK(store.removeNotification(due->front().seq).ok());
      CHECK(reported.count() == 1);  // none of them tried (and failed) to flush
      CHECK(store.pending() == 1);   // the run waits for the store
      flaky.down = false;
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "p") == std::vector<std::string>{"queued"});
    }
  }
}

TEST_CASE("batched store: a rejected run and runs beyond the queue bound are dropped, reported",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      Reported reported;
      auto flaky_owned = std::make_unique<FlakyStore>(db.open());
      FlakyStore& flaky = *flaky_owned;  // its reads go straight to the real store
      auto opts = options(kNever, &reported);
      opts.max_queued = 10;
      BatchedStateStore store(std::move(flaky_owned), opts);

      // Beyond max_queued the oldest runs are dropped, counted, and reported.
      flaky.down = true;
      for (const auto& m : numbered("r", 0, 15)) REQUIRE(store.recordRun(run("a", m)).ok());
      CHECK(store.pending() == 10);
      CHECK(store.droppedRuns() == 5);
      flaky.down = false;
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "a") == numbered("r", 5, 15));
      REQUIRE(reported.count() == 1);
      CHECK(reported.calls[0].second == 5);

      // A run the store rejects while it accepts the others: dropped, reported.
      refusePoison(db);
      REQUIRE(store.recordRun(run("b", "1")).ok());
      REQUIRE(store.recordRun(run("poison", "2")).ok());
      REQUIRE(store.recordRun(run("b", "3")).ok());
      REQUIRE(store.flush().ok());
      CHECK(messages(flaky, "b") == std::vector<std::string>{"1", "3"});
      CHECK(*flaky.countRuns() == 12);
      REQUIRE(reported.count() == 2);
      CHECK(reported.calls[1].second == 1);
      CHECK(reported.calls[1].first.find("(probe poison)") != std::string::npos);
      CHECK(store.droppedRuns() == 6);
      CHECK(store.pending() == 0);
    }
  }
}

TEST_CASE("batched store: a slow batch failure (a lock, a timeout) is never taken for poison",
          "[store][batched]") {
  StoreUnderTest db(stateStoreBackends().front());
  Reported reported;
  auto flaky_owned = std::make_unique<FlakyStore>(db.open());
  FlakyStore& flaky = *flaky_owned;
  auto opts = options(kNever, &reported);
  opts.poison_budget = 30ms;
  BatchedStateStore store(std::move(flaky_owned), opts);
  for (const auto& m : numbered("r", 0, 3)) REQUIRE(store.recordRun(run("a", m)).ok());
  // The batch fails after 40 ms, the store answers pings and would take each
  // run alone: still no run-by-run pass, nothing dropped, all kept in order.
  flaky.fail_batches = 1;
  flaky.fail_after_ms = 40;
  CHECK_FALSE(store.flush().ok());
  CHECK(store.pending() == 3);
  CHECK(messages(flaky, "a").empty());
  CHECK(store.droppedRuns() == 0);
  REQUIRE(store.flush().ok());
  CHECK(messages(flaky, "a") == numbered("r", 0, 3));
  // The same failure at once: the pass runs and stores them one by one.
  for (const auto& m : numbered("s", 0, 2)) REQUIRE(store.recordRun(run("c", m)).ok());
  flaky.fail_batches = 1;
  flaky.fail_after_ms = 0;
  REQUIRE(store.flush().ok());
  CHECK(messages(flaky, "c") == numbered("s", 0, 2));
}

TEST_CASE("batched store: a run whose probe saved a new baseline is written at once",
          "[store][batched]") {
  testing::TempDir dir;
  {
    testing::SqliteDb w(dir / "w.db");
    w.exec("CREATE TABLE t (id INTEGER, at TEXT)");
  }
  const std::string yaml = "sources:\n  w: {type: sqlite, path: " + (dir / "w.db").string() +
                           "}\nprobes:\n"
                           "  - {name: shape, type: schema, source: w, table: t, "
                           "columns: {id: '', at: ''}}\n";
  StoreUnderTest db("sqlite");
  BatchedStateStore store(db.open(), options(kNever));
  testing::ProbeHarness h(testing::loadTestConfig(yaml, (dir / "c.yaml").string()),
                          *parseTimestamp("2026-11-26T10:00:00Z"), &store);
  auto reader = db.open();  // a second connection: sees only committed runs
  // The first run saves the schema snapshot: its run is durable with it.
  REQUIRE(h.run().status == ProbeStatus::Pass);
  CHECK(store.pending() == 0);
  CHECK(reader->countRuns().value() == 1);
  // Unchanged: no new baseline, the run waits for the batch.
  REQUIRE(h.run().status == ProbeStatus::Pass);
  CHECK(store.pending() == 1);
  CHECK(reader->countRuns().value() == 1);
  // A column added: a new baseline, written at once with the run that reports it.
  {
    testing::SqliteDb w(dir / "w.db");
    w.exec("ALTER TABLE t ADD COLUMN extra TEXT");
  }
  (void)h.run();
  CHECK(store.pending() == 0);
  CHECK(reader->countRuns().value() == 3);
}

TEST_CASE("batched store: lineage events go straight to the store, queued runs stay queued",
          "[store][batched][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      BatchedStateStore store(db.open(), options(kNever));
      REQUIRE(store.recordRun(run("p", "queued")).ok());
      const nlohmann::json event = {{"eventType", "START"}, {"run", {{"runId", "r1"}}}};
      REQUIRE(*store.saveLineageEvent("r1|START|0", kT0, event));
      CHECK_FALSE(*store.saveLineageEvent("r1|START|0", kT0, event));
      auto reader = db.open();  // another connection: the event is committed already
      auto rows = reader->lineageEventsAfter(0, 10);
      REQUIRE(rows.ok());
      REQUIRE(rows->size() == 1);
      CHECK((*rows)[0].event == event);
      CHECK(store.lineageEventsAfter(0, 10)->size() == 1);
      CHECK(*store.pruneLineageBefore(kT0 + 1s) == 1);
      CHECK(store.pending() == 1);  // none of them flushed the run
      CHECK(reader->countRuns().value() == 0);
    }
  }
}

TEST_CASE("batched store: concurrent writers and readers, every run stored once in order",
          "[store][batched][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      Reported reported;
      BatchedStateStore store(db.open(), options(20ms, &reported));
      constexpr int kThreads = 4;
      constexpr int kRuns = 2000;
      std::atomic<int> writing{kThreads};
      std::atomic<bool> all_ok{true};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kRuns; ++i)
            if (!store.recordRun(run("t" + std::to_string(t), std::to_string(i))).ok())
              all_ok = false;
          --writing;
        });
      }
      std::thread reader([&] {
        size_t seen = 0;
        for (int n = 0; writing > 0; ++n) {
          auto rs = store.runs("t0", kT0 - 1h, kT0 + 1h);
          if (!rs.ok() || rs->size() < seen) all_ok = false;
          if (rs.ok()) seen = rs->size();
          if (!store.commitAlerts("alerts", {{"n", n}}, {}).ok()) all_ok = false;
        }
      });
      for (auto& t : threads) t.join();
      reader.join();
      CHECK(all_ok);
      store.close();  // reads go on, straight to the real store
      CHECK(*store.countRuns() == kThreads * kRuns);
      for (int t = 0; t < kThreads; ++t)
        CHECK(messages(store, "t" + std::to_string(t)) == numbered("", 0, kRuns));
      CHECK(reported.count() == 0);
    }
  }
}

// Not run by default: `datawatch_integration_tests "[batched][timing]"`.
TEST_CASE("recordRuns: timing against recordRun", "[.][store][batched][timing]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      const int n = 2000;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) REQUIRE(store->recordRun(run("one", std::to_string(i))).ok());
      auto t1 = std::chrono::steady_clock::now();
      std::vector<ProbeResult> batch;
      for (int i = 0; i < n; ++i) {
        batch.push_back(run("batch", std::to_string(i)));
        if (batch.size() == 100) {
          REQUIRE(store->recordRuns(batch).ok());
          batch.clear();
        }
      }
      auto t2 = std::chrono::steady_clock::now();
      auto us = [&](auto d) {
        return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / n;
      };
      WARN(backend << ": recordRun " << us(t1 - t0) << " us/run; recordRuns of 100: " << us(t2 - t1)
                   << " us/run");
    }
  }
}
