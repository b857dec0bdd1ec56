// Probes and the PostgreSQL source against a real PostgreSQL (scripts/test.sh
// starts one; tests that stop the database start their own).

#include <catch2/catch.hpp>

#include <random>

#include "agent/runtime.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "probes/postgres_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

// The built-in probes against source "pg" (the DSN through ${PGDSN}, as users write it).
struct PgHarness : ProbeHarness {
  PgHarness(const std::string& dsn, const std::string& probes_yaml)
      : ProbeHarness(
            loadTestConfig(
                "sources:\n  pg: {type: postgres, dsn: \"${PGDSN}\"}\nprobes:\n" + probes_yaml,
                "/tmp/pg.yaml", {{"PGDSN", dsn}}),
            kNow) {}
};

}  // namespace

TEST_CASE("postgres freshness on timestamptz, timestamp and epoch columns",
          "[postgres][freshness]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  s.exec(
      "CREATE TABLE orders (id bigint, updated_at timestamptz);"
      "CREATE INDEX ON orders (updated_at);"
      "INSERT INTO orders VALUES (1, '2026-11-26 08:00:00+00'), (2, '2026-11-26 11:20:00+02'), (3, "
      "NULL);"
      "CREATE TABLE naive (loaded_at timestamp); INSERT INTO naive VALUES ('2026-11-26 09:59:00');"
      "CREATE TABLE epoch (ts bigint); INSERT INTO epoch VALUES (1795687200 - 7200), (1795687200 - "
      "45);"
      "CREATE TABLE future (t timestamptz); INSERT INTO future VALUES ('2026-11-26 09:00:00Z'), "
      "('2026-11-27 00:00:00Z');"
      "CREATE TABLE empty (t timestamptz);");
  const std::string t = s.name() + ".";
  PgHarness h(dsn, "  - {name: orders, type: freshness, source: pg, table: " + t +
                       "orders, column: updated_at, max_age: 30m}\n"
                       "  - {name: naive, type: freshness, source: pg, table: " +
                       t +
                       "naive, column: loaded_at, max_age: 30s}\n"
                       "  - {name: epoch, type: freshness, source: pg, table: " +
                       t +
                       "epoch, column: ts, max_age: 1m}\n"
                       "  - {name: future, type: freshness, source: pg, table: " +
                       t +
                       "future, column: t, max_age: 2h}\n"
                       "  - {name: empty, type: freshness, source: pg, table: " +
                       t + "empty, column: t, max_age: 2h}\n");
  auto orders = h.run(0);  // 11:20+02 = 09:20Z
  INFO(orders.message);
  CHECK(orders.status == ProbeStatus::Fail);
  CHECK(orders.value == Approx(40 * 60));
  CHECK(orders.details["newest"] == "2026-11-26T09:20:00Z");
  auto naive = h.run(1);  // timestamp without time zone is read as UTC
  CHECK(naive.status == ProbeStatus::Fail);
  CHECK(naive.value == Approx(60));
  auto epoch = h.run(2);
  CHECK(epoch.status == ProbeStatus::Pass);
  CHECK(epoch.value == Approx(45));
  auto future = h.run(3);
  CHECK(future.status == ProbeStatus::Pass);
  CHECK(future.value == Approx(3600));
  CHECK(future.details["future_newest"] == "2026-11-27T00:00:00Z");
  auto empty = h.run(4);
  CHECK(empty.status == ProbeStatus::Fail);
  CHECK(empty.message == "no rows with a t value");
}

TEST_CASE("postgres freshness with a schedule", "[postgres][freshness]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  s.exec(
      "CREATE TABLE daily (loaded_at timestamptz); INSERT INTO daily VALUES ('2026-11-25 "
      "06:10:00Z');");
  PgHarness h(dsn, "  - {name: d, type: freshness, source: pg, table: " + s.name() +
                       ".daily, column: loaded_at, schedule: \"0 6 * * *\", grace: 2h}\n");
  h.clock.advanceTo(*parseTimestamp("2026-11-26T08:30:00Z"));
  auto r = h.run();
  CHECK(r.status == ProbeStatus::Fail);
  CHECK(r.threshold["expected_after"] == "2026-11-26T06:00:00Z");
  s.exec("INSERT INTO daily VALUES ('2026-11-26 06:05:00Z')");
  CHECK(h.run().status == ProbeStatus::Pass);
}

