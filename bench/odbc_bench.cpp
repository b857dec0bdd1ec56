// odbc_bench: the ODBC source against the native PostgreSQL source, and on
// MariaDB, on 10-million-row tables. Each probe is built the agent's way (the
// registries, from YAML) and timed around Probe::run, so the figures include the
// probe's own work (pool, session, statement building, result conversion).
//
//  1. PostgreSQL, one table queried through both sources: the freshness probe
//     (max(at)) through psqlODBC (type odbc, dialect postgres, driver
//     "PostgreSQL Unicode") and through libpq (type postgres). With an index on
//     `at` (`runs` probes each, alternating in blocks of 10 so the noise of a
//     shared machine hits both alike)
//     and without one (a parallel seq scan: the database dominates). Per source:
//     mean, p50, p99 of a probe's wall time, the ratio ODBC/native, and the
//     agent's CPU per run (getrusage of this process, user + sys).
//     Read the load averages printed first and last: on a busy machine the
//     sub-millisecond figures move by tens of percent from run to run.
//  2. MariaDB through MariaDB Connector/ODBC (type odbc, dialect mysql): the load
//     time (one INSERT ... SELECT from the Sequence engine, then the index), the
//     freshness probe (indexed max) and the volume probe with `method: estimate`
//     (information_schema.tables.table_rows), per probe.
//
// usage: odbc_bench [--rows=10000000] [--runs=1000] [--unindexed-runs=5]
//                   [--pg=LIBPQ_URL] [--mariadb=ODBC_CONNECTION]
// The servers default to DATAWATCH_TEST_PG_DSN (scripts/pg-test-server.sh) and
// DATAWATCH_TEST_MARIADB_ODBC (scripts/mariadb-test-server.sh); a part whose
// server is not given is skipped. The tables (PostgreSQL dw_bench.odbc_events and
// dw_bench.odbc_events_noidx, MariaDB dw_bench.events) are kept and reused when
// they hold `rows` rows.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "probes/odbc_handle.hpp"
#include "probes/registry.hpp"

using namespace datawatch;

namespace {

using bench::processCpuSeconds;

struct Options {
  long rows = 10000000;
  int runs = 1000;
  int unindexed_runs = 5;
  std::string pg;       // libpq URL
  std::string mariadb;  // ODBC connection string
};

Options parseOptions(int argc, char** argv) {
  Options o;
  if (const char* e = std::getenv("DATAWATCH_TEST_PG_DSN")) o.pg = e;             // NOLINT
  if (const char* e = std::getenv("DATAWATCH_TEST_MARIADB_ODBC")) o.mariadb = e;  // NOLINT
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    const std::string key = a.substr(0, eq), val = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (key == "--rows") {
      o.rows = std::atol(val.c_str());
    } else if (key == "--runs") {
      o.runs = std::atoi(val.c_str());
    } else if (key == "--unindexed-runs") {
      o.unindexed_runs = std::atoi(val.c_str());
    } else if (key == "--pg") {
      o.pg = val;
    } else if (key == "--mariadb") {
      o.mariadb = val;
    } else {
      std::fprintf(stderr,
                   "usage: odbc_bench [--rows=10000000] [--runs=1000] [--unindexed-runs=5] "
                   "[--pg=LIBPQ_URL] [--mariadb=ODBC_CONNECTION]\n");
      std::exit(2);
    }
  }
  return o;
}

// The 1, 5 and 15 minute load averages: how busy the machine was.
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

double msSince(const Clock& clock, MonoTime t0) {
  return std::chrono::duration<double, std::milli>(clock.monotonic() - t0).count();
}

// Nearest-rank percentile (p in [0, 1]).
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Per-probe wall times and the process CPU spent while taking them.
struct Sample {
  std::vector<double> ms;
  double cpu_seconds = 0;
};

// One source and one probe on it, built from YAML through the registries.
class ProbeUnderTest {
 public:
  ProbeUnderTest(const std::string& yaml, const std::map<std::string, std::string>& env,
                 const Clock& clock)
      : cfg_(bench::loadConfigOrExit(yaml, "/tmp/odbc_bench.yaml", env)), clock_(clock) {
    SourceRegistry sources;
    ProbeRegistry probes;
    registerBuiltinSources(sources);
    registerBuiltinProbes(probes);
    auto src = sources.create(cfg_->sources.at(0), clock);
    if (!src) {
      std::fprintf(stderr, "source: %s\n", src.error().c_str());
      std::exit(1);
    }
    source_ = std::move(*src);
    probe_ = probes.create(cfg_->probes.at(0), source_.get());
  }

