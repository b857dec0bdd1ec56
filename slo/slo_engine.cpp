#include "slo/slo_engine.hpp"

#include <algorithm>
#include <sstream>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "store/state_store.hpp"

namespace datawatch {
namespace {

using std::chrono::minutes;

constexpr size_t kMaxGaps = 10;
// Tiers of bucket resolution (see the header): up to 1h in 1-minute buckets, up
// to 6h in 5-minute ones, up to 3d in 30-minute ones, longer in 168 buckets.
constexpr Duration kMinuteTierMax = std::chrono::hours(1);
constexpr Duration kFiveTierMax = std::chrono::hours(6);
constexpr Duration kHalfHourTierMax = std::chrono::hours(72);
constexpr int64_t kLongTierBuckets = 168;

TimePoint floorMinute(TimePoint t) {
  return std::chrono::floor<minutes>(t);
}

bool counted(const ProbeResult& run, config::ErrorPolicy errors) {
  return run.status != ProbeStatus::Error || errors == config::ErrorPolicy::Bad;
}

}  // namespace

const WindowStatus* SloStatus::find(Duration w) const {
  for (const auto& ws : windows)
    if (ws.window == w) return &ws;
  return nullptr;
}

nlohmann::json toJson(const SloStatus& st) {
  auto ts = [](const std::optional<TimePoint>& t) -> nlohmann::json {
    return t ? nlohmann::json(formatRfc3339(*t)) : nlohmann::json(nullptr);
  };
  nlohmann::json j{
      {"name", st.name},
      {"objective_percent", st.objective * 100},
      {"window", formatDuration(st.window)},
      {"budgeting", st.budgeting == config::Budgeting::Timeslices ? "timeslices" : "occurrences"},
      {"sli", st.sloWindow().counts.total == 0 ? nlohmann::json(nullptr)
                                               : nlohmann::json(1 - st.sloWindow().error_ratio)},
      {"error_budget_remaining", st.error_budget_remaining},
      {"error_budget_events", st.error_budget_events},
      {"breaching", st.breaching},
      {"data_since", ts(st.data_since)},
      {"no_data_since", ts(st.no_data_since)}};
  j["windows"] = nlohmann::json::array();
  for (const auto& w : st.windows) {
    j["windows"].push_back({{"window", formatDuration(w.window)},
                            {"events", w.counts.total},
                            {"bad_events", w.counts.bad},
                            {"no_data_minutes", w.counts.no_data},
                            {"error_ratio", w.error_ratio},
                            {"burn_rate", w.burn_rate}});
  }
  j["rows"] = nlohmann::json::array();
  for (const auto& r : st.rows) {
    j["rows"].push_back({{"severity", r.row.severity},
                         {"long_window", formatDuration(r.row.long_window)},
                         {"short_window", formatDuration(r.row.short_window)},
                         {"burn_rate_threshold", r.row.burn_rate},
                         {"long_burn_rate", r.long_burn_rate},
                         {"short_burn_rate", r.short_burn_rate},
                         {"long_bad_events", r.long_bad_events},
                         {"breaching", r.breaching},
                         {"no_data", r.no_data}});
    if (r.row.configured_short > Duration{0})
      j["rows"].back()["short_window_configured"] = formatDuration(r.row.configured_short);
  }
  j["recent_gaps"] = nlohmann::json::array();
  for (const auto& g : st.recent_gaps) {
    j["recent_gaps"].push_back(
        {{"from", formatRfc3339(g.from)},
         {"to", formatRfc3339(g.to)},
         {"duration", formatDuration(std::chrono::duration_cast<Duration>(g.to - g.from))}});
  }
  return j;
}

double SloState::plannedEvents() const {
  if (cfg_.budgeting == config::Budgeting::Timeslices) return cfg_.window / minutes(1);
  double n = 0;
  for (const auto& t : tracks_)
    if (t.probe.every > Duration{0})  // as plannedEvents(cfg, slo, window) in burn_rate.hpp
      n +=
          std::chrono::duration<double>(cfg_.window) / std::chrono::duration<double>(t.probe.every);
  return n;
}

Duration SloState::staleAfter(Duration every) {
  return std::max<Duration>(2 * every, minutes(2));
}

namespace {

Duration slowest(const std::vector<SloProbe>& probes) {
  Duration s{0};
  for (const auto& p : probes) s = std::max(s, p.every);
  return s;
}

}  // namespace

namespace {

// The SLO's windows ascending (the SLO window, the longest, last) in four tiers
// of resolution (see the header).
std::vector<RingSet::Tier> windowTiers(const config::SloConfig& cfg,
                                       const std::vector<BurnRow>& rows) {
  std::set<Duration> windows{cfg.window};
  for (const auto& r : rows) {
    windows.insert(r.long_window);
    windows.insert(r.short_window);
  }
  std::vector<RingSet::Tier> tiers{
      {minutes(1), {}}, {minutes(5), {}}, {minutes(30), {}}, {minutes(1), {}}};
  for (Duration w : windows) {
    const size_t tier = w <= kMinuteTierMax     ? 0
                        : w <= kFiveTierMax     ? 1
                        : w <= kHalfHourTierMax ? 2
                                                : 3;
    tiers[tier].windows.push_back(w);
  }
  if (!tiers[3].windows.empty()) {
    tiers[3].resolution = std::max<Duration>(
        minutes(1), std::chrono::ceil<minutes>(tiers[3].windows.back() / kLongTierBuckets));
  }
  std::erase_if(tiers, [](const RingSet::Tier& t) { return t.windows.empty(); });
  return tiers;
}

}  // namespace

SloState::SloState(const config::SloConfig& cfg, std::vector<SloProbe> probes)
    : cfg_(cfg),
      objective_(cfg.objective / 100.0),
      rows_(burnRows(cfg, slowest(probes))),
      row_breaching_(rows_.size(), false),
      rings_(windowTiers(cfg, rows_)) {
  for (auto& p : probes) tracks_.push_back({p, staleAfter(p.every), std::nullopt, false});
}

void SloState::addEvent(TimePoint at, bool bad, bool replay) {
  rings_.add(at, bad);
  if (!replay) {
    ++events_;
    bad_events_ += bad;
  }
}

void SloState::recordEvent(TimePoint at, bool bad) {
  addEvent(at, bad, false);
}

void SloState::record(const ProbeResult& run, bool replay) {
  auto it = std::find_if(tracks_.begin(), tracks_.end(),
                         [&](const Track& t) { return t.probe.name == run.probe; });
  if (it == tracks_.end() || !counted(run, cfg_.errors)) return;
  // Runs of one probe never overlap, so a live run no newer than the last one
  // counted is that run again: a reload replays the store while the probe loop
  // keeps running, and a run stored just before the replay is then recorded live.
  if (!replay && it->last_at && run.observed_at <= *it->last_at) return;
  const bool bad = run.status != ProbeStatus::Pass;
  if (!cursor_) {
    cursor_ = floorMinute(run.observed_at);
    data_since_ = cursor_;
  }
  closeUntil(run.observed_at, replay);  // the minutes before this run end with the old state
  if (!it->last_at || run.observed_at >= *it->last_at) {
    it->last_at = run.observed_at;
    it->last_bad = bad;
  }
  if (cfg_.budgeting == config::Budgeting::Occurrences) addEvent(run.observed_at, bad, replay);
}

void SloState::closeUntil(TimePoint t, bool replay) {
  if (!cursor_) return;
  const TimePoint limit = floorMinute(t);  // minutes [m, m+1) with m < limit have ended
  // Minutes older than the longest window cannot count any more: skip them, but
  // keep an open gap's start.
  const Duration longest = rings_.window(rings_.windowCount() - 1);
  if (limit - *cursor_ > longest + minutes(1)) {
    const TimePoint skip_to = floorMinute(limit - longest);
    closeMinute(*cursor_, replay);  // decides whether the skipped stretch starts a gap
    cursor_ = skip_to;
  }
  for (; *cursor_ < limit; *cursor_ += minutes(1)) closeMinute(*cursor_, replay);
}

void SloState::closeMinute(TimePoint m, bool replay) {
  const TimePoint end = m + minutes(1);
  bool covered = true, bad = false;
  for (const auto& t : tracks_) {
    if (!t.last_at || *t.last_at >= end || end - *t.last_at > t.stale_after) {
      covered = false;
      break;
    }
    bad = bad || t.last_bad;
  }
  if (!covered) {
    rings_.addNoData(m);
    if (!gap_start_) gap_start_ = m;
    return;
  }
  if (gap_start_) {
    if (gaps_.size() == kMaxGaps) gaps_.erase(gaps_.begin());
    gaps_.push_back({*gap_start_, m});
    gap_start_.reset();
  }
  if (cfg_.budgeting == config::Budgeting::Timeslices) addEvent(m, bad, replay);
}

SloStatus SloState::evaluate(TimePoint now) {
  SloStatus st;
  evaluate(now, st);
  return st;
}

void SloState::evaluate(TimePoint now, SloStatus& st) {
  closeUntil(now, false);
  if (st.name != cfg_.name) st.name = cfg_.name;  // reused buffers: copy only what changed
  st.objective = objective_;
  st.window = cfg_.window;
  st.budgeting = cfg_.budgeting;
  rings_.advanceTo(now);
  st.windows.resize(rings_.windowCount());
  for (size_t i = 0; i < st.windows.size(); ++i) {
    WindowStatus& ws = st.windows[i];
    ws.window = rings_.window(i);
    ws.counts = rings_.sum(i);
    ws.error_ratio = ws.counts.errorRatio();
    ws.burn_rate = burnRate(ws.error_ratio, objective_);
  }
  const auto& slo_counts = st.sloWindow().counts;
  st.error_budget_events =
      (1.0 - objective_) * std::max(static_cast<double>(slo_counts.total), plannedEvents());
  st.error_budget_remaining =
      st.error_budget_events > 0
          ? 1.0 - static_cast<double>(slo_counts.bad) / st.error_budget_events
          : 1.0;
  evaluateRows(st);
  st.data_since = data_since_;
  st.no_data_since = gap_start_;
  st.recent_gaps = gaps_;
  st.events_total = events_;
  st.bad_events_total = bad_events_;
}

void SloState::evaluateRows(SloStatus& st) {
  st.rows.resize(rows_.size());
  bool page = false, ticket = false, other = false;
  const auto min_bad = static_cast<uint64_t>(std::max(0, cfg_.alerting.min_bad_events));
  for (size_t i = 0; i < rows_.size(); ++i) {
    const BurnRow& r = rows_[i];
    const WindowStatus* lw = st.find(r.long_window);
    const WindowStatus* sw = st.find(r.short_window);
    RowStatus& rs = st.rows[i];
    if (rs.row.severity != r.severity) rs.row.severity = r.severity;
    rs.row.long_window = r.long_window;
    rs.row.short_window = r.short_window;
    rs.row.burn_rate = r.burn_rate;
    rs.row.budget_share = r.budget_share;
    rs.row.configured_short = r.configured_short;
    rs.long_burn_rate = lw->burn_rate;
    rs.short_burn_rate = sw->burn_rate;
    rs.long_bad_events = lw->counts.bad;
    // No data (a window without events) is no evidence either way: hold.
    rs.no_data = lw->counts.total == 0 || sw->counts.total == 0;
    if (!rs.no_data) {
      row_breaching_[i] =
          lw->burn_rate > r.burn_rate && sw->burn_rate > r.burn_rate && lw->counts.bad >= min_bad;
    }
    rs.breaching = row_breaching_[i];
    if (rs.breaching) {
      page = page || r.severity == "page";
      ticket = ticket || r.severity == "ticket";
      other = other || (r.severity != "page" && r.severity != "ticket");
    }
  }
  // The set is rebuilt only when it changes: no allocation on a steady tick.
  if (other || st.breaching.size() != static_cast<size_t>(page) + ticket ||
      (page && !st.breaching.count("page")) || (ticket && !st.breaching.count("ticket"))) {
    st.breaching.clear();
    for (const auto& rs : st.rows)
      if (rs.breaching) st.breaching.insert(rs.row.severity);
  }
}

// ------------------------------------------------------------------ SloEngine

namespace {

// Everything that shapes an SLO's state: when it changes, the state is rebuilt.
std::string fingerprint(const config::SloConfig& s, const std::vector<SloProbe>& probes) {
  std::ostringstream o;
  o << s.objective << '|' << s.window.count() << '|' << static_cast<int>(s.budgeting) << '|'
    << static_cast<int>(s.errors) << '|' << s.alerting.min_bad_events;
  for (const auto& w : s.alerting.windows)
    o << '|' << w.severity << ':' << w.long_window.count() << ':' << w.short_window.count() << ':'
      << w.burn_rate;
  for (const auto& p : probes) o << '|' << p.name << ':' << p.every.count();
  return o.str();
}

}  // namespace

SloEngine::RebuildStats SloEngine::configure(const config::Config& cfg, StateStore* store,
                                             TimePoint now) {
  RebuildStats stats;
  std::map<std::string, Entry> next;
  MutexLock lock(mu_);
  for (const auto& s : cfg.slos) {
    std::vector<SloProbe> probes;
    for (const auto& name : s.probes) {
      const auto* p = cfg.findProbe(name);
      probes.push_back({name, p ? p->every : Duration{std::chrono::minutes(5)}});
    }
    const std::string fp = fingerprint(s, probes);
    if (auto old = slos_.find(s.name); old != slos_.end() && old->second.fingerprint == fp) {
      next[s.name] = std::move(old->second);
      ++stats.kept;
      continue;
    }
    auto state = std::make_unique<SloState>(s, probes);
    if (store) {
      // Replay the newest runs of the SLO window in time order across the SLO's
      // probes: at most twice the current cadence's and at least one a minute, so
      // after a cadence change the bound cuts the oldest history, not the newest.
      std::vector<ProbeResult> runs;
      const TimePoint from = now - s.window;
      for (const auto& p : probes) {
        const auto expected =
            static_cast<size_t>(s.window / std::max<Duration>(p.every, Duration{1}));
        const auto per_minute = static_cast<size_t>(s.window / std::chrono::minutes(1));
        auto r = store->latestRuns(p.name, from, now + Duration{1},
                                   std::max(expected * 2 + 1000, per_minute + 1000));
        if (!r) {
          stats.errors.push_back("slo " + s.name + ": " + r.error());
          continue;
        }
        for (auto& run : *r) runs.push_back(std::move(run));
      }
      std::stable_sort(runs.begin(), runs.end(), [](const ProbeResult& a, const ProbeResult& b) {
        return a.observed_at < b.observed_at;
      });
      for (const auto& run : runs) state->record(run, true);
      stats.runs += runs.size();
      ++stats.slos;
    }
    next[s.name] = Entry{fp, std::move(state)};
  }
  slos_ = std::move(next);
  by_probe_.clear();
  for (auto& [name, e] : slos_)
    for (const auto& p : e.state->config().probes) by_probe_[p].push_back(e.state.get());
  return stats;
}

void SloEngine::record(const ProbeResult& run) {
  MutexLock lock(mu_);
  auto it = by_probe_.find(run.probe);
  if (it == by_probe_.end()) return;
  for (SloState* s : it->second) s->record(run);
}

std::vector<SloStatus> SloEngine::evaluate(TimePoint now) {
  std::vector<SloStatus> out;
  evaluate(now, out);
  return out;
}

void SloEngine::evaluate(TimePoint now, std::vector<SloStatus>& out) {
  MutexLock lock(mu_);
  out.resize(slos_.size());
  size_t i = 0;
  for (auto& [name, e] : slos_) e.state->evaluate(now, out[i++]);
}

size_t SloEngine::size() const {
  MutexLock lock(mu_);
  return slos_.size();
}

}  // namespace datawatch
