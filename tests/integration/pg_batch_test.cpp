// Batches on the real test PostgreSQL (issue 19): PostgresSource::queryBatch
// sends the queries datawatch built in one pipeline, and every answer is the
// one query() gives; Runtime::runBatch runs probes over it; ProbeLoop sends
// a due group larger than the source's max_connections as one batch.
//
// How a test sees that statements shared a pipeline: they share its one
// implicit transaction, so now() (the transaction's start) is the same for
// them, where statements sent one by one each get their own.

#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "agent/probe_loop.hpp"
#include "core/time_format.hpp"
#include "probes/postgres_source.hpp"
#include "tests/support/loop_rounds.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

// The queries of a batch and the storage its pointers refer to.
struct Batch {
  std::vector<std::string> sql;
  std::vector<std::vector<SqlValue>> params;
  std::vector<QueryLimits> limits;

  void add(std::string s, std::vector<SqlValue> p = {}, bool generated = true,
           MonoTime deadline = MonoTime::max(), const std::atomic<bool>* cancelled = nullptr) {
    sql.push_back(std::move(s));
    params.push_back(std::move(p));
    QueryLimits l;
    l.generated = generated;
    l.deadline = deadline;
    l.cancelled = cancelled;
    limits.push_back(l);
  }
  std::vector<BatchQuery> queries() const {
    std::vector<BatchQuery> out;
    for (size_t k = 0; k < sql.size(); ++k) out.push_back({&sql[k], &params[k], limits[k]});
    return out;
  }
};

std::string text(const Result<QueryResult>& r) {
  REQUIRE(r.ok());
  REQUIRE(r->rows.size() == 1);
  return sqlValueToString(r->rows[0].at(0));
}

// The answer a batch gave (it must have given one).
std::string text(const std::optional<Result<QueryResult>>& a) {
  REQUIRE(a.has_value());
  return text(*a);
}

}  // namespace

TEST_CASE("a batch on PostgreSQL is answered as query() answers, in order, in one pipeline",
          "[postgres][batch]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn, "dw_batch");
  const std::string t = s.name() + ".t";
  pgExec(dsn, "CREATE TABLE " + t + " (id int); INSERT INTO " + t + " SELECT generate_series(1,7)");
  SystemClock clock;
  PostgresSource src("pg", {dsn}, 4, 30s, clock);
  REQUIRE(src.batchesQueries());
  CHECK_FALSE(PostgresSource("rs", {dsn}, 1, 30s, clock, config::DialectId::Redshift)
                  .batchesQueries());  // untested there

  Batch b;
  b.add("SELECT now()::text");
  b.add("SELECT count(*) FROM " + t);
  b.add("SELECT $1::int + 1", {SqlValue(int64_t{41})});
  b.add("SELECT now()::text");
  b.add("SELECT 'user sql'::text", {}, false);  // never in a pipeline
  b.add("SELECT max(id) FROM " + s.name() + ".missing");
  b.add("SELECT now()::text");  // after the error: aborted in the pipeline
  b.add("SELECT $1::text IS NULL", {SqlValue(std::monostate{})});
  const auto answers = src.queryBatch(b.queries());
  REQUIRE(answers.size() == 8);
  CHECK(text(answers[1]) == "7");
  CHECK(text(answers[2]) == "42");
  REQUIRE(answers[5]);
  REQUIRE_FALSE(answers[5]->ok());
  CHECK(answers[5]->error() ==
        src.query(b.sql[5], {}, b.limits[5]).error());  // the message query() gives
  CHECK_THAT(answers[5]->error(), Catch::Contains("does not exist"));
  // Left to be asked on their own: the user's SQL, what the error aborted.
  CHECK_FALSE(answers[4]);
  CHECK_FALSE(answers[6]);
  CHECK_FALSE(answers[7]);
  // 0 and 3 shared the pipeline's transaction.
  CHECK(text(answers[0]) == text(answers[3]));

  // Without the error, the statements after it are answered too.
  Batch ok;
  for (int k = 0; k < 3; ++k) ok.add("SELECT now()::text");
  ok.add("SELECT pg_backend_pid()::text");
  const auto again = src.queryBatch(ok.queries());
  CHECK(text(again[0]) == text(again[1]));
  CHECK(text(again[1]) == text(again[2]));
  // One query() each would not share it (the control: the trick can tell).
  CHECK(text(src.query(ok.sql[0], {}, ok.limits[0])) !=
        text(src.query(ok.sql[0], {}, ok.limits[0])));

  // More than one pipeline's worth: every answer, in order.
  Batch big;
  const size_t n = PostgresSource::kMaxPipeline * 2 + 3;
  for (size_t k = 0; k < n; ++k) big.add("SELECT $1::int", {SqlValue(static_cast<int64_t>(k))});
  const auto many = src.queryBatch(big.queries());
  REQUIRE(many.size() == n);
  for (size_t k = 0; k < n; ++k) CHECK(text(many[k]) == std::to_string(k));

  // The pipeline's connection went back to the pool: the next batch uses it.
  Batch pid;
  pid.add("SELECT pg_backend_pid()::text");
  pid.add("SELECT pg_backend_pid()::text");
  CHECK(text(src.queryBatch(pid.queries())[0]) == text(again[3]));
}

