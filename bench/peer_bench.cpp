// peer_bench: datawatch against the Go exporter prometheus-sql-exporter 0.4.5
// (Debian's package of justwatchcom/sql_exporter) on the same work: N
// PostgreSQL freshness queries every second, each process alone for the same
// time (issue 19).
//
// Setup: a throwaway PostgreSQL (scripts/pg-test-server.sh; or --dsn), schema
// bench_peer with N tables t0..tN-1 (id bigint, at timestamptz) of 300 rows and
// an index on `at`, so each query is a cheap index probe and the figures are
// the agents', not the database's. Then, for each N: `datawatch run` (N
// freshness probes `every: 1s`, one source with max_connections 4, SQLite state
// in a temp dir, --log-level warn), stopped; then prometheus-sql-exporter (the
// same N queries, `interval: 1s`, in Debian's environment from
// /etc/default/prometheus-sql-exporter), stopped. For each, after a 5 s
// warm-up, over the window:
//  - runs: the delta of sum(seq_scan + idx_scan) over bench_peer's tables in
//    pg_stat_user_tables, counted by the server the same way for both (and for
//    datawatch the delta of sum(datawatch_probe_runs_total) from its /metrics);
//  - CPU: the delta of utime+stime from /proc/PID/stat, per run and in % of a core;
//  - peak RSS: VmHWM from /proc/PID/status just before the stop;
//  - sessions: connections it opened (pg_stat_database.sessions), and the
//    server's CPU per run (all its processes; temporary server only).
// Each process's /metrics is fetched outside the CPU window, once at each end.
// Prints the ratios datawatch / sql_exporter next to the targets.
//
// Parallelism: 4 connections each. sql_exporter runs a job's queries in
// sequence on one connection per connection URL (every query on each URL),
// then sleeps `interval`; so the N queries are split over 4 jobs.
//
// usage: peer_bench [N[,N...]=100] [seconds=60] [--dsn DSN] [--rounds K]
//   --rounds K: K alternating rounds per N, then the medians and their ratios.
//   PEER_BENCH_DATAWATCH=PATH runs that datawatch binary instead of this build's.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <pqxx/pqxx>
#include <stdexcept>

#include "bench/bench_util.hpp"
#include "bench/ha_procs.hpp"

using namespace datawatch::bench;
namespace fs = std::filesystem;

namespace {

constexpr int kConnections = 4;
constexpr int kRows = 300;
constexpr double kWarmup = 5;
constexpr const char* kExporter = "/usr/bin/prometheus-sql-exporter";
constexpr const char* kDebianEnv = "/etc/default/prometheus-sql-exporter";

struct Options {
  std::vector<int> ns;
  int seconds = 60;
  std::string dsn;
  // Alternating rounds per N (datawatch, exporter, datawatch, ...): CPU per run
  // swings +-30% run to run on a shared VM, so the verdict is on the medians.
  int rounds = 1;
};

std::optional<Options> parseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dsn" && i + 1 < argc) {
      o.dsn = argv[++i];
    } else if (a == "--rounds" && i + 1 < argc) {
      o.rounds = std::atoi(argv[++i]);
      if (o.rounds < 1 || o.rounds > 100) return std::nullopt;
    } else if (a.rfind("-", 0) == 0 || pos.size() == 2) {
      return std::nullopt;
    } else {
      pos.push_back(a);
    }
  }
  std::istringstream ns(pos.empty() ? "100" : pos[0]);
  for (std::string n; std::getline(ns, n, ',');) {
    const int v = std::atoi(n.c_str());
    if (v < 1 || v > 100000) return std::nullopt;
    o.ns.push_back(v);
  }
  if (pos.size() > 1) o.seconds = std::atoi(pos[1].c_str());
  if (o.ns.empty() || o.seconds < 1) return std::nullopt;
  return o;
}

// SIGINT, SIGTERM and SIGHUP blocked and waited for in sleep(), so an
// interrupted run unwinds and cleans up.
class Signals {
 public:
  Signals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
    sigprocmask(SIG_BLOCK, &set_, nullptr);
  }
  // Sleeps `s` seconds; throws when one of the signals arrives.
  void sleep(double s) const {
    const auto t0 = Steady::now();
    for (double left = s; left > 0; left = s - since(t0)) {
      timespec ts{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
      const int sig = sigtimedwait(&set_, nullptr, &ts);
      if (sig > 0) throw std::runtime_error(std::string("interrupted by ") + strsignal(sig));
      if (sig < 0 && errno == EAGAIN) return;
    }
  }

 private:
  sigset_t set_{};
};

