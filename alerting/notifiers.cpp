#include "alerting/notifiers.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "alerting/http_client.hpp"
#include "alerting/slack_api.hpp"
#include "core/duration.hpp"
#include "core/human_units.hpp"
#include "core/time_format.hpp"
#include "core/utf8.hpp"

namespace datawatch {
namespace {

using nlohmann::json;

// Slack's limits (Block Kit reference): 50 blocks a message, 3000 characters
// in a section's text, 150 in a header. Counting bytes keeps under them.
constexpr size_t kSlackMaxBlocks = 50;
constexpr size_t kSlackSectionChars = 3000;
constexpr size_t kSlackHeaderChars = 150;
constexpr size_t kSlackBlocksPerAlert = 2;  // section + context
constexpr size_t kSlackMaxAlerts =
    (kSlackMaxBlocks - 2) / kSlackBlocksPerAlert;  // header, overflow
constexpr size_t kPagerdutySummaryChars = 1024;
// Alertmanager: a firing alert not re-sent by then is resolved by Alertmanager.
constexpr Duration kAlertmanagerHold = std::chrono::minutes(5);

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Slack mrkdwn: &, < and > are control characters in user text.
std::string slackEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

std::string titleOf(const json& p) {
  const json& a = p.at("alert");
  std::string status = str(p, "status") == "resolved" ? "RESOLVED" : "FIRING";
  return "[" + status + "] " + str(a, "severity") + ": " +
         (str(a, "kind") == "slo" ? "SLO " : "probe ") + str(a, "name");
}

// A probe entry's contract rule as "file:line" ("" when not from a contract).
std::string contractRule(const json& probe) {
  if (!probe.contains("contract") || !probe["contract"].is_object()) return "";
  const json& c = probe["contract"];
  std::string rule = str(c, "file");
  if (c.contains("line") && c["line"].is_number_integer() && c["line"].get<int>() > 0)
    rule += ":" + std::to_string(c["line"].get<int>());
  return rule;
}

// One line per probe: `name` status: value unit (threshold) — message
// (contract ID · file:line).
std::string humanThreshold(const json& t, const std::string& unit);

std::string probeLines(const json& a, bool markdown) {
  std::string out;
  for (const auto& p : a.value("probes", json::array())) {
    std::string line = markdown ? "• `" + str(p, "probe") + "` " : "- " + str(p, "probe") + " ";
    line += str(p, "status");
    if (p.contains("value") && p["value"].is_number())
      line += ": " + humanValue(p["value"].get<double>(), str(p, "unit"));
    if (p.contains("threshold") && p["threshold"].is_object() && !p["threshold"].empty())
      line += " (" + humanThreshold(p["threshold"], str(p, "unit")) + ")";
    const std::string msg = str(p, "message");
    if (!msg.empty()) line += " — " + msg;
    if (const std::string rule = contractRule(p); !rule.empty())
      line += " (contract " + str(p["contract"], "id") + " · " + rule + ")";
    out += (markdown ? slackEscape(line) : line) + "\n";
  }
  return out;
}

std::string sloLine(const json& a, bool markdown) {
  if (!a.contains("slo") || !a["slo"].is_object()) return "";
  const json& s = a["slo"];
  std::string burns;
  const json rates = s.value("burn_rates", json::object());
  for (const auto& [w, v] : rates.items())
    if (v.is_number())
      burns += (burns.empty() ? "" : " · ") + w + " " + plainNumber(v.get<double>());
  std::string out = markdown ? "*Burn rates:* " : "Burn rates: ";
  out += burns.empty() ? "-" : burns;
  if (s.contains("error_budget_remaining") && s["error_budget_remaining"].is_number()) {
    out += markdown ? "   *Error budget left:* " : "; error budget left: ";
    out += plainNumber(s["error_budget_remaining"].get<double>() * 100) + "%";
  }
  return out + "\n";
}

std::string downstreamLine(const json& a, bool markdown) {
  const json d = a.value("downstream", json::object());
  const auto probes = d.value("probes", std::vector<std::string>{});
  const auto consumers = d.value("consumers", std::vector<std::string>{});
  if (probes.empty() && consumers.empty()) return "";
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string out = markdown ? "*Impact:* " : "Impact: ";
  if (!probes.empty()) out += "downstream probes " + join(probes);
  if (!consumers.empty())
    out += std::string(probes.empty() ? "" : "; ") + "consumers " + join(consumers);
  return (markdown ? slackEscape(out) : out) + "\n";
}

// " after 4h35m" for a resolved alert ("" when its times do not parse).
std::string lastedFor(const json& a) {
  const auto from = parseTimestamp(str(a, "started_at"));
  const auto to = parseTimestamp(str(a, "resolved_at"));
  if (!from || !to || *to < *from) return "";
  return " after " + humanDuration(std::chrono::duration_cast<Duration>(*to - *from));
}

json mrkdwn(const std::string& text, size_t limit) {
  return {{"type", "mrkdwn"}, {"text", truncateUtf8(text, limit)}};
}

// Alertmanager labels and annotations of a SPEC §5 body.
json amLabels(const json& a) {
  json l = json::object();
  const json labels = a.value("labels", json::object());
  for (const auto& [k, v] : labels.items())
    if (v.is_string()) l[k] = v;
  return l;
}

// A probe's threshold as words: {"max":3600} in seconds -> "max 1h".
std::string humanThreshold(const json& t, const std::string& unit) {
  std::string out;
  for (const auto& [key, v] : t.items()) {
    // "max_age_seconds": 3600 -> "max age 1h" (the unit is in the value).
    const bool seconds = key.size() > 8 && key.compare(key.size() - 8, 8, "_seconds") == 0;
    std::string words = seconds ? key.substr(0, key.size() - 8) : key;
    std::replace(words.begin(), words.end(), '_', ' ');
    if (v.is_number())
      words += " " + humanValue(v.get<double>(), seconds ? "seconds" : unit);
    else if (v.is_string())
      words += " " + v.get<std::string>();
    else if (v.is_array())
      words += " " + std::to_string(v.size()) + " values";
    else if (!v.is_boolean())
      continue;
    out += (out.empty() ? "" : ", ") + words;
  }
  return out;
}

// Alertmanager annotations say what the alert is, in human units, and nothing
// that changes from one re-send to the next while the measurements stay: no
// delivery id, run count, burn rate or send time. A probe's line is its own
// message ("age 2h1m > 1h"), else its value and threshold in words.
std::string amProbeLine(const json& p) {
  std::string line = str(p, "probe") + " " + str(p, "status");
  if (!str(p, "message").empty()) return line + ": " + str(p, "message");
  const std::string unit = str(p, "unit");
  if (p.contains("value") && p["value"].is_number())
    line += ": " + humanValue(p["value"].get<double>(), unit);
  if (p.contains("threshold") && p["threshold"].is_object() && !p["threshold"].empty())
    line += " (" + humanThreshold(p["threshold"], unit) + ")";
  return line;
}

std::string amSummary(const json& a) {
  if (str(a, "kind") == "slo") {
    const json s = a.value("slo", json::object());
    std::string about;
    if (s.contains("objective") && s["objective"].is_number())
      about = " (" + plainNumber(s["objective"].get<double>() * 100) + "% over " +
              str(s, "window") + ")";
    return "SLO " + str(a, "name") + about + " burns its error budget: " + str(a, "severity");
  }
  const json probes = a.value("probes", json::array());
  return "probe " + (probes.empty() ? str(a, "name") : amProbeLine(probes[0]));
}

json amAnnotations(const json& p) {
  const json& a = p.at("alert");
  std::string description;
  for (const auto& pr : a.value("probes", json::array()))
    description += "- " + amProbeLine(pr) + "\n";
  json an{{"summary", amSummary(a)}, {"description", description + downstreamLine(a, false)}};
  if (!str(a, "owner").empty()) an["owner"] = str(a, "owner");
  // A contract's probe: the contract and the rule's "file:line" (the first
  // probe from a contract, when several are listed).
  for (const auto& pr : a.value("probes", json::array())) {
    const std::string rule = contractRule(pr);
    if (rule.empty()) continue;
    an["contract"] = str(pr["contract"], "id");
    an["contract_rule"] = rule;
    break;
  }
  return an;
}

std::string dashboardOf(const json& a) {
  return a.contains("links") && a["links"].is_object() ? str(a["links"], "dashboard") : "";
}

std::string fingerprint(const json& labels) {
  const std::string s = dumpJson(labels);  // object keys are sorted
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return hex;
}

std::string base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

SendResult fromHttp(const HttpResponse& r) {
  SendResult s;
  s.ok = r.ok();
  if (!s.ok) {
    s.retryable = r.retryable();
    s.retry_after = r.retry_after;
    s.error = r.describe();
    s.aborted = r.aborted;
  }
  return s;
}

// ---------------------------------------------------------------- notifiers
class SlackNotifier final : public Notifier {
 public:
  SlackNotifier(config::SlackNotifierConfig c, Duration timeout)
      : cfg_(std::move(c)), timeout_(timeout) {}
  size_t maxBatch() const override { return 200; }
  Duration groupWait() const override { return cfg_.group_wait; }
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) override {
    std::vector<json> payloads;
    for (const auto& it : batch) payloads.push_back(it.payload);
    return fromHttp(httpPost(
        {cfg_.webhook_url, dumpJson(slackMessage(payloads, cfg_)), {}, timeout_}, now, abort_));
  }

