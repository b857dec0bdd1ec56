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

int64_t countIn(const std::filesystem::path& file, const std::string& table) {
  datawatch::testing::SqliteDb db(file);
  SqliteStatement s(db.get(), "SELECT count(*) FROM " + table);
  REQUIRE(s.ok());
  REQUIRE(sqlite3_step(s.get()) == SQLITE_ROW);
  return sqlite3_column_int64(s.get(), 0);
}

// Every run of the feed from its start, checking ids only grow.
std::vector<ProbeResult> wholeFeed(StateStore& store, std::string& cursor) {
  std::vector<ProbeResult> out;
  for (;;) {
    auto page = store.runFeed(cursor, 1000);
    REQUIRE(page.ok());
    REQUIRE(std::stoll(page->cursor) >= std::stoll(cursor));
    cursor = page->cursor;
    if (page->runs.empty()) return out;
    out.insert(out.end(), page->runs.begin(), page->runs.end());
  }
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
  other.exec("ALTER TABLE probe_runs_recent RENAME TO probe_runs_away");
  const auto refused = store->recordRun(run("orders_fresh", kT0 + 1min, ProbeStatus::Pass, 60));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.message(),
             Catch::Contains("cannot record probe run in the state store: no such table"));
  CHECK_FALSE(
      store->recordRuns({run("a", kT0, ProbeStatus::Pass, 1), run("b", kT0, ProbeStatus::Pass, 2)})
          .ok());
  // The refused insert holds no lock: another writer gets in at once.
  other.exec("BEGIN IMMEDIATE; ALTER TABLE probe_runs_away RENAME TO probe_runs_recent; COMMIT");
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
    db.exec(datawatch::testing::kSqliteUndoRecentRuns);
    db.exec("DROP TABLE lineage_events; DELETE FROM schema_migrations WHERE version = 6");
  }
  const nlohmann::json event = {{"eventType", "START"}, {"job", {{"name", "chargement_été"}}}};
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    CHECK(store->schemaVersion() == SqliteStateStore::latestSchemaVersion());
    CHECK(SqliteStateStore::latestSchemaVersion() == 7);
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

TEST_CASE(
    "runs move from the recent table into the indexed history and every reader sees each once",
    "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  auto store = std::move(SqliteStateStore::open(path)).value();
  std::string cursor = "0";
  // Probe p<k> runs every second from kT0; 40 probes, written in batches of
  // 200 as the writer does, past one move and into the next recent set.
  const size_t kProbes = 40;
  const size_t total = SqliteStateStore::kRecentRuns + 1000;
  std::vector<ProbeResult> batch;
  for (size_t i = 0; i < total; ++i) {
    batch.push_back(run("p" + std::to_string(i % kProbes), kT0 + std::chrono::seconds(i / kProbes),
                        ProbeStatus::Pass, static_cast<double>(i)));
    if (batch.size() == 200 || i + 1 == total) {
      REQUIRE(store->recordRuns(batch).ok());
      batch.clear();
    }
    if (i == 5000) {
      // A feed reader part way: it must go on across the move without a gap.
      REQUIRE(wholeFeed(*store, cursor).size() == 5000);
    }
  }
  const int64_t history = countIn(dir / "s.db", "probe_run_history");
  const int64_t recent = countIn(dir / "s.db", "probe_runs_recent");
  CHECK(history >= static_cast<int64_t>(SqliteStateStore::kRecentRuns));
  CHECK(recent > 0);
  CHECK(history + recent == static_cast<int64_t>(total));
  CHECK(*store->countRuns() == static_cast<int64_t>(total));
  CHECK(countIn(dir / "s.db", "probe_runs") == static_cast<int64_t>(total));

  const auto rest = wholeFeed(*store, cursor);
  REQUIRE(rest.size() == total - 5000);
  CHECK(rest.front().value == 5000);  // in commit order, none twice, none skipped
  CHECK(rest.back().value == static_cast<double>(total - 1));
  for (size_t i = 1; i < rest.size(); ++i) REQUIRE(*rest[i].value == *rest[i - 1].value + 1);

  // One probe's runs: the oldest in the history, the newest still recent.
  const size_t per_probe = total / kProbes;  // p7 has this many (total % 40 == 32 > 7)
  const auto all = store->runs("p7", kT0, kT0 + 24h);
  REQUIRE(all.ok());
  REQUIRE(all->size() == per_probe + 1);
  for (size_t i = 0; i < all->size(); ++i) REQUIRE(*(*all)[i].value == 7.0 + 40.0 * i);
  const auto newest = store->latestRuns("p7", kT0, kT0 + 24h, 3);
  REQUIRE(newest.ok());
  REQUIRE(newest->size() == 3);
  CHECK(newest->back().value == all->back().value);
  CHECK((*newest)[0].value == (*all)[all->size() - 3].value);
  CHECK((*store->lastRun("p7"))->value == all->back().value);
  const auto window = store->runs("p7", kT0 + 100s, kT0 + 103s);  // from the history
  REQUIRE(window.ok());
  REQUIRE(window->size() == 3);
  CHECK(window->front().value == 7 + 40 * 100);

  // Pruning reaches both tables.
  const auto cutoff = kT0 + std::chrono::seconds(total / kProbes);
  const auto pruned = store->pruneBefore(cutoff);
  REQUIRE(pruned.ok());
  CHECK(*pruned == static_cast<int64_t>(total / kProbes * kProbes));
  CHECK(*store->countRuns() == static_cast<int64_t>(total % kProbes));

  // Closed and reopened: the recent runs stay where they are (closing and
  // opening write nothing), every reader still sees them, ids go on.
  const int64_t recent_before = countIn(dir / "s.db", "probe_runs_recent");
  store.reset();
  CHECK(countIn(dir / "s.db", "probe_runs_recent") == recent_before);
  store = std::move(SqliteStateStore::open(path)).value();
  CHECK(countIn(dir / "s.db", "probe_runs_recent") == recent_before);
  CHECK(*store->countRuns() == static_cast<int64_t>(total % kProbes));
  CHECK((*store->lastRun("p31"))->value == static_cast<double>(total - 1));
  REQUIRE(store->recordRun(run("p0", kT0 + 1h, ProbeStatus::Fail, -1)).ok());
  const auto after = wholeFeed(*store, cursor);
  REQUIRE(after.size() == 1);
  CHECK(after[0].value == -1);
}

