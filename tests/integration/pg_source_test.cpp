// PostgresSource against the real test PostgreSQL: every connection read-only
// whatever the path (issue 15, defect 4), and running statements cancelled at the
// probe's deadline and when the agent stops (defect 5).

#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "core/time_format.hpp"
#include "probes/postgres_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

int64_t count(PostgresSource& src, const std::string& table) {
  auto r = src.query("SELECT count(*) FROM " + table, {}, {});
  REQUIRE(r.ok());
  return std::get<int64_t>(r->rows.at(0).at(0));
}

}  // namespace

TEST_CASE("built-in probes on PostgreSQL cannot write through a view's function",
          "[postgres][security][readonly]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn, "dw_src");
  const std::string n = s.name();
  // A view whose columns call a function that inserts a row per call.
  pgExec(dsn, "SET search_path TO " + n +
                  ";"
                  "CREATE TABLE written (x int);"
                  "CREATE TABLE src (id int, ts timestamptz, v int, c text);"
                  "INSERT INTO src SELECT g, timestamptz '2026-11-26 09:00Z' - g * interval "
                  "'90 minutes', g % 50, 'c' || (g % 3) FROM generate_series(1, 300) g;"
                  "CREATE FUNCTION " +
                  n + ".w(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO " + n +
                  ".written VALUES (x); RETURN x; END $$;"
                  "CREATE FUNCTION " +
                  n +
                  ".wts(t timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN INSERT "
                  "INTO " +
                  n +
                  ".written VALUES (0); RETURN t; END $$;"
                  "CREATE VIEW vw AS SELECT id, " +
                  n + ".wts(ts) AS ts, " + n + ".w(v) AS v, c FROM src;");
  const std::string vw = n + ".vw";
  ProbeHarness h(
      loadTestConfig(
          "sources:\n  pg: {type: postgres, dsn: \"${PGDSN}\"}\nprobes:\n"
          "  - {name: fresh, type: freshness, source: pg, table: " +
              vw +
              ", column: ts, max_age: 1d}\n"
              "  - {name: vol, type: volume, source: pg, table: " +
              vw +
              ", column: ts, window: 2d, min: 1}\n"
              "  - {name: vals, type: values, source: pg, table: " +
              vw +
              ", column: v, min: 0}\n"
              "  - {name: drift, type: drift, source: pg, table: " +
              vw +
              ", column: v, time_column: ts, window: 3d, baseline: {window: 7d, lag: 3d}, "
              "method: psi, bins: 4}\n",
          "/tmp/pg-readonly.yaml", {{"PGDSN", dsn}}),
      *parseTimestamp("2026-11-26T10:00:00Z"));
  for (size_t i = 0; i < 4; ++i) {
    const auto r = h.run(i);
    INFO(r.probe << ": " << r.message);
    CHECK(r.status == ProbeStatus::Error);
    CHECK_THAT(r.message, Catch::Contains("read-only transaction"));
  }
  SystemClock clock;
  PostgresSource check("check", {dsn}, 1, 30s, clock);
  CHECK(count(check, n + ".written") == 0);
  // Any path, a fresh connection included: the session default is read-only.
  auto ro = check.query("SHOW default_transaction_read_only", {}, builtQuery({}));
  REQUIRE(ro.ok());
  CHECK(std::get<std::string>(ro->rows.at(0).at(0)) == "on");
}

// Deadlines and cancellation need the server's real elapsed time: SystemClock.
TEST_CASE("a PostgreSQL statement is cancelled at the probe's deadline",
          "[postgres][timeout][threads]") {
  SystemClock clock;
  // statement_timeout near the deadline: only the watcher can stop it on time.
  PostgresSource src("pg", {testPgDsn()}, 2, 2s, clock);
  for (const bool generated : {false, true}) {
    QueryLimits limits;
    limits.generated = generated;
    limits.deadline = clock.monotonic() + 1500ms;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = src.query("SELECT pg_sleep(40)", {}, limits);
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO("generated " << generated << ", took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("deadline exceeded"));
    CHECK(took < 1800ms);
    CHECK(src.query("SELECT 1", {}, {}).ok());  // the source still answers
  }
  // A user query with a 1 s deadline (the SET LOCAL path).
  QueryLimits limits;
  limits.deadline = clock.monotonic() + 1s;
  const auto t0 = std::chrono::steady_clock::now();
  auto r =
      PostgresSource("pg", {testPgDsn()}, 1, 60s, clock).query("SELECT pg_sleep(40)", {}, limits);
  CHECK_FALSE(r.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
}

TEST_CASE("a PostgreSQL statement is cancelled within 100 ms when the agent stops",
          "[postgres][cancel][threads]") {
  SystemClock clock;
  PostgresSource src("pg", {testPgDsn()}, 1, 60s, clock);
  for (const bool generated : {false, true}) {
    std::atomic<bool> cancelled{false};
    QueryLimits limits;
    limits.generated = generated;
    limits.cancelled = &cancelled;
    limits.deadline = clock.monotonic() + 10s;
    std::chrono::steady_clock::time_point flipped;
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);  // the statement is running by then
      flipped = std::chrono::steady_clock::now();
      cancelled = true;
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = src.query("SELECT pg_sleep(40)", {}, limits);
    const auto end = std::chrono::steady_clock::now();
    stopper.join();
    INFO(
        "generated " << generated << ", returned "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(end - flipped).count()
                     << " ms after the flag");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("cancelled"));
    CHECK(end - t0 < 2s);
    CHECK(end - flipped < 150ms);
    auto next = src.query("SELECT 41 + 1", {}, {});  // the next query on the source works
    REQUIRE(next.ok());
    CHECK(std::get<int64_t>(next->rows.at(0).at(0)) == 42);
  }
}