std::string makeTempDir(const std::string& prefix) {
  std::string t = "/tmp/" + prefix + ".XXXXXX";
  if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed: " + t);
  return t;
}

// A fresh directory, removed with its contents when this goes.
struct TempDir {
  const std::string path = makeTempDir("peer_bench");
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The last `n` lines of a file, indented.
std::string tail(const std::string& file, size_t n = 5) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += "    " + lines[i] + "\n";
  return out;
}

// One URL both can use: sql_exporter's lib/pq knows the postgres:// scheme
// only and defaults to sslmode=require.
std::string sharedDsn(std::string dsn) {
  if (dsn.rfind("postgresql://", 0) == 0) dsn = "postgres://" + dsn.substr(13);
  if (dsn.rfind("postgres://", 0) != 0)
    throw std::runtime_error("the DSN must be a postgres:// URL (sql_exporter takes URLs only)");
  if (dsn.find("sslmode=") == std::string::npos)
    dsn += (dsn.find('?') == std::string::npos ? "?" : "&") + std::string("sslmode=disable");
  return dsn;
}

// The PostgreSQL under test: --dsn's, or a temporary server that the
// destructor destroys.
class Server {
 public:
  Server(const std::string& dsn, const std::string& work) {
    if (!dsn.empty()) {
      dsn_ = sharedDsn(dsn);
      return;
    }
    dir_ = makeTempDir("peer_bench_pg");
    if (script("start", work + "/pg-start.log") != 0) {
      script("destroy", "/dev/null");
      throw std::runtime_error("scripts/pg-test-server.sh start failed:\n" +
                               tail(work + "/pg-start.log"));
    }
    std::ifstream in(dir_ + "/dsn");
    std::getline(in, dsn_);
    dsn_ = sharedDsn(dsn_);
  }
  ~Server() {
    if (!dir_.empty()) script("destroy", "/dev/null");
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  const std::string& dsn() const { return dsn_; }
  bool ours() const { return !dir_.empty(); }
  pid_t postmaster() const {
    std::ifstream in(dir_ + "/data/postmaster.pid");
    pid_t pid = -1;
    return ours() && (in >> pid) ? pid : -1;
  }

 private:
  int script(const std::string& cmd, const std::string& log) const {
    const pid_t pid = spawnProcess(
        {"/bin/bash", DATAWATCH_SOURCE_DIR "/scripts/pg-test-server.sh", cmd, dir_}, {}, log);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  std::string dir_, dsn_;
};

void createTables(pqxx::connection& c, int n) {
  pqxx::nontransaction(c).exec(
      "DROP SCHEMA IF EXISTS bench_peer CASCADE; CREATE SCHEMA bench_peer");
  for (int b = 0; b < n; b += 100) {
    pqxx::work tx(c);
    for (int i = b; i < std::min(n, b + 100); ++i) {
      const std::string t = "bench_peer.t" + std::to_string(i);
      tx.exec("CREATE TABLE " + t + " (id bigint, at timestamptz)");
      tx.exec("INSERT INTO " + t + " SELECT g, now() - g * interval '1 second' " +
              "FROM generate_series(1, " + std::to_string(kRows) + ") g");
      tx.exec("CREATE INDEX ON " + t + " (at)");
    }
    tx.commit();
  }
  pqxx::nontransaction(c).exec("VACUUM ANALYZE");
}

// Drops bench_peer when it goes (the temporary server goes anyway).
struct SchemaGuard {
  pqxx::connection& c;
  ~SchemaGuard() {
    try {
      pqxx::nontransaction(c).exec("DROP SCHEMA IF EXISTS bench_peer CASCADE");
    } catch (const std::exception&) {
    }
  }
};

struct DbCounters {
  double scans = 0, sessions = 0;
};

// Fresh values (pg_stat_clear_snapshot), as far as the backends have flushed them.
DbCounters counters(pqxx::connection& c) {
  pqxx::nontransaction tx(c);
  tx.exec("SELECT pg_stat_clear_snapshot()");
  const auto r = tx.exec(
      "SELECT (SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables"
      " WHERE schemaname = 'bench_peer'), (SELECT sessions FROM pg_stat_database"
      " WHERE datname = current_database())");
  return {r[0][0].as<double>(), r[0][1].as<double>()};
}

// The sum of a metric's samples in a Prometheus text body (0 when absent).
double metricSum(const std::string& body, const std::string& name) {
  std::istringstream in(body);
  double sum = 0;
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(name, 0) != 0 || l.size() <= name.size()) continue;
    if (l[name.size()] == '{' || l[name.size()] == ' ') sum += std::stod(l.substr(l.rfind(' ')));
  }
  return sum;
}