TEST_CASE("a version-6 SQLite file keeps its runs and their ids when it gains the recent table",
          "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  {
    auto store = std::move(SqliteStateStore::open(path)).value();
    REQUIRE(store->recordRun(run("a", kT0, ProbeStatus::Pass, 1)).ok());
    REQUIRE(store->recordRun(run("a", kT0 + 1min, ProbeStatus::Fail, 2)).ok());
  }
  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec(datawatch::testing::kSqliteUndoRecentRuns);
    db.exec("DELETE FROM probe_runs WHERE value = 2");  // the highest id is gone, not reused
  }
  auto store = std::move(SqliteStateStore::open(path)).value();
  CHECK(store->schemaVersion() == 7);
  CHECK(*store->countRuns() == 1);
  const auto start = store->runFeed("", 0);
  REQUIRE(start.ok());
  CHECK(start->cursor == "1");
  REQUIRE(store->recordRun(run("a", kT0 + 2min, ProbeStatus::Pass, 3)).ok());
  auto page = store->runFeed("2", 10);
  REQUIRE(page.ok());
  REQUIRE(page->runs.size() == 1);  // id 3: after every id the file ever gave
  CHECK(page->cursor == "3");
  CHECK((*store->lastRun("a"))->value == 3);
  const auto both = store->runs("a", kT0, kT0 + 1h);
  REQUIRE(both.ok());
  REQUIRE(both->size() == 2);
  CHECK(both->front().value == 1);
}

TEST_CASE("a move into the history that fails loses no run and is tried again later", "[store]") {
  datawatch::testing::TempDir dir;
  const auto path = (dir / "s.db").string();
  auto store = std::move(SqliteStateStore::open(path)).value();
  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec(
        "CREATE TRIGGER no_move BEFORE INSERT ON probe_run_history "
        "BEGIN SELECT RAISE(ABORT, 'history refused'); END");
  }
  const auto record = [&](size_t from, size_t n) {
    std::vector<ProbeResult> batch;
    for (size_t i = from; i < from + n; ++i)
      batch.push_back(
          run("p", kT0 + std::chrono::seconds(i), ProbeStatus::Pass, static_cast<double>(i)));
    REQUIRE(store->recordRuns(batch).ok());  // stored, whatever the move did
  };
  const size_t n = SqliteStateStore::kRecentRuns;
  record(0, n + 10);
  CHECK(countIn(dir / "s.db", "probe_run_history") == 0);
  CHECK(countIn(dir / "s.db", "probe_runs_recent") == static_cast<int64_t>(n + 10));
  CHECK(*store->countRuns() == static_cast<int64_t>(n + 10));
  CHECK((*store->lastRun("p"))->value == static_cast<double>(n + 9));

  {
    datawatch::testing::SqliteDb db(dir / "s.db");
    db.exec("DROP TRIGGER no_move");
  }
  record(n + 10, 10);  // not yet: the failed move waits another kRecentRuns runs
  CHECK(countIn(dir / "s.db", "probe_run_history") == 0);
  record(n + 20, n);
  CHECK(countIn(dir / "s.db", "probe_runs_recent") == 0);
  CHECK(countIn(dir / "s.db", "probe_run_history") == static_cast<int64_t>(2 * n + 20));
  const auto all = store->runs("p", kT0, kT0 + 24h);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2 * n + 20);
  for (size_t i = 0; i < all->size(); ++i) REQUIRE(*(*all)[i].value == static_cast<double>(i));
}
