#pragma once
// The agent's Prometheus metrics (SPEC §3). Every configured probe's series
// exist (at 0) from the moment it is configured, and disappear when a reload
// removes the probe; likewise SLOs, alerts and notifiers.
//
// Kept as rows, not as a registry of series: a probe's eleven or so series
// share one label text (built when it is configured) and their values sit in
// one row; an SLO's in one row with one label text per window. render() writes
// the exposition from the rows (agent/metrics_text.hpp). A prometheus-cpp
// registry kept every series' labels as a map of strings (about 0.6 KB a
// series) and a full Collect after every reload: peak RSS at 1,000 probes and
// 1,000 SLOs went 61 -> 43 MB without it (scheduler_bench, issue 19).
//
// Thread-safe: every member is guarded by mu_, a leaf lock (nothing is called
// while it is held). render() holds it while it writes the text (0.7-7.5 ms at
// 1,000 probes and 1,000 SLOs), so a run's observe() may wait that long.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alerting/alerts.hpp"
#include "config/types.hpp"
#include "core/mutex.hpp"
#include "probes/result.hpp"
#include "slo/slo_engine.hpp"

namespace datawatch {

class Metrics {
 public:
  explicit Metrics(const std::string& version);

  // Makes the series of exactly these probes exist: new ones at 0, removed ones dropped.
  void setProbes(const std::vector<config::ProbeConfig>& probes);
  // Records one finished run. Unknown probes are ignored. `ran_here` false: a
  // run another HA replica did (from the run feed): the last-result gauges
  // follow it, the run counters (this replica's work) do not.
  void observe(const ProbeResult& r, bool ran_here = true);
  // Makes the series of exactly these SLOs exist, one error ratio and burn rate per
  // window (its alert windows in force, short ones widened, and the SLO window).
  void setSlos(const config::Config& cfg);
  // Publishes one evaluation. The event counters advance by the engine's live totals.
  void observeSlo(const SloStatus& st);
  // Makes datawatch_alert_firing exist (at 0) for every alert `cfg` can raise,
  // labelled alert (the id, "probe:orders_fresh:critical"), kind, severity and
  // slo or probe (the subject) — the labels the alert carries to Alertmanager.
  void setAlerts(const config::Config& cfg);
  void setAlertFiring(const Alert& alert);  // 1 while firing, 0 once resolved
  // Makes the notification counters exist (at 0) for exactly these notifiers.
  void setNotifiers(const std::vector<config::NotifierConfig>& notifiers);
  void notificationsAttempted(const std::string& notifier, size_t n);
  void notificationsFailed(const std::string& notifier, size_t n);
  void notificationsDropped(const std::string& notifier, size_t n);
  void setNotificationQueue(int64_t undelivered);
  void addMissedRuns(const std::string& probe, uint64_t n);
  void stateStoreError();
  // OpenLineage (POST /api/v1/lineage): an event stored (by its eventType:
  // START, RUNNING, COMPLETE, ABORT, FAIL, OTHER; duplicates are not counted),
  // and `n` events refused (a refused batch counts each of its events; an
  // unreadable, unauthorised or oversized body counts one).
  void lineageEventStored(const std::string& event_type);
  void lineageEventsRejected(size_t n);
  void setReload(bool success, TimePoint when);
  // HA fleet (agent.state on PostgreSQL); the series exist from the first call.
  void setHa(bool leader, int live_replicas, int64_t epoch, bool config_mismatch);
  void probeClaims(size_t n);
  void setHaLeader(bool leader);

  // Prometheus text exposition format 0.0.4: families in SPEC §3's order, a
  // family's series in configuration order (alerts, notifiers: by name).
  std::string render() const;

 private:
  // A probe's per-run values, in the order of kProbeFamilies (metrics.cpp).
  enum ProbeField { kSuccess, kError, kRuns, kFailures, kErrors, kMissed, kDuration, kLastRun };
  static constexpr size_t kProbeFields = 8;
  static constexpr size_t kBounds = 4;  // min, max, expected_lower, expected_upper
  struct ProbeRow {
    std::string name;
    config::ProbeType type;
    std::string labels;        // labelText(): owner, probe, probe_type, source, target
    std::string value_labels;  // the value gauge's, when not `labels` (drift adds method)
    std::array<double, kProbeFields> v{};
    double value = 0;   // the type's main gauge
    double value2 = 0;  // freshness newest timestamp, consumer lag seconds
    // datawatch_probe_threshold by bound, from the first result carrying it.
    std::array<double, kBounds> threshold{};
    std::array<bool, kBounds> has_threshold{};
  };
  struct SloWindow {
    Duration window;
    std::string labels;  // slo, window
    double ratio = 0, burn = 0;
  };
  struct SloRow {
    std::string name;
    std::string labels;  // slo
    std::vector<SloWindow> windows;
    double objective = 0, events = 0, bad_events = 0, budget_remaining = 1;
    uint64_t seen_events = 0;  // the engine totals already added to the counters
    uint64_t seen_bad = 0;
  };
  struct AlertRow {
    std::string labels;  // alert, kind, severity, slo or probe
    double firing = 0;
  };
  struct NotifierRow {
    std::string labels;  // notifier
    double attempts = 0, failures = 0, dropped = 0;
  };
  struct HaRow {
    double leader = 0, replicas = 0, epoch = 0, mismatch = 0, claims = 0;
  };
  ProbeRow* probe(const std::string& name) REQUIRES(mu_);
  HaRow& ha() REQUIRES(mu_);  // the HA series exist from the first call
  void renderProbes(std::string& out) const REQUIRES(mu_);
  void renderSlos(std::string& out) const REQUIRES(mu_);
  void renderRest(std::string& out) const REQUIRES(mu_);
  size_t sizeBound() const REQUIRES(mu_);  // of the next render

  mutable Mutex mu_;
  std::vector<ProbeRow> probes_ GUARDED_BY(mu_);  // in configuration order
  // probes_'s index by name: observe() looks one up per run (a std::map's string
  // compares were 2-4% of the agent's CPU at 1,000 probes).
  std::unordered_map<std::string, size_t> probe_index_ GUARDED_BY(mu_);
  std::vector<SloRow> slos_ GUARDED_BY(mu_);                           // in configuration order
  std::unordered_map<std::string, size_t> slo_index_ GUARDED_BY(mu_);  // slos_'s, by name
  std::map<std::string, AlertRow> alerts_ GUARDED_BY(mu_);             // by alert id
  std::map<std::string, NotifierRow> notifiers_ GUARDED_BY(mu_);
  double reload_success_ GUARDED_BY(mu_) = 0;
  double reload_timestamp_ GUARDED_BY(mu_) = 0;
  double notification_queue_ GUARDED_BY(mu_) = 0;
  double store_errors_ GUARDED_BY(mu_) = 0;
  double lineage_rejected_ GUARDED_BY(mu_) = 0;
  std::array<double, 6> lineage_events_
      GUARDED_BY(mu_){};                          // START, RUNNING, COMPLETE, ABORT, FAIL, OTHER
  std::optional<HaRow> ha_ GUARDED_BY(mu_);       // from the first HA call
  const std::string build_labels_;                // version
  mutable size_t last_size_ GUARDED_BY(mu_) = 0;  // of the last render
};

}  // namespace datawatch
