// Topic volume counts messages from offsets by time. librdkafka's mock cluster
// does not answer ListOffsets by timestamp (it returns -1), so the exact window
// counts are checked here against a fake stream source that keeps each
// partition's message timestamps; tests/integration/kafka_test.cpp covers the
// rest on the mock cluster. Transactional topics too: librdkafka 2.0's mock
// cluster accepts a transactional producer but writes no commit markers (after a
// committed transaction of 3 messages its high watermark is 3, a broker's is 4),
// so the fake keeps control records and last stable offsets.

#include <catch2/catch.hpp>

#include <set>

#include "core/time_format.hpp"
#include "probes/kafka_probes.hpp"
#include "probes/stream_source.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");

// Partitions as lists of message timestamps (offset = index); `low` drops the
// first messages as retention would; `not_data` offsets are control records or
// aborted messages (never read, as read_committed); `lso` ends a partition
// before an open transaction. Reads are refused unless `allow_reads`.
class FakeStream final : public StreamSource {
 public:
  std::map<int32_t, std::vector<TimePoint>> messages;
  std::map<int32_t, int64_t> low;
  std::map<int32_t, std::set<int64_t>> not_data;
  std::map<int32_t, int64_t> lso;
  std::map<int32_t, int64_t> commits;
  bool allow_reads = false;
  int offset_requests = 0;
  std::map<int32_t, int64_t> offsets_read;  // by readNewest, per partition

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Kafka; }
  Result<std::vector<PartitionOffsets>> watermarks(const std::string&, MonoTime) override {
    std::vector<PartitionOffsets> out;
    for (const auto& [p, m] : messages) out.push_back({p, first(p), end(p)});
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
  Result<std::vector<Message>> readAt(const std::string&, const std::map<int32_t, int64_t>& offsets,
                                      MonoTime) override {
    if (!allow_reads) return Result<std::vector<Message>>::Error("volume must not read messages");
    std::vector<Message> out;
    for (const auto& [p, o] : offsets) {
      for (int64_t i = std::max(o, first(p)); i < end(p); ++i) {
        if (isData(p, i)) {
          out.push_back(message(p, i));
          break;
        }
      }
    }
    return out;
  }
  Result<std::vector<Message>> readNewest(const std::string&,
                                          const std::map<int32_t, OffsetRange>& ranges,
                                          MonoTime) override {
    if (!allow_reads) return Result<std::vector<Message>>::Error("volume must not read messages");
    std::vector<Message> out;
    for (const auto& [p, r] : ranges) {
      offsets_read[p] += r.to - r.from;
      for (int64_t i = std::min(r.to, end(p)) - 1; i >= std::max(r.from, first(p)); --i) {
        if (isData(p, i)) {
          out.push_back(message(p, i));
          break;
        }
      }
    }
    return out;
  }
  Result<std::map<int32_t, int64_t>> committed(const std::string&, const std::string&,
                                               const std::vector<int32_t>& partitions,
                                               MonoTime) override {
    std::map<int32_t, int64_t> out;
    for (int32_t p : partitions) out[p] = commits.count(p) ? commits[p] : -1;
    return out;
  }

  void add(int32_t p, TimePoint at, int n) {
    for (int i = 0; i < n; ++i) messages[p].push_back(at);
  }
  // A transaction's commit (or abort) marker: an offset that is no message.
  void marker(int32_t p, TimePoint at) {
    not_data[p].insert(static_cast<int64_t>(messages[p].size()));
    messages[p].push_back(at);
  }
  // `n` messages of an aborted transaction, then its abort marker.
  void aborted(int32_t p, TimePoint at, int n) {
    for (int i = 0; i < n; ++i) marker(p, at);
    marker(p, at);
  }

 private:
  int64_t first(int32_t p) { return low.count(p) ? low[p] : 0; }
  int64_t end(int32_t p) {
    return lso.count(p) ? lso[p] : static_cast<int64_t>(messages[p].size());
  }
  bool isData(int32_t p, int64_t o) { return !not_data[p].count(o); }
  Message message(int32_t p, int64_t o) {
    return {p, o, messages[p][static_cast<size_t>(o)], "CreateTime"};
  }
  std::string name_ = "events";
};

using Factory = Result<std::unique_ptr<Probe>> (*)(const config::ProbeConfig&, Source&);

std::unique_ptr<Probe> topicProbe(StreamSource& src, Factory make, const std::string& fields) {
  static std::vector<std::shared_ptr<config::Config>> keep;  // probes keep references to configs
  keep.push_back(datawatch::testing::loadTestConfig(
      "sources:\n  events: {type: kafka, brokers: \"127.0.0.1:1\"}\nprobes:\n"
      "  - {name: v, source: events, topic: orders.v1, " +
          fields + "}\n",
      "/tmp/v.yaml"));
  auto made = make(keep.back()->probes.at(0), src);
  REQUIRE(made.ok());
  return std::move(made).value();
}

