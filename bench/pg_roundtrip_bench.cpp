// pg_roundtrip_bench: what would an event-loop PostgreSQL executor save? (issue 19)
//
// At 1,000 PostgreSQL freshness probes a second most of the agent's CPU is the
// round trip itself: each query sleeps once in poll() while PostgreSQL answers,
// and on a VM that context switch is the dearest thing the agent does (perf:
// a third of the workers' samples). The Go exporter parks goroutines instead
// and its netpoller wakes once for many ready sockets. This benchmark measures
// the two ways with plain libpq, nothing of the agent around them, so that the
// figures say what a redesign could gain before anyone does it:
//
//  blocking   W threads, each with its own connection, take due queries from a
//             shared list and run PQexec; W=1 is the agent's model (one worker
//             runs a due group in turn), W=8 wakes a thread for about each query;
//  event loop one thread, K connections: PQsendQuery on a free connection for
//             every due query, poll() on all busy sockets, results as they come;
//  pipelined  one thread, one connection in libpq's pipeline mode: a due group's
//             queries sent together, ONE Sync after the last (a Sync after each
//             makes libpq flush and the server answer each on its own: as slow
//             as blocking, measured), then the results read in order.
//
// Each runs N `SELECT max(at) FROM bench_peer.tI` per second for S seconds
// (after a 1 s warm-up), due in `slots` groups spread evenly over each second —
// 100 by default, as the agent's scheduler places probes (first runs on a 10 ms
// grid); 1: all together; N: one at a time — and prints process CPU and
// context switches per query (getrusage).
//
// usage: pg_roundtrip_bench DSN [N=1000] [seconds=10] [workers=8] [connections=8] [slots=100]
// Creates bench_peer.t0..t(N-1) (one row each) when missing; keeps them.
//
// Found (2026-12-03, 2-core VM, N=1000, 100 slots): W=1 blocking 19-27 us and
// 1.1 context switches per query, the event loop 30-53 us and 0.5: the agent's
// way is the cheaper one; see README.
// Then (2026-12-03, another 2-core VM, AMD EPYC under Firecracker; N=1000, 100
// slots, W=1): blocking 36-40 us and 1.10 switches per query, the event loop
// 38-43 us and 0.49, pipelined 19.5-19.6 us and 0.20: sending a group's queries
// in one pipeline halves the round trip's cost; see README.

#include <libpq-fe.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Usage {
  double cpu_s;
  long switches;
};

Usage usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return {sec(u.ru_utime) + sec(u.ru_stime), u.ru_nvcsw + u.ru_nivcsw};
}

struct Options {
  std::string dsn;
  int n = 1000;
  int seconds = 10;
  int workers = 8;
  int connections = 8;
  int slots = 100;
};

PGconn* connect(const std::string& dsn) {
  PGconn* c = PQconnectdb(dsn.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string err = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect: " + err);
  }
  return c;
}

void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  const std::string err = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) throw std::runtime_error(err + sql);
}

void createTables(const Options& o) {
  PGconn* c = connect(o.dsn);
  std::string sql = "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS bench_peer;";
  for (int i = 0; i < o.n; ++i) {
    const std::string t = "bench_peer.t" + std::to_string(i);
    sql += "CREATE TABLE IF NOT EXISTS " + t + "(at timestamptz); INSERT INTO " + t +
           " SELECT now() WHERE NOT EXISTS (SELECT 1 FROM " + t + ");";
  }
  exec(c, sql);
  PQfinish(c);
}

// The due time of query `k` (0, 1, 2, ... over the whole run) from `start`.
Clock::time_point dueAt(const Options& o, Clock::time_point start, long k) {
  const long second = k / o.n, i = k % o.n;
  const long slot = i * o.slots / o.n;
  return start + std::chrono::seconds(second) +
         std::chrono::duration_cast<Clock::duration>(
             std::chrono::duration<double>(static_cast<double>(slot) / o.slots));
}

std::string query(const Options& o, long k) {
  return "SELECT max(at) FROM bench_peer.t" + std::to_string(k % o.n);
}

struct Result {
  long queries;
  Usage used;
};

// Runs `body(start, end_k)` after a warm-up second, measuring the queries from
// the warm-up's end to `end_k`.
template <typename Body>
Result measured(const Options& o, Body body) {
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  const long warm = o.n, total = static_cast<long>(o.n) * (o.seconds + 1);
  Usage at_warm{};
  std::atomic<bool> warm_taken{false};
  body(start, total, warm, [&] {
    if (!warm_taken.exchange(true)) at_warm = usage();
  });
  const Usage end = usage();
  return {total - warm, {end.cpu_s - at_warm.cpu_s, end.switches - at_warm.switches}};
}

Result blocking(const Options& o) {
  std::vector<PGconn*> conns;
  for (int w = 0; w < o.workers; ++w) conns.push_back(connect(o.dsn));
  auto r = measured(o, [&](Clock::time_point start, long total, long warm, auto mark) {
    std::mutex mu;
    long next = 0;
    std::vector<std::thread> threads;
    for (int w = 0; w < o.workers; ++w) {
      threads.emplace_back([&, w] {
        for (;;) {
          long k;
          {
            std::lock_guard lock(mu);
            if (next >= total) return;
            k = next++;
          }
          if (k == warm) mark();
          std::this_thread::sleep_until(dueAt(o, start, k));
          PQclear(PQexec(conns[static_cast<size_t>(w)], query(o, k).c_str()));
        }
      });
    }
    for (auto& t : threads) t.join();
  });
  for (auto* c : conns) PQfinish(c);
  return r;
}

