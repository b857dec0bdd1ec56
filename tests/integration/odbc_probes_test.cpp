// Freshness and volume probes, missing tables and hostile identifiers on every
// database kind of db_under_test.hpp (SQLite and PostgreSQL natively; SQLite,
// PostgreSQL and MariaDB through ODBC), with the expected values worked out by
// hand from the rows inserted; and `datawatch check` end to end on an ODBC
// source on MariaDB. (The source's own behaviour -- deadlines, dead servers,
// writes refused -- is tested in odbc_source_test.cpp.)

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "agent/runtime.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

using Runner = DbProbes;

std::string probe(const std::string& fields) {
  return "  - {" + fields + "}\n";
}

// `name` quoted for fixture SQL on `kind` (backticks on MariaDB, else "...").
std::string quoteFor(const std::string& kind, const std::string& name) {
  const char q = kind == "odbc-mariadb" ? '`' : '"';
  std::string out(1, q);
  for (const char c : name) out += c == q ? std::string(2, q) : std::string(1, c);
  return out + q;
}

}  // namespace

TEST_CASE("freshness on time and epoch columns, on every database", "[freshness][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  const std::string ts = db->timestampType();
  auto at = [&](const char* iso) { return db->timestamp(iso); };
  db->exec("CREATE TABLE orders (id bigint, updated_at " + ts +
           "); CREATE INDEX orders_updated ON orders (updated_at); INSERT INTO orders VALUES (1, " +
           at("2026-11-26T08:00:00Z") + "), (2, " + at("2026-11-26T09:20:00Z") + "), (3, NULL)");
  // 1795687200 is 2026-11-26T10:00:00Z.
  db->exec("CREATE TABLE epoch (ts bigint); INSERT INTO epoch VALUES (1795680000), (1795687155)");
  db->exec("CREATE TABLE future (t " + ts + "); INSERT INTO future VALUES (" +
           at("2026-11-26T09:00:00Z") + "), (" + at("2026-11-27T00:00:00Z") + ")");
  db->exec("CREATE TABLE empty (t " + ts + ")");
  auto fresh = [&](const std::string& name, const std::string& table, const std::string& column,
                   const std::string& max_age) {
    return probe("name: " + name + ", type: freshness, source: db, table: " + db->table(table) +
                 ", column: " + column + ", max_age: " + max_age);
  };
  Runner h(*db, fresh("orders", "orders", "updated_at", "30m") +
                    fresh("epoch", "epoch", "ts", "1m") + fresh("future", "future", "t", "2h") +
                    fresh("empty", "empty", "t", "2h"));
  auto orders = h.run(0);
  INFO(orders.message);
  CHECK(orders.status == ProbeStatus::Fail);
  CHECK(orders.value == Approx(40 * 60));
  CHECK(orders.details["newest"] == "2026-11-26T09:20:00Z");
  CHECK(orders.message == "age 40m > 30m");
  auto epoch = h.run(1);
  CHECK(epoch.status == ProbeStatus::Pass);
  CHECK(epoch.value == Approx(45));
  auto future = h.run(2);  // the newest row at or before now is 09:00
  CHECK(future.status == ProbeStatus::Pass);
  CHECK(future.value == Approx(3600));
  CHECK(future.details["future_newest"] == "2026-11-27T00:00:00Z");
  CHECK(future.details["newest"] == "2026-11-26T09:00:00Z");
  auto empty = h.run(3);
  CHECK(empty.status == ProbeStatus::Fail);
  CHECK(empty.message == "no rows with a t value");
}

TEST_CASE("freshness with a schedule, on every database", "[freshness][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  db->exec("CREATE TABLE daily (loaded_at " + db->timestampType() +
           "); INSERT INTO daily VALUES (" + db->timestamp("2026-11-25T06:10:00Z") + ")");
  Runner h(*db, probe("name: d, type: freshness, source: db, table: " + db->table("daily") +
                      ", column: loaded_at, schedule: \"0 6 * * *\", grace: 2h"));
  // At 10:00 the 06:00 load is past its 2h grace: rows must be newer than 06:00.
  auto late = h.run();
  INFO(late.message);
  CHECK(late.status == ProbeStatus::Fail);
  CHECK(late.threshold["expected_after"] == "2026-11-26T06:00:00Z");
  db->exec("INSERT INTO daily VALUES (" + db->timestamp("2026-11-26T06:05:00Z") + ")");
  auto loaded = h.run();
  INFO(loaded.message);
  CHECK(loaded.status == ProbeStatus::Pass);
  CHECK(loaded.value == Approx(3 * 3600 + 55 * 60));  // 06:05 -> 10:00
}

