#include "agent/runtime.hpp"

#include <exception>

#include "core/duration.hpp"
#include "probes/lineage_probes.hpp"

namespace datawatch {
namespace {

// The run's view of the state store's snapshots: notes whether the probe saved
// one (a new baseline), so its run is written at once, not with the next batch.
class SnapshotsSeen final : public SnapshotStore {
 public:
  explicit SnapshotsSeen(SnapshotStore& inner) : inner_(inner) {}
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override {
    return inner_.loadSnapshot(key);
  }
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override {
    saved = true;
    return inner_.saveSnapshot(key, value);
  }
  bool saved = false;

 private:
  SnapshotStore& inner_;
};

}  // namespace

// One run between begin() and complete(); its ctx points into it (not moved).
struct Runtime::Pending {
  Slot* slot = nullptr;
  RunContext ctx;
  MonoTime start;
  std::shared_ptr<const ProbeResult> previous;  // ctx.previous
  std::shared_ptr<const ProbeResult> last;      // for the log: an error repeated is not news
  std::optional<SnapshotsSeen> snapshots;       // ctx.snapshots
  std::optional<MonoTime::duration> took;       // set by a batch: the run's own time
};

Runtime::Runtime(std::shared_ptr<const config::Config> cfg, const Clock& clock,
                 const SourceRegistry& sources, const ProbeRegistry& probes, StateStore* store,
                 Metrics* metrics, std::shared_ptr<spdlog::logger> log,
                 const lineage::LineageGraph* lineage)
    : cfg_(std::move(cfg)), clock_(clock), store_(store), metrics_(metrics), log_(std::move(log)) {
  std::map<std::string, std::string> source_errors;
  for (const auto& sc : cfg_->sources) {
    auto made = sources.create(sc, clock_);
    if (made) {
      sources_[sc.name] = std::move(made).value();
    } else {
      source_errors[sc.name] = made.error();
      log_->warn("source {}: {}", sc.name, made.error());
    }
  }
  for (const auto& pc : cfg_->probes) {
    auto slot = std::make_unique<Slot>();
    if (pc.fromLineage()) {
      slot->probe = lineage ? makeLineageProbe(pc, *lineage)
                            : std::make_unique<ErrorProbe>(
                                  pc,
                                  "OpenLineage probes need the agent (datawatch run): "
                                  "its /api/v1/lineage receives the events");
    } else if (auto err = source_errors.find(pc.source); err != source_errors.end()) {
      slot->probe = std::make_unique<ErrorProbe>(pc, err->second);
    } else {
      auto it = sources_.find(pc.source);
      slot->probe = probes.create(pc, it == sources_.end() ? nullptr : it->second.get());
    }
    const PlannedQuery* q = slot->probe->plan();
    batchable_.push_back(q != nullptr && !q->with_user_sql && q->source->batchesQueries());
    by_name_[slot->probe->config().name] = slots_.size();
    slots_.push_back(std::move(slot));
  }
}

std::vector<ScheduledProbe> Runtime::schedule() const {
  std::vector<ScheduledProbe> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const auto& c = slots_[i]->probe->config();
    out.push_back({c.name, c.source, c.every, c.timeout, batchable_[i] != 0});
  }
  return out;
}

std::map<std::string, int> Runtime::sourceLimits() const {
  std::map<std::string, int> out;
  for (const auto& s : cfg_->sources) out[s.name] = s.max_connections;
  return out;
}

void Runtime::primeFromStore() {
  if (!store_) return;
  for (auto& slot : slots_) {
    const auto& name = slot->probe->config().name;
    auto last = store_->lastRun(name);
    auto measured = store_->lastMeasuredRun(name);
    MutexLock lock(slot->mu);
    if (last && *last) slot->last = std::make_shared<const ProbeResult>(std::move(**last));
    if (measured && *measured)
      slot->last_measured = std::make_shared<const ProbeResult>(std::move(**measured));
    if (!last || !measured) log_->warn("state store: cannot read the last runs of probe {}", name);
  }
}

