// Batches on the real test PostgreSQL (issue 19): PostgresSource::queryBatch
// sends the queries datawatch built in one pipeline, and every answer is the
// one query() gives; Runtime::runBatch runs probes over it.
//
// How a test sees that statements shared a pipeline: they share its one
// implicit transaction, so now() (the transaction's start) is the same for
// them, where statements sent one by one each get their own.

#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "probes/postgres_source.hpp"
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

// The server's sessions with this application_name.
int64_t sessions(const std::string& app) {
  SystemClock clock;
  PostgresSource probe("pg", {testPgDsn()}, 1, 10s, clock);
  auto r = probe.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                       {SqlValue(app)}, {});
  REQUIRE(r.ok());
  return std::get<int64_t>(r->rows.at(0).at(0));
}

}  // namespace

TEST_CASE("a batch on PostgreSQL is answered as query() answers, in order, in one pipeline",
          "[postgres][batch]") {
  const auto dsn = testPgDsn();
  PgSchema s(dsn, "dw_batch");
  const std::string t = s.name() + ".t";
  pgExec(dsn, "CREATE TABLE " + t + " (id int); INSERT INTO " + t + " SELECT generate_series(1,7)");
  SystemClock clock;
  const std::string app = "dw_batch_" + std::to_string(getpid());
  const std::string sep = dsn.find('?') == std::string::npos ? "?" : "&";
  PostgresSource src("pg", {dsn + sep + "application_name=" + app}, 4, 30s, clock);
  REQUIRE(src.batchesQueries(30s));
  CHECK_FALSE(src.batchesQueries(10s));  // would need SET LOCAL statement_timeout
  CHECK_FALSE(
      PostgresSource("rs", {dsn}, 1, 30s, clock, config::DialectId::Redshift).batchesQueries(30s));

  Batch b;
  b.add("SELECT now()::text");
  b.add("SELECT count(*) FROM " + t);
  b.add("SELECT $1::int + 1", {SqlValue(int64_t{41})});
  b.add("SELECT now()::text");
  b.add("SELECT 'user sql'::text", {}, false);  // never in a pipeline
  b.add("SELECT max(id) FROM " + s.name() + ".missing");
  b.add("SELECT now()::text");  // after the error: aborted in the pipeline, asked again
  b.add("SELECT $1::text IS NULL", {SqlValue(std::monostate{})});
  const auto answers = src.queryBatch(b.queries());
  REQUIRE(answers.size() == 8);
  CHECK(text(answers[1]) == "7");
  CHECK(text(answers[2]) == "42");
  CHECK(text(answers[4]) == "user sql");
  REQUIRE_FALSE(answers[5].ok());
  CHECK(answers[5].error() ==
        src.query(b.sql[5], {}, b.limits[5]).error());  // the message query() gives
  CHECK_THAT(answers[5].error(), Catch::Contains("does not exist"));
  CHECK(text(answers[7]) == "1");
  // 0 and 3 shared the pipeline's transaction; 6 was asked again on its own.
  CHECK(text(answers[0]) == text(answers[3]));
  CHECK(text(answers[6]) != text(answers[0]));

  // Without the error, the statements after it share the transaction too.
  Batch ok;
  for (int k = 0; k < 3; ++k) ok.add("SELECT now()::text");
  const auto again = src.queryBatch(ok.queries());
  CHECK(text(again[0]) == text(again[1]));
  CHECK(text(again[1]) == text(again[2]));
  // One query() each would not (the control: the trick can tell).
  CHECK(text(src.query(ok.sql[0], {}, ok.limits[0])) !=
        text(src.query(ok.sql[0], {}, ok.limits[0])));

  // More than one pipeline's worth: every answer, in order.
  Batch big;
  const size_t n = PostgresSource::kMaxPipeline * 2 + 3;
  for (size_t k = 0; k < n; ++k) big.add("SELECT $1::int", {SqlValue(static_cast<int64_t>(k))});
  const auto many = src.queryBatch(big.queries());
  REQUIRE(many.size() == n);
  for (size_t k = 0; k < n; ++k) CHECK(text(many[k]) == std::to_string(k));

  // Every batch went back to the pool: the source holds one connection, idle.
  CHECK(sessions(app) == 1);
}

