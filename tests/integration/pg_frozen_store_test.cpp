// The PostgreSQL state store and the fleet database freezing (answering
// nothing, closing nothing) behind a FreezableProxy: every call ends within
// its limit (2 x statement_timeout + 1 s) as "unreachable", and the store and
// the fleet go on once the server answers again. Before, a frozen store held
// the agent's alert commits for as long as it stayed frozen.

#include <catch2/catch.hpp>

#include <future>

#include "store/pg_pool.hpp"
#include "store/postgres_state_store.hpp"
#include "tests/integration/fleet_support.hpp"
#include "tests/support/freezable_proxy.hpp"
#include "tests/support/state_store_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;
const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

OutboxItem queued(const std::string& id) {
  return hookItem(id, kT0);
}

// The delivery ids queued for notifier "hook", oldest first.
std::vector<std::string> queuedIds(StateStore& store) {
  auto due = store.dueNotifications("hook", kT0 + 24h, 10);
  REQUIRE(due.ok());
  std::vector<std::string> ids;
  for (const auto& it : *due) ids.push_back(it.delivery_id);
  return ids;
}

// The store through `proxy`: statement_timeout 500 ms (a call's limit: 2 x
// 500 ms + 1 s), one connection.
std::unique_ptr<PostgresStateStore> storeThrough(const FreezableProxy& proxy,
                                                 const StoreUnderTest& db) {
  PostgresStateStore::Options options;
  options.statement_timeout = 500ms;
  options.pool_size = 1;
  auto store = PostgresStateStore::open(proxy.dsnThrough(db.url()), options);
  REQUIRE(store.ok());
  return std::move(store).value();
}

// A pool on `dsn` with statement_timeout 500 ms (a call's limit: 2 s without
// an answer) and one connection.
std::unique_ptr<PgPool> pool500ms(const std::string& dsn) {
  PgPoolOptions options;
  options.statement_timeout = 500ms;
  options.size = 1;
  return std::make_unique<PgPool>(dsn, options);
}

// One round trip's worth of call: the pool connects if it must.
Status ping(PgPool& pool) {
  return pool.run("ping", [](pqxx::connection&) { return Status::Ok(); });
}

// Runs `call` on its own thread and returns its result and how long it took.
// A call still going after `bound` (the class this file tests) thaws the proxy,
// so the stuck call ends and the test fails instead of hanging.
template <class Call>
auto timed(FreezableProxy& proxy, std::chrono::milliseconds bound, Call call) {
  const auto start = Steady::now();
  auto f = std::async(std::launch::async, call);
  const bool ended = f.wait_for(bound) == std::future_status::ready;
  if (!ended) proxy.thaw();
  auto result = f.get();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
  INFO("the call took " << took.count() << " ms");
  CHECK(ended);
  return std::make_pair(std::move(result), took);
}

}  // namespace

TEST_CASE("a frozen state store fails an alert commit within its limit, and the store goes on",
          "[store][postgres][frozen][threads]") {
  StoreUnderTest db("postgres");
  FreezableProxy proxy(FreezableProxy::dsnPort(db.url()));
  auto store = storeThrough(proxy, db);
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 1}}, {queued("d1")}));

  proxy.freeze();
  auto [st, took] = timed(proxy, 6s, [&] {
    return store->commitAlerts("alerts/firing", {{"v", 2}}, {queued("d2")});
  });
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::StartsWith("state store unreachable (write (alerts))") &&
                               Catch::Contains("the server answered nothing for 2s"));
  CHECK(took >= 1900ms);
  CHECK(took < 4s);
  // While it stays frozen, the next call fails too (a new connection meets
  // connect_timeout), and within its limit.
  auto [again, took_again] = timed(proxy, 6s, [&] { return store->ping(); });
  CHECK_FALSE(again.ok());
  CHECK(took_again < 4s);

  proxy.thaw();
  REQUIRE(eventually([&] { return store->ping().ok(); }, 10s));
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 3}}, {queued("d3")}));
  CHECK((**store->loadSnapshot("alerts/firing"))["v"] == 3);
  // The cut commit never committed (its transaction ended with its connection).
  CHECK(queuedIds(*store) == std::vector<std::string>{"d1", "d3"});
}

