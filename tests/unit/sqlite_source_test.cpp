// SqliteSource: its connection pool under concurrent workers, cancellation, and
// UTF-8 at the probe boundary (issue 15, defects 2, 5 and 10).

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "probes/sqlite_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::SqliteDb;
using datawatch::testing::TempDir;

namespace {

// Counts to 100 million: many seconds unless the deadline interrupts it.
const char* kLongQuery =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000000) "
    "SELECT count(*) FROM n";

const std::string kReplacement = "\xEF\xBF\xBD";

}  // namespace

// Deadlines and cancellation need the SQL engine's real elapsed time: SystemClock.
TEST_CASE("a SQLite query keeps its deadline while another worker shares the pool",
          "[probes][sqlite][timeout][threads]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c INTEGER); INSERT INTO t VALUES (1)");
  SystemClock clock;
  // One pooled connection: the two workers hand it to each other all the time.
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 1, clock);
  std::atomic<bool> stop{false};
  std::atomic<int> quick_ok{0};
  std::thread other([&] {
    while (!stop.load())
      if (src.query("SELECT c FROM t", {}, {}).ok()) ++quick_ok;
  });
  Duration slowest{0};
  int timed_out = 0;
  for (int i = 0; i < 40; ++i) {
    QueryLimits limits;
    limits.deadline = clock.monotonic() + 50ms;
    const auto t0 = clock.monotonic();
    auto r = src.query(kLongQuery, {}, limits);
    slowest = std::max(slowest, std::chrono::duration_cast<Duration>(clock.monotonic() - t0));
    if (!r.ok() && r.error().find("timed out") != std::string::npos) ++timed_out;
  }
  stop = true;
  other.join();
  INFO("slowest " << slowest.count() << " ms");
  CHECK(timed_out == 40);
  CHECK(slowest < 1s);
  CHECK(quick_ok > 0);
}

TEST_CASE("a SQLite query stops promptly when the agent cancels it",
          "[probes][sqlite][cancel][threads]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c INTEGER)");
  SystemClock clock;
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 1, clock);
  std::atomic<bool> cancelled{false};
  QueryLimits limits;
  limits.cancelled = &cancelled;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);  // the query is running by then
    cancelled = true;
  });
  const auto t0 = clock.monotonic();
  auto r = src.query(kLongQuery, {}, limits);
  const auto took = clock.monotonic() - t0;
  stopper.join();
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("cancelled"));
  CHECK(took < 500ms);
  CHECK(src.query("SELECT 1", {}, {}).ok());
}

TEST_CASE("SQLite text and column names come back as valid UTF-8", "[probes][sqlite][utf8]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (s TEXT); INSERT INTO t VALUES (CAST(X'6261FF64' AS TEXT)), ('ok é');");
  SystemClock clock;
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 1, clock);
  auto r = src.query("SELECT s AS \"col\xC0\xAF\" FROM t ORDER BY rowid", {}, {});
  REQUIRE(r.ok());
  CHECK(r->columns.at(0) == "col" + kReplacement + kReplacement);
  CHECK(std::get<std::string>(r->rows.at(0).at(0)) == "ba" + kReplacement + "d");
  CHECK(std::get<std::string>(r->rows.at(1).at(0)) == "ok é");  // valid text unchanged
}

TEST_CASE("a probe query that opens a transaction is refused and leaves no snapshot behind",
          "[probes][sqlite][security]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c INTEGER); INSERT INTO t VALUES (1);");
  SystemClock clock;
  // One pooled connection: a transaction left open on it would freeze what
  // every later query sees.
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 1, clock);
  for (const char* sql : {"BEGIN", "BEGIN DEFERRED TRANSACTION", "SAVEPOINT probe"}) {
    INFO(sql);
    auto r = src.query(sql, {}, {});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("opens a transaction"));
  }
  REQUIRE(std::get<int64_t>(src.query("SELECT count(*) FROM t", {}, {})->rows[0][0]) == 1);
  db.exec("INSERT INTO t VALUES (2)");  // a writer the agent must not block
  auto after = src.query("SELECT count(*) FROM t", {}, {});
  REQUIRE(after.ok());
  CHECK(std::get<int64_t>(after->rows[0][0]) == 2);
}
