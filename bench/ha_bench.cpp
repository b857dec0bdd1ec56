// ha_bench: replicas of `datawatch run` sharing one PostgreSQL state store.
//
//  1. 1, 2 and 3 replicas (real processes), 3,000 `sql` probes (`SELECT 1` on a
//     tiny SQLite file, so the source is not the limit) every 1s: runs per
//     second in a steady-state window (probe_runs rows), CPU seconds of each
//     replica and of the PostgreSQL server, and the state database's cost per
//     run (transactions, statements, dw_schedule updates);
//  2. one Fleet::claim(100) of 3,000 due probes, timed through the Fleet API;
//  3. failover over K kills: 3 replicas, kill -9 the leader, time until another
//     replica holds an unexpired lease in dw_leader AND its /api/v1/status says
//     fleet.role "leader"; a replacement is started after each kill.
//
// usage: ha_bench [--quick] [--seconds=N] [--probes=N] [--kills=N] [--phases=123]
//                 [DSN] [DATAWATCH_BINARY]
// DSN defaults to env DATAWATCH_TEST_PG_DSN (a server's DSN: the bench creates
// and drops its own databases dw_habench_*); the binary to
// build-dev/agent/datawatch. Needs CREATEDB; CPU of the server is read from its
// postmaster.pid when the DSN's role may read data_directory and the server
// runs on this host.

#include <sqlite3.h>

#include <pqxx/pqxx>

#include "bench/ha_procs.hpp"
#include "ha/fleet.hpp"
#include "store/postgres_ha_schema.hpp"

using namespace datawatch;
using namespace datawatch::bench;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string dsn;
  std::string binary = "build-dev/agent/datawatch";
  int seconds = 20;  // steady-state window per replica count
  int probes = 3000;
  int kills = 10;
  bool quick = false;
  std::string phases = "123";  // which of the three parts to run
};

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string withDatabase(const std::string& dsn, const std::string& db) {
  const auto q = dsn.find('?');
  const std::string base = dsn.substr(0, q);
  const std::string query = q == std::string::npos ? "" : dsn.substr(q);
  return base.substr(0, base.rfind('/') + 1) + db + query;
}

