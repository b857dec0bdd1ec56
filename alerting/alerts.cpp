#include "alerting/alerts.hpp"

#include <cstdio>

#include "core/duration.hpp"

namespace datawatch {

std::vector<AlertChange> AlertTracker::configure(std::shared_ptr<const config::Config> cfg,
                                                 TimePoint now) {
  cfg_ = std::move(cfg);
  std::vector<AlertChange> out;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    const Alert& a = it->second;
    const auto* probe = a.kind == "probe" ? cfg_->findProbe(a.subject) : nullptr;
    const bool exists = a.kind == "slo"
                            ? cfg_->findSlo(a.subject) != nullptr
                            : probe && probe->alert && probe->alert->severity == a.severity;
    if (exists) {
      ++it;
      continue;
    }
    Alert resolved = a;
    resolved.firing = false;
    resolved.resolved_at = now;
    resolved.summary = "no longer configured";
    out.push_back({resolved, false});
    it = alerts_.erase(it);
  }
  for (auto it = fail_streak_.begin(); it != fail_streak_.end();) {
    if (cfg_->findProbe(it->first)) {
      ++it;
    } else {
      it = fail_streak_.erase(it);
    }
  }
  return out;
}

std::optional<AlertChange> AlertTracker::set(Alert candidate, bool on, TimePoint now) {
  const std::string id = candidate.id();
  auto it = alerts_.find(id);
  if (on && it == alerts_.end()) {
    candidate.firing = true;
    candidate.started_at = now;
    alerts_.emplace(id, candidate);
    return AlertChange{candidate, true};
  }
  if (on) {
    it->second.summary = candidate.summary;  // keep the latest numbers
    return std::nullopt;
  }
  if (it == alerts_.end()) return std::nullopt;
  Alert resolved = it->second;
  resolved.firing = false;
  resolved.resolved_at = now;
  resolved.summary = candidate.summary;
  alerts_.erase(it);
  return AlertChange{resolved, false};
}

std::vector<AlertChange> AlertTracker::observeSlo(const SloStatus& st, TimePoint now) {
  std::vector<AlertChange> out;
  if (!cfg_) return out;
  const auto* slo = cfg_->findSlo(st.name);
  if (!slo) return out;
  std::string owner;
  for (const auto& p : slo->probes) {
    if (const auto* pc = cfg_->findProbe(p); pc && !pc->owner.empty()) {
      owner = pc->owner;
      break;
    }
  }
  for (const char* severity : {"page", "ticket"}) {
    const bool on = st.breaching.count(severity) > 0;
    // The row with the highest long-window burn rate of this severity explains it.
    const RowStatus* worst = nullptr;
    for (const auto& r : st.rows) {
      if (r.row.severity == severity && (!worst || r.long_burn_rate > worst->long_burn_rate))
        worst = &r;
    }
    if (!worst) continue;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "SLO %s (%.4g%% over %s) burn rate %.1f over %s and %.1f over %s %s %.2f; error "
                  "budget left %.1f%%",
                  st.name.c_str(), st.objective * 100, formatDuration(st.window).c_str(),
                  worst->long_burn_rate, formatDuration(worst->row.long_window).c_str(),
                  worst->short_burn_rate, formatDuration(worst->row.short_window).c_str(),
                  on ? ">" : "vs", worst->row.burn_rate, st.error_budget_remaining * 100);
    Alert a;
    a.kind = "slo";
    a.subject = st.name;
    a.severity = severity;
    a.summary = buf;
    a.owner = owner;
    const auto& routed =
        std::string(severity) == "page" ? slo->alerting.page_notify : slo->alerting.ticket_notify;
    a.notify = routed ? *routed : cfg_->agent.default_notify;
    if (auto change = set(std::move(a), on, now)) out.push_back(std::move(*change));
  }
  return out;
}

std::vector<AlertChange> AlertTracker::observeProbe(const ProbeResult& run) {
  std::vector<AlertChange> out;
  if (!cfg_) return out;
  const auto* p = cfg_->findProbe(run.probe);
  if (!p || !p->alert) return out;
  int& streak = fail_streak_[run.probe];
  streak = run.status == ProbeStatus::Pass ? 0 : streak + 1;
  Alert a;
  a.kind = "probe";
  a.subject = run.probe;
  a.severity = p->alert->severity;
  a.owner = p->owner;
  a.notify = p->alert->notify.empty() ? cfg_->agent.default_notify : p->alert->notify;
  a.summary = "probe " + run.probe + " " + toString(run.status) +
              (streak > 1 ? " (" + std::to_string(streak) + " runs in a row)" : "") + ": " +
              run.message;
  if (auto change = set(std::move(a), streak >= std::max(1, p->alert->after), run.observed_at))
    out.push_back(std::move(*change));
  return out;
}

std::vector<Alert> AlertTracker::firing() const {
  std::vector<Alert> out;
  for (const auto& [id, a] : alerts_) out.push_back(a);
  return out;
}

}  // namespace datawatch
