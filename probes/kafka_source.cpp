#include "probes/kafka_source.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace datawatch {
namespace {

using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                      decltype(&rd_kafka_topic_partition_list_destroy)>;

PartitionList makeList(const std::string& topic, const std::vector<int32_t>& partitions,
                       int64_t offset) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
                     &rd_kafka_topic_partition_list_destroy);
  for (int32_t p : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  return list;
}

std::string kafkaError(const std::string& what, rd_kafka_resp_err_t err) {
  return what + ": " + rd_kafka_err2str(err);
}

}  // namespace

KafkaSource::KafkaSource(std::string name, const config::KafkaSourceConfig& cfg, const Clock& clock)
    : name_(std::move(name)), clock_(clock) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& key, const std::string& value) {
    if (!setup_error_.empty()) return;
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      setup_error_ = "kafka source " + name_ + ": property " + key + ": " + err;
  };
  set("bootstrap.servers", cfg.brokers);
  set("client.id", "datawatch");
  // A probe reads single messages: a broker need not hold a fetch open waiting
  // for more data (the default 500 ms made each probe wait that long).
  set("fetch.wait.max.ms", "10");
  // Transactional topics: offsets and reads as a read_committed consumer sees
  // them (librdkafka's default, explicit here): ListOffsets answers the last
  // stable offset for the end, and reads skip control records and aborted data.
  set("isolation.level", "read_committed");
  for (const auto& [k, v] : cfg.properties) set(k, v);
  // Whatever the properties say: never commit, never create topics, see partition ends.
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  set("allow.auto.create.topics", "false");
  set("enable.partition.eof", "true");
  set("auto.offset.reset", "earliest");
  // Failures come back as values; librdkafka's own log lines would repeat them.
  rd_kafka_conf_set_log_cb(conf, nullptr);
  if (!setup_error_.empty()) {
    rd_kafka_conf_destroy(conf);
    return;
  }
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);  // takes conf on success
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    setup_error_ = "kafka source " + name_ + ": " + err;
  }
}

KafkaSource::~KafkaSource() {
  if (rk_) rd_kafka_destroy(rk_);
}

int KafkaSource::timeoutMs(MonoTime deadline) const {
  if (deadline == MonoTime::max()) return 30000;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.monotonic());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 1, 600000));
}

Result<std::vector<StreamSource::PartitionOffsets>> KafkaSource::watermarks(
    const std::string& topic, MonoTime deadline) {
  using R = Result<std::vector<PartitionOffsets>>;
  if (!rk_) return R::Error(setup_error_);
  MutexLock lock(mu_);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, rkt, &md, timeoutMs(deadline));
  rd_kafka_topic_destroy(rkt);
  if (err) return R::Error(kafkaError("metadata of topic " + topic, err));
  std::vector<int32_t> partitions;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic != md->topics[i].topic) continue;
    topic_err = md->topics[i].err;
    for (int j = 0; j < md->topics[i].partition_cnt; ++j)
      partitions.push_back(md->topics[i].partitions[j].id);
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    return R::Error("topic " + topic + " does not exist");
  if (topic_err) return R::Error(kafkaError("topic " + topic, topic_err));
  std::sort(partitions.begin(), partitions.end());
  // Earliest (-2) and latest (-1) offsets: ListOffsets batched per leader.
  std::vector<PartitionOffsets> out;
  for (int64_t which : {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END}) {
    auto list = makeList(topic, partitions, which);
    if (auto e = rd_kafka_offsets_for_times(rk_, list.get(), timeoutMs(deadline)))
      return R::Error(kafkaError("offsets of topic " + topic, e));
    for (int i = 0; i < list->cnt; ++i) {
      const auto& p = list->elems[i];
      if (p.err)
        return R::Error(
            kafkaError("offsets of " + topic + "[" + std::to_string(p.partition) + "]", p.err));
      if (which == RD_KAFKA_OFFSET_BEGINNING)
        out.push_back({p.partition, p.offset, p.offset});
      else
        for (auto& o : out)
          if (o.partition == p.partition) o.high = p.offset;
    }
  }
  return out;
}

Result<std::map<int32_t, int64_t>> KafkaSource::offsetsForTime(
    const std::string& topic, const std::vector<int32_t>& partitions, TimePoint at,
    MonoTime deadline) {
  using R = Result<std::map<int32_t, int64_t>>;
  if (!rk_) return R::Error(setup_error_);
  MutexLock lock(mu_);
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  auto list = makeList(topic, partitions, ms);
  if (auto e = rd_kafka_offsets_for_times(rk_, list.get(), timeoutMs(deadline)))
    return R::Error(kafkaError("offsets for times of topic " + topic, e));
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& p = list->elems[i];
    if (p.err) return R::Error(kafkaError("offsets for times of " + topic, p.err));
    out[p.partition] = p.offset;
  }
  return out;
}

