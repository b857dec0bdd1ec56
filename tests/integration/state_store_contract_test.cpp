// The StateStore contract (store/state_store.hpp), run unchanged against every
// backend: SQLite always, PostgreSQL when DATAWATCH_TEST_PG_DSN is set. Each
// backend is a section named after it, so a failure names its backend.

#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "core/time_format.hpp"
#include "tests/support/state_store_under_test.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::stateStoreBackends;
using datawatch::testing::StoreUnderTest;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus st, std::optional<double> v) {
  return testing::storedRun(probe, at, st, v);
}

OutboxItem item(const std::string& id, const std::string& notifier, const std::string& alert,
                TimePoint due) {
  OutboxItem it;
  it.delivery_id = id;
  it.notifier = notifier;
  it.alert_id = alert;
  it.payload = {{"delivery_id", id}, {"text", "héllo"}};
  it.created_at = kT0;
  it.next_attempt = due;
  return it;
}

nlohmann::json incident(const std::string& id, const std::string& status, TimePoint opened) {
  return {{"id", id}, {"status", status}, {"opened_at", formatRfc3339(opened)}};
}

// The runs of the feed after `cursor`, in pages of `page`, until `expected` have
// come (PostgreSQL cuts pages at the oldest write transaction still in progress
// anywhere on the server, an autovacuum's ANALYZE too: an empty page is not the
// end), then one more page that must be empty.
std::vector<ProbeResult> drainFeed(StateStore& store, std::string& cursor, size_t page,
                                   size_t expected) {
  std::vector<ProbeResult> out;
  // Another session's transaction on the server (a parallel test) can hold the
  // feed back for a few seconds: an empty page is not the end.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    auto p = store.runFeed(cursor, page);
    REQUIRE(p.ok());
    REQUIRE(p->runs.size() <= page);
    cursor = p->cursor;
    out.insert(out.end(), p->runs.begin(), p->runs.end());
    if (p->runs.empty()) std::this_thread::sleep_for(20ms);  // another process's transaction
  }
  auto rest = store.runFeed(cursor, page);
  REQUIRE(rest.ok());
  cursor = rest->cursor;
  out.insert(out.end(), rest->runs.begin(), rest->runs.end());
  return out;
}

}  // namespace

TEST_CASE("store contract: runs are recorded and read back", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 5)).ok());
      REQUIRE(store->recordRun(run("a", kT0 + 1min, ProbeStatus::Fail, 0.1 + 0.2)).ok());
      REQUIRE(store->recordRun(run("a", kT0 + 2min, ProbeStatus::Error, std::nullopt)).ok());
      REQUIRE(store->recordRun(run("b", kT0 + 2min + 1ms, ProbeStatus::Pass, 9)).ok());

      auto last = store->lastRun("a");
      REQUIRE(last.ok());
      REQUIRE(last->has_value());
      CHECK((*last)->status == ProbeStatus::Error);
      CHECK_FALSE((*last)->value.has_value());
      CHECK((*last)->observed_at == kT0 + 2min);

      auto measured = store->lastMeasuredRun("a");
      REQUIRE(measured.ok());
      REQUIRE(measured->has_value());
      CHECK((*measured)->value == 0.1 + 0.2);  // exact
      CHECK((*measured)->status == ProbeStatus::Fail);
      CHECK((*measured)->threshold["min"] == 10);
      CHECK((*measured)->details["k"] == "v");
      CHECK((*measured)->duration_seconds == 0.25);
      CHECK((*measured)->target == "shop.orders");
      CHECK((*measured)->owner == "team");
      CHECK((*measured)->unit == "rows");
      CHECK((*measured)->message == "m");
      CHECK((*measured)->type == "volume");
      CHECK((*measured)->source == "db");
      CHECK((*store->lastRun("b"))->observed_at == kT0 + 2min + 1ms);  // to the millisecond

      auto range = store->runs("a", kT0 + 30s, kT0 + 2min);
      REQUIRE(range.ok());
      REQUIRE(range->size() == 1);
      CHECK(range->front().observed_at == kT0 + 1min);
      CHECK(store->runs("a", kT0, kT0 + 1h)->size() == 3);
      auto limited = store->runs("a", kT0, kT0 + 1h, 2);
      REQUIRE(limited->size() == 2);
      CHECK(limited->front().observed_at == kT0);  // oldest first
      CHECK(store->lastRun("nobody")->has_value() == false);
      CHECK(store->lastMeasuredRun("nobody")->has_value() == false);
      CHECK(*store->countRuns() == 4);
    }
  }
}

