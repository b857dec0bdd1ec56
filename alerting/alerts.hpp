#pragma once
// Alert lifecycle (SPEC §5), the first part of issue 5: alerts from the SLO
// engine (page, ticket) and direct probe alerts (`alert: {after: N}` — N
// consecutive runs that did not pass fire, one pass resolves). An alert is
// identified by (kind, subject, severity); it goes firing → resolved. Each
// change is returned once, with its routing (the notifier names), for the
// delivery layer to send. Not thread-safe.
//
// Still to come (issue 5): repeat notifications, silences, lineage inhibition,
// notifiers and the outbox.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/slo_engine.hpp"
#include "config/types.hpp"
#include "probes/result.hpp"

namespace datawatch {

struct Alert {
  std::string kind;      // "slo" | "probe"
  std::string subject;   // the SLO's or the probe's name
  std::string severity;  // page | ticket for SLOs; the probe alert's severity
  bool firing = true;
  TimePoint started_at{};
  std::optional<TimePoint> resolved_at;
  std::string summary;              // one line, as of the last change
  std::string owner;                // of the probe, or of the SLO's first probe
  std::vector<std::string> notify;  // notifier names (routing)

  // "slo:orders-fresh:page" — stable across restarts.
  std::string id() const { return kind + ":" + subject + ":" + severity; }
};

// The alert as stored and served (status API): id, kind, subject, severity,
// status, started_at, resolved_at, summary, owner, notify.
nlohmann::json toJson(const Alert& a);
// nullopt when `j` is not an alert written by toJson.
std::optional<Alert> alertFromJson(const nlohmann::json& j);

struct AlertChange {
  Alert alert;  // its state after the change
  bool fired;   // true: it started firing; false: it resolved
};

class AlertTracker {
 public:
  AlertTracker() = default;
  explicit AlertTracker(std::shared_ptr<const config::Config> cfg) {
    configure(std::move(cfg), {});
  }

  // Takes a (re)loaded configuration. Firing alerts whose SLO, probe or probe
  // `alert:` block is gone resolve at `now` and are returned.
  std::vector<AlertChange> configure(std::shared_ptr<const config::Config> cfg, TimePoint now);

  // The SLO's severities that started or stopped breaching.
  std::vector<AlertChange> observeSlo(const SloStatus& st, TimePoint now);
  // A probe run, for probes with an `alert:` block (others are ignored).
  std::vector<AlertChange> observeProbe(const ProbeResult& run);

  // Every firing alert, by id.
  std::vector<Alert> firing() const;
  // Takes back the firing alerts of a previous run (from the state store), so a
  // restart neither re-fires nor forgets them. Alerts no longer configured are
  // dropped; call after configure().
  void restore(const std::vector<Alert>& firing);

 private:
  std::optional<AlertChange> set(Alert candidate, bool on, TimePoint now);
  bool configured(const Alert& a) const;  // its SLO or probe alert is in cfg_

  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, Alert> alerts_;     // by id; firing ones (resolved are dropped)
  std::map<std::string, int> fail_streak_;  // per probe: consecutive runs not passing
};

}  // namespace datawatch
