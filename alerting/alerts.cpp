#include "alerting/alerts.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {

std::map<std::string, std::string> Alert::labels() const {
  std::map<std::string, std::string> l{
      {"alertname", kind == "slo" ? "DatawatchSLOBurnRate" : "DatawatchProbeFailing"},
      {"alert", id()},
      {"kind", kind},
      {"severity", severity},
      {kind == "slo" ? "slo" : "probe", subject}};
  if (!owner.empty()) l["owner"] = owner;
  return l;
}

nlohmann::json toJson(const Alert& a) {
  nlohmann::json notified = nlohmann::json::object();
  for (const auto& [n, t] : a.notified) notified[n] = formatRfc3339(t);
  return {
      {"id", a.id()},
      {"kind", a.kind},
      {"subject", a.subject},
      {"severity", a.severity},
      {"status", a.firing ? "firing" : "resolved"},
      {"started_at", formatRfc3339(a.started_at)},
      // Exact, for restore: (id, started_at) goes into every delivery id.
      {"started_at_ms", toUnixMillis(a.started_at)},
      {"resolved_at",
       a.resolved_at ? nlohmann::json(formatRfc3339(*a.resolved_at)) : nlohmann::json(nullptr)},
      {"summary", a.summary},
      {"owner", a.owner},
      {"notify", a.notify},
      {"notified", std::move(notified)},
      {"silenced_by",
       a.silenced_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.silenced_by)},
      {"inhibited_by", a.inhibited_by},
      {"inhibited_by_alert", a.inhibited_by_alert.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(a.inhibited_by_alert)}};
}

namespace {
std::string burnText(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1fx", v);
  return b;
}
}  // namespace

std::string muteReason(const Alert& a) {
  if (!a.silenced_by.empty()) return "silenced by " + a.silenced_by;
  if (!a.inhibited_by.empty()) {
    std::string ups;
    for (const auto& u : a.inhibited_by) ups += (ups.empty() ? "" : ", ") + u;
    return "inhibited: upstream " + ups + " failing";
  }
  if (!a.inhibited_by_alert.empty()) return "inhibited: " + a.inhibited_by_alert + " is firing";
  return "";
}

std::optional<Alert> alertFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    Alert a;
    a.kind = j.at("kind").get<std::string>();
    a.subject = j.at("subject").get<std::string>();
    a.severity = j.at("severity").get<std::string>();
    a.firing = j.at("status").get<std::string>() == "firing";
    auto started = parseTimestamp(j.at("started_at").get<std::string>());
    if (!started) return std::nullopt;
    a.started_at = j.contains("started_at_ms") && j["started_at_ms"].is_number_integer()
                       ? fromUnixMillis(j["started_at_ms"].get<int64_t>())
                       : *started;
    if (j.contains("resolved_at") && j["resolved_at"].is_string())
      a.resolved_at = parseTimestamp(j["resolved_at"].get<std::string>());
    a.summary = j.value("summary", "");
    a.owner = j.value("owner", "");
    a.notify = j.value("notify", std::vector<std::string>{});
    if (auto n = j.find("notified"); n != j.end() && n->is_object()) {
      for (const auto& [name, t] : n->items())
        if (auto when = t.is_string() ? parseTimestamp(t.get<std::string>()) : std::nullopt)
          a.notified[name] = *when;
    }
    // The mute state, as last planned (plan() recomputes it).
    if (auto s = j.find("silenced_by"); s != j.end() && s->is_string()) a.silenced_by = *s;
    if (auto s = j.find("inhibited_by"); s != j.end() && s->is_array())
      for (const auto& u : *s)
        if (u.is_string()) a.inhibited_by.push_back(u);
    if (auto s = j.find("inhibited_by_alert"); s != j.end() && s->is_string())
      a.inhibited_by_alert = *s;
    return a;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool AlertTracker::configured(const Alert& a) const {
  if (a.kind == "slo") return cfg_->findSlo(a.subject) != nullptr;
  const auto* probe = cfg_->findProbe(a.subject);
  return probe && probe->alert && probe->alert->severity == a.severity;
}

