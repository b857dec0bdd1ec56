#include "alerting/lifecycle.hpp"

#include "alerting/notification.hpp"

namespace datawatch {
namespace {
// The state store snapshot holding the firing alerts (a JSON array).
constexpr const char* kAlertsSnapshot = "alerts/firing";
// The silences created over the API (a JSON array).
constexpr const char* kSilencesSnapshot = "silences/api";
}  // namespace

AlertLifecycle::AlertLifecycle(StateStore* store, IncidentSink* incidents)
    : store_(store), incidents_(incidents) {}

LifecycleStep AlertLifecycle::configure(std::shared_ptr<const config::Config> cfg, TimePoint now) {
  MutexLock lock(mu_);
  cfg_ = cfg;
  silences_.configure(cfg->silences);
  if (incidents_) incidents_->configure(cfg);
  auto changes = alerts_.configure(cfg, now);
  size_t restored = 0;
  if (!restored_) {  // first start: before any probe runs
    restored = restore(now, changes);
    restored_ = true;
  }
  std::erase_if(slo_now_, [&](const auto& kv) { return !cfg->findSlo(kv.first); });
  forgetGoneNotifiers(*cfg);
  auto out = step(std::move(changes), now);
  out.restored = restored;
  return out;
}

namespace {
std::vector<Alert> firingFrom(const Result<std::optional<nlohmann::json>>& saved) {
  std::vector<Alert> firing;
  if (saved && *saved && (*saved)->is_array()) {
    for (const auto& j : **saved)
      if (auto a = alertFromJson(j)) firing.push_back(*a);
  }
  return firing;
}
}  // namespace

std::vector<Alert> AlertLifecycle::storedFiring(StateStore& store) {
  return firingFrom(store.loadSnapshot(kAlertsSnapshot));
}

Status AlertLifecycle::canRestore(StateStore& store) {
  for (const char* key : {kAlertsSnapshot, kSilencesSnapshot}) {
    if (auto saved = store.loadSnapshot(key); !saved) return saved.status();
  }
  return Status::Ok();
}

size_t AlertLifecycle::restore(TimePoint now, std::vector<AlertChange>& changes) {
  if (!store_) return 0;
  auto saved = store_->loadSnapshot(kAlertsSnapshot);
  if (!saved) warnings_.push_back(saved.error() + " (firing alerts not restored)");
  const std::vector<Alert> firing = firingFrom(saved);
  auto silences = store_->loadSnapshot(kSilencesSnapshot);
  if (!silences) warnings_.push_back(silences.error() + " (API silences not restored)");
  if (silences && *silences) silences_.restoreApiSilences(**silences);
  for (auto& c : alerts_.restore(firing, now)) changes.push_back(std::move(c));
  return firing.size();
}

LifecycleStep AlertLifecycle::observeProbe(std::shared_ptr<const ProbeResult> run) {
  MutexLock lock(mu_);
  if (!cfg_ || !run) return {};
  const TimePoint at = run->observed_at;
  if (incidents_) incidents_->observeProbe(*run);
  auto changes = alerts_.observeProbe(std::move(run));
  // Probe alerts go out as soon as they change; repeats and mutes are
  // reconsidered at every SLO evaluation.
  if (changes.empty()) return {};
  return step(std::move(changes), at);
}

void AlertLifecycle::keepSloStatus(const SloStatus& st) {
  // What notifications about it say: kept while it breaches or alerts,
  // including the evaluation that resolves it.
  if (!st.breaching.empty() || slo_now_.count(st.name) ||
      alerts_.find("slo:" + st.name + ":page") || alerts_.find("slo:" + st.name + ":ticket"))
    slo_now_[st.name] = st;
}

LifecycleStep AlertLifecycle::observeSlos(const std::vector<SloStatus>& statuses, TimePoint now) {
  MutexLock lock(mu_);
  if (!cfg_) return {};
  std::vector<AlertChange> changes;
  for (const auto& st : statuses) {
    keepSloStatus(st);
    if (incidents_) incidents_->observeSlo(st, now);
    for (auto& c : alerts_.observeSlo(st, now)) changes.push_back(std::move(c));
  }
  return step(std::move(changes), now);
}

LifecycleStep AlertLifecycle::tick(TimePoint now) {
  MutexLock lock(mu_);
  if (!cfg_) return {};
  return step({}, now);
}

LifecycleStep AlertLifecycle::step(std::vector<AlertChange> changes, TimePoint now) {
  LifecycleStep out;
  auto outgoing = alerts_.plan(changes, silences_, now);
  if (incidents_) {
    incidents_->observeAlerts(changes, alerts_, now);
    incidents_->observeMutes(alerts_, now);
  }
  // Called back within this step, under mu_ (a std::function cannot say so).
  const AlertTracker* tracker = &alerts_;
  IncidentSink* incidents = incidents_;
  NotificationContext ctx;
  ctx.cfg = cfg_.get();
  ctx.last_run = [tracker](const std::string& p) { return tracker->lastRun(p); };
  ctx.incident_of = [incidents](const std::string& id) {
    return incidents ? incidents->incidentOf(id) : std::string();
  };
  for (const auto& o : outgoing) {
    auto it = slo_now_.find(o.alert.subject);
    ctx.slo = o.alert.kind == "slo" && it != slo_now_.end() ? &it->second : nullptr;
    unqueued_.push_back(outboxItem(o, ctx));
  }
  for (auto& c : changes) {
    if (const Alert* now_firing = c.fired ? alerts_.find(c.alert.id()) : nullptr)
      c.alert = *now_firing;  // with its mute state and notification times
  }
  out.changes = std::move(changes);
  // An SLO with no firing alert left needs no status kept.
  std::erase_if(slo_now_, [&](const auto& kv) REQUIRES(mu_) {
    return !alerts_.find("slo:" + kv.first + ":page") &&
           !alerts_.find("slo:" + kv.first + ":ticket") && kv.second.breaching.empty();
  });
  if (incidents_) {
    for (auto& doc : incidents_->takeChangedDocs(unreported_resolved_))
      uncommitted_incidents_.push_back(std::move(doc));
  }
  if (!out.changes.empty()) snapshot_dirty_ = true;
  commitPending(out);
  return out;
}

void AlertLifecycle::commitPending(LifecycleStep& out) {
  if (!snapshot_dirty_ && unqueued_.empty() && uncommitted_incidents_.empty()) return;
  nlohmann::json firing = nlohmann::json::array();
  for (const auto& a : alerts_.firing()) firing.push_back(toJson(a));
  out.committed =
      store_ ? store_->commitAlerts(kAlertsSnapshot, firing, unqueued_, uncommitted_incidents_)
             : Status::Error("no state store");
  if (!out.committed) return;  // all of it stays pending: retried whole (I1)
  out.queued = unqueued_.size();
  unqueued_.clear();
  uncommitted_incidents_.clear();
  snapshot_dirty_ = false;
  out.resolved_incidents = std::move(unreported_resolved_);
  unreported_resolved_.clear();
}

void AlertLifecycle::forgetGoneNotifiers(const config::Config& cfg) {
  // A notifier removed from the config hears nothing more: not the queued
  // notifications the store refused, not a resolve. If it comes back, it is
  // new: it hears the next firing as a firing.
  auto gone = [&cfg](const std::string& n) { return cfg.findNotifier(n) == nullptr; };
  std::erase_if(unqueued_, [&gone](const OutboxItem& it) { return gone(it.notifier); });
  alerts_.forgetNotifiers(gone);
}

std::vector<OutboxItem> AlertLifecycle::observeDelivery(const std::string& notifier,
                                                        const std::vector<OutboxItem>& batch,
                                                        bool ok, const std::string& detail,
                                                        TimePoint at) {
  MutexLock lock(mu_);
  std::vector<OutboxItem> late;
  for (const auto& it : batch) {
    const std::string what = ok ? it.payload.value("status", "") : detail;
    if (!incidents_ || !incidents_->observeDelivery(it.alert_id, notifier, ok, what, at))
      late.push_back(it);
  }
  return late;
}

LifecycleStep AlertLifecycle::saveChangedIncidents() {
  MutexLock lock(mu_);
  LifecycleStep out;
  if (incidents_) {
    for (auto& doc : incidents_->takeChangedDocs(unreported_resolved_))
      uncommitted_incidents_.push_back(std::move(doc));
  }
  // Through the same transaction as a step: whatever a refused step left
  // pending (alerts, notifications) goes with these incidents, never apart.
  commitPending(out);
  return out;
}

void AlertLifecycle::persistSilences() {
  if (!store_) return;
  if (auto st = store_->saveSnapshot(kSilencesSnapshot, silences_.apiSilencesJson()); !st)
    warnings_.push_back(st.message() + " (API silences not saved: they last until a restart)");
}

Silence AlertLifecycle::addSilence(const Silence& s) {
  MutexLock lock(mu_);
  Silence added = silences_.add(s);
  persistSilences();
  return added;
}

bool AlertLifecycle::removeSilence(const std::string& id) {
  MutexLock lock(mu_);
  if (!silences_.remove(id)) return false;
  persistSilences();
  return true;
}

std::vector<Silence> AlertLifecycle::silences(TimePoint now) {
  MutexLock lock(mu_);
  return silences_.list(now);
}

std::vector<Alert> AlertLifecycle::firing() const {
  MutexLock lock(mu_);
  return alerts_.firing();
}

bool AlertLifecycle::isFiring(const std::string& alert_id) const {
  MutexLock lock(mu_);
  return alerts_.find(alert_id) != nullptr;
}

std::vector<std::string> AlertLifecycle::takeWarnings() {
  MutexLock lock(mu_);
  return std::exchange(warnings_, {});
}

}  // namespace datawatch