TEST_CASE("a batch's deadline, a slow statement and the agent's stop cut it short",
          "[postgres][batch][timeout][threads]") {
  SystemClock clock;
  PostgresSource src("pg", {testPgDsn()}, 2, 30s, clock);
  SECTION("at the earliest deadline: the batch is cut, what it had not answered is left") {
    Batch b;
    b.add("SELECT 1", {}, true, clock.monotonic() + 20s);
    b.add("SELECT pg_sleep(40)", {}, true, clock.monotonic() + 500ms);
    b.add("SELECT 3", {}, true, clock.monotonic() + 20s);
    const auto t0 = std::chrono::steady_clock::now();
    const auto answers = src.queryBatch(b.queries());
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 500ms);
    CHECK(took < 1s);
    // The server sends a pipeline's results at its Sync: a cut usually leaves
    // every statement unanswered, each then asked on its own.
    if (answers[0]) CHECK(text(answers[0]) == "1");
    CHECK_FALSE(answers[1]);
    CHECK_FALSE(answers[2]);
  }
  SECTION("a slow statement holds the batch up for kPipelineBudget, not its whole run") {
    Batch b;
    b.add("SELECT 1");
    b.add("SELECT 'slept' FROM pg_sleep(5)", {}, true, clock.monotonic() + 20s);
    b.add("SELECT 3");
    const auto t0 = std::chrono::steady_clock::now();
    const auto answers = src.queryBatch(b.queries());
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 1s);
    CHECK(took < 2s);
    if (answers[0]) CHECK(text(answers[0]) == "1");
    CHECK_FALSE(answers[1]);
    CHECK_FALSE(answers[2]);
  }
  SECTION("the stop cuts the batch within ~100 ms") {
    std::atomic<bool> cancelled{false};
    Batch b;
    b.add("SELECT pg_sleep(40)", {}, true, clock.monotonic() + 30s, &cancelled);
    b.add("SELECT 2", {}, true, clock.monotonic() + 30s, &cancelled);
    std::chrono::steady_clock::time_point flipped;
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);
      flipped = std::chrono::steady_clock::now();
      cancelled = true;
    });
    const auto answers = src.queryBatch(b.queries());
    const auto end = std::chrono::steady_clock::now();
    stopper.join();
    CHECK(end - flipped < 150ms);
    CHECK_FALSE(answers[0]);
    CHECK_FALSE(answers[1]);
    // Asked on their own now, they say so as query() does.
    CHECK_THAT(src.query(b.sql[0], {}, b.limits[0]).error(), Catch::Contains("cancelled"));
  }
  CHECK(text(src.query("SELECT 41 + 1", {}, {})) == "42");  // the source still answers
}

