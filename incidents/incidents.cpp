#include "incidents/incidents.hpp"

#include <algorithm>
#include <cstdio>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {
// An open SLO incident's budget and burn series are saved this often (and on a
// new peak, and with every other change); not at every 10 s evaluation.
constexpr Duration kSloSaveEvery = std::chrono::minutes(15);

int severityRank(const std::string& s) {
  static const std::map<std::string, int> rank{{"info", 0},   {"warning", 1},  {"error", 2},
                                               {"ticket", 3}, {"critical", 4}, {"page", 5}};
  auto it = rank.find(s);
  return it == rank.end() ? 1 : it->second;
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

nlohmann::json optTime(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(formatRfc3339(*t)) : nlohmann::json(nullptr);
}

std::optional<TimePoint> readTime(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parseTimestamp(it->get<std::string>());
}

}  // namespace

std::string incidentId(TimePoint opened_at, int seq) {
  std::string day = formatRfc3339(opened_at).substr(0, 10);  // YYYY-MM-DD
  day.erase(std::remove(day.begin(), day.end(), '-'), day.end());
  return "INC-" + day + "-" + std::to_string(seq);
}

nlohmann::json toJson(const Incident& inc, bool with_timeline) {
  nlohmann::json peaks = nlohmann::json::object();
  for (const auto& [w, p] : inc.peak_burn)
    peaks[w] = {{"burn_rate", p.first}, {"at", formatRfc3339(p.second)}};
  nlohmann::json j{
      {"id", inc.id},
      {"status", inc.open ? "open" : "resolved"},
      {"subject", inc.subject},
      {"kind", inc.kind},
      {"severity", inc.severity},
      {"opened_at", formatRfc3339(inc.opened_at)},
      {"resolved_at", optTime(inc.resolved_at)},
      {"alerts", inc.alerts},
      {"firing", std::vector<std::string>(inc.firing.begin(), inc.firing.end())},
      {"probes", inc.probes},
      {"first_bad_run", optTime(inc.first_bad_run)},
      {"budget_at_open",
       inc.budget_at_open ? nlohmann::json(*inc.budget_at_open) : nlohmann::json(nullptr)},
      {"budget_now", inc.budget_now ? nlohmann::json(*inc.budget_now) : nlohmann::json(nullptr)},
      {"peak_burn_rates", std::move(peaks)},
      {"postmortem",
       inc.postmortem.empty() ? nlohmann::json(nullptr) : nlohmann::json(inc.postmortem)}};
  if (with_timeline) {
    nlohmann::json tl = nlohmann::json::array();
    for (const auto& e : inc.timeline) {
      nlohmann::json ej{{"at", formatRfc3339(e.at)}, {"kind", e.kind}, {"text", e.text}};
      if (!e.key.empty()) ej["key"] = e.key;
      if (e.count > 1) ej["count"] = e.count;
      if (e.until) ej["until"] = formatRfc3339(*e.until);
      tl.push_back(std::move(ej));
    }
    j["timeline"] = std::move(tl);
    nlohmann::json series = nlohmann::json::array();
    for (const auto& [t, v] : inc.burn_series) series.push_back({formatRfc3339(t), v});
    j["burn_series"] = std::move(series);
  }
  return j;
}