std::vector<AlertChange> AlertTracker::restore(const std::vector<Alert>& firing, TimePoint now) {
  for (const auto& a : firing) {
    if (!a.firing) continue;
    alerts_.emplace(a.id(), a);
    // A firing probe alert had a streak of at least `after`: the next failing
    // run keeps it firing (a continuous outage is one firing, restart or not).
    const auto* p = a.kind == "probe" && cfg_ ? cfg_->findProbe(a.subject) : nullptr;
    if (p && p->alert) {
      int& streak = probes_[a.subject].fail_streak;
      streak = std::max(streak, p->alert->after);
    }
  }
  // Exactly what a reload does with an alert whose definition is gone.
  return resolveUnconfigured(now);
}

void AlertTracker::forgetNotifiers(const std::function<bool(const std::string&)>& gone) {
  for (auto& [id, a] : alerts_)
    std::erase_if(a.notified, [&](const auto& kv) { return gone(kv.first); });
}

std::vector<AlertChange> AlertTracker::resolveUnconfigured(TimePoint now) {
  std::vector<AlertChange> out;
  if (!cfg_) return out;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    const Alert& a = it->second;
    if (configured(a)) {
      ++it;
      continue;
    }
    out.push_back(resolve(it, now, "no longer configured"));
    it = alerts_.erase(it);
  }
  return out;
}

AlertChange AlertTracker::resolve(std::map<std::string, Alert>::iterator it, TimePoint now,
                                  std::string summary) {
  Alert resolved = it->second;
  resolved.firing = false;
  resolved.resolved_at = std::max(now, resolved.started_at);
  resolved.summary = std::move(summary);
  last_resolved_[it->first] = *resolved.resolved_at;
  return {std::move(resolved), false};
}

std::vector<AlertChange> AlertTracker::configure(std::shared_ptr<const config::Config> cfg,
                                                 TimePoint now) {
  cfg_ = std::move(cfg);
  for (auto& [name, st] : probes_) st.cfg = nullptr;
  for (const auto& p : cfg_->probes) {
    ProbeState& st = probes_[p.name];
    // The first of a name, as findProbe() (config validation rejects repeats).
    if (st.cfg == nullptr) st.cfg = &p;
  }
  auto out = resolveUnconfigured(now);
  std::erase_if(probes_, [](const auto& kv) { return kv.second.cfg == nullptr; });
  return out;
}

