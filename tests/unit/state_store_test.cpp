#include <catch2/catch.hpp>

#include <thread>

#include "core/time_format.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus st, std::optional<double> v) {
  ProbeResult r;
  r.probe = probe;
  r.type = "volume";
  r.source = "db";
  r.target = "shop.orders";
  r.owner = "team";
  r.status = st;
  r.value = v;
  r.unit = "rows";
  r.message = "m";
  r.threshold = {{"min", 10}};
  r.details = {{"k", "v"}};
  r.observed_at = at;
  r.duration_seconds = 0.25;
  return r;
}

}  // namespace

TEST_CASE("the state store records runs and reads them back", "[store]") {
  datawatch::testing::TempDir dir;
  auto opened = SqliteStateStore::open((dir / "sub/state.db").string());
  REQUIRE(opened.ok());
  auto& store = **opened;
  CHECK(store.schemaVersion() == SqliteStateStore::latestSchemaVersion());
  REQUIRE(store.recordRun(run("a", kT0, ProbeStatus::Pass, 5)).ok());
  REQUIRE(store.recordRun(run("a", kT0 + 1min, ProbeStatus::Fail, 3)).ok());
  REQUIRE(store.recordRun(run("a", kT0 + 2min, ProbeStatus::Error, std::nullopt)).ok());
  REQUIRE(store.recordRun(run("b", kT0 + 2min, ProbeStatus::Pass, 9)).ok());

  auto last = store.lastRun("a");
  REQUIRE(last.ok());
  REQUIRE(last->has_value());
  CHECK((*last)->status == ProbeStatus::Error);
  CHECK((*last)->observed_at == kT0 + 2min);

  auto measured = store.lastMeasuredRun("a");
  REQUIRE(measured.ok());
  REQUIRE(measured->has_value());
  CHECK((*measured)->value == 3);
  CHECK((*measured)->threshold["min"] == 10);
  CHECK((*measured)->details["k"] == "v");
  CHECK((*measured)->duration_seconds == 0.25);
  CHECK((*measured)->target == "shop.orders");

  auto range = store.runs("a", kT0 + 30s, kT0 + 2min);
  REQUIRE(range.ok());
  REQUIRE(range->size() == 1);
  CHECK(range->front().observed_at == kT0 + 1min);
  CHECK(store.lastRun("nobody")->has_value() == false);
  CHECK(*store.countRuns() == 4);
}

TEST_CASE("retention prunes old runs", "[store]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "s.db").string())).value();
  for (int i = 0; i < 10; ++i)
    REQUIRE(store->recordRun(run("a", kT0 + i * 1h, ProbeStatus::Pass, i)).ok());
  auto pruned = store->pruneBefore(kT0 + 4h);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 4);
  CHECK(*store->countRuns() == 6);
  CHECK(store->runs("a", kT0, kT0 + 1000h)->front().observed_at == kT0 + 4h);
}

TEST_CASE("the store survives reopening and refuses a newer schema", "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 1)).ok());
  }
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    CHECK(*store->countRuns() == 1);
    CHECK(store->ping().ok());
  }
  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec("INSERT INTO schema_migrations VALUES (999, 0)");
  }
  auto newer = SqliteStateStore::open(path);
  REQUIRE_FALSE(newer.ok());
  CHECK_THAT(newer.error(), Catch::Contains("newer than this build understands"));
}

TEST_CASE("the store is safe under concurrent writers", "[store][threads]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "s.db").string())).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        (void)store->recordRun(run("p" + std::to_string(t), kT0 + i * 1s, ProbeStatus::Pass, i));
    });
  }
  for (auto& th : threads) th.join();
  CHECK(*store->countRuns() == 1000);
}

TEST_CASE("unsupported and malformed state URLs are clear errors", "[store]") {
  auto pg = openStateStore("postgres://u:secretpw@db/state");
  REQUIRE_FALSE(pg.ok());
  CHECK_THAT(pg.error(), Catch::Contains("not supported by this build yet"));
  CHECK_THAT(pg.error(), !Catch::Contains("secretpw"));
  auto bad = openStateStore("redis://x");
  REQUIRE_FALSE(bad.ok());
  auto unwritable = openStateStore("sqlite:///proc/no/such/dir/state.db");
  REQUIRE_FALSE(unwritable.ok());
  CHECK_THAT(unwritable.error(), Catch::Contains("cannot open state store"));
}

