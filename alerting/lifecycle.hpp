#pragma once
// AlertLifecycle: the one owner of "fire, then notify, then resolve — exactly
// once per receiver, in order, across restarts and reloads" (SPEC §5).
//
// It takes probe runs and SLO evaluations, decides the alert changes
// (AlertTracker), the notifications due (fires, repeats, resolves, mutes:
// AlertTracker::plan + SilenceSet), lets the incidents listen (IncidentSink),
// and commits the firing alerts, the new outbox items and the changed incident
// documents in ONE state-store transaction. The outbox dispatcher sends only
// what was committed.
//
// Invariants (checked after every step by tests/model/lifecycle_model_test.cpp):
// I1 Atomic step. The firing set, the notifications a step decided and the
//    incidents it changed are stored together or not at all. A refused commit
//    keeps them in memory and retries them, first, with the next step: nothing
//    is lost and nothing is reordered.
// I2 Order. Per (alert, notifier) the outbox delivers in queue order: a later
//    notification waits behind an earlier one that is retrying
//    (StateStore::dueNotifications). So a resolve never overtakes its firing.
// I3 Resolve goes where the firing went. A resolve is queued for exactly the
//    notifiers a firing was queued for (Alert::notified), muted or not; a
//    notifier that never heard the firing never hears the resolve.
// I4 One outage, one firing. A continuous breach keeps its alert firing: SLO
//    windows without events hold their row (SloState), a restart restores the
//    firing set before any probe runs, a reload keeps unchanged alerts.
// I5 Definitions that go away resolve. An alert whose SLO, probe alert or
//    severity row left the config — at a reload or while the agent was down —
//    resolves, notifies and closes its incident exactly like a reload.
// I6 Stable ids. A notification's delivery_id depends only on (alert,
//    started_at, event, event time, notifier), so a re-planned step never
//    queues a duplicate and receivers can drop re-sends.
//
// Thread-safety: every public method takes mu_; the IncidentSink is called
// with mu_ held and must not call back. Commits happen under mu_, so snapshots
// reach the store in the order they were taken.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/alerts.hpp"
#include "alerting/silences.hpp"
#include "core/mutex.hpp"
#include "core/result.hpp"
#include "store/state_store.hpp"

namespace datawatch {

// The incidents' view of the lifecycle (implemented by IncidentTracker). Every
// call comes with the lifecycle's mutex held.
class IncidentSink {
 public:
  virtual ~IncidentSink() = default;
  virtual void configure(std::shared_ptr<const config::Config> cfg) = 0;
  virtual void observeProbe(const ProbeResult& run) = 0;
  virtual void observeSlo(const SloStatus& st, TimePoint now) = 0;
  // After planning, so the alerts' mute state is known.
  virtual void observeAlerts(const std::vector<AlertChange>& changes, const AlertTracker& tracker,
                             TimePoint now) = 0;
  virtual void observeMutes(const AlertTracker& tracker, TimePoint now) = 0;
  // False when no incident in memory holds the alert any more.
  virtual bool observeDelivery(const std::string& alert_id, const std::string& notifier, bool ok,
                               const std::string& detail, TimePoint at) = 0;
  // The incident holding the alert (open, or resolved by this step), or "".
  virtual std::string incidentOf(const std::string& alert_id) const = 0;
  // The documents of the incidents changed since the last call; the ids of
  // those that resolved are appended to `resolved`.
  virtual std::vector<nlohmann::json> takeChangedDocs(std::vector<std::string>& resolved) = 0;
};

// What one step did, for the caller's logs, metrics and post-mortems.
struct LifecycleStep {
  std::vector<AlertChange> changes;             // each alert as of after planning (mute state)
  size_t queued = 0;                            // notifications committed to the outbox
  Status committed = Status::Ok();              // the store's answer (nothing lost when it failed)
  std::vector<std::string> resolved_incidents;  // committed; their drafts are due
  size_t restored = 0;  // firing alerts taken back from the store (first configure)
  bool empty() const { return changes.empty() && queued == 0 && resolved_incidents.empty(); }
};

class AlertLifecycle {
 public:
  // `store` may be null (nothing is committed; commits fail and are retried).
  AlertLifecycle(StateStore* store, IncidentSink* incidents);