Result eventLoop(const Options& o) {
  std::vector<PGconn*> conns;
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(connect(o.dsn));
    PQsetnonblocking(conns.back(), 1);
  }
  auto r = measured(o, [&](Clock::time_point start, long total, long warm, auto mark) {
    std::vector<bool> busy(conns.size(), false);
    long next = 0, done = 0;
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    while (done < total) {
      const auto now = Clock::now();
      for (size_t i = 0; i < conns.size() && next < total && dueAt(o, start, next) <= now; ++i) {
        if (busy[i]) continue;
        if (next == warm) mark();
        if (!PQsendQuery(conns[i], query(o, next).c_str()))
          throw std::runtime_error(PQerrorMessage(conns[i]));
        PQflush(conns[i]);
        busy[i] = true;
        ++next;
      }
      fds.clear();
      which.clear();
      for (size_t i = 0; i < conns.size(); ++i) {
        if (!busy[i]) continue;
        fds.push_back({PQsocket(conns[i]), POLLIN, 0});
        which.push_back(i);
      }
      int timeout_ms = -1;
      const bool free_conn = fds.size() < conns.size();
      if (next < total && free_conn) {
        const auto wait = dueAt(o, start, next) - Clock::now();
        timeout_ms = static_cast<int>(
            std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
      }
      if (fds.empty()) {
        std::this_thread::sleep_until(dueAt(o, start, next));
        continue;
      }
      if (poll(fds.data(), fds.size(), timeout_ms) <= 0) continue;
      for (size_t f = 0; f < fds.size(); ++f) {
        if (fds[f].revents == 0) continue;
        PGconn* c = conns[which[f]];
        PQconsumeInput(c);
        while (!PQisBusy(c)) {
          PGresult* res = PQgetResult(c);
          if (res == nullptr) {
            busy[which[f]] = false;
            ++done;
            break;
          }
          PQclear(res);
        }
      }
    }
  });
  for (auto* c : conns) PQfinish(c);
  return r;
}

// One worker; each group's due queries sent at once in libpq's pipeline mode
// on one connection with ONE Sync after the last (a failed query would abort
// the rest of the group: a real executor re-runs those), then the results read
// in order. What a pipelined executor would cost.
Result pipelined(const Options& o) {
  // At most this many queries before the Sync: a blocking connection that sends
  // a whole large group before reading could deadlock with a server whose own
  // output buffer is full (libpq's pipeline docs).
  constexpr long kMaxPipeline = 64;
  PGconn* c = connect(o.dsn);
  if (PQenterPipelineMode(c) != 1) throw std::runtime_error(PQerrorMessage(c));
  auto r = measured(o, [&](Clock::time_point start, long total, long warm, auto mark) {
    long k = 0;
    while (k < total) {
      const auto due = dueAt(o, start, k);
      std::this_thread::sleep_until(due);
      long end = k;
      while (end < total && end - k < kMaxPipeline && dueAt(o, start, end) == due) ++end;
      if (k <= warm && warm < end) mark();
      for (long q = k; q < end; ++q) {
        if (PQsendQueryParams(c, query(o, q).c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) !=
            1)
          throw std::runtime_error(PQerrorMessage(c));
      }
      if (PQpipelineSync(c) != 1) throw std::runtime_error(PQerrorMessage(c));
      for (long q = k; q < end; ++q) {  // each query: its result, then a null
        for (PGresult* res; (res = PQgetResult(c)) != nullptr;) {
          const auto st = PQresultStatus(res);
          const std::string err = PQresultErrorMessage(res);
          PQclear(res);
          if (st != PGRES_TUPLES_OK) throw std::runtime_error("pipelined query failed: " + err);
        }
      }
      PGresult* sync = PQgetResult(c);
      const bool synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
      PQclear(sync);
      if (!synced) throw std::runtime_error("pipeline: no Sync result");
      k = end;
    }
  });
  PQfinish(c);
  return r;
}

void print(const char* name, const Result& r) {
  std::printf("  %-11s %8ld queries  CPU %6.1f µs/query  %5.2f context switches/query\n", name,
              r.queries, r.used.cpu_s * 1e6 / static_cast<double>(r.queries),
              static_cast<double>(r.used.switches) / static_cast<double>(r.queries));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const std::vector<std::string> pos(argv + 1, argv + argc);
  if (pos.empty()) {
    std::fprintf(stderr,
                 "usage: pg_roundtrip_bench DSN [N=1000] [seconds=10] [workers=8] "
                 "[connections=8] [slots=100]\n");
    return 2;
  }
  o.dsn = pos[0];
  if (pos.size() > 1) o.n = std::stoi(pos[1]);
  if (pos.size() > 2) o.seconds = std::stoi(pos[2]);
  if (pos.size() > 3) o.workers = std::stoi(pos[3]);
  if (pos.size() > 4) o.connections = std::stoi(pos[4]);
  if (pos.size() > 5) o.slots = std::max(1, std::min(o.n, std::stoi(pos[5])));
  try {
    createTables(o);
    std::printf(
        "pg_roundtrip_bench: %d queries/s for %d s, due in %d groups a second; %d "
        "blocking workers vs one event loop on %d connections vs one pipelined connection\n",
        o.n, o.seconds, o.slots, o.workers, o.connections);
    print("blocking", blocking(o));
    print("event loop", eventLoop(o));
    print("pipelined", pipelined(o));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_roundtrip_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
