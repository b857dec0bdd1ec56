// PostgreSQL-only behaviour of the state store: migrations under the advisory
// lock, fencing, the run feed across out-of-order commits, reconnects, timeouts,
// batched pruning, secrets in errors. The backend-neutral contract is
// state_store_contract_test.cpp.

#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <future>
#include <thread>

#include "core/time_format.hpp"
#include "store/postgres_state_store.hpp"
#include "tests/support/state_store_under_test.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::pgDsnWithSchema;
using datawatch::testing::StoreUnderTest;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

ProbeResult run(const std::string& probe, TimePoint at) {
  return testing::storedRun(probe, at);
}

OutboxItem item(const std::string& id) {
  return testing::hookItem(id, kT0);
}

int64_t pgCount(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec(sql)[0][0].as<int64_t>();
}

std::string schemaDsn(const StoreUnderTest& db) {
  return pgDsnWithSchema(db.adminDsn(), db.schema());
}

}  // namespace

TEST_CASE("postgres store: two stores opened at once on an empty database migrate once",
          "[store][postgres][threads]") {
  StoreUnderTest db("postgres");
  auto open = [&] { return openStateStore(db.url()); };
  auto a = std::async(std::launch::async, open);
  auto b = std::async(std::launch::async, open);
  auto sa = a.get();
  auto sb = b.get();
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  const int latest = PostgresStateStore::latestSchemaVersion();
  CHECK(pgCount(schemaDsn(db), "SELECT count(*) FROM schema_migrations") == latest);
  CHECK(pgCount(schemaDsn(db), "SELECT max(version) FROM schema_migrations") == latest);
  CHECK(pgCount(schemaDsn(db), "SELECT count(*) FROM dw_leader") == 1);  // migration 2 ran once
  REQUIRE((*sa)->recordRun(run("p", kT0)).ok());
  CHECK(*(*sb)->countRuns() == 1);
}

TEST_CASE("postgres store: a database at a newer schema version is refused", "[store][postgres]") {
  StoreUnderTest db("postgres");
  db.open().reset();
  db.exec("INSERT INTO schema_migrations (version) VALUES (999)");
  auto again = openStateStore(db.url());
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error(), Catch::Contains("newer than this build understands"));
  CHECK_THAT(again.error(), !Catch::Contains("datawatch-test"));
}

TEST_CASE("postgres store: fenced writes succeed only at the leader's epoch",
          "[store][postgres][fence]") {
  StoreUnderTest db("postgres");
  auto store = db.open();
  db.exec("UPDATE dw_leader SET epoch = 3 WHERE id = 1");
  store->fence(3);
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 1}}, {item("d1"), item("d2")}));
  REQUIRE(store->saveIncident({{"id", "INC-20261126-1"}, {"status", "open"}}));
  auto due = store->dueNotifications("hook", kT0, 10);
  REQUIRE(due.ok());
  REQUIRE(due->size() == 2);
  REQUIRE(store->rescheduleNotification((*due)[0].seq, 1, kT0, "HTTP 500"));
  REQUIRE(store->removeNotification((*due)[1].seq));

  // A takeover: epoch 4. Every leader write of epoch 3 fails and changes nothing.
  db.exec("UPDATE dw_leader SET epoch = 4 WHERE id = 1");
  auto check_all_fenced = [&] {
    auto st = store->commitAlerts("alerts/firing", {{"v", 2}}, {item("d3")},
                                  {{{"id", "INC-20261126-2"}, {"status", "open"}}});
    CHECK(StateStore::isFenced(st));
    CHECK(StateStore::isFenced(store->saveIncident({{"id", "INC-20261126-1"}, {"status", "x"}})));
    CHECK(StateStore::isFenced(store->rescheduleNotification((*due)[0].seq, 9, kT0, "late")));
    CHECK(StateStore::isFenced(store->removeNotification((*due)[0].seq)));
    auto claim = store->dueNotifications("hook", kT0, 10);
    REQUIRE_FALSE(claim.ok());
    CHECK(StateStore::isFenced(claim.status()));
    CHECK((**store->loadSnapshot("alerts/firing"))["v"] == 1);
    CHECK(*store->countNotifications() == 1);
    CHECK((**store->loadIncident("INC-20261126-1"))["status"] == "open");
    CHECK_FALSE(store->loadIncident("INC-20261126-2")->has_value());
  };
  check_all_fenced();
  CHECK_THAT(store->removeNotification(1).message(), Catch::Contains("epoch is 4"));
  // A follower (nullopt) is always fenced, even at the current epoch.
  store->fence(std::nullopt);
  check_all_fenced();
  // Reads and runs are not fenced.
  CHECK(store->recordRun(run("p", kT0)).ok());
  CHECK(store->nextNotificationAt("hook")->has_value());
  // Leader again at epoch 4.
  store->fence(4);
  CHECK(store->removeNotification((*due)[0].seq).ok());
  CHECK(*store->countNotifications() == 0);
  // A store that was never fenced checks nothing (one process, the CLI).
  auto unfenced = db.open();
  CHECK(unfenced->saveIncident({{"id", "INC-20261126-3"}, {"status", "open"}}).ok());
}

