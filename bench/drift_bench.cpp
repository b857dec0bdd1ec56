// drift_bench: a PSI drift probe on a 10-million-row PostgreSQL table, against
// the naive approach of pulling the column to the client and binning it there.
//
// For each: median wall time and the bytes the client received over TCP (the
// sum of tcpi_bytes_received over the process's TCP sockets, before and after).
//   1. the probe with sample_rows: 100000 (TABLESAMPLE), whole table, pinned
//      baseline already captured (the steady state);
//   2. the same probe without sampling;
//   3. the same with a 1d window against a {7d, 7d} baseline (index on the time column);
//   4. naive: COPY every value to the client, quantile edges and histogram there.
//
// usage: drift_bench DSN [rows=10000000] [runs=5]
// Reuses the table dw_bench.bench_events of pg_bench (created when missing).

#include <dirent.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <pqxx/pqxx>

#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "probes/registry.hpp"

using namespace datawatch;

namespace {

// Bytes received by every open TCP socket of this process.
uint64_t tcpBytesReceived() {
  uint64_t total = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) total += info.tcpi_bytes_received;
  }
  closedir(d);
  return total;
}

class MemorySnapshots final : public SnapshotStore {
 public:
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override {
    auto it = docs_.find(key);
    if (it == docs_.end()) return std::optional<nlohmann::json>{};
    return std::optional<nlohmann::json>(it->second);
  }
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override {
    docs_[key] = value;
    return Status::Ok();
  }

 private:
  std::map<std::string, nlohmann::json> docs_;
};

