#include "alerting/slack_api.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "alerting/http_client.hpp"
#include "core/utf8.hpp"

namespace datawatch {
namespace {

using nlohmann::json;

// Slack: chat.postMessage allows about one message a second per channel.
constexpr Duration kPostSpacing = std::chrono::seconds(1);
// chat.postMessage echoes the message it posted: keep enough to read "ts".
constexpr size_t kMaxApiResponse = 1 << 20;
constexpr const char* kRed = "#e01e5a";
constexpr const char* kAmber = "#ecb22e";
constexpr const char* kGreen = "#2eb886";

bool isFiring(const json& payload) {
  return payload.value("status", "") == "firing";
}

// One Web API call's outcome.
struct ApiReply {
  bool ok = false;
  bool permanent = false;  // retrying will not help
  bool aborted = false;    // the agent is stopping
  std::optional<Duration> retry_after;
  std::string error;  // "chat.update: message_not_found"; never the token
  json body;
};

// The calls one group of items needs, and which items they settle.
struct Group {
  std::string ts;             // the alerts' message ("" : a new message)
  std::vector<size_t> items;  // batch indexes, in queue order
  bool follows_new = false;   // later items of the new message's alerts: its thread
};

class SlackApiNotifier final : public Notifier {
 public:
  SlackApiNotifier(config::SlackNotifierConfig c, const std::string& name, Duration timeout,
                   SnapshotStore& snapshots)
      : cfg_(std::move(c)), prefix_("slack/" + name + "/"), timeout_(timeout), store_(snapshots) {}
  size_t maxBatch() const override { return 200; }
  Duration groupWait() const override { return cfg_.group_wait; }
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) override;

 private:
  // Splits the batch: alerts without a message (a new one) first, then one
  // group per existing message, in queue order.
  std::vector<Group> plan(const std::vector<OutboxItem>& batch);
  // Sends one group; false stops the send (paced, failed, aborted).
  // `new_ts`: set to the ts of a new message with firing alerts.
  bool sendGroup(const std::vector<OutboxItem>& batch, Group& g, TimePoint now, SendResult& out,
                 std::string& new_ts);
  bool postNew(const std::vector<OutboxItem>& batch, Group& g, TimePoint now, SendResult& out,
               std::string& new_ts);
  bool updateAndReply(const std::vector<OutboxItem>& batch, const Group& g, TimePoint now,
                      SendResult& out);
  // False (and `out` paced) when a post now would break Slack's pace.
  bool mayPost(TimePoint now, SendResult& out) const;
  ApiReply call(const std::string& method, const json& body, TimePoint now);
  // Applies a failed call to `out`: its items rejected for good, or the send stops.
  bool failed(const ApiReply& r, const Group& g, SendResult& out) const;
  std::optional<json> load(const std::string& key);
  void save(const std::string& key, const json& value);

  config::SlackNotifierConfig cfg_;
  std::string prefix_;
  Duration timeout_;
  SnapshotStore& store_;
  std::optional<TimePoint> last_post_;  // send() is never concurrent (one queue)
};

std::optional<json> SlackApiNotifier::load(const std::string& key) {
  auto r = store_.loadSnapshot(prefix_ + key);
  if (!r || !r->has_value() || (**r).is_null()) return std::nullopt;
  return **r;
}

void SlackApiNotifier::save(const std::string& key, const json& value) {
  // A failed write loses only the threading: the next change of the alert
  // starts a new message instead of editing this one.
  (void)store_.saveSnapshot(prefix_ + key, value);
}

std::vector<Group> SlackApiNotifier::plan(const std::vector<OutboxItem>& batch) {
  Group fresh;
  std::vector<Group> threads;
  std::map<std::string, std::string> ts_of;  // alert id -> its message ("" : the new one)
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string& id = batch[i].alert_id;
    auto known = ts_of.find(id);
    if (known == ts_of.end()) {
      const auto rec = load("alert/" + id);
      known = ts_of.emplace(id, rec ? rec->value("ts", "") : "").first;
      if (known->second.empty()) {  // its first item opens (or is) a new message
        fresh.items.push_back(i);
        continue;
      }
    }
    const bool follows_new = known->second.empty();
    auto g = std::find_if(threads.begin(), threads.end(), [&](const Group& t) {
      return t.ts == known->second && t.follows_new == follows_new;
    });
    if (g == threads.end())
      g = threads.insert(threads.end(), Group{known->second, {}, follows_new});
    g->items.push_back(i);
  }
  std::vector<Group> out;
  if (!fresh.items.empty()) out.push_back(std::move(fresh));
  for (auto& t : threads) out.push_back(std::move(t));
  return out;
}

