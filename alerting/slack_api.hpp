#pragma once
// Slack through the Web API (`token` instead of `webhook_url`; docs/alerting.md
// "Slack"): a firing alert is a message (chat.postMessage) whose ts is kept in
// the state store; its repeats and changes (mute state, a doubled burn rate:
// alert.change) are replies in that message's thread; its
// resolve edits the message in place (chat.update: resolved, how long it
// lasted, green) and adds a reply. Alerts grouped by group_wait share a message.
//
// Invariants:
// - Records (SnapshotStore), written right after the call that made them
//   succeeded and before the next call:
//   "slack/<notifier>/alert/<alert id>" = {channel, ts} while the alert's
//   episode is open (null once its resolve was delivered);
//   "slack/<notifier>/message/<ts>" = {channel, alerts: {id: latest payload}}
//   while an alert of that message fires (null after). So a restart between
//   fire and resolve edits the right message, and an episode never gets a
//   second top-level message once its record is stored.
// - An item counts as delivered when every call it needs succeeded. A call
//   made twice is harmless (chat.update is idempotent; at worst a thread reply
//   repeats), which is the outbox's at-least-once promise.
// - chat.postMessage is paced to one a second per notifier (Slack allows one
//   per second per channel), on the agent's clock: a send that would post
//   sooner stops and is called again then (SendResult::paced, not a failure).
// - Slack answers HTTP 200 with {"ok": false, "error": …}: the errors in
//   slackPermanentError() reject the call's items for good (dropped, logged,
//   counted); `ratelimited` and HTTP 429 wait Retry-After; the rest retry.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/notifiers.hpp"
#include "config/types.hpp"
#include "probes/snapshot_store.hpp"

namespace datawatch {

std::unique_ptr<Notifier> makeSlackApiNotifier(const config::SlackNotifierConfig& cfg,
                                               const std::string& name, Duration timeout,
                                               SnapshotStore& snapshots);

// A Web API message for `payloads`: the Block Kit blocks of slackMessage in
// one attachment whose colour says the state (red: a page firing, amber:
// firing, green: all resolved). `mention` adds the notifier's mention.
nlohmann::json slackApiMessage(const std::vector<nlohmann::json>& payloads,
                               const config::SlackNotifierConfig& cfg, bool mention);

// Slack Web API errors that retrying cannot fix (bad token, no such channel,
// bot not in it, message too long or malformed, message gone).
bool slackPermanentError(const std::string& error);

}  // namespace datawatch
