// scheduler_bench: N SQLite freshness probes at a 1 s interval for D seconds
// through the real agent path (Scheduler + ProbeLoop + Runtime + SqliteSource +
// SqliteStateStore + Metrics). Prints scheduling lag p50/p99/max, CPU per probe
// run split into "inside the probe's SQLite query" and "the rest of the agent",
// the /metrics render, and peak RSS (anonymous and file-backed). With `slos` > 0
// each of the first `slos` probes has its own SLO (28-day window, default
// burn-rate table) fed from every run and evaluated every 10 s, as the agent does.
//
// usage: scheduler_bench [probes=1000] [seconds=60] [workers=8] [slos=probes]

#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "agent/metrics.hpp"
#include "agent/probe_loop.hpp"
#include "agent/process_tuning.hpp"
#include "agent/runtime.hpp"
#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "probes/sqlite_source.hpp"
#include "slo/slo_engine.hpp"
#include "store/batched_state_store.hpp"
#include "store/sqlite_state_store.hpp"

using namespace datawatch;

namespace {

using bench::peakRssKb;
using bench::processCpuSeconds;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Wraps the real SQLite source and accumulates the CPU time spent in its queries.
class TimedSqliteSource final : public SqlSource {
 public:
  TimedSqliteSource(std::unique_ptr<SqliteSource> inner, std::atomic<double>& cpu)
      : inner_(std::move(inner)), cpu_(cpu) {}
  const std::string& name() const override { return inner_->name(); }
  config::SourceType type() const override { return inner_->type(); }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                            const QueryLimits& l) override {
    const double t0 = threadCpuSeconds();
    auto r = inner_->query(sql, params, l);
    const double dt = threadCpuSeconds() - t0;
    double cur = cpu_.load();
    while (!cpu_.compare_exchange_weak(cur, cur + dt)) {
    }
    return r;
  }
  const Dialect& dialect() const override { return inner_->dialect(); }
  std::string placeholder(int n) const override { return inner_->placeholder(n); }

 private:
  std::unique_ptr<SqliteSource> inner_;
  std::atomic<double>& cpu_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t idx =
      std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[idx];
}

}  // namespace

