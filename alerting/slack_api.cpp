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

// A string member, "" when absent or not a string (Slack's answers and stored
// records are read with this: a wrong type must not throw).
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string alertText(const json& payload, const char* key) {
  return payload.contains("alert") ? text(payload["alert"], key) : "";
}

// The payload as the alert's top-level message shows it: not a repeat, no change.
json asOriginal(json payload) {
  if (payload.contains("alert") && payload["alert"].is_object()) {
    payload["alert"].erase("repeat");
    payload["alert"].erase("change");
  }
  return payload;
}

// The message is gone (deleted in Slack) or can no longer be edited.
bool messageGone(const std::string& error) {
  return error == "message_not_found" || error == "cant_update_message" ||
         error == "edit_window_closed" || error == "thread_not_found";
}

// One Web API call's outcome.
struct ApiReply {
  bool ok = false;
  bool permanent = false;  // retrying will not help
  bool aborted = false;    // the agent is stopping
  std::optional<Duration> retry_after;
  std::string code;   // Slack's error code ("message_not_found"), or ""
  std::string error;  // "chat.update: message_not_found"; never the token
  json body;
};

// Items that share calls: a new message, or one existing message's thread.
struct Group {
  std::string ts;             // the alerts' message ("" : a new message)
  std::vector<size_t> items;  // batch indexes, in queue order
  bool follows_new = false;   // later items of the new message's alerts: its thread
};

struct Plan {
  Group fresh;                 // alerts without a message of their episode
  std::vector<Group> threads;  // per existing message, then the new one's thread
  std::vector<size_t> quiet;   // changes of alerts without a message: nothing to thread
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
  // Splits the batch. An alert's items after its resolve wait for the next
  // send (its next episode is a new message).
  Result<Plan> plan(const std::vector<OutboxItem>& batch);
  // The ts of the alert's message for this episode, "" when it has none.
  Result<std::string> messageOf(const json& payload, const std::string& alert_id);
  // Each returns false when the send must stop (paced, failed, aborted).
  bool postNew(const std::vector<OutboxItem>& batch, const Group& g, TimePoint now, SendResult& out,
               std::string& new_ts);
  bool updateAndReply(const std::vector<OutboxItem>& batch, const Group& g, TimePoint now,
                      SendResult& out);
  bool sendThreads(const std::vector<OutboxItem>& batch, Plan& plan, TimePoint now, SendResult& out,
                   const std::string& new_ts, bool new_rejected);
  // False (and `out` paced) when a post now would break Slack's pace.
  bool mayPost(TimePoint now, SendResult& out) const;
  ApiReply call(const std::string& method, const json& body, TimePoint now);
  // Applies a failed call to `out`: its items rejected for good (true: go on
  // with the other groups), or the send stops (false).
  bool failed(const ApiReply& r, const Group& g, SendResult& out) const;
  Result<std::optional<json>> load(const std::string& key);
  void save(const std::string& key, const json& value);

  config::SlackNotifierConfig cfg_;
  std::string prefix_;
  Duration timeout_;
  SnapshotStore& store_;
  std::optional<TimePoint> last_post_;  // send() is never concurrent (one queue)
};

Result<std::optional<json>> SlackApiNotifier::load(const std::string& key) {
  auto r = store_.loadSnapshot(prefix_ + key);
  if (!r) return r.status();
  if (!r->has_value() || (**r).is_null()) return std::optional<json>();
  return *r;
}

void SlackApiNotifier::save(const std::string& key, const json& value) {
  // A failed write loses only the threading: the next change of the alert
  // starts a new message instead of editing this one.
  (void)store_.saveSnapshot(prefix_ + key, value);
}

Result<std::string> SlackApiNotifier::messageOf(const json& payload, const std::string& id) {
  auto rec = load("alert/" + id);
  if (!rec) return rec.status();
  // A record of an earlier episode (its resolve never reached Slack) is stale.
  if (!*rec || text(**rec, "started_at") != alertText(payload, "started_at")) return std::string();
  return text(**rec, "ts");
}