TEST_CASE("store contract: latestRuns keeps the newest and returns them oldest first",
          "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      for (int i = 0; i < 10; ++i)
        REQUIRE(store->recordRun(run("a", kT0 + i * 1min, ProbeStatus::Pass, i)).ok());
      auto latest = store->latestRuns("a", kT0, kT0 + 8min, 3);
      REQUIRE(latest.ok());
      REQUIRE(latest->size() == 3);
      CHECK((*latest)[0].value == 5);
      CHECK((*latest)[2].value == 7);
      CHECK(store->latestRuns("a", kT0, kT0 + 1h, 100)->size() == 10);
      CHECK(store->latestRuns("b", kT0, kT0 + 1h, 100)->empty());
    }
  }
}

TEST_CASE("store contract: retention prunes old runs", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      for (int i = 0; i < 10; ++i)
        REQUIRE(store->recordRun(run("a", kT0 + i * 1h, ProbeStatus::Pass, i)).ok());
      auto pruned = store->pruneBefore(kT0 + 4h);
      REQUIRE(pruned.ok());
      CHECK(*pruned == 4);
      CHECK(*store->countRuns() == 6);
      CHECK(store->runs("a", kT0, kT0 + 1000h)->front().observed_at == kT0 + 4h);
      CHECK(*store->pruneBefore(kT0 + 4h) == 0);
    }
  }
}

TEST_CASE("store contract: the store survives reopening", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      {
        auto store = db.open();
        REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 1)).ok());
        REQUIRE(store->saveSnapshot("k", {{"x", 1}}));
      }
      auto store = db.open();
      CHECK(*store->countRuns() == 1);
      CHECK((*store->loadSnapshot("k"))->at("x") == 1);
      CHECK(store->ping().ok());
    }
  }
}

TEST_CASE("store contract: snapshots are saved, replaced and loaded", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      CHECK_FALSE(store->loadSnapshot("p:schema")->has_value());
      REQUIRE(store->saveSnapshot("p:schema", {{"cols", {"a", "b"}}, {"é", "ü"}}));
      REQUIRE(store->saveSnapshot("p:baseline", nlohmann::json::array({1.5, 2})));
      REQUIRE(store->saveSnapshot("p:schema", {{"cols", {"a"}}}));
      auto s = store->loadSnapshot("p:schema");
      REQUIRE(s.ok());
      REQUIRE(s->has_value());
      CHECK(**s == nlohmann::json{{"cols", {"a"}}});
      CHECK(**store->loadSnapshot("p:baseline") == nlohmann::json::array({1.5, 2}));
    }
  }
}

TEST_CASE("store contract: describe and ping", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      CHECK(store->ping().ok());
      const std::string d = store->describe();
      CHECK_THAT(d, Catch::StartsWith(db.postgres() ? "postgres" : "sqlite://"));
      if (db.postgres()) {  // the test server's password is masked
        CHECK_THAT(d, Catch::Contains(":<redacted>@"));
        CHECK_THAT(d, !Catch::Contains(":datawatch-test@"));
      }
    }
  }
}

