#include <catch2/catch.hpp>

#include <thread>

#include "agent/runtime.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "probes/registry.hpp"
#include "probes/sqlite_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::SqliteDb;
using datawatch::testing::TempDir;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

// A config with one sqlite source "db" at `dir/w.db` plus `probes_yaml`.
std::shared_ptr<config::Config> configWith(const TempDir& dir, const std::string& probes_yaml) {
  return datawatch::testing::loadTestConfig(
      "sources:\n  db: {type: sqlite, path: ./w.db, busy_timeout: 200ms}\nprobes:\n" + probes_yaml,
      (dir / "datawatch.yaml").string());
}

using Harness = datawatch::testing::ProbeHarness;

}  // namespace

TEST_CASE("freshness reads ISO-8601 text with and without zones, and Unix seconds",
          "[probes][sqlite][freshness]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE iso (id INTEGER, t TEXT);"
      "INSERT INTO iso VALUES (1, '2026-11-26 08:00:00'), (2, '2026-11-26 09:40:00'), (3, NULL);"
      "CREATE INDEX iso_t ON iso (t);"
      "CREATE TABLE zoned (t TEXT); INSERT INTO zoned VALUES ('2026-11-26T11:30:00+02:00'), "
      "('2026-11-26T10:00:00+02:00');"
      "CREATE TABLE epoch (t INTEGER); INSERT INTO epoch VALUES (1795687200 - 7200), (1795687200 - "
      "90);"
      "CREATE TABLE \"odd \"\"name\" (\"ts col\" REAL); INSERT INTO \"odd \"\"name\" VALUES "
      "(1795687200.0 - 30.5);");
  Harness h(configWith(
      dir,
      "  - {name: iso, type: freshness, source: db, table: iso, column: t, max_age: 30m}\n"
      "  - {name: zoned, type: freshness, source: db, table: zoned, column: t, max_age: 5m}\n"
      "  - {name: epoch, type: freshness, source: db, table: epoch, column: t, max_age: 1m}\n"
      "  - {name: odd, type: freshness, source: db, table: 'odd \"name', column: 'ts col', "
      "max_age: 1m}\n"));
  auto iso = h.run(0);
  CHECK(iso.status == ProbeStatus::Pass);
  CHECK(iso.value == Approx(20 * 60));
  CHECK(iso.unit == "seconds");
  CHECK(iso.message == "age 20m <= 30m");
  CHECK(iso.threshold["max"] == 1800.0);
  CHECK(iso.details["newest"] == "2026-11-26T09:40:00Z");
  CHECK(iso.observed_at == kNow);

  auto zoned = h.run(1);  // 11:30+02:00 = 09:30Z
  CHECK(zoned.status == ProbeStatus::Fail);
  CHECK(zoned.value == Approx(30 * 60));
  CHECK(zoned.message == "age 30m > 5m");

  auto epoch = h.run(2);
  CHECK(epoch.status == ProbeStatus::Fail);
  CHECK(epoch.value == Approx(90));

  auto odd = h.run(3);  // hostile identifiers are quoted, not spliced
  CHECK(odd.status == ProbeStatus::Pass);
  CHECK(odd.value == Approx(30.5));
}

TEST_CASE("freshness uses the agent's clock, not the database's", "[probes][sqlite][freshness]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE t (c TEXT); INSERT INTO t VALUES ('2026-11-26T09:00:00Z'), "
      "('2026-11-26T12:00:00Z');");
  Harness h(configWith(
      dir, "  - {name: p, type: freshness, source: db, table: t, column: c, max_age: 2h}\n"));
  auto r = h.run();
  CHECK(r.value == Approx(3600));  // the 12:00 row is in the future at 10:00: not counted
  CHECK(r.details["future_newest"] == "2026-11-26T12:00:00Z");
  h.clock.advance(3h);
  r = h.run();
  CHECK(r.value == Approx(3600));  // 13:00 - 12:00
  CHECK(r.observed_at == kNow + 3h);
}

