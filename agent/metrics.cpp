#include "agent/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <string_view>
#include <tuple>

#include "agent/metrics_text.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {

namespace {

using Type = FamilyWriter::Type;

struct Family {
  const char* name;
  const char* help;
  Type type;
};

FamilyWriter writer(std::string& out, const Family& f) {
  return FamilyWriter(out, f.name, f.help, f.type);
}

// In the order of Metrics::ProbeField.
const Family kProbeFamilies[] = {
    {"datawatch_probe_success", "1 if the probe's last run passed, 0 if it failed or errored",
     Type::Gauge},
    {"datawatch_probe_error", "1 if the probe's last run could not evaluate", Type::Gauge},
    {"datawatch_probe_runs_total", "Probe runs", Type::Counter},
    {"datawatch_probe_failures_total", "Probe runs that failed their check", Type::Counter},
    {"datawatch_probe_errors_total", "Probe runs that could not evaluate", Type::Counter},
    {"datawatch_probe_missed_runs_total",
     "Scheduled probe runs skipped because the probe was still running or no worker was free",
     Type::Counter},
    {"datawatch_probe_duration_seconds", "Duration of the probe's last run", Type::Gauge},
    {"datawatch_probe_last_run_timestamp_seconds", "When the probe last ran (Unix seconds)",
     Type::Gauge},
};

// A probe type's value gauges (the second: freshness newest timestamp, lag seconds).
struct ValueFamily {
  Family family;
  config::ProbeType type;
  bool second;
};
constexpr ValueFamily kValueFamilies[] = {
    {{"datawatch_freshness_age_seconds", "Age of the newest row or message", Type::Gauge},
     config::ProbeType::Freshness,
     false},
    {{"datawatch_freshness_newest_timestamp_seconds",
      "Timestamp of the newest row or message (Unix seconds)", Type::Gauge},
     config::ProbeType::Freshness,
     true},
    {{"datawatch_volume_rows", "Rows (or messages) counted by a volume probe", Type::Gauge},
     config::ProbeType::Volume,
     false},
    {{"datawatch_drift_score", "Distribution drift score", Type::Gauge},
     config::ProbeType::Drift,
     false},
    {{"datawatch_schema_changes", "Differences from the schema contract and the last snapshot",
      Type::Gauge},
     config::ProbeType::Schema,
     false},
    {{"datawatch_values_violations", "Rows violating a values probe", Type::Gauge},
     config::ProbeType::Values,
     false},
    {{"datawatch_sql_value", "The number a sql probe's query returned", Type::Gauge},
     config::ProbeType::Sql,
     false},
    {{"datawatch_consumer_lag_messages", "Messages behind the high watermark", Type::Gauge},
     config::ProbeType::ConsumerLag,
     false},
    {{"datawatch_consumer_lag_seconds", "Age of the oldest unconsumed message", Type::Gauge},
     config::ProbeType::ConsumerLag,
     true},
};
// datawatch_probe_threshold goes before kValueFamilies[kThresholdsAfter], as in SPEC §3.
constexpr size_t kThresholdsAfter = 4;
constexpr Family kThreshold = {"datawatch_probe_threshold",
                               "The bound the last result was judged against, in the value's unit "
                               "(bound: min, max, expected_lower, expected_upper)",
                               Type::Gauge};
const char* const kBoundNames[] = {"min", "max", "expected_lower", "expected_upper"};
const char* const kBoundLabels[] = {R"(bound="min")", R"(bound="max")", R"(bound="expected_lower")",
                                    R"(bound="expected_upper")"};

const Family kSloObjective = {"datawatch_slo_objective_ratio",
                              "The SLO's objective (0.995 for 99.5%)", Type::Gauge};
const Family kSloEvents = {"datawatch_slo_events_total",
                           "SLO events: probe runs (occurrences) or minutes (timeslices)",
                           Type::Counter};
const Family kSloBadEvents = {"datawatch_slo_bad_events_total", "SLO events that were bad",
                              Type::Counter};
const Family kSloErrorRatio = {"datawatch_slo_error_ratio", "Bad events / events over the window",
                               Type::Gauge};
const Family kSloBurnRate = {"datawatch_slo_burn_rate",
                             "Error ratio over the window / (1 - objective)", Type::Gauge};
const Family kSloBudget = {"datawatch_slo_error_budget_remaining_ratio",
                           "Error budget left over the SLO window: 1 untouched, < 0 overspent",
                           Type::Gauge};

// In the order of Metrics::lineage_events_.
const char* const kLineageEventTypes[] = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"};
const char* const kLineageLabels[] = {R"(event_type="START")",    R"(event_type="RUNNING")",
                                      R"(event_type="COMPLETE")", R"(event_type="ABORT")",
                                      R"(event_type="FAIL")",     R"(event_type="OTHER")"};

}  // namespace

