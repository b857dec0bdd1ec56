// kafka_bench: stream probes against librdkafka's mock cluster (3 brokers, a
// topic with 64 partitions, in this process; the probes connect over TCP).
//
//  1. one freshness and one consumer_lag probe: wall time, and the requests the
//     brokers received (counted from the mock's own "Received ...Request" log);
//  2. 100 such probes (50 + 50) every 10 s for N rounds: CPU time per round and
//     peak RSS.
//
// usage: kafka_bench [rounds=6]

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "probes/registry.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 64;
constexpr int kBrokers = 3;

// Requests seen by the mock brokers, by API name.
struct RequestLog {
  std::mutex mu;
  std::map<std::string, int> by_api;
  int total() {
    std::lock_guard l(mu);
    int n = 0;
    for (const auto& [k, v] : by_api) n += v;
    return n;
  }
  std::map<std::string, int> take() {
    std::lock_guard l(mu);
    auto out = by_api;
    by_api.clear();
    return out;
  }
};

void onLog(const rd_kafka_t* rk, int, const char*, const char* buf) {
  auto* log = static_cast<RequestLog*>(rd_kafka_opaque(rk));
  const std::string line = buf;
  const auto r = line.find(": Received ");
  if (r == std::string::npos) return;
  const auto start = r + 11;
  const auto end = line.find("Request", start);
  if (end == std::string::npos) return;
  std::lock_guard l(log->mu);
  ++log->by_api[line.substr(start, end - start)];
}

rd_kafka_t* client(rd_kafka_type_t type, const std::map<std::string, std::string>& props,
                   void* opaque = nullptr, bool logs = false) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", err);
      std::exit(1);
    }
  }
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_conf_set_log_cb(conf, logs ? onLog : nullptr);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "%s\n", err);
    std::exit(1);
  }
  return rk;
}

std::string describe(const std::map<std::string, int>& by_api) {
  std::string s;
  int n = 0;
  for (const auto& [k, v] : by_api) {
    s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
    n += v;
  }
  return std::to_string(n) + " (" + s + ")";
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 6;
  RequestLog requests;
  rd_kafka_t* owner = client(RD_KAFKA_PRODUCER, {{"debug", "mock"}}, &requests, true);
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(owner, kBrokers);
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  rd_kafka_mock_topic_create(mc, "orders.v1", kPartitions, 1);
  {
    rd_kafka_t* producer = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstraps}});
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    static char payload[] = "message";
    for (int p = 0; p < kPartitions; ++p) {
      for (int i = 0; i < 20; ++i) {
        rd_kafka_vu_t vu[4];
        vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[0].u.cstr = "orders.v1";
        vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
        vu[1].u.i32 = p;
        vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[2].u.mem.ptr = payload;
        vu[2].u.mem.size = sizeof payload - 1;
        vu[3].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
        vu[3].u.i64 = now_ms - (20 - i) * 1000;
        if (rd_kafka_error_t* e = rd_kafka_produceva(producer, vu, 4)) {
          std::fprintf(stderr, "produce: %s\n", rd_kafka_error_string(e));
          return 1;
        }
      }
    }
    rd_kafka_flush(producer, 10000);
    rd_kafka_destroy(producer);
    // The group is 5 messages behind on every partition.
    rd_kafka_t* c = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps},
                                               {"group.id", "billing-loader"},
                                               {"enable.auto.commit", "false"}});
    auto* list = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p)
      rd_kafka_topic_partition_list_add(list, "orders.v1", p)->offset = 15;
    if (rd_kafka_commit(c, list, 0)) {
      std::fprintf(stderr, "commit failed\n");
      return 1;
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(c);
  }

  std::string probes;
  for (int i = 0; i < 50; ++i) {
    probes += "  - {name: fresh" + std::to_string(i) +
              ", type: freshness, source: events, topic: orders.v1, max_age: 5m, every: 10s}\n";
    probes += "  - {name: lag" + std::to_string(i) +
              ", type: consumer_lag, source: events, topic: orders.v1, group: billing-loader, "
              "max_lag_messages: 1000, every: 10s}\n";
  }
  const auto loaded = bench::loadConfigOrExit(
      "sources:\n  events: {type: kafka, brokers: \"" + bootstraps + "\"}\nprobes:\n" + probes,
      "/tmp/kafka_bench.yaml");
  const auto& cfg = *loaded;
  SystemClock clock;
  SourceRegistry sources;
  ProbeRegistry registry;
  registerBuiltinSources(sources);
  registerBuiltinProbes(registry);
  auto src = sources.create(cfg.sources.at(0), clock);
  std::vector<std::unique_ptr<Probe>> all;
  for (const auto& p : cfg.probes) all.push_back(registry.create(p, src->get()));

  auto runOne = [&](size_t i) {
    RunContext ctx;
    ctx.now = clock.now();
    ctx.limits.deadline = clock.monotonic() + 10s;
    return all[i]->run(ctx);
  };
  // Warm-up: the connection to each broker and the topic's metadata.
  (void)runOne(0);
  (void)runOne(1);
  std::this_thread::sleep_for(200ms);  // let in-flight bookkeeping requests land
  (void)requests.take();
  std::printf("kafka_bench: mock cluster, %d brokers, topic of %d partitions\n", kBrokers,
              kPartitions);
  for (size_t i : {size_t{0}, size_t{1}}) {
    const auto t0 = clock.monotonic();
    const ProbeResult r = runOne(i);
    const double ms = std::chrono::duration<double, std::milli>(clock.monotonic() - t0).count();
    std::this_thread::sleep_for(200ms);
    std::printf("  %-12s %7.1f ms  requests %s\n    -> %s: %s\n",
                i == 0 ? "freshness" : "consumer_lag", ms, describe(requests.take()).c_str(),
                toString(r.status), r.message.c_str());
  }
  // 100 probes every 10 s, run back to back at the start of each period (as the
  // scheduler would with enough workers, one source).
  const double cpu0 = bench::processCpuSeconds();
  std::vector<double> round_ms;
  for (int round = 0; round < rounds; ++round) {
    const auto start = clock.monotonic();
    for (size_t i = 0; i < all.size(); ++i) (void)runOne(i);
    round_ms.push_back(
        std::chrono::duration<double, std::milli>(clock.monotonic() - start).count());
    if (round + 1 < rounds) std::this_thread::sleep_until(start + 10s);
  }
  const double cpu = bench::processCpuSeconds() - cpu0;
  double worst = 0;
  for (double m : round_ms) worst = std::max(worst, m);
  std::printf(
      "  100 probes every 10 s, %d rounds: CPU %.2f s per round (%.1f%% of a core, incl. the "
      "mock brokers in this process), slowest round %.0f ms, peak RSS %.1f MB\n",
      rounds, cpu / rounds, 100 * cpu / (rounds * 10.0), worst,
      static_cast<double>(bench::peakRssKb()) / 1024);
  all.clear();
  src->reset();
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(owner);
  return 0;
}
