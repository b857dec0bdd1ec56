#pragma once
// Alert lifecycle (SPEC §5): alerts from the SLO engine (page, ticket) and
// direct probe alerts (`alert: {after: N}` — N consecutive runs that did not
// pass fire, one pass resolves). An alert is identified by (kind, subject,
// severity); it goes firing → resolved. Each change is returned once.
//
// plan() decides which notifications go out: when an alert fires, every
// notifier's `repeat_interval` while it fires, and on resolve to the notifiers
// that were told it fired. A silenced alert, or one inhibited because an
// `upstream` probe of its probes is failing, sends nothing (it still fires,
// counts and shows in the status API); once the mute ends while it still
// fires, the firing notification goes out then. Not thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/silences.hpp"
#include "config/types.hpp"
#include "probes/result.hpp"
#include "slo/slo_engine.hpp"

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
  // notifier -> when its last firing notification was queued (drives repeats
  // and who hears the resolve).
  std::map<std::string, TimePoint> notified;
  std::string silenced_by;                // the silence muting it, or ""
  std::vector<std::string> inhibited_by;  // failing upstream probes muting it
  // The firing page alert of the same SLO muting this ticket alert
  // (`alerting.inhibit_lower_severity`), or "".
  std::string inhibited_by_alert;
  // SLO alerts: the long-window burn rate its Slack thread was last told of
  // (at the fire, then each doubling); not persisted: a restart tells anew.
  double burn_told = 0;
  // A change for the threads (a doubled burn rate), queued by the next plan().
  std::string pending_change;

  // "slo:orders-fresh:page" — stable across restarts.
  std::string id() const { return kind + ":" + subject + ":" + severity; }
  bool muted() const {
    return !silenced_by.empty() || !inhibited_by.empty() || !inhibited_by_alert.empty();
  }
  // What silences match and receivers group by: alertname, alert (the id),
  // kind, severity, slo or probe (the subject), owner (when set).
  std::map<std::string, std::string> labels() const;
};

// Why a muted alert sends nothing, for people: "silenced by api-1f…",
// "inhibited: upstream raw_orders failing", "inhibited: slo:orders:page is
// firing"; "" when it is not muted. The one wording of logs, timelines and the
// status page.
std::string muteReason(const Alert& a);

// The alert as stored and served (status API): id, kind, subject, severity,
// status, started_at, resolved_at, summary, owner, notify, and its mute state
// (silenced_by, inhibited_by, inhibited_by_alert).
nlohmann::json toJson(const Alert& a);
// nullopt when `j` is not an alert written by toJson.
std::optional<Alert> alertFromJson(const nlohmann::json& j);

struct AlertChange {
  Alert alert;  // its state after the change
  bool fired;   // true: it started firing; false: it resolved
};

// A notification to queue: one alert, one notifier.
struct Outgoing {
  Alert alert;  // as of now
  std::string notifier;
  bool firing = true;   // false: the resolve
  bool repeat = false;  // a repeat of a firing notification
  TimePoint at{};       // when it was decided
  // Not "" : the alert's mute state changed ("silenced by api-1f…", "no longer
  // muted"). Only for receivers that thread an alert's changes (Slack's Web
  // API): others hear nothing while an alert is muted.
  std::string change;
};

// How often a firing alert is re-sent to the notifier: its repeat_interval,
// at most 1m for Alertmanager (which forgets alerts not re-sent).
Duration repeatInterval(const config::NotifierConfig& n);

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
  // A probe run: kept (lastRun) and counted in its probe's streak; it fires or
  // resolves only a probe with an `alert:` block. The run is kept by pointer:
  // the agent's hot path shares it, the reference overload copies it once.
  std::vector<AlertChange> observeProbe(std::shared_ptr<const ProbeResult> run);
  std::vector<AlertChange> observeProbe(const ProbeResult& run) {
    return observeProbe(std::make_shared<const ProbeResult>(run));
  }

  // The notifications due at `now`, given the changes just returned by the
  // observe/configure calls (their resolves) and the silences. Updates every
  // firing alert's mute state and notification times, so persist after it.
  std::vector<Outgoing> plan(const std::vector<AlertChange>& changes, const SilenceSet& silences,
                             TimePoint now);

  // The latest run of every probe seen (for notification details), or null.
  const ProbeResult* lastRun(const std::string& probe) const;

  // The firing alert with this id, or null.
  const Alert* find(const std::string& id) const;
  // Every firing alert, by id.
  std::vector<Alert> firing() const;
  // Takes back the firing alerts of a previous run (from the state store), so a
  // restart neither re-fires nor forgets them. Call after configure(). Alerts
  // whose definition left the config while the agent was down resolve at `now`
  // and are returned, exactly as configure() does on a reload.
  std::vector<AlertChange> restore(const std::vector<Alert>& firing, TimePoint now);
  // Forgets that the notifiers for which `gone` is true heard anything.
  void forgetNotifiers(const std::function<bool(const std::string&)>& gone);

 private:
  std::vector<AlertChange> resolveUnconfigured(TimePoint now);
  // The one way an alert resolves (remembers when, for the next started_at).
  AlertChange resolve(std::map<std::string, Alert>::iterator it, TimePoint now,
                      std::string summary);
  std::optional<AlertChange> set(Alert candidate, bool on, TimePoint now);
  bool configured(const Alert& a) const;  // its SLO or probe alert is in cfg_

  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, Alert> alerts_;  // by id; firing ones (resolved are dropped)
  // Failing upstream probes of the alert's probes, when every probe of it that
  // is failing has one; else empty.
  std::vector<std::string> inhibitors(const Alert& a) const;
  bool failing(const std::string& probe) const;
  // The id of the firing page alert of a ticket alert's SLO, when that SLO
  // inhibits lower severities, the page is not silenced and the ticket was
  // never sent; else "".
  std::string higherSeverityFiring(const Alert& a) const;
  // Queues `change` of `a` to the notifiers that heard it fire and thread an
  // alert's changes (Slack's Web API).
  void threadChange(const Alert& a, const std::string& change, TimePoint now,
                    std::vector<Outgoing>& out) const;

  // Per probe, in one hashed map: observeProbe runs once per probe run and
  // looks the probe up once (issue 19: three maps were three lookups, ~3 us a
  // run at 1,000 probes). configure() drops the probes *cfg_ does not name; a
  // run of one (an old Runtime's, finishing after a reload) is kept with a
  // null cfg until the next configure().
  struct ProbeState {
    const config::ProbeConfig* cfg = nullptr;     // into *cfg_; null: not configured
    int fail_streak = 0;                          // consecutive runs not passing
    std::shared_ptr<const ProbeResult> last_run;  // null until its first run
  };
  std::unordered_map<std::string, ProbeState> probes_;
  std::map<std::string, TimePoint> last_resolved_;  // per alert id: when it last resolved
};

}  // namespace datawatch
