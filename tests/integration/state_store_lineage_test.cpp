// The StateStore contract's OpenLineage events part (store/state_store.hpp,
// "OpenLineage events"), run unchanged against every backend like
// state_store_contract_test.cpp: SQLite always, PostgreSQL when
// DATAWATCH_TEST_PG_DSN is set.

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "core/time_format.hpp"
#include "tests/support/state_store_under_test.hpp"

using namespace datawatch;
using namespace std::chrono_literals;
using datawatch::testing::stateStoreBackends;
using datawatch::testing::StoreUnderTest;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-26T00:00:00Z");

// An OpenLineage RunEvent as the HTTP API receives it, and its idempotency key.
nlohmann::json lineageEvent(const std::string& run_id, TimePoint at) {
  return {{"eventType", "COMPLETE"},
          {"eventTime", formatRfc3339(at)},
          {"run", {{"runId", run_id}}},
          {"job", {{"namespace", "airflow"}, {"name", "orders_dag.load"}}},
          {"producer", "https://example.com/producer"},
          {"schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json"}};
}

std::string lineageKey(const std::string& run_id, TimePoint at) {
  return run_id + "|COMPLETE|" + std::to_string(toUnixMillis(at));
}

// Every stored lineage event after `after`, in pages of `page`.
std::vector<LineageRow> allLineage(StateStore& store, int64_t after = 0, size_t page = 1000) {
  std::vector<LineageRow> out;
  for (;;) {
    auto rows = store.lineageEventsAfter(after, page);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() <= page);
    for (auto& r : *rows) {
      CHECK(r.seq > after);  // ascending
      after = r.seq;
      out.push_back(std::move(r));
    }
    if (rows->size() < page) return out;
  }
}

}  // namespace

TEST_CASE("store contract: a lineage event is stored once per key", "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      CHECK(allLineage(*store).empty());
      auto first = store->saveLineageEvent(lineageKey("r1", kT0), kT0, lineageEvent("r1", kT0));
      REQUIRE(first.ok());
      CHECK(*first);  // stored now
      // The same key again (a producer's retry), even with another body and
      // time: a duplicate, and nothing changes.
      auto other = lineageEvent("r1", kT0);
      other["producer"] = "a retry";
      auto again = store->saveLineageEvent(lineageKey("r1", kT0), kT0 + 1h, other);
      REQUIRE(again.ok());
      CHECK_FALSE(*again);
      REQUIRE(*store->saveLineageEvent(lineageKey("r2", kT0), kT0, lineageEvent("r2", kT0)));
      const auto rows = allLineage(*store);
      REQUIRE(rows.size() == 2);
      CHECK(rows[0].event == lineageEvent("r1", kT0));
      CHECK(rows[1].event == lineageEvent("r2", kT0));
      // The duplicate's time was not stored either: a prune at kT0 + 1min takes r1.
      CHECK(*store->pruneLineageBefore(kT0 + 1min) == 2);
    }
  }
}

TEST_CASE("store contract: lineage events come back in seq order, paged by after and limit",
          "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      // Stored out of event-time order: seq (insert order) is what counts.
      const int order[] = {3, 0, 4, 1, 2};
      for (int i : order) {
        const std::string id = "r" + std::to_string(i);
        REQUIRE(*store->saveLineageEvent(lineageKey(id, kT0 + i * 1min), kT0 + i * 1min,
                                         lineageEvent(id, kT0 + i * 1min)));
      }
      auto head = store->lineageEventsAfter(0, 2);
      REQUIRE(head.ok());
      REQUIRE(head->size() == 2);  // limit
      CHECK((*head)[0].seq < (*head)[1].seq);
      CHECK((*head)[0].event["run"]["runId"] == "r3");
      CHECK((*head)[1].event["run"]["runId"] == "r0");
      const auto paged = allLineage(*store, 0, 2);
      REQUIRE(paged.size() == 5);
      for (size_t i = 0; i < 5; ++i)
        CHECK(paged[i].event["run"]["runId"] == "r" + std::to_string(order[i]));
      CHECK(paged[0].seq == (*head)[0].seq);
      // `after` is exclusive; past the end nothing comes back.
      auto tail = store->lineageEventsAfter(paged[2].seq, 10);
      REQUIRE(tail.ok());
      REQUIRE(tail->size() == 2);
      CHECK((*tail)[0].seq == paged[3].seq);
      CHECK(store->lineageEventsAfter(paged[4].seq, 10)->empty());
      CHECK(store->lineageEventsAfter(0, 0)->empty());
    }
  }
}

TEST_CASE("store contract: a lineage event's JSON comes back equal", "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      auto event = lineageEvent("ré-ü-日本-🚀", kT0);
      event["job"]["name"] = "commandes_été.chargement_日次";
      event["outputs"] = nlohmann::json::array(
          {{{"namespace", "postgres://db:5432"},
            {"name", "shop.public.Bestellungen_größe"},
            {"outputFacets", {{"outputStatistics", {{"rowCount", 9007199254740993LL}}}}}}});
      const char raw[] = "tab\t \"quote\" nul\0 end";  // a NUL inside
      const std::string message(raw, sizeof raw - 1);
      event["run"]["facets"] = {{"errorMessage", {{"message", message}}},
                                {"ratio", 0.1 + 0.2},
                                {"none", nullptr},
                                {"flag", false},
                                {"empty", nlohmann::json::object()},
                                {"list", nlohmann::json::array()}};
      const std::string key = lineageKey("ré-ü-日本-🚀", kT0);
      REQUIRE(*store->saveLineageEvent(key, kT0, event));
      CHECK_FALSE(*store->saveLineageEvent(key, kT0, event));  // a non-ASCII key matches itself
      const auto rows = allLineage(*store);
      REQUIRE(rows.size() == 1);
      CHECK(rows[0].event == event);
      CHECK(rows[0].event.dump() == event.dump());  // the numbers' forms too
      CHECK(rows[0].event["job"]["name"].get<std::string>() == "commandes_été.chargement_日次");
    }
  }
}

