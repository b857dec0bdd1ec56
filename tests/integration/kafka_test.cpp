// Stream probes against librdkafka's mock cluster, run in this process: its
// brokers listen on 127.0.0.1 and the probes reach them over TCP, as they would
// a real cluster. Message timestamps are chosen relative to the fake clock.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

rd_kafka_t* client(rd_kafka_type_t type, const std::map<std::string, std::string>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      FAIL(err);
  }
  rd_kafka_conf_set_log_cb(conf, nullptr);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  REQUIRE(rk);
  return rk;
}

// A mock cluster with a producer and a way to commit a group's offsets.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    owner_ = client(RD_KAFKA_PRODUCER, {});
    cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
    REQUIRE(cluster_);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    producer_ = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstraps_}, {"linger.ms", "0"}});
  }
  ~MockCluster() {
    rd_kafka_destroy(producer_);
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstraps() const { return bootstraps_; }
  void createTopic(const std::string& topic, int partitions) {
    REQUIRE(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // `n` messages to `partition`, all with CreateTime `at`.
  void produce(const std::string& topic, int32_t partition, TimePoint at, int n = 1) {
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
    static char payload[] = "m";
    for (int i = 0; i < n; ++i) {
      rd_kafka_vu_t vu[4];
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = topic.c_str();
      vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vu[1].u.i32 = partition;
      vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[2].u.mem.ptr = payload;
      vu[2].u.mem.size = 1;
      vu[3].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      vu[3].u.i64 = ms;
      rd_kafka_error_t* e = rd_kafka_produceva(producer_, vu, 4);
      if (e) {
        const std::string what = rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        FAIL(what);
      }
    }
    REQUIRE(rd_kafka_flush(producer_, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // Commits `offsets` (partition -> next offset to consume) for `group`.
  void commit(const std::string& group, const std::string& topic,
              const std::map<int32_t, int64_t>& offsets) {
    rd_kafka_t* c = client(
        RD_KAFKA_CONSUMER,
        {{"bootstrap.servers", bootstraps_}, {"group.id", group}, {"enable.auto.commit", "false"}});
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
    for (const auto& [p, o] : offsets)
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
    const auto err = rd_kafka_commit(c, list, 0);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // What a broker without auto-creation answers for a topic it does not have.
  void unknownTopic(const std::string& topic) {
    rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  }
  void brokerDown() { rd_kafka_mock_broker_set_down(cluster_, 1); }
  void brokerUp() { rd_kafka_mock_broker_set_up(cluster_, 1); }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

ProbeHarness harness(const MockCluster& mc, const std::string& probes) {
  return ProbeHarness(loadTestConfig("sources:\n  events: {type: kafka, brokers: \"" +
                                         mc.bootstraps() + "\"}\nprobes:\n" + probes,
                                     "/tmp/kafka.yaml"),
                      kNow);
}

}  // namespace

TEST_CASE("topic freshness: the newest message over all partitions, empty ones ignored",
          "[kafka]") {
  MockCluster mc;
  mc.createTopic("orders.v1", 4);
  mc.createTopic("empty.v1", 3);
  mc.produce("orders.v1", 0, kNow - 40min, 3);
  mc.produce("orders.v1", 1, kNow - 20min, 2);
  mc.produce("orders.v1", 1, kNow - 3min);  // the newest, last in partition 1
  mc.produce("orders.v1", 2, kNow - 2h);    // partition 3 stays empty
  mc.unknownTopic("nope.v1");
  auto h = harness(mc,
                   "  - {name: fresh, type: freshness, source: events, topic: orders.v1, "
                   "max_age: 5m, timeout: 10s}\n"
                   "  - {name: stale, type: freshness, source: events, topic: orders.v1, "
                   "max_age: 1m, timeout: 10s}\n"
                   "  - {name: empty, type: freshness, source: events, topic: empty.v1, "
                   "max_age: 5m, timeout: 10s}\n"
                   "  - {name: unknown, type: freshness, source: events, topic: nope.v1, "
                   "max_age: 5m, timeout: 10s}\n");
  const ProbeResult fresh = h.run(0);
  INFO(fresh.message);
  REQUIRE(fresh.status == ProbeStatus::Pass);
  CHECK(*fresh.value == Approx(180));
  CHECK(fresh.message == "newest message 3m old <= 5m");
  CHECK(fresh.details["newest_partition"] == 1);
  CHECK(fresh.details["empty_partitions"] == 1);
  CHECK(fresh.details["timestamp_type"] == "CreateTime");
  CHECK(fresh.details["last_messages"].size() == 3);
  CHECK(fresh.details["last_messages"][1]["offset"] == 2);  // the last one: no marker to skip
  CHECK(fresh.details["last_messages"][1]["skipped_offsets"] == 0);
  CHECK_FALSE(fresh.details.contains("partitions_without_data"));
  const ProbeResult stale = h.run(1);
  CHECK(stale.status == ProbeStatus::Fail);
  CHECK(stale.message == "newest message 3m old > 1m");
  const ProbeResult empty = h.run(2);
  CHECK(empty.status == ProbeStatus::Fail);
  CHECK(empty.message == "topic empty.v1 is empty: no message in any of 3 partitions");
  const ProbeResult unknown = h.run(3);
  CHECK(unknown.status == ProbeStatus::Error);
  CHECK(unknown.message == "topic nope.v1 does not exist");
}

TEST_CASE("consumer lag: exact messages behind, seconds behind, caught up, stalled, stopped",
          "[kafka]") {
  MockCluster mc;
  mc.createTopic("orders.v1", 3);
  mc.produce("orders.v1", 0, kNow - 30min, 10);                        // offsets 0..9
  mc.produce("orders.v1", 1, kNow - 10min, 5);                         // 0..4
  mc.produce("orders.v1", 2, kNow - 1min, 2);                          // 0..1
  mc.commit("billing-loader", "orders.v1", {{0, 4}, {1, 5}, {2, 2}});  // 6 behind on p0
  mc.commit("caught-up", "orders.v1", {{0, 10}, {1, 5}, {2, 2}});
  auto h = harness(mc,
                   "  - {name: lag, type: consumer_lag, source: events, topic: orders.v1, "
                   "group: billing-loader, max_lag_messages: 5, max_lag_seconds: 1h, "
                   "timeout: 10s}\n"
                   "  - {name: ok, type: consumer_lag, source: events, topic: orders.v1, "
                   "group: caught-up, max_lag_messages: 5, timeout: 10s}\n"
                   "  - {name: ghost, type: consumer_lag, source: events, topic: orders.v1, "
                   "group: nobody, max_lag_messages: 5, timeout: 10s}\n");
  const ProbeResult lag = h.run(0);
  INFO(lag.message);
  REQUIRE(lag.status == ProbeStatus::Fail);
  CHECK(*lag.value == 6);
  CHECK(lag.details["worst_partition"] == 0);
  CHECK(lag.details["worst_partition_lag"] == 6);
  CHECK(lag.details["lag_seconds"].get<double>() == Approx(1800));
  CHECK(lag.details["status"] == "ok");
  CHECK(lag.message.rfind("6 messages behind > 5 — group billing-loader", 0) == 0);
  const ProbeResult ok = h.run(1);
  CHECK(ok.status == ProbeStatus::Pass);
  CHECK(*ok.value == 0);
  CHECK(ok.details["lag_seconds"] == 0.0);
  const ProbeResult ghost = h.run(2);
  CHECK(ghost.status == ProbeStatus::Error);
  CHECK(ghost.message.find("group nobody has no committed offset") != std::string::npos);

  // The group stops: new messages arrive, its offsets stay. Stalled, then stopped.
  h.clock.advance(5min);
  mc.produce("orders.v1", 1, kNow + 4min, 3);
  const ProbeResult stalled = h.run(0);
  CHECK(*stalled.value == 9);
  CHECK(stalled.details["status"] == "stalled");
  CHECK(stalled.message.find("stalled: no commit since 2026-11-26T10:00:00Z") != std::string::npos);
  h.clock.advance(5min);
  const ProbeResult stopped = h.run(0);
  CHECK(stopped.details["status"] == "stopped");
  CHECK(stopped.details["unchanged_since"] == "2026-11-26T10:00:00Z");
  // It resumes: committing again is "ok" whatever the lag.
  mc.commit("billing-loader", "orders.v1", {{0, 10}, {1, 6}, {2, 2}});
  h.clock.advance(5min);
  const ProbeResult resumed = h.run(0);
  CHECK(*resumed.value == 2);
  CHECK(resumed.details["status"] == "ok");
}

TEST_CASE("a broker down is an error within the timeout, and the probe recovers", "[kafka]") {
  MockCluster mc;
  mc.createTopic("orders.v1", 2);
  mc.produce("orders.v1", 0, kNow - 1min);
  auto h = harness(mc,
                   "  - {name: fresh, type: freshness, source: events, topic: orders.v1, "
                   "max_age: 5m, timeout: 2s}\n");
  REQUIRE(h.run().status == ProbeStatus::Pass);
  mc.brokerDown();
  const auto t0 = std::chrono::steady_clock::now();
  const ProbeResult down = h.run();
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(down.message);
  CHECK(down.status == ProbeStatus::Error);
  CHECK(took < 6s);  // the probe's 2s timeout, not librdkafka's retries
  mc.brokerUp();
  CHECK(eventually([&] { return h.run().status == ProbeStatus::Pass; }, 20s));
}

TEST_CASE("datawatch check runs stream probes from a config file", "[kafka]") {
  MockCluster mc;
  mc.createTopic("orders.v1", 2);
  const TimePoint now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  mc.produce("orders.v1", 0, now - 2min, 4);
  mc.produce("orders.v1", 1, now - 1min, 2);
  mc.commit("billing-loader", "orders.v1", {{0, 1}, {1, 2}});
  TempDir dir;
  writeFile(dir / "dw.yaml",
            "sources:\n  events: {type: kafka, brokers: \"" + mc.bootstraps() +
                "\", properties: {socket.timeout.ms: \"5000\"}}\nprobes:\n"
                "  - {name: topic_fresh, type: freshness, source: events, topic: orders.v1, "
                "max_age: 5m, timeout: 10s}\n"
                "  - {name: loader_lag, type: consumer_lag, source: events, topic: orders.v1, "
                "group: billing-loader, max_lag_messages: 2, timeout: 10s}\n");
  auto r =
      runCommand({DATAWATCH_BINARY, "check", "-c", (dir / "dw.yaml").string(), "--format", "json"});
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the lag fails
  const auto out = nlohmann::json::parse(r.out);
  REQUIRE(out.size() == 2);
  CHECK(out[0]["probe"] == "topic_fresh");
  CHECK(out[0]["status"] == "pass");
  CHECK(out[0]["target"] == "orders.v1");
  CHECK(out[0]["value"].get<double>() == Approx(60).margin(30));
  CHECK(out[1]["status"] == "fail");
  CHECK(out[1]["value"] == 3.0);
  CHECK(out[1]["details"]["worst_partition"] == 0);
}

TEST_CASE("topic volume sends its offsets-by-time request to the brokers", "[kafka][volume]") {
  // The mock answers ListOffsets by timestamp with -1 ("no message that new")
  // whatever the data: only a window holding no message can be checked here.
  // Exact counts inside a window: tests/unit/topic_volume_test.cpp.
  MockCluster mc;
  mc.createTopic("orders.v1", 3);
  mc.produce("orders.v1", 0, kNow - 2h, 7);
  mc.produce("orders.v1", 2, kNow - 3h, 5);
  mc.unknownTopic("nope.v1");
  auto h = harness(mc,
                   "  - {name: quiet, type: volume, source: events, topic: orders.v1, window: 1h, "
                   "min: 1, timeout: 10s}\n"
                   "  - {name: unknown, type: volume, source: events, topic: nope.v1, window: 1h, "
                   "min: 1, timeout: 10s}\n");
  const ProbeResult quiet = h.run(0);
  INFO(quiet.message);
  CHECK(quiet.status == ProbeStatus::Fail);
  CHECK(quiet.message == "0 messages < min 1 in the last 1h");
  CHECK(quiet.details["partitions"][0]["from_offset"] == 7);  // the high watermark
  const ProbeResult unknown = h.run(1);
  CHECK(unknown.status == ProbeStatus::Error);
  CHECK(unknown.message == "topic nope.v1 does not exist");
}