std::string KafkaSource::consume(const std::string& topic, const std::map<int32_t, int64_t>& starts,
                                 MonoTime deadline, const Take& take) {
  // The simple (legacy) consumer: partitions started at an offset onto one
  // queue. Unlike assign() it needs no group id; librdkafka still fetches per
  // leader broker, all of its partitions in one request. Under read_committed it
  // skips control records and aborted messages, and a partition's end (EOF) is
  // its last stable offset.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
  std::vector<int32_t> started;
  std::string error;
  for (const auto& [p, o] : starts) {
    if (rd_kafka_consume_start_queue(rkt, p, o, queue) == -1) {
      error = kafkaError("reading " + topic, rd_kafka_last_error());
      break;
    }
    started.push_back(p);
  }
  std::set<int32_t> pending(started.begin(), started.end());
  // The budget is taken once: polling waits in real time whatever the clock is.
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs(deadline));
  while (error.empty() && !pending.empty()) {
    if (std::chrono::steady_clock::now() >= until) {
      error = "timed out reading messages of " + topic;
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consume_queue(queue, 100);
    if (!m) continue;
    const int32_t p = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      pending.erase(p);  // nothing more before the end
    } else if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        error = kafkaError("reading " + topic, m->err);
    } else if (pending.count(p) && take(*m)) {
      pending.erase(p);
    }
    rd_kafka_message_destroy(m);
  }
  for (int32_t p : started) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  return error;
}

StreamSource::Message KafkaSource::toMessage(const rd_kafka_message_t& m) {
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const int64_t ts = rd_kafka_message_timestamp(&m, &type);
  Message msg;
  msg.partition = m.partition;
  msg.offset = m.offset;
  msg.timestamp = TimePoint(std::chrono::milliseconds(std::max<int64_t>(ts, 0)));
  msg.timestamp_type = type == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "CreateTime"
                       : type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
                                                                    : "none";
  return msg;
}

Result<std::vector<StreamSource::Message>> KafkaSource::readAt(
    const std::string& topic, const std::map<int32_t, int64_t>& offsets, MonoTime deadline) {
  using R = Result<std::vector<Message>>;
  if (!rk_) return R::Error(setup_error_);
  if (offsets.empty()) return std::vector<Message>{};
  MutexLock lock(mu_);
  std::vector<Message> out;
  const std::string error = consume(topic, offsets, deadline, [&](const rd_kafka_message_t& m) {
    out.push_back(toMessage(m));  // the first data message at or after the offset
    return true;
  });
  if (!error.empty()) return R::Error(error);
  std::sort(out.begin(), out.end(),
            [](const Message& a, const Message& b) { return a.partition < b.partition; });
  return out;
}

Result<std::vector<StreamSource::Message>> KafkaSource::readNewest(
    const std::string& topic, const std::map<int32_t, OffsetRange>& ranges, MonoTime deadline) {
  using R = Result<std::vector<Message>>;
  if (!rk_) return R::Error(setup_error_);
  std::map<int32_t, int64_t> starts;
  for (const auto& [p, r] : ranges)
    if (r.to > r.from) starts[p] = r.from;
  if (starts.empty()) return std::vector<Message>{};
  MutexLock lock(mu_);
  std::map<int32_t, Message> newest;
  const std::string error = consume(topic, starts, deadline, [&](const rd_kafka_message_t& m) {
    const int64_t to = ranges.at(m.partition).to;
    if (m.offset < to) newest[m.partition] = toMessage(m);
    return m.offset + 1 >= to;  // read up to the end of the range (or EOF)
  });
  if (!error.empty()) return R::Error(error);
  std::vector<Message> out;
  for (const auto& [p, msg] : newest) out.push_back(msg);
  return out;
}

Result<std::map<int32_t, int64_t>> KafkaSource::committed(const std::string& group,
                                                          const std::string& topic,
                                                          const std::vector<int32_t>& partitions,
                                                          MonoTime deadline) {
  using R = Result<std::map<int32_t, int64_t>>;
  if (!rk_) return R::Error(setup_error_);
  MutexLock lock(mu_);
  auto list = makeList(topic, partitions, RD_KAFKA_OFFSET_INVALID);
  rd_kafka_ListConsumerGroupOffsets_t* req =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
  rd_kafka_AdminOptions_t* opts =
      rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  char err[256];
  (void)rd_kafka_AdminOptions_set_request_timeout(opts, timeoutMs(deadline), err, sizeof err);
  rd_kafka_ListConsumerGroupOffsets(rk_, &req, 1, opts, q);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeoutMs(deadline) + 1000);
  R result = R::Error("no answer for the committed offsets of group " + group);
  if (ev) {
    if (auto e = rd_kafka_event_error(ev)) {
      result =
          R::Error("committed offsets of group " + group + ": " +
                   std::string(rd_kafka_event_error_string(ev) ? rd_kafka_event_error_string(ev)
                                                               : rd_kafka_err2str(e)));
    } else if (const auto* res = rd_kafka_event_ListConsumerGroupOffsets_result(ev)) {
      size_t n = 0;
      const rd_kafka_group_result_t** groups =
          rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n);
      if (n == 1) {
        if (const rd_kafka_error_t* ge = rd_kafka_group_result_error(groups[0])) {
          result =
              R::Error("committed offsets of group " + group + ": " + rd_kafka_error_string(ge));
        } else {
          std::map<int32_t, int64_t> out;
          const auto* parts = rd_kafka_group_result_partitions(groups[0]);
          for (int i = 0; parts && i < parts->cnt; ++i)
            out[parts->elems[i].partition] = parts->elems[i].offset;
          result = out;
        }
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  return result;
}

}  // namespace datawatch