Result<Plan> SlackApiNotifier::plan(const std::vector<OutboxItem>& batch) {
  Plan plan;
  std::map<std::string, std::string> ts_of;  // alert id -> its message ("" : the new one)
  std::set<std::string> ended;               // resolved earlier in this batch
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string& id = batch[i].alert_id;
    const json& p = batch[i].payload;
    if (ended.count(id)) continue;  // Retry: the next send
    if (!isFiring(p)) ended.insert(id);
    auto known = ts_of.find(id);
    if (known == ts_of.end()) {
      auto ts = messageOf(p, id);
      if (!ts) return ts.status();
      known = ts_of.emplace(id, *ts).first;
      if (known->second.empty()) {  // its first item opens (or is) a new message
        if (!alertText(p, "change").empty())
          plan.quiet.push_back(i);
        else
          plan.fresh.items.push_back(i);
        if (!isFiring(p) || !alertText(p, "change").empty()) ts_of.erase(id);
        continue;
      }
    }
    const bool follows_new = known->second.empty();
    auto g = std::find_if(plan.threads.begin(), plan.threads.end(), [&](const Group& t) {
      return t.ts == known->second && t.follows_new == follows_new;
    });
    if (g == plan.threads.end())
      g = plan.threads.insert(plan.threads.end(), Group{known->second, {}, follows_new});
    g->items.push_back(i);
  }
  return plan;
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
  const auto ok = a.body.is_object() ? a.body.find("ok") : a.body.end();
  if (!a.body.is_object() || ok == a.body.end() || !ok->is_boolean()) {
    a.error = method + ": the answer is not a Slack API response";
    return a;
  }
  if (ok->get<bool>()) {
    a.ok = true;
    return a;
  }
  a.code = text(a.body, "error");
  if (a.code.empty()) a.code = "unknown_error";
  a.error = method + ": " + a.code;
  a.permanent = slackPermanentError(a.code);
  if (a.code == "ratelimited") a.retry_after = r.retry_after.value_or(kPostSpacing);
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

bool SlackApiNotifier::postNew(const std::vector<OutboxItem>& batch, const Group& g, TimePoint now,
                               SendResult& out, std::string& new_ts) {
  if (!mayPost(now, out)) return false;
  std::vector<json> payloads;
  bool pages = false;  // a first firing: the mention calls people in
  for (size_t i : g.items) {
    payloads.push_back(batch[i].payload);
    pages =
        pages || (isFiring(batch[i].payload) && !batch[i].payload["alert"].value("repeat", false));
  }
  const ApiReply r = call("chat.postMessage", slackApiMessage(payloads, cfg_, pages), now);
  if (!r.ok) return failed(r, g, out);
  last_post_ = now;
  const std::string ts = text(r.body, "ts");
  const std::string channel =
      text(r.body, "channel").empty() ? cfg_.channel : text(r.body, "channel");
  json shown = json::array();
  bool firing = false;
  for (size_t i : g.items) {
    out.items[i] = SendResult::Item::Delivered;
    shown.push_back(asOriginal(batch[i].payload));
    if (!isFiring(batch[i].payload) || ts.empty()) continue;
    firing = true;
    save("alert/" + batch[i].alert_id, {{"channel", channel},
                                        {"ts", ts},
                                        {"started_at", alertText(batch[i].payload, "started_at")}});
  }
  if (firing) {
    save("message/" + ts, {{"channel", channel}, {"alerts", shown}});
    new_ts = ts;
  }
  return true;
}