  // One run; an error ends the benchmark (the figures would mean nothing).
  ProbeResult runOnce() const {
    RunContext ctx;
    ctx.now = clock_.now();
    ProbeResult r = probe_->run(ctx);
    if (r.status == ProbeStatus::Error) {
      std::fprintf(stderr, "probe %s: error: %s\n", probe_->config().name.c_str(),
                   r.message.c_str());
      std::exit(1);
    }
    return r;
  }

  void measure(int runs, Sample& into) const {
    const double cpu0 = processCpuSeconds();
    for (int i = 0; i < runs; ++i) {
      const auto t0 = clock_.monotonic();
      (void)runOnce();
      into.ms.push_back(msSince(clock_, t0));
    }
    into.cpu_seconds += processCpuSeconds() - cpu0;
  }

  SqlSource& source() const { return dynamic_cast<SqlSource&>(*source_); }

 private:
  std::shared_ptr<config::Config> cfg_;
  const Clock& clock_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Probe> probe_;
};

// A psqlODBC connection string for the server and database of a libpq URL.
std::string pgOdbcConnection(const std::string& url) {
  static const std::regex re(R"(^postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+):(\d+)/([^?]+))");
  std::smatch m;
  if (!std::regex_search(url, m, re)) {
    std::fprintf(stderr, "--pg: expected postgresql://user:password@host:port/db\n");
    std::exit(2);
  }
  return "Driver={PostgreSQL Unicode};Server=" + m[3].str() + ";Port=" + m[4].str() +
         ";Database=" + m[5].str() + ";Uid=" + m[1].str() + ";Pwd=" + m[2].str();
}

std::string freshnessProbe(const std::string& source, const std::string& table) {
  return "  - {name: fresh, type: freshness, source: " + source + ", table: " + table +
         ", column: at, max_age: 1h}\n";
}

void printRow(const char* label, const Sample& s) {
  std::printf("    %-18s %9.3f %9.3f %9.3f   %8.3f ms\n", label, mean(s.ms), percentile(s.ms, 0.5),
              percentile(s.ms, 0.99), 1000.0 * s.cpu_seconds / static_cast<double>(s.ms.size()));
}

void printHeader() {
  std::printf("    %-18s %9s %9s %9s   %11s\n", "", "mean ms", "p50 ms", "p99 ms", "CPU/run");
}

// Creates the PostgreSQL tables unless they already hold `rows` rows.
void preparePg(const std::string& url, long rows, const Clock& clock) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  try {
    const auto have = tx.exec1(
        "SELECT (SELECT count(*) FROM dw_bench.odbc_events), "
        "(SELECT count(*) FROM dw_bench.odbc_events_noidx)");
    if (have[0].as<long>() == rows && have[1].as<long>() == rows) return;
  } catch (const pqxx::sql_error&) {
  }
  std::printf("odbc_bench: creating dw_bench.odbc_events and odbc_events_noidx, %ld rows...\n",
              rows);
  std::fflush(stdout);
  const auto t0 = clock.monotonic();
  tx.exec0("SET statement_timeout = 0");
  tx.exec0("CREATE SCHEMA IF NOT EXISTS dw_bench");
  tx.exec0("DROP TABLE IF EXISTS dw_bench.odbc_events, dw_bench.odbc_events_noidx");
  tx.exec0(
      "CREATE TABLE dw_bench.odbc_events AS SELECT i::bigint AS id, now() - i * interval "
      "'1 second' AS at, random() * 100 AS amount FROM generate_series(1, " +
      std::to_string(rows) + ") i");
  tx.exec0("CREATE INDEX ON dw_bench.odbc_events (at)");
  tx.exec0("CREATE TABLE dw_bench.odbc_events_noidx AS SELECT * FROM dw_bench.odbc_events");
  tx.exec0("VACUUM ANALYZE dw_bench.odbc_events");
  tx.exec0("VACUUM ANALYZE dw_bench.odbc_events_noidx");
  std::printf("  created in %.1f s (both tables, index, VACUUM ANALYZE)\n",
              msSince(clock, t0) / 1000.0);
}