  // Takes a (re)loaded configuration. On the first call, restores the firing
  // alerts and API silences of the previous run from the store first; either
  // way, alerts whose definition is gone resolve now (I5).
  LifecycleStep configure(std::shared_ptr<const config::Config> cfg, TimePoint now) EXCLUDES(mu_);
  // A probe run: probe alerts (streaks), incidents' failing/recovered runs.
  LifecycleStep observeProbe(std::shared_ptr<const ProbeResult> run) EXCLUDES(mu_);
  LifecycleStep observeProbe(const ProbeResult& run) EXCLUDES(mu_) {
    return observeProbe(std::make_shared<const ProbeResult>(run));
  }
  // Every SLO's evaluation: page/ticket alerts, burn peaks, then repeats and
  // mute changes due at `now`.
  LifecycleStep observeSlos(const std::vector<SloStatus>& statuses, TimePoint now) EXCLUDES(mu_);
  // Repeats and mute changes only (after a silence changed).
  LifecycleStep tick(TimePoint now) EXCLUDES(mu_);

  // A delivery outcome; returns the items no incident in memory holds (the
  // caller appends them to the stored incident).
  std::vector<OutboxItem> observeDelivery(const std::string& notifier,
                                          const std::vector<OutboxItem>& batch, bool ok,
                                          const std::string& detail, TimePoint at) EXCLUDES(mu_);
  // Incident documents changed outside a step (deliveries, burn peaks): saved
  // on change only, in one transaction with anything a refused step left.
  LifecycleStep saveChangedIncidents() EXCLUDES(mu_);

  // Silences: config ones come with configure(); API ones are kept in the store.
  Silence addSilence(const Silence& s) EXCLUDES(mu_);
  bool removeSilence(const std::string& id) EXCLUDES(mu_);
  std::vector<Silence> silences(TimePoint now) EXCLUDES(mu_);

  std::vector<Alert> firing() const EXCLUDES(mu_);
  // The firing alerts as the last commit stored them (what an HA follower,
  // which has no lifecycle, shows); empty when the store cannot tell.
  static std::vector<Alert> storedFiring(StateStore& store);
  // Ok when everything a new lifecycle restores (firing alerts, API silences)
  // can be read now: an HA replica leads only then, since a lifecycle that
  // restored nothing would overwrite the fleet's alert state with its own.
  static Status canRestore(StateStore& store);
  bool isFiring(const std::string& alert_id) const EXCLUDES(mu_);
  // Warnings met while restoring (unreadable snapshots), for the caller's log.
  std::vector<std::string> takeWarnings() EXCLUDES(mu_);

 private:
  LifecycleStep step(std::vector<AlertChange> changes, TimePoint now) REQUIRES(mu_);
  size_t restore(TimePoint now, std::vector<AlertChange>& changes) REQUIRES(mu_);
  void keepSloStatus(const SloStatus& st) REQUIRES(mu_);
  // Commits the snapshot, unqueued_ and uncommitted_incidents_ together when
  // anything is pending (I1); on failure all of it stays pending.
  void commitPending(LifecycleStep& out) REQUIRES(mu_);
  void forgetGoneNotifiers(const config::Config& cfg) REQUIRES(mu_);
  void persistSilences() REQUIRES(mu_);

  StateStore* const store_;
  IncidentSink* const incidents_;
  mutable Mutex mu_;
  std::shared_ptr<const config::Config> cfg_ GUARDED_BY(mu_);
  AlertTracker alerts_ GUARDED_BY(mu_);
  SilenceSet silences_ GUARDED_BY(mu_);
  bool restored_ GUARDED_BY(mu_) = false;
  // What SLO notifications say: the latest evaluation of SLOs that breach or alert.
  std::map<std::string, SloStatus> slo_now_ GUARDED_BY(mu_);
  // Decided but not yet committed (the store refused): committed first next time.
  std::vector<OutboxItem> unqueued_ GUARDED_BY(mu_);
  std::vector<nlohmann::json> uncommitted_incidents_ GUARDED_BY(mu_);
  std::vector<std::string> unreported_resolved_ GUARDED_BY(mu_);
  std::vector<std::string> warnings_ GUARDED_BY(mu_);
  bool snapshot_dirty_ GUARDED_BY(mu_) = false;  // alerts changed since the last commit
};

}  // namespace datawatch
