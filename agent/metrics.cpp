#include "agent/metrics.hpp"

#include <cmath>
#include <set>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      success_(BuildGauge()
                   .Name("datawatch_probe_success")
                   .Help("1 if the probe's last run passed, 0 if it failed or errored")
                   .Register(*registry_)),
      error_(BuildGauge()
                 .Name("datawatch_probe_error")
                 .Help("1 if the probe's last run could not evaluate")
                 .Register(*registry_)),
      runs_(BuildCounter()
                .Name("datawatch_probe_runs_total")
                .Help("Probe runs")
                .Register(*registry_)),
      failures_(BuildCounter()
                    .Name("datawatch_probe_failures_total")
                    .Help("Probe runs that failed their check")
                    .Register(*registry_)),
      errors_(BuildCounter()
                  .Name("datawatch_probe_errors_total")
                  .Help("Probe runs that could not evaluate")
                  .Register(*registry_)),
      missed_(BuildCounter()
                  .Name("datawatch_probe_missed_runs_total")
                  .Help("Scheduled probe runs skipped because the probe was still running or no "
                        "worker was free")
                  .Register(*registry_)),
      duration_(BuildGauge()
                    .Name("datawatch_probe_duration_seconds")
                    .Help("Duration of the probe's last run")
                    .Register(*registry_)),
      last_run_(BuildGauge()
                    .Name("datawatch_probe_last_run_timestamp_seconds")
                    .Help("When the probe last ran (Unix seconds)")
                    .Register(*registry_)),
      freshness_age_(BuildGauge()
                         .Name("datawatch_freshness_age_seconds")
                         .Help("Age of the newest row or message")
                         .Register(*registry_)),
      freshness_newest_(BuildGauge()
                            .Name("datawatch_freshness_newest_timestamp_seconds")
                            .Help("Timestamp of the newest row or message (Unix seconds)")
                            .Register(*registry_)),
      volume_rows_(BuildGauge()
                       .Name("datawatch_volume_rows")
                       .Help("Rows (or messages) counted by a volume probe")
                       .Register(*registry_)),
      drift_score_(BuildGauge()
                       .Name("datawatch_drift_score")
                       .Help("Distribution drift score")
                       .Register(*registry_)),
      probe_threshold_(BuildGauge()
                           .Name("datawatch_probe_threshold")
                           .Help("The bound the last result was judged against, in the value's "
                                 "unit (bound: min, max, expected_lower, expected_upper)")
                           .Register(*registry_)),
      schema_changes_(BuildGauge()
                          .Name("datawatch_schema_changes")
                          .Help("Differences from the schema contract and the last snapshot")
                          .Register(*registry_)),
      values_violations_(BuildGauge()
                             .Name("datawatch_values_violations")
                             .Help("Rows violating a values probe")
                             .Register(*registry_)),
      sql_value_(BuildGauge()
                     .Name("datawatch_sql_value")
                     .Help("The number a sql probe's query returned")
                     .Register(*registry_)),
      lag_messages_(BuildGauge()
                        .Name("datawatch_consumer_lag_messages")
                        .Help("Messages behind the high watermark")
                        .Register(*registry_)),
      lag_seconds_(BuildGauge()
                       .Name("datawatch_consumer_lag_seconds")
                       .Help("Age of the oldest unconsumed message")
                       .Register(*registry_)),
      slo_objective_(BuildGauge()
                         .Name("datawatch_slo_objective_ratio")
                         .Help("The SLO's objective (0.995 for 99.5%)")
                         .Register(*registry_)),
      slo_events_(BuildCounter()
                      .Name("datawatch_slo_events_total")
                      .Help("SLO events: probe runs (occurrences) or minutes (timeslices)")
                      .Register(*registry_)),
      slo_bad_events_(BuildCounter()
                          .Name("datawatch_slo_bad_events_total")
                          .Help("SLO events that were bad")
                          .Register(*registry_)),
      slo_error_ratio_(BuildGauge()
                           .Name("datawatch_slo_error_ratio")
                           .Help("Bad events / events over the window")
                           .Register(*registry_)),
      slo_burn_rate_(BuildGauge()
                         .Name("datawatch_slo_burn_rate")
                         .Help("Error ratio over the window / (1 - objective)")
                         .Register(*registry_)),
      slo_budget_remaining_(BuildGauge()
                                .Name("datawatch_slo_error_budget_remaining_ratio")
                                .Help("Error budget left over the SLO window: 1 untouched, < 0 "
                                      "overspent")
                                .Register(*registry_)),
      alert_firing_(BuildGauge()
                        .Name("datawatch_alert_firing")
                        .Help("1 while the alert fires (kind slo or probe)")
                        .Register(*registry_)),
      reload_success_(BuildGauge()
                          .Name("datawatch_config_last_reload_success")
                          .Help("1 if the last configuration load succeeded")
                          .Register(*registry_)
                          .Add({})),
      reload_timestamp_(BuildGauge()
                            .Name("datawatch_config_last_reload_timestamp_seconds")
                            .Help("When the configuration was last loaded (Unix seconds)")
                            .Register(*registry_)
                            .Add({})),
      notifications_(BuildCounter()
                         .Name("datawatch_notifications_total")
                         .Help("Notification send attempts (a Slack message may carry several)")
                         .Register(*registry_)),
      notification_failures_(BuildCounter()
                                 .Name("datawatch_notification_failures_total")
                                 .Help("Notifications whose attempt failed (they will be retried)")
                                 .Register(*registry_)),
      notifications_dropped_(BuildCounter()
                                 .Name("datawatch_notifications_dropped_total")
                                 .Help("Notifications given up (24 h of failures, rejected, or "
                                       "their notifier removed)")
                                 .Register(*registry_)),
      notification_queue_(BuildGauge()
                              .Name("datawatch_notification_queue_size")
                              .Help("Notifications in the outbox, not yet delivered")
                              .Register(*registry_)
                              .Add({})),
      store_errors_(BuildCounter()
                        .Name("datawatch_state_store_errors_total")
                        .Help("State store operations that failed (results kept in memory only)")
                        .Register(*registry_)
                        .Add({})),
      lineage_rejected_(BuildCounter()
                            .Name("datawatch_lineage_events_rejected_total")
                            .Help("OpenLineage events refused (invalid, unauthorised, too large)")
                            .Register(*registry_)
                            .Add({})) {
  auto& lineage = BuildCounter()
                      .Name("datawatch_lineage_events_total")
                      .Help("OpenLineage run events stored, by eventType (duplicates not counted)")
                      .Register(*registry_);
  for (const char* t : {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"})
    lineage_events_[t] = &lineage.Add({{"event_type", t}});
  BuildGauge()
      .Name("datawatch_build_info")
      .Help("Build information")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
}

void Metrics::removeSeries(ProbeSeries& s) {
  success_.Remove(s.success);
  error_.Remove(s.error);
  runs_.Remove(s.runs);
  failures_.Remove(s.failures);
  errors_.Remove(s.errors);
  missed_.Remove(s.missed);
  duration_.Remove(s.duration);
  last_run_.Remove(s.last_run);
  if (s.value) s.value_family->Remove(s.value);
  if (s.value2) s.value2_family->Remove(s.value2);
  for (auto& [bound, g] : s.thresholds) probe_threshold_.Remove(g);
}

template <typename SeriesMap>
void Metrics::dropAllBut(SeriesMap& series, const std::set<std::string>& keep) {
  for (auto it = series.begin(); it != series.end();) {
    if (keep.count(it->first)) {
      ++it;
    } else {
      removeSeries(it->second);
      it = series.erase(it);
    }
  }
}

void Metrics::setProbes(const std::vector<config::ProbeConfig>& probes) {
  MutexLock lock(mu_);
  const auto refresh = exposition_.refreshAfter(*registry_);  // series added and removed
  std::set<std::string> keep;
  for (const auto& p : probes) {
    prometheus::Labels labels{{"probe", p.name},
                              {"probe_type", config::toString(p.type)},
                              {"source", p.source},
                              {"target", p.target()},
                              {"owner", p.owner}};
    keep.insert(p.name);
    auto it = probes_.find(p.name);
    if (it != probes_.end() && it->second.labels == labels) continue;  // unchanged: keep counters
    if (it != probes_.end()) {
      removeSeries(it->second);
      probes_.erase(it);
    }
    ProbeSeries s{labels,
                  &success_.Add(labels),
                  &error_.Add(labels),
                  &runs_.Add(labels),
                  &failures_.Add(labels),
                  &errors_.Add(labels),
                  &missed_.Add(labels),
                  &duration_.Add(labels),
                  &last_run_.Add(labels)};
    auto add = [&](prometheus::Family<prometheus::Gauge>& f, prometheus::Labels l,
                   bool second = false) {
      if (second) {
        s.value2_family = &f;
        s.value2 = &f.Add(l);
      } else {
        s.value_family = &f;
        s.value = &f.Add(l);
      }
    };
    switch (p.type) {
      case config::ProbeType::Freshness:
        add(freshness_age_, labels);
        add(freshness_newest_, labels, true);
        break;
      case config::ProbeType::Volume: add(volume_rows_, labels); break;
      case config::ProbeType::Drift: {
        auto l = labels;
        l["method"] = toString(std::get<config::DriftSpec>(p.spec).method);
        add(drift_score_, l);
        break;
      }
      case config::ProbeType::Schema: add(schema_changes_, labels); break;
      case config::ProbeType::Values: add(values_violations_, labels); break;
      case config::ProbeType::Sql: add(sql_value_, labels); break;
      case config::ProbeType::ConsumerLag:
        add(lag_messages_, labels);
        add(lag_seconds_, labels, true);
        break;
      case config::ProbeType::Job: break;  // the probe_* series say it all
    }
    probes_.emplace(p.name, s);
  }
  dropAllBut(probes_, keep);
}

void Metrics::observe(const ProbeResult& r, bool ran_here) {
  MutexLock lock(mu_);
  auto it = probes_.find(r.probe);
  if (it == probes_.end()) return;
  ProbeSeries& s = it->second;
  s.success->Set(r.status == ProbeStatus::Pass ? 1 : 0);
  s.error->Set(r.status == ProbeStatus::Error ? 1 : 0);
  if (ran_here) {
    s.runs->Increment();
    if (r.status == ProbeStatus::Fail) s.failures->Increment();
    if (r.status == ProbeStatus::Error) s.errors->Increment();
  }
  s.duration->Set(r.duration_seconds);
  s.last_run->Set(toUnixSeconds(r.observed_at));
  // An error measured nothing: the value gauges keep their last measurement.
  if (r.status != ProbeStatus::Error && r.value && std::isfinite(*r.value) && s.value)
    s.value->Set(*r.value);
  // Thresholds: dashboards draw them beside the value.
  if (r.status != ProbeStatus::Error && r.threshold.is_object()) {
    for (const char* bound : {"min", "max", "expected_lower", "expected_upper"}) {
      const auto t = r.threshold.find(bound);
      if (t == r.threshold.end() || !t->is_number()) continue;
      auto& g = s.thresholds[bound];
      if (!g) {
        auto l = s.labels;
        l["bound"] = bound;
        g = &probe_threshold_.Add(l);
        exposition_.added(probe_threshold_, l, *g);
      }
      g->Set(t->get<double>());
    }
  }
  if (s.value2 && r.status != ProbeStatus::Error) {
    if (r.type == "freshness" && r.details.contains("newest_timestamp_seconds")) {
      s.value2->Set(r.details["newest_timestamp_seconds"].get<double>());
    } else if (r.type == "consumer_lag" && r.details.contains("lag_seconds")) {
      s.value2->Set(r.details["lag_seconds"].get<double>());
    }
  }
}

void Metrics::removeSeries(SloSeries& s) {
  slo_objective_.Remove(s.objective);
  slo_events_.Remove(s.events);
  slo_bad_events_.Remove(s.bad_events);
  slo_budget_remaining_.Remove(s.budget_remaining);
  for (auto& [w, g] : s.per_window) {
    slo_error_ratio_.Remove(g.first);
    slo_burn_rate_.Remove(g.second);
  }
}

void Metrics::setSlos(const config::Config& config) {
  MutexLock lock(mu_);
  const auto refresh = exposition_.refreshAfter(*registry_);  // series added and removed
  std::set<std::string> keep;
  for (const auto& cfg : config.slos) {
    keep.insert(cfg.name);
    std::set<Duration> set{cfg.window};
    for (const auto& r : burnRows(config, cfg)) {
      set.insert(r.long_window);
      set.insert(r.short_window);
    }
    std::vector<Duration> windows(set.begin(), set.end());
    const double objective = cfg.objective / 100.0;
    auto it = slos_.find(cfg.name);
    if (it != slos_.end() && it->second.windows == windows) {
      it->second.objective->Set(objective);
      continue;  // same series: keep the counters
    }
    if (it != slos_.end()) {
      removeSeries(it->second);
      slos_.erase(it);
    }
    const prometheus::Labels labels{{"slo", cfg.name}};
    SloSeries s{windows,
                &slo_objective_.Add(labels),
                &slo_events_.Add(labels),
                &slo_bad_events_.Add(labels),
                &slo_budget_remaining_.Add(labels),
                {}};
    s.objective->Set(objective);
    s.budget_remaining->Set(1);
    for (Duration w : windows) {
      const prometheus::Labels wl{{"slo", cfg.name}, {"window", formatDuration(w)}};
      s.per_window[w] = {&slo_error_ratio_.Add(wl), &slo_burn_rate_.Add(wl)};
    }
    slos_.emplace(cfg.name, std::move(s));
  }
  dropAllBut(slos_, keep);
}

void Metrics::observeSlo(const SloStatus& st) {
  MutexLock lock(mu_);
  auto it = slos_.find(st.name);
  if (it == slos_.end()) return;
  SloSeries& s = it->second;
  // A rebuilt engine state starts its totals at 0 again: count from there.
  if (st.events_total < s.seen_events || st.bad_events_total < s.seen_bad)
    s.seen_events = s.seen_bad = 0;
  s.events->Increment(static_cast<double>(st.events_total - s.seen_events));
  s.bad_events->Increment(static_cast<double>(st.bad_events_total - s.seen_bad));
  s.seen_events = st.events_total;
  s.seen_bad = st.bad_events_total;
  s.budget_remaining->Set(st.error_budget_remaining);
  for (const auto& ws : st.windows) {
    auto w = s.per_window.find(ws.window);
    if (w == s.per_window.end()) continue;
    w->second.first->Set(ws.error_ratio);
    w->second.second->Set(ws.burn_rate);
  }
}

void Metrics::setAlerts(const config::Config& cfg) {
  std::vector<Alert> possible;
  auto add = [&](const char* kind, const std::string& subject, const std::string& severity) {
    Alert a;
    a.kind = kind;
    a.subject = subject;
    a.severity = severity;
    possible.push_back(a);
  };
  for (const auto& slo : cfg.slos) {
    std::set<std::string> severities;
    for (const auto& r : burnRows(slo)) severities.insert(r.severity);
    for (const auto& sev : severities) add("slo", slo.name, sev);
  }
  for (const auto& p : cfg.probes)
    if (p.alert) add("probe", p.name, p.alert->severity);
  MutexLock lock(mu_);
  const auto refresh = exposition_.refreshAfter(*registry_);  // series added and removed
  std::map<std::string, prometheus::Gauge*> next;
  for (const auto& a : possible) {
    auto it = alerts_.find(a.id());
    if (it != alerts_.end()) {
      next[a.id()] = it->second;
      alerts_.erase(it);
    } else {
      // `alert` is the id, as Alertmanager's label: PromQL joins the two on it.
      next[a.id()] = &alert_firing_.Add({{"alert", a.id()},
                                         {"kind", a.kind},
                                         {"severity", a.severity},
                                         {a.kind == "slo" ? "slo" : "probe", a.subject}});
    }
  }
  for (auto& [id, g] : alerts_) alert_firing_.Remove(g);
  alerts_ = std::move(next);
}

void Metrics::setAlertFiring(const Alert& alert) {
  MutexLock lock(mu_);
  if (auto it = alerts_.find(alert.id()); it != alerts_.end())
    it->second->Set(alert.firing ? 1 : 0);
}

void Metrics::addMissedRuns(const std::string& probe, uint64_t n) {
  MutexLock lock(mu_);
  if (auto it = probes_.find(probe); it != probes_.end())
    it->second.missed->Increment(static_cast<double>(n));
}

void Metrics::setNotifiers(const std::vector<config::NotifierConfig>& notifiers) {
  MutexLock lock(mu_);
  const auto refresh = exposition_.refreshAfter(*registry_);  // series added and removed
  std::map<std::string, NotifierSeries> next;
  for (const auto& n : notifiers) {
    if (auto it = notifiers_.find(n.name); it != notifiers_.end()) {
      next.emplace(n.name, it->second);
      notifiers_.erase(it);
      continue;
    }
    const prometheus::Labels l{{"notifier", n.name}};
    next.emplace(n.name, NotifierSeries{&notifications_.Add(l), &notification_failures_.Add(l),
                                        &notifications_dropped_.Add(l)});
  }
  for (auto& [name, s] : notifiers_) {
    notifications_.Remove(s.attempts);
    notification_failures_.Remove(s.failures);
    notifications_dropped_.Remove(s.dropped);
  }
  notifiers_ = std::move(next);
}

void Metrics::notificationsAttempted(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.attempts->Increment(static_cast<double>(n));
}

void Metrics::notificationsFailed(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.failures->Increment(static_cast<double>(n));
}

void Metrics::notificationsDropped(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.dropped->Increment(static_cast<double>(n));
}

void Metrics::setNotificationQueue(int64_t undelivered) {
  notification_queue_.Set(static_cast<double>(undelivered));
}

void Metrics::stateStoreError() {
  store_errors_.Increment();
}

void Metrics::lineageEventStored(const std::string& event_type) {
  // The map is filled in the constructor and never changes: no lock needed.
  if (auto it = lineage_events_.find(event_type); it != lineage_events_.end())
    it->second->Increment();
}

void Metrics::lineageEventsRejected(size_t n) {
  lineage_rejected_.Increment(static_cast<double>(n));
}

void Metrics::setReload(bool success, TimePoint when) {
  reload_success_.Set(success ? 1 : 0);
  if (success) reload_timestamp_.Set(toUnixSeconds(when));  // the last successful load
}

Metrics::HaSeries& Metrics::ha() {
  if (!ha_) {
    auto gauge = [&](const char* name, const char* help) {
      return &BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
    };
    ha_ = HaSeries{
        gauge("datawatch_ha_leader", "1 on the replica that leads the fleet (alerts, incidents)"),
        gauge("datawatch_ha_replicas", "Live replicas of the fleet, as this replica sees them"),
        gauge("datawatch_ha_epoch", "The fleet's leader epoch (fencing token)"),
        gauge("datawatch_ha_config_mismatch",
              "1 when this replica's config differs from the leader's"),
        &BuildCounter()
             .Name("datawatch_probe_claims_total")
             .Help("Probe runs this replica claimed from the fleet's shared schedule")
             .Register(*registry_)
             .Add({})};
    exposition_.invalidate();  // new families
  }
  return *ha_;
}

void Metrics::setHa(bool leader, int live_replicas, int64_t epoch, bool config_mismatch) {
  MutexLock lock(mu_);
  auto& h = ha();
  h.leader->Set(leader ? 1 : 0);
  h.replicas->Set(live_replicas);
  h.epoch->Set(static_cast<double>(epoch));
  h.mismatch->Set(config_mismatch ? 1 : 0);
}

void Metrics::setHaLeader(bool leader) {
  MutexLock lock(mu_);
  ha().leader->Set(leader ? 1 : 0);
}

void Metrics::probeClaims(size_t n) {
  MutexLock lock(mu_);
  ha().claims->Increment(static_cast<double>(n));
}

std::string Metrics::render() const {
  MutexLock lock(mu_);  // no Add/Remove while the cache's metric pointers are read
  std::string out;
  out.reserve(exposition_.sizeHint());  // one allocation, no copy of a growing text
  exposition_.append(*registry_, out);
  return out;
}

}  // namespace datawatch
