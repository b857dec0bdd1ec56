#pragma once
// The agent's Prometheus metrics (SPEC §3), in one prometheus-cpp registry.
// Every configured probe's series exist (at 0) from the moment it is configured,
// and disappear when a reload removes the probe.
//
// Thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "agent/metrics_text.hpp"
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

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct ProbeSeries {
    prometheus::Labels labels;
    prometheus::Gauge* success;
    prometheus::Gauge* error;
    prometheus::Counter* runs;
    prometheus::Counter* failures;
    prometheus::Counter* errors;
    prometheus::Counter* missed;
    prometheus::Gauge* duration;
    prometheus::Gauge* last_run;
    prometheus::Gauge* value = nullptr;   // the type's main gauge
    prometheus::Gauge* value2 = nullptr;  // freshness newest timestamp, lag seconds
    prometheus::Family<prometheus::Gauge>* value_family = nullptr;
    prometheus::Family<prometheus::Gauge>* value2_family = nullptr;
    // datawatch_probe_threshold by bound (min, max, expected_lower, expected_upper),
    // added when a result first carries that bound.
    std::map<std::string, prometheus::Gauge*> thresholds{};
  };
  void removeSeries(ProbeSeries& s) REQUIRES(mu_);
  struct SloSeries {
    std::vector<Duration> windows;
    prometheus::Gauge* objective;
    prometheus::Counter* events;
    prometheus::Counter* bad_events;
    prometheus::Gauge* budget_remaining;
    std::map<Duration, std::pair<prometheus::Gauge*, prometheus::Gauge*>>
        per_window;            // ratio, burn
    uint64_t seen_events = 0;  // the engine totals already added to the counters
    uint64_t seen_bad = 0;
  };
  void removeSeries(SloSeries& s) REQUIRES(mu_);
  // Removes every entry (and its series) whose name is not in `keep`.
  template <typename SeriesMap>
  void dropAllBut(SeriesMap& series, const std::set<std::string>& keep) REQUIRES(mu_);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& error_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Counter>& missed_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Gauge>& freshness_age_;
  prometheus::Family<prometheus::Gauge>& freshness_newest_;
  prometheus::Family<prometheus::Gauge>& volume_rows_;
  prometheus::Family<prometheus::Gauge>& drift_score_;
  prometheus::Family<prometheus::Gauge>& probe_threshold_;
  prometheus::Family<prometheus::Gauge>& schema_changes_;
  prometheus::Family<prometheus::Gauge>& values_violations_;
  prometheus::Family<prometheus::Gauge>& sql_value_;
  prometheus::Family<prometheus::Gauge>& lag_messages_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& slo_objective_;
  prometheus::Family<prometheus::Counter>& slo_events_;
  prometheus::Family<prometheus::Counter>& slo_bad_events_;
  prometheus::Family<prometheus::Gauge>& slo_error_ratio_;
  prometheus::Family<prometheus::Gauge>& slo_burn_rate_;
  prometheus::Family<prometheus::Gauge>& slo_budget_remaining_;
  prometheus::Family<prometheus::Gauge>& alert_firing_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Family<prometheus::Counter>& notification_failures_;
  prometheus::Family<prometheus::Counter>& notifications_dropped_;
  prometheus::Gauge& notification_queue_;
  prometheus::Counter& store_errors_;
  std::map<std::string, prometheus::Counter*> lineage_events_;  // by event type; fixed at start
  prometheus::Counter& lineage_rejected_;

  struct HaSeries {
    prometheus::Gauge* leader;
    prometheus::Gauge* replicas;
    prometheus::Gauge* epoch;
    prometheus::Gauge* mismatch;
    prometheus::Counter* claims;
  };
  HaSeries& ha() REQUIRES(mu_);

  mutable Mutex mu_;
  // /metrics text. Every Family Add/Remove is covered (metrics_text.hpp): set*()
  // hold a Refresh, observe()'s threshold Add calls added(), ha() invalidate().
  mutable SeriesTextCache exposition_ GUARDED_BY(mu_);
  std::optional<HaSeries> ha_ GUARDED_BY(mu_);
  // By probe name; hashed: observe() looks one up per run (a std::map's string
  // compares were 2-4% of the agent's CPU at 1,000 probes, issue 19).
  std::unordered_map<std::string, ProbeSeries> probes_ GUARDED_BY(mu_);
  std::map<std::string, SloSeries> slos_ GUARDED_BY(mu_);
  std::map<std::string, prometheus::Gauge*> alerts_ GUARDED_BY(mu_);  // by alert id
  struct NotifierSeries {
    prometheus::Counter* attempts;
    prometheus::Counter* failures;
    prometheus::Counter* dropped;
  };
  std::map<std::string, NotifierSeries> notifiers_ GUARDED_BY(mu_);
};

}  // namespace datawatch