TEST_CASE("freshness with a schedule and grace models batch tables",
          "[probes][sqlite][freshness]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE daily (loaded_at TEXT); INSERT INTO daily VALUES ('2026-11-25T06:10:00Z');");
  auto cfg = configWith(dir,
                        "  - {name: p, type: freshness, source: db, table: daily, column: "
                        "loaded_at, schedule: \"0 6 * * *\", grace: 2h}\n");
  Harness h(cfg,
            *parseTimestamp("2026-11-26T07:59:00Z"));  // today's 06:00 load is still within grace
  auto r = h.run();
  CHECK(r.status == ProbeStatus::Pass);
  CHECK(r.threshold["expected_after"] == "2026-11-25T06:00:00Z");
  h.clock.advanceTo(*parseTimestamp("2026-11-26T08:01:00Z"));  // grace passed, no new load
  r = h.run();
  CHECK(r.status == ProbeStatus::Fail);
  CHECK(r.threshold["expected_after"] == "2026-11-26T06:00:00Z");
  CHECK_THAT(r.message, Catch::Contains("missing the load scheduled at 2026-11-26T06:00:00Z"));
  db.exec("INSERT INTO daily VALUES ('2026-11-26T08:30:00Z')");
  h.clock.advanceTo(*parseTimestamp("2026-11-26T09:00:00Z"));
  CHECK(h.run().status == ProbeStatus::Pass);
}

TEST_CASE("freshness errors and failures say what is wrong",
          "[probes][sqlite][freshness][errors]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE junk (c TEXT); INSERT INTO junk VALUES ('yesterday'), ('soon');"
      "CREATE TABLE mixed (c TEXT); INSERT INTO mixed VALUES ('n/a'), ('2026-11-26T09:59:00Z');"
      "CREATE TABLE empty (c TEXT);");
  Harness h(configWith(
      dir,
      "  - {name: junk, type: freshness, source: db, table: junk, column: c, max_age: 1h}\n"
      "  - {name: missing_table, type: freshness, source: db, table: nope, column: c, max_age: "
      "1h}\n"
      "  - {name: missing_column, type: freshness, source: db, table: junk, column: nope, max_age: "
      "1h}\n"
      "  - {name: empty, type: freshness, source: db, table: empty, column: c, max_age: 1h}\n"
      "  - {name: mixed, type: freshness, source: db, table: mixed, column: c, max_age: 1h}\n"));
  auto junk = h.run(0);
  CHECK(junk.status == ProbeStatus::Error);
  CHECK(junk.message ==
        "column c holds a value that is not a timestamp (newest: \"yesterday\"): store ISO-8601 "
        "text or Unix seconds");
  auto mt = h.run(1);
  CHECK(mt.status == ProbeStatus::Error);
  CHECK_THAT(mt.message, Catch::Contains("no such table: nope"));
  auto mc = h.run(2);
  CHECK(mc.status == ProbeStatus::Error);
  CHECK_THAT(mc.message, Catch::Contains("no such column: nope"));
  auto empty = h.run(3);
  CHECK(empty.status == ProbeStatus::Fail);
  CHECK(empty.message == "no rows with a c value");
  CHECK_FALSE(empty.value);
  auto mixed =
      h.run(4);  // text that sorts after every timestamp hides them: reported, not guessed around
  CHECK(mixed.status == ProbeStatus::Error);
  CHECK_THAT(mixed.message, Catch::Contains("\"n/a\""));
}

TEST_CASE("a missing database file and a locked database are errors, not crashes",
          "[probes][sqlite][errors]") {
  TempDir dir;
  {
    Harness h(configWith(dir, "  - {name: p, type: volume, source: db, table: t, min: 1}\n"));
    auto r = h.run();
    CHECK(r.status == ProbeStatus::Error);
    CHECK_THAT(r.message,
               Catch::Contains("cannot open SQLite database") && Catch::Contains("w.db"));
  }
  SqliteDb db(dir / "w.db");
  db.exec("PRAGMA journal_mode=DELETE; CREATE TABLE t (c TEXT); INSERT INTO t VALUES ('x');");
  db.exec("BEGIN EXCLUSIVE; INSERT INTO t VALUES ('y');");  // holds the lock
  Harness h(configWith(dir, "  - {name: p, type: volume, source: db, table: t, min: 1}\n"));
  auto r = h.run();
  CHECK(r.status == ProbeStatus::Error);
  CHECK_THAT(r.message, Catch::Contains("locked"));
  db.exec("COMMIT");
  r = h.run();
  CHECK(r.status == ProbeStatus::Pass);
  CHECK(r.value == 2);
}