 private:
  config::SlackNotifierConfig cfg_;
  Duration timeout_;
};

class WebhookNotifier final : public Notifier {
 public:
  WebhookNotifier(config::WebhookNotifierConfig c, std::string name, Duration timeout)
      : cfg_(std::move(c)), name_(std::move(name)), timeout_(timeout) {}
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) override {
    const OutboxItem& it = batch.front();
    const std::string body = cfg_.format == config::WebhookFormat::Alertmanager
                                 ? dumpJson(alertmanagerWebhook(it.payload, name_))
                                 : dumpJson(it.payload);
    const std::string ts = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    HttpRequest req{cfg_.url, body, {}, timeout_};
    req.headers.push_back("X-Datawatch-Delivery: " + it.delivery_id);
    req.headers.push_back("X-Datawatch-Timestamp: " + ts);
    if (cfg_.secret)
      req.headers.push_back("X-Datawatch-Signature: sha256=" +
                            hmacSha256Hex(*cfg_.secret, ts + "." + body));
    for (const auto& [k, v] : cfg_.headers) req.headers.push_back(k + ": " + v);
    return fromHttp(httpPost(req, now, abort_));
  }

 private:
  config::WebhookNotifierConfig cfg_;
  std::string name_;
  Duration timeout_;
};

class PagerdutyNotifier final : public Notifier {
 public:
  PagerdutyNotifier(config::PagerdutyNotifierConfig c, Duration timeout)
      : cfg_(std::move(c)), timeout_(timeout) {}
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) override {
    return fromHttp(httpPost({cfg_.url + "/v2/enqueue",
                              dumpJson(pagerdutyEvent(batch.front().payload, cfg_.routing_key)),
                              {},
                              timeout_},
                             now, abort_));
  }

 private:
  config::PagerdutyNotifierConfig cfg_;
  Duration timeout_;
};

