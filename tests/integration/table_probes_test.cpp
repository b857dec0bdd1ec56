// The same table-probe cases (values, sql, schema, volume anomaly) run on every
// database kind of db_under_test.hpp -- SQLite and PostgreSQL natively, and
// SQLite, PostgreSQL and MariaDB through ODBC -- with the expected numbers
// worked out by hand from the rows inserted.

#include <catch2/catch.hpp>

#include <random>

#include "agent/runtime.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

using Runner = DbProbes;

// Ten orders: status paid x5, pending x2, refunded, lost, NULL; id 3 twice;
// amount -5 once; created 5, 15, ... 95 minutes before 10:00.
void fillOrders(Db& db) {
  const char* const rows[] = {"(1, 'paid', 10, ",    "(2, 'paid', 20, ",     "(3, 'paid', 30, ",
                              "(3, 'paid', 40, ",    "(5, 'paid', -5, ",     "(6, 'pending', 60, ",
                              "(7, 'pending', 70, ", "(8, 'refunded', 80, ", "(9, 'lost', 90, ",
                              "(10, NULL, 100, "};
  std::string values;
  for (int i = 0; i < 10; ++i)
    values += std::string(i == 0 ? "" : ", ") + rows[i] +
              db.timestamp(formatRfc3339(kNow - std::chrono::minutes(5 + 10 * i))) + ")";
  db.exec("CREATE TABLE orders (id int, status text, amount real, created_at " +
          db.timestampType() + "); INSERT INTO orders VALUES " + values);
}

}  // namespace

TEST_CASE("values probes count violations and sample them, on every database",
          "[values][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      fillOrders(*db);
      const std::string t = db->table("orders");
      Runner r(
          *db,
          "  - {name: status, type: values, source: db, table: " + t +
              ", column: status, accepted: [pending, paid, refunded], max_null_ratio: 0.05}\n"
              "  - {name: status_ok, type: values, source: db, table: " +
              t +
              ", column: status, accepted: [pending, paid, refunded, lost], max_null_ratio: 0.2}\n"
              "  - {name: ids, type: values, source: db, table: " +
              t +
              ", column: id, unique: true}\n"
              "  - {name: amounts, type: values, source: db, table: " +
              t +
              ", column: amount, min: 0, max: 1000}\n"
              "  - {name: recent, type: values, source: db, table: " +
              t +
              ", column: amount, min: 0, time_column: created_at, window: 40m}\n"
              "  - {name: recent_ok, type: values, source: db, table: " +
              t + ", column: amount, min: 0, time_column: created_at, window: 30m}\n");
      auto status = r.run(0);
      INFO(status.message);
      CHECK(status.status == ProbeStatus::Fail);
      CHECK(status.value == 2);  // 'lost' + the NULL (10% > 5%)
      CHECK(status.details["not_accepted"] == 1.0);
      CHECK(status.details["nulls"] == 1.0);
      CHECK(status.details["null_ratio"] == Approx(0.1));
      CHECK(status.details["samples"] == std::vector<std::string>{"lost"});
      CHECK(status.message ==
            "2 violating rows of 10: 1 not accepted, 1 null (10% > 5%) (e.g. \"lost\")");
      auto ok = r.run(1);
      CHECK(ok.status == ProbeStatus::Pass);
      CHECK(ok.value == 0);
      auto ids = r.run(2);
      CHECK(ids.status == ProbeStatus::Fail);
      CHECK(ids.value == 1);
      CHECK(ids.details["duplicate_values"] == std::vector<std::string>{"3"});
      auto amounts = r.run(3);
      CHECK(amounts.status == ProbeStatus::Fail);
      CHECK(amounts.value == 1);
      CHECK(std::stod(amounts.details["samples"][0].get<std::string>()) == -5);
      auto recent = r.run(4);  // 09:20..10:00 holds ids 1,2,3,3 (09:25) -> no -5 (09:15)
      CHECK(recent.status == ProbeStatus::Pass);
      CHECK(recent.details["rows"] == 4.0);
      auto recent_ok = r.run(5);
      CHECK(recent_ok.details["rows"] == 3.0);
    }
  }
}