std::optional<AlertChange> AlertTracker::set(Alert candidate, bool on, TimePoint now) {
  const std::string id = candidate.id();
  auto it = alerts_.find(id);
  if (on && it == alerts_.end()) {
    candidate.firing = true;
    // (id, started_at) names one firing and goes into every delivery id: a
    // re-fire in the same millisecond as its resolve (or after the wall clock
    // stepped back) must not reuse the previous firing's ids.
    auto last = last_resolved_.find(id);
    candidate.started_at =
        last == last_resolved_.end() ? now : std::max(now, last->second + Duration{1});
    alerts_.emplace(id, candidate);
    return AlertChange{candidate, true};
  }
  if (on) {  // still firing: keep the latest numbers and routing
    Alert& a = it->second;
    a.summary = candidate.summary;
    a.owner = candidate.owner;
    a.notify = candidate.notify;
    // A burn rate twice what the thread last heard is worth a reply.
    if (a.burn_told > 0 && candidate.burn_told >= 2 * a.burn_told)
      a.pending_change = "burn rate up to " + burnText(candidate.burn_told) + " (from " +
                         burnText(a.burn_told) + "): " + candidate.summary;
    if (a.burn_told <= 0 || !a.pending_change.empty()) a.burn_told = candidate.burn_told;
    return std::nullopt;
  }
  if (it == alerts_.end()) return std::nullopt;
  auto change = resolve(it, now, candidate.summary);
  alerts_.erase(it);
  return change;
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
    // The row that explains it: while it fires, a breaching row (the summary
    // says ">"), else the row with the highest long-window burn rate.
    const RowStatus* worst = nullptr;
    for (const auto& r : st.rows) {
      if (r.row.severity != severity) continue;
      if (!worst) {
        worst = &r;
        continue;
      }
      const bool ahead = on && r.breaching && !worst->breaching;
      const bool same = !on || r.breaching == worst->breaching;
      if (ahead || (same && r.long_burn_rate > worst->long_burn_rate)) worst = &r;
    }
    if (!worst) {
      // No row of this severity is in force any more (custom windows or a
      // shorter SLO window): nothing can keep it firing.
      Alert gone;
      gone.kind = "slo";
      gone.subject = st.name;
      gone.severity = severity;
      gone.summary = "SLO " + st.name + " has no " + severity + " burn-rate row any more";
      if (auto change = set(std::move(gone), false, now)) out.push_back(std::move(*change));
      continue;
    }
    // No data is never a reason to resolve: while any row of the severity has
    // an empty window (after a restart or reload mid-outage, or a long outage
    // of the agent), a firing alert holds until data says otherwise.
    bool unknown = false;  // a row of this severity cannot tell yet
    for (const auto& r : st.rows)
      if (r.row.severity == severity) unknown = unknown || r.no_data;
    if (!on && unknown && find("slo:" + st.name + ":" + severity)) continue;
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
    a.burn_told = worst->long_burn_rate;
    a.owner = owner;
    const auto& routed =
        std::string(severity) == "page" ? slo->alerting.page_notify : slo->alerting.ticket_notify;
    a.notify = routed ? *routed : cfg_->agent.default_notify;
    if (auto change = set(std::move(a), on, now)) out.push_back(std::move(*change));
  }
  return out;
}