// Sends to every URL; accepted when one Alertmanager accepted, as Prometheus
// does: an HA pair gossips, and the alert is re-sent every minute (alerts.cpp),
// so an Alertmanager that was down has it again within a minute of its return.
class AlertmanagerNotifier final : public Notifier {
 public:
  AlertmanagerNotifier(config::AlertmanagerNotifierConfig c, Duration timeout)
      : cfg_(std::move(c)), timeout_(timeout) {
    if (cfg_.basic_auth)
      auth_.push_back("Authorization: Basic " +
                      base64(cfg_.basic_auth->username + ":" + cfg_.basic_auth->password));
    else if (cfg_.bearer_token)
      auth_.push_back("Authorization: Bearer " + *cfg_.bearer_token);
  }
  size_t maxBatch() const override { return 100; }
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) override {
    std::vector<json> payloads;
    for (const auto& it : batch) payloads.push_back(it.payload);
    const std::string body = dumpJson(alertmanagerAlerts(payloads, now, cfg_.generator_url));
    SendResult failed;
    failed.retryable = false;
    bool accepted = false;
    for (size_t i = 0; i < cfg_.urls.size(); ++i) {
      SendResult r =
          fromHttp(httpPost({cfg_.urls[i] + "/api/v2/alerts", body, auth_, timeout_}, now, abort_));
      if (r.aborted) return r;
      accepted = accepted || r.ok;
      if (r.ok) continue;
      failed.retryable = failed.retryable || r.retryable;
      if (r.retry_after)
        failed.retry_after = std::max(failed.retry_after.value_or(Duration{0}), *r.retry_after);
      if (!failed.error.empty()) failed.error += "; ";
      if (cfg_.urls.size() > 1)
        failed.error += "alertmanager " + std::to_string(i + 1) + " of " +
                        std::to_string(cfg_.urls.size()) + ": ";
      failed.error += r.error;
    }
    if (accepted) {  // delivered; what failed elsewhere is still worth a warning
      SendResult ok;
      ok.ok = true;
      ok.error = failed.error;
      return ok;
    }
    return failed;
  }

 private:
  config::AlertmanagerNotifierConfig cfg_;
  Duration timeout_;
  std::vector<std::string> auth_;
};