TEST_CASE("probes cannot write, even through a custom filter", "[probes][sqlite][security]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c TEXT); INSERT INTO t VALUES ('2026-11-26T09:00:00Z');");
  SystemClock clock;
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 2, clock);
  auto r = src.query("DELETE FROM t", {}, {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("probes may only read") || Catch::Contains("readonly"));
  auto count =
      src.query("SELECT count(*) FROM t WHERE c = ?1", {std::string("2026-11-26T09:00:00Z")}, {});
  REQUIRE(count.ok());
  CHECK(std::get<int64_t>(count->rows[0][0]) == 1);
  // A parameter is a value, never SQL.
  auto inj = src.query("SELECT count(*) FROM t WHERE c = ?1", {std::string("x' OR '1'='1")}, {});
  REQUIRE(inj.ok());
  CHECK(std::get<int64_t>(inj->rows[0][0]) == 0);
}

TEST_CASE("a query past its deadline is interrupted", "[probes][sqlite][timeout]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c INTEGER)");
  SystemClock clock;
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", 100ms}, 1, clock);
  QueryLimits limits;
  limits.deadline = clock.monotonic() + 200ms;
  const auto t0 = clock.monotonic();
  // An endless recursive query: only the deadline stops it.
  auto r = src.query(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n", {},
      limits);
  const auto took = clock.monotonic() - t0;
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("timed out"));
  CHECK(took < 5s);
  // The connection is still usable afterwards.
  auto ok = src.query("SELECT 1", {}, {});
  CHECK(ok.ok());
}

TEST_CASE("the runner turns a probe over its timeout into an error", "[probes][timeout]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c INTEGER)");
  auto cfg = configWith(
      dir,
      "  - {name: p, type: sql, source: db, query: \"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i + 1 FROM n) SELECT count(*) FROM n\", max: 1, timeout: 300ms}\n");
  SystemClock clock;
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  probes.add("sql", [](const config::ProbeConfig& pc, Source& s) -> Result<std::unique_ptr<Probe>> {
    // A minimal sql probe for this test: runs the query, reports the number.
    struct P : Probe {
      config::ProbeConfig c;
      SqlSource& src;
      P(config::ProbeConfig cc, SqlSource& ss) : c(std::move(cc)), src(ss) {}
      const config::ProbeConfig& config() const override { return c; }
      ProbeResult run(const RunContext& ctx) override {
        auto q = src.query(std::get<config::SqlSpec>(c.spec).query, {}, ctx.limits);
        if (!q) return ProbeResult::error(q.error());
        return ProbeResult::pass(0, "", "");
      }
    };
    return std::unique_ptr<Probe>(std::make_unique<P>(pc, dynamic_cast<SqlSource&>(s)));
  });
  Runtime rt(cfg, clock, sources, probes, nullptr, nullptr, std::make_shared<spdlog::logger>("t"));
  auto r = rt.runProbe(0);
  CHECK(r.status == ProbeStatus::Error);
  CHECK_THAT(r.message, Catch::Contains("timed out"));
  CHECK(r.duration_seconds < 5);
}

TEST_CASE("volume counts rows, recent rows, and compares with the previous run",
          "[probes][sqlite][volume]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE orders (id INTEGER, created_at TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
      "INSERT INTO orders SELECT i, strftime('%Y-%m-%dT%H:%M:%SZ', 1795687200 - i * 60, "
      "'unixepoch') FROM n;");
  // Row i was created i minutes before 10:00: 30 rows in the last 30 minutes (i = 1..30).
  Harness h(configWith(
      dir,
      "  - {name: all_rows, type: volume, source: db, table: orders, min: 50, max: 200}\n"
      "  - {name: recent, type: volume, source: db, table: orders, column: created_at, window: "
      "30m, min: 40}\n"
      "  - {name: change, type: volume, source: db, table: orders, max_change: 0.5}\n"));
  auto all = h.run(0);
  CHECK(all.status == ProbeStatus::Pass);
  CHECK(all.value == 100);
  CHECK(all.unit == "rows");
  CHECK(all.threshold["min"] == 50.0);
  auto recent = h.run(1);
  CHECK(recent.status == ProbeStatus::Fail);
  CHECK(recent.value == 30);
  CHECK(recent.message == "30 rows < min 40 in the last 30m");

  auto first = h.run(2);
  CHECK(first.status == ProbeStatus::Pass);
  CHECK(first.details["previous"].is_null());
  db.exec("DELETE FROM orders WHERE id > 40");  // 100 -> 40: -60%
  h.clock.advance(5min);
  auto dropped = h.run(2);
  CHECK(dropped.status == ProbeStatus::Fail);
  CHECK(dropped.details["previous"] == 100.0);
  CHECK(dropped.details["change"] == Approx(-0.6));
  CHECK_THAT(dropped.message, Catch::Contains("changed -60% since the previous run (100 -> 40)"));
  db.exec(
      "INSERT INTO orders SELECT id + 1000, created_at FROM orders WHERE id <= 10");  // 40 -> 50:
                                                                                      // +25%
  auto back = h.run(2);
  CHECK(back.status == ProbeStatus::Pass);
  CHECK(back.details["previous"] == 40.0);
}