Metrics::Metrics(const std::string& version) : build_labels_(labelText({{"version", version}})) {
  static_assert(std::size(kProbeFamilies) == kProbeFields);
  static_assert(std::size(kBoundNames) == kBounds && std::size(kBoundLabels) == kBounds);
  static_assert(std::size(kLineageEventTypes) == std::tuple_size_v<decltype(lineage_events_)> &&
                std::size(kLineageLabels) == std::size(kLineageEventTypes));
  static_assert(std::string_view(kValueFamilies[kThresholdsAfter].family.name) ==
                "datawatch_schema_changes");
}

Metrics::ProbeRow* Metrics::probe(const std::string& name) {
  auto it = probe_index_.find(name);
  return it == probe_index_.end() ? nullptr : &probes_[it->second];
}

void Metrics::setProbes(const std::vector<config::ProbeConfig>& probes) {
  MutexLock lock(mu_);
  std::vector<ProbeRow> next;
  next.reserve(probes.size());
  std::set<std::string_view> seen;  // names are unique (config check); a repeat is skipped
  for (const auto& p : probes) {
    if (!seen.insert(p.name).second) continue;
    std::map<std::string, std::string> labels{{"probe", p.name},
                                              {"probe_type", config::toString(p.type)},
                                              {"source", p.source},
                                              {"target", p.target()},
                                              {"owner", p.owner}};
    ProbeRow row{p.name, p.type, labelText(labels), {}};
    if (p.type == config::ProbeType::Drift) {
      labels["method"] = toString(std::get<config::DriftSpec>(p.spec).method);
      row.value_labels = labelText(labels);
    }
    ProbeRow* old = probe(p.name);
    if (old && old->type == row.type && old->labels == row.labels &&
        old->value_labels == row.value_labels) {
      next.push_back(std::move(*old));  // unchanged: keep the counters
    } else {
      next.push_back(std::move(row));
    }
  }
  probes_ = std::move(next);
  probe_index_.clear();
  for (size_t i = 0; i < probes_.size(); ++i) probe_index_[probes_[i].name] = i;
}

void Metrics::observe(const ProbeResult& r, bool ran_here) {
  MutexLock lock(mu_);
  ProbeRow* s = probe(r.probe);
  if (!s) return;
  s->v[kSuccess] = r.status == ProbeStatus::Pass ? 1 : 0;
  s->v[kError] = r.status == ProbeStatus::Error ? 1 : 0;
  if (ran_here) {
    s->v[kRuns] += 1;
    if (r.status == ProbeStatus::Fail) s->v[kFailures] += 1;
    if (r.status == ProbeStatus::Error) s->v[kErrors] += 1;
  }
  s->v[kDuration] = r.duration_seconds;
  s->v[kLastRun] = toUnixSeconds(r.observed_at);
  // An error measured nothing: the value gauges keep their last measurement.
  // A run of the probe's previous type (a reload changed it while the run
  // was in flight) does not write into the new type's gauges.
  if (r.status == ProbeStatus::Error || r.type != config::toString(s->type)) return;
  if (r.value && std::isfinite(*r.value)) s->value = *r.value;
  // Thresholds, which dashboards draw beside the value: exactly the bounds the
  // result was judged against (a bound removed from the config goes away).
  if (r.threshold.is_object()) {
    for (size_t b = 0; b < kBounds; ++b) {
      const auto t = r.threshold.find(kBoundNames[b]);
      s->has_threshold[b] = t != r.threshold.end() && t->is_number();
      if (s->has_threshold[b]) s->threshold[b] = t->get<double>();
    }
  }
  const char* second = r.type == "freshness"      ? "newest_timestamp_seconds"
                       : r.type == "consumer_lag" ? "lag_seconds"
                                                  : nullptr;
  if (second) {
    const auto d = r.details.find(second);
    if (d != r.details.end() && d->is_number()) s->value2 = d->get<double>();
  }
}