class FileNotifier final : public Notifier {
 public:
  explicit FileNotifier(config::FileNotifierConfig c) : cfg_(std::move(c)) {}
  size_t maxBatch() const override { return 500; }
  SendResult send(const std::vector<OutboxItem>& batch, TimePoint) override {
    SendResult r;
    std::string lines;
    for (const auto& it : batch) lines += dumpJson(it.payload) + "\n";
    const int fd = ::open(cfg_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      r.error = "cannot open " + cfg_.path.string() + ": " + std::strerror(errno);
      return r;
    }
    size_t off = 0;
    while (off < lines.size()) {
      const ssize_t n = ::write(fd, lines.data() + off, lines.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        r.error = "cannot write " + cfg_.path.string() + ": " + std::strerror(errno);
        ::close(fd);
        return r;
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0)
      r.error = "cannot sync " + cfg_.path.string() + ": " + std::strerror(errno);
    ::close(fd);
    r.ok = r.error.empty();
    return r;
  }

 private:
  config::FileNotifierConfig cfg_;
};

}  // namespace

std::string truncateUtf8(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  static const std::string kEllipsis = "…";
  if (max_bytes < kEllipsis.size()) return "";
  size_t cut = max_bytes - kEllipsis.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + kEllipsis;
}

std::string hmacSha256Hex(const std::string& key, const std::string& message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len);
  std::string out;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

json slackMessage(const std::vector<json>& payloads, const config::SlackNotifierConfig& cfg) {
  size_t firing = 0;
  for (const auto& p : payloads) firing += str(p, "status") == "firing";
  const size_t resolved = payloads.size() - firing;
  std::string header;
  if (payloads.size() == 1) {
    header = titleOf(payloads.front());
  } else {
    header = "datawatch: " + std::to_string(firing) + " firing, " + std::to_string(resolved) +
             " resolved";
  }
  header = truncateUtf8(header, kSlackHeaderChars);
  json blocks = json::array();
  blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", header}}}});
  const size_t shown = std::min(payloads.size(), kSlackMaxAlerts);
  for (size_t i = 0; i < shown; ++i) {
    const json& p = payloads[i];
    const json& a = p.at("alert");
    const bool is_firing = str(p, "status") == "firing";
    const std::string sev = str(a, "severity");
    std::string emoji = !is_firing                             ? ":white_check_mark:"
                        : (sev == "page" || sev == "critical") ? ":rotating_light:"
                                                               : ":warning:";
    std::string text;
    if (i == 0 && firing > 0 && !cfg.mention.empty()) text += cfg.mention + " ";
    const std::string change = str(a, "change");
    text += emoji + " *" + slackEscape(titleOf(p)) + "*" +
            (!change.empty()            ? " (update)"
             : a.value("repeat", false) ? " (still firing)"
                                        : "") +
            "\n";
    if (!change.empty()) text += "*Change:* " + slackEscape(change) + "\n";
    text += slackEscape(str(a, "summary")) + "\n";
    text += sloLine(a, true);
    const std::string probes = probeLines(a, true);
    if (!probes.empty()) text += "*Probes:*\n" + probes;
    if (!str(a, "owner").empty()) text += "*Owner:* " + slackEscape(str(a, "owner")) + "\n";
    text += downstreamLine(a, true);
    blocks.push_back({{"type", "section"}, {"text", mrkdwn(text, kSlackSectionChars)}});
    std::string ctx = "Started " + str(a, "started_at");
    if (!is_firing) ctx += " · resolved " + str(a, "resolved_at") + lastedFor(a);
    ctx += " · `" + slackEscape(str(a, "id")) + "`";
    const std::string dash = dashboardOf(a);
    if (!dash.empty()) ctx += " · <" + dash + "|Dashboard>";
    blocks.push_back(
        {{"type", "context"}, {"elements", json::array({mrkdwn(ctx, kSlackSectionChars)})}});
  }
  if (payloads.size() > shown) {
    std::string more = "…and " + std::to_string(payloads.size() - shown) + " more:";
    for (size_t i = shown; i < payloads.size(); ++i) {
      const json& a = payloads[i].at("alert");
      more += "\n• `" + slackEscape(str(a, "id")) + "` " + str(payloads[i], "status");
    }
    blocks.push_back({{"type", "section"}, {"text", mrkdwn(more, kSlackSectionChars)}});
  }
  json msg{{"text", header}, {"blocks", std::move(blocks)}};
  if (!cfg.channel.empty()) msg["channel"] = cfg.channel;
  return msg;
}