TEST_CASE("text from a SQL_ASCII PostgreSQL database comes back as valid UTF-8",
          "[postgres][utf8]") {
  const auto dsn = testPgDsn();
  const auto slash = dsn.rfind('/');
  REQUIRE(slash != std::string::npos);
  const std::string db = "dw_ascii" + std::to_string(getpid());
  pgExec(dsn, "CREATE DATABASE " + db +
                  " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  struct Drop {
    std::string dsn, db;
    ~Drop() {
      try {
        pgExec(dsn, "DROP DATABASE " + db);
      } catch (const std::exception&) {
      }
    }
  } drop{dsn, db};
  SystemClock clock;
  PostgresSource src("pg", {dsn.substr(0, slash + 1) + db}, 1, 30s, clock);
  // SQL_ASCII stores and sends any byte: 0xFF reaches the client as is.
  for (const bool generated : {false, true}) {
    QueryLimits limits;
    limits.generated = generated;
    auto r = src.query("SELECT E'ba\\xFFd' AS s", {}, limits);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    CHECK(std::get<std::string>(r->rows.at(0).at(0)) ==
          "ba\xEF\xBF\xBD"
          "d");
  }
}

TEST_CASE(
    "PostgreSQL values map to their SqlValue: NaN and Infinity are doubles, what a double cannot "
    "hold is text",
    "[postgres][values]") {
  SystemClock clock;
  PostgresSource src("pg", {testPgDsn()}, 1, 10s, clock);
  for (const bool generated : {true, false}) {
    QueryLimits limits;
    limits.generated = generated;
    auto r = src.query(
        "SELECT 'NaN'::float8, 'Infinity'::numeric, '-Infinity'::float4, 1e400::numeric, "
        "'-9223372036854775808'::int8, true, false, NULL::int4, 2.5::numeric, 'é'::text AS \"ö\"",
        {}, limits);
    INFO((r.ok() ? std::string() : r.error()));
    REQUIRE(r.ok());
    const auto& row = r->rows.at(0);
    CHECK(std::isnan(std::get<double>(row.at(0))));
    CHECK(std::get<double>(row.at(1)) == std::numeric_limits<double>::infinity());
    CHECK(std::get<double>(row.at(2)) == -std::numeric_limits<double>::infinity());
    CHECK(std::get<std::string>(row.at(3)) == "1" + std::string(400, '0'));
    CHECK(std::get<int64_t>(row.at(4)) == std::numeric_limits<int64_t>::min());
    CHECK(std::get<int64_t>(row.at(5)) == 1);
    CHECK(std::get<int64_t>(row.at(6)) == 0);
    CHECK(std::holds_alternative<std::monostate>(row.at(7)));
    CHECK(std::get<double>(row.at(8)) == 2.5);
    CHECK(std::get<std::string>(row.at(9)) == "é");
    CHECK(r->columns.at(9) == "ö");
  }
}

TEST_CASE(
    "a statement that leaves its connection busy (COPY) is an error and the connection is not "
    "reused",
    "[postgres][pool]") {
  SystemClock clock;
  PostgresSource src("pg", {testPgDsn()}, 1, 10s, clock);
  for (const bool generated : {true, false}) {
    QueryLimits limits;
    limits.generated = generated;
    auto copy = src.query("COPY (SELECT 1) TO STDOUT", {}, limits);
    REQUIRE_FALSE(copy.ok());
    CHECK_THAT(copy.error(), Catch::Contains("unsupported result: PGRES_COPY_OUT"));
    auto next = src.query("SELECT 41 + 1", {}, limits);
    REQUIRE(next.ok());
    CHECK(std::get<int64_t>(next->rows.at(0).at(0)) == 42);
  }
}