TEST_CASE("a batch on a connection the server closed: the first says so, the rest are left",
          "[postgres][batch]") {
  SystemClock clock;
  const std::string app = "dw_batch_kill_" + std::to_string(getpid());
  const auto dsn = testPgDsn();
  const std::string sep = dsn.find('?') == std::string::npos ? "?" : "&";
  PostgresSource src("pg", {dsn + sep + "application_name=" + app}, 1, 30s, clock);
  REQUIRE(text(src.query("SELECT 1", {}, {})) == "1");  // one pooled connection
  const std::string kill =
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '" +
      app + "'";
  pgExec(dsn, kill);
  Batch b;
  for (int k = 0; k < 4; ++k) b.add("SELECT $1::int", {SqlValue(int64_t{k})});
  const auto answers = src.queryBatch(b.queries());
  // As one query() after another: the first finds the connection lost.
  REQUIRE(answers[0]);
  REQUIRE_FALSE(answers[0]->ok());
  CHECK_THAT(answers[0]->error(), Catch::Contains("lost the connection"));
  for (size_t k = 1; k < 4; ++k) CHECK_FALSE(answers[k]);
  // The control: query() alone says the same of a connection the server closed.
  REQUIRE(text(src.query("SELECT 1", {}, {})) == "1");
  pgExec(dsn, kill);
  auto alone = src.query(b.sql[0], b.params[0], b.limits[0]);
  REQUIRE_FALSE(alone.ok());
  CHECK_THAT(alone.error(), Catch::Contains("lost the connection"));
  // And the next batch opens a new connection.
  CHECK(text(src.queryBatch(b.queries())[3]) == "3");
}

TEST_CASE("PostgreSQL probes run as a batch: one pipeline, each its own result",
          "[postgres][batch][probes]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn, "dw_batch");
  const std::string v = s.name() + ".v";
  // Each statement sees the newest row as its transaction's start, less an hour.
  pgExec(dsn, "CREATE VIEW " + v + " AS SELECT now() - interval '1 hour' AS at");
  TempDir dir;
  auto fresh = [&](const std::string& name, const std::string& table, const std::string& extra) {
    return "  - {name: " + name + ", type: freshness, source: pg, table: " + table +
           ", column: at, max_age: 2h" + extra + "}\n";
  };
  auto cfg = loadTestConfig(
      "sources:\n  pg: {type: postgres, dsn: \"" + dsn + "\"}\nprobes:\n" + fresh("a", v, "") +
          fresh("b", v, "") + fresh("c", v, "") + fresh("gone", s.name() + ".missing", "") +
          fresh("filtered", v, ", filter: \"at IS NOT NULL\"") +
          "  - {name: rows, type: volume, source: pg, table: " + v + ", min: 1}\n",
      (dir / "datawatch.yaml").string());
  SystemClock clock;
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  Runtime rt(cfg, clock, sources, probes, nullptr, nullptr, std::make_shared<spdlog::logger>("t"));
  for (size_t i : {0, 1, 2, 3, 5}) CHECK(rt.batchable(i));
  CHECK_FALSE(rt.batchable(4));  // a user's filter: never in a pipeline

  auto newest = [&](size_t i) {
    auto r = rt.lastResult(i);
    REQUIRE(r);
    INFO(r->probe << ": " << r->message);
    REQUIRE(r->status == ProbeStatus::Pass);
    return r->details.at("newest_timestamp_seconds").get<double>();
  };
  // The filtered one does not join; `rows`, after `gone`'s error, is aborted.
  const auto left = rt.runBatch({0, 1, 2, 3, 4, 5});
  CHECK(left == std::vector<size_t>{4, 5});
  CHECK_FALSE(rt.lastResult(4));  // left to its caller: not run
  CHECK_FALSE(rt.lastResult(5));
  for (size_t i : left) (void)rt.run(i);  // as the probe loop does, on their own
  const double first = newest(0);
  CHECK(newest(1) == first);  // one transaction: one pipeline
  CHECK(newest(2) == first);
  CHECK(newest(4) != first);
  auto gone = rt.lastResult(3);
  REQUIRE(gone);
  CHECK(gone->status == ProbeStatus::Error);
  CHECK_THAT(gone->message, Catch::Contains("does not exist"));
  auto rows = rt.lastResult(5);
  REQUIRE(rows);
  CHECK(rows->status == ProbeStatus::Pass);
  CHECK(rows->value == 1);
  for (size_t i = 0; i < 6; ++i) {
    CHECK(rt.lastResult(i)->duration_seconds > 0);
    CHECK(rt.lastResult(i)->probe == cfg->probes[i].name);
  }

  // `gone` failed last time: it now runs on its own. Were it first in the
  // pipeline, its error would abort a, b and c (each then asked again, in a
  // transaction of its own).
  CHECK(rt.runBatch({3, 0, 1, 2}) == std::vector<size_t>{3});
  (void)rt.run(3);
  CHECK(newest(0) != first);
  CHECK(newest(1) == newest(0));
  CHECK(newest(2) == newest(0));
  CHECK(rt.lastResult(3)->status == ProbeStatus::Error);

  // The control: one by one, each run has its own transaction.
  (void)rt.run(0);
  (void)rt.run(1);
  CHECK(newest(0) != newest(1));
}