std::optional<Incident> incidentFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    Incident inc;
    inc.id = j.at("id").get<std::string>();
    inc.open = j.at("status").get<std::string>() == "open";
    inc.subject = j.value("subject", "");
    inc.kind = j.value("kind", "");
    inc.severity = j.value("severity", "");
    auto opened = readTime(j, "opened_at");
    if (!opened) return std::nullopt;
    inc.opened_at = *opened;
    inc.resolved_at = readTime(j, "resolved_at");
    inc.alerts = j.value("alerts", std::vector<std::string>{});
    for (const auto& f : j.value("firing", std::vector<std::string>{})) inc.firing.insert(f);
    inc.probes = j.value("probes", std::vector<std::string>{});
    inc.first_bad_run = readTime(j, "first_bad_run");
    if (j.contains("budget_at_open") && j["budget_at_open"].is_number())
      inc.budget_at_open = j["budget_at_open"].get<double>();
    if (j.contains("budget_now") && j["budget_now"].is_number())
      inc.budget_now = j["budget_now"].get<double>();
    if (auto p = j.find("peak_burn_rates"); p != j.end() && p->is_object()) {
      for (const auto& [w, v] : p->items()) {
        auto at = readTime(v, "at");
        if (at && v.contains("burn_rate")) inc.peak_burn[w] = {v["burn_rate"].get<double>(), *at};
      }
    }
    if (j.contains("postmortem") && j["postmortem"].is_string())
      inc.postmortem = j["postmortem"].get<std::string>();
    for (const auto& e : j.value("timeline", nlohmann::json::array())) {
      auto at = readTime(e, "at");
      if (!at) continue;
      TimelineEvent ev{*at, e.value("kind", ""), e.value("text", "")};
      ev.key = e.value("key", "");
      ev.count = std::max(1, e.value("count", 1));
      ev.until = readTime(e, "until");
      inc.timeline.push_back(std::move(ev));
    }
    for (const auto& s : j.value("burn_series", nlohmann::json::array())) {
      if (!s.is_array() || s.size() != 2 || !s[0].is_string() || !s[1].is_number()) continue;
      if (auto t = parseTimestamp(s[0].get<std::string>())) inc.burn_series.push_back({*t, s[1]});
    }
    return inc;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void IncidentTracker::restore(std::vector<Incident> open) {
  for (auto& inc : open)
    if (inc.open) open_.emplace(inc.id, std::move(inc));
}

void addTimelineEvent(Incident& inc, TimelineEvent e) {
  auto before = [](const TimelineEvent& a, const TimelineEvent& b) { return a.at < b.at; };
  // A failing run comes before what it caused at the same instant.
  auto pos = e.kind == "probe_failing"
                 ? std::lower_bound(inc.timeline.begin(), inc.timeline.end(), e, before)
                 : std::upper_bound(inc.timeline.begin(), inc.timeline.end(), e, before);
  inc.timeline.insert(pos, std::move(e));
}

TimelineEvent deliveryEvent(const std::string& alert_id, const std::string& notifier, bool ok,
                            const std::string& detail, TimePoint at) {
  TimelineEvent e{at, ok ? "notification_sent" : "notification_failed",
                  (ok ? "notified " : "notification to ") + notifier + (ok ? "" : " failed") +
                      " (" + alert_id + (detail.empty() ? "" : ", " + detail) + ")"};
  e.key = alert_id + '\x1f' + notifier + '\x1f' + e.kind + '\x1f' + detail;
  return e;
}

namespace {
std::string hhmm(TimePoint t) {
  return formatRfc3339(t).substr(11, 5);
}
}  // namespace

void addDeliveryEvent(Incident& inc, TimelineEvent e) {
  const std::string who = e.key.substr(0, e.key.find('\x1f', e.key.find('\x1f') + 1) + 1);
  for (auto it = inc.timeline.rbegin(); it != inc.timeline.rend(); ++it) {
    if (it->key.rfind(who, 0) != 0) continue;      // another alert or notifier
    if (it->key != e.key || e.at < it->at) break;  // the latest one says something else
    ++it->count;
    it->until = e.at;
    it->text = e.text + " \u00d7" + std::to_string(it->count) + ", " + hhmm(it->at) + "\u2013" +
               hhmm(e.at);
    return;
  }
  addTimelineEvent(inc, std::move(e));
}

void IncidentTracker::event(Incident& inc, TimePoint at, std::string kind, std::string text,
                            std::string key) {
  TimelineEvent e{at, std::move(kind), std::move(text)};
  e.key = std::move(key);
  addTimelineEvent(inc, std::move(e));
  changed_.insert(inc.id);
}

std::vector<std::string> IncidentTracker::probesOf(const Alert& a) const {
  if (a.kind != "slo") return {a.subject};
  const auto* slo = cfg_ ? cfg_->findSlo(a.subject) : nullptr;
  return slo ? slo->probes : std::vector<std::string>{};
}

void IncidentTracker::involve(Incident& inc, const std::string& probe) {
  if (std::find(inc.probes.begin(), inc.probes.end(), probe) != inc.probes.end()) return;
  inc.probes.push_back(probe);
  auto it = streak_start_.find(probe);
  if (it == streak_start_.end()) return;
  const ProbeResult& r = it->second;
  if (!inc.first_bad_run || r.observed_at < *inc.first_bad_run) inc.first_bad_run = r.observed_at;
  event(inc, r.observed_at, "probe_failing",
        "probe " + probe + " " + toString(r.status) + ": " + r.message);
}