bool SlackApiNotifier::updateAndReply(const std::vector<OutboxItem>& batch, const Group& g,
                                      TimePoint now, SendResult& out) {
  auto stored = load("message/" + g.ts);
  if (!stored) {
    out.error = "state store: " + stored.status().message();
    return false;
  }
  json msg = stored->value_or(json{{"channel", cfg_.channel}, {"alerts", json::array()}});
  if (!msg.contains("alerts") || !msg["alerts"].is_array()) msg["alerts"] = json::array();
  const std::string channel = text(msg, "channel").empty() ? cfg_.channel : text(msg, "channel");
  bool resolves = false;
  std::vector<json> payloads;
  for (size_t i : g.items) {
    const json& p = batch[i].payload;
    payloads.push_back(p);
    if (isFiring(p)) continue;
    resolves = true;  // the original message shows the resolve in place
    auto& shown = msg["alerts"];
    auto at = std::find_if(shown.begin(), shown.end(),
                           [&](const json& q) { return alertText(q, "id") == batch[i].alert_id; });
    if (at != shown.end())
      *at = asOriginal(p);
    else
      shown.push_back(asOriginal(p));
  }
  std::vector<json> current(msg["alerts"].begin(), msg["alerts"].end());
  const bool any_firing = std::any_of(current.begin(), current.end(), isFiring);
  if (!mayPost(now, out)) return false;  // before the edit: an edit is not repeated
  if (resolves) {
    json edit = slackApiMessage(current, cfg_, false);
    edit["channel"] = channel;
    edit["ts"] = g.ts;
    if (const ApiReply r = call("chat.update", edit, now); !r.ok) {
      if (!messageGone(r.code)) return failed(r, g, out);
      std::string unused;  // deleted in Slack: say it in a new message
      return postNew(batch, Group{"", g.items, false}, now, out, unused);
    }
  }
  json reply = slackApiMessage(payloads, cfg_, false);
  reply["channel"] = channel;
  reply["thread_ts"] = g.ts;
  if (const ApiReply r = call("chat.postMessage", reply, now); !r.ok) {
    if (!messageGone(r.code)) return failed(r, g, out);
    std::string unused;
    return postNew(batch, Group{"", g.items, false}, now, out, unused);
  }
  last_post_ = now;
  for (size_t i : g.items) {
    out.items[i] = SendResult::Item::Delivered;
    if (!isFiring(batch[i].payload)) save("alert/" + batch[i].alert_id, nullptr);
  }
  if (resolves) save("message/" + g.ts, any_firing ? msg : json(nullptr));
  return true;
}

bool SlackApiNotifier::sendThreads(const std::vector<OutboxItem>& batch, Plan& plan, TimePoint now,
                                   SendResult& out, const std::string& new_ts, bool new_rejected) {
  for (Group& g : plan.threads) {
    if (g.follows_new && new_rejected) {  // its firing never reached Slack: nor does the rest
      for (size_t i : g.items) out.items[i] = SendResult::Item::Rejected;
      continue;
    }
    if (g.follows_new) g.ts = new_ts;
    std::string unused;
    const bool go_on =
        g.ts.empty() ? postNew(batch, g, now, out, unused) : updateAndReply(batch, g, now, out);
    if (!go_on) return false;
  }
  return true;
}

SendResult SlackApiNotifier::send(const std::vector<OutboxItem>& batch, TimePoint now) {
  SendResult out;
  out.items.assign(batch.size(), SendResult::Item::Retry);
  auto plan = this->plan(batch);
  if (!plan) {
    out.items.clear();
    out.error = "state store: " + plan.status().message();
    return out;
  }
  for (size_t i : plan->quiet) out.items[i] = SendResult::Item::Delivered;
  std::string new_ts;
  bool go_on = true, new_rejected = false;
  if (!plan->fresh.items.empty()) {
    go_on = postNew(batch, plan->fresh, now, out, new_ts);
    new_rejected = out.items[plan->fresh.items.front()] == SendResult::Item::Rejected;
  }
  if (go_on) sendThreads(batch, *plan, now, out, new_ts, new_rejected);
  const auto count = [&](SendResult::Item want) {
    return std::count(out.items.begin(), out.items.end(), want);
  };
  if (count(SendResult::Item::Delivered) == static_cast<long>(batch.size())) {
    SendResult ok;
    ok.ok = true;
    return ok;
  }
  const bool stopped = out.paced || out.aborted || !out.error.empty();
  if (count(SendResult::Item::Retry) > 0 && (!stopped || out.aborted)) {
    // Items held for the next send (after an alert's resolve), or a stop with
    // some calls made: no verdict on the rest, which goes out at once.
    out.aborted = false;
    out.error.clear();
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