TEST_CASE("the probe loop sends 30 PostgreSQL probes due together in one pipeline, not 15",
          "[postgres][batch][probe_loop][threads]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn, "dw_batch_loop");
  // The newest row: a fixed hour before the simulated start, plus the
  // fraction of a second of the transaction's start, so that the runs that
  // shared a pipeline (one transaction) report the same value.
  const std::string v = s.name() + ".v";
  pgExec(dsn, "CREATE VIEW " + v +
                  " AS SELECT timestamptz '2026-11-25 23:00:00+00' + "
                  "(extract(epoch FROM now()) - floor(extract(epoch FROM now()))) * "
                  "interval '1 second' AS at");
  TempDir dir;
  std::string yaml =
      "sources:\n  pg: {type: postgres, dsn: \"" + dsn + "\", max_connections: 2}\nprobes:\n";
  constexpr size_t kProbes = 30;
  for (size_t i = 0; i < kProbes; ++i)
    yaml += "  - {name: f" + std::to_string(i) + ", type: freshness, source: pg, table: " + v +
            ", column: at, max_age: 2h, every: 1s}\n";
  auto cfg = loadTestConfig(yaml, (dir / "datawatch.yaml").string());
  SimulatedClock clock(*parseTimestamp("2026-11-26T00:00:00Z"));
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  auto rt = std::make_shared<Runtime>(cfg, clock, sources, probes, nullptr, nullptr,
                                      std::make_shared<spdlog::logger>("t"));
  ProbeLoop loop(rt, clock, 8, nullptr);
  // All 30 due at once, each second.
  REQUIRE(runRounds(loop, clock, 3, kProbes, 10s, [&](uint64_t) {
    std::set<double> transactions;
    for (size_t i = 0; i < kProbes; ++i) {
      auto r = rt->lastResult(i);
      REQUIRE(r);
      INFO(r->probe << ": " << r->message);
      REQUIRE(r->status == ProbeStatus::Pass);
      transactions.insert(r->details.at("newest_timestamp_seconds").get<double>());
    }
    // Runs ride on the batch's one connection slot: one pipeline, where
    // batches within the source's two runs in flight would need 15.
    CHECK(transactions.size() == 1);
  }));
  CHECK(loop.stop(0s));
}