// Native then ODBC, `blocks` times over, `runs` probes each in all.
void interleaved(const ProbeUnderTest& native, const ProbeUnderTest& odbc, int runs, int blocks,
                 Sample& n, Sample& o) {
  for (int b = 0; b < blocks; ++b) {
    const int k = runs / blocks + (b < runs % blocks ? 1 : 0);
    native.measure(k, n);
    odbc.measure(k, o);
  }
}

void printRatio(const Sample& n, const Sample& o) {
  std::printf("    ratio ODBC/native: mean %.2fx, p50 %.2fx, p99 %.2fx, CPU/run %.2fx\n",
              mean(o.ms) / mean(n.ms), percentile(o.ms, 0.5) / percentile(n.ms, 0.5),
              percentile(o.ms, 0.99) / percentile(n.ms, 0.99), o.cpu_seconds / n.cpu_seconds);
}

void benchPg(const Options& opt, const Clock& clock) {
  preparePg(opt.pg, opt.rows, clock);
  const std::map<std::string, std::string> env{{"DSN", opt.pg}, {"CONN", pgOdbcConnection(opt.pg)}};
  const std::string native_src =
      "sources:\n  pg: {type: postgres, dsn: \"${DSN}\", max_connections: 1, "
      "statement_timeout: 10m}\nprobes:\n";
  const std::string odbc_src =
      "sources:\n  pgodbc: {type: odbc, dialect: postgres, connection: \"${CONN}\", "
      "max_connections: 1, statement_timeout: 10m}\nprobes:\n";
  std::printf("odbc_bench: PostgreSQL, %ld rows, freshness probe (max(at))\n", opt.rows);
  std::printf(
      "  native = type postgres (libpq); ODBC = type odbc, dialect postgres, psqlODBC "
      "\"PostgreSQL Unicode\"; max_connections 1, connection kept between runs\n");
  struct Case {
    const char* title;
    const char* table;
    int runs;
    int blocks;
  };
  const Case cases[] = {
      {"index on at", "dw_bench.odbc_events", opt.runs, std::max(1, opt.runs / 10)},
      {"no index (parallel seq scan)", "dw_bench.odbc_events_noidx", opt.unindexed_runs, 1}};
  for (const auto& c : cases) {
    if (c.runs <= 0) continue;
    ProbeUnderTest native(native_src + freshnessProbe("pg", c.table), env, clock);
    ProbeUnderTest odbc(odbc_src + freshnessProbe("pgodbc", c.table), env, clock);
    const auto a = native.runOnce();  // warm-up: connects, caches the plan
    const auto b = odbc.runOnce();
    std::printf(
        "  %s: %d runs each (native then ODBC, %d block%s), after a warm-up run; "
        "ages seen %.0f s / %.0f s\n",
        c.title, c.runs, c.blocks, c.blocks > 1 ? "s" : "", a.value.value_or(-1),
        b.value.value_or(-1));
    Sample n, o;
    interleaved(native, odbc, c.runs, c.blocks, n, o);
    printHeader();
    printRow("native (libpq)", n);
    printRow("ODBC (psqlODBC)", o);
    printRatio(n, o);
  }
}

// Runs one statement over a plain (writable) ODBC connection; exits on error.
void odbcExec(const OdbcDbc& dbc, const std::string& sql) {
  auto stmt = OdbcStmt::allocate(dbc);
  if (!stmt) {
    std::fprintf(stderr, "%s\n", stmt.error().c_str());
    std::exit(1);
  }
  std::string text = sql;
  const SQLRETURN rc = SQLExecDirect(stmt->get(), reinterpret_cast<SQLCHAR*>(text.data()),
                                     static_cast<SQLINTEGER>(text.size()));
  if (!odbc::succeeded(rc) && rc != SQL_NO_DATA) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(),
                 odbc::formatDiagnostics(stmt->diagnostics(), "failed").c_str());
    std::exit(1);
  }
  // ANALYZE TABLE returns a result set: drain it.
  while (SQLFetch(stmt->get()) == SQL_SUCCESS) {
  }
}

std::optional<int64_t> mariaCount(ProbeUnderTest& any) {
  auto r = any.source().query("SELECT COUNT(*) FROM dw_bench.events", {}, {});
  if (!r || r->rows.empty()) return std::nullopt;
  return std::get<int64_t>(r->rows[0][0]);
}

