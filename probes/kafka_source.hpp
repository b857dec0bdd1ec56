#pragma once
// KafkaSource: a Kafka cluster (StreamSource), read through one librdkafka
// consumer handle that never subscribes, never joins a group and never commits.
//
// Contract (beyond StreamSource's):
// - Thread-safe: requests are serialised on the handle (a probe run holds it for
//   a few requests; the scheduler's per-source limit bounds the queue).
// - Every request has a deadline; a broker that does not answer is an error
//   value, never a hang. Errors never carry the `properties` (secrets).
// - Reads as a read_committed consumer (isolation.level, overridable by a
//   property): ends are last stable offsets, control records are never returned.
// - Requests go to partition leaders in one batch per broker (librdkafka groups
//   offset requests and fetches by leader), never one request per partition.

#include <librdkafka/rdkafka.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mutex.hpp"
#include "probes/stream_source.hpp"

namespace datawatch {

class KafkaSource final : public StreamSource {
 public:
  // Builds the handle; an invalid property is an error at first use (reported by
  // every request) rather than a throw.
  // `clock` (its monotonic time) is the one request deadlines are read on.
  KafkaSource(std::string name, const config::KafkaSourceConfig& cfg, const Clock& clock);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Kafka; }

  Result<std::vector<PartitionOffsets>> watermarks(const std::string& topic,
                                                   MonoTime deadline) override;
  Result<std::map<int32_t, int64_t>> offsetsForTime(const std::string& topic,
                                                    const std::vector<int32_t>& partitions,
                                                    TimePoint at, MonoTime deadline) override;
  Result<std::vector<Message>> readAt(const std::string& topic,
                                      const std::map<int32_t, int64_t>& offsets,
                                      MonoTime deadline) override;
  Result<std::vector<Message>> readNewest(const std::string& topic,
                                          const std::map<int32_t, OffsetRange>& ranges,
                                          MonoTime deadline) override;
  // With the Admin API's ListConsumerGroupOffsets (an OffsetFetch).
  Result<std::map<int32_t, int64_t>> committed(const std::string& group, const std::string& topic,
                                               const std::vector<int32_t>& partitions,
                                               MonoTime deadline) override;

 private:
  // Milliseconds left until `deadline` on the source's clock (30 s when none).
  int timeoutMs(MonoTime deadline) const;
  // Consumes `topic` from `starts[p]` on each partition (mu_ held), handing each
  // data message to `take`, which returns true when its partition needs no more;
  // ends when every partition is done or at its end. Returns "" or the error.
  using Take = std::function<bool(const rd_kafka_message_t&)>;
  std::string consume(const std::string& topic, const std::map<int32_t, int64_t>& starts,
                      MonoTime deadline, const Take& take);
  static Message toMessage(const rd_kafka_message_t& m);

  std::string name_;
  const Clock& clock_;
  std::string setup_error_;  // non-empty when the handle could not be built
  Mutex mu_;
  // Set once by the constructor; requests on the handle hold mu_.
  rd_kafka_t* rk_ PT_GUARDED_BY(mu_) = nullptr;
};

}  // namespace datawatch