int main(int argc, char** argv) {
  tuneProcess();  // as the agent's main() does
  const int probes = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 60;
  const int workers = argc > 3 ? std::atoi(argv[3]) : 8;
  const int slo_count = argc > 4 ? std::atoi(argv[4]) : probes;
  const auto dir =
      std::filesystem::temp_directory_path() / ("datawatch-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  SystemClock clock;
  {
    sqlite3* db = nullptr;
    sqlite3_open((dir / "w.db").c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT)",
                 nullptr, nullptr, nullptr);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < 1000; ++i) {
      const std::string sql = "INSERT INTO events (at) VALUES ('" +
                              formatRfc3339(clock.now() - std::chrono::seconds(i)) + "')";
      sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::ostringstream yaml;
  yaml << "agent: {state: sqlite://./state.db, max_concurrent_probes: " << workers << "}\n"
       << "sources:\n  w: {type: sqlite, path: ./w.db, max_connections: " << workers
       << "}\nprobes:\n";
  for (int i = 0; i < probes; ++i) {
    yaml << "  - {name: p" << i
         << ", type: freshness, source: w, table: events, column: at, max_age: 1h, every: 1s}\n";
  }
  if (slo_count > 0) yaml << "slos:\n";
  for (int i = 0; i < slo_count; ++i)
    yaml << "  - {name: s" << i << ", objective: 99.5, window: 28d, probes: [p" << i << "]}\n";
  auto cfg = bench::loadConfigOrExit(yaml.str(), (dir / "bench.yaml").string());
  BatchedStateStore::Options batching;  // as the agent sets it (agent.cpp)
  batching.flush_interval = config::runFlushInterval(cfg->agent);
  auto store = std::make_unique<BatchedStateStore>(
      std::move(SqliteStateStore::open((dir / "state.db").string())).value(), batching);
  Metrics metrics("bench");
  metrics.setProbes(cfg->probes);
  metrics.setSlos(*cfg);
  SloEngine slos;
  slos.configure(*cfg, store.get(), clock.now());

  std::atomic<double> query_cpu{0};
  SourceRegistry sources;
  sources.add(
      "sqlite",
      [&](const config::SourceConfig& sc, const Clock& c) -> Result<std::unique_ptr<Source>> {
        auto inner = std::make_unique<SqliteSource>(
            sc.name, std::get<config::SqliteSourceConfig>(sc.spec), sc.max_connections, c);
        return std::unique_ptr<Source>(
            std::make_unique<TimedSqliteSource>(std::move(inner), query_cpu));
      });
  ProbeRegistry probe_registry;
  registerBuiltinProbes(probe_registry);
  auto log = std::make_shared<spdlog::logger>("bench");  // no sinks: silent
  auto rt =
      std::make_shared<Runtime>(cfg, clock, sources, probe_registry, store.get(), &metrics, log);
  rt->setResultObserver([&](const std::shared_ptr<const ProbeResult>& r) { slos.record(*r); });

  std::mutex lag_mu;
  std::vector<double> lags_ms;
  lags_ms.reserve(static_cast<size_t>(probes) * static_cast<size_t>(seconds + 2));
  ProbeLoop loop(rt, clock, workers, &metrics, [&](const Dispatch& d, TimePoint started) {
    std::lock_guard l(lag_mu);
    lags_ms.push_back(std::chrono::duration<double, std::milli>(started - d.due).count());
  });
  const double cpu0 = processCpuSeconds();
  loop.start();
  // The agent's SLO tick: every SLO evaluated and exported every 10 s.
  std::vector<SloStatus> statuses;
  std::vector<double> tick_ms;
  for (int s = 1; s <= seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (s % 10 != 0 || slo_count == 0) continue;
    const double t0 = threadCpuSeconds();
    slos.evaluate(clock.now(), statuses);
    for (const auto& st : statuses) metrics.observeSlo(st);
    tick_ms.push_back((threadCpuSeconds() - t0) * 1e3);
  }
  loop.stop(std::chrono::seconds(5));
  const double cpu = processCpuSeconds() - cpu0;
  const uint64_t runs = loop.completedRuns();
  // The scrapes a Prometheus server would make: the first render (cold: its
  // memory is new) and the median of the next five (every later scrape).
  auto timedRender = [&](std::string& out) {
    const auto r0 = std::chrono::steady_clock::now();
    out = metrics.render();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count();
  };
  std::string text;
  const double render_ms = timedRender(text);
  std::vector<double> warm_ms;
  for (int i = 0; i < 5; ++i) {
    std::string again;
    warm_ms.push_back(timedRender(again));
  }

  uint64_t missed = 0;
  for (size_t i = 0; i < text.size();) {
    auto pos = text.find("\ndatawatch_probe_missed_runs_total{", i);
    if (pos == std::string::npos) break;
    auto sp = text.find("} ", pos);
    missed += static_cast<uint64_t>(std::stod(text.substr(sp + 2)));
    i = sp;
  }
  std::printf(
      "scheduler_bench: %d SQLite freshness probes every 1s for %ds, %d workers, %d SLOs, state "
      "store + metrics on\n",
      probes, seconds, workers, slo_count);
  std::printf("  runs completed        %llu (%.0f/s, expected %d/s)\n",
              static_cast<unsigned long long>(runs), static_cast<double>(runs) / seconds, probes);
  std::printf("  missed runs           %llu\n", static_cast<unsigned long long>(missed));
  std::printf(
      "  scheduling lag        p50 %.2f ms   p99 %.2f ms   max %.2f ms   (%zu runs started; due -> "
      "start)\n",
      percentile(lags_ms, 0.5), percentile(lags_ms, 0.99), percentile(lags_ms, 1.0),
      lags_ms.size());
  std::printf(
      "  CPU per probe run     %.1f us total = %.1f us in SQLite probe queries + %.1f us agent "
      "(scheduling, state store, metrics)\n",
      cpu / static_cast<double>(runs) * 1e6, query_cpu.load() / static_cast<double>(runs) * 1e6,
      (cpu - query_cpu.load()) / static_cast<double>(runs) * 1e6);
  std::printf("  CPU utilisation       %.1f%% of one core\n", cpu / seconds * 100);
  std::printf("  /metrics render       %.2f ms first, %.2f ms after (median of 5) (%zu bytes)\n",
              render_ms, percentile(warm_ms, 0.5), text.size());
  if (!tick_ms.empty())
    std::printf("  SLO tick              %.2f ms CPU (median of %zu: evaluate + export %d SLOs)\n",
                percentile(tick_ms, 0.5), tick_ms.size(), slo_count);
  std::printf("  peak RSS              %.1f MB (now: %.1f MB anonymous + %.1f MB file-backed)\n",
              static_cast<double>(peakRssKb()) / 1024.0,
              static_cast<double>(bench::statusKb("RssAnon:")) / 1024.0,
              static_cast<double>(bench::statusKb("RssFile:")) / 1024.0);
  std::filesystem::remove_all(dir);
  return 0;
}