TEST_CASE("postgres volume: all rows and a window", "[postgres][volume]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  // Row i created i minutes before 10:00, i = 1..100.
  s.exec(
      "CREATE TABLE orders (id int, created_at timestamptz);"
      "INSERT INTO orders SELECT i, timestamptz '2026-11-26 10:00:00Z' - i * interval '1 minute' "
      "FROM generate_series(1, 100) i;");
  PgHarness h(dsn, "  - {name: all_rows, type: volume, source: pg, table: " + s.name() +
                       ".orders, min: 100}\n"
                       "  - {name: recent, type: volume, source: pg, table: " +
                       s.name() + ".orders, column: created_at, window: 30m, min: 31}\n");
  auto all = h.run(0);
  CHECK(all.status == ProbeStatus::Pass);
  CHECK(all.value == 100);
  auto recent = h.run(1);
  CHECK(recent.status == ProbeStatus::Fail);
  CHECK(recent.value == 30);
}

TEST_CASE("postgres errors are clear results: missing table and column, permission, hostile names",
          "[postgres][errors]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  const std::string role = "dw_noselect_" + s.name();
  s.exec(
      "CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);"
      "CREATE TABLE secret (t timestamptz); INSERT INTO secret VALUES (now());"
      "CREATE ROLE " +
      role +
      " LOGIN PASSWORD 'pw-noselect';"
      "GRANT USAGE ON SCHEMA " +
      s.name() + " TO " + role + ";");
  const std::string t = s.name() + ".";
  PgHarness h(
      dsn, "  - {name: no_table, type: freshness, source: pg, table: " + t +
               "nope, column: t, max_age: 1h}\n"
               "  - {name: no_column, type: freshness, source: pg, table: " +
               t +
               "victims, column: nope, max_age: 1h}\n"
               "  - {name: hostile, type: volume, source: pg, table: '" +
               t +
               "victims\"; DROP TABLE victims; --', min: 1}\n"
               "  - {name: hostile_col, type: freshness, source: pg, table: " +
               t + "victims, column: 'id) FROM victims; DROP TABLE victims; --', max_age: 1h}\n");
  auto nt = h.run(0);
  CHECK(nt.status == ProbeStatus::Error);
  CHECK_THAT(nt.message, Catch::Contains("relation \"" + s.name() + ".nope\" does not exist"));
  auto nc = h.run(1);
  CHECK(nc.status == ProbeStatus::Error);
  CHECK_THAT(nc.message, Catch::Contains("column \"nope\" does not exist"));
  CHECK(h.run(2).status == ProbeStatus::Error);
  CHECK(h.run(3).status == ProbeStatus::Error);
  // Nothing was executed: the table is still there with its row.
  PgHarness check(dsn,
                  "  - {name: v, type: volume, source: pg, table: " + t + "victims, min: 1}\n");
  auto v = check.run();
  CHECK(v.status == ProbeStatus::Pass);
  CHECK(v.value == 1);

  // A role that may not read the table.
  std::string role_dsn = dsn;
  role_dsn.replace(role_dsn.find("postgres:datawatch-test@"),
                   std::string("postgres:datawatch-test@").size(), role + ":pw-noselect@");
  PgHarness denied(role_dsn, "  - {name: p, type: freshness, source: pg, table: " + t +
                                 "secret, column: t, max_age: 1h}\n");
  auto d = denied.run();
  CHECK(d.status == ProbeStatus::Error);
  CHECK_THAT(d.message, Catch::StartsWith("permission denied"));
  pgExec(dsn, "DROP OWNED BY " + role + "; DROP ROLE " + role);
}

