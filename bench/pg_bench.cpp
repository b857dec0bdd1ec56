// pg_bench: the PostgreSQL probes against a 10-million-row table.
//
//  1. median time of the freshness probe (max(at) through the whole probe path),
//     of the `estimate` volume probe, and of a bare `select max(at)` timed by psql;
//  2. 500 probes against one database with max_connections: 4 for N seconds:
//     runs per second and peak RSS.
//
// usage: pg_bench DSN [rows=10000000] [seconds=30]
// The table bench_events is created (and kept for later runs) in schema dw_bench.

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/probe_loop.hpp"
#include "agent/runtime.hpp"
#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "probes/postgres_source.hpp"

using namespace datawatch;

namespace {

using bench::peakRssKb;
using bench::processCpuSeconds;

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pg_bench DSN [rows=10000000] [seconds=30]\n");
    return 2;
  }
  const std::string dsn = argv[1];
  const long rows = argc > 2 ? std::atol(argv[2]) : 10000000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 30;
  SystemClock clock;

  // The table: created once, reused when it already holds `rows` rows.
  PostgresSource admin("admin", config::PostgresSourceConfig{dsn}, 1, std::chrono::hours(1), clock);
  auto have = admin.query("SELECT count(*) FROM dw_bench.bench_events", {}, {});
  if (!have || std::get<int64_t>(have->rows[0][0]) != rows) {
    std::printf("pg_bench: creating dw_bench.bench_events with %ld rows...\n", rows);
    std::fflush(stdout);
    const std::string setup =
        "DROP SCHEMA IF EXISTS dw_bench CASCADE; CREATE SCHEMA dw_bench;"
        "CREATE TABLE dw_bench.bench_events (id bigint, at timestamptz, amount float8);"
        "INSERT INTO dw_bench.bench_events SELECT i, now() - (i || ' seconds')::interval, random() "
        "* 100 "
        "FROM generate_series(1, " +
        std::to_string(rows) +
        ") i;"
        "CREATE INDEX ON dw_bench.bench_events (at);";
    const auto out = run("psql -X -q -v ON_ERROR_STOP=1 '" + dsn + "' -c \"" + setup +
                         "\" -c 'VACUUM ANALYZE dw_bench.bench_events' 2>&1");
    if (!out.empty()) std::printf("%s", out.c_str());
  }

  const int iterations = 101;
  auto cfg = bench::loadConfigOrExit(
      "sources:\n  pg: {type: postgres, dsn: \"${DSN}\", max_connections: 1}\nprobes:\n"
      "  - {name: fresh, type: freshness, source: pg, table: dw_bench.bench_events, column: at, "
      "max_age: 1h}\n"
      "  - {name: est, type: volume, source: pg, table: dw_bench.bench_events, method: estimate, "
      "min: 1}\n",
      "/tmp/pg_bench.yaml", {{"DSN", dsn}});
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  auto log = std::make_shared<spdlog::logger>("bench");
  Runtime rt(cfg, clock, sources, probes, nullptr, nullptr, log);
  std::vector<double> fresh_ms, est_ms;
  for (int i = 0; i < iterations; ++i) {
    auto a = rt.runProbe(0);
    auto b = rt.runProbe(1);
    if (a.status == ProbeStatus::Error || b.status == ProbeStatus::Error) {
      std::fprintf(stderr, "probe error: %s / %s\n", a.message.c_str(), b.message.c_str());
      return 1;
    }
    fresh_ms.push_back(a.duration_seconds * 1000);
    est_ms.push_back(b.duration_seconds * 1000);
  }
  // The same query through the source alone (no probe logic), for the breakdown.
  std::vector<double> src_ms;
  QueryLimits built;
  built.generated = true;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = clock.monotonic();
    (void)admin.query("SELECT max(\"at\") FROM \"dw_bench\".\"bench_events\"", {}, built);
    src_ms.push_back(std::chrono::duration<double, std::milli>(clock.monotonic() - t0).count());
  }
  // The bare query, timed by psql in one session (\timing prints "Time: X ms").
  std::string cmds = "\\\\timing on\n";
  for (int i = 0; i < iterations; ++i) cmds += "select max(at) from dw_bench.bench_events;\n";
  const std::string out = run("printf '" + cmds + "' | psql -X -q '" + dsn + "' 2>&1");
  std::vector<double> psql_ms;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Time: ", 0) == 0) psql_ms.push_back(std::stod(line.substr(6)));
  }
  const double f = medianOf(fresh_ms), e = medianOf(est_ms), p = medianOf(psql_ms);
  std::printf("pg_bench: %ld rows, index on the timestamp column, %d runs each (medians)\n", rows,
              iterations);
  std::printf(
      "  freshness probe       %.3f ms   (whole probe path: pool, READ ONLY tx, SET LOCAL, "
      "query)\n",
      f);
  std::printf("  source query alone    %.3f ms   (PostgresSource::query, no probe logic)\n",
              medianOf(src_ms));
  std::printf("  bare select max(at)   %.3f ms   (psql \\timing, %zu samples)\n", p,
              psql_ms.size());
  std::printf("  ratio                 %.2fx     (target <= 1.5x)\n", p > 0 ? f / p : 0);
  std::printf("  volume estimate       %.3f ms   (target < 5 ms)\n", e);

  // 500 probes, one database, max_connections 4.
  std::ostringstream y;
  y << "sources:\n  pg: {type: postgres, dsn: \"${DSN}\", max_connections: 4}\nprobes:\n";
  for (int i = 0; i < 500; ++i) {
    if (i % 2 == 0) {
      y << "  - {name: f" << i
        << ", type: freshness, source: pg, table: dw_bench.bench_events, column: at, max_age: 1h, "
           "every: 1s}\n";
    } else {
      y << "  - {name: e" << i
        << ", type: volume, source: pg, table: dw_bench.bench_events, method: estimate, min: 1, "
           "every: 1s}\n";
    }
  }
  auto many = bench::loadConfigOrExit(y.str(), "/tmp/pg_bench.yaml", {{"DSN", dsn}});
  auto rt2 = std::make_shared<Runtime>(many, clock, sources, probes, nullptr, nullptr, log);
  ProbeLoop loop(rt2, clock, 8, nullptr);
  loop.start();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  loop.stop(std::chrono::seconds(5));
  const auto runs = loop.completedRuns();
  std::printf("  500 probes (freshness + estimate, every 1s), max_connections 4, 8 workers, %ds:\n",
              seconds);
  std::printf("    runs/s              %.0f (of 500 scheduled)\n",
              static_cast<double>(runs) / seconds);
  std::printf("    peak RSS            %.1f MB\n", static_cast<double>(peakRssKb()) / 1024.0);
  return 0;
}