// A process under test: how to start it, and where it answers.
struct Agent {
  std::string name;
  std::vector<std::string> argv;
  EnvList env;
  int port = 0;
  std::string log;
};

Agent datawatchAgent(const std::string& dir, int n, const std::string& dsn) {
  const int port = freePort();
  std::ofstream y(dir + "/datawatch.yaml");
  y << "agent:\n  state: \"sqlite://" << dir << "/state.db\"\n  listen: \"127.0.0.1:" << port
    << "\"\nsources:\n  pg: {type: postgres, dsn: \"${PEER_BENCH_DSN}\", max_connections: "
    << kConnections << "}\nprobes:\n";
  for (int i = 0; i < n; ++i)
    y << "  - {name: t" << i << ", type: freshness, source: pg, table: bench_peer.t" << i
      << ", column: at, max_age: 1h, every: 1s}\n";
  // PEER_BENCH_DATAWATCH: another build's binary (an A/B in one sitting).
  const char* other = std::getenv("PEER_BENCH_DATAWATCH");  // NOLINT(concurrency-mt-unsafe)
  return {"datawatch",
          {other != nullptr ? other : DATAWATCH_BINARY, "run", "-c", dir + "/datawatch.yaml",
           "--log-level", "warn"},
          {{"PEER_BENCH_DSN", dsn}},
          port,
          dir + "/datawatch.log"};
}

// Debian's environment for the service, but our config file (-config.file).
EnvList exporterEnv() {
  EnvList env;
  std::ifstream in(kDebianEnv);
  for (std::string l; std::getline(in, l);) {
    const auto eq = l.find('=');
    if (l.empty() || l[0] == '#' || eq == std::string::npos) continue;
    std::string v = l.substr(eq + 1);
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'')) v = v.substr(1, v.size() - 2);
    if (l.substr(0, eq) != "CONFIG" && l.substr(0, eq) != "ARGS")
      env.emplace_back(l.substr(0, eq), v);
  }
  if (env.empty()) env = {{"GOGC", "40"}, {"GOMAXPROCS", "4"}};
  return env;
}

Agent exporterAgent(const std::string& dir, int n, const std::string& dsn) {
  const int port = freePort();
  std::string quoted;  // a YAML single-quoted scalar
  for (char ch : dsn) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  std::ofstream y(dir + "/sql_exporter.yml");
  y << "jobs:\n";
  const int jobs = std::min(n, kConnections);
  for (int j = 0; j < jobs; ++j) {
    y << "- name: \"bench" << j << "\"\n  interval: '1s'\n  connections:\n  - '" << quoted
      << "'\n  queries:\n";
    for (int i = j; i < n; i += jobs)
      y << "  - name: \"t" << i << "\"\n    help: \"age\"\n    values: [\"age\"]\n"
        << "    query: \"SELECT extract(epoch from now() - max(at))::float AS age FROM "
        << "bench_peer.t" << i << "\"\n";
  }
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  return {"sql_exporter",
          {kExporter, "-config.file", dir + "/sql_exporter.yml", "-web.listen-address", listen},
          exporterEnv(),
          port,
          dir + "/sql_exporter.log"};
}

struct Sample {
  Steady::time_point t;
  double cpu = 0, server_cpu = -1, self_runs = 0, errors = 0;
  DbCounters db;
};

Sample sample(ChildProcess& c, const Agent& a, pqxx::connection& db, pid_t postmaster, bool end) {
  Sample s;
  std::string body;
  if (!end) body = httpGet(a.port, "/metrics", 10).value_or("");
  s.t = Steady::now();
  s.cpu = procCpu(c.pid());
  s.db = counters(db);
  if (postmaster > 0) s.server_cpu = serverCpu(postmaster);
  if (end) body = httpGet(a.port, "/metrics", 10).value_or("");
  s.self_runs = metricSum(body, "datawatch_probe_runs_total");
  s.errors = metricSum(body, "datawatch_probe_errors_total");
  return s;
}

struct Figures {
  double window = 0, cpu = 0, runs = 0, self_runs = 0, errors = 0, sessions = 0, server_cpu = -1;
  long hwm_kb = -1;
  // RSS at the window's end, split: private (heap, stacks) and mapped from
  // files (the binary's and shared libraries' text: a shared library mapped by
  // other processes too counts in full here).
  long anon_kb = -1, file_kb = -1;
};

