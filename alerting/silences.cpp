#include "alerting/silences.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "core/time_format.hpp"

namespace datawatch {
namespace {

std::string randomId() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Ids only need to be distinct, not unpredictable.
    const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(t >> (i * 8));
  }
  char hex[17];
  for (size_t i = 0; i < sizeof bytes; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string("api-") + hex;
}

nlohmann::json stored(const Silence& s) {
  return {{"id", s.id},
          {"match", s.match},
          {"starts", formatRfc3339(s.starts)},
          {"ends", formatRfc3339(s.ends)},
          {"reason", s.reason},
          {"created_by", s.created_by}};
}

}  // namespace

bool Silence::matches(const std::map<std::string, std::string>& labels) const {
  if (match.empty()) return false;  // an empty silence would mute everything
  for (const auto& [k, v] : match) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

nlohmann::json toJson(const Silence& s, TimePoint now) {
  auto j = stored(s);
  j["active"] = s.activeAt(now);
  return j;
}

Result<Silence> silenceFromRequest(const nlohmann::json& body, TimePoint now) {
  using R = Result<Silence>;
  if (!body.is_object()) return R::Error("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    (void)v;
    if (k != "match" && k != "until" && k != "ends" && k != "starts" && k != "reason")
      return R::Error("unknown field \"" + k + "\" (match, starts, until, reason)");
  }
  Silence s;
  s.created_by = "api";
  const auto m = body.find("match");
  if (m == body.end() || !m->is_object() || m->empty())
    return R::Error("\"match\" must be a non-empty object of label: value");
  for (const auto& [k, v] : m->items()) {
    if (!v.is_string()) return R::Error("match." + k + " must be a string");
    s.match[k] = v.get<std::string>();
  }
  auto time = [&](const char* key) -> std::optional<TimePoint> {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string()) return std::nullopt;
    return parseTimestamp(it->get<std::string>());
  };
  const char* end_key = body.contains("until") ? "until" : "ends";
  if (!body.contains(end_key)) return R::Error("\"until\" (RFC 3339) is required");
  auto ends = time(end_key);
  if (!ends) return R::Error(std::string("\"") + end_key + "\" must be an RFC 3339 timestamp");
  s.ends = *ends;
  s.starts = now;
  if (body.contains("starts")) {
    auto starts = time("starts");
    if (!starts) return R::Error("\"starts\" must be an RFC 3339 timestamp");
    s.starts = *starts;
  }
  if (s.ends <= now) return R::Error("\"until\" is in the past");
  if (s.ends <= s.starts) return R::Error("\"until\" must be after \"starts\"");
  if (auto r = body.find("reason"); r != body.end()) {
    if (!r->is_string()) return R::Error("\"reason\" must be a string");
    s.reason = r->get<std::string>();
  }
  return s;
}

void SilenceSet::configure(const std::vector<config::SilenceConfig>& silences) {
  config_.clear();
  int n = 0;
  for (const auto& c : silences) {
    Silence s;
    s.id = "config-" + std::to_string(++n);
    s.match = c.match;
    s.starts = c.starts.value_or(TimePoint{});
    s.ends = c.until;
    s.reason = c.reason;
    s.created_by = "config";
    config_.push_back(std::move(s));
  }
}

Silence SilenceSet::add(Silence s) {
  s.id = randomId();
  s.created_by = "api";
  api_.push_back(s);
  return s;
}

bool SilenceSet::remove(const std::string& id) {
  auto it = std::find_if(api_.begin(), api_.end(), [&](const Silence& s) { return s.id == id; });
  if (it == api_.end()) return false;
  api_.erase(it);
  return true;
}

const Silence* SilenceSet::silencing(const std::map<std::string, std::string>& labels,
                                     TimePoint now) const {
  for (const auto* list : {&config_, &api_}) {
    for (const auto& s : *list)
      if (s.activeAt(now) && s.matches(labels)) return &s;
  }
  return nullptr;
}

std::vector<Silence> SilenceSet::list(TimePoint now) {
  api_.erase(
      std::remove_if(api_.begin(), api_.end(), [&](const Silence& s) { return s.ends <= now; }),
      api_.end());
  std::vector<Silence> out = config_;
  out.insert(out.end(), api_.begin(), api_.end());
  return out;
}

nlohmann::json SilenceSet::apiSilencesJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : api_) out.push_back(stored(s));
  return out;
}

void SilenceSet::restoreApiSilences(const nlohmann::json& saved) {
  api_.clear();
  if (!saved.is_array()) return;
  for (const auto& j : saved) {
    if (!j.is_object()) continue;
    Silence s;
    s.id = j.value("id", "");
    s.created_by = "api";
    s.reason = j.value("reason", "");
    auto starts = parseTimestamp(j.value("starts", ""));
    auto ends = parseTimestamp(j.value("ends", ""));
    if (s.id.empty() || !starts || !ends || !j.contains("match") || !j["match"].is_object())
      continue;
    for (const auto& [k, v] : j["match"].items())
      if (v.is_string()) s.match[k] = v.get<std::string>();
    s.starts = *starts;
    s.ends = *ends;
    api_.push_back(std::move(s));
  }
}

}  // namespace datawatch