TEST_CASE(
    "store contract: the outbox commits with the alert state, keeps order and never "
    "queues an id twice",
    "[store][contract][outbox]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      const std::string alert = "probe:p:warning";
      REQUIRE(store->commitAlerts(
          "alerts/firing", nlohmann::json::array({"a"}),
          {item("d1", "hook", alert, kT0), item("d2", "hook", alert, kT0 + 1min),
           item("d3", "slack", alert, kT0)}));
      CHECK((*store->loadSnapshot("alerts/firing"))->at(0) == "a");
      // The same delivery id again (a replayed plan) is not queued twice.
      REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array(),
                                  {item("d1", "hook", alert, kT0)}));
      CHECK(*store->countNotifications() == 3);
      CHECK((*store->loadSnapshot("alerts/firing"))->empty());
      auto due = *store->dueNotifications("hook", kT0, 10);
      REQUIRE(due.size() == 1);
      CHECK(due[0].delivery_id == "d1");
      CHECK(due[0].notifier == "hook");
      CHECK(due[0].alert_id == alert);
      CHECK(due[0].payload["text"] == "héllo");
      CHECK(due[0].attempts == 0);
      CHECK(due[0].created_at == kT0);
      CHECK(due[0].next_attempt == kT0);
      CHECK(*store->nextNotificationAt("hook") == kT0);
      REQUIRE(store->rescheduleNotification(due[0].seq, 1, kT0 + 5min, "HTTP 500"));
      // d2 (same alert) waits behind d1: nothing of "hook" is due before d1's retry.
      CHECK(*store->nextNotificationAt("hook") == kT0 + 5min);
      CHECK(store->dueNotifications("hook", kT0 + 2min, 10)->empty());
      due = *store->dueNotifications("hook", kT0 + 5min, 10);
      REQUIRE(due.size() == 2);
      CHECK(due[0].delivery_id == "d1");  // queue order, not due order
      CHECK(due[0].seq < due[1].seq);
      CHECK(due[0].attempts == 1);
      CHECK(due[0].last_error == "HTTP 500");
      CHECK(store->dueNotifications("hook", kT0 + 5min, 1)->size() == 1);  // limit
      REQUIRE(store->removeNotification(due[0].seq));
      CHECK(*store->countNotifications() == 2);
      CHECK(*store->queuedNotifiers() == std::vector<std::string>{"hook", "slack"});
      CHECK_FALSE(store->nextNotificationAt("nobody")->has_value());
      // Reopened (a restart): everything is still there.
      store.reset();
      store = db.open();
      CHECK(*store->countNotifications() == 2);
      CHECK((*store->dueNotifications("slack", kT0, 10))[0].delivery_id == "d3");
    }
  }
}

TEST_CASE(
    "store contract: an alert's later notification waits behind its earlier one, "
    "other alerts' do not",
    "[store][contract][outbox]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      // firing(a), firing(b), resolved(a): the firing of a fails once.
      REQUIRE(
          store->commitAlerts("alerts/firing", nlohmann::json::array(),
                              {item("fire-a", "hook", "a", kT0), item("fire-b", "hook", "b", kT0),
                               item("resolve-a", "hook", "a", kT0 + 10s)}));
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
  }
}

TEST_CASE("store contract: commitAlerts is all or nothing", "[store][contract][outbox]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array({"before"}), {}));
      // Saving the incident fails: the alert state and the outbox item must not stay.
      if (db.postgres()) {
        db.exec(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN RAISE EXCEPTION 'boom'; END$$; "
            "CREATE TRIGGER no_incidents BEFORE INSERT ON incidents "
            "FOR EACH ROW EXECUTE FUNCTION boom()");
      } else {
        db.exec(
            "CREATE TRIGGER no_incidents BEFORE INSERT ON incidents "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END");
      }
      auto st = store->commitAlerts("alerts/firing", nlohmann::json::array({"after"}),
                                    {item("d1", "hook", "a", kT0)},
                                    {incident("INC-20261126-1", "open", kT0)});
      REQUIRE_FALSE(st.ok());
      CHECK((*store->loadSnapshot("alerts/firing"))->at(0) == "before");
      CHECK(*store->countNotifications() == 0);
      CHECK_FALSE(store->loadIncident("INC-20261126-1")->has_value());
      CHECK_FALSE(StateStore::isFenced(st));
      // The store still works after the failed transaction.
      db.exec("DROP TRIGGER no_incidents" + std::string(db.postgres() ? " ON incidents" : ""));
      REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array({"after"}),
                                  {item("d1", "hook", "a", kT0)},
                                  {incident("INC-20261126-1", "open", kT0)}));
      CHECK(*store->countNotifications() == 1);
      CHECK((*store->loadIncident("INC-20261126-1"))->at("status") == "open");
    }
  }
}

