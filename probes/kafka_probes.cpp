// Stream probes on Kafka topics (docs/streams.md): freshness and consumer_lag.
// They read offsets and at most one message per partition; they never consume a
// topic, never join or commit for a group.

#include "probes/kafka_probes.hpp"

#include <algorithm>
#include <set>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/sql_probes.hpp"
#include "probes/stream_source.hpp"
#include "probes/volume_judge.hpp"

namespace datawatch {
namespace {

// How far topic freshness steps back from a partition's end for its newest data
// message when the last offsets are transaction markers or aborted messages:
// ranges of 1, 3, 12, 48, ... offsets below the end, kMaxStepBack in all.
constexpr int64_t kMaxStepBack = 1024;

// The newest data message of each non-empty partition, stepping back from the
// end in growing ranges (each offset read once) until one is found, the
// partition's first offset or kMaxStepBack is reached. Partitions with none
// are listed in `without_data`.
Result<std::vector<StreamSource::Message>> newestDataMessages(
    StreamSource& src, const std::string& topic,
    const std::vector<StreamSource::PartitionOffsets>& marks, MonoTime deadline,
    std::vector<int32_t>& without_data) {
  std::map<int32_t, StreamSource::OffsetRange> ranges;
  for (const auto& m : marks)
    if (m.high > m.low) ranges[m.partition] = {m.high - 1, m.high};
  std::vector<StreamSource::Message> found;
  for (int64_t back = 1; !ranges.empty(); back *= 4) {
    auto msgs = src.readNewest(topic, ranges, deadline);
    if (!msgs) return msgs.status();
    for (const auto& m : *msgs) {
      found.push_back(m);
      ranges.erase(m.partition);
    }
    const int64_t next = std::min(back * 4, kMaxStepBack);
    for (const auto& m : marks) {
      auto it = ranges.find(m.partition);
      if (it == ranges.end()) continue;
      const int64_t from = std::max(m.low, m.high - next);
      if (back >= kMaxStepBack || from >= it->second.from) {
        without_data.push_back(m.partition);  // searched to its start or the bound
        ranges.erase(it);
      } else {
        it->second = {from, it->second.from};
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  return found;
}

// freshness on a topic: the newest message timestamp over all partitions.
class TopicFreshnessProbe final : public Probe {
 public:
  TopicFreshnessProbe(config::ProbeConfig cfg, StreamSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::FreshnessSpec>(cfg_.spec)), src_(src) {}
  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    const auto& deadline = ctx.limits.deadline;
    auto marks = src_.watermarks(cfg_.topic, deadline);
    if (!marks) return ProbeResult::error(marks.error());
    size_t non_empty = 0;
    for (const auto& m : *marks) non_empty += m.high > m.low ? 1 : 0;
    nlohmann::json details = {{"topic", cfg_.topic},
                              {"partitions", marks->size()},
                              {"empty_partitions", marks->size() - non_empty}};
    if (non_empty == 0) {
      ProbeResult r = ProbeResult::fail(std::nullopt, "seconds",
                                        "topic " + cfg_.topic + " is empty: no message in any of " +
                                            std::to_string(marks->size()) + " partitions");
      r.details = details;
      return r;
    }
    std::vector<int32_t> without_data;
    auto msgs = newestDataMessages(src_, cfg_.topic, *marks, deadline, without_data);
    if (!msgs) return ProbeResult::error(msgs.error());
    if (!without_data.empty()) details["partitions_without_data"] = without_data;
    if (msgs->empty()) {
      return ProbeResult::error("no data message in the last " + std::to_string(kMaxStepBack) +
                                " offsets of any partition of " + cfg_.topic +
                                " (only transaction markers or aborted messages)");
    }
    std::map<int32_t, int64_t> ends;
    for (const auto& m : *marks) ends[m.partition] = m.high;
    const Message* newest = nullptr;
    nlohmann::json per = nlohmann::json::array();
    std::set<std::string> types;
    for (const auto& m : *msgs) {
      if (!newest || m.timestamp > newest->timestamp) newest = &m;
      types.insert(m.timestamp_type);
      per.push_back(
          {{"partition", m.partition},
           {"offset", m.offset},
           // Offsets after the newest data message: transaction markers, aborted messages.
           {"skipped_offsets", ends[m.partition] - 1 - m.offset},
           {"timestamp", formatRfc3339Millis(m.timestamp)},
           {"age_seconds", std::chrono::duration<double>(ctx.now - m.timestamp).count()}});
    }
    const auto age = std::chrono::duration_cast<Duration>(ctx.now - newest->timestamp);
    const double age_s = std::chrono::duration<double>(ctx.now - newest->timestamp).count();
    details["newest_timestamp"] = formatRfc3339Millis(newest->timestamp);
    details["newest_partition"] = newest->partition;
    details["newest_timestamp_seconds"] = toUnixSeconds(newest->timestamp);
    details["timestamp_type"] =
        types.size() == 1 ? *types.begin() : std::string("mixed");  // CreateTime | LogAppendTime
    details["last_messages"] = per;
    ProbeResult r;
    const std::string text = "newest message " + humanDuration(std::max(age, Duration(0))) + " old";
    if (spec_.max_age && age > *spec_.max_age) {
      r = ProbeResult::fail(age_s, "seconds", text + " > " + humanDuration(*spec_.max_age));
    } else {
      r = ProbeResult::pass(
          age_s, "seconds",
          text + (spec_.max_age ? " <= " + humanDuration(*spec_.max_age) : std::string()));
    }
    if (spec_.max_age)
      r.threshold = {{"max", std::chrono::duration<double>(*spec_.max_age).count()}};
    r.details = details;
    return r;
  }

 private:
  using Message = StreamSource::Message;
  config::ProbeConfig cfg_;
  const config::FreshnessSpec& spec_;
  StreamSource& src_;
};

// consumer_lag: how far a group is behind the end (the last stable offset), in
// messages and in seconds (the age of the next message it has not consumed).
class ConsumerLagProbe final : public Probe {
 public:
  ConsumerLagProbe(config::ProbeConfig cfg, StreamSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::ConsumerLagSpec>(cfg_.spec)), src_(src) {}
  const config::ProbeConfig& config() const override { return cfg_; }

 private:
  struct PartitionLag {
    int32_t partition = 0;
    int64_t committed = -1;
    int64_t end = 0;      // the last stable offset
    int64_t lag = 0;      // offsets from the next unconsumed data message to the end
    int64_t skipped = 0;  // markers / aborted offsets between the commit and that message
    std::optional<double> lag_seconds;
  };

  // Each partition's lag: from the group's next offset (its first retained one
  // without a commit) to the end, counted from the next DATA message there: a
  // group that consumed every message commits the offset of the transaction
  // marker that follows them, and is then 0 behind, not 1.
  Result<std::vector<PartitionLag>> partitionLags(
      const std::vector<StreamSource::PartitionOffsets>& marks,
      const std::map<int32_t, int64_t>& committed, const RunContext& ctx, MonoTime deadline) {
    std::vector<PartitionLag> out;
    std::map<int32_t, int64_t> next;  // the next unconsumed offset where there is lag
    for (const auto& m : marks) {
      const auto it = committed.find(m.partition);
      PartitionLag l;
      l.partition = m.partition;
      l.committed = it == committed.end() ? -1 : it->second;
      l.end = m.high;
      const int64_t from = l.committed < 0 ? m.low : std::max(l.committed, m.low);
      l.lag = std::max<int64_t>(0, m.high - from);
      if (l.lag > 0) next[m.partition] = from;
      out.push_back(l);
    }
    if (next.empty()) return out;
    auto msgs = src_.readAt(cfg_.topic, next, deadline);
    if (!msgs) return msgs.status();
    std::map<int32_t, const StreamSource::Message*> first;
    for (const auto& m : *msgs) first[m.partition] = &m;
    for (auto& l : out) {
      if (!next.count(l.partition)) continue;
      const auto it = first.find(l.partition);
      const int64_t data_at = it == first.end() ? l.end : std::min(it->second->offset, l.end);
      l.skipped = data_at - next[l.partition];
      l.lag = l.end - data_at;  // no data message before the end: caught up
      if (it != first.end() && l.lag > 0)
        l.lag_seconds = std::chrono::duration<double>(ctx.now - it->second->timestamp).count();
    }
    return out;
  }

 public:
  ProbeResult run(const RunContext& ctx) override {
    const auto& deadline = ctx.limits.deadline;
    auto marks = src_.watermarks(cfg_.topic, deadline);
    if (!marks) return ProbeResult::error(marks.error());
    std::vector<int32_t> partitions;
    for (const auto& m : *marks) partitions.push_back(m.partition);
    auto committed = src_.committed(spec_.group, cfg_.topic, partitions, deadline);
    if (!committed) return ProbeResult::error(committed.error());
    bool any_commit = false;
    for (const auto& [p, o] : *committed) any_commit |= o >= 0;
    if (!any_commit) {
      return ProbeResult::error("group " + spec_.group + " has no committed offset on " +
                                cfg_.topic + " (unknown group, or it never committed)");
    }
    auto lags = partitionLags(*marks, *committed, ctx, deadline);
    if (!lags) return ProbeResult::error(lags.error());
    int64_t total = 0, worst = -1;
    int32_t worst_partition = -1;
    double lag_seconds = 0;
    nlohmann::json per = nlohmann::json::array();
    nlohmann::json offsets = nlohmann::json::object();
    for (const auto& l : *lags) {
      total += l.lag;
      if (l.lag > worst) {
        worst = l.lag;
        worst_partition = l.partition;
      }
      offsets[std::to_string(l.partition)] = l.committed;
      nlohmann::json row = {{"partition", l.partition},
                            {"committed", l.committed},
                            {"high_watermark", l.end},
                            {"lag", l.lag}};
      if (l.skipped > 0) row["skipped_offsets"] = l.skipped;
      if (l.lag_seconds) {
        row["lag_seconds"] = *l.lag_seconds;
        lag_seconds = std::max(lag_seconds, *l.lag_seconds);
      }
      per.push_back(row);
    }
    // Burrow-style status from the previous run's committed offsets.
    std::string status = "ok";
    std::string since;
    if (total > 0 && ctx.previous && ctx.previous->details.contains("committed")) {
      const auto& prev = ctx.previous->details["committed"];
      if (prev == offsets) {
        const std::string prev_status = ctx.previous->details.value("status", "ok");
        since = ctx.previous->details.value("unchanged_since",
                                            formatRfc3339(ctx.previous->observed_at));
        // Committed offsets unchanged while messages wait: stalled; still so on
        // a third run in a row: the group has stopped committing.
        status = prev_status == "stalled" || prev_status == "stopped" ? "stopped" : "stalled";
      }
    }
    nlohmann::json details = {{"topic", cfg_.topic},
                              {"group", spec_.group},
                              {"lag_messages", total},
                              {"lag_seconds", lag_seconds},
                              {"worst_partition", worst_partition},
                              {"worst_partition_lag", worst},
                              {"partitions", per},
                              {"committed", offsets},
                              {"status", status}};
    if (!since.empty()) details["unchanged_since"] = since;
    std::vector<std::string> problems;
    nlohmann::json threshold = nlohmann::json::object();
    if (spec_.max_lag_messages) {
      threshold["max_messages"] = *spec_.max_lag_messages;
      if (total > *spec_.max_lag_messages)
        problems.push_back(std::to_string(total) + " messages behind > " +
                           std::to_string(*spec_.max_lag_messages));
    }
    if (spec_.max_lag_seconds) {
      const double max_s = std::chrono::duration<double>(*spec_.max_lag_seconds).count();
      threshold["max_seconds"] = max_s;
      if (lag_seconds > max_s)
        problems.push_back(humanDuration(std::chrono::duration_cast<Duration>(
                               std::chrono::duration<double>(lag_seconds))) +
                           " behind > " + humanDuration(*spec_.max_lag_seconds));
    }
    std::string text = "group " + spec_.group + " is " + std::to_string(total) +
                       " messages behind on " + cfg_.topic;
    if (total > 0)
      text += " (worst partition " + std::to_string(worst_partition) + ": " +
              std::to_string(worst) + ")";
    if (status != "ok")
      text += "; " +
              std::string(status == "stalled" ? "stalled: no commit since "
                                              : "stopped committing since ") +
              since;
    ProbeResult r;
    if (problems.empty()) {
      r = ProbeResult::pass(static_cast<double>(total), "messages", text);
    } else {
      std::string p;
      for (const auto& x : problems) p += (p.empty() ? "" : "; ") + x;
      r = ProbeResult::fail(static_cast<double>(total), "messages", p + " — " + text);
    }
    r.threshold = threshold;
    r.details = details;
    return r;
  }

 private:
  config::ProbeConfig cfg_;
  const config::ConsumerLagSpec& spec_;
  StreamSource& src_;
};

// volume on a topic: messages produced in [now - window, now] from offsets by
// time (the earliest offset at or after now - window, up to the high watermark),
// or every retained message without a window. Never reads a message.
class TopicVolumeProbe final : public Probe {
 public:
  TopicVolumeProbe(config::ProbeConfig cfg, StreamSource& src)
      : cfg_(std::move(cfg)),
        spec_(std::get<config::VolumeSpec>(cfg_.spec)),
        src_(src),
        judge_(cfg_, "messages", false) {}
  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    const auto& deadline = ctx.limits.deadline;
    auto marks = src_.watermarks(cfg_.topic, deadline);
    if (!marks) return ProbeResult::error(marks.error());
    std::map<int32_t, int64_t> from;
    for (const auto& m : *marks) from[m.partition] = m.low;
    if (spec_.window) {
      std::vector<int32_t> partitions;
      for (const auto& m : *marks) partitions.push_back(m.partition);
      auto at = src_.offsetsForTime(cfg_.topic, partitions, ctx.now - *spec_.window, deadline);
      if (!at) return ProbeResult::error(at.error());
      for (const auto& m : *marks) {
        const auto it = at->find(m.partition);
        // -1: no message that new, so none in the window.
        const int64_t o = it == at->end() || it->second < 0 ? m.high : it->second;
        from[m.partition] = std::clamp(o, m.low, m.high);
      }
    }
    double total = 0;
    nlohmann::json per = nlohmann::json::array();
    for (const auto& m : *marks) {
      const int64_t n = m.high - from[m.partition];
      total += static_cast<double>(n);
      per.push_back({{"partition", m.partition},
                     {"from_offset", from[m.partition]},
                     {"high_watermark", m.high},
                     {"messages", n}});
    }
    nlohmann::json details = {{"topic", cfg_.topic}, {"partitions", per}};
    return judge_.judge(ctx, total, std::move(details));
  }

 private:
  config::ProbeConfig cfg_;
  const config::VolumeSpec& spec_;
  StreamSource& src_;
  VolumeJudge judge_;  // after cfg_
};

}  // namespace

Result<std::unique_ptr<Probe>> makeTopicFreshnessProbe(const config::ProbeConfig& cfg,
                                                       Source& source) {
  return makeProbeOn<TopicFreshnessProbe, StreamSource>(cfg, source,
                                                        "topic probes need a kafka source");
}

Result<std::unique_ptr<Probe>> makeTopicVolumeProbe(const config::ProbeConfig& cfg,
                                                    Source& source) {
  return makeProbeOn<TopicVolumeProbe, StreamSource>(cfg, source,
                                                     "topic probes need a kafka source");
}

Result<std::unique_ptr<Probe>> makeConsumerLagProbe(const config::ProbeConfig& cfg,
                                                    Source& source) {
  return makeProbeOn<ConsumerLagProbe, StreamSource>(cfg, source,
                                                     "consumer_lag probes need a kafka source");
}

}  // namespace datawatch
