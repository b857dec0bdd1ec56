// A PostgreSQL server that freezes (stops answering, closes nothing) behind a
// FreezableProxy: a probe's query still ends at its deadline, and one frozen
// cancel request does not hold the source's later deadlines (PQcancel has no
// timeout; PostgresSource sends it from a thread of its own).

#include <catch2/catch.hpp>

#include <unistd.h>
#include <future>
#include <thread>

#include "probes/postgres_source.hpp"
#include "tests/support/freezable_proxy.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

// Backends of the test server running a statement that mentions `tag` (read
// directly, not through the proxy).
int running(const std::string& dsn, const std::string& tag) {
  SystemClock clock;
  PostgresSource direct("direct", {dsn}, 1, 10s, clock);
  auto r = direct.query(
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 "
      "AND pid <> pg_backend_pid()",
      {std::string("%" + tag + "%")}, {});
  REQUIRE(r.ok());
  return static_cast<int>(std::get<int64_t>(r->rows.at(0).at(0)));
}

// A PostgresSource on the test server through a FreezableProxy.
struct FrozenRig {
  explicit FrozenRig(int max_connections)
      : dsn(testPgDsn()),
        proxy(FreezableProxy::dsnPort(dsn)),
        src("pg", {proxy.dsnThrough(dsn)}, max_connections, 60s, clock) {}
  const std::string dsn;
  SystemClock clock;
  FreezableProxy proxy;
  PostgresSource src;
};

}  // namespace

TEST_CASE("a frozen PostgreSQL server holds no query past its deadline",
          "[postgres][timeout][frozen][threads]") {
  FrozenRig rig(3);
  const std::string& dsn = rig.dsn;
  SystemClock& clock = rig.clock;
  FreezableProxy& proxy = rig.proxy;
  PostgresSource& src = rig.src;
  const std::string pid = std::to_string(getpid());
  // Three pooled connections: two statements held on the server while a third runs.
  {
    const std::string warm = "SELECT 1 AS dw_warm_" + pid + " FROM pg_sleep(3)";
    auto w1 = std::async(std::launch::async, [&] { return src.query(warm, {}, {}); });
    auto w2 = std::async(std::launch::async, [&] { return src.query(warm, {}, {}); });
    REQUIRE(eventually([&] { return running(dsn, "dw_warm_" + pid) == 2; }, 10s));
    REQUIRE(src.query("SELECT 1", {}, {}).ok());
    REQUIRE(w1.get().ok());
    REQUIRE(w2.get().ok());
  }
  REQUIRE(proxy.accepted() == 3);
  // Two statements running on the server when it freezes: the first's cancel
  // request then hangs, and the second's deadline must still be met.
  const std::string tag = "dw_frozen_" + pid;
  const std::string sql = "SELECT 1 AS " + tag + " FROM pg_sleep(20)";
  const auto t0 = std::chrono::steady_clock::now();
  auto alone = [&](Duration left) {
    QueryLimits limits;
    limits.deadline = clock.monotonic() + left;
    return std::async(std::launch::async,
                      [&src, &sql, limits] { return src.query(sql, {}, limits); });
  };
  auto first = alone(4s);
  auto second = alone(4500ms);
  REQUIRE(eventually([&] { return running(dsn, tag) == 2; }, 10s));
  proxy.freeze();
  // A pipeline sent to the frozen server: cut at kPipelineBudget. (Its bytes
  // wait in the proxy and reach the server at the thaw, maybe after its cancel
  // request: a short sleep of its own tag.)
  const std::string piped_sql = "SELECT 2 AS dw_frozen_piped_" + pid + " FROM pg_sleep(2)";
  const std::vector<SqlValue> none;
  QueryLimits piped_limits;
  piped_limits.generated = true;
  piped_limits.deadline = clock.monotonic() + 10s;
  const auto p0 = std::chrono::steady_clock::now();
  auto piped = std::async(std::launch::async, [&] {
    auto a = src.queryBatch({{&piped_sql, &none, piped_limits}, {&piped_sql, &none, piped_limits}});
    return std::make_pair(std::move(a), std::chrono::steady_clock::now() - p0);
  });
  const bool piped_ended = piped.wait_for(6s) == std::future_status::ready;
  const bool first_ended = first.wait_for(6s) == std::future_status::ready;
  const bool second_ended = second.wait_for(6s) == std::future_status::ready;
  const auto took = std::chrono::steady_clock::now() - t0;
  proxy.thaw();  // lets a query that did not end finish (its cancel gets through)
  const auto r1 = first.get();
  const auto r2 = second.get();
  const auto [answers, piped_took] = piped.get();
  INFO("took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
               << " ms, the pipeline "
               << std::chrono::duration_cast<std::chrono::milliseconds>(piped_took).count()
               << " ms");
  CHECK(first_ended);
  CHECK(second_ended);
  CHECK(piped_ended);
  CHECK(took < 6500ms);
  for (const auto* r : {&r1, &r2}) {
    REQUIRE_FALSE(r->ok());
    CHECK_THAT(r->error(), Catch::Contains("deadline exceeded"));
  }
  // Sent, then cut (an unsent batch would return at once): left to be asked alone.
  CHECK(piped_took >= PostgresSource::kPipelineBudget - 100ms);
  CHECK(piped_took < PostgresSource::kPipelineBudget + 1s);
  REQUIRE(answers.size() == 2);
  CHECK_FALSE(answers[0].has_value());
  CHECK_FALSE(answers[1].has_value());
  // Thawed, the source answers again through the proxy (new connections).
  auto after = src.query("SELECT 41 + 1", {}, {});
  REQUIRE(after.ok());
  CHECK(std::get<int64_t>(after->rows.at(0).at(0)) == 42);
}