void Metrics::addMissedRuns(const std::string& probe_name, uint64_t n) {
  MutexLock lock(mu_);
  if (ProbeRow* s = probe(probe_name)) s->v[kMissed] += static_cast<double>(n);
}

void Metrics::setSlos(const config::Config& config) {
  MutexLock lock(mu_);
  std::map<std::string, SloRow> old;
  for (auto& s : slos_) old.emplace(s.name, std::move(s));
  std::vector<SloRow> next;
  next.reserve(config.slos.size());
  std::set<std::string_view> seen;  // names are unique (config check); a repeat is skipped
  for (const auto& cfg : config.slos) {
    if (!seen.insert(cfg.name).second) continue;
    std::set<Duration> windows{cfg.window};
    for (const auto& r : burnRows(config, cfg)) {
      windows.insert(r.long_window);
      windows.insert(r.short_window);
    }
    auto it = old.find(cfg.name);
    if (it != old.end() && it->second.windows.size() == windows.size() &&
        std::equal(windows.begin(), windows.end(), it->second.windows.begin(),
                   [](Duration w, const SloWindow& s) { return w == s.window; })) {
      next.push_back(std::move(it->second));  // same series: keep the counters
    } else {
      SloRow row{cfg.name, labelText({{"slo", cfg.name}}), {}};
      for (Duration w : windows)
        row.windows.push_back({w, labelText({{"slo", cfg.name}, {"window", formatDuration(w)}})});
      next.push_back(std::move(row));
    }
    next.back().objective = cfg.objective / 100.0;
  }
  slos_ = std::move(next);
  slo_index_.clear();
  for (size_t i = 0; i < slos_.size(); ++i) slo_index_[slos_[i].name] = i;
}