TEST_CASE("volume counts all rows and a window, on every database", "[volume][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  // Row i created i minutes before 10:00, i = 1..100.
  std::string values;
  for (int i = 1; i <= 100; ++i)
    values += (i == 1 ? "(" : ", (") + std::to_string(i) + ", " +
              db->timestamp(formatRfc3339(kNow - std::chrono::minutes(i))) + ")";
  db->exec("CREATE TABLE orders (id int, created_at " + db->timestampType() +
           "); INSERT INTO orders VALUES " + values);
  const std::string t = db->table("orders");
  Runner h(*db, probe("name: all_rows, type: volume, source: db, table: " + t + ", min: 100") +
                    probe("name: recent, type: volume, source: db, table: " + t +
                          ", column: created_at, window: 30m, min: 31") +
                    probe("name: none, type: volume, source: db, table: " + t +
                          ", column: created_at, window: 30m, max: 0, filter: \"id > 30\""));
  auto all = h.run(0);
  INFO(all.message);
  CHECK(all.status == ProbeStatus::Pass);
  CHECK(all.value == 100);
  auto recent = h.run(1);  // 09:30..10:00, both ends included: rows 1..30
  INFO(recent.message);
  CHECK(recent.status == ProbeStatus::Fail);
  CHECK(recent.value == 30);
  auto none = h.run(2);
  INFO(none.message);
  CHECK(none.status == ProbeStatus::Pass);
  CHECK(none.value == 0);
}

TEST_CASE("every probe type on a missing table is an error naming it, on every database",
          "[errors][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  const std::string t = db->table("nope");
  const std::string on = ", source: db, table: " + t;
  Runner h(*db, probe("name: f, type: freshness" + on + ", column: t, max_age: 1h") +
                    probe("name: v, type: volume" + on + ", min: 1") +
                    probe("name: w, type: volume" + on + ", column: t, window: 1h, min: 1") +
                    probe("name: a, type: values" + on + ", column: c, max_null_ratio: 0") +
                    probe("name: s, type: schema" + on + ", columns: {id: bigint}") +
                    probe("name: d, type: drift" + on +
                          ", column: c, time_column: t, window: 1d, baseline: {window: 7d}"));
  for (size_t i = 0; i < 6; ++i) {
    auto r = h.run(i);
    INFO(i << ": " << r.message);
    CHECK(r.status == ProbeStatus::Error);
    CHECK_THAT(r.message, Catch::Contains("nope"));
    CHECK_THAT(r.message, Catch::Contains("does not exist") || Catch::Contains("no such table"));
  }
}

TEST_CASE("a missing table or column is a clear error, hostile names are quoted, on every database",
          "[errors][security][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  // A real table whose name holds every quote character and a ';'.
  const std::string odd = "odd \"q\" `b` [s];x";
  db->exec(
      "CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);"
      "CREATE TABLE " +
      quoteFor(kind, odd) + " (id int); INSERT INTO " + quoteFor(kind, odd) + " VALUES (1), (2)");
  const std::string t = db->table("victims");
  auto volume = [&](const std::string& name, const std::string& table) {
    return probe("name: " + name + ", type: volume, source: db, table: " + yamlQuoted(table) +
                 ", min: 1");
  };
  Runner h(*db, probe("name: no_table, type: freshness, source: db, table: " + db->table("nope") +
                      ", column: t, max_age: 1h") +
                    probe("name: no_column, type: freshness, source: db, table: " + t +
                          ", column: nope, max_age: 1h") +
                    volume("dq", db->table("victims\"; DROP TABLE victims; --")) +
                    volume("bt", db->table("victims`; DROP TABLE victims; --")) +
                    volume("br", db->table("victims]; DROP TABLE victims; --")) +
                    probe("name: col, type: freshness, source: db, table: " + t +
                          ", column: 'id) FROM victims; DROP TABLE victims; --', max_age: 1h") +
                    volume("odd", db->table(odd)));
  auto missing = [](const std::string& m) {
    for (const char* says : {"does not exist", "no such table", "no such column", "Unknown column"})
      if (m.find(says) != std::string::npos) return true;
    return false;
  };
  auto nt = h.run(0);
  INFO(nt.message);
  CHECK(nt.status == ProbeStatus::Error);
  CHECK_THAT(nt.message, Catch::Contains("nope"));
  CHECK(missing(nt.message));
  // A column that does not exist is an error naming it -- never a constant (SQLite reads a
  // "name" that matches no column as a string: the sqlite dialect quotes with backticks).
  auto nc = h.run(1);
  INFO(nc.message);
  CHECK(nc.status == ProbeStatus::Error);
  CHECK_THAT(nc.message, Catch::Contains("nope"));
  CHECK(missing(nc.message));
  // sqliteodbc scans the SQL itself before SQLite does, knowing only '...' and "..." quotes:
  // a ';' inside a `name` makes it refuse the statement (an error, nothing runs).
  const bool driver_scans = kind == "odbc-sqlite";
  const std::string refused = "only one SQL statement allowed";
  for (size_t i = 2; i <= 5; ++i) {
    auto r = h.run(i);
    INFO(i << ": " << r.message);
    CHECK(r.status == ProbeStatus::Error);
    if (driver_scans && i > 2)
      CHECK_THAT(r.message, Catch::Contains(refused));
    else
      CHECK(missing(r.message));
  }
  auto found = h.run(6);
  INFO(found.message);
  if (driver_scans) {
    CHECK(found.status == ProbeStatus::Error);
    CHECK_THAT(found.message, Catch::Contains(refused));
  } else {
    CHECK(found.status == ProbeStatus::Pass);
    CHECK(found.value == 2);
  }
  // Nothing was injected: victims is still there with its row.
  Runner check(*db, probe("name: v, type: volume, source: db, table: " + t + ", min: 1"));
  auto v = check.run();
  CHECK(v.status == ProbeStatus::Pass);
  CHECK(v.value == 1);
}

