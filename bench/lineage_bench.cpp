// Lineage benchmark (issue 21): a graph of DATASETS datasets and JOBS jobs
// (defaults 10,000 and 5,000) fed OpenLineage events shaped as Airflow's
// provider sends them (facets and all), then LineageLinks for a config of
// PROBES table, dataset and job probes (default 5,000), and the per-call cost
// of what alerting, incidents and the status page ask of it. Figures are
// printed, not asserted; a Debug build's figures are only indicative.
//
// The graph: datasets in 10 layers; a job of layer L (1..9) reads 3 datasets
// of layer L-1 and writes 2 of layer L, so chains run about 10 jobs deep from
// the roots (layer 0, read only). Each job has RUNS runs (default 3), each a
// START and an end: COMPLETE, or FAIL with errorMessage for every 10th run.
//
// usage: lineage_bench [DATASETS] [JOBS] [PROBES] [RUNS] [RUN_FACET_BYTES (0, as the agent)]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "config/types.hpp"
#include "lineage/graph.hpp"
#include "lineage/links.hpp"
#include "lineage/run_event.hpp"
#include "tests/support/openlineage_events.hpp"

namespace {

namespace ol = datawatch::testing::openlineage;
namespace lineage = datawatch::lineage;
namespace config = datawatch::config;
using Clock = std::chrono::steady_clock;

constexpr int kLayers = 10;
const std::string kNamespace = "postgres://warehouse:5432";

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Stats {
  double mean_us = 0;
  double p99_us = 0;
};

Stats stats(std::vector<double> ns) {
  Stats s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  double sum = 0;
  for (double v : ns) sum += v;
  s.mean_us = sum / static_cast<double>(ns.size()) / 1e3;
  s.p99_us = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)] / 1e3;
  return s;
}

template <class F>
double timedNs(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

// "shop.l3.t0017": database shop, schema l3 (the layer), table t0017.
std::string tableName(int layer, int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "l%d.t%04d", layer, index);
  return buf;
}

struct Layout {
  int per_layer = 0;                         // datasets per layer
  std::vector<int> job_layer;                // job -> its layer (1..9)
  std::vector<std::vector<int>> job_inputs;  // job -> dataset indices in layer - 1
  std::vector<std::vector<int>> job_outputs;
};

Layout layout(int datasets, int jobs) {
  Layout l;
  l.per_layer = std::max(1, datasets / kLayers);
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> pick(0, l.per_layer - 1);
  for (int j = 0; j < jobs; ++j) {
    const int layer = 1 + j % (kLayers - 1);
    const int rank = j / (kLayers - 1);  // the job's place within its layer
    l.job_layer.push_back(layer);
    l.job_inputs.push_back({pick(rng), pick(rng), pick(rng)});
    l.job_outputs.push_back({(2 * rank) % l.per_layer, (2 * rank + 1) % l.per_layer});
  }
  return l;
}

