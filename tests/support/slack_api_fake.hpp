#pragma once
// Slack's Web API as the tests need it, on a real HTTP server on 127.0.0.1:
// chat.postMessage and chat.update with the documented answers
// (api.slack.com/methods/chat.postMessage, /chat.update): HTTP 200 with
// {"ok": true, "channel", "ts", "message"} or {"ok": false, "error"}. It checks
// the bot token (invalid_auth), the channel (channel_not_found), the Block Kit
// limits (invalid_blocks), that an update names an existing message
// (message_not_found) and that a reply's thread_ts is an existing top-level
// message; every violation is also recorded in problems(). Scripted failures
// (failNext) answer the next calls instead.

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/receiver.hpp"

namespace datawatch::testing {

class FakeSlackApi {
 public:
  struct Message {
    std::string ts;
    std::string thread_ts;  // "" for a top-level message
    nlohmann::json body;    // the latest version (after chat.update)
    int updates = 0;
  };
  struct Failure {
    std::string error;  // Slack's error code
    int status = 200;   // 429 for a rate limit
    std::map<std::string, std::string> headers;
    std::string raw;  // not "": the answer's whole body instead (garbage, odd types)
  };

  FakeSlackApi(std::string token, std::string channel)
      : token_(std::move(token)), channel_(std::move(channel)) {
    http_.respond([this](const Receiver::Request& r) { return answer(r); });
  }
  std::string url() const { return http_.url(""); }
  Receiver& http() { return http_; }
  void failNext(Failure f) {
    std::lock_guard l(mu_);
    failures_.push_back(std::move(f));
  }
  // Someone deleted the message in Slack (and its thread with it).
  void deleteMessage(const std::string& ts) {
    std::lock_guard l(mu_);
    messages_.erase(
        std::remove_if(messages_.begin(), messages_.end(),
                       [&](const Message& m) { return m.ts == ts || m.thread_ts == ts; }),
        messages_.end());
    deleted_.insert(ts);
  }
  std::vector<Message> messages() const {
    std::lock_guard l(mu_);
    return messages_;
  }
  std::vector<Message> topLevel() const {
    std::vector<Message> out;
    for (auto& m : messages())
      if (m.thread_ts.empty()) out.push_back(m);
    return out;
  }
  std::vector<Message> replies(const std::string& ts) const {
    std::vector<Message> out;
    for (auto& m : messages())
      if (m.thread_ts == ts) out.push_back(m);
    return out;
  }
  std::vector<std::string> problems() const {
    std::lock_guard l(mu_);
    return problems_;
  }
  // The text of every block of a message, joined (what a reader sees).
  static std::string textOf(const nlohmann::json& body) {
    std::string out = body.value("text", "") + "\n";
    for (const auto& a : body.value("attachments", nlohmann::json::array()))
      for (const auto& b : a.value("blocks", nlohmann::json::array())) {
        if (b.contains("text")) out += b["text"].value("text", "") + "\n";
        for (const auto& e : b.value("elements", nlohmann::json::array()))
          out += e.value("text", "") + "\n";
      }
    return out;
  }

 private:
  using json = nlohmann::json;
  static Receiver::Reply reply(const json& j, int status = 200) {
    return {status, j.dump(), {{"Content-Type", "application/json"}}, {}};
  }
  static Receiver::Reply error(const std::string& e) {
    return reply({{"ok", false}, {"error", e}});
  }
  static size_t chars(const std::string& s) {  // UTF-8 code points, as Slack counts
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }
  // Block Kit limits (api.slack.com/reference/block-kit) on the attachment's blocks.
  static std::string blockProblem(const json& body) {
    if (!body.contains("text") || !body["text"].is_string() ||
        body["text"].get<std::string>().empty())
      return "no_text";
    const json att = body.value("attachments", json::array());
    if (att.size() != 1 || !att[0].contains("blocks")) return "invalid_attachments";
    const json& blocks = att[0]["blocks"];
    if (!blocks.is_array() || blocks.empty() || blocks.size() > 50) return "invalid_blocks";
    for (const auto& b : blocks) {
      const std::string type = b.value("type", "");
      const std::string text = b.contains("text") ? b["text"].value("text", "") : "";
      if ((type == "header" && chars(text) > 150) || (type == "section" && chars(text) > 3000))
        return "invalid_blocks";
      if (type == "context" && (!b["elements"].is_array() || b["elements"].size() > 10))
        return "invalid_blocks";
    }
    return "";
  }
  Receiver::Reply answer(const Receiver::Request& r) {
    std::lock_guard l(mu_);
    auto problem = [&](const std::string& p) {
      problems_.push_back(r.path + ": " + p);
      return error(p);
    };
    if (r.header("authorization") != "Bearer " + token_) return problem("invalid_auth");
    const json body = json::parse(r.body, nullptr, false);
    if (!body.is_object()) return problem("invalid_json");
    if (!failures_.empty()) {
      Failure f = failures_.front();
      failures_.pop_front();
      auto rep = reply({{"ok", false}, {"error", f.error}}, f.status);
      if (!f.raw.empty()) rep.body = f.raw;
      for (auto& [k, v] : f.headers) rep.headers[k] = v;
      return rep;
    }
    if (body.value("channel", "") != channel_) return problem("channel_not_found");
    if (const std::string p = blockProblem(body); !p.empty()) return problem(p);
    if (r.path == "/chat.postMessage") return post(body, problem);
    if (r.path == "/chat.update") return update(body, problem);
    return problem("unknown_method");
  }
  template <class Problem>
  Receiver::Reply post(const json& body, Problem& problem) {
    const std::string thread = body.value("thread_ts", "");
    if (deleted_.count(thread)) return error("thread_not_found");  // not the client's fault
    if (!thread.empty() && !isTopLevel(thread)) return problem("thread_not_found");
    char ts[32];
    std::snprintf(ts, sizeof ts, "1764000000.%06zu", ++posted_);
    messages_.push_back({ts, thread, body, 0});
    // Slack echoes the message: the answer is larger than the request.
    return reply({{"ok", true}, {"channel", channel_}, {"ts", ts}, {"message", body}});
  }
  template <class Problem>
  Receiver::Reply update(const json& body, Problem& problem) {
    const std::string ts = body.value("ts", "");
    if (deleted_.count(ts)) return error("message_not_found");  // not the client's fault
    for (auto& m : messages_) {
      if (m.ts != ts || !m.thread_ts.empty()) continue;
      m.body = body;
      ++m.updates;
      return reply({{"ok", true}, {"channel", channel_}, {"ts", ts}, {"text", body["text"]}});
    }
    return problem("message_not_found");
  }
  bool isTopLevel(const std::string& ts) const {
    for (const auto& m : messages_)
      if (m.ts == ts && m.thread_ts.empty()) return true;
    return false;
  }

  std::string token_, channel_;
  mutable std::mutex mu_;
  std::deque<Failure> failures_;
  std::vector<Message> messages_;
  std::vector<std::string> problems_;
  std::set<std::string> deleted_;
  size_t posted_ = 0;  // ts are unique, also after a delete
  Receiver http_;      // last: destroyed (stopped) first, before the state it answers from
};

}  // namespace datawatch::testing