TEST_CASE("postgres store: a takeover waits for a fenced write in flight",
          "[store][postgres][fence][threads]") {
  StoreUnderTest db("postgres");
  auto store = db.open();
  db.exec("UPDATE dw_leader SET epoch = 3 WHERE id = 1");
  store->fence(3);
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 1}}, {}));
  // Hold the snapshot row so the next commitAlerts stops after its fence check.
  pqxx::connection blocker(schemaDsn(db));
  pqxx::work hold(blocker);
  hold.exec("SELECT 1 FROM snapshots WHERE key = 'alerts/firing' FOR UPDATE");
  auto write = std::async(std::launch::async, [&] {
    return store->commitAlerts("alerts/firing", {{"v", 2}}, {item("in-flight")});
  });
  REQUIRE(datawatch::testing::eventually(
      [&] {
        return pgCount(db.adminDsn(),
                       "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                       "'datawatch' AND wait_event_type = 'Lock'") > 0;
      },
      5s));
  // The in-flight write holds FOR SHARE on the leader row: the takeover waits.
  pqxx::connection taker(schemaDsn(db));
  std::string sqlstate;
  try {
    pqxx::work tx(taker);
    tx.exec("SET LOCAL lock_timeout = '300ms'; UPDATE dw_leader SET epoch = 4 WHERE id = 1");
    tx.commit();
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
  }
  CHECK(sqlstate == "55P03");  // lock_not_available: it had to wait
  hold.abort();
  REQUIRE(write.get().ok());  // committed at epoch 3, before the takeover
  {
    pqxx::work tx(taker);
    tx.exec("UPDATE dw_leader SET epoch = 4 WHERE id = 1");
    tx.commit();
  }
  CHECK(StateStore::isFenced(store->commitAlerts("alerts/firing", {{"v", 3}}, {})));
  CHECK((**store->loadSnapshot("alerts/firing"))["v"] == 2);
  CHECK(*store->countNotifications() == 1);
}

TEST_CASE("postgres store: the run feed never skips a run whose transaction commits late",
          "[store][postgres]") {
  StoreUnderTest db("postgres");
  auto store = db.open();
  std::string cursor = store->runFeed("", 10)->cursor;
  pqxx::connection early(schemaDsn(db));
  pqxx::work tx(early);
  tx.exec(
      "INSERT INTO probe_runs (probe, type, source, target, status, observed_at_ms) "
      "VALUES ('early', 'volume', 'db', 't', 'pass', 1)");
  REQUIRE(store->recordRun(run("late", kT0)).ok());
  // The later run is committed, but an earlier transaction is still open: the page
  // stops before it.
  auto page = store->runFeed(cursor, 10);
  REQUIRE(page.ok());
  CHECK(page->runs.empty());
  cursor = page->cursor;
  tx.commit();
  std::vector<std::string> seen;
  REQUIRE(datawatch::testing::eventually(
      [&] {
        auto p = store->runFeed(cursor, 1);
        if (!p) return false;
        cursor = p->cursor;
        for (const auto& r : p->runs) seen.push_back(r.probe);
        return seen.size() >= 2;
      },
      10s));
  CHECK(seen == std::vector<std::string>{"early", "late"});
  CHECK(store->runFeed(cursor, 10)->runs.empty());
}