TEST_CASE("sql probes check one number and reject anything else, on every database",
          "[sql][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      fillOrders(*db);
      const std::string t = db->table("orders");
      auto q = [&](const std::string& sql, const std::string& bounds) {
        return "  - {name: p" + std::to_string(std::rand() % 100000) +
               ", type: sql, source: db, query: \"" + sql + "\", " + bounds + "}\n";
      };
      Runner r(*db, q("select count(*) from " + t + " where amount < 0", "max: 0") +
                        q("select count(*) from " + t, "equals: 10") +
                        q("select sum(amount) from " + t, "min: 100, max: 400") +
                        q("select 1 from " + t + " where id < 0", "max: 1") +
                        q("select id from " + t, "max: 1") + q("select 1, 2", "max: 1") +
                        q("select 'abc'", "max: 1") + q("select null", "max: 1") +
                        q("select count(*) from no_such_table", "max: 1") +
                        q("delete from " + t, "max: 1"));
      auto neg = r.run(0);
      CHECK(neg.status == ProbeStatus::Fail);
      CHECK(neg.value == 1);
      CHECK(neg.message == "value 1 > max 0");
      auto eq = r.run(1);
      CHECK(eq.status == ProbeStatus::Pass);
      CHECK(eq.value == 10);
      auto sum = r.run(2);
      CHECK(sum.status == ProbeStatus::Fail);
      CHECK(sum.value == Approx(495));
      CHECK(sum.message == "value 495 > max 400");
      CHECK(r.run(3).message == "query returned no row (expected one row with one number)");
      CHECK(r.run(4).message == "query returned 10 rows (expected one row with one number)");
      CHECK(r.run(5).message == "query returned 2 columns (expected one number)");
      CHECK(r.run(6).message == "query returned \"abc\", not a number");
      CHECK(r.run(7).message == "query returned NULL (expected a number)");
      auto missing = r.run(8);
      CHECK(missing.status == ProbeStatus::Error);
      CHECK_THAT(missing.message, Catch::Contains("no_such_table"));
      auto write = r.run(9);  // a query that writes is refused; the rows are still there
      CHECK(write.status == ProbeStatus::Error);
      CHECK_THAT(write.message, Catch::StartsWith("query refused: probes may only read"));
      CHECK(r.run(1).value == 10);
    }
  }
}

TEST_CASE("schema probes check the contract and report changes since the last snapshot",
          "[schema][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      TempDir state_dir;
      auto store = std::move(SqliteStateStore::open((state_dir / "state.db").string())).value();
      db->exec(
          "CREATE TABLE orders (id BIGINT NOT NULL, amount NUMERIC(10,2), status TEXT, note TEXT)");
      const std::string t = db->table("orders");
      const std::string probes =
          "  - {name: contract, type: schema, source: db, table: " + t +
          ", columns: {id: int8, amount: numeric, status: text}, allow_extra_columns: true}\n"
          "  - {name: strict, type: schema, source: db, table: " +
          t +
          ", columns: {id: bigint, amount: numeric, status: text}}\n"
          "  - {name: missing, type: schema, source: db, table: " +
          db->table("nope") + ", columns: {id: bigint}}\n";
      {
        Runner r(*db, probes, store.get());
        auto first = r.run(0);
        INFO(first.message);
        CHECK(first.status == ProbeStatus::Pass);
        CHECK(first.value == 0);
        CHECK(first.details["first_snapshot"] == true);
        CHECK(first.details["extra_columns"] == 1);
        auto strict = r.run(1);
        CHECK(strict.status == ProbeStatus::Fail);
        CHECK(strict.value == 1);
        CHECK(strict.message == "column \"note\" not in the contract");
        auto missing = r.run(2);
        CHECK(missing.status == ProbeStatus::Error);
        CHECK_THAT(missing.message, Catch::Contains("does not exist"));
        CHECK(r.run(0).value == 0);  // unchanged: nothing new since the snapshot
      }
      db->exec(
          "ALTER TABLE orders DROP COLUMN status; ALTER TABLE orders ADD COLUMN created_at TEXT;");
      Runner r(*db, probes, store.get());  // a restart: the snapshot comes from the store
      auto after = r.run(0);
      INFO(after.message);
      CHECK(after.status == ProbeStatus::Fail);
      CHECK(after.value ==
            3);  // status missing from the contract; status removed and created_at added since
      CHECK(after.details["breaking"] == 2);
      // status's removal since the snapshot is the contract's missing column: said once.
      CHECK(after.message == "column \"status\" missing [breaking]; column \"created_at\" added");
      CHECK(after.details["since_last_snapshot"].size() == 2);
      auto again = r.run(0);  // the change is reported once; the contract violation stays
      CHECK(again.value == 1);
      CHECK(again.status == ProbeStatus::Fail);
    }
  }
}

TEST_CASE("schema: type changes are classified, on PostgreSQL and MariaDB",
          "[schema][postgres][odbc]") {
  const std::string kind = GENERATE("postgres", "odbc-postgres", "odbc-mariadb");
  INFO(kind);
  const bool maria = kind == "odbc-mariadb";
  auto db = makeDb(kind);
  TempDir state_dir;
  auto store = std::move(SqliteStateStore::open((state_dir / "state.db").string())).value();
  // MariaDB's REAL is a DOUBLE; its 4-byte float is FLOAT.
  db->exec(std::string("CREATE TABLE t (id integer, code varchar(10), amount ") +
           (maria ? "float" : "real") + ", flag boolean)");
  Runner r(*db,
           "  - {name: s, type: schema, source: db, table: " + db->table("t") +
               ", columns: {id: integer, code: varchar, amount: real, flag: bool}}\n",
           store.get());
  REQUIRE(r.run(0).status == ProbeStatus::Pass);
  db->exec(maria ? "ALTER TABLE t MODIFY id bigint, MODIFY code varchar(20), MODIFY flag text, "
                   "MODIFY amount float NOT NULL"
                 : "ALTER TABLE t ALTER COLUMN id TYPE bigint, ALTER COLUMN code TYPE varchar(20), "
                   "ALTER COLUMN flag TYPE text, ALTER COLUMN amount SET NOT NULL");
  auto res = r.run(0);
  INFO(res.message);
  CHECK(res.status == ProbeStatus::Fail);
  std::map<std::string, bool> breaking;
  for (const auto& c : res.details["since_last_snapshot"])
    breaking[c["column"].get<std::string>() + ":" + c["change"].get<std::string>()] = c["breaking"];
  CHECK(breaking == std::map<std::string, bool>{{"id:type", false},
                                                {"code:type", false},
                                                {"flag:type", true},
                                                {"amount:nullability", true}});
}

