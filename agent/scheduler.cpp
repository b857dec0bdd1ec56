#include "agent/scheduler.hpp"

#include <algorithm>

namespace datawatch {

Scheduler::Phases Scheduler::phasesByInterval(const std::vector<ScheduledProbe>& probes) {
  Phases n;
  for (const auto& p : probes) ++n[{p.every, p.batches}];
  for (auto& [key, count] : n)
    count = std::max(kMinPhases, count / (key.second ? kSharedBatch : kBatch));
  return n;
}

Duration Scheduler::jitterFor(const std::string& name, Duration every, Duration max_jitter,
                              int64_t phases) {
  const int64_t span = std::min(every, max_jitter).count();
  if (span <= 0) return Duration{0};
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // `phases` slots spread evenly over the span, each on the kJitterGrid grid
  // (fewer when the span has fewer grid steps): probes sharing an interval
  // fall into the same slots, so one wake-up of the loop starts several.
  const int64_t step = kJitterGrid.count();
  const int64_t slots = std::min(phases, span / step);
  if (slots <= 1) return Duration{0};
  const auto slot = static_cast<int64_t>(h % static_cast<uint64_t>(slots));
  return Duration{slot * span / slots / step * step};
}

void Scheduler::add(ScheduledProbe p, TimePoint start, int64_t phases,
                    std::map<std::string, size_t>& sources) {
  State s;
  s.due = start + jitterFor(p.name, p.every, opts_.max_jitter, phases);
  auto [src, added] = sources.try_emplace(p.source, sources_.size());
  if (added) {
    SourceState st;
    if (auto lim = opts_.source_limits.find(p.source); lim != opts_.source_limits.end())
      st.limit = std::max(lim->second, 0);
    sources_.push_back(std::move(st));
  }
  s.source = src->second;
  s.cfg = std::move(p);
  by_name_[s.cfg.name] = probes_.size();
  probes_.push_back(std::move(s));
}

Scheduler::Scheduler(Options options, std::vector<ScheduledProbe> probes, TimePoint start)
    : opts_(std::move(options)) {
  probes_.reserve(probes.size());
  const auto phases = phasesByInterval(probes);
  std::map<std::string, size_t> sources;
  for (auto& p : probes) {
    const int64_t n = phasesOf(phases, p);
    add(std::move(p), start, n, sources);
  }
  for (size_t i = 0; i < probes_.size(); ++i) ready_.push({probes_[i].due, i});
}

Scheduler::Scheduler(Options options, std::vector<ScheduledProbe> probes, TimePoint start,
                     const Scheduler& previous, const std::set<std::string>& in_flight)
    : opts_(std::move(options)) {
  probes_.reserve(probes.size());
  const auto phases = phasesByInterval(probes);
  std::map<std::string, size_t> sources;
  for (auto& p : probes) {
    const int64_t n = phasesOf(phases, p);
    add(std::move(p), start, n, sources);
  }
  for (size_t i = 0; i < probes_.size(); ++i) {
    State& s = probes_[i];
    if (auto old = previous.find(s.cfg.name)) {
      const State& was = previous.probes_[*old];
      if (was.cfg.every == s.cfg.every) {
        s.due = was.due;
        s.missed_total = was.missed_total;
      }
    }
    if (in_flight.count(s.cfg.name)) {  // its old run holds the slots until it finishes
      s.running = true;
      ++running_;
      ++sources_[s.source].in_flight;
    } else {
      ready_.push({s.due, i});
    }
  }
}

std::optional<size_t> Scheduler::find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<Dispatch> Scheduler::takeDue(TimePoint now) {
  std::vector<Dispatch> out;
  while (!ready_.empty() && running_ < static_cast<size_t>(opts_.max_concurrent)) {
    const QueueItem top = ready_.top();
    if (top.due > now) break;
    ready_.pop();
    SourceState& src = sources_[probes_[top.index].source];
    if (src.full()) {
      src.blocked.push(top);
      continue;
    }
    ++running_;
    ++src.in_flight;
    out.push_back(start(top, now));
  }
  return out;
}

Dispatch Scheduler::start(const QueueItem& item, TimePoint now) {
  State& s = probes_[item.index];
  // Ticks of the interval that passed while it could not start are missed, not stacked.
  const uint64_t missed = static_cast<uint64_t>((now - s.due) / s.cfg.every);
  s.missed_total += missed;
  s.due += missed * s.cfg.every;
  s.running = true;
  return {item.index, s.due, missed};
}

std::vector<Dispatch> Scheduler::takeRiders(size_t holder, TimePoint now, size_t max,
                                            const std::function<bool(size_t)>& joins) {
  std::vector<Dispatch> out;
  const size_t source = probes_[holder].source;
  std::vector<QueueItem> keep;
  auto take = [&](DueQueue& q, bool mine, size_t look) {
    for (; look > 0 && !q.empty() && out.size() < max && q.top().due <= now; --look) {
      const QueueItem item = q.top();
      q.pop();
      if ((mine || probes_[item.index].source == source) && joins(item.index)) {
        out.push_back(start(item, now));
        probes_[item.index].riding = true;
      } else {
        keep.push_back(item);
      }
    }
    for (const auto& k : keep) q.push(k);
    keep.clear();
  };
  SourceState& src = sources_[source];
  take(src.blocked, true, src.blocked.size());  // waiting for a slot of this source
  take(ready_, false, kRiderLookahead);         // due, not looked at yet
  // What still waits for a slot (it would not join) gets the slots free now
  // (the riders' own went to riders): back to ready_, as many as are free.
  for (int free = src.limit - src.in_flight; free > 0 && !src.blocked.empty(); --free) {
    ready_.push(src.blocked.top());
    src.blocked.pop();
  }
  return out;
}

void Scheduler::freeSlots(const State& s) {
  --running_;
  SourceState& src = sources_[s.source];
  src.in_flight = std::max(0, src.in_flight - 1);
  // A slot on this source opened: the earliest probe waiting for it is eligible again.
  if (!src.blocked.empty()) {
    ready_.push(src.blocked.top());
    src.blocked.pop();
  }
}

bool Scheduler::ride(size_t index) {
  State& s = probes_[index];
  if (!s.running || s.riding) return false;
  s.riding = true;
  freeSlots(s);
  return true;
}

void Scheduler::finished(size_t index, TimePoint now) {
  State& s = probes_[index];
  if (!s.running) return;
  s.running = false;
  if (s.riding)
    s.riding = false;  // its slots were freed when it started riding
  else
    freeSlots(s);
  s.due += s.cfg.every;
  if (now > s.due) {
    const auto passed = static_cast<uint64_t>((now - s.due) / s.cfg.every) + 1;
    s.missed_total += passed;
    s.due += passed * s.cfg.every;
  }
  ready_.push({s.due, index});
}

std::optional<TimePoint> Scheduler::nextWakeup() const {
  if (running_ >= static_cast<size_t>(opts_.max_concurrent) || ready_.empty()) return std::nullopt;
  return ready_.top().due;
}

}  // namespace datawatch