TEST_CASE("odd column names keep their bound values, on every database",
          "[errors][security][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  // A time column whose name holds a quote, a '?' and a '--': characters a driver's own
  // SQL scanner (sqliteodbc's knows only '...' and "...") may take for a literal, a marker
  // or a comment. (A ';' or an ODBC escape such as {fn} inside a `name` makes sqliteodbc
  // refuse or mangle the statement: an error, see the hostile names above.)
  const std::string col = "it's ? --at";
  std::string values;
  for (int i = 1; i <= 10; ++i)
    values += (i == 1 ? "(" : ", (") +
              db->timestamp(formatRfc3339(kNow - std::chrono::minutes(10 * i))) + ")";
  db->exec("CREATE TABLE ev (" + quoteFor(kind, col) + " " + db->timestampType() +
           "); INSERT INTO ev VALUES " + values);
  Runner h(*db, probe("name: w, type: volume, source: db, table: " + db->table("ev") +
                      ", column: " + yamlQuoted(col) + ", window: 35m, min: 1") +
                    probe("name: f, type: freshness, source: db, table: " + db->table("ev") +
                          ", column: " + yamlQuoted(col) + ", max_age: 1h"));
  auto w = h.run(0);  // 09:50, 09:40, 09:30 in 09:25..10:00
  INFO(w.message);
  CHECK(w.status == ProbeStatus::Pass);
  CHECK(w.value == 3);
  auto f = h.run(1);
  INFO(f.message);
  CHECK(f.status == ProbeStatus::Pass);
  CHECK(f.value == Approx(600));
}

TEST_CASE("time columns with a precision match a contract without one",
          "[schema][postgres][odbc]") {
  const std::string kind = GENERATE("postgres", "odbc-postgres", "odbc-mariadb");
  INFO(kind);
  auto db = makeDb(kind);
  const bool maria = kind == "odbc-mariadb";
  // PostgreSQL spells these "timestamp(3) with time zone", MariaDB "datetime(6)".
  db->exec(maria ? "CREATE TABLE t (a timestamp(3) NULL, b datetime(6))"
                 : "CREATE TABLE t (a timestamptz(3), b timestamp(0))");
  Runner h(*db, probe("name: s, type: schema, source: db, table: " + db->table("t") +
                      ", columns: {a: timestamp with time zone, b: timestamp without time zone}"));
  auto r = h.run();
  INFO(r.message << " " << r.details.dump());
  CHECK(r.status == ProbeStatus::Pass);
}

TEST_CASE("MariaDB column types compare with the PostgreSQL names a contract declares",
          "[schema][odbc]") {
  MariaDbUnderTest db;
  db.exec(
      "CREATE TABLE t (i int NOT NULL, b bigint, s smallint, ti tinyint, n decimal(10,2), "
      "d double, r float, f boolean, v varchar(10), c char(3), tx text, lt longtext, "
      "dt datetime(6), ts timestamp NULL, day date, bin varbinary(8), bl blob)");
  // What a contract for the same table on PostgreSQL declares, in PostgreSQL's full names
  // (a short name is read in the source's dialect: on MySQL `timestamp` is its TIMESTAMP).
  // Binary types (varbinary, blob) are bytea, as on PostgreSQL.
  Runner h(db, probe("name: s, type: schema, source: db, table: " + db.table("t") +
                     ", columns: {i: integer, b: bigint, s: smallint, ti: smallint, "
                     "n: 'numeric(10,2)', d: double precision, r: real, f: boolean, "
                     "v: 'character varying(10)', c: 'character(3)', tx: text, lt: text, "
                     "dt: timestamp without time zone, ts: timestamp with time zone, "
                     "day: date, bin: bytea, bl: bytea}"));
  auto r = h.run();
  INFO(r.message << " " << r.details.dump());
  CHECK(r.status == ProbeStatus::Pass);
  CHECK(r.value == 0);
}

