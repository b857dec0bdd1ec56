// Topic volume counts messages from offsets by time. librdkafka's mock cluster
// does not answer ListOffsets by timestamp (it returns -1), so the exact window
// counts are checked here against a fake stream source that keeps each
// partition's message timestamps; tests/integration/kafka_test.cpp covers the
// rest on the mock cluster.

#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "probes/kafka_probes.hpp"
#include "probes/stream_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

// Partitions as lists of message timestamps (offset = index); `low` drops the
// first messages as retention would.
class FakeStream final : public StreamSource {
 public:
  std::map<int32_t, std::vector<TimePoint>> messages;
  std::map<int32_t, int64_t> low;
  int offset_requests = 0;

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Kafka; }
  Result<std::vector<PartitionOffsets>> watermarks(const std::string&, MonoTime) override {
    std::vector<PartitionOffsets> out;
    for (const auto& [p, m] : messages)
      out.push_back({p, low.count(p) ? low[p] : 0, static_cast<int64_t>(m.size())});
    return out;
  }
  Result<std::map<int32_t, int64_t>> offsetsForTime(const std::string&,
                                                    const std::vector<int32_t>& partitions,
                                                    TimePoint at, MonoTime) override {
    ++offset_requests;
    std::map<int32_t, int64_t> out;
    for (int32_t p : partitions) {
      out[p] = -1;
      const auto& m = messages.at(p);
      for (size_t i = static_cast<size_t>(low.count(p) ? low[p] : 0); i < m.size(); ++i) {
        if (m[i] >= at) {
          out[p] = static_cast<int64_t>(i);
          break;
        }
      }
    }
    return out;
  }
  Result<std::vector<Message>> readAt(const std::string&, const std::map<int32_t, int64_t>&,
                                      MonoTime) override {
    return Result<std::vector<Message>>::Error("volume must not read messages");
  }
  Result<std::map<int32_t, int64_t>> committed(const std::string&, const std::string&,
                                               const std::vector<int32_t>&, MonoTime) override {
    return Result<std::map<int32_t, int64_t>>::Error("not used");
  }

  void add(int32_t p, TimePoint at, int n) {
    for (int i = 0; i < n; ++i) messages[p].push_back(at);
  }

 private:
  std::string name_ = "events";
};

std::unique_ptr<Probe> volumeProbe(StreamSource& src, const std::string& fields) {
  static std::shared_ptr<config::Config> keep;  // the probe keeps a reference to its config
  keep = datawatch::testing::loadTestConfig(
      "sources:\n  events: {type: kafka, brokers: \"127.0.0.1:1\"}\nprobes:\n"
      "  - {name: v, type: volume, source: events, topic: orders.v1, " +
          fields + "}\n",
      "/tmp/v.yaml");
  auto made = makeTopicVolumeProbe(keep->probes.at(0), src);
  REQUIRE(made.ok());
  return std::move(made).value();
}

}  // namespace

TEST_CASE("topic volume counts the messages of the window per partition, exactly",
          "[kafka][volume]") {
  FakeStream s;
  s.add(0, kNow - 2h, 10);    // before the window
  s.add(0, kNow - 30min, 5);  // in it
  s.add(1, kNow - 59min, 3);  // in it
  s.add(2, kNow - 3h, 4);     // all old
  s.add(3, kNow - 10min, 6);  // in it, but retention dropped the first 2...
  s.low[3] = 2;               // ...which are gone from the count too
  s.messages[4];              // an empty partition
  auto probe = volumeProbe(s, "window: 1h, min: 20");
  RunContext ctx;
  ctx.now = kNow;
  const ProbeResult r = probe->run(ctx);
  INFO(r.message);
  REQUIRE(r.status == ProbeStatus::Fail);
  CHECK(*r.value == 5 + 3 + 0 + 4 + 0);
  CHECK(r.message == "12 messages < min 20 in the last 1h");
  CHECK(r.unit == "messages");
  CHECK(s.offset_requests == 1);  // one batched lookup, not one per partition
  const auto& parts = r.details["partitions"];
  REQUIRE(parts.size() == 5);
  CHECK(parts[0]["from_offset"] == 10);
  CHECK(parts[0]["messages"] == 5);
  CHECK(parts[2]["messages"] == 0);
  CHECK(parts[3]["from_offset"] == 2);
  CHECK(parts[3]["messages"] == 4);
  CHECK(parts[4]["messages"] == 0);
}

TEST_CASE("topic volume max_change compares with the previous run", "[kafka][volume]") {
  FakeStream s;
  s.add(0, kNow - 10min, 100);
  auto probe = volumeProbe(s, "window: 1h, max_change: 0.5");
  RunContext ctx;
  ctx.now = kNow;
  const ProbeResult first = probe->run(ctx);
  REQUIRE(first.status == ProbeStatus::Pass);
  CHECK(first.message == "100 messages in the last 1h within bounds");
  ctx.now = kNow + 50min;  // the 100 are still in the window; 10 more arrive
  s.add(0, kNow + 45min, 10);
  ctx.previous = &first;
  const ProbeResult second = probe->run(ctx);
  CHECK(second.status == ProbeStatus::Pass);
  CHECK(*second.value == 110);
  ctx.now = kNow + 2h;  // nothing left in the window: -100% against the first run
  const ProbeResult third = probe->run(ctx);
  CHECK(third.status == ProbeStatus::Fail);
  CHECK(*third.value == 0);
}