bool SlackApiNotifier::mayPost(TimePoint now, SendResult& out) const {
  if (!last_post_ || now - *last_post_ >= kPostSpacing) return true;
  out.paced = true;
  out.retry_after = std::chrono::ceil<Duration>(kPostSpacing - (now - *last_post_));
  return false;
}

ApiReply SlackApiNotifier::call(const std::string& method, const json& body, TimePoint now) {
  HttpRequest req;
  req.url = cfg_.api_url + "/" + method;
  req.body = dumpJson(body);
  req.headers = {"Authorization: Bearer " + cfg_.token};
  req.timeout = timeout_;
  req.max_response = kMaxApiResponse;
  const HttpResponse r = httpPost(req, now, abort_);
  ApiReply a;
  a.aborted = r.aborted;
  if (!r.ok()) {
    a.error = method + ": " + r.describe();
    a.permanent = !r.retryable();
    a.retry_after = r.retry_after;
    if (r.status == 429 && !a.retry_after) a.retry_after = kPostSpacing;
    return a;
  }
  a.body = json::parse(r.body, nullptr, false);
  if (!a.body.is_object()) {
    a.error = method + ": the answer is not a Slack API response";
    return a;
  }
  if (a.body.value("ok", false)) {
    a.ok = true;
    return a;
  }
  const std::string error = a.body.value("error", "unknown_error");
  a.error = method + ": " + error;
  a.permanent = slackPermanentError(error);
  if (error == "ratelimited") a.retry_after = r.retry_after.value_or(kPostSpacing);
  return a;
}

bool SlackApiNotifier::failed(const ApiReply& r, const Group& g, SendResult& out) const {
  if (r.permanent) {
    for (size_t i : g.items) out.items[i] = SendResult::Item::Rejected;
    out.rejected_error = r.error;
    return true;  // the other groups may still go out
  }
  out.retryable = true;
  out.retry_after = r.retry_after;
  out.error = r.error;
  out.aborted = r.aborted;
  return false;
}

bool SlackApiNotifier::postNew(const std::vector<OutboxItem>& batch, Group& g, TimePoint now,
                               SendResult& out, std::string& new_ts) {
  if (!mayPost(now, out)) return false;
  std::vector<json> payloads;
  for (size_t i : g.items) payloads.push_back(batch[i].payload);
  const ApiReply r = call("chat.postMessage", slackApiMessage(payloads, cfg_, true), now);
  if (!r.ok) return failed(r, g, out);
  last_post_ = now;
  const std::string ts = r.body.value("ts", "");
  const std::string channel = r.body.value("channel", cfg_.channel);
  json alerts = json::object();
  for (size_t i : g.items) {
    out.items[i] = SendResult::Item::Delivered;
    if (!isFiring(batch[i].payload) || ts.empty()) continue;
    alerts[batch[i].alert_id] = batch[i].payload;
    save("alert/" + batch[i].alert_id, {{"channel", channel}, {"ts", ts}});
  }
  if (!alerts.empty()) {
    save("message/" + ts, {{"channel", channel}, {"alerts", alerts}});
    new_ts = ts;
  }
  return true;
}

