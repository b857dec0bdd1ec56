#pragma once
// StreamSource: a source of topics (Kafka). What the stream probes need of it:
// partition offsets, offsets by time, single messages by offset, and a group's
// committed offsets. KafkaSource implements it; tests have a fake for what
// librdkafka's mock cluster cannot answer (offsets by timestamp, transaction
// markers: its transactional producer writes no control records).
//
// Transactions (read_committed, Kafka's KIP-98): offsets count data messages
// AND control records (one commit/abort marker per transaction and partition),
// so the offset before the end is often a marker, not a message. Reads never
// return control records nor messages of aborted transactions, and the end of
// a partition is its last stable offset: what a read_committed consumer reaches.
//
// Contract for every implementation: thread-safe; every request honours its
// deadline (on the source's clock); failures are error values, never throws;
// never consumes a topic, joins or commits for a group.

#include <map>
#include <string>
#include <vector>

#include "probes/source.hpp"

namespace datawatch {

class StreamSource : public Source {
 public:
  struct PartitionOffsets {
    int32_t partition = 0;
    int64_t low = 0;   // first retained offset
    int64_t high = 0;  // the end: the last stable offset (high watermark if no
                       // transaction is open), as ListOffsets answers read_committed
  };
  // Partitions of `topic` with their watermarks. Errors: unknown topic, no broker.
  virtual Result<std::vector<PartitionOffsets>> watermarks(const std::string& topic,
                                                           MonoTime deadline) = 0;

  // For each partition, the earliest offset whose timestamp is >= `at`, or -1
  // when no message is that new (Kafka's ListOffsets by timestamp).
  virtual Result<std::map<int32_t, int64_t>> offsetsForTime(const std::string& topic,
                                                            const std::vector<int32_t>& partitions,
                                                            TimePoint at, MonoTime deadline) = 0;

  struct Message {
    int32_t partition = 0;
    int64_t offset = 0;
    TimePoint timestamp;
    std::string timestamp_type;  // "CreateTime" | "LogAppendTime" | "none"
  };
  // Reads the message at `offsets[p]` of each listed partition (one fetch
  // session for all of them). A partition whose message is gone (retention,
  // compaction) or is not a data message (a control record, an aborted one)
  // yields the next data message, or nothing when it has none before its end.
  virtual Result<std::vector<Message>> readAt(const std::string& topic,
                                              const std::map<int32_t, int64_t>& offsets,
                                              MonoTime deadline) = 0;

  struct OffsetRange {
    int64_t from = 0;  // first offset read
    int64_t to = 0;    // one past the last
  };
  // The NEWEST data message in [from, to) of each listed partition (one fetch
  // session; reads at most to - from offsets per partition); a partition with no
  // data message in its range (only control records, aborted or deleted
  // messages) yields nothing.
  virtual Result<std::vector<Message>> readNewest(const std::string& topic,
                                                  const std::map<int32_t, OffsetRange>& ranges,
                                                  MonoTime deadline) = 0;

  // The offsets `group` committed for `topic`'s partitions (-1: none), without
  // joining or disturbing the group.
  virtual Result<std::map<int32_t, int64_t>> committed(const std::string& group,
                                                       const std::string& topic,
                                                       const std::vector<int32_t>& partitions,
                                                       MonoTime deadline) = 0;
};

}  // namespace datawatch