std::vector<AlertChange> AlertTracker::observeProbe(std::shared_ptr<const ProbeResult> shared) {
  std::vector<AlertChange> out;
  if (!cfg_ || !shared) return out;
  const ProbeResult& run = *shared;
  ProbeState& state = probes_[run.probe];
  state.last_run = std::move(shared);
  const config::ProbeConfig* p = state.cfg;
  if (p == nullptr) return out;
  // Counted whether or not it alerts, so an `alert:` added by a reload sees
  // the streak so far.
  int& streak = state.fail_streak;
  streak = run.status == ProbeStatus::Pass ? 0 : streak + 1;
  if (!p->alert) return out;
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

const ProbeResult* AlertTracker::lastRun(const std::string& probe) const {
  auto it = probes_.find(probe);
  return it == probes_.end() ? nullptr : it->second.last_run.get();
}

bool AlertTracker::failing(const std::string& probe) const {
  const auto* r = lastRun(probe);
  return r && r->status != ProbeStatus::Pass;
}

std::vector<std::string> AlertTracker::inhibitors(const Alert& a) const {
  std::vector<std::string> probes;
  if (a.kind == "slo") {
    if (const auto* slo = cfg_->findSlo(a.subject)) {
      for (const auto& p : slo->probes)
        if (failing(p)) probes.push_back(p);
    }
  } else {
    probes.push_back(a.subject);
  }
  std::set<std::string> by;
  for (const auto& p : probes) {
    const auto* pc = cfg_->findProbe(p);
    bool inhibited = false;
    for (const auto& up : pc ? pc->upstream : std::vector<std::string>{}) {
      // Two probes naming each other upstream do not mute each other: while
      // both fail, neither would be sent.
      const auto* upc = cfg_->findProbe(up);
      if (upc && std::find(upc->upstream.begin(), upc->upstream.end(), p) != upc->upstream.end())
        continue;
      if (failing(up)) {
        by.insert(up);
        inhibited = true;
      }
    }
    if (!inhibited) return {};  // this failing probe is a cause of its own
  }
  return {by.begin(), by.end()};
}

std::string AlertTracker::higherSeverityFiring(const Alert& a) const {
  if (a.kind != "slo" || a.severity != "ticket") return "";
  const auto* slo = cfg_->findSlo(a.subject);
  if (!slo || !slo->alerting.inhibit_lower_severity) return "";
  // A ticket its receivers already heard keeps its repeats and resolve
  // (Alertmanager resolves an alert that is not re-sent).
  if (!a.notified.empty()) return "";
  // plan() visits "slo:X:page" before "slo:X:ticket": the page's silence is
  // current. A silenced page does not inhibit: the outage would go unannounced.
  const std::string page = "slo:" + a.subject + ":page";  // Alert::id()
  auto it = alerts_.find(page);
  return it != alerts_.end() && it->second.silenced_by.empty() ? page : "";
}

std::vector<Outgoing> AlertTracker::plan(const std::vector<AlertChange>& changes,
                                         const SilenceSet& silences, TimePoint now) {
  std::vector<Outgoing> out;
  if (!cfg_) return out;
  for (const auto& c : changes) {
    if (c.fired) continue;
    // The notifiers that heard it fire hear it resolve, muted or not: a
    // PagerDuty incident or a Slack thread must not be left open.
    for (const auto& [notifier, when] : c.alert.notified) {
      (void)when;
      if (cfg_->findNotifier(notifier)) out.push_back({c.alert, notifier, false, false, now, ""});
    }
  }
  for (auto& [id, a] : alerts_) {
    const std::string was_muted = muteReason(a);
    const auto* silence = silences.silencing(a.labels(), now);
    a.silenced_by = silence ? silence->id : "";
    a.inhibited_by = inhibitors(a);
    a.inhibited_by_alert = higherSeverityFiring(a);
    if (const std::string muted = muteReason(a); muted != was_muted)
      threadChange(a,
                   muted.empty() ? "no longer muted (" + was_muted + "): notifications resume"
                                 : muted + ": no notifications until that ends",
                   now, out);
    if (!a.pending_change.empty() && !a.muted()) threadChange(a, a.pending_change, now, out);
    a.pending_change.clear();
    if (a.muted()) continue;
    for (const auto& notifier : a.notify) {
      const auto* nc = cfg_->findNotifier(notifier);
      if (!nc) continue;
      auto it = a.notified.find(notifier);
      const bool repeat = it != a.notified.end();
      if (repeat && now - it->second < repeatInterval(*nc)) continue;
      a.notified[notifier] = now;
      out.push_back({a, notifier, true, repeat, now, ""});
    }
  }
  return out;
}

void AlertTracker::threadChange(const Alert& a, const std::string& change, TimePoint now,
                                std::vector<Outgoing>& out) const {
  for (const auto& [notifier, when] : a.notified) {
    (void)when;
    const auto* nc = cfg_->findNotifier(notifier);
    const auto* slack = nc ? std::get_if<config::SlackNotifierConfig>(&nc->spec) : nullptr;
    if (slack && slack->webApi()) out.push_back({a, notifier, true, true, now, change});
  }
}

Duration repeatInterval(const config::NotifierConfig& n) {
  // Alertmanager resolves an alert it has not heard of for resolve_timeout
  // (5m by default) or past its endsAt: clients re-send active alerts every
  // minute, as Prometheus does.
  if (n.type == config::NotifierType::Alertmanager)
    return std::min<Duration>(n.repeat_interval, std::chrono::minutes(1));
  return n.repeat_interval;
}

const Alert* AlertTracker::find(const std::string& id) const {
  auto it = alerts_.find(id);
  return it == alerts_.end() ? nullptr : &it->second;
}

std::vector<Alert> AlertTracker::firing() const {
  std::vector<Alert> out;
  for (const auto& [id, a] : alerts_) out.push_back(a);
  return out;
}

}  // namespace datawatch