TEST_CASE("the outbox commits with the alert state, keeps order and never queues an id twice",
          "[store][outbox]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  auto item = [](const std::string& id, const std::string& notifier, TimePoint due) {
    OutboxItem it;
    it.delivery_id = id;
    it.notifier = notifier;
    it.alert_id = "probe:p:warning";
    it.payload = {{"delivery_id", id}, {"text", "héllo"}};
    it.created_at = kT0;
    it.next_attempt = due;
    return it;
  };
  REQUIRE(store->commitAlerts(
      "alerts/firing", nlohmann::json::array({"a"}),
      {item("d1", "hook", kT0), item("d2", "hook", kT0 + 1min), item("d3", "slack", kT0)}));
  CHECK((*store->loadSnapshot("alerts/firing"))->at(0) == "a");
  // The same delivery id again (a replayed plan) is not queued twice.
  REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array(), {item("d1", "hook", kT0)}));
  CHECK(*store->countNotifications() == 3);
  CHECK((*store->loadSnapshot("alerts/firing"))->empty());
  auto due = *store->dueNotifications("hook", kT0, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].delivery_id == "d1");
  CHECK(due[0].payload["text"] == "héllo");
  CHECK(due[0].attempts == 0);
  CHECK(*store->nextNotificationAt("hook") == kT0);
  REQUIRE(store->rescheduleNotification(due[0].seq, 1, kT0 + 5min, "HTTP 500"));
  // d2 (same alert) waits behind d1: nothing of "hook" is due before d1's retry.
  CHECK(*store->nextNotificationAt("hook") == kT0 + 5min);
  CHECK(store->dueNotifications("hook", kT0 + 2min, 10)->empty());
  due = *store->dueNotifications("hook", kT0 + 5min, 10);
  REQUIRE(due.size() == 2);
  CHECK(due[0].delivery_id == "d1");  // queue order, not due order
  CHECK(due[0].attempts == 1);
  CHECK(due[0].last_error == "HTTP 500");
  REQUIRE(store->removeNotification(due[0].seq));
  CHECK(*store->countNotifications() == 2);
  CHECK(*store->queuedNotifiers() == std::vector<std::string>{"hook", "slack"});
  CHECK_FALSE(store->nextNotificationAt("nobody")->has_value());
  // Reopened (a restart): everything is still there.
  store.reset();
  store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  CHECK(*store->countNotifications() == 2);
}

TEST_CASE("an alert's later notification waits behind its earlier one, other alerts' do not",
          "[store][outbox]") {
  datawatch::testing::TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  auto item = [](const std::string& id, const std::string& alert, TimePoint due) {
    OutboxItem it;
    it.delivery_id = id;
    it.notifier = "hook";
    it.alert_id = alert;
    it.payload = {{"status", id}};
    it.created_at = kT0;
    it.next_attempt = due;
    return it;
  };
  // firing(a), firing(b), resolved(a): the firing of a fails once.
  REQUIRE(store->commitAlerts(
      "alerts/firing", nlohmann::json::array(),
      {item("fire-a", "a", kT0), item("fire-b", "b", kT0), item("resolve-a", "a", kT0 + 10s)}));
  auto due = *store->dueNotifications("hook", kT0, 1);
  REQUIRE(due.size() == 1);
  REQUIRE(due[0].delivery_id == "fire-a");
  REQUIRE(store->rescheduleNotification(due[0].seq, 1, kT0 + 1min, "HTTP 500"));
  // At +20s the resolve of a is due by its own time but must not overtake its
  // firing; b is unaffected.
  due = *store->dueNotifications("hook", kT0 + 20s, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].delivery_id == "fire-b");
  REQUIRE(store->removeNotification(due[0].seq));
  CHECK(*store->nextNotificationAt("hook") == kT0 + 1min);
  due = *store->dueNotifications("hook", kT0 + 1min, 10);
  REQUIRE(due.size() == 2);
  CHECK(due[0].delivery_id == "fire-a");
  CHECK(due[1].delivery_id == "resolve-a");
}