void Runtime::remember(std::shared_ptr<const ProbeResult> shared) {
  const ProbeResult& r = *shared;
  auto it = by_name_.find(r.probe);
  if (it == by_name_.end()) return;
  Slot& slot = *slots_[it->second];
  MutexLock lock(slot.mu);
  if (!slot.last || slot.last->observed_at < r.observed_at) slot.last = shared;
  const bool measured = r.value.has_value() && r.status != ProbeStatus::Error;
  if (measured && (!slot.last_measured || slot.last_measured->observed_at < r.observed_at))
    slot.last_measured = shared;
}

std::optional<ProbeResult> Runtime::lastResult(size_t i) const {
  std::shared_ptr<const ProbeResult> last;
  {
    MutexLock lock(slots_[i]->mu);
    last = slots_[i]->last;
  }
  if (!last) return std::nullopt;
  return *last;
}

ProbeResult Runtime::runProbe(size_t i, const std::atomic<bool>* cancelled) {
  return *run(i, cancelled);
}

std::shared_ptr<const ProbeResult> Runtime::run(size_t i, const std::atomic<bool>* cancelled) {
  Pending p;
  begin(p, i, cancelled);
  return complete(p, measure(*p.slot, p.ctx));
}

bool Runtime::batchable(size_t i) const {
  return batchable_[i] != 0;
}

std::vector<size_t> Runtime::runBatch(const std::vector<size_t>& probes,
                                      const std::atomic<bool>* cancelled) {
  std::vector<size_t> joined, left;
  SqlSource* source = nullptr;
  for (size_t i : probes) {
    SqlSource* s = wouldJoinBatch(i) ? slots_[i]->probe->plan()->source : nullptr;
    if (s != nullptr && source == nullptr) source = s;
    (s != nullptr && s == source ? joined : left).push_back(i);
  }
  if (joined.size() < 2) return probes;
  std::vector<Pending> runs(joined.size());  // not resized: each ctx points into its Pending
  std::vector<BatchQuery> batch;
  for (size_t k = 0; k < joined.size(); ++k) {
    begin(runs[k], joined[k], cancelled);
    batch.push_back(runs[k].slot->probe->plan()->forRun(runs[k].ctx));
  }
  auto answers = sendAhead(*source, batch);
  const MonoTime answered = clock_.monotonic();
  for (size_t k = 0; k < runs.size(); ++k) {
    if (answers.size() != runs.size() || !answers[k]) {
      left.push_back(joined[k]);  // not answered in the batch: it runs on its own
      continue;
    }
    Pending& p = runs[k];
    p.ctx.planned = &answers[k];
    const MonoTime judged = clock_.monotonic();
    ProbeResult r = measure(*p.slot, p.ctx);
    // Its own time: the batch's round trip and its own judging, not the
    // batchmates' judging and recording before it.
    p.took = (answered - p.start) + (clock_.monotonic() - judged);
    complete(p, std::move(r));
  }
  return left;
}

bool Runtime::wouldJoinBatch(size_t i) const {
  // A run in a batch takes as long as the batch: a slow query makes its
  // batchmates slow once, then they batch again without it (it stays slow on
  // its own).
  if (!batchable_[i]) return false;  // before touching the slot (a cache miss)
  const Slot& slot = *slots_[i];
  MutexLock lock(slot.mu);
  return !slot.last || (slot.last->status != ProbeStatus::Error &&
                        slot.last->duration_seconds < kBatchSlowRunSeconds);
}

SqlSource::BatchAnswers Runtime::sendAhead(SqlSource& source,
                                           const std::vector<BatchQuery>& batch) const {
  try {
    return source.queryBatch(batch);
  } catch (const std::exception& ex) {  // as measure(): a bug, not a reason to stop
    log_->error("source {}: a batch of {} queries threw: {}; running them one by one",
                source.name(), batch.size(), ex.what());
  } catch (...) {
    log_->error("source {}: a batch of {} queries threw; running them one by one", source.name(),
                batch.size());
  }
  return {};
}