TEST_CASE("store contract: incidents are saved, replaced, listed newest first and numbered",
          "[store][contract][incidents]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      CHECK(*store->nextIncidentSeq("20261126") == 1);
      REQUIRE(store->saveIncident(incident("INC-20261126-1", "open", kT0)));
      REQUIRE(store->saveIncident(incident("INC-20261126-2", "open", kT0 + 1h)));
      REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array(), {},
                                  {incident("INC-20261127-1", "open", kT0 + 25h)}));
      // Replaced: resolved now.
      auto resolved = incident("INC-20261126-1", "resolved", kT0);
      resolved["resolved_at"] = formatRfc3339(kT0 + 2h);
      REQUIRE(store->saveIncident(resolved));
      CHECK(*store->nextIncidentSeq("20261126") == 3);
      CHECK(*store->nextIncidentSeq("20261127") == 2);
      CHECK(*store->nextIncidentSeq("20261128") == 1);

      auto all = store->loadIncidents(false, 10);
      REQUIRE(all.ok());
      REQUIRE(all->size() == 3);
      CHECK((*all)[0]["id"] == "INC-20261127-1");
      CHECK((*all)[1]["id"] == "INC-20261126-2");
      CHECK((*all)[2]["id"] == "INC-20261126-1");
      CHECK((*all)[2]["resolved_at"] == formatRfc3339(kT0 + 2h));
      CHECK(store->loadIncidents(false, 2)->size() == 2);
      auto open = *store->loadIncidents(true, 10);
      REQUIRE(open.size() == 2);
      for (const auto& doc : open) CHECK(doc["status"] == "open");
      auto one = store->loadIncident("INC-20261126-1");
      REQUIRE(one.ok());
      REQUIRE(one->has_value());
      CHECK((**one)["status"] == "resolved");
      CHECK_FALSE(store->loadIncident("INC-nope")->has_value());
    }
  }
}

TEST_CASE("store contract: the run feed returns every committed run once", "[store][contract]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      REQUIRE(store->recordRun(run("old", kT0, ProbeStatus::Pass, 1)).ok());
      auto start = store->runFeed("", 10);
      REQUIRE(start.ok());
      CHECK(start->runs.empty());  // "" is the feed's end: the old run is not in it
      std::string cursor = start->cursor;
      CHECK(drainFeed(*store, cursor, 10, 0).empty());
      for (int i = 0; i < 5; ++i)
        REQUIRE(store->recordRun(run("p", kT0 + i * 1s, ProbeStatus::Pass, i)).ok());
      auto got = drainFeed(*store, cursor, 2, 5);
      REQUIRE(got.size() == 5);
      for (int i = 0; i < 5; ++i) CHECK(got[static_cast<size_t>(i)].value == i);
      // Nothing new: an empty page, the cursor stays usable.
      CHECK(drainFeed(*store, cursor, 2, 0).empty());
      REQUIRE(store->recordRun(run("p", kT0 + 10s, ProbeStatus::Fail, 10)).ok());
      got = drainFeed(*store, cursor, 2, 1);
      REQUIRE(got.size() == 1);
      CHECK(got[0].status == ProbeStatus::Fail);
      auto bad = store->runFeed("not a cursor", 10);
      REQUIRE_FALSE(bad.ok());
      CHECK_THAT(bad.error(), Catch::Contains("malformed cursor"));
    }
  }
}

TEST_CASE("store contract: concurrent writers lose nothing", "[store][contract][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      auto cursor = store->runFeed("", 10)->cursor;
      std::vector<std::thread> threads;
      std::atomic<int> failures{0};
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i) {
            const std::string p = "p" + std::to_string(t);
            if (!store->recordRun(run(p, kT0 + i * 1s, ProbeStatus::Pass, i)).ok()) ++failures;
            if (i % 10 == 0 &&
                !store->commitAlerts("alerts/" + p, {{"i", i}},
                                     {item(p + "-" + std::to_string(i), "hook", p, kT0)}))
              ++failures;
          }
        });
      }
      for (auto& th : threads) th.join();
      CHECK(failures == 0);
      CHECK(*store->countRuns() == 400);
      CHECK(*store->countNotifications() == 40);
      auto fed = drainFeed(*store, cursor, 64, 400);
      CHECK(fed.size() == 400);
      std::set<std::pair<std::string, double>> distinct;
      for (const auto& r : fed) distinct.emplace(r.probe, *r.value);
      CHECK(distinct.size() == 400);
    }
  }
}