Incident* IncidentTracker::openFor(const Alert& a) {
  const auto probes = probesOf(a);
  for (auto& [id, inc] : open_) {
    if (inc.subject == a.subject && inc.kind == a.kind) return &inc;
  }
  for (auto& [id, inc] : open_) {
    for (const auto& p : probes) {
      // A probe alert of an SLO incident's probe, or an alert held back by an
      // upstream probe of this incident: the same outage.
      if (std::find(inc.probes.begin(), inc.probes.end(), p) != inc.probes.end()) return &inc;
    }
    for (const auto& up : a.inhibited_by)
      if (std::find(inc.probes.begin(), inc.probes.end(), up) != inc.probes.end()) return &inc;
  }
  return nullptr;
}

void IncidentTracker::observeProbe(const ProbeResult& run) {
  const bool bad = run.status != ProbeStatus::Pass;
  auto streak = streak_start_.find(run.probe);
  if (bad) {
    if (streak == streak_start_.end()) streak_start_.emplace(run.probe, run);
    return;
  }
  if (streak == streak_start_.end()) return;
  streak_start_.erase(streak);
  for (auto& [id, inc] : open_) {
    if (std::find(inc.probes.begin(), inc.probes.end(), run.probe) == inc.probes.end()) continue;
    event(inc, run.observed_at, "probe_recovered",
          "probe " + run.probe + " passes again: " + run.message);
  }
}