void Metrics::observeSlo(const SloStatus& st) {
  MutexLock lock(mu_);
  auto it = slo_index_.find(st.name);
  if (it == slo_index_.end()) return;
  SloRow& s = slos_[it->second];
  // A rebuilt engine state starts its totals at 0 again: count from there.
  if (st.events_total < s.seen_events || st.bad_events_total < s.seen_bad)
    s.seen_events = s.seen_bad = 0;
  s.events += static_cast<double>(st.events_total - s.seen_events);
  s.bad_events += static_cast<double>(st.bad_events_total - s.seen_bad);
  s.seen_events = st.events_total;
  s.seen_bad = st.bad_events_total;
  s.budget_remaining = st.error_budget_remaining;
  for (const auto& ws : st.windows) {
    for (auto& w : s.windows) {
      if (w.window != ws.window) continue;
      w.ratio = ws.error_ratio;
      w.burn = ws.burn_rate;
      break;
    }
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
  std::map<std::string, AlertRow> next;
  for (const auto& a : possible) {
    if (next.count(a.id())) continue;
    auto it = alerts_.find(a.id());
    if (it != alerts_.end()) {
      next.insert(alerts_.extract(it));
    } else {
      // `alert` is the id, as Alertmanager's label: PromQL joins the two on it.
      next[a.id()] = {labelText({{"alert", a.id()},
                                 {"kind", a.kind},
                                 {"severity", a.severity},
                                 {a.kind == "slo" ? "slo" : "probe", a.subject}})};
    }
  }
  alerts_ = std::move(next);
}

void Metrics::setAlertFiring(const Alert& alert) {
  MutexLock lock(mu_);
  if (auto it = alerts_.find(alert.id()); it != alerts_.end())
    it->second.firing = alert.firing ? 1 : 0;
}

void Metrics::setNotifiers(const std::vector<config::NotifierConfig>& notifiers) {
  MutexLock lock(mu_);
  std::map<std::string, NotifierRow> next;
  for (const auto& n : notifiers) {
    if (auto it = notifiers_.find(n.name); it != notifiers_.end())
      next.insert(notifiers_.extract(it));
    else
      next[n.name] = {labelText({{"notifier", n.name}})};
  }
  notifiers_ = std::move(next);
}

void Metrics::notificationsAttempted(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.attempts += static_cast<double>(n);
}

void Metrics::notificationsFailed(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.failures += static_cast<double>(n);
}

void Metrics::notificationsDropped(const std::string& notifier, size_t n) {
  MutexLock lock(mu_);
  if (auto it = notifiers_.find(notifier); it != notifiers_.end())
    it->second.dropped += static_cast<double>(n);
}

void Metrics::setNotificationQueue(int64_t undelivered) {
  MutexLock lock(mu_);
  notification_queue_ = static_cast<double>(undelivered);
}

void Metrics::stateStoreError() {
  MutexLock lock(mu_);
  store_errors_ += 1;
}

void Metrics::lineageEventStored(const std::string& event_type) {
  MutexLock lock(mu_);
  for (size_t i = 0; i < lineage_events_.size(); ++i)
    if (event_type == kLineageEventTypes[i]) lineage_events_[i] += 1;
}

void Metrics::lineageEventsRejected(size_t n) {
  MutexLock lock(mu_);
  lineage_rejected_ += static_cast<double>(n);
}

void Metrics::setReload(bool success, TimePoint when) {
  MutexLock lock(mu_);
  reload_success_ = success ? 1 : 0;
  if (success) reload_timestamp_ = toUnixSeconds(when);  // the last successful load
}

Metrics::HaRow& Metrics::ha() {
  if (!ha_) ha_ = HaRow{};
  return *ha_;
}

void Metrics::setHa(bool leader, int live_replicas, int64_t epoch, bool config_mismatch) {
  MutexLock lock(mu_);
  auto& h = ha();
  h.leader = leader ? 1 : 0;
  h.replicas = live_replicas;
  h.epoch = static_cast<double>(epoch);
  h.mismatch = config_mismatch ? 1 : 0;
}

void Metrics::setHaLeader(bool leader) {
  MutexLock lock(mu_);
  ha().leader = leader ? 1 : 0;
}

void Metrics::probeClaims(size_t n) {
  MutexLock lock(mu_);
  ha().claims += static_cast<double>(n);
}

std::string Metrics::render() const {
  MutexLock lock(mu_);
  std::string out;
  // One allocation: growing it faulted in twice the pages. The last size and a
  // margin when there was one (the bound is loose), else the bound.
  const size_t bound = sizeBound();
  out.reserve(last_size_ ? std::min(bound, last_size_ + last_size_ / 8 + 4096) : bound);
  renderProbes(out);
  renderSlos(out);
  renderRest(out);
  last_size_ = out.size();
  return out;
}

size_t Metrics::sizeBound() const {
  // A sample is at most its labels plus this much (name, braces, value, newline);
  // a family's HELP and TYPE lines are in the constant. Reserved pages that are
  // never written are never faulted in, so the bound need not be tight.
  constexpr size_t kSample = 96;
  size_t n = 16384;
  for (const auto& [id, a] : alerts_) n += a.labels.size() + kSample;
  for (const auto& [name, nr] : notifiers_) n += 3 * (nr.labels.size() + kSample);
  for (const auto& p : probes_)
    n += (kProbeFields + 2 + kBounds) * (p.labels.size() + kSample) + p.value_labels.size();
  for (const auto& s : slos_) {
    n += 4 * (s.labels.size() + kSample);
    for (const auto& w : s.windows) n += 2 * (w.labels.size() + kSample);
  }
  return n;
}

void Metrics::renderProbes(std::string& out) const {
  for (size_t f = 0; f < kProbeFields; ++f) {
    auto w = writer(out, kProbeFamilies[f]);
    for (const auto& p : probes_) w.sample(p.labels, p.v[f]);
  }
  for (size_t f = 0; f < std::size(kValueFamilies); ++f) {
    if (f == kThresholdsAfter) {
      auto w = writer(out, kThreshold);
      for (const auto& p : probes_)
        for (size_t b = 0; b < kBounds; ++b)
          if (p.has_threshold[b]) w.sample(kBoundLabels[b], p.labels, p.threshold[b]);
    }
    const auto& vf = kValueFamilies[f];
    auto w = writer(out, vf.family);
    for (const auto& p : probes_)
      if (p.type == vf.type)
        w.sample(p.value_labels.empty() ? p.labels : p.value_labels,
                 vf.second ? p.value2 : p.value);
  }
}

void Metrics::renderSlos(std::string& out) const {
  auto each = [&](const Family& f, double SloRow::*field) REQUIRES(mu_) {
    auto w = writer(out, f);
    for (const auto& s : slos_) w.sample(s.labels, s.*field);
  };
  auto eachWindow = [&](const Family& f, double SloWindow::*field) REQUIRES(mu_) {
    auto w = writer(out, f);
    for (const auto& s : slos_)
      for (const auto& win : s.windows) w.sample(win.labels, win.*field);
  };
  each(kSloObjective, &SloRow::objective);
  each(kSloEvents, &SloRow::events);
  each(kSloBadEvents, &SloRow::bad_events);
  eachWindow(kSloErrorRatio, &SloWindow::ratio);
  eachWindow(kSloBurnRate, &SloWindow::burn);
  each(kSloBudget, &SloRow::budget_remaining);
}

void Metrics::renderRest(std::string& out) const {
  {
    auto w = writer(out, {"datawatch_alert_firing", "1 while the alert fires (kind slo or probe)",
                          Type::Gauge});
    for (const auto& [id, a] : alerts_) w.sample(a.labels, a.firing);
  }
  auto single = [&](const Family& f, double v) { writer(out, f).sample({}, v); };
  single({"datawatch_config_last_reload_success", "1 if the last configuration load succeeded",
          Type::Gauge},
         reload_success_);
  single({"datawatch_config_last_reload_timestamp_seconds",
          "When the configuration was last loaded (Unix seconds)", Type::Gauge},
         reload_timestamp_);
  auto notifier = [&](const Family& f, double NotifierRow::*field) REQUIRES(mu_) {
    auto w = writer(out, f);
    for (const auto& [name, n] : notifiers_) w.sample(n.labels, n.*field);
  };
  notifier({"datawatch_notifications_total",
            "Notification send attempts (a Slack message may carry several)", Type::Counter},
           &NotifierRow::attempts);
  notifier({"datawatch_notification_failures_total",
            "Notifications whose attempt failed (they will be retried)", Type::Counter},
           &NotifierRow::failures);
  notifier({"datawatch_notifications_dropped_total",
            "Notifications given up (24 h of failures, rejected, or their notifier removed)",
            Type::Counter},
           &NotifierRow::dropped);
  single({"datawatch_notification_queue_size", "Notifications in the outbox, not yet delivered",
          Type::Gauge},
         notification_queue_);
  single({"datawatch_state_store_errors_total",
          "State store operations that failed (results kept in memory only)", Type::Counter},
         store_errors_);
  single({"datawatch_lineage_events_rejected_total",
          "OpenLineage events refused (invalid, unauthorised, too large)", Type::Counter},
         lineage_rejected_);
  {
    auto w = writer(out, {"datawatch_lineage_events_total",
                          "OpenLineage run events stored, by eventType (duplicates not counted)",
                          Type::Counter});
    for (size_t i = 0; i < lineage_events_.size(); ++i)
      w.sample(kLineageLabels[i], lineage_events_[i]);
  }
  writer(out, {"datawatch_build_info", "Build information", Type::Gauge}).sample(build_labels_, 1);
  if (!ha_) return;
  single({"datawatch_ha_leader", "1 on the replica that leads the fleet (alerts, incidents)",
          Type::Gauge},
         ha_->leader);
  single({"datawatch_ha_replicas", "Live replicas of the fleet, as this replica sees them",
          Type::Gauge},
         ha_->replicas);
  single({"datawatch_ha_epoch", "The fleet's leader epoch (fencing token)", Type::Gauge},
         ha_->epoch);
  single({"datawatch_ha_config_mismatch", "1 when this replica's config differs from the leader's",
          Type::Gauge},
         ha_->mismatch);
  single({"datawatch_probe_claims_total",
          "Probe runs this replica claimed from the fleet's shared schedule", Type::Counter},
         ha_->claims);
}

}  // namespace datawatch