bool SlackApiNotifier::updateAndReply(const std::vector<OutboxItem>& batch, const Group& g,
                                      TimePoint now, SendResult& out) {
  json msg = load("message/" + g.ts).value_or(json{{"channel", cfg_.channel}, {"alerts", {}}});
  const std::string channel = msg.value("channel", cfg_.channel);
  bool resolves = false;
  std::vector<json> payloads;
  for (size_t i : g.items) {
    msg["alerts"][batch[i].alert_id] = batch[i].payload;
    resolves = resolves || !isFiring(batch[i].payload);
    payloads.push_back(batch[i].payload);
  }
  bool any_firing = false;
  std::vector<json> current;
  for (const auto& [id, p] : msg["alerts"].items()) {
    current.push_back(p);
    any_firing = any_firing || isFiring(p);
  }
  if (resolves) {  // the original message shows the resolve in place
    json edit = slackApiMessage(current, cfg_, any_firing);
    edit["channel"] = channel;
    edit["ts"] = g.ts;
    if (const ApiReply r = call("chat.update", edit, now); !r.ok) return failed(r, g, out);
  }
  if (!mayPost(now, out)) return false;
  json reply = slackApiMessage(payloads, cfg_, false);
  reply["channel"] = channel;
  reply["thread_ts"] = g.ts;
  if (const ApiReply r = call("chat.postMessage", reply, now); !r.ok) return failed(r, g, out);
  last_post_ = now;
  for (size_t i : g.items) {
    out.items[i] = SendResult::Item::Delivered;
    if (!isFiring(batch[i].payload)) save("alert/" + batch[i].alert_id, nullptr);
  }
  save("message/" + g.ts, any_firing ? msg : json(nullptr));
  return true;
}

bool SlackApiNotifier::sendGroup(const std::vector<OutboxItem>& batch, Group& g, TimePoint now,
                                 SendResult& out, std::string& new_ts) {
  return g.ts.empty() ? postNew(batch, g, now, out, new_ts) : updateAndReply(batch, g, now, out);
}

SendResult SlackApiNotifier::send(const std::vector<OutboxItem>& batch, TimePoint now) {
  SendResult out;
  out.items.assign(batch.size(), SendResult::Item::Retry);
  std::string new_ts;  // the message posted for alerts that had none
  for (Group& g : plan(batch)) {
    if (g.follows_new) g.ts = new_ts;  // "" when it carried no firing: a new one
    if (!sendGroup(batch, g, now, out, new_ts)) break;
  }
  const auto n = [&](SendResult::Item want) {
    return std::count(out.items.begin(), out.items.end(), want);
  };
  if (n(SendResult::Item::Delivered) == static_cast<long>(batch.size())) {
    SendResult ok;
    ok.ok = true;
    return ok;
  }
  if (out.aborted && n(SendResult::Item::Delivered) > 0) {
    out.aborted = false;  // keep what went out; the rest waits for the next start
    out.paced = true;
    out.retry_after = Duration{0};
  }
  return out;
}

}  // namespace

bool slackPermanentError(const std::string& error) {
  static const std::set<std::string> kPermanent{"invalid_auth",           "not_authed",
                                                "account_inactive",       "token_revoked",
                                                "token_expired",          "no_permission",
                                                "missing_scope",          "channel_not_found",
                                                "not_in_channel",         "is_archived",
                                                "msg_too_long",           "invalid_blocks",
                                                "invalid_blocks_format",  "invalid_attachments",
                                                "too_many_attachments",   "no_text",
                                                "invalid_arguments",      "message_not_found",
                                                "cant_update_message",    "edit_window_closed",
                                                "restricted_action",      "ekm_access_denied",
                                                "team_access_not_granted"};
  return kPermanent.count(error) > 0;
}

json slackApiMessage(const std::vector<json>& payloads, const config::SlackNotifierConfig& cfg,
                     bool mention) {
  config::SlackNotifierConfig c = cfg;
  if (!mention) c.mention.clear();
  json base = slackMessage(payloads, c);
  const char* colour = kGreen;
  for (const auto& p : payloads) {
    if (!isFiring(p)) continue;
    const std::string sev = p.at("alert").value("severity", "");
    if (sev == "page" || sev == "critical") colour = kRed;
    if (colour == kGreen) colour = kAmber;
  }
  json msg{{"channel", cfg.channel},
           {"text", base["text"]},
           {"attachments", json::array({{{"color", colour}, {"blocks", base["blocks"]}}})}};
  return msg;
}

std::unique_ptr<Notifier> makeSlackApiNotifier(const config::SlackNotifierConfig& cfg,
                                               const std::string& name, Duration timeout,
                                               SnapshotStore& snapshots) {
  return std::make_unique<SlackApiNotifier>(cfg, name, timeout, snapshots);
}

}  // namespace datawatch
