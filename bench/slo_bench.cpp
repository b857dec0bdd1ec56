// SLO engine benchmark (issue 4): N SLOs (default 10,000) with 28-day windows and
// the default burn-rate table, each fed one probe run a minute for 28 simulated
// days; then the CPU time of an evaluation tick of all SLOs and all their windows,
// and the process RSS. Figures are printed, not asserted.
//
// usage: slo_bench [SLOS] [DAYS] [TICKS]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench/bench_util.hpp"
#include "core/time_format.hpp"
#include "slo/slo_engine.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int slos = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int days = argc > 2 ? std::atoi(argv[2]) : 28;
  const int ticks = argc > 3 ? std::atoi(argv[3]) : 60;
  const long rss0 = bench::statusKb("VmRSS:");

  config::SloConfig cfg;
  cfg.objective = 99.5;
  cfg.window = 28 * 24h;
  cfg.probes = {"p"};
  std::vector<std::unique_ptr<SloState>> states;
  states.reserve(static_cast<size_t>(slos));
  for (int i = 0; i < slos; ++i) {
    cfg.name = "slo-" + std::to_string(i);
    states.push_back(std::make_unique<SloState>(cfg, std::vector<SloProbe>{{"p", 1min}}));
  }
  const long rss_built = bench::statusKb("VmRSS:");

  // Feed: one run a minute per SLO; every 97th run of SLO i fails when i is odd.
  const TimePoint start = *parseTimestamp("2026-10-29T00:00:00Z");
  const int minutes = days * 24 * 60;
  ProbeResult run;
  run.probe = "p";
  const double feed0 = threadCpuSeconds();
  for (int i = 0; i < slos; ++i) {
    for (int m = 0; m < minutes; ++m) {
      run.observed_at = start + m * 1min;
      run.status = (i % 2 == 1 && m % 97 == 0) ? ProbeStatus::Fail : ProbeStatus::Pass;
      states[static_cast<size_t>(i)]->record(run);
    }
  }
  const double feed = threadCpuSeconds() - feed0;
  const long rss_fed = bench::statusKb("VmRSS:");

  // Ticks: each minute, one more run per SLO, then every SLO evaluated.
  // The first tick also allocates every SloStatus (then reused): shown apart.
  double eval_cpu = 0, worst_eval = 0, first_eval = 0, record_cpu = 0;
  size_t breaching = 0;
  std::vector<SloStatus> statuses(states.size());  // reused, as the agent's tick does
  for (int t = 0; t < ticks; ++t) {
    const TimePoint now = start + (minutes + t) * 1min;
    const double r0 = threadCpuSeconds();
    for (auto& s : states) {
      run.observed_at = now;
      run.status = ProbeStatus::Pass;
      s->record(run);
    }
    const double e0 = threadCpuSeconds();
    record_cpu += e0 - r0;
    for (size_t i = 0; i < states.size(); ++i) {
      states[i]->evaluate(now, statuses[i]);
      breaching += statuses[i].breaching.size();
    }
    const double took = threadCpuSeconds() - e0;
    if (t == 0) {
      first_eval = took;
      continue;
    }
    eval_cpu += took;
    worst_eval = std::max(worst_eval, took);
  }

  // What Prometheus touches for the same SLIs with the rules of `datawatch rules`,
  // one scrape a minute: each ratio rule reads both counters over its window, each
  // min_bad_events rule the bad counter over a long window, every minute; the SLO
  // window's rules (ratio and budget, both counters) every 5 minutes.
  const double windows_min = 5 + 30 + 60 + 120 + 360 + 1440 + 4320;
  const double long_min = 60 + 360 + 1440 + 4320;
  const double slo_min = 28 * 1440;
  const double prom_per_slo_per_min = 2 * windows_min + long_min + (2 * 2 * slo_min) / 5;

  std::printf(
      "slo_bench: %d SLOs (28d window, default table: 8 windows), %d days of one run a "
      "minute each\n",
      slos, days);
  std::printf("  feed                  %.0f runs in %.1f s CPU (%.0f ns a run)\n",
              static_cast<double>(slos) * minutes, feed,
              feed * 1e9 / (static_cast<double>(slos) * minutes));
  const int steady = std::max(1, ticks - 1);
  std::printf(
      "  evaluation tick       %.2f ms CPU mean, %.2f ms worst, over %d ticks after the first "
      "(%.0f ns per SLO, all 8 windows and 4 rows); the first %.2f ms\n",
      eval_cpu * 1e3 / steady, worst_eval * 1e3, steady, eval_cpu * 1e9 / steady / slos,
      first_eval * 1e3);
  std::printf("  runs recorded / tick  %.2f ms CPU mean\n", record_cpu * 1e3 / ticks);
  std::printf(
      "  memory                RSS %.1f MB (%.1f MB before the SLOs, %.1f MB built, "
      "%.2f KB per SLO)\n",
      static_cast<double>(rss_fed) / 1024.0, static_cast<double>(rss0) / 1024.0,
      static_cast<double>(rss_built) / 1024.0, static_cast<double>(rss_fed - rss0) / slos);
  std::printf("  breaching (sanity)    %zu severity-ticks\n", breaching);
  std::printf(
      "  Prometheus, same SLIs %.0f samples read per SLO per minute, %.2e per minute for "
      "all (engine: 8 running sums per SLO)\n",
      prom_per_slo_per_min, prom_per_slo_per_min * slos);
  return 0;
}
