#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "probes/sqlite_handle.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/state_store_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

ProbeResult run(const std::string& probe, TimePoint at, ProbeStatus st, std::optional<double> v) {
  return testing::storedRun(probe, at, st, v);
}

}  // namespace

// SQLite-only behaviour. The StateStore contract itself runs on every backend in
// tests/integration/state_store_contract_test.cpp.

TEST_CASE("the SQLite store creates its folder and migrates to the latest version", "[store]") {
  datawatch::testing::TempDir dir;
  auto opened = SqliteStateStore::open((dir / "sub/state.db").string());
  REQUIRE(opened.ok());
  auto& store = **opened;
  CHECK(store.schemaVersion() == SqliteStateStore::latestSchemaVersion());
  REQUIRE(store.recordRun(run("a", kT0, ProbeStatus::Pass, 5)).ok());
  REQUIRE(store.recordRun(run("a", kT0 + 1min, ProbeStatus::Fail, 3)).ok());
  REQUIRE(store.recordRun(run("a", kT0 + 2min, ProbeStatus::Error, std::nullopt)).ok());
  REQUIRE(store.recordRun(run("b", kT0 + 2min, ProbeStatus::Pass, 9)).ok());

  auto last = store.lastRun("a");
  REQUIRE(last.ok());
  REQUIRE(last->has_value());
  CHECK((*last)->status == ProbeStatus::Error);
  CHECK((*last)->observed_at == kT0 + 2min);

  auto measured = store.lastMeasuredRun("a");
  REQUIRE(measured.ok());
  REQUIRE(measured->has_value());
  CHECK((*measured)->value == 3);
  CHECK((*measured)->threshold["min"] == 10);
  CHECK((*measured)->details["k"] == "v");
  CHECK((*measured)->duration_seconds == 0.25);
  CHECK((*measured)->target == "shop.orders");

  auto range = store.runs("a", kT0 + 30s, kT0 + 2min);
  REQUIRE(range.ok());
  REQUIRE(range->size() == 1);
  CHECK(range->front().observed_at == kT0 + 1min);
  CHECK(store.lastRun("nobody")->has_value() == false);
  CHECK(*store.countRuns() == 4);
}

TEST_CASE("the store survives reopening and refuses a newer schema", "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 1)).ok());
  }
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    CHECK(*store->countRuns() == 1);
    CHECK(store->ping().ok());
  }
  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec("INSERT INTO schema_migrations VALUES (999, 0)");
  }
  auto newer = SqliteStateStore::open(path);
  REQUIRE_FALSE(newer.ok());
  CHECK_THAT(newer.error(), Catch::Contains("newer than this build understands"));
}

TEST_CASE("a run the SQLite store cannot write is an error naming why, and the store goes on",
          "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  auto store = std::move(SqliteStateStore::open(path)).value();
  auto first = run("orders_fresh", kT0, ProbeStatus::Fail, 7200);
  first.message = "newest row is 2h old";
  REQUIRE(store->recordRun(first).ok());
  datawatch::testing::SqliteDb other(dir / "s.db");
  other.exec("ALTER TABLE probe_runs RENAME TO probe_runs_away");
  const auto refused = store->recordRun(run("orders_fresh", kT0 + 1min, ProbeStatus::Pass, 60));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.message(),
             Catch::Contains("cannot record probe run in the state store: no such table"));
  CHECK_FALSE(
      store->recordRuns({run("a", kT0, ProbeStatus::Pass, 1), run("b", kT0, ProbeStatus::Pass, 2)})
          .ok());
  // The refused insert holds no lock: another writer gets in at once.
  other.exec("BEGIN IMMEDIATE; ALTER TABLE probe_runs_away RENAME TO probe_runs; COMMIT");
  REQUIRE(store->recordRun(run("orders_fresh", kT0 + 2min, ProbeStatus::Pass, 60)).ok());
  const auto stored = store->runs("orders_fresh", kT0, kT0 + 1h);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 2);  // the refused ones are not there, the others whole
  CHECK((*stored)[0].message == "newest row is 2h old");
  CHECK((*stored)[0].value == 7200);
  CHECK((*stored)[1].observed_at == kT0 + 2min);
  CHECK(*store->countRuns() == 2);
}

TEST_CASE("a version-5 SQLite file gains the lineage events table on open, keeping its data",
          "[store][lineage]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 1)).ok());
    REQUIRE(store->saveSnapshot("k", {{"x", 1}}));
  }
  {
    // The file as the previous release left it: migrations 1-5, no lineage_events.
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec("DROP TABLE lineage_events; DELETE FROM schema_migrations WHERE version = 6");
  }
  const nlohmann::json event = {{"eventType", "START"}, {"job", {{"name", "chargement_été"}}}};
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    CHECK(store->schemaVersion() == SqliteStateStore::latestSchemaVersion());
    CHECK(SqliteStateStore::latestSchemaVersion() == 6);
    CHECK(*store->countRuns() == 1);
    CHECK((*store->loadSnapshot("k"))->at("x") == 1);
    REQUIRE(*store->saveLineageEvent("r1|START|1", kT0, event));
  }
  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    SqliteStatement s(db.get(),
                      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                      "name = 'lineage_events_time'");
    REQUIRE(s.ok());
    REQUIRE(sqlite3_step(s.get()) == SQLITE_ROW);
    CHECK(sqlite3_column_int(s.get(), 0) == 1);
  }
  // Reopened again: the event is kept, still once per key.
  auto store = std::move(SqliteStateStore::open(path)).value();
  auto rows = store->lineageEventsAfter(0, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].event == event);
  CHECK_FALSE(*store->saveLineageEvent("r1|START|1", kT0 + 1h, event));
  CHECK(*store->pruneLineageBefore(kT0 + 1ms) == 1);
}

TEST_CASE("unreachable, unsupported and malformed state URLs are clear errors", "[store]") {
  // Nothing listens on port 1: the PostgreSQL store cannot open, and says so
  // without the password.
  auto pg = openStateStore("postgres://u:secretpw@127.0.0.1:1/state");
  REQUIRE_FALSE(pg.ok());
  CHECK_THAT(pg.error(), Catch::Contains("cannot open state store"));
  CHECK_THAT(pg.error(), !Catch::Contains("secretpw"));
  auto bad = openStateStore("redis://x");
  REQUIRE_FALSE(bad.ok());
  auto unwritable = openStateStore("sqlite:///proc/no/such/dir/state.db");
  REQUIRE_FALSE(unwritable.ok());
  CHECK_THAT(unwritable.error(), Catch::Contains("cannot open state store"));
}