std::unique_ptr<Probe> volumeProbe(StreamSource& src, const std::string& fields) {
  return topicProbe(src, &makeTopicVolumeProbe, "type: volume, " + fields);
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

TEST_CASE(
    "topic freshness on transactional topics: the newest data message, not the marker after it",
    "[kafka][transactions]") {
  FakeStream s;
  s.allow_reads = true;
  s.add(0, kNow - 30min, 3);       // offsets 0-2
  s.marker(0, kNow - 29min);       // 3: commit
  s.add(0, kNow - 5min, 2);        // 4-5: the newest data message is offset 5
  s.marker(0, kNow - 4min);        // 6: commit, the last offset
  s.add(1, kNow - 20min, 1);       // 0: committed data...
  s.marker(1, kNow - 20min);       // 1
  s.aborted(1, kNow - 1min, 100);  // ...then an aborted transaction: 2-101, marker 102
  s.add(2, kNow - 2min, 4);        // an open transaction: nothing stable yet
  s.lso[2] = 0;
  s.add(3, kNow - 1min, 1);         // data beyond the step-back bound:
  s.aborted(3, kNow - 1min, 1500);  // 1,500 aborted messages and their marker after it
  auto probe = topicProbe(s, &makeTopicFreshnessProbe, "type: freshness, max_age: 10m");
  RunContext ctx;
  ctx.now = kNow;
  const ProbeResult r = probe->run(ctx);
  INFO(r.message);
  REQUIRE(r.status == ProbeStatus::Pass);
  CHECK(*r.value == Approx(300));
  CHECK(r.message == "newest message 5m old <= 10m");
  CHECK(r.details["newest_partition"] == 0);
  CHECK(r.details["empty_partitions"] == 1);  // partition 2 as read_committed sees it
  const auto& last = r.details["last_messages"];
  REQUIRE(last.size() == 2);
  CHECK(last[0]["offset"] == 5);
  CHECK(last[0]["skipped_offsets"] == 1);
  CHECK(last[1]["offset"] == 0);
  CHECK(last[1]["skipped_offsets"] == 102);
  CHECK(r.details["partitions_without_data"] == nlohmann::json::array({3}));
  // Each offset read once, and never more than the bound per partition.
  CHECK(s.offsets_read[0] == 1 + 3);  // the marker, then the 3 offsets before it
  CHECK(s.offsets_read[1] == 103);
  CHECK(s.offsets_read[3] == 1024);

  // Only markers and aborted messages within reach: an error that says so.
  FakeStream only;
  only.allow_reads = true;
  only.aborted(0, kNow, 2000);
  auto none = topicProbe(only, &makeTopicFreshnessProbe, "type: freshness, max_age: 10m");
  const ProbeResult e = none->run(ctx);
  CHECK(e.status == ProbeStatus::Error);
  CHECK(e.message ==
        "no data message in the last 1024 offsets of any partition of orders.v1 (only "
        "transaction markers or aborted messages)");
}

TEST_CASE("consumer lag on transactional topics: caught up to the commit marker is 0 behind",
          "[kafka][transactions]") {
  FakeStream s;
  s.allow_reads = true;
  s.add(0, kNow - 30min, 3);  // 0-2
  s.marker(0, kNow - 30min);  // 3: the end is 4
  s.commits[0] = 3;           // consumed all 3 messages: commits the marker's offset
  s.add(1, kNow - 10min, 2);  // 0-1
  s.marker(1, kNow - 10min);  // 2
  s.add(1, kNow - 1min, 2);   // 3-4: an open transaction, not consumable yet
  s.lso[1] = 3;
  s.commits[1] = 2;
  s.add(2, kNow - 10min, 2);  // 0-1
  s.marker(2, kNow - 10min);  // 2
  s.add(2, kNow - 2min, 3);   // 3-5: not consumed
  s.marker(2, kNow - 2min);   // 6
  s.commits[2] = 2;
  auto probe = topicProbe(s, &makeConsumerLagProbe,
                          "type: consumer_lag, group: loader, max_lag_messages: 0");
  RunContext ctx;
  ctx.now = kNow;
  const ProbeResult r = probe->run(ctx);
  INFO(r.message);
  const auto& parts = r.details["partitions"];
  REQUIRE(parts.size() == 3);
  CHECK(parts[0]["lag"] == 0);
  CHECK(parts[0]["skipped_offsets"] == 1);
  CHECK(parts[1]["lag"] == 0);  // against the last stable offset 3
  CHECK(parts[1]["high_watermark"] == 3);
  CHECK(parts[2]["lag"] == 4);  // from the next data message (3) to the end (7)
  CHECK(parts[2]["lag_seconds"] == Approx(120));
  CHECK(*r.value == 4);
  CHECK(r.details["lag_seconds"] == Approx(120));
  CHECK(r.details["worst_partition"] == 2);
  // The group catches up to the last marker: 0 behind, and the probe passes.
  s.commits[2] = 6;
  const ProbeResult caught_up = probe->run(ctx);
  CHECK(caught_up.status == ProbeStatus::Pass);
  CHECK(*caught_up.value == 0);
  CHECK(caught_up.details["lag_seconds"] == 0.0);
}