TEST_CASE("postgres: a write is refused, a slow query is cancelled by the statement timeout",
          "[postgres][errors]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  s.exec("CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
  SystemClock clock;
  PostgresSource src("pg", config::PostgresSourceConfig{dsn}, 2, 300ms, clock);
  auto del = src.query("DELETE FROM " + s.name() + ".t", {}, {});
  REQUIRE_FALSE(del.ok());
  CHECK_THAT(del.error(), Catch::StartsWith("query refused: probes may only read"));
  auto cte = src.query(
      "WITH x AS (INSERT INTO " + s.name() + ".t VALUES (2) RETURNING 1) SELECT count(*) FROM x",
      {}, {});
  REQUIRE_FALSE(cte.ok());
  auto count = src.query("SELECT count(*) FROM " + s.name() + ".t WHERE id = $1", {int64_t{1}}, {});
  REQUIRE(count.ok());
  CHECK(std::get<int64_t>(count->rows[0][0]) == 1);  // nothing was written
  const auto t0 = clock.monotonic();
  auto slow = src.query("SELECT pg_sleep(5)", {}, {});
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error() == "query timed out (statement_timeout) and was cancelled");
  CHECK(clock.monotonic() - t0 < 3s);
  // The deadline of the probe shortens the statement timeout too.
  PostgresSource src2("pg", config::PostgresSourceConfig{dsn}, 2, 30s, clock);
  QueryLimits limits;
  limits.deadline = clock.monotonic() + 200ms;
  auto slow2 = src2.query("SELECT pg_sleep(5)", {}, limits);
  REQUIRE_FALSE(slow2.ok());
  CHECK_THAT(slow2.error(), Catch::Contains("timed out"));
  // User SQL cannot loosen the session for the queries after it on the same connection.
  PostgresSource one("pg", config::PostgresSourceConfig{dsn}, 1, 300ms, clock);
  auto flip = one.query(
      "SELECT set_config('default_transaction_read_only', 'off', false) || "
      "set_config('statement_timeout', '0', false)",
      {}, {});
  REQUIRE(flip.ok());
  QueryLimits built;
  built.generated = true;
  auto after = one.query(
      "SELECT current_setting('default_transaction_read_only') || ' ' || "
      "current_setting('statement_timeout')",
      {}, built);
  REQUIRE(after.ok());
  CHECK(std::get<std::string>(after->rows[0][0]) == "on 300ms");
  // Even a one-statement query runs read-only.
  auto sneaky = one.query("INSERT INTO " + s.name() + ".t VALUES (3)", {}, built);
  REQUIRE_FALSE(sneaky.ok());
  CHECK_THAT(sneaky.error(), Catch::StartsWith("query refused: probes may only read"));
  // Sessions say who they are, and run in UTC.
  auto who = src.query(
      "SELECT current_setting('application_name') || ' ' || current_setting('TimeZone')", {}, {});
  REQUIRE(who.ok());
  CHECK(std::get<std::string>(who->rows[0][0]) == "datawatch UTC");
  // freshness's max(column) is one index descent, not a scan.
  pgExec(
      dsn,
      "CREATE TABLE " + s.name() + ".ev (at timestamptz); CREATE INDEX ON " + s.name() +
          ".ev (at); INSERT INTO " + s.name() +
          ".ev SELECT now() - i * interval '1 second' FROM generate_series(1, 20000) i; ANALYZE " +
          s.name() + ".ev;");
  auto plan = src.query("EXPLAIN SELECT max(\"at\") FROM \"" + s.name() + "\".\"ev\"", {}, {});
  REQUIRE(plan.ok());
  std::string plan_text;
  for (const auto& row : plan->rows) plan_text += std::get<std::string>(row[0]) + "\n";
  INFO(plan_text);
  CHECK(plan_text.find("Index Only Scan Backward") != std::string::npos);
  CHECK(plan_text.find("Seq Scan") == std::string::npos);
  // A parameter is a value, never SQL.
  auto inj = src.query("SELECT count(*) FROM " + s.name() + ".t WHERE id::text = $1",
                       {std::string("1' OR '1'='1")}, {});
  REQUIRE(inj.ok());
  CHECK(std::get<int64_t>(inj->rows[0][0]) == 0);
}