void Runtime::begin(Pending& p, size_t i, const std::atomic<bool>* cancelled) {
  p.slot = slots_[i].get();
  {
    MutexLock lock(p.slot->mu);
    p.previous = p.slot->last_measured;
    p.last = p.slot->last;
  }
  const auto& cfg = p.slot->probe->config();
  p.ctx.now = clock_.now();
  p.start = clock_.monotonic();
  p.ctx.limits.deadline = p.start + cfg.timeout;
  p.ctx.limits.cancelled = cancelled;
  p.ctx.previous = p.previous.get();
  if (store_) p.ctx.snapshots = &p.snapshots.emplace(*store_);
  p.ctx.shared_snapshots = shared_snapshots_;
}

std::shared_ptr<const ProbeResult> Runtime::complete(Pending& p, ProbeResult r) {
  Slot& slot = *p.slot;
  const auto& cfg = slot.probe->config();
  const RunContext& ctx = p.ctx;
  const auto took = p.took ? *p.took : clock_.monotonic() - p.start;
  if (r.status != ProbeStatus::Error && clock_.monotonic() > ctx.limits.deadline) {
    // The source did not notice the deadline: a late answer is not a measurement.
    r = ProbeResult::error("timed out after " +
                           humanDuration(std::chrono::duration_cast<Duration>(took)) +
                           " (timeout " + humanDuration(cfg.timeout) + ")");
  }
  r.duration_seconds = std::chrono::duration<double>(took).count();
  r.probe = cfg.name;
  r.type = config::toString(cfg.type);
  r.source = cfg.source;
  r.target = cfg.target();
  r.owner = cfg.owner;
  r.observed_at = ctx.now;
  r.makeValidUtf8();  // text from data may hold any bytes (probes/result.hpp)
  auto shared = std::make_shared<const ProbeResult>(std::move(r));
  if (ctx.limits.cancelled && ctx.limits.cancelled->load() &&
      shared->status == ProbeStatus::Error) {
    return shared;  // abandoned for shutdown: not a measurement, not recorded
  }
  record(slot, shared);
  // A probe that moved its baseline (schema, drift, volume history) compares
  // its next run with it: that run reporting the change must be durable as
  // soon as the baseline is, or a crash in between hides the change for good.
  if (p.snapshots && p.snapshots->saved) {
    if (auto st = store_->flush(); !st) log_->warn("{} (probe {})", st.message(), cfg.name);
  }
  // One warning when a probe starts failing with an error (or its error
  // changes), not one per run: a dropped table at 1 s would log every second.
  const auto& last = p.last;
  const bool same_error = last && last->status == ProbeStatus::Error &&
                          shared->status == ProbeStatus::Error && last->message == shared->message;
  if (shared->status == ProbeStatus::Error && !same_error)
    log_->warn("probe {} error: {}", cfg.name, shared->message);
  else
    log_->debug("probe {} {}: {}", cfg.name, toString(shared->status), shared->message);
  return shared;
}

ProbeResult Runtime::measure(Slot& slot, const RunContext& ctx) {
  // Probes report failures as values; an exception is a bug, but it must not stop the agent.
  std::string what;
  try {
    return slot.probe->run(ctx);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  log_->error("probe {} threw: {}", slot.probe->config().name, what);
  return ProbeResult::error("internal error: " + what);
}

void Runtime::record(Slot& slot, const std::shared_ptr<const ProbeResult>& shared) {
  const ProbeResult& r = *shared;
  if (store_) {
    if (auto st = store_->recordSharedRun(shared); !st) {
      log_->warn("{} (probe {})", st.message(), r.probe);
      if (metrics_) metrics_->stateStoreError();
    }
  }
  {
    // The probe's last result before anyone hears of it: an alert the
    // observer fires is never visible (status API) next to an older result.
    MutexLock lock(slot.mu);
    slot.last = shared;
    if (r.status != ProbeStatus::Error && r.value) slot.last_measured = shared;
  }
  if (metrics_) metrics_->observe(r);
  try {
    if (observer_) observer_(shared);
  } catch (const std::exception& ex) {
    log_->error("probe {}: handling its result threw: {}", r.probe, ex.what());
  } catch (...) {
    log_->error("probe {}: handling its result threw a non-standard exception", r.probe);
  }
}

}  // namespace datawatch