TEST_CASE("volume anomaly detection backfills from the table on the first run",
          "[volume][anomaly][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      TempDir state_dir;
      auto store = std::move(SqliteStateStore::open((state_dir / "state.db").string())).value();
      // Ten events an hour for the past 8 days (the newest in the hour before 10:00).
      db->exec("CREATE TABLE events (at " + db->timestampType() + ")");
      std::string values;
      for (int h = 0; h < 8 * 24; ++h) {
        for (int i = 0; i < 10; ++i) {
          values +=
              std::string(values.empty() ? "" : ",") + "(" +
              db->timestamp(formatRfc3339(kNow - (h + 1) * std::chrono::hours(1) +
                                          i * std::chrono::minutes(5) + std::chrono::minutes(1))) +
              ")";
        }
      }
      db->exec("INSERT INTO events VALUES " + values);
      const std::string probe =
          "  - {name: ev, type: volume, source: db, table: " + db->table("events") +
          ", column: at, window: 1h, every: 1h, anomaly: {training: 7d}}\n";
      {
        Runner r(*db, probe, store.get());
        auto first = r.run(0);
        INFO(first.message << " " << first.details.dump());
        CHECK(first.status == ProbeStatus::Pass);
        CHECK(first.value == 10);
        CHECK(first.details["anomaly_backfilled_points"] == 168);  // one per hour over 7 days
        CHECK(first.details["anomaly"]["training_points"] == 168);
        CHECK(first.details["anomaly"]["median"] == 10.0);
        // The loader stops: the next hour is empty.
        r.clock.advance(std::chrono::hours(1));
        auto drop = r.run(0);
        CHECK(drop.status == ProbeStatus::Fail);
        CHECK(drop.value == 0);
        CHECK(drop.details["anomaly"]["anomalous"] == true);
        CHECK_THAT(drop.message,
                   Catch::StartsWith("0 rows is anomalous (expected 10..10, median 10)"));
      }
      // After a restart the series comes from the store, and the anomalous point stays out of
      // training.
      Runner again(*db, probe, store.get());
      again.clock.advanceTo(kNow + std::chrono::hours(2));
      auto next = again.run(0);
      CHECK_FALSE(next.details.contains("anomaly_backfilled_points"));
      CHECK(next.details["anomaly"]["median"] == 10.0);
      CHECK(next.status == ProbeStatus::Fail);  // still nothing arriving
    }
  }
}

TEST_CASE("volume estimate reads catalog statistics, on PostgreSQL and MariaDB",
          "[volume][postgres][odbc]") {
  // SQLite keeps no row estimate: validate refuses method: estimate there.
  const std::string kind = GENERATE("postgres", "odbc-postgres", "odbc-mariadb");
  INFO(kind);
  auto db = makeDb(kind);
  std::string values;
  for (int i = 1; i <= 5000; ++i) values += (i == 1 ? "(" : ",(") + std::to_string(i) + ")";
  db->exec("CREATE TABLE big (id int); INSERT INTO big VALUES " + values);
  // PostgreSQL's ANALYZE reads all 5000 rows (fewer than its 30000-row sample).
  // InnoDB's ANALYZE TABLE samples 20 leaf pages (innodb_stats_persistent_sample_pages)
  // and these 5000 rows fill fewer, so table_rows is exact here; on large tables it is
  // an approximation (docs/warehouses.md).
  db->analyze("big");
  Runner r(*db, "  - {name: est, type: volume, source: db, table: " + db->table("big") +
                    ", method: estimate, min: 1000}\n"
                    "  - {name: none, type: volume, source: db, table: " +
                    db->table("nope") + ", method: estimate, min: 1}\n");
  auto est = r.run(0);
  INFO(est.message);
  CHECK(est.status == ProbeStatus::Pass);
  CHECK(est.value == 5000);
  CHECK(est.details["method"] == "estimate");
  CHECK(est.details["estimate_source"] ==
        (kind == "odbc-mariadb" ? "information_schema.tables.table_rows" : "pg_class.reltuples"));
  CHECK_THAT(est.message, Catch::StartsWith("~5000 rows"));
  auto none = r.run(1);
  CHECK(none.status == ProbeStatus::Error);
  CHECK_THAT(none.message, Catch::Contains("nope"));
}
