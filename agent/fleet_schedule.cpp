#include "agent/fleet_schedule.hpp"

#include "agent/metrics.hpp"
#include "agent/scheduler.hpp"
#include "core/thread_name.hpp"

namespace datawatch {
namespace {
// A run's lease outlives its timeout by this much (cancellation, recording).
constexpr Duration kLeaseMargin{std::chrono::seconds(10)};
}  // namespace

FleetProbe fleetProbe(const ScheduledProbe& p, int64_t phases) {
  return FleetProbe{p.name, p.source, p.every, p.timeout + kLeaseMargin,
                    Scheduler::jitterFor(p.name, p.every, Scheduler::kMaxJitter, phases)};
}

FleetClaimer::FleetClaimer(Fleet& fleet, std::shared_ptr<spdlog::logger> log, Metrics* metrics)
    : fleet_(fleet), log_(std::move(log)), metrics_(metrics) {}

FleetClaimer::~FleetClaimer() {
  stop();
}

void FleetClaimer::start(std::function<void()> wake_loop) {
  wake_loop_ = std::move(wake_loop);
  thread_ = startNamedThread("dw-fleet-sched", [this] { loop(); });
}

void FleetClaimer::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.notifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void FleetClaimer::configure(std::vector<FleetProbe> probes, std::map<std::string, int> limits,
                             int max_concurrent) {
  MutexLock lock(mu_);
  source_of_.clear();
  for (const auto& p : probes) source_of_[p.name] = p.source;
  probes_ = std::move(probes);
  limits_ = std::move(limits);
  max_concurrent_ = max_concurrent;
  sync_pending_ = true;
  cv_.notifyAll();
}

std::vector<FleetClaim> FleetClaimer::take() {
  MutexLock lock(mu_);
  std::vector<FleetClaim> out;
  out.swap(inbox_);
  return out;
}

void FleetClaimer::finished(const std::string& probe) {
  MutexLock lock(mu_);
  done_.push_back(probe);
  if (running_ > 0) --running_;
  // The source it was claimed under (a reload may have moved or removed it).
  auto src = claimed_source_.find(probe);
  if (src != claimed_source_.end()) {
    auto& n = running_per_source_[src->second];
    if (n > 0) --n;
    claimed_source_.erase(src);
  }
  cv_.notifyAll();
}

FleetClaimer::Work FleetClaimer::collect() {
  Work w;
  if (sync_pending_) {
    w.sync = probes_;
    sync_pending_ = false;
  }
  w.limits = limits_;
  w.done.swap(done_);
  const size_t max = static_cast<size_t>(max_concurrent_);
  w.capacity = running_ < max ? max - running_ : 0;
  for (const auto& [source, limit] : limits_) {
    const size_t used = running_per_source_[source];
    const size_t lim = static_cast<size_t>(std::max(limit, 0));
    w.free_per_source[source] = used < lim ? lim - used : 0;
  }
  return w;
}

void FleetClaimer::trouble(const std::string& what) {
  if (in_trouble_) return;  // logged once per outage, not every poll
  in_trouble_ = true;
  log_->warn("fleet: {}; retrying every {} ms", what,
             std::chrono::duration_cast<std::chrono::milliseconds>(kPollInterval).count());
}

void FleetClaimer::apply(Work& w) {
  if (w.sync) {
    if (auto st = fleet_.syncProbes(*w.sync, w.limits); !st) {
      trouble("cannot update the shared probe schedule: " + st.message());
      MutexLock lock(mu_);
      if (!sync_pending_) sync_pending_ = true;  // a newer configure() wins
      w.capacity = 0;
      w.failed = true;
    }
  }
  if (!w.done.empty()) {
    // Retried until it works (the state database restarting): an unreleased
    // lease would keep its probe from running until it expired.
    if (auto st = fleet_.release(w.done); !st) {
      trouble("cannot release " + std::to_string(w.done.size()) +
              " probe lease(s): " + st.message());
      MutexLock lock(mu_);
      done_.insert(done_.end(), w.done.begin(), w.done.end());
      w.capacity = 0;
      w.failed = true;
    }
  }
  if (w.capacity == 0) return;
  auto claims = fleet_.claim(w.capacity, w.free_per_source);
  if (!claims) {
    trouble("cannot claim probe runs: " + claims.error());
    w.failed = true;
    return;
  }
  if (in_trouble_) {
    log_->info("fleet: the shared probe schedule answers again");
    in_trouble_ = false;
  }
  if (claims->empty()) return;
  if (metrics_) metrics_->probeClaims(claims->size());
  {
    MutexLock lock(mu_);
    for (auto& c : *claims) {
      ++running_;
      auto src = source_of_.find(c.probe);
      if (src != source_of_.end()) {
        ++running_per_source_[src->second];
        claimed_source_[c.probe] = src->second;
      }
      inbox_.push_back(std::move(c));
    }
  }
  if (wake_loop_) wake_loop_();
}

void FleetClaimer::loop() {
  MutexLock lock(mu_);
  while (!stopping_) {
    Work w = collect();
    lock.unlock();
    try {
      apply(w);
    } catch (const std::exception& ex) {  // a bug: logged, and claiming goes on
      log_->error("fleet claim loop: {}", ex.what());
    }
    lock.lock();
    if (stopping_) break;
    // A failed database call waits a poll interval before it is tried again.
    // One claim (and one batch of releases) per poll: a claim's cost in the
    // state database is mostly fixed, so claiming after every finished run
    // would cost the database once per run. A new config is synced at once.
    const bool retrying = w.failed;
    auto news = [&]() REQUIRES(mu_) { return stopping_ || (sync_pending_ && !retrying); };
    if (!news()) cv_.waitFor(lock, kPollInterval, news);
  }
}

FleetSchedule::FleetSchedule(FleetClaimer& claimer, std::vector<ScheduledProbe> probes)
    : claimer_(claimer), probes_(std::move(probes)), running_(probes_.size(), false) {
  for (size_t i = 0; i < probes_.size(); ++i) by_name_[probes_[i].name] = i;
}

std::optional<size_t> FleetSchedule::find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<Dispatch> FleetSchedule::takeDue(TimePoint /*now*/) {
  std::vector<Dispatch> out;
  for (auto& c : claimer_.take()) {
    auto i = find(c.probe);
    if (!i || running_[*i]) {  // gone from the config, or running here already
      claimer_.finished(c.probe);
      continue;
    }
    running_[*i] = true;
    out.push_back(Dispatch{*i, c.due, 0});
  }
  return out;
}

void FleetSchedule::finished(size_t index, TimePoint /*now*/) {
  running_[index] = false;
  claimer_.finished(probes_[index].name);
}

}  // namespace datawatch