Figures measure(const Agent& a, pqxx::connection& db, const Server& server, int seconds,
                const Signals& sig) {
  ChildProcess child(a.argv, a.env, a.log);
  if (!waitHttp(child.pid(), a.port, "/metrics", 30))
    throw std::runtime_error(a.name + " did not start; its log:\n" + tail(a.log));
  sig.sleep(kWarmup);
  const Sample s0 = sample(child, a, db, server.postmaster(), false);
  sig.sleep(seconds);
  const Sample s1 = sample(child, a, db, server.postmaster(), true);
  Figures f;
  f.hwm_kb = statusKb("VmHWM:", child.pid());
  f.anon_kb = statusKb("RssAnon:", child.pid());
  f.file_kb = statusKb("RssFile:", child.pid());
  if (!child.alive()) throw std::runtime_error(a.name + " exited during the run:\n" + tail(a.log));
  f.window = std::chrono::duration<double>(s1.t - s0.t).count();
  f.cpu = s1.cpu - s0.cpu;
  f.runs = s1.db.scans - s0.db.scans;
  f.sessions = s1.db.sessions - s0.db.sessions;
  f.self_runs = s1.self_runs - s0.self_runs;
  f.errors = s1.errors - s0.errors;
  if (s0.server_cpu >= 0) f.server_cpu = s1.server_cpu - s0.server_cpu;
  return f;
}

double perRunUs(double cpu, double runs) {
  return runs > 0 ? cpu / runs * 1e6 : 0;
}

void printRow(const Agent& a, const Figures& f) {
  std::printf("  %-13s %7.1f %8.0f µs %6.1f %% %7.1f MB %9.0f", a.name.c_str(), f.runs / f.window,
              perRunUs(f.cpu, f.runs), 100 * f.cpu / f.window, f.hwm_kb / 1024.0, f.sessions);
  if (f.server_cpu >= 0) std::printf(" %9.0f µs", perRunUs(f.server_cpu, f.runs));
  std::printf("\n    RSS at the end: %.1f MB anonymous + %.1f MB file-backed\n", f.anon_kb / 1024.0,
              f.file_kb / 1024.0);
  std::ifstream in(a.log);
  std::string line, last;
  int lines = 0;
  for (; std::getline(in, line); ++lines) last = line;
  if (lines > 0)
    std::printf("    %s logged %d line(s), the last: %.200s\n", a.name.c_str(), lines,
                last.c_str());
}

const char* verdict(double ratio, double target) {
  return ratio <= target ? "PASS" : "MISS";
}

void printResults(int n, const Agent& dw, const Figures& d, const Agent& ex, const Figures& e) {
  std::printf("  %-13s %7s %11s %8s %10s %9s %12s\n", "", "runs/s", "CPU/run", "CPU", "peak RSS",
              "sessions", "PG CPU/run");
  printRow(dw, d);
  printRow(ex, e);
  std::printf("  runs scheduled: %d/s (sql_exporter sleeps 1 s after each pass, so a bit less)\n",
              n);
  std::printf(
      "  datawatch's own count: sum(datawatch_probe_runs_total) +%.0f vs +%.0f by pg_stat "
      "(errors: %.0f)\n",
      d.self_runs, d.runs, d.errors);
  std::printf(
      "  pg_stat lag: backends flush their counters at most once a second (PG15), so each end "
      "of the window may miss up to 1 s of runs (about +-%d runs, +-%.1f%%)\n",
      n, 100.0 / d.window);
  const double cpu = perRunUs(d.cpu, d.runs) / perRunUs(e.cpu, e.runs);
  const double rss = static_cast<double>(d.hwm_kb) / static_cast<double>(e.hwm_kb);
  std::printf("  datawatch / sql_exporter: CPU per run %.2fx (target <= 0.6x) %s, ", cpu,
              verdict(cpu, 0.6));
  std::printf("peak RSS %.2fx (target <= 1.0x) %s; anonymous RSS at the end %.2fx\n", rss,
              verdict(rss, 1.0), static_cast<double>(d.anon_kb) / static_cast<double>(e.anon_kb));
}