void IncidentTracker::observeAlerts(const std::vector<AlertChange>& changes,
                                    const AlertTracker& tracker, TimePoint now) {
  for (const auto& c : changes) {
    const std::string id = c.alert.id();
    if (c.fired) {
      const Alert* a = tracker.find(id);
      const Alert& alert = a ? *a : c.alert;
      Incident* inc = openFor(alert);
      if (!inc) {
        Incident fresh;
        fresh.opened_at = c.alert.started_at;
        const std::string day = incidentId(fresh.opened_at, 0).substr(4, 8);
        const int n = std::max(seq_(day), last_seq_[day] + 1);  // unsaved ones count too
        last_seq_[day] = n;
        fresh.id = incidentId(fresh.opened_at, n);
        fresh.subject = alert.subject;
        fresh.kind = alert.kind;
        fresh.severity = alert.severity;
        auto [it, ok] = open_.emplace(fresh.id, std::move(fresh));
        inc = &it->second;
        event(*inc, inc->opened_at, "opened", "incident " + inc->id + " opened by alert " + id);
      }
      if (std::find(inc->alerts.begin(), inc->alerts.end(), id) == inc->alerts.end())
        inc->alerts.push_back(id);
      inc->firing.insert(id);
      if (severityRank(alert.severity) > severityRank(inc->severity))
        inc->severity = alert.severity;
      const std::string mute = muteReason(alert);
      mute_[id] = mute;
      event(
          *inc, c.alert.started_at, "alert_fired",
          "alert " + id + " fired" + (mute.empty() ? "" : " (" + mute + ")") + ": " + alert.summary,
          id);
      for (const auto& p : probesOf(alert)) involve(*inc, p);
      continue;
    }
    for (auto& [iid, inc] : open_) {
      if (!inc.firing.count(id)) continue;
      inc.firing.erase(id);
      mute_.erase(id);
      const TimePoint at = c.alert.resolved_at.value_or(now);
      event(inc, at, "alert_resolved",
            "alert " + id + " resolved after " +
                humanDuration(std::chrono::duration_cast<Duration>(at - c.alert.started_at)),
            id);
      if (inc.firing.empty()) {
        inc.open = false;
        inc.resolved_at = at;
        if (!inc.peak_burn.empty()) {
          // The peak of the shortest window that peaked highest tells the story.
          auto best = std::max_element(
              inc.peak_burn.begin(), inc.peak_burn.end(),
              [](const auto& x, const auto& y) { return x.second.first < y.second.first; });
          event(inc, best->second.second, "burn_rate_peak",
                "peak burn rate " + number(best->second.first) + " over " + best->first);
        }
        event(inc, at, "resolved",
              "incident resolved after " + humanDuration(inc.duration(at)) +
                  ": every alert resolved");
      }
    }
  }
  // Resolved incidents leave the open set once reported by takeChanged().
  for (auto it = open_.begin(); it != open_.end();) {
    if (!it->second.open) {
      resolved_.push_back(std::move(it->second));
      changed_.erase(it->first);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

void IncidentTracker::observeMutes(const AlertTracker& tracker, TimePoint now) {
  for (auto& [id, inc] : open_) {
    for (const auto& alert_id : inc.firing) {
      const Alert* a = tracker.find(alert_id);
      if (!a) continue;
      const std::string mute = muteReason(*a);
      auto it = mute_.find(alert_id);
      const std::string before = it == mute_.end() ? "" : it->second;
      if (mute == before) continue;
      mute_[alert_id] = mute;
      if (it == mute_.end() && mute.empty()) continue;
      event(inc, now, mute.empty() ? "unmuted" : "muted",
            "alert " + alert_id +
                (mute.empty() ? " no longer muted (was " + before + ")" : " " + mute));
    }
  }
}

void IncidentTracker::observeSlo(const SloStatus& st, TimePoint now) {
  for (auto& [id, inc] : open_) {
    if (inc.kind != "slo" || inc.subject != st.name) continue;
    if (!inc.budget_at_open) inc.budget_at_open = st.error_budget_remaining;
    inc.budget_now = st.error_budget_remaining;
    double top = 0;
    bool new_peak = false;
    for (const auto& w : st.windows) {
      if (w.window >= st.window) continue;  // alert windows only
      const std::string name = formatDuration(w.window);
      auto& peak = inc.peak_burn[name];
      if (w.burn_rate > peak.first) {
        new_peak = true;
        peak = {w.burn_rate, now};
      }
      top = std::max(top, w.burn_rate);
    }
    if (inc.burn_series.empty() || now - inc.burn_series.back().first >= std::chrono::minutes(1))
      inc.burn_series.push_back({now, top});
    auto saved = slo_saved_.find(id);
    if (new_peak || saved == slo_saved_.end() || now - saved->second >= kSloSaveEvery) {
      slo_saved_[id] = now;
      changed_.insert(id);
    }
  }
}

bool IncidentTracker::observeDelivery(const std::string& alert_id, const std::string& notifier,
                                      bool ok, const std::string& detail, TimePoint at) {
  bool held = false;
  for (auto& [id, inc] : open_) {
    if (std::find(inc.alerts.begin(), inc.alerts.end(), alert_id) == inc.alerts.end()) continue;
    addDeliveryEvent(inc, deliveryEvent(alert_id, notifier, ok, detail, at));
    changed_.insert(id);
    held = true;
  }
  for (auto& inc : resolved_) {  // resolved, not yet handed to takeChanged()
    if (std::find(inc.alerts.begin(), inc.alerts.end(), alert_id) == inc.alerts.end()) continue;
    addDeliveryEvent(inc, deliveryEvent(alert_id, notifier, ok, detail, at));
    held = true;
  }
  return held;
}

std::string IncidentTracker::incidentOf(const std::string& alert_id) const {
  auto holds = [&](const Incident& inc) {
    return std::find(inc.alerts.begin(), inc.alerts.end(), alert_id) != inc.alerts.end();
  };
  for (const auto& [id, inc] : open_)
    if (holds(inc)) return id;
  for (const auto& inc : resolved_)
    if (holds(inc)) return inc.id;
  return "";
}

std::vector<nlohmann::json> IncidentTracker::takeChangedDocs(std::vector<std::string>& resolved) {
  std::vector<nlohmann::json> docs;
  for (auto& inc : takeChanged()) {
    if (!inc.open) {
      if (cfg_) inc.postmortem = (cfg_->agent.postmortems.dir / (inc.id + ".md")).string();
      resolved.push_back(inc.id);
      slo_saved_.erase(inc.id);
    }
    docs.push_back(toJson(inc, true));
  }
  return docs;
}

std::vector<Incident> IncidentTracker::takeChanged() {
  std::vector<Incident> out = std::move(resolved_);
  resolved_.clear();
  for (const auto& id : changed_)
    if (auto it = open_.find(id); it != open_.end()) out.push_back(it->second);
  changed_.clear();
  return out;
}

std::vector<Incident> IncidentTracker::open() const {
  std::vector<Incident> out;
  for (const auto& [id, inc] : open_) out.push_back(inc);
  return out;
}

}  // namespace datawatch
