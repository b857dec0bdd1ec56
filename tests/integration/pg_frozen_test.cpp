// A PostgreSQL server that freezes (stops answering, closes nothing) behind a
// FreezableProxy: a probe's query still ends at its deadline, and one frozen
// cancel request does not hold the source's later deadlines (PQcancel has no
// timeout; PostgresSource sends it from a thread of its own).

#include <catch2/catch.hpp>

#include <future>
#include <regex>
#include <thread>

#include "probes/postgres_source.hpp"
#include "tests/support/freezable_proxy.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

// The test server's port in its DSN (postgresql://user:pw@host:port/db).
int dsnPort(const std::string& dsn) {
  std::smatch m;
  REQUIRE(std::regex_search(dsn, m, std::regex(R"(@[^:/@]+:(\d+)/)")));
  return std::stoi(m[1]);
}

// The DSN with the proxy's port instead, and a short connect timeout.
std::string viaProxy(const std::string& dsn, int port) {
  std::smatch m;
  REQUIRE(std::regex_search(dsn, m, std::regex(R"(@[^:/@]+:(\d+)/)")));
  std::string out = m.prefix().str() + m.str().substr(0, m.str().size() - m[1].length() - 1) +
                    std::to_string(port) + "/" + m.suffix().str();
  return out + (out.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=2";
}

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

}  // namespace

TEST_CASE("a frozen PostgreSQL server holds no query past its deadline",
          "[postgres][timeout][frozen][threads]") {
  const std::string dsn = testPgDsn();
  SystemClock clock;
  FreezableProxy proxy(dsnPort(dsn));
  PostgresSource src("pg", {viaProxy(dsn, proxy.port())}, 2, 60s, clock);
  // Two pooled connections: two statements at once.
  {
    auto a =
        std::async(std::launch::async, [&] { return src.query("SELECT pg_sleep(0.3)", {}, {}); });
    auto b = src.query("SELECT pg_sleep(0.3)", {}, {});
    REQUIRE(b.ok());
    REQUIRE(a.get().ok());
  }
  REQUIRE(proxy.accepted() == 2);
  const std::string tag = "dw_frozen_" + std::to_string(getpid());
  const std::string sql = "SELECT 1 AS " + tag + " FROM pg_sleep(20)";
  proxy.freeze();
  const auto t0 = std::chrono::steady_clock::now();
  // One query alone (its connection's cancel request then hangs on the frozen
  // server) and, half a second later, a pipeline on the other connection: its
  // deadline must still be met.
  QueryLimits first;
  first.generated = false;
  first.deadline = clock.monotonic() + 1s;
  auto alone = std::async(std::launch::async, [&] { return src.query(sql, {}, first); });
  const std::vector<SqlValue> none;
  QueryLimits second;
  second.generated = true;
  second.deadline = clock.monotonic() + 1500ms;
  auto piped = std::async(std::launch::async, [&] {
    return src.queryBatch({{&sql, &none, second}, {&sql, &none, second}});
  });
  const bool alone_ended = alone.wait_for(6s) == std::future_status::ready;
  const bool piped_ended = piped.wait_for(6s) == std::future_status::ready;
  const auto took = std::chrono::steady_clock::now() - t0;
  proxy.thaw();  // lets a query that did not end finish (its cancel gets through)
  const auto r = alone.get();
  const auto answers = piped.get();
  INFO("took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(alone_ended);
  CHECK(piped_ended);
  CHECK(took < 2500ms);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("deadline exceeded"));
  REQUIRE(answers.size() == 2);
  CHECK_FALSE(answers[0].has_value());  // cut: left to be asked on their own
  CHECK_FALSE(answers[1].has_value());
  // Thawed, the cancel requests reach the server: nothing of ours sleeps on.
  CHECK(eventually([&] { return running(dsn, tag) == 0; }, 5s));
  // And the source answers again through the proxy (new connections).
  auto after = src.query("SELECT 41 + 1", {}, {});
  REQUIRE(after.ok());
  CHECK(std::get<int64_t>(after->rows.at(0).at(0)) == 42);
}

TEST_CASE("a stop interrupts a query on a frozen PostgreSQL server at once",
          "[postgres][cancel][frozen][threads]") {
  const std::string dsn = testPgDsn();
  SystemClock clock;
  FreezableProxy proxy(dsnPort(dsn));
  PostgresSource src("pg", {viaProxy(dsn, proxy.port())}, 1, 60s, clock);
  REQUIRE(src.query("SELECT 1", {}, {}).ok());  // a pooled connection
  proxy.freeze();
  std::atomic<bool> cancelled{false};
  QueryLimits limits;
  limits.cancelled = &cancelled;
  limits.deadline = clock.monotonic() + 30s;
  auto q =
      std::async(std::launch::async, [&] { return src.query("SELECT pg_sleep(20)", {}, limits); });
  CHECK(q.wait_for(300ms) == std::future_status::timeout);  // frozen: no answer
  const auto flipped = std::chrono::steady_clock::now();
  cancelled = true;
  const bool ended = q.wait_for(3s) == std::future_status::ready;
  const auto took = std::chrono::steady_clock::now() - flipped;
  proxy.thaw();
  const auto r = q.get();
  INFO("returned " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                   << " ms after the flag");
  CHECK(ended);
  CHECK(took < 500ms);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("shutting down"));
}