void printSetup(const Options& o, const Server& server, pqxx::connection& db) {
  std::printf(
      "peer_bench: datawatch vs prometheus-sql-exporter 0.4.5, N freshness queries at 1 s\n");
  std::printf("  PostgreSQL %s (%s), %d rows and an index on `at` per table\n",
              pqxx::nontransaction(db).exec("SHOW server_version")[0][0].c_str(),
              server.ours() ? "temporary server, scripts/pg-test-server.sh" : "--dsn", kRows);
  std::printf("  each process alone: %.0f s warm-up, then a %d s window; datawatch first\n",
              kWarmup, o.seconds);
  std::printf(
      "  parallelism, %d connections each: datawatch one source with max_connections %d "
      "(max_concurrent_probes default 8), --log-level warn;\n"
      "    sql_exporter %d jobs of N/%d queries with one connection each (a job runs its "
      "queries in sequence on each of its connections, then sleeps its interval)\n",
      kConnections, kConnections, kConnections, kConnections);
  std::printf("  sql_exporter env (Debian's, %s):", kDebianEnv);
  for (const auto& [k, v] : exporterEnv()) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf(
      "\n  runs: delta of sum(seq_scan + idx_scan) over bench_peer in pg_stat_user_tables\n"
      "  sessions: connections opened in the window (sql_exporter's database/sql retires one "
      "after 2 x interval: ConnMaxLifetime);\n  PG CPU/run: all the server's processes "
      "(temporary server only)\n");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// The medians over the rounds, and the range of each round's ratio.
void printMedians(const std::vector<Figures>& d, const std::vector<Figures>& e) {
  std::vector<double> dc, ec, dr, er, da, ea, ratios;
  for (size_t i = 0; i < d.size(); ++i) {
    dc.push_back(perRunUs(d[i].cpu, d[i].runs));
    ec.push_back(perRunUs(e[i].cpu, e[i].runs));
    dr.push_back(static_cast<double>(d[i].hwm_kb) / 1024.0);
    er.push_back(static_cast<double>(e[i].hwm_kb) / 1024.0);
    da.push_back(static_cast<double>(d[i].anon_kb) / 1024.0);
    ea.push_back(static_cast<double>(e[i].anon_kb) / 1024.0);
    ratios.push_back(dc.back() / ec.back());
  }
  const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  const double cpu = median(dc) / median(ec);
  const double rss = median(dr) / median(er);
  std::printf(
      "  medians over %zu rounds: CPU per run %.0f / %.0f µs, peak RSS %.1f / %.1f MB\n"
      "  datawatch / sql_exporter (medians): CPU per run %.2fx (rounds %.2f-%.2fx; target <= "
      "0.6x) %s, peak RSS %.2fx (target <= 1.0x) %s\n"
      "  anonymous RSS at the end (medians): %.1f / %.1f MB = %.2fx\n",
      d.size(), median(dc), median(ec), median(dr), median(er), cpu, *lo, *hi, verdict(cpu, 0.6),
      rss, verdict(rss, 1.0), median(da), median(ea), median(da) / median(ea));
}

void benchN(int n, const Options& o, const Server& server, pqxx::connection& db,
            const std::string& work, const Signals& sig) {
  const std::string dir = work + "/n" + std::to_string(n);
  fs::create_directories(dir);
  createTables(db, n);
  std::printf("\nN = %d\n", n);
  std::fflush(stdout);
  const Agent dw = datawatchAgent(dir, n, server.dsn());
  const Agent ex = exporterAgent(dir, n, server.dsn());
  std::vector<Figures> d, e;
  for (int r = 1; r <= o.rounds; ++r) {
    if (o.rounds > 1) std::printf("round %d of %d\n", r, o.rounds);
    std::fflush(stdout);  // before the fork: a child would print it again
    d.push_back(measure(dw, db, server, o.seconds, sig));
    e.push_back(measure(ex, db, server, o.seconds, sig));
    printResults(n, dw, d.back(), ex, e.back());
    std::fflush(stdout);
  }
  if (o.rounds > 1) printMedians(d, e);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parseArgs(argc, argv);
  if (!o) {
    std::fprintf(stderr,
                 "usage: peer_bench [N[,N...]=100] [seconds=60] [--dsn DSN] [--rounds K]\n");
    return 2;
  }
  if (access(kExporter, X_OK) != 0) {
    std::fprintf(stderr,
                 "peer_bench: %s not found: apt-get install prometheus-sql-exporter (Debian's "
                 "package; its service need not run)\n",
                 kExporter);
    return 2;
  }
  const Signals sig;
  try {
    const TempDir work;
    const Server server(o->dsn, work.path);
    pqxx::connection db(server.dsn());
    const SchemaGuard schema{db};
    printSetup(*o, server, db);
    for (int n : o->ns) benchN(n, *o, server, db, work.path, sig);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer_bench: %s\n", e.what());
    return 1;
  }
}