TEST_CASE("postgres store: a stranger's long transaction holds the run feed back only briefly",
          "[store][postgres]") {
  StoreUnderTest db("postgres");
  (void)db.open();  // migrated
  PostgresStateStore::Options opts;
  opts.feed_txn_age = 300ms;
  auto store = PostgresStateStore::open(schemaDsn(db), opts);
  REQUIRE(store.ok());
  std::string cursor = (*store)->runFeed("", 10)->cursor;
  // Another session's transaction with a txid (an ETL job, an ANALYZE): open
  // for longer than any run's insert can be.
  pqxx::connection stranger(db.adminDsn());
  pqxx::work tx(stranger);
  tx.exec("SELECT pg_current_xact_id()");
  REQUIRE((*store)->recordRun(run("after", kT0)).ok());
  auto young = (*store)->runFeed(cursor, 10);
  REQUIRE(young.ok());
  CHECK(young->runs.empty());  // young: it might still be a run's insert
  cursor = young->cursor;
  std::vector<std::string> seen;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(datawatch::testing::eventually(
      [&] {
        auto p = (*store)->runFeed(cursor, 10);
        if (!p) return false;
        cursor = p->cursor;
        for (const auto& r : p->runs) seen.push_back(r.probe);
        return !seen.empty();
      },
      10s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(seen == std::vector<std::string>{"after"});
  CHECK(waited < 5s);  // released after feed_txn_age, not when the stranger ends
  tx.commit();
  CHECK((*store)->runFeed(cursor, 10)->runs.empty());
}

TEST_CASE("postgres store: the run feed orders transaction ids as numbers, not text",
          "[store][postgres]") {
  // A fresh cluster's ids cross from 3 to 4 digits within a test run: "1000"
  // sorts before "999" as text, and a feed cursor ordered so skipped runs.
  StoreUnderTest db("postgres");
  auto store = db.open();
  pqxx::connection c(schemaDsn(db));
  pqxx::nontransaction tx(c);
  tx.exec(
      "INSERT INTO probe_runs (txid, probe, type, source, target, status, observed_at_ms) VALUES "
      "('100'::xid8, 'hundred', 'volume', 'db', 't', 'pass', 1), "
      "('99'::xid8, 'ninety-nine', 'volume', 'db', 't', 'pass', 2)");
  std::vector<std::string> seen;
  std::string cursor = "0:0";
  for (int i = 0; i < 4; ++i) {
    auto page = store->runFeed(cursor, 1);
    REQUIRE(page.ok());
    cursor = page->cursor;
    for (const auto& r : page->runs) seen.push_back(r.probe);
  }
  CHECK(seen == std::vector<std::string>{"ninety-nine", "hundred"});
}

TEST_CASE("postgres store: pruning deletes in batches and returns the total", "[store][postgres]") {
  StoreUnderTest db("postgres");
  auto store = db.open();
  db.exec(
      "INSERT INTO probe_runs (probe, type, source, target, status, observed_at_ms) "
      "SELECT 'p', 'volume', 'db', 't', 'pass', g FROM generate_series(1, 12345) g");
  REQUIRE(store->recordRun(run("p", kT0)).ok());
  auto pruned = store->pruneBefore(kT0 - 1h);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 12345);
  CHECK(*store->countRuns() == 1);
}

TEST_CASE("postgres store: a statement past its timeout fails and the store goes on",
          "[store][postgres]") {
  StoreUnderTest db("postgres");
  PostgresStateStore::Options options;
  options.statement_timeout = 300ms;
  auto store = std::move(PostgresStateStore::open(db.url(), options)).value();
  REQUIRE(store->saveSnapshot("k", {{"v", 1}}));
  pqxx::connection blocker(schemaDsn(db));
  pqxx::work hold(blocker);
  hold.exec("SELECT 1 FROM snapshots WHERE key = 'k' FOR UPDATE");
  auto st = store->saveSnapshot("k", {{"v", 2}});
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("timed out"));
  hold.abort();
  CHECK(store->saveSnapshot("k", {{"v", 3}}).ok());
  CHECK((**store->loadSnapshot("k"))["v"] == 3);
}