TEST_CASE("a batch's deadline and the agent's stop cut only what they must",
          "[postgres][batch][timeout][threads]") {
  SystemClock clock;
  // statement_timeout 3 s: a query with more than 2 s left needs no SET LOCAL
  // and goes in the pipeline; only the watcher stops one at 2.2 s.
  PostgresSource src("pg", {testPgDsn()}, 2, 3s, clock);
  SECTION("the first query passes its deadline: the later ones are still answered") {
    Batch b;
    b.add("SELECT pg_sleep(40)", {}, true, clock.monotonic() + 2200ms);
    b.add("SELECT 2", {}, true, clock.monotonic() + 20s);
    b.add("SELECT 3", {}, true, clock.monotonic() + 20s);
    const auto t0 = std::chrono::steady_clock::now();
    const auto answers = src.queryBatch(b.queries());
    CHECK(std::chrono::steady_clock::now() - t0 < 2800ms);
    REQUIRE_FALSE(answers[0].ok());
    // Asked again after the cut with 1.2 s left: query() sets a statement_timeout
    // that close to the deadline, so either limit may be the one that fires.
    CHECK_THAT(answers[0].error(), Catch::Contains("timed out"));
    CHECK(text(answers[1]) == "2");
    CHECK(text(answers[2]) == "3");
  }
  SECTION("a slow statement holds the ones after it up for the budget, not its whole run") {
    // Each answers the server's clock when it ended.
    const std::string at = "SELECT extract(epoch FROM clock_timestamp())::text";
    Batch b;
    b.add(at);
    b.add(at + " FROM pg_sleep(2.6)", {}, true, clock.monotonic() + 20s);
    b.add(at);
    b.add(at);
    const auto t0 = std::chrono::steady_clock::now();
    const auto answers = src.queryBatch(b.queries());
    const auto took = std::chrono::steady_clock::now() - t0;
    std::vector<double> ended;
    for (const auto& a : answers) ended.push_back(std::stod(text(a)));
    // Cut at kPipelineBudget (1 s): 2 and 3 asked again at once, the slow one
    // asked again last, against its own deadline (it is not blamed for the cut).
    CHECK(ended[2] < ended[1] - 2.0);
    CHECK(ended[3] < ended[1] - 2.0);
    CHECK(ended[2] - ended[0] >= 0.9);
    CHECK(ended[2] - ended[0] < 2.0);
    CHECK(took > 3500ms);  // 1 s in the pipeline, then 2.6 s on its own
  }
  SECTION("the stop cancels the batch within ~100 ms") {
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
    for (const auto& a : answers) {
      REQUIRE_FALSE(a.ok());
      CHECK_THAT(a.error(), Catch::Contains("cancelled"));
    }
  }
  CHECK(text(src.query("SELECT 41 + 1", {}, {})) == "42");  // the source still answers
}

TEST_CASE("a batch on a connection the server closed goes on on a new one", "[postgres][batch]") {
  SystemClock clock;
  const std::string app = "dw_batch_kill_" + std::to_string(getpid());
  const auto dsn = testPgDsn();
  const std::string sep = dsn.find('?') == std::string::npos ? "?" : "&";
  PostgresSource src("pg", {dsn + sep + "application_name=" + app}, 1, 30s, clock);
  REQUIRE(text(src.query("SELECT 1", {}, {})) == "1");  // one pooled connection
  pgExec(dsn,
         "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '" +
             app + "'");
  Batch b;
  for (int k = 0; k < 4; ++k) b.add("SELECT $1::int", {SqlValue(int64_t{k})});
  const auto answers = src.queryBatch(b.queries());
  // As one query() after another: the first finds the connection lost, the
  // next ones open a new one.
  REQUIRE_FALSE(answers[0].ok());
  CHECK_THAT(answers[0].error(), Catch::Contains("lost the connection"));
  for (int k = 1; k < 4; ++k) CHECK(text(answers[static_cast<size_t>(k)]) == std::to_string(k));
  // The control: query() alone says the same of a connection the server closed.
  pgExec(dsn,
         "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '" +
             app + "'");
  auto alone = src.query(b.sql[0], b.params[0], b.limits[0]);
  REQUIRE_FALSE(alone.ok());
  CHECK_THAT(alone.error(), Catch::Contains("lost the connection"));
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
  rt.runBatch({0, 1, 2, 3, 4, 5});
  const double first = newest(0);
  CHECK(newest(1) == first);  // one transaction: one pipeline
  CHECK(newest(2) == first);
  CHECK(newest(4) != first);  // the filtered one queried on its own
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
  rt.runBatch({3, 0, 1, 2});
  CHECK(newest(0) != first);
  CHECK(newest(1) == newest(0));
  CHECK(newest(2) == newest(0));
  CHECK(rt.lastResult(3)->status == ProbeStatus::Error);

  // The control: one by one, each run has its own transaction.
  (void)rt.run(0);
  (void)rt.run(1);
  CHECK(newest(0) != newest(1));
}