struct Figures {
  double median_ms = 0;
  double bytes = 0;
  double score = 0;
  std::string sample;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Figures measureProbe(const std::string& dsn, const std::string& probe_yaml, int runs,
                     const Clock& clock) {
  const auto loaded = bench::loadConfigOrExit(
      "sources:\n  pg: {type: postgres, dsn: \"${DSN}\", statement_timeout: 10m}\nprobes:\n" +
          probe_yaml,
      "/tmp/drift_bench.yaml", {{"DSN", dsn}});
  const auto& cfg = *loaded;
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  auto src = sources.create(cfg.sources.at(0), clock);
  if (!src) {
    std::fprintf(stderr, "%s\n", src.error().c_str());
    std::exit(1);
  }
  auto probe = probes.create(cfg.probes.at(0), src->get());
  MemorySnapshots snapshots;
  RunContext ctx;
  ctx.snapshots = &snapshots;
  ctx.now = clock.now();
  auto first = probe->run(ctx);  // captures the pinned baseline; opens the connection
  if (first.status == ProbeStatus::Error) {
    std::fprintf(stderr, "probe error: %s\n", first.message.c_str());
    std::exit(1);
  }
  std::vector<double> ms, bytes;
  Figures f;
  for (int i = 0; i < runs; ++i) {
    ctx.now = clock.now();  // a new sampling seed, as in the agent
    const uint64_t b0 = tcpBytesReceived();
    const auto t0 = clock.monotonic();
    auto r = probe->run(ctx);
    ms.push_back(std::chrono::duration<double, std::milli>(clock.monotonic() - t0).count());
    bytes.push_back(static_cast<double>(tcpBytesReceived() - b0));
    f.score = r.value.value_or(-1);
    f.sample =
        r.details["baseline"]["sample"].dump() + " / " + r.details["current"]["sample"].dump();
  }
  f.median_ms = median(ms);
  f.bytes = median(bytes);
  return f;
}

Figures measureNaive(const std::string& dsn, int runs, const Clock& clock) {
  pqxx::connection conn(dsn);
  std::vector<double> ms, bytes;
  Figures f;
  for (int i = 0; i < runs; ++i) {
    const uint64_t b0 = tcpBytesReceived();
    const auto t0 = clock.monotonic();
    std::vector<double> values;
    values.reserve(10000000);
    {
      pqxx::work tx(conn);
      // COPY (libpqxx 6's stream_from): the cheapest way to pull a column.
      pqxx::stream_from copy(tx, "dw_bench.bench_events", std::vector<std::string>{"amount"});
      std::string line;
      while (copy.get_raw_line(line)) values.push_back(std::strtod(line.c_str(), nullptr));
      copy.complete();
      tx.commit();
    }
    // 20 quantile bins of the first half (the "baseline"), counts of the second.
    const size_t half = values.size() / 2;
    std::vector<double> base(values.begin(), values.begin() + static_cast<long>(half));
    std::sort(base.begin(), base.end());
    std::vector<double> edges;
    for (int j = 1; j < 20; ++j) edges.push_back(base[base.size() * static_cast<size_t>(j) / 20]);
    std::vector<double> counts(21, 0);
    for (size_t k = half; k < values.size(); ++k)
      counts[static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), values[k]) -
                                 edges.begin())] += 1;
    ms.push_back(std::chrono::duration<double, std::milli>(clock.monotonic() - t0).count());
    bytes.push_back(static_cast<double>(tcpBytesReceived() - b0));
    f.score = counts[0];
  }
  f.median_ms = median(ms);
  f.bytes = median(bytes);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: drift_bench DSN [rows=10000000] [runs=5]\n");
    return 2;
  }
  const std::string dsn = argv[1];
  const long rows = argc > 2 ? std::atol(argv[2]) : 10000000;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  SystemClock clock;
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    auto have =
        tx.exec("SELECT count(*) FROM pg_class WHERE oid = to_regclass('dw_bench.bench_events')");
    long n = 0;
    if (have[0][0].as<long>() == 1)
      n = tx.exec("SELECT count(*) FROM dw_bench.bench_events")[0][0].as<long>();
    tx.commit();
    if (n != rows) {
      std::printf("drift_bench: creating dw_bench.bench_events with %ld rows...\n", rows);
      std::fflush(stdout);
      pqxx::nontransaction nt(c);
      nt.exec(
          "DROP SCHEMA IF EXISTS dw_bench CASCADE; CREATE SCHEMA dw_bench;"
          "CREATE TABLE dw_bench.bench_events (id bigint, at timestamptz, amount float8);"
          "INSERT INTO dw_bench.bench_events SELECT i, now() - (i || ' seconds')::interval, "
          "random() * 100 FROM generate_series(1, " +
          std::to_string(rows) + ") i; CREATE INDEX ON dw_bench.bench_events (at)");
      nt.exec("VACUUM ANALYZE dw_bench.bench_events");
    }
  }
  const std::string probe =
      "  - {name: amount_drift, type: drift, source: pg, table: dw_bench.bench_events, "
      "column: amount, method: psi, bins: 20, ";
  const auto sampled = measureProbe(dsn, probe + "sample_rows: 100000}\n", runs, clock);
  const auto windowed = measureProbe(dsn,
                                     probe +
                                         "time_column: at, window: 1d, baseline: {window: 7d, "
                                         "lag: 7d}, sample_rows: 100000}\n",
                                     runs, clock);
  const auto full = measureProbe(dsn, probe + "sample_rows: 1000000000}\n", runs, clock);
  const auto naive = measureNaive(dsn, runs, clock);
  std::printf("drift_bench: PSI, 20 bins, %ld rows, median of %d runs\n", rows, runs);
  auto line = [&](const char* what, const Figures& f) {
    std::printf("  %-34s %10.1f ms %14.0f bytes   time x%-7.1f bytes x%.0f\n", what, f.median_ms,
                f.bytes, naive.median_ms / f.median_ms, naive.bytes / std::max(1.0, f.bytes));
  };
  line("probe, sample_rows 100000", sampled);
  line("probe, 1d window vs 7d baseline", windowed);
  line("probe, no sampling", full);
  line("naive pull + client binning", naive);
  std::printf("  samples (baseline / current), sampled run: %s; psi %.4f\n", sampled.sample.c_str(),
              sampled.score);
  std::printf("  samples (baseline / current), 1d window:   %s; psi %.4f\n",
              windowed.sample.c_str(), windowed.score);
  std::printf("  peak RSS %.1f MB (the naive pull holds the column)\n",
              static_cast<double>(bench::peakRssKb()) / 1024);
  return 0;
}