TEST_CASE("datawatch check on an ODBC source on MariaDB: pass, fail, error, no password shown",
          "[integration][check][odbc]") {
  MariaDbUnderTest db;
  const std::string password = db.password();
  REQUIRE_FALSE(password.empty());
  const std::string conn = db.env().at("ODBCCONN");
  REQUIRE(conn.find(password) != std::string::npos);
  // 42 rows, the newest 10 minutes old (the binary runs on the real clock).
  const TimePoint now = std::chrono::system_clock::now();
  std::string values;
  for (int i = 1; i <= 42; ++i)
    values += (i == 1 ? "(" : ", (") + std::to_string(i) + ", " +
              db.timestamp(formatRfc3339(now - std::chrono::minutes(10 * i))) + ")";
  db.exec("CREATE TABLE orders (id int, created_at DATETIME(6)); INSERT INTO orders VALUES " +
          values);
  const std::string t = db.table("orders");
  TempDir dir;
  // The connection string is written into the config, password and all.
  const std::string head =
      "agent: {state: sqlite://./state.db}\nsources:\n  maria: {type: odbc, "
      "dialect: mysql, connection: \"" +
      conn +
      "\"}\n"
      "  down: {type: odbc, dialect: mysql, connection: \"" +
      std::regex_replace(conn, std::regex("Port=\\d+"), "Port=1") + "\"}\nprobes:\n";
  writeFile(
      dir / "pass.yaml",
      head +
          probe("name: fresh, type: freshness, source: maria, table: " + t +
                ", column: created_at, max_age: 1h") +
          probe("name: rows, type: volume, source: maria, table: " + t + ", min: 10, max: 100"));
  writeFile(dir / "fail.yaml",
            head + probe("name: rows, type: volume, source: maria, table: " + t + ", min: 1000") +
                probe("name: broken, type: volume, source: maria, table: " + db.table("nope") +
                      ", min: 1") +
                probe("name: down, type: volume, source: down, table: " + t + ", min: 1"));
  const std::string bin = DATAWATCH_BINARY;
  // The password is "datawatch-test", like the prefix of the temp dir the output names.
  auto noPassword = [&](const CommandResult& r) {
    for (std::string text : {r.out, r.err}) {
      for (size_t at; (at = text.find(dir.path().string())) != std::string::npos;)
        text.erase(at, dir.path().string().size());
      CHECK(text.find(password) == std::string::npos);
    }
  };

  auto ok = runCommand({bin, "check", "-c", (dir / "pass.yaml").string(), "--format", "json"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  noPassword(ok);
  auto arr = nlohmann::json::parse(ok.out);
  REQUIRE(arr.size() == 2);
  CHECK(arr[0]["status"] == "pass");
  CHECK(arr[0]["value"].get<double>() == Approx(600).margin(60));  // 10 minutes, run time aside
  CHECK(arr[1]["status"] == "pass");
  CHECK(arr[1]["value"] == 42.0);

  auto fail = runCommand({bin, "check", "-c", (dir / "fail.yaml").string(), "--probe", "rows"});
  INFO(fail.out << fail.err);
  CHECK(fail.exit_code == 1);
  CHECK(fail.out.find("FAIL") != std::string::npos);
  noPassword(fail);

  auto broken = runCommand({bin, "check", "-c", (dir / "fail.yaml").string(), "--probe", "broken"});
  INFO(broken.out << broken.err);
  CHECK(broken.exit_code == 3);
  CHECK(broken.out.find("nope") != std::string::npos);
  CHECK(broken.out.find("does not exist") != std::string::npos);
  noPassword(broken);

  auto down = runCommand({bin, "check", "-c", (dir / "fail.yaml").string(), "--probe", "down"});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 3);
  CHECK(down.out.find("cannot connect") != std::string::npos);
  noPassword(down);

  auto all = runCommand({bin, "check", "-c", (dir / "fail.yaml").string(), "--format", "json"});
  INFO(all.out << all.err);
  CHECK(all.exit_code == 1);  // a failure and errors: failed wins (exit 1), as for native sources
  noPassword(all);
}