TEST_CASE("a state store frozen as COMMIT is sent reports the commit's outcome unknown",
          "[store][postgres][frozen][threads]") {
  StoreUnderTest db("postgres");
  FreezableProxy proxy(FreezableProxy::dsnPort(db.url()));
  auto store = storeThrough(proxy, db);
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 1}}, {queued("d1")}));

  proxy.freezeAtNextQuery("COMMIT");
  auto [st, took] = timed(proxy, 6s, [&] {
    return store->commitAlerts("alerts/firing", {{"v", 2}}, {queued("d2")});
  });
  REQUIRE_FALSE(st.ok());
  // Not "answered nothing": the COMMIT may have reached the server.
  CHECK_THAT(st.message(), Catch::Contains("commit outcome unknown"));
  CHECK(took >= 1900ms);
  CHECK(took < 4s);

  // The held COMMIT reaches the server at the thaw, after the server ended the
  // session (idle in its transaction past 500 ms): rolled back here; a server
  // process that froze with the COMMIT in its buffer would commit it. Either
  // way the agent commits the same alerts again after an error, and the
  // outbox holds an item it already has once only.
  proxy.thaw();
  REQUIRE(eventually([&] { return store->ping().ok(); }, 10s));
  const auto after = (**store->loadSnapshot("alerts/firing"))["v"].get<int>();
  CHECK((after == 1 || after == 2));
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 2}}, {queued("d2")}));
  REQUIRE(store->commitAlerts("alerts/firing", {{"v", 2}}, {queued("d2")}));
  CHECK((**store->loadSnapshot("alerts/firing"))["v"] == 2);
  CHECK(queuedIds(*store) == std::vector<std::string>{"d1", "d2"});
}

TEST_CASE("a state store frozen during a new session's set-up fails the call within its limit",
          "[store][postgres][frozen][threads]") {
  StoreUnderTest db("postgres");
  FreezableProxy proxy(FreezableProxy::dsnPort(db.url()));
  auto pool = pool500ms(proxy.dsnThrough(db.url()));
  proxy.freezeAtNextQuery("SET statement_timeout");  // the session set-up, after the handshake
  auto [st, took] = timed(proxy, 6s, [&] { return ping(*pool); });
  CHECK_THAT(st.message(), Catch::Contains("cannot connect") &&
                               Catch::Contains("the server answered nothing for 2s"));
  CHECK(took >= 1900ms);
  CHECK(took < 4s);
  proxy.thaw();
  CHECK(eventually([&] { return ping(*pool).ok(); }, 10s));
}

TEST_CASE("a state store call keeps its own error when the ROLLBACK after it is cut",
          "[store][postgres][frozen][threads]") {
  StoreUnderTest db("postgres");
  FreezableProxy proxy(FreezableProxy::dsnPort(db.url()));
  auto pool = pool500ms(proxy.dsnThrough(db.url()));
  auto [st, took] = timed(proxy, 6s, [&] {
    return pool->run("write (alerts)", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("SELECT 1");
      proxy.freezeAtNextQuery("ROLLBACK");  // sent by ~work: the server freezes then
      return Status::Error("fenced: epoch 7 is over");
    });
  });
  CHECK(took >= 1900ms);                             // the ROLLBACK was cut
  CHECK(st.message() == "fenced: epoch 7 is over");  // not "answered nothing"
  proxy.thaw();
  CHECK(eventually([&] { return ping(*pool).ok(); }, 10s));
}

TEST_CASE("a state store call of many statements, each answered, is not cut at the limit",
          "[store][postgres][frozen]") {
  StoreUnderTest db("postgres");
  auto pool = pool500ms(db.url());
  const auto start = Steady::now();
  Status st = pool->run("slow", [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    for (int i = 0; i < 9; ++i) tx.exec("SELECT pg_sleep(0.3)");
    return Status::Ok();
  });
  INFO(st.message());
  CHECK(st.ok());
  CHECK(Steady::now() - start >= 2700ms);  // longer than the limit, never silent that long
}

TEST_CASE(
    "a frozen fleet database fails a heartbeat within its limit, and the lease lapses locally",
    "[ha][postgres][frozen][threads]") {
  FleetDb db;
  FreezableProxy proxy(FreezableProxy::dsnPort(db.dsn()));
  FleetOptions o = db.options("r1", 2s);
  o.dsn = proxy.dsnThrough(db.dsn());
  o.statement_timeout = 500ms;  // a call's limit: 2 s
  auto opened = Fleet::open(o, std::make_shared<spdlog::logger>("fleet"));
  REQUIRE(opened.ok());
  auto fleet = std::move(opened).value();
  auto first = fleet->beat();
  REQUIRE(first.ok());
  REQUIRE(first->leader);

  proxy.freeze();
  auto [beat, took] = timed(proxy, 6s, [&] { return fleet->beat(); });
  REQUIRE_FALSE(beat.ok());
  CHECK_THAT(beat.error(), Catch::Contains("fleet heartbeat failed") &&
                               Catch::Contains("the server answered nothing for 2s"));
  CHECK(took >= 1900ms);
  CHECK(took < 4s);
  // The lease (2 s, local deadline 1.6 s after the last renewal was sent) is over.
  CHECK_FALSE(fleet->leaderValidNow());

  proxy.thaw();
  REQUIRE(eventually([&] { return fleet->beat().ok(); }, 10s));
  REQUIRE(eventually(
      [&] {
        auto b = fleet->beat();
        return b.ok() && b->leader;
      },
      10s));
  CHECK(fleet->leaderValidNow());
}