TEST_CASE("store contract: pruning lineage deletes only events older than the cutoff",
          "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      REQUIRE(store->recordRun(testing::storedRun("a", kT0)).ok());
      for (int i = 0; i < 6; ++i) {
        const std::string id = "r" + std::to_string(i);
        REQUIRE(*store->saveLineageEvent(lineageKey(id, kT0 + i * 1h), kT0 + i * 1h,
                                         lineageEvent(id, kT0 + i * 1h)));
      }
      auto pruned = store->pruneLineageBefore(kT0 + 3h);  // r0, r1, r2; r3 is at the cutoff
      REQUIRE(pruned.ok());
      CHECK(*pruned == 3);
      auto rows = allLineage(*store);
      REQUIRE(rows.size() == 3);
      CHECK(rows[0].event["run"]["runId"] == "r3");
      CHECK(rows[2].event["run"]["runId"] == "r5");
      CHECK(*store->pruneLineageBefore(kT0 + 3h) == 0);
      CHECK(*store->countRuns() == 1);  // probe runs are not lineage events
      // Everything pruned: a later event's seq is still above every earlier one
      // (a replica's cursor never skips it).
      const int64_t last_seq = rows.back().seq;
      CHECK(*store->pruneLineageBefore(kT0 + 1000h) == 3);
      CHECK(allLineage(*store).empty());
      REQUIRE(*store->saveLineageEvent(lineageKey("r9", kT0), kT0, lineageEvent("r9", kT0)));
      rows = allLineage(*store, last_seq);
      REQUIRE(rows.size() == 1);
      CHECK(rows[0].seq > last_seq);
    }
  }
}

TEST_CASE("store contract: lineage events survive reopening", "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      {
        auto store = db.open();
        REQUIRE(*store->saveLineageEvent(lineageKey("r1", kT0), kT0, lineageEvent("r1", kT0)));
      }
      auto store = db.open();
      const auto rows = allLineage(*store);
      REQUIRE(rows.size() == 1);
      CHECK(rows[0].event == lineageEvent("r1", kT0));
      // Still once per key after a restart.
      CHECK_FALSE(*store->saveLineageEvent(lineageKey("r1", kT0), kT0, lineageEvent("r1", kT0)));
      REQUIRE(*store->saveLineageEvent(lineageKey("r2", kT0), kT0, lineageEvent("r2", kT0)));
      CHECK(allLineage(*store, rows[0].seq).size() == 1);
    }
  }
}

TEST_CASE("store contract: a store from before the lineage events is upgraded on open",
          "[store][contract][lineage]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      REQUIRE(db.open()->recordRun(testing::storedRun("a", kT0)).ok());
      // Back to the schema version before lineage_events (SQLite 5, PostgreSQL 2).
      if (!db.postgres()) db.exec(testing::kSqliteUndoRecentRuns);
      db.exec(std::string("DROP TABLE lineage_events; DELETE FROM schema_migrations WHERE "
                          "version = ") +
              (db.postgres() ? "3" : "6"));
      auto store = db.open();
      CHECK(*store->countRuns() == 1);
      REQUIRE(*store->saveLineageEvent(lineageKey("r1", kT0), kT0, lineageEvent("r1", kT0)));
      CHECK(allLineage(*store).size() == 1);
    }
  }
}

TEST_CASE("store contract: concurrent lineage writers and a follower: every event once, in order",
          "[store][contract][lineage][threads]") {
  for (const auto& backend : stateStoreBackends()) {
    DYNAMIC_SECTION(backend) {
      StoreUnderTest db(backend);
      auto store = db.open();
      std::atomic<int> failures{0};
      std::atomic<int> stored_dup{0};
      std::atomic<bool> writing{true};
      std::vector<std::string> followed;  // the follower's, in its order
      int64_t cursor = 0;
      // The follower pages through the table while the writers insert, as a
      // replica follows the others' writes.
      std::thread follower([&] {
        for (;;) {
          const bool last = !writing;  // one more pass after the writers ended
          auto rows = store->lineageEventsAfter(cursor, 7);
          if (!rows.ok()) {
            ++failures;
            return;
          }
          for (const auto& r : *rows) {
            if (r.seq <= cursor) ++failures;
            cursor = r.seq;
            followed.push_back(r.event["run"]["runId"].get<std::string>());
          }
          if (rows->empty()) {
            if (last) return;
            std::this_thread::sleep_for(1ms);
          }
        }
      });
      std::vector<std::thread> writers;
      for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
          for (int i = 0; i < 50; ++i) {
            const std::string id = "w" + std::to_string(t) + "-" + std::to_string(i);
            auto st = store->saveLineageEvent(lineageKey(id, kT0), kT0, lineageEvent(id, kT0));
            if (!st.ok() || !*st) ++failures;
            if (i % 10 == 0) {  // every writer also sends the one shared event
              auto dup = store->saveLineageEvent(lineageKey("shared", kT0), kT0,
                                                 lineageEvent("shared", kT0));
              if (!dup.ok()) ++failures;
              if (dup.ok() && *dup) ++stored_dup;
            }
          }
        });
      }
      for (auto& th : writers) th.join();
      writing = false;
      follower.join();
      CHECK(failures == 0);
      CHECK(stored_dup == 1);
      CHECK(followed.size() == 201);
      CHECK(std::set<std::string>(followed.begin(), followed.end()).size() == 201);
      CHECK(allLineage(*store).size() == 201);
    }
  }
}
