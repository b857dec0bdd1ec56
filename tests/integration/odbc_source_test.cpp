// OdbcSource against live databases through their ODBC drivers: PostgreSQL
// (psqlODBC), MariaDB (MariaDB Connector/ODBC) and SQLite (sqliteodbc). Values,
// parameters, deadlines and cancellation, dead servers, missing tables, writes
// refused, hostile identifiers, and secrets kept out of every message.

#include <catch2/catch.hpp>
// AddressSanitizer's macro: GCC's __SANITIZE_ADDRESS__, clang's __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define DATAWATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DATAWATCH_ASAN 1
#endif
#endif
#if defined(DATAWATCH_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

#include <atomic>
#include <cstdlib>
#include <optional>
#include <thread>

#include "probes/odbc_source.hpp"
#include "tests/support/odbc_under_test.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

// Allocations made while one is alive are never reported by LeakSanitizer
// (ASan builds); a no-op elsewhere.
struct LeakCheckPause {
#if defined(DATAWATCH_ASAN)
  LeakCheckPause() {
    __lsan_disable();
  }
  ~LeakCheckPause() {
    __lsan_enable();
  }
#endif
};

const char* const kKinds[] = {"postgres", "mariadb", "sqlite"};

std::unique_ptr<OdbcSource> sourceFor(const OdbcDb& db, const Clock& clock, int max_connections = 1,
                                      Duration statement_timeout = 30s) {
  return std::make_unique<OdbcSource>("src", config::OdbcSourceConfig{db.connection(), ""},
                                      db.dialect(), max_connections, statement_timeout, clock);
}

// A statement that runs for seconds unless stopped.
std::string slowQuery(const std::string& kind) {
  if (kind == "postgres") return "SELECT pg_sleep(5)";
  if (kind == "mariadb") return "SELECT SLEEP(5)";
  return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000000) "
         "SELECT count(*) FROM c";
}