TEST_CASE("postgres: wrong password and refused connections are errors without secrets",
          "[postgres][errors]") {
  const auto dsn = testPgDsn();
  std::string bad = dsn;
  bad.replace(bad.find(":datawatch-test@"), std::string(":datawatch-test@").size(),
              ":wrong-pw-123@");
  SystemClock clock;
  PostgresSource wrong("pg", config::PostgresSourceConfig{bad}, 1, 5s, clock);
  auto r = wrong.query("SELECT 1", {}, {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("password authentication failed"));
  CHECK_THAT(r.error(), !Catch::Contains("wrong-pw-123"));
  PostgresSource refused(
      "pg", config::PostgresSourceConfig{"postgresql://u:pw-xyz-987@127.0.0.1:1/db"}, 1, 5s, clock);
  auto c = refused.query("SELECT 1", {}, {});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error(), Catch::StartsWith("cannot connect to PostgreSQL"));
  CHECK_THAT(c.error(), !Catch::Contains("pw-xyz-987"));
  // Backing off: the next attempt within the backoff does not hit the network.
  auto again = refused.query("SELECT 1", {}, {});
  CHECK_THAT(again.error(), Catch::Contains("retrying in"));
  CHECK(PostgresSource::effectiveDsn("postgresql://h/db") ==
        "postgresql://h/db?application_name=datawatch&connect_timeout=10");
  CHECK(PostgresSource::effectiveDsn("host=h dbname=db connect_timeout=3") ==
        "host=h dbname=db connect_timeout=3 application_name=datawatch");
}

TEST_CASE("postgres stopped mid-run and restarted: errors, then recovery",
          "[postgres][errors][restart]") {
  PgServer server;
  pgExec(server.dsn(),
         "CREATE TABLE t (at timestamptz); INSERT INTO t VALUES ('2026-11-26 09:50:00Z');");
  PgHarness h(server.dsn(),
              "  - {name: p, type: freshness, source: pg, table: t, column: at, max_age: 1h}\n");
  REQUIRE(h.run().status == ProbeStatus::Pass);  // a pooled connection now exists
  server.stop();
  auto down = h.run();
  CHECK(down.status == ProbeStatus::Error);
  INFO(down.message);
  CHECK((down.message.find("lost the connection") != std::string::npos ||
         down.message.find("cannot connect") != std::string::npos));
  auto still = h.run();
  CHECK(still.status == ProbeStatus::Error);
  server.restart();
  h.clock.advance(2min);  // past any connect backoff
  auto back = h.run();
  INFO(back.message);
  CHECK(back.status == ProbeStatus::Pass);
  CHECK(back.value == Approx(12 * 60));
}

TEST_CASE("postgres volume on a date column: 1d is today only", "[postgres][volume][dates]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn);
  // Rows on each of the last 3 days (the harness starts at 2026-11-26 10:00Z): 1, 2 and 4.
  s.exec(
      "CREATE TABLE daily (d date);"
      "INSERT INTO daily VALUES ('2026-11-24'), ('2026-11-25'), ('2026-11-25'),"
      " ('2026-11-26'), ('2026-11-26'), ('2026-11-26'), ('2026-11-26');");
  PgHarness h(dsn, "  - {name: day, type: volume, source: pg, table: " + s.name() +
                       ".daily, column: d, window: 1d, min: 1}\n"
                       "  - {name: two, type: volume, source: pg, table: " +
                       s.name() + ".daily, column: d, window: 2d, min: 1}\n");
  auto day = h.run(0);
  INFO(day.message);
  CHECK(day.value == 4);  // not 6: yesterday is outside a 1-day window
  CHECK(day.details["from_date"] == "2026-11-26");
  CHECK(h.run(1).value == 6);
}
