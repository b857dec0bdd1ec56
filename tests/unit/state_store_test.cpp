#include <catch2/catch.hpp>

#include "core/time_format.hpp"
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