// The fixture table t: row 1 with a value of each type, row 2 all NULL but id.
// `bad` holds the bytes "ba\xFFd" (not UTF-8): bytea / varbinary / SQLite text.
void createFixture(const OdbcDb& db) {
  const std::string& k = db.kind();
  if (k == "postgres") {
    db.exec(
        "CREATE TABLE t (id int, big bigint, f double precision, n numeric(10,2), s text, "
        "ts timestamptz, d date, b boolean, bad bytea)");
    db.exec(
        "INSERT INTO t VALUES (1, 9007199254740993, 0.1, 12.34, 'héllo €', "
        "'2026-11-26 10:00:00+01', '2026-11-26', true, '\\x6261ff64'::bytea), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  } else if (k == "mariadb") {
    db.exec(
        "CREATE TABLE t (id int, big bigint, f double, n decimal(10,2), s text, ts datetime, "
        "d date, b boolean, bad varbinary(10))");
    db.exec(
        "INSERT INTO t VALUES (1, 9007199254740993, 0.1, 12.34, 'héllo €', "
        "'2026-11-26 09:00:00', '2026-11-26', true, X'6261FF64'), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  } else {
    db.exec(
        "CREATE TABLE t (id integer, big integer, f real, n numeric, s text, ts text, d text, "
        "b boolean, bad text)");
    db.exec(
        "INSERT INTO t VALUES (1, 9007199254740993, 0.1, 12.34, 'héllo €', "
        "'2026-11-26 09:00:00', '2026-11-26', 1, CAST(X'6261FF64' AS TEXT)), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  }
}

// The error of `r`, which must have failed; the database password never shows.
std::string errorOf(const Result<QueryResult>& r, const OdbcDb& db) {
  REQUIRE_FALSE(r.ok());
  if (!db.password().empty()) CHECK(r.error().find(db.password()) == std::string::npos);
  return r.error();
}

int64_t countRows(OdbcSource& src, const std::string& sql) {
  auto r = src.query(sql, {}, {});
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return std::get<int64_t>(r->rows.at(0).at(0));
}

// A row for messages: each value with its alternative (0 NULL, 1 int, 2 double, 3 text).
std::string show(const std::vector<SqlValue>& row) {
  std::string out;
  for (const auto& v : row) out += std::to_string(v.index()) + ":" + sqlValueToString(v) + " ";
  return out;
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("ODBC source returns each type as the right value", "[odbc][live]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      createFixture(*db);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      auto r = src->query("SELECT id, big, f, n, s, ts, d, b, bad FROM t ORDER BY id", {}, {});
      INFO((r.ok() ? std::string() : r.error()));
      REQUIRE(r.ok());
      CHECK(r->columns ==
            std::vector<std::string>{"id", "big", "f", "n", "s", "ts", "d", "b", "bad"});
      REQUIRE(r->rows.size() == 2);
      const auto& row = r->rows[0];
      INFO(show(row));
      CHECK(row[0] == SqlValue{int64_t{1}});
      CHECK(row[1] == SqlValue{int64_t{9007199254740993}});  // exact: not through a double
      CHECK(row[2] == SqlValue{0.1});
      CHECK(row[3] == SqlValue{12.34});
      CHECK(row[4] == SqlValue{std::string("h\xC3\xA9llo \xE2\x82\xAC")});
      // PostgreSQL's database default is Asia/Tokyo: the session must be UTC.
      CHECK(row[5] == SqlValue{std::string("2026-11-26 09:00:00")});
      CHECK(row[6] == SqlValue{std::string("2026-11-26")});
      CHECK(row[7] == SqlValue{int64_t{1}});
      CHECK(row[8] == SqlValue{std::string("ba\xEF\xBF\xBD"
                                           "d")});
      for (size_t c = 1; c < r->rows[1].size(); ++c)
        CHECK(std::holds_alternative<std::monostate>(r->rows[1][c]));
    }
  }
}

TEST_CASE("ODBC source binds $n parameters in any order, repeated", "[odbc][live]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      createFixture(*db);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      // (A bare marker in a select list is untyped text on psqlODBC, as on the
      // libpq source: "+ 0" gives the integer its type.)
      auto r =
          src->query("SELECT $2 AS a, $1 + 0 AS b, $2 AS c", {int64_t{7}, std::string("x")}, {});
      INFO((r.ok() ? std::string() : r.error()));
      REQUIRE(r.ok());
      INFO(show(r->rows.at(0)));
      CHECK(r->rows.at(0) == std::vector<SqlValue>{std::string("x"), int64_t{7}, std::string("x")});
      // A timestamp as ISO text, a double against an integer column, text, each
      // bound where the SQL names it. psqlODBC: timestamptz >= text, int < 1.5.
      const std::string since =
          db->kind() == "postgres" ? "2026-11-26T08:00:00Z" : "2026-11-26 08:00:00";
      auto f = src->query("SELECT count(*) FROM t WHERE s = $3 AND id < $2 AND ts >= $1",
                          {since, 1.5, std::string("h\xC3\xA9llo \xE2\x82\xAC")}, {});
      INFO((f.ok() ? std::string() : f.error()));
      REQUIRE(f.ok());
      CHECK(f->rows.at(0).at(0) == SqlValue{int64_t{1}});
      auto later = src->query(
          "SELECT count(*) FROM t WHERE ts >= $1 AND id < $2",
          {std::string(db->kind() == "postgres" ? "2026-11-26T09:30:00Z" : "2026-11-26 09:30:00"),
           2.5},
          {});
      REQUIRE(later.ok());
      CHECK(later->rows.at(0).at(0) == SqlValue{int64_t{0}});
      auto null = src->query("SELECT COALESCE($1, 'dflt') AS v", {std::monostate{}}, {});
      INFO((null.ok() ? std::string() : null.error()));
      REQUIRE(null.ok());
      CHECK(null->rows.at(0).at(0) == SqlValue{std::string("dflt")});
      auto bad = src->query("SELECT $3", {int64_t{1}}, {});
      CHECK_THAT(errorOf(bad, *db), Catch::Contains("$3"));
    }
  }
}

TEST_CASE("ODBC source cancels a statement at its deadline and stays usable",
          "[odbc][live][threads]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      REQUIRE(countRows(*src, "SELECT 1") == 1);
      QueryLimits limits;
      limits.deadline = clock.monotonic() + 1s;
      const auto start = std::chrono::steady_clock::now();
      auto r = src->query(slowQuery(kind), {}, limits);
      const double took = secondsSince(start);
      CHECK_THAT(errorOf(r, *db), Catch::Contains("timed out"));
      CHECK(took >= 0.9);
      CHECK(took < 1.5);
      CHECK(countRows(*src, "SELECT 2") == 2);
    }
  }
}

