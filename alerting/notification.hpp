#pragma once
// What a notification says: the SPEC §5 generic body, built once when the
// notification is queued and kept in the outbox. Every notifier renders its
// own format (Slack Block Kit, PagerDuty Events v2, Alertmanager) from it.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "alerting/alerts.hpp"
#include "config/types.hpp"
#include "slo/slo_engine.hpp"
#include "store/state_store.hpp"

namespace datawatch {

// The first `hex_chars` hex digits of the SHA-256 of `s`.
std::string sha256Hex(const std::string& s, size_t hex_chars = 64);

struct NotificationContext {
  const config::Config* cfg = nullptr;
  const SloStatus* slo = nullptr;  // the alert's SLO as of now (kind slo), or null
  // The latest run of a probe, or null when it has not run yet.
  std::function<const ProbeResult*(const std::string& probe)> last_run;
  // The incident holding the alert ("" when none): alert.incident_id, and on
  // a resolve links.postmortem (the draft written when the incident resolves).
  std::function<std::string(const std::string& alert_id)> incident_of;
};

// A stable id: the same alert, event (fire, repeat at time T, resolve) and
// notifier give the same id, on any agent and after any restart (32 hex).
std::string deliveryId(const Outgoing& o);

// The SPEC §5 body: {"version":"1","delivery_id","status","alert":{…}}.
// alert.probes lists the alert's probes with their latest results; for a
// probe alert, also `downstream`: the probes (transitively) naming its
// probes as `upstream`, and every consumer affected.
nlohmann::json notificationBody(const Outgoing& o, const std::string& delivery_id,
                                const NotificationContext& ctx);

// The outbox row for `o`. Slack notifications wait group_wait first, so the
// changes of that time go out as one message.
OutboxItem outboxItem(const Outgoing& o, const NotificationContext& ctx);

}  // namespace datawatch
