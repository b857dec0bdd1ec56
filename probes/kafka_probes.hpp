#pragma once
// Factories for the stream probes on Kafka sources (docs/streams.md).

#include <memory>

#include "probes/probe.hpp"

namespace datawatch {

// freshness on a topic: now - the newest message timestamp over all partitions,
// read from the last message of each non-empty partition (watermarks first; the
// topic is never consumed). An empty topic fails with its own message.
Result<std::unique_ptr<Probe>> makeTopicFreshnessProbe(const config::ProbeConfig& cfg,
                                                       Source& source);

// volume on a topic: messages produced in `window` (offsets by time to the high
// watermark, per partition and in total), or all retained messages; min / max /
// max_change / anomaly as for tables (the anomaly series learns from live runs:
// no backfill).
Result<std::unique_ptr<Probe>> makeTopicVolumeProbe(const config::ProbeConfig& cfg, Source& source);

// consumer_lag: messages between a group's committed offsets and the high
// watermarks (summed, and the worst partition), and seconds behind (the age of
// the next unconsumed message); stalled/stopped when its commits do not move.
Result<std::unique_ptr<Probe>> makeConsumerLagProbe(const config::ProbeConfig& cfg, Source& source);

}  // namespace datawatch