TEST_CASE("ODBC source honours the statement timeout when the probe has no deadline",
          "[odbc][live][threads]") {
  auto db = makeOdbcDb("mariadb");  // its driver ignores SQL_ATTR_QUERY_TIMEOUT for SLEEP
  SystemClock clock;
  auto src = sourceFor(*db, clock, 1, 1s);
  const auto start = std::chrono::steady_clock::now();
  auto r = src->query(slowQuery("mariadb"), {}, {});
  CHECK_THAT(errorOf(r, *db), Catch::Contains("timed out"));
  CHECK(secondsSince(start) < 1.5);
  CHECK(countRows(*src, "SELECT 3") == 3);
}

TEST_CASE("ODBC source honours the cancelled flag", "[odbc][live][threads]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      std::atomic<bool> cancelled{false};
      QueryLimits limits;
      limits.cancelled = &cancelled;
      std::thread stopper([&] {
        std::this_thread::sleep_for(300ms);
        cancelled = true;
      });
      const auto start = std::chrono::steady_clock::now();
      auto r = src->query(slowQuery(kind), {}, limits);
      const double took = secondsSince(start);
      stopper.join();
      CHECK_THAT(errorOf(r, *db), Catch::Contains("cancelled"));
      CHECK(took < 1.0);  // set at 0.3 s; the statement would run 5 s
      // Already set: refused before connecting.
      CHECK_THAT(errorOf(src->query("SELECT 1", {}, limits), *db), Catch::Contains("cancelled"));
      CHECK(countRows(*src, "SELECT 4") == 4);
    }
  }
}

TEST_CASE("ODBC source reports a dead server fast and backs off", "[odbc][live]") {
  const std::string pw = "sekrit-dead-pw-123";
  const std::string conns[] = {
      "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=u;Pwd=" + pw,
      "Driver={MariaDB Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=u;Pwd=" + pw,
      "Driver=SQLite3;Database=/nonexistent-dir/x.db;Password=" + pw};
  for (const auto& conn : conns) {
    DYNAMIC_SECTION(conn.substr(0, conn.find(';'))) {
      SimulatedClock clock(TimePoint{} + 1000h);
      OdbcSource src("dead", {conn, ""}, config::DialectId::Postgres, 1, 30s, clock);
      const auto start = std::chrono::steady_clock::now();
      auto first = src.query("SELECT 1", {}, {});
      REQUIRE_FALSE(first.ok());
      CHECK(secondsSince(start) < 5);
      CHECK_THAT(first.error(), Catch::Contains("cannot connect"));
      CHECK(first.error().find(pw) == std::string::npos);
      auto second = src.query("SELECT 1", {}, {});
      REQUIRE_FALSE(second.ok());
      CHECK_THAT(second.error(), Catch::Contains("retrying in 1s"));
      CHECK(second.error().find(pw) == std::string::npos);
      clock.advance(1100ms);
      auto third = src.query("SELECT 1", {}, {});
      REQUIRE_FALSE(third.ok());
      CHECK(third.error().find("retrying") == std::string::npos);  // it tried again
      CHECK_THAT(src.query("SELECT 1", {}, {}).error(), Catch::Contains("retrying in 2s"));
    }
  }
}

TEST_CASE("ODBC source keeps a wrong password out of its message", "[odbc][live]") {
  for (const char* kind : {"postgres", "mariadb"}) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      const std::string wrong = "wr0ng-pass-XYZ";
      std::string conn = db->connection();
      const auto at = conn.find(db->password());
      REQUIRE(at != std::string::npos);
      conn.replace(at, db->password().size(), wrong);
      SystemClock clock;
      OdbcSource src("src", {conn, ""}, db->dialect(), 1, 30s, clock);
      auto r = src.query("SELECT 1", {}, {});
      REQUIRE_FALSE(r.ok());
      CHECK_THAT(r.error(), Catch::Contains("cannot connect"));
      CHECK(r.error().find(wrong) == std::string::npos);
    }
  }
}

TEST_CASE("ODBC source names a missing table with its SQLSTATE", "[odbc][live]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      createFixture(*db);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      const std::string e = errorOf(src->query("SELECT count(*) FROM missing_tbl", {}, {}), *db);
      CHECK_THAT(e, Catch::Contains("table does not exist"));
      CHECK_THAT(e, Catch::Contains("SQLSTATE"));
      CHECK_THAT(e, Catch::Contains("missing_tbl"));
      // A hostile name quoted by the dialect is just a table that does not exist.
      const std::string hostile = src->dialect().quote("x\"`]; DROP TABLE t; --");
      const std::string h = errorOf(src->query("SELECT count(*) FROM " + hostile, {}, {}), *db);
      CHECK_THAT(h, Catch::Contains("table does not exist"));
      CHECK(countRows(*src, "SELECT count(*) FROM t") == 2);
    }
  }
}