json pagerdutyEvent(const json& p, const std::string& routing_key) {
  const json& a = p.at("alert");
  json e{{"routing_key", routing_key}, {"dedup_key", str(a, "id")}, {"client", "datawatch"}};
  if (str(p, "status") == "resolved") {
    e["event_action"] = "resolve";
    return e;
  }
  e["event_action"] = "trigger";
  const std::string sev = str(a, "severity");
  std::string pd_sev = "warning";
  if (sev == "page")
    pd_sev = "critical";
  else if (sev == "critical" || sev == "error" || sev == "warning" || sev == "info")
    pd_sev = sev;
  std::string component = str(a, "name");
  if (const auto& probes = a.value("probes", json::array()); probes.size() == 1)
    if (!str(probes[0], "target").empty()) component = str(probes[0], "target");
  json details = a;
  e["payload"] = {
      {"summary", truncateUtf8(titleOf(p) + " — " + str(a, "summary"), kPagerdutySummaryChars)},
      {"source", "datawatch"},
      {"severity", pd_sev},
      {"timestamp", str(a, "started_at")},
      {"component", component},
      {"class", str(a, "kind")},
      {"custom_details", std::move(details)}};
  if (!str(a, "owner").empty()) e["payload"]["group"] = str(a, "owner");
  const std::string dash = dashboardOf(a);
  if (!dash.empty()) e["links"] = json::array({{{"href", dash}, {"text", "Dashboard"}}});
  return e;
}

json alertmanagerAlerts(const std::vector<json>& payloads, TimePoint now,
                        const std::string& generator_url) {
  json out = json::array();
  for (const auto& p : payloads) {
    const json& a = p.at("alert");
    const bool firing = str(p, "status") == "firing";
    json alert{{"labels", amLabels(a)},
               {"annotations", amAnnotations(p)},
               {"startsAt", str(a, "started_at")},
               {"endsAt", firing ? formatRfc3339(now + kAlertmanagerHold) : str(a, "resolved_at")}};
    const std::string source = generator_url.empty() ? dashboardOf(a) : generator_url;
    if (!source.empty()) alert["generatorURL"] = source;
    out.push_back(std::move(alert));
  }
  return out;
}

json alertmanagerWebhook(const json& p, const std::string& receiver) {
  const json& a = p.at("alert");
  const bool firing = str(p, "status") == "firing";
  const json labels = amLabels(a);
  const json annotations = amAnnotations(p);
  json alert{{"status", firing ? "firing" : "resolved"},
             {"labels", labels},
             {"annotations", annotations},
             {"startsAt", str(a, "started_at")},
             {"endsAt", firing ? std::string("0001-01-01T00:00:00Z") : str(a, "resolved_at")},
             {"generatorURL", dashboardOf(a)},
             {"fingerprint", fingerprint(labels)}};
  return {{"version", "4"},         {"groupKey", "{}:{alert=\"" + str(a, "id") + "\"}"},
          {"truncatedAlerts", 0},   {"status", firing ? "firing" : "resolved"},
          {"receiver", receiver},   {"groupLabels", {{"alert", str(a, "id")}}},
          {"commonLabels", labels}, {"commonAnnotations", annotations},
          {"externalURL", ""},      {"alerts", json::array({std::move(alert)})}};
}

std::unique_ptr<Notifier> makeNotifier(const config::NotifierConfig& cfg,
                                       SnapshotStore& snapshots) {
  if (const auto* s = std::get_if<config::SlackNotifierConfig>(&cfg.spec)) {
    if (s->webApi()) return makeSlackApiNotifier(*s, cfg.name, cfg.timeout, snapshots);
    return std::make_unique<SlackNotifier>(*s, cfg.timeout);
  }
  if (const auto* w = std::get_if<config::WebhookNotifierConfig>(&cfg.spec))
    return std::make_unique<WebhookNotifier>(*w, cfg.name, cfg.timeout);
  if (const auto* pd = std::get_if<config::PagerdutyNotifierConfig>(&cfg.spec))
    return std::make_unique<PagerdutyNotifier>(*pd, cfg.timeout);
  if (const auto* am = std::get_if<config::AlertmanagerNotifierConfig>(&cfg.spec))
    return std::make_unique<AlertmanagerNotifier>(*am, cfg.timeout);
  return std::make_unique<FileNotifier>(std::get<config::FileNotifierConfig>(cfg.spec));
}

}  // namespace datawatch