std::string eventTime(int day, int minute) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "2026-%02d-%02dT%02d:%02d:%02d.%06d+00:00", 1 + day / 28 % 12,
                1 + day % 28, minute / 60, minute % 60, minute % 59, minute * 7919 % 1000000);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const int datasets = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 5000;
  const int probes = argc > 3 ? std::atoi(argv[3]) : 5000;
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  // Bytes of merged run facets kept per run: 0 as the agent keeps them
  // (agent/lineage_service.hpp); 16384 is the graph's own default.
  const size_t facet_bytes = argc > 5 ? static_cast<size_t>(std::atol(argv[5])) : 0;
  const Layout l = layout(datasets, jobs);

  // Each event as a body brings it: built off the clock, then parsed and
  // applied (timed apart). Nothing but the graph keeps them.
  const long rss0 = datawatch::bench::statusKb("VmRSS:");
  const long hwm0 = datawatch::bench::statusKb("VmHWM:");
  lineage::LineageGraph graph(16, facet_bytes);
  double parse_s = 0, apply_s = 0;
  size_t n_events = 0, doc_bytes = 0;
  for (int r = 0; r < runs; ++r) {
    for (int j = 0; j < jobs; ++j) {
      const int layer = l.job_layer[static_cast<size_t>(j)];
      auto t = ol::airflowTask("dag_l" + std::to_string(layer), "task_" + std::to_string(j),
                               ol::runId(r * jobs + j));
      for (int d : l.job_inputs[static_cast<size_t>(j)])
        t.inputs.push_back(ol::table(kNamespace, "shop." + tableName(layer - 1, d)));
      for (int d : l.job_outputs[static_cast<size_t>(j)])
        t.outputs.push_back(ol::table(kNamespace, "shop." + tableName(layer, d), 1000 + j));
      const int minute = (j * 7) % 1380;
      const bool fail = (r * jobs + j) % 10 == 9;
      const std::string bodies[] = {
          ol::body(ol::airflowEvent(t, "START", eventTime(r, minute))),
          ol::body(fail ? ol::airflowFailEvent(t, eventTime(r, minute + 1), "relation missing")
                        : ol::airflowEvent(t, "COMPLETE", eventTime(r, minute + 1)))};
      for (const auto& body : bodies) {
        doc_bytes += body.size();
        const auto p0 = Clock::now();
        auto parsed = lineage::parseRunEvents(body);
        const auto p1 = Clock::now();
        if (!parsed.ok()) {
          std::fprintf(stderr, "lineage_bench: %s\n", parsed.error().c_str());
          return 1;
        }
        graph.apply(parsed->front());
        parse_s += std::chrono::duration<double>(p1 - p0).count();
        apply_s += secondsSince(p1);
        ++n_events;
      }
    }
  }
  const long rss1 = datawatch::bench::statusKb("VmRSS:");
  const long hwm1 = datawatch::bench::statusKb("VmHWM:");
  const auto j0 = Clock::now();
  const size_t json_bytes = graph.toJson().dump().size();
  const double json_s = secondsSince(j0);

  // The config: a third each of table probes, dataset probes and job probes.
  config::Config cfg;
  config::SourceConfig source;
  source.name = "warehouse";
  source.type = config::SourceType::Postgres;
  source.lineage_namespace = kNamespace;
  source.lineage_database = "shop";
  cfg.sources.push_back(source);
  std::vector<std::string> root_probes;  // dataset probes on layer 0 (roots)
  for (int p = 0; p < probes; ++p) {
    config::ProbeConfig pc;
    pc.name = "probe_" + std::to_string(p);
    const int layer = p % kLayers;
    const int index = (p / kLayers * 37) % l.per_layer;
    if (p % 3 == 0) {
      pc.type = config::ProbeType::Freshness;
      pc.source = "warehouse";
      pc.table = tableName(layer, index);
    } else if (p % 3 == 1) {
      pc.type = config::ProbeType::Volume;
      pc.spec = config::VolumeSpec{};
      pc.dataset = lineage::nodeKey(kNamespace, "shop." + tableName(layer, index));
      if (layer == 0) root_probes.push_back(pc.name);
    } else {
      const int j = (p / 3 * 13) % jobs;
      pc.type = config::ProbeType::Job;
      config::JobSpec spec;
      spec.job = lineage::nodeKey(
          "airflow", "dag_l" + std::to_string(l.job_layer[j]) + ".task_" + std::to_string(j));
      spec.max_age = std::chrono::hours(26);
      pc.spec = spec;
    }
    cfg.probes.push_back(std::move(pc));
  }

  const auto b0 = Clock::now();
  const lineage::LineageLinks links(cfg, graph);
  const double build_s = secondsSince(b0);
  const long rss2 = datawatch::bench::statusKb("VmRSS:");

  std::vector<double> up_ns, chain_ns, down_ns;
  size_t joined = 0, upstream_total = 0, chain_total = 0, down_total = 0;
  for (const auto& p : cfg.probes) {
    size_t n = 0;
    up_ns.push_back(timedNs([&] { n = links.upstreamProbes(p.name).size(); }));
    upstream_total += n;
    joined += links.nodesOf(p.name).empty() ? 0 : 1;
    chain_ns.push_back(timedNs([&] { n = links.upstreamChain(p.name).size(); }));
    chain_total += n;
  }
  for (const auto& p : root_probes) {
    down_ns.push_back(timedNs([&] {
      const auto d = links.downstreamOf({p});
      down_total += d.datasets.size() + d.jobs.size();
    }));
  }
  // What the agent computes per probe at each relink (withLineage): the nearest 20.
  std::vector<double> near_ns;
  for (const auto& p : cfg.probes)
    near_ns.push_back(timedNs([&] { (void)links.downstreamOf({p.name}, 20); }));
  double near_total_ms = 0;
  for (double ns : near_ns) near_total_ms += ns / 1e6;
  const Stats up = stats(up_ns), chain = stats(chain_ns), down = stats(down_ns);
  const Stats near = stats(near_ns);

  std::printf(
      "lineage_bench: %d datasets, %d jobs (reads 3, writes 2, %d layers), %d runs each, "
      "%d probes\n",
      datasets, jobs, kLayers, runs, probes);
#ifndef NDEBUG
  std::printf("  (a Debug build: the figures are only indicative)\n");
#endif
  std::printf("  graph                 %zu datasets, %zu jobs, %zu edges, version %llu\n",
              graph.datasetCount(), graph.jobCount(), graph.topology().edges.size(),
              static_cast<unsigned long long>(graph.version()));
  const double events = static_cast<double>(n_events);
  std::printf("  parse                 %.0f events/s (%.1f KB a body on average)\n",
              events / parse_s, static_cast<double>(doc_bytes) / events / 1024.0);
  std::printf("  apply                 %.0f events/s (%zu events in %.2f s)\n", events / apply_s,
              n_events, apply_s);
  std::printf(
      "  memory of the graph   RSS +%.1f MB, peak RSS (VmHWM) +%.1f MB (%.1f KB per job "
      "with its %d runs)\n",
      static_cast<double>(rss1 - rss0) / 1024.0, static_cast<double>(hwm1 - hwm0) / 1024.0,
      static_cast<double>(rss1 - rss0) / jobs, runs);
  std::printf("  toJson                %.1f ms (%.1f MB)\n", json_s * 1e3,
              static_cast<double>(json_bytes) / 1048576.0);
  std::printf("  LineageLinks build    %.1f ms (%zu of %d probes joined; RSS +%.1f MB)\n",
              build_s * 1e3, joined, probes, static_cast<double>(rss2 - rss1) / 1024.0);
  std::printf("  upstreamProbes()      mean %.2f us, p99 %.2f us (%.2f probes on average)\n",
              up.mean_us, up.p99_us, static_cast<double>(upstream_total) / probes);
  std::printf("  upstreamChain()       mean %.2f us, p99 %.2f us (%.2f steps on average)\n",
              chain.mean_us, chain.p99_us, static_cast<double>(chain_total) / probes);
  std::printf(
      "  downstreamOf(root)    mean %.2f us, p99 %.2f us over %zu root datasets (%.0f nodes "
      "on average)\n",
      down.mean_us, down.p99_us, root_probes.size(),
      root_probes.empty()
          ? 0.0
          : static_cast<double>(down_total) / static_cast<double>(root_probes.size()));
  std::printf(
      "  downstreamOf(p, 20)   mean %.2f us, p99 %.2f us per probe; %.1f ms for all %d "
      "(one relink's impact lists)\n",
      near.mean_us, near.p99_us, near_total_ms, probes);
  return 0;
}
