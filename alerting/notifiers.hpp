#pragma once
// The notifiers of SPEC §5: each turns queued notifications (SPEC §5 bodies,
// from the outbox) into its receiver's format and sends them. Rendering is
// pure and exposed for tests; send() does the HTTP (libcurl) or file I/O.
//
// Formats:
// - slack: an incoming-webhook message in Block Kit (header, one section and
//   one context block per alert change, an overflow summary past 24 changes;
//   50 blocks, 3000 characters a section, 150 in the header).
// - webhook: the SPEC §5 body, or an Alertmanager webhook v4 body
//   (format: alertmanager); headers X-Datawatch-Delivery, -Timestamp and, with
//   a secret, -Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body).
// - pagerduty: Events API v2 (POST <url>/v2/enqueue), dedup_key = alert id.
// - alertmanager: POST <url>/api/v2/alerts, an array of postable alerts, to
//   each of `urls` (basic or bearer auth); accepted when one accepted.
// - file: one SPEC §5 body per line, appended and fsync'ed.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/types.hpp"
#include "store/state_store.hpp"

namespace datawatch {

struct SendResult {
  bool ok = false;
  bool retryable = true;                // false: the receiver rejected it for good (4xx)
  std::optional<Duration> retry_after;  // the receiver asked for this delay (429)
  std::string error;     // for logs: never holds the URL or a secret; with ok, what still failed
  bool aborted = false;  // given up because the agent is stopping: no verdict, not a failure

  // Per item, for a notifier that sends one batch in several calls (Slack's
  // Web API). Empty: the whole batch shares the verdict above. Otherwise one
  // entry per batch item; ok is false and the fields above describe the Retry
  // items only.
  enum class Item { Delivered, Rejected, Retry };
  std::vector<Item> items;
  std::string rejected_error;  // why the Rejected items were rejected for good
  // The Retry items wait for the receiver's pace (retry_after), which is not a
  // failure: no attempt is counted, nothing is logged, the queue goes on after.
  bool paced = false;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // How many queued notifications one send() takes.
  virtual size_t maxBatch() const { return 1; }
  // Notifications queued within this time after the first join its batch.
  virtual Duration groupWait() const { return Duration{0}; }
  // Sends `batch` (1..maxBatch() items) at `now`.
  virtual SendResult send(const std::vector<OutboxItem>& batch, TimePoint now) = 0;
  // Set before the first send(): a send in flight gives up (SendResult::aborted)
  // within about a second of the flag turning true. Must outlive the notifier.
  void setAbortFlag(const std::atomic<bool>* abort) { abort_ = abort; }

 protected:
  const std::atomic<bool>* abort_ = nullptr;
};

// `snapshots` keeps what a notifier must remember across restarts (Slack's
// Web API: the message of each firing alert); it must outlive the notifier.
std::unique_ptr<Notifier> makeNotifier(const config::NotifierConfig& cfg, SnapshotStore& snapshots);

// ---- renderers (pure)
// A Block Kit message for one or more SPEC §5 bodies.
nlohmann::json slackMessage(const std::vector<nlohmann::json>& payloads,
                            const config::SlackNotifierConfig& cfg);
// An Events API v2 event: trigger (firing) or resolve.
nlohmann::json pagerdutyEvent(const nlohmann::json& payload, const std::string& routing_key);
// Alertmanager API v2 postable alerts. Firing alerts end at now + 5m unless
// re-sent. generatorURL: `generator_url`, else the payload's dashboard link.
nlohmann::json alertmanagerAlerts(const std::vector<nlohmann::json>& payloads, TimePoint now,
                                  const std::string& generator_url = "");
// An Alertmanager webhook v4 body carrying one alert change.
nlohmann::json alertmanagerWebhook(const nlohmann::json& payload, const std::string& receiver);
// Lowercase hex HMAC-SHA256.
std::string hmacSha256Hex(const std::string& key, const std::string& message);
// `s` cut to at most `max_bytes` bytes on a UTF-8 boundary, ending in "…" when cut.
std::string truncateUtf8(const std::string& s, size_t max_bytes);

}  // namespace datawatch