TEST_CASE("a stop interrupts a query on a frozen PostgreSQL server at once",
          "[postgres][cancel][frozen][threads]") {
  FrozenRig rig(1);
  REQUIRE(rig.src.query("SELECT 1", {}, {}).ok());  // a pooled connection
  const std::string tag = "dw_frozen_stop_" + std::to_string(getpid());
  std::atomic<bool> cancelled{false};
  QueryLimits limits;
  limits.cancelled = &cancelled;
  limits.deadline = rig.clock.monotonic() + 30s;  // SET LOCAL statement_timeout: ~30 s
  auto q = std::async(std::launch::async, [&] {
    return rig.src.query("SELECT 1 AS " + tag + " FROM pg_sleep(20)", {}, limits);
  });
  REQUIRE(eventually([&] { return running(rig.dsn, tag) == 1; }, 10s));
  rig.proxy.freeze();
  CHECK(q.wait_for(300ms) == std::future_status::timeout);  // frozen: no answer
  const auto flipped = std::chrono::steady_clock::now();
  cancelled = true;
  const bool ended = q.wait_for(3s) == std::future_status::ready;
  const auto took = std::chrono::steady_clock::now() - flipped;
  rig.proxy.thaw();
  const auto r = q.get();
  INFO("returned " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                   << " ms after the flag");
  CHECK(ended);
  CHECK(took < 500ms);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("shutting down"));
  // Thawed, the cancel request waiting on the cancel thread reaches the
  // server: the statement (20 s of sleep, 30 s of timeout) ends now.
  CHECK(eventually([&] { return running(rig.dsn, tag) == 0; }, 3s));
}

TEST_CASE("a server that freezes while a connection is set up holds no run past its deadline",
          "[postgres][timeout][frozen][threads]") {
  FrozenRig rig(1);
  rig.proxy.freezeAtNextQuery();  // the session set-up's first statement
  QueryLimits limits;
  limits.deadline = rig.clock.monotonic() + 1s;
  auto q = std::async(std::launch::async, [&] { return rig.src.query("SELECT 1", {}, limits); });
  const bool ended = q.wait_for(5s) == std::future_status::ready;
  rig.proxy.thaw();
  const auto r = q.get();
  CHECK(ended);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("deadline exceeded while connecting"));
  // The run's own deadline, not the server's failure: no backoff, the next
  // run connects at once.
  auto next = rig.src.query("SELECT 41 + 1", {}, {});
  INFO((next.ok() ? std::string() : next.error()));
  REQUIRE(next.ok());
  CHECK(std::get<int64_t>(next->rows.at(0).at(0)) == 42);
}