TEST_CASE("a probe whose source cannot be set up reports an error and the rest go on", "[probes]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (c TEXT); INSERT INTO t VALUES ('2026-11-26T09:59:00Z');");
  Harness h(datawatch::testing::loadTestConfig(
      "sources:\n  db: {type: sqlite, path: ./w.db}\n  events: {type: kafka, brokers: "
      "\"127.0.0.1:1\", properties: {no.such.property: \"1\"}}\nprobes:\n"
      "  - {name: v, type: volume, source: events, topic: orders.v1, window: 1h, min: 1}\n"
      "  - {name: f, type: freshness, source: db, table: t, column: c, max_age: 1h}\n",
      (dir / "datawatch.yaml").string()));
  auto v = h.run(0);
  CHECK(v.status == ProbeStatus::Error);
  CHECK(v.message.rfind("kafka source events: property no.such.property: ", 0) == 0);
  CHECK(h.run(1).status == ProbeStatus::Pass);
}

TEST_CASE("volume windows work on Unix seconds, milliseconds and offset text",
          "[probes][sqlite][volume]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  // Ten rows a minute apart, the newest one minute before 10:00, in three representations.
  db.exec(
      "CREATE TABLE secs (t INTEGER); CREATE TABLE millis (t INTEGER); CREATE TABLE local (t TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
      "INSERT INTO secs SELECT 1795687200 - i * 60 FROM n;"
      "INSERT INTO millis SELECT (1795687200 - 60 * rowid) * 1000 FROM secs;"
      "INSERT INTO local SELECT strftime('%Y-%m-%dT%H:%M:%S.000+05:30', t + 19800, 'unixepoch') "
      "FROM secs;");
  Harness h(configWith(
      dir,
      "  - {name: secs, type: volume, source: db, table: secs, column: t, window: 5m30s, min: 1}\n"
      "  - {name: millis, type: volume, source: db, table: millis, column: t, window: 5m30s, min: "
      "1}\n"
      "  - {name: local, type: volume, source: db, table: local, column: t, window: 5m30s, min: "
      "1}\n"));
  for (size_t i = 0; i < 3; ++i) {
    auto r = h.run(i);
    INFO(r.probe << ": " << r.message);
    CHECK(r.status == ProbeStatus::Pass);
    CHECK(r.value == 5);  // 09:55 .. 09:59
  }
}

TEST_CASE("volume windows on date columns are whole days ending today: 1d is today only",
          "[probes][sqlite][volume][dates]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  // Rows on each of the last 3 days (kNow is 2026-11-26 10:00Z): 1, 2 and 4 of them.
  db.exec(
      "CREATE TABLE daily (d TEXT);"
      "INSERT INTO daily VALUES ('2026-11-24'), ('2026-11-25'), ('2026-11-25'),"
      " ('2026-11-26'), ('2026-11-26'), ('2026-11-26'), ('2026-11-26');");
  Harness h(configWith(
      dir,
      "  - {name: day, type: volume, source: db, table: daily, column: d, window: 1d, min: 1}\n"
      "  - {name: two, type: volume, source: db, table: daily, column: d, window: 2d, min: 1}\n"
      "  - {name: part, type: volume, source: db, table: daily, column: d, window: 36h, min: 1}\n"
      "  - {name: week, type: volume, source: db, table: daily, column: d, window: 7d, min: 1}\n"));
  auto day = h.run(0);
  INFO(day.message);
  CHECK(day.value == 4);  // today only, not yesterday too
  CHECK(day.details["from_date"] == "2026-11-26");
  CHECK(day.details["to_date"] == "2026-11-26");
  CHECK(h.run(1).value == 6);  // today and yesterday
  CHECK(h.run(2).value == 6);  // 36h rounds up to 2 days
  CHECK(h.run(3).value == 7);
  // Just after midnight the new day starts empty: 1d counts it alone.
  h.clock.advanceTo(*parseTimestamp("2026-11-27T00:05:00Z"));
  CHECK(h.run(0).value == 0);
  CHECK(h.run(1).value == 4);
}
