#pragma once
// Incidents (SPEC §6): data issues treated as outages. An incident opens when
// an alert fires and no open incident covers it; later alerts of the same
// subject join it — so do alerts of the probes of an open SLO incident, and
// alerts inhibited by a failing upstream probe of an open incident. It
// resolves when every alert that joined has resolved.
//
// Its timeline records, with UTC times: the first failing run of each probe
// involved (the start of its streak), alerts fired and resolved (with their
// mute state), notifications sent or failed, the burn-rate peak, the first
// passing run of each probe, and the resolution.
//
// IncidentTracker is fed by the agent (or the demo) with the same events the
// alerting layer sees. Not thread-safe. Ids come from a caller-supplied
// counter (the state store), so they are unique across restarts.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/alerts.hpp"
#include "alerting/lifecycle.hpp"
#include "config/types.hpp"
#include "probes/result.hpp"
#include "slo/slo_engine.hpp"

namespace datawatch {

struct TimelineEvent {
  TimelineEvent() = default;
  TimelineEvent(TimePoint when, std::string what, std::string line)
      : at(when), kind(std::move(what)), text(std::move(line)) {}

  TimePoint at{};
  // opened, probe_failing, alert_fired, alert_resolved, notification_sent,
  // notification_failed, burn_rate_peak, probe_recovered, resolved
  std::string kind;
  std::string text;  // one plain-language line
  // alert_fired / alert_resolved: the alert's id. Delivery events: what makes
  // two of them the same (alert, notifier, outcome, status or error), joined
  // by \x1f; repeats of a delivery event fold into one event: `count` of them
  // from `at` to `until` ("notified am ×58, 13:35–14:34"), so an alert
  // re-sent every minute adds one line, not 1,440 a day.
  std::string key;
  int count = 1;
  std::optional<TimePoint> until;
};

struct Incident {
  std::string id;        // INC-YYYYMMDD-N
  std::string subject;   // the SLO or probe its first alert is about
  std::string kind;      // of its first alert: slo | probe
  std::string severity;  // the most severe of its alerts
  bool open = true;
  TimePoint opened_at{};
  std::optional<TimePoint> resolved_at;
  std::vector<std::string> alerts;         // ids that joined, in order
  std::set<std::string> firing;            // of them, still firing
  std::vector<std::string> probes;         // involved, in order of appearance
  std::optional<TimePoint> first_bad_run;  // earliest failing run of the involved probes
  // SLO subjects: error budget left when it opened and now (or at resolution),
  // and the highest burn rate per window with when it was seen.
  std::optional<double> budget_at_open;
  std::optional<double> budget_now;
  std::map<std::string, std::pair<double, TimePoint>> peak_burn;  // window -> (rate, at)
  // The highest burn rate of the alert windows, one sample a minute (chart).
  std::vector<std::pair<TimePoint, double>> burn_series;
  std::string postmortem;  // path of the last draft written, or ""
  std::vector<TimelineEvent> timeline;

  Duration duration(TimePoint now) const {
    return std::chrono::duration_cast<Duration>(resolved_at.value_or(now) - opened_at);
  }
};

// SPEC §1 incident object: id, status, subject, kind, severity, opened_at,
// resolved_at, alerts, probes, postmortem, first_bad_run, budget and peaks;
// with_timeline adds "timeline" (and the burn series, for redrafting).
nlohmann::json toJson(const Incident& inc, bool with_timeline);
std::optional<Incident> incidentFromJson(const nlohmann::json& j);

// Inserts `e` in time order (a failing run before what it caused at the same
// instant).
void addTimelineEvent(Incident& inc, TimelineEvent e);

// "INC-20261124-3".
std::string incidentId(TimePoint opened_at, int seq);

// The timeline event of a delivery outcome.
TimelineEvent deliveryEvent(const std::string& alert_id, const std::string& notifier, bool ok,
                            const std::string& detail, TimePoint at);
// Adds a delivery event (deliveryEvent), folded into the latest delivery event
// of the same alert and notifier when it says the same thing.
void addDeliveryEvent(Incident& inc, TimelineEvent e);

// Implements the lifecycle's IncidentSink: called with the lifecycle's mutex
// held, so it needs no lock of its own.
class IncidentTracker final : public IncidentSink {
 public:
  // seq(day) returns the next number for incidents opened that UTC day
  // ("20261124" -> 1, 2, ...).
  using SeqFn = std::function<int(const std::string& day)>;
  explicit IncidentTracker(SeqFn seq) : seq_(std::move(seq)) {}

  void configure(std::shared_ptr<const config::Config> cfg) override { cfg_ = std::move(cfg); }
  // Takes back the open incidents of a previous run.
  void restore(std::vector<Incident> open);

  // Every probe run: failing streaks and recoveries.
  void observeProbe(const ProbeResult& run) override;
  // Alert changes, after AlertTracker::plan (so mute state is known): opens,
  // joins, resolves. `tracker` gives the alerts' current state.
  void observeAlerts(const std::vector<AlertChange>& changes, const AlertTracker& tracker,
                     TimePoint now) override;
  // After each AlertTracker::plan: records silences and inhibitions that start
  // or end on the alerts of open incidents.
  void observeMutes(const AlertTracker& tracker, TimePoint now) override;
  // Each SLO evaluation: burn-rate peaks, the burn series and the budget of
  // open incidents about that SLO.
  // An open incident is saved on change only: a new peak, or its budget and
  // burn series every kSloSaveEvery (the series is kept each minute in memory).
  void observeSlo(const SloStatus& st, TimePoint now) override;
  // A notification about `alert_id` was delivered (ok) or failed. False when
  // no open incident holds the alert (it resolved already: the caller adds
  // the event to the stored incident, see deliveryEvent()).
  bool observeDelivery(const std::string& alert_id, const std::string& notifier, bool ok,
                       const std::string& detail, TimePoint at) override;
  // The open incident holding the alert, or one resolved since takeChanged.
  std::string incidentOf(const std::string& alert_id) const override;
  // takeChanged() as documents; a resolved one names its draft, which the
  // caller writes: postmortems.dir/ID.md.
  std::vector<nlohmann::json> takeChangedDocs(std::vector<std::string>& resolved) override;

  // Incidents changed since the last call (to persist), then forgotten if resolved.
  std::vector<Incident> takeChanged();
  std::vector<Incident> open() const;

 private:
  Incident* openFor(const Alert& a);
  void involve(Incident& inc, const std::string& probe);
  std::vector<std::string> probesOf(const Alert& a) const;
  void event(Incident& inc, TimePoint at, std::string kind, std::string text, std::string key = "");

  SeqFn seq_;
  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, Incident> open_;  // by id
  std::set<std::string> changed_;         // ids
  std::vector<Incident> resolved_;        // resolved since takeChanged
  // probe -> first failing run of its streak (looked up on every run: hashed)
  std::unordered_map<std::string, ProbeResult> streak_start_;
  std::map<std::string, int> last_seq_;         // day -> last number given
  std::map<std::string, std::string> mute_;     // alert id -> its mute as last recorded
  std::map<std::string, TimePoint> slo_saved_;  // incident id -> last SLO-data save
};

}  // namespace datawatch