// One value (the first field of the first row, "" when NULL or no row).
std::string one(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

double num(const std::string& dsn, const std::string& sql) {
  const auto s = one(dsn, sql);
  return s.empty() ? 0 : std::stod(s);
}

// A fresh database on the server; dropped by the destructor.
class BenchDb {
 public:
  BenchDb(std::string server, const std::string& name) : server_(std::move(server)), name_(name) {
    one(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    one(server_, "CREATE DATABASE " + name_);
    dsn_ = withDatabase(server_, name_);
  }
  ~BenchDb() {
    try {
      one(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  BenchDb(const BenchDb&) = delete;
  BenchDb& operator=(const BenchDb&) = delete;
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  std::string server_, name_, dsn_;
};

// The server's postmaster pid from DATA_DIR/postmaster.pid, or -1.
pid_t postmasterPid(const std::string& dsn) {
  try {
    std::ifstream in(fs::path(one(dsn, "SHOW data_directory")) / "postmaster.pid");
    pid_t pid = -1;
    if (in >> pid && fs::exists("/proc/" + std::to_string(pid))) return pid;
  } catch (const std::exception&) {
  }
  return -1;
}

// The config every replica shares (replica id and state DSN from the environment,
// so the file, and the config hash, are the same for all). Returns its path.
std::string writeConfig(const std::string& dir, int probes, const std::string& lease) {
  const std::string db = dir + "/source.db";
  if (!fs::exists(db)) {
    sqlite3* h = nullptr;
    sqlite3_open(db.c_str(), &h);
    sqlite3_exec(h, "CREATE TABLE tiny (id integer); INSERT INTO tiny VALUES (1);", nullptr,
                 nullptr, nullptr);
    sqlite3_close(h);
  }
  const std::string path = dir + "/ha_bench_" + std::to_string(probes) + "_" + lease + ".yaml";
  std::ofstream y(path);
  y << "agent:\n  state: \"${DW_BENCH_STATE}\"\n  replica_id: \"${DW_BENCH_REPLICA}\"\n"
    << "  max_concurrent_probes: 64\n  leader_lease: " << lease << "\n"
    << "sources:\n  tiny: {type: sqlite, path: " << db << ", max_connections: 256}\n"
    << "probes:\n";
  for (int i = 0; i < probes; ++i)
    y << "  - {name: p" << i
      << ", type: sql, source: tiny, query: \"SELECT 1\", min: 0, every: 1s}\n";
  return path;
}

// --- 1. runs per second ------------------------------------------------------

struct DbStats {
  double xacts = 0, schedule_upd = 0, runs_ins = 0;
};

DbStats dbStats(const std::string& dsn, const std::string& db) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  DbStats s;
  auto r = tx.exec("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = " +
                   tx.quote(db));
  if (!r.empty()) s.xacts = r[0][0].as<double>();
  r = tx.exec(
      "SELECT relname, n_tup_upd, n_tup_ins FROM pg_stat_user_tables "
      "WHERE relname IN ('dw_schedule', 'probe_runs')");
  for (const auto& row : r) {
    if (std::string(row[0].c_str()) == "dw_schedule") s.schedule_upd = row[1].as<double>();
    if (std::string(row[0].c_str()) == "probe_runs") s.runs_ins = row[2].as<double>();
  }
  return s;
}

bool haveStatements(const std::string& dsn) {
  try {
    one(dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    one(dsn, "SELECT pg_stat_statements_reset()");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Calls and ms in this database since the last reset: all, and the claim path's
// (statements on dw_schedule or the claim lock, and the BEGIN/COMMIT around them
// are not told apart from the store's, so counted under "all").
struct StmtStats {
  double calls = 0, ms = 0, claim_calls = 0, claim_ms = 0;
};

StmtStats statements(const std::string& dsn) {
  StmtStats s;
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(
      "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0), "
      "coalesce(sum(calls) FILTER (WHERE query ~ 'dw_schedule|pg_advisory_xact_lock'), 0), "
      "coalesce(sum(total_exec_time) FILTER (WHERE query ~ 'dw_schedule|pg_advisory_xact_lock'), "
      "0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
      "current_database())");
  s.calls = r[0][0].as<double>();
  s.ms = r[0][1].as<double>();
  s.claim_calls = r[0][2].as<double>();
  s.claim_ms = r[0][3].as<double>();
  return s;
}

struct ScaleRow {
  int replicas = 0;
  double runs_per_s = 0, window = 0;
  std::vector<double> replica_cpu;
  double pg_cpu = -1;
  double host = 0;  // CPU s/s the whole host used in the window (other work included)
  DbStats d;
  bool stmts = false;
  StmtStats st;
};

ScaleRow scaleRun(const Options& o, int n, const std::string& dir, pid_t postmaster) {
  BenchDb db(o.dsn, "dw_habench_scale" + std::to_string(n));
  const auto config = writeConfig(dir, o.probes, "15s");
  std::vector<Replica> rs;
  for (int i = 0; i < n; ++i)
    rs.push_back(spawn(o.binary, config, "r" + std::to_string(i + 1), db.dsn(), dir));
  ScaleRow row;
  row.replicas = n;
  for (auto& r : rs) {
    if (!waitUp(r, 60)) {
      std::fprintf(stderr, "ha_bench: replica %s did not come up (see %s/%s.log)\n", r.id.c_str(),
                   dir.c_str(), r.id.c_str());
      stopAll(rs);
      std::exit(1);
    }
  }
  sleepFor(o.quick ? 3 : 5);  // warm-up: first runs, jitter, pools
  row.stmts = haveStatements(db.dsn());
  std::vector<double> cpu0;
  for (auto& r : rs) cpu0.push_back(procCpu(r.pid));
  const double pg0 = serverCpu(postmaster);
  const double host0 = hostBusy();
  const DbStats d0 = dbStats(db.dsn(), db.name());
  const int64_t w0 = wallMs();
  const auto t0 = Steady::now();
  sleepFor(o.seconds);
  const int64_t w1 = wallMs();
  row.window = since(t0);
  row.host = (hostBusy() - host0) / row.window;
  for (size_t i = 0; i < rs.size(); ++i) row.replica_cpu.push_back(procCpu(rs[i].pid) - cpu0[i]);
  if (postmaster > 0) row.pg_cpu = serverCpu(postmaster) - pg0;
  sleepFor(1.5);  // runs in flight land; pending table stats are flushed (<= 1s)
  const DbStats d1 = dbStats(db.dsn(), db.name());
  if (row.stmts) row.st = statements(db.dsn());
  row.d = {d1.xacts - d0.xacts, d1.schedule_upd - d0.schedule_upd, d1.runs_ins - d0.runs_ins};
  const double runs = num(
      db.dsn(), "SELECT count(*) FROM probe_runs WHERE observed_at_ms >= " + std::to_string(w0) +
                    " AND observed_at_ms < " + std::to_string(w1));
  row.runs_per_s = runs / (static_cast<double>(w1 - w0) / 1000.0);
  stopAll(rs);
  return row;
}

void printScale(const std::vector<ScaleRow>& rows, int probes) {
  std::printf(
      "\n1. throughput: %d sql probes (SELECT 1 on a 1-row SQLite file) every 1s, "
      "max_concurrent_probes 64\n",
      probes);
  std::printf(
      "   replicas  runs/s  of sched.  CPU s/s per replica     PG server CPU s/s  "
      "host busy CPU s/s  CPU ms/run (replicas+PG)\n");
  for (const auto& r : rows) {
    std::string cpu;
    for (double c : r.replica_cpu) {
      char b[16];
      std::snprintf(b, sizeof b, "%s%.2f", cpu.empty() ? "" : " ", c / r.window);
      cpu += b;
    }
    double total = std::max(0.0, r.pg_cpu);
    for (double c : r.replica_cpu) total += c;
    std::printf("   %8d  %6.0f  %8.0f%%  %-22s  %17s  %17.2f  %.3f\n", r.replicas, r.runs_per_s,
                100.0 * r.runs_per_s / probes, cpu.c_str(),
                r.pg_cpu < 0 ? "n/a" : std::to_string(r.pg_cpu / r.window).substr(0, 4).c_str(),
                r.host, 1000.0 * total / std::max(1.0, r.runs_per_s * r.window));
  }
  std::printf(
      "\n   state database cost per run (steady-state window deltas / probe_runs inserted):\n");
  std::printf(
      "   replicas  xacts/run  dw_schedule upd/run  stmts/run (all)  claim stmts/run  "
      "claim ms/run* all ms/run\n");
  for (const auto& r : rows) {
    const double runs = std::max(1.0, r.d.runs_ins);
    std::printf("   %8d  %9.2f  %19.2f", r.replicas, r.d.xacts / runs, r.d.schedule_upd / runs);
    if (r.stmts) {
      std::printf("  %15.2f  %15.2f  %12.3f  %10.3f\n", r.st.calls / runs, r.st.claim_calls / runs,
                  r.st.claim_ms / runs, r.st.ms / runs);
    } else {
      std::printf("  (pg_stat_statements not loaded)\n");
    }
  }
  std::printf(
      "   claim stmts: statements on dw_schedule or the claim lock (claim, release, next due);\n"
      "   * their server time, which includes waiting for the fleet-wide claim lock.\n"
      "   host busy: CPU s/s of every process on the host in the window (other work "
      "included).\n");
}

// --- 2. one claim() through the Fleet API -------------------------------------

std::unique_ptr<Fleet> claimFleet(const std::string& dsn, int n) {
  FleetOptions fo;
  fo.dsn = dsn;
  fo.replica_id = "bench";
  fo.config_hash = "h";
  auto fleet = Fleet::open(fo, std::make_shared<spdlog::logger>("bench"));
  if (!fleet) {
    std::fprintf(stderr, "ha_bench: %s\n", fleet.error().c_str());
    std::exit(1);
  }
  std::vector<FleetProbe> probes;
  for (int i = 0; i < n; ++i)
    probes.push_back({"p" + std::to_string(i), "tiny", std::chrono::seconds(1),
                      std::chrono::seconds(35), Duration{}});
  if (auto st = (*fleet)->syncProbes(probes, {{"tiny", 256}}); !st) {
    std::fprintf(stderr, "ha_bench: syncProbes: %s\n", st.message().c_str());
    std::exit(1);
  }
  return std::move(fleet).value();
}

double mean(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return v.empty() ? 0 : t / static_cast<double>(v.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void claimBench(const Options& o) {
  BenchDb db(o.dsn, "dw_habench_claim");
  one(db.dsn(), kPostgresHaSchemaSql);
  const bool stmts = haveStatements(db.dsn());
  auto fleet = claimFleet(db.dsn(), o.probes);
  if (stmts) one(db.dsn(), "SELECT pg_stat_statements_reset()");
  const int n = o.quick ? 60 : 300;
  std::vector<double> claim_ms, release_ms;
  int attempts = 0;
  while (static_cast<int>(claim_ms.size()) < n) {
    const auto t0 = Steady::now();
    auto c = fleet->claim(100, {});
    const double ms = since(t0) * 1000;
    ++attempts;
    if (!c) {
      std::fprintf(stderr, "ha_bench: claim: %s\n", c.error().c_str());
      std::exit(1);
    }
    std::vector<std::string> names;
    for (const auto& x : *c) names.push_back(x.probe);
    const auto t1 = Steady::now();
    (void)fleet->release(names);
    if (c->size() < 100) {  // this second's due runs are used up: wait for the next
      sleepFor(0.2);
      continue;
    }
    release_ms.push_back(since(t1) * 1000);
    claim_ms.push_back(ms);
  }
  std::printf(
      "\n2. Fleet::claim(100, {}) among %d probes due (every 1s), %d claims of 100 "
      "(client-side, incl. round trips)\n",
      o.probes, n);
  std::printf("   claim(100):   mean %.2f ms  median %.2f ms  = %.3f ms per run claimed\n",
              mean(claim_ms), median(claim_ms), mean(claim_ms) / 100);
  std::printf("   release(100): mean %.2f ms  median %.2f ms  = %.3f ms per run released\n",
              mean(release_ms), median(release_ms), mean(release_ms) / 100);
  if (!stmts) return;
  const auto st = statements(db.dsn());
  std::printf(
      "   pg_stat_statements over all %d claim+release pairs (incl. %d short claims): "
      "%.1f statements, %.2f ms server time per pair\n",
      attempts, attempts - n, st.calls / attempts, st.ms / attempts);
}

// --- 3. failover --------------------------------------------------------------

struct Failover {
  std::string lease;
  std::vector<double> secs;
  int failed = 0;
};

// The replica that holds an unexpired lease in dw_leader and says so itself.
const Replica* leader(const std::string& dsn, const std::vector<Replica>& rs,
                      const std::string& not_this = "") {
  std::string owner;
  try {
    owner = one(dsn, "SELECT owner FROM dw_leader WHERE id = 1 AND lease_until > now()");
  } catch (const std::exception&) {  // not migrated yet, or the server is away: no leader
    return nullptr;
  }
  if (owner.empty() || owner == not_this) return nullptr;
  for (const auto& r : rs) {
    if (r.id != owner) continue;
    const auto st = status(r);
    if (st.is_object() && st.contains("fleet") && st["fleet"].value("role", "") == "leader")
      return &r;
  }
  return nullptr;
}

const Replica* waitLeader(const std::string& dsn, const std::vector<Replica>& rs,
                          const std::string& not_this, double timeout) {
  const auto t0 = Steady::now();
  while (since(t0) < timeout) {
    if (const Replica* l = leader(dsn, rs, not_this)) return l;
    sleepFor(0.05);
  }
  return nullptr;
}

void diagnose(const std::string& dsn, const std::vector<Replica>& rs, const std::string& dead) {
  std::fprintf(stderr, "ha_bench: no new leader after killing %s; dw_leader: %s\n", dead.c_str(),
               one(dsn,
                   "SELECT format('owner %s epoch %s lease_until - now() %s', owner, epoch, "
                   "lease_until - now()) FROM dw_leader")
                   .c_str());
  for (const auto& r : rs) {
    const auto st = status(r);
    std::fprintf(stderr, "  %s (pid %d): %s\n", r.id.c_str(), static_cast<int>(r.pid),
                 st.is_object() && st.contains("fleet") ? st["fleet"].dump().substr(0, 300).c_str()
                                                        : "no status");
  }
}

Failover failover(const Options& o, const std::string& lease, int lease_s, int kills,
                  const std::string& dir) {
  Failover out{lease, {}, 0};
  BenchDb db(o.dsn, "dw_habench_failover");
  const auto config = writeConfig(dir, 30, lease);
  std::vector<Replica> rs;
  int next_id = 1;
  auto add = [&] {
    rs.push_back(spawn(o.binary, config, "f" + lease + "-" + std::to_string(next_id++), db.dsn(),
                       dir, "info"));
    return waitUp(rs.back(), 60);
  };
  for (int i = 0; i < 3; ++i)
    if (!add()) std::fprintf(stderr, "ha_bench: a replica did not come up\n");
  const Replica* l = waitLeader(db.dsn(), rs, "", 3.0 * lease_s + 10);
  for (int k = 0; k < kills && l; ++k) {
    const std::string dead = l->id;
    const pid_t pid = l->pid;
    kill(pid, SIGKILL);
    const auto t0 = Steady::now();
    waitpid(pid, nullptr, 0);
    rs.erase(std::remove_if(rs.begin(), rs.end(), [&](const Replica& r) { return r.pid == pid; }),
             rs.end());
    l = waitLeader(db.dsn(), rs, dead, 3.0 * lease_s + 10);
    if (!l) {  // say what the database and the replicas saw, then go on from any leader
      ++out.failed;
      diagnose(db.dsn(), rs, dead);
      l = waitLeader(db.dsn(), rs, "", 3.0 * lease_s + 10);
      continue;
    }
    out.secs.push_back(since(t0));
    const std::string lid = l->id;
    add();  // the replacement (may reorder rs: look the leader up again)
    l = nullptr;
    for (const auto& r : rs)
      if (r.id == lid) l = &r;
  }
  stopAll(rs);
  return out;
}

void printFailover(const std::vector<Failover>& fs) {
  std::printf(
      "\n3. failover: 3 replicas, kill -9 the leader, until another holds the lease "
      "(dw_leader) and its /api/v1/status says role leader; a replacement is started "
      "after each kill\n");
  std::printf("   leader_lease  kills  median s  max s   min s   (all)\n");
  for (const auto& f : fs) {
    auto v = f.secs;
    std::sort(v.begin(), v.end());
    std::string all;
    for (double x : f.secs) {
      char b[16];
      std::snprintf(b, sizeof b, "%s%.1f", all.empty() ? "" : " ", x);
      all += b;
    }
    if (v.empty()) {
      std::printf("   %12s  %5d  (no leader found)\n", f.lease.c_str(), f.failed);
      continue;
    }
    std::printf("   %12s  %5zu  %8.2f  %6.2f  %6.2f  %s%s\n", f.lease.c_str(), v.size(),
                v[v.size() / 2], v.back(), v.front(), all.c_str(),
                f.failed ? "  (+ failures: no new leader in time)" : "");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
      o.seconds = 8;
      o.kills = 3;
    } else if (a.rfind("--seconds=", 0) == 0) {
      o.seconds = std::stoi(a.substr(10));
    } else if (a.rfind("--probes=", 0) == 0) {
      o.probes = std::stoi(a.substr(9));
    } else if (a.rfind("--phases=", 0) == 0) {
      o.phases = a.substr(9);
    } else if (a.rfind("--kills=", 0) == 0) {
      o.kills = std::stoi(a.substr(8));
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(
          stderr,
          "usage: ha_bench [--quick] [--seconds=N] [--probes=N] [--kills=N] [--phases=123] [DSN] "
          "[DATAWATCH_BINARY]\n");
      return 2;
    } else if (a.rfind("postgres", 0) == 0) {
      o.dsn = a;
    } else {
      o.binary = a;
    }
  }
  if (o.dsn.empty())
    if (const char* e = std::getenv("DATAWATCH_TEST_PG_DSN")) o.dsn = e;  // NOLINT
  if (o.dsn.empty() || !fs::exists(o.binary)) {
    std::fprintf(stderr,
                 "ha_bench: need a DSN (argv or DATAWATCH_TEST_PG_DSN) and the datawatch "
                 "binary (argv or build-dev/agent/datawatch)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const std::string dir = fs::temp_directory_path() / ("ha_bench." + std::to_string(getpid()));
  fs::create_directories(dir);
  // A private copy: a rebuild of the shared build tree mid-run must not change it.
  const std::string shown = o.binary;
  fs::copy_file(o.binary, dir + "/datawatch", fs::copy_options::overwrite_existing);
  o.binary = dir + "/datawatch";
  const pid_t postmaster = postmasterPid(o.dsn);
  const auto started = Steady::now();
  std::printf("ha_bench: %s, PostgreSQL %s, %ld CPUs, logs in %s\n", shown.c_str(),
              one(o.dsn, "SHOW server_version").c_str(), sysconf(_SC_NPROCESSORS_ONLN),
              dir.c_str());
  std::fflush(stdout);

  auto phase = [&](char c) { return o.phases.find(c) != std::string::npos; };
  if (phase('1')) {
    std::vector<ScaleRow> rows;
    for (int n = 1; n <= 3; ++n) rows.push_back(scaleRun(o, n, dir, postmaster));
    printScale(rows, o.probes);
    std::fflush(stdout);
  }
  if (phase('2')) claimBench(o);
  std::fflush(stdout);
  if (phase('3')) {
    std::vector<Failover> fos;
    fos.push_back(failover(o, "5s", 5, o.kills, dir));
    if (!o.quick) fos.push_back(failover(o, "15s", 15, o.kills, dir));
    printFailover(fos);
  }
  std::printf("\ntotal %.0f s\n", since(started));
  return 0;
}
