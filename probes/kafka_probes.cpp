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
    std::map<int32_t, int64_t> last;  // the last message of each non-empty partition
    for (const auto& m : *marks)
      if (m.high > m.low) last[m.partition] = m.high - 1;
    nlohmann::json details = {{"topic", cfg_.topic},
                              {"partitions", marks->size()},
                              {"empty_partitions", marks->size() - last.size()}};
    if (last.empty()) {
      ProbeResult r = ProbeResult::fail(std::nullopt, "seconds",
                                        "topic " + cfg_.topic + " is empty: no message in any of " +
                                            std::to_string(marks->size()) + " partitions");
      r.details = details;
      return r;
    }
    auto msgs = src_.readAt(cfg_.topic, last, deadline);
    if (!msgs) return ProbeResult::error(msgs.error());
    if (msgs->empty()) return ProbeResult::error("no message could be read from " + cfg_.topic);
    const Message* newest = nullptr;
    nlohmann::json per = nlohmann::json::array();
    std::set<std::string> types;
    for (const auto& m : *msgs) {
      if (!newest || m.timestamp > newest->timestamp) newest = &m;
      types.insert(m.timestamp_type);
      per.push_back(
          {{"partition", m.partition},
           {"offset", m.offset},
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

// consumer_lag: how far a group is behind the high watermark, in messages and
// in seconds (the age of the next message it has not consumed).
class ConsumerLagProbe final : public Probe {
 public:
  ConsumerLagProbe(config::ProbeConfig cfg, StreamSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::ConsumerLagSpec>(cfg_.spec)), src_(src) {}
  const config::ProbeConfig& config() const override { return cfg_; }

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
    int64_t total = 0, worst = -1;
    int32_t worst_partition = -1;
    std::map<int32_t, int64_t> next;  // the next unconsumed offset where there is lag
    nlohmann::json per = nlohmann::json::array();
    nlohmann::json offsets = nlohmann::json::object();
    for (const auto& m : *marks) {
      const auto it = committed->find(m.partition);
      const int64_t c = it == committed->end() ? -1 : it->second;
      // No commit on this partition: everything retained is unconsumed.
      const int64_t from = c < 0 ? m.low : std::max(c, m.low);
      const int64_t lag = std::max<int64_t>(0, m.high - from);
      total += lag;
      if (lag > worst) {
        worst = lag;
        worst_partition = m.partition;
      }
      if (lag > 0) next[m.partition] = from;
      offsets[std::to_string(m.partition)] = c;
      per.push_back(
          {{"partition", m.partition}, {"committed", c}, {"high_watermark", m.high}, {"lag", lag}});
    }
    double lag_seconds = 0;
    if (!next.empty()) {
      auto msgs = src_.readAt(cfg_.topic, next, deadline);
      if (!msgs) return ProbeResult::error(msgs.error());
      for (const auto& m : *msgs) {
        const double s = std::chrono::duration<double>(ctx.now - m.timestamp).count();
        lag_seconds = std::max(lag_seconds, s);
        for (auto& row : per)
          if (row["partition"] == m.partition) row["lag_seconds"] = s;
      }
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