// Creates and loads dw_bench.events unless it already holds `rows` rows.
void prepareMaria(const std::string& conn, long rows, ProbeUnderTest& reader, const Clock& clock) {
  if (mariaCount(reader) == rows) {
    std::printf("  load: table kept from an earlier run (%ld rows)\n", rows);
    return;
  }
  auto env = OdbcEnvironment::create();
  if (!env) {
    std::fprintf(stderr, "%s\n", env.error().c_str());
    std::exit(1);
  }
  auto dbc = OdbcDbc::allocate(**env);
  if (!dbc || !dbc->connect(conn).ok()) {
    std::fprintf(stderr, "cannot connect to MariaDB for the load\n");
    std::exit(1);
  }
  odbcExec(*dbc, "CREATE DATABASE IF NOT EXISTS dw_bench");
  odbcExec(*dbc, "DROP TABLE IF EXISTS dw_bench.events");
  odbcExec(*dbc,
           "CREATE TABLE dw_bench.events (id BIGINT PRIMARY KEY, at DATETIME(6) NOT NULL, "
           "amount DOUBLE) ENGINE=InnoDB");
  const auto t0 = clock.monotonic();
  odbcExec(*dbc,
           "INSERT INTO dw_bench.events SELECT seq, UTC_TIMESTAMP(6) - INTERVAL seq SECOND, "
           "RAND() * 100 FROM seq_1_to_" +
               std::to_string(rows));
  const double insert_s = msSince(clock, t0) / 1000.0;
  const auto t1 = clock.monotonic();
  odbcExec(*dbc, "ALTER TABLE dw_bench.events ADD INDEX (at)");
  const double index_s = msSince(clock, t1) / 1000.0;
  const auto t2 = clock.monotonic();
  odbcExec(*dbc, "ANALYZE TABLE dw_bench.events");
  const double analyze_s = msSince(clock, t2) / 1000.0;
  std::printf(
      "  load: %.1f s INSERT ... SELECT FROM seq_1_to_%ld (one statement), %.1f s ADD "
      "INDEX (at), %.1f s ANALYZE TABLE\n",
      insert_s, rows, index_s, analyze_s);
}

void benchMaria(const Options& opt, const Clock& clock) {
  const std::map<std::string, std::string> env{{"CONN", opt.mariadb}};
  const std::string src =
      "sources:\n  maria: {type: odbc, dialect: mysql, connection: \"${CONN}\", "
      "max_connections: 1, statement_timeout: 10m}\nprobes:\n";
  std::printf(
      "odbc_bench: MariaDB through MariaDB Connector/ODBC (\"MariaDB Unicode\"), %ld rows, "
      "InnoDB, index on at\n",
      opt.rows);
  ProbeUnderTest fresh(src + freshnessProbe("maria", "dw_bench.events"), env, clock);
  prepareMaria(opt.mariadb, opt.rows, fresh, clock);
  ProbeUnderTest est(src +
                         "  - {name: est, type: volume, source: maria, table: dw_bench.events, "
                         "method: estimate, min: 1}\n",
                     env, clock);
  const auto a = fresh.runOnce();
  const auto b = est.runOnce();
  std::printf(
      "  %d runs each, after one warm-up run; freshness saw age %.0f s, estimate %.0f "
      "rows (exact %ld)\n",
      opt.runs, a.value.value_or(-1), b.value.value_or(-1), opt.rows);
  Sample f, e;
  fresh.measure(opt.runs, f);
  est.measure(opt.runs, e);
  printHeader();
  printRow("freshness (max)", f);
  printRow("volume estimate", e);
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parseOptions(argc, argv);
  if (opt.pg.empty() && opt.mariadb.empty()) {
    std::fprintf(stderr,
                 "odbc_bench: no server: set DATAWATCH_TEST_PG_DSN and/or "
                 "DATAWATCH_TEST_MARIADB_ODBC, or pass --pg= / --mariadb=\n");
    return 2;
  }
  SystemClock clock;
  std::printf("odbc_bench: load average %s (1/5/15 min), %u cores\n", loadAverage().c_str(),
              std::thread::hardware_concurrency());
  if (opt.pg.empty()) {
    std::printf("odbc_bench: PostgreSQL part skipped (no DATAWATCH_TEST_PG_DSN / --pg)\n");
  } else {
    benchPg(opt, clock);
  }
  if (opt.mariadb.empty()) {
    std::printf("odbc_bench: MariaDB part skipped (no DATAWATCH_TEST_MARIADB_ODBC / --mariadb)\n");
  } else {
    benchMaria(opt, clock);
  }
  std::printf("odbc_bench: load average %s at the end\n", loadAverage().c_str());
  return 0;
}