TEST_CASE("postgres store: a wrong password is an error without the password",
          "[store][postgres]") {
  std::string dsn = datawatch::testing::testPgDsn();
  const auto at = dsn.find("datawatch-test@");
  REQUIRE(at != std::string::npos);
  dsn.replace(at, std::string("datawatch-test").size(), "wrong-secret-pw");
  auto s = openStateStore(dsn);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error(), Catch::Contains("cannot open state store"));
  CHECK_THAT(s.error(), Catch::Contains("password authentication failed"));
  CHECK_THAT(s.error(), !Catch::Contains("wrong-secret-pw"));
  auto refused = openStateStore("postgres://u:secretpw@127.0.0.1:1/state");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error(), !Catch::Contains("secretpw"));
}

TEST_CASE("postgres store: it reconnects by itself after the server restarts, with backoff",
          "[store][postgres][slow]") {
  datawatch::testing::PgServer server;
  SimulatedClock clock(kT0);
  PostgresStateStore::Options options;
  options.clock = &clock;
  auto store = std::move(PostgresStateStore::open(server.dsn(), options)).value();
  REQUIRE(store->recordRun(run("p", kT0)).ok());
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 1}}, {item("queued")}));
  server.stop();
  // The pooled connection is dead: an error, no throw, no password.
  auto st = store->recordRun(run("p", kT0 + 1s));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("unreachable"));
  CHECK_THAT(st.message(), !Catch::Contains("datawatch-test"));
  // The next call tries to connect, fails, and backs off.
  st = store->ping();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("retrying in") && Catch::Contains("cannot connect"));
  // During the backoff: fails fast, without a connect attempt.
  st = store->ping();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith("state store unreachable (retrying in"));
  CHECK_THAT(st.message(), !Catch::Contains("cannot connect"));
  clock.advance(150ms);
  st = store->ping();  // a second failed attempt: 200 ms now
  CHECK_THAT(st.message(), Catch::Contains("cannot connect"));
  server.restart();
  CHECK_FALSE(store->ping().ok());  // still backing off
  clock.advance(2s);
  CHECK(store->ping().ok());
  CHECK(store->recordRun(run("p", kT0 + 2s)).ok());
  CHECK(*store->countRuns() == 2);
  CHECK(*store->countNotifications() == 1);  // nothing queued is lost
}

TEST_CASE("postgres store: timing of recordRun and commitAlerts", "[.][store][postgres][timing]") {
  StoreUnderTest db("postgres");
  auto store = db.open();
  const int n = 1000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) REQUIRE(store->recordRun(run("p", kT0 + i * 1s)).ok());
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    REQUIRE(store->commitAlerts("alerts/firing", {{"i", i}}, {item("d" + std::to_string(i))},
                                {{{"id", "INC-20261126-1"}, {"status", "open"}}}));
  auto t2 = std::chrono::steady_clock::now();
  auto us = [&](auto d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / n;
  };
  WARN("recordRun: " << us(t1 - t0) << " us/run; commitAlerts (1 item, 1 incident): " << us(t2 - t1)
                     << " us/commit");
  store->fence(0);
  auto t3 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    REQUIRE(store->commitAlerts("alerts/firing", {{"i", i}}, {item("e" + std::to_string(i))}));
  auto t4 = std::chrono::steady_clock::now();
  WARN("commitAlerts fenced (1 item): " << us(t4 - t3) << " us/commit");
}