TEST_CASE("ODBC source refuses writes on every path", "[odbc][live][security][readonly]") {
  for (const char* kind : kKinds) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      createFixture(*db);
      SystemClock clock;
      auto src = sourceFor(*db, clock);
      CHECK_THAT(errorOf(src->query("INSERT INTO t (id) VALUES (99)", {}, {}), *db),
                 Catch::Contains("refused"));
      CHECK_THAT(errorOf(src->query("CREATE TABLE t2 (a int)", {}, {}), *db),
                 Catch::Contains("refused"));
      CHECK_THAT(errorOf(src->query("SELECT 1; INSERT INTO t (id) VALUES (98)", {}, {}), *db),
                 Catch::Contains("one statement"));
      // User SQL that makes the session writable: the setup runs again after it.
      const std::string reopen =
          kind == std::string("postgres")  ? "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"
          : kind == std::string("mariadb") ? "SET SESSION TRANSACTION READ WRITE"
                                           : "PRAGMA query_only = 0";
      (void)src->query(reopen, {}, {});
      CHECK_THAT(errorOf(src->query("INSERT INTO t (id) VALUES (97)", {}, {}), *db),
                 Catch::Contains("refused"));
      CHECK(countRows(*src, "SELECT count(*) FROM t") == 2);
    }
  }
}

TEST_CASE("ODBC source connects by a data source name from odbc.ini", "[odbc][live]") {
  // Connecting by DSN, the driver stack leaks the settings it reads from odbc.ini
  // (strdup'd in a library unixODBC unloads, so LeakSanitizer sees only
  // "<unknown module>" and no suppression can name it): not our allocations.
  [[maybe_unused]] LeakCheckPause third_party_leaks;
  TempDir dir;
  const std::string file = (dir / "w.db").string();
  odbcExec("Driver=SQLite3;Database=" + file, "CREATE TABLE t (id integer)");
  odbcExec("Driver=SQLite3;Database=" + file, "INSERT INTO t VALUES (1), (2), (3)");
  writeFile(dir / "odbc.ini", "[dw test dsn]\nDriver=SQLite3\nDatabase=" + file + "\n");
  // unixODBC reads the user odbc.ini named by ODBCINI at each connect.
  struct ScopedOdbcIni {
    explicit ScopedOdbcIni(const std::string& path) {
      const char* old = std::getenv("ODBCINI");  // NOLINT(concurrency-mt-unsafe)
      if (old != nullptr) previous = old;
      setenv("ODBCINI", path.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    }
    ~ScopedOdbcIni() {
      if (previous)
        setenv("ODBCINI", previous->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
      else
        unsetenv("ODBCINI");  // NOLINT(concurrency-mt-unsafe)
    }
    std::optional<std::string> previous;
  } ini((dir / "odbc.ini").string());
  SystemClock clock;
  // A name with spaces, as odbc.ini allows.
  OdbcSource src("s", {"", "dw test dsn"}, config::DialectId::Sqlite, 1, 30s, clock);
  CHECK(countRows(src, "SELECT count(*) FROM t") == 3);
  OdbcSource missing("m", {"", "no_such_dsn"}, config::DialectId::Sqlite, 1, 30s, clock);
  auto r = missing.query("SELECT 1", {}, {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("IM002") && Catch::Contains("Data source name not found"));
}

TEST_CASE("ODBC source retries once when the server closed its pooled connection", "[odbc][live]") {
  // The server ends the idle pooled session (wait_timeout, a restart, an idle
  // limit): the next probe runs on a new connection instead of failing.
  for (const char* kind : {"postgres", "mariadb"}) {
    DYNAMIC_SECTION(kind) {
      auto db = makeOdbcDb(kind);
      createFixture(*db);
      SystemClock clock;
      auto src = sourceFor(*db, clock);  // one pooled connection
      const std::string id_sql = std::string(kind) == "postgres"
                                     ? "SELECT CAST(pg_backend_pid() AS bigint)"
                                     : "SELECT CAST(CONNECTION_ID() AS SIGNED)";
      const int64_t first = countRows(*src, id_sql);
      db->exec(std::string(kind) == "postgres"
                   ? "SELECT pg_terminate_backend(" + std::to_string(first) + ")"
                   : "KILL CONNECTION " + std::to_string(first));
      CHECK(countRows(*src, "SELECT count(*) FROM t") == 2);
      CHECK(countRows(*src, id_sql) != first);
    }
  }
}
