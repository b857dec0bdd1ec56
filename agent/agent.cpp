#include "agent/agent.hpp"

#include <signal.h>

#include <cstdlib>
#include <ctime>
#include <functional>
#include <thread>

#include "agent/version.hpp"
#include "alerting/notification.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem.hpp"
#include "slo/slo_advice.hpp"
#include "store/batched_state_store.hpp"

namespace datawatch {
namespace {
// SLO metrics and breaching logs are refreshed this often (burn-rate windows
// start at 5 minutes; Prometheus scrapes every 15-60 s).
constexpr Duration kSloEvaluationInterval = std::chrono::seconds(10);

std::string describeMute(const Alert& a) {
  const std::string why = muteReason(a);
  return why.empty() ? "" : " (" + why + "; not sent)";
}
}  // namespace

void blockAgentSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Agent::Agent(AgentOptions options, const Clock& clock, std::shared_ptr<spdlog::logger> log,
             std::shared_ptr<RedactorHolder> redactor)
    : opts_(std::move(options)),
      clock_(clock),
      log_(std::move(log)),
      redactor_(std::move(redactor)),
      metrics_(kVersion) {
  registerBuiltinSources(source_registry_);
  registerBuiltinProbes(probe_registry_);
}

Agent::~Agent() {
  if (http_) http_->stop();
  if (fleet_) fleet_->claimer().stop();  // it wakes loop_
  if (loop_) loop_->stop(Duration{0});
  if (auto l = leading()) l->dispatcher->stop();
  if (fleet_) fleet_->stop();
  // Before metrics_ (its error callback) goes: the queued runs are written now.
  if (store_) store_->close();
}

Result<std::shared_ptr<const config::Config>> Agent::loadConfig() {
  config::LoadOptions lo;
  lo.paths = opts_.config_paths;
  lo.environment = opts_.environment;
  auto r = config::loadConfig(lo);
  if (r.config) {
    for (auto& w : sloCadenceWarnings(*r.config)) r.diagnostics.push_back(std::move(w));
  }
  for (const auto& d : r.diagnostics) {
    if (d.severity == config::Diagnostic::Severity::Error)
      log_->error("config: {}", d.str());
    else
      log_->warn("config: {}", d.str());
  }
  if (!r.ok()) {
    size_t errors = 0;
    for (const auto& d : r.diagnostics) errors += d.severity == config::Diagnostic::Severity::Error;
    return Result<std::shared_ptr<const config::Config>>::Error(
        "configuration has " + std::to_string(errors) + " error(s)");
  }
  return std::shared_ptr<const config::Config>(
      std::make_shared<config::Config>(std::move(*r.config)));
}

void Agent::startRuntime(std::shared_ptr<const config::Config> cfg) {
  redactor_->set(std::make_shared<Redactor>(cfg->secrets));
  metrics_.setProbes(cfg->probes);
  metrics_.setSlos(*cfg);
  metrics_.setAlerts(*cfg);
  metrics_.setNotifiers(cfg->notifiers);
  // The SLOs first (they replay their history from the store), so no evaluation
  // of the old SLO set reaches a lifecycle that already has the new config.
  const auto stats = slos_.configure(*cfg, store_.get(), clock_.now());
  if (fleet_ && feed_start_ == TimePoint{}) feed_start_ = clock_.now();
  for (const auto& e : stats.errors) log_->warn("{}", e);
  if (!cfg->slos.empty()) {
    log_->info("SLOs: {} rebuilt from {} stored probe runs, {} kept", stats.slos, stats.runs,
               stats.kept);
  }
  lifecycle_links_ = lineage_.links(cfg);
  if (!fleet_ && !leading()) {
    lead(cfg, 0);  // one process: the leader from start to stop
  } else if (auto l = leading()) {
    const auto step = l->lifecycle.configure(withLineage(cfg, *lifecycle_links_), clock_.now());
    report(step);
    for (const auto& w : l->lifecycle.takeWarnings()) log_->warn("{}", w);
    for (const auto& a : l->lifecycle.firing()) metrics_.setAlertFiring(a);
    l->dispatcher->configure(*cfg);
  }
  if (fleet_) fleet_->setConfigHash(configHash(*cfg));
  const int workers = cfg->agent.max_concurrent_probes;
  auto rt = std::make_shared<Runtime>(std::move(cfg), clock_, source_registry_, probe_registry_,
                                      store_.get(), &metrics_, log_, &lineage_.graph());
  rt->primeFromStore();
  rt->setSharedSnapshots(fleet_ != nullptr);
  if (!fleet_) {  // HA: every run reaches the SLOs and the leader through the run feed
    rt->setResultObserver([this](const std::shared_ptr<const ProbeResult>& r) {
      slos_.record(*r);
      if (auto l = leading()) report(l->lifecycle.observeProbe(r));
    });
  }
  {
    std::lock_guard lock(mu_);
    runtime_ = rt;
  }
  if (loop_) {
    loop_->replaceRuntime(rt, workers);  // a reload: probing never pauses
  } else {
    loop_ = std::make_unique<ProbeLoop>(rt, clock_, workers, &metrics_,
                                        ProbeLoop::DispatchObserver{}, fleetScheduleFactory());
    loop_->start();
  }
}

ProbeLoop::ScheduleFactory Agent::fleetScheduleFactory() {
  if (!fleet_) return {};
  return [this](const Runtime& rt, int max_concurrent, TimePoint, const RunSchedule*,
                const std::set<std::string>&) -> std::unique_ptr<RunSchedule> {
    auto probes = rt.schedule();
    // The fleet's claims are per run (FleetSchedule does not ride()): its
    // batches stay within the source's limit, so its phases hold kBatch.
    for (auto& p : probes) p.batches = false;
    std::vector<FleetProbe> shared;
    const auto phases = Scheduler::phasesByInterval(probes);
    for (const auto& p : probes) shared.push_back(fleetProbe(p, Scheduler::phasesOf(phases, p)));
    fleet_->claimer().configure(std::move(shared), rt.sourceLimits(), max_concurrent);
    return std::make_unique<FleetSchedule>(fleet_->claimer(), std::move(probes));
  };
}

int Agent::run() {
  auto cfg = loadConfig();
  if (!cfg) {
    log_->error("{}: not starting", cfg.error());
    return 2;
  }
  redactor_->set(std::make_shared<Redactor>((*cfg)->secrets));
  auto store = openStateStore((*cfg)->agent.state);
  if (!store) {
    log_->error("{}", store.error());
    return 2;
  }
  // Probe runs are committed in batches (store/batched_state_store.hpp);
  // alerts, the outbox and incidents stay synchronous, after those runs.
  BatchedStateStore::Options batching;
  run_flush_interval_ = config::runFlushInterval((*cfg)->agent);
  batching.flush_interval = run_flush_interval_;
  batching.on_error = [this](const std::string& error, size_t dropped) {
    if (dropped > 0)
      log_->error("{}", error);
    else
      log_->warn("{}: the probe runs stay queued and are retried", error);
    metrics_.stateStoreError();
  };
  store_ = std::make_unique<BatchedStateStore>(std::move(store).value(), std::move(batching));
  log_->info("state store {}; probe runs committed every {}", store_->describe(),
             formatDuration(run_flush_interval_));
  if (config::isSharedState((*cfg)->agent.state)) {
    if (auto st = joinFleet(**cfg); !st) {
      log_->error("fleet: {}", st.message());
      return 2;
    }
  }
  {
    // Until the runtime runs it, the status API lists this configuration's
    // probes (no results yet): never an agent without its probes.
    std::lock_guard lock(mu_);
    starting_ = *cfg;
  }
  const std::string listen = opts_.listen.value_or((*cfg)->agent.listen);
  http_ = std::make_unique<HttpServer>(*this, log_);
  auto port = http_->start(listen);
  if (!port) {
    log_->error("{}", port.error());
    return 2;
  }
  const auto host = listen.substr(0, listen.rfind(':'));
  log_->info("listening on http://{}:{}", host, *port);
  loadLineage();
  {
    std::lock_guard lock(reload_mu_);
    const size_t probes = (*cfg)->probes.size();
    startRuntime(*cfg);
    metrics_.setReload(true, clock_.now());
    log_->info("datawatch {} started: {} probes from {}", kVersion, probes,
               (*cfg)->files.empty() ? std::string("-") : (*cfg)->files.front());
  }
  if (fleet_) {
    fleet_->claimer().start([loop = loop_.get()] { loop->wake(); });
    fleet_->start([this] { role_changed_ = true; });
    applyRole();
  }
  prune();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  while (true) {
    timespec timeout{1, 0};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      log_->info("received {}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    try {  // an exception here is a bug: logged, and the agent goes on
      if (sig == SIGHUP) {
        log_->info("received SIGHUP: reloading configuration");
        (void)reload();
      }
      if (fleet_) {
        applyRole();
        followFeed();
      }
      applyLineage();
      if (clock_.now() - last_prune_ >= std::chrono::hours(1)) prune();
      if (clock_.now() - last_slo_eval_ >= kSloEvaluationInterval) evaluateSlos();
    } catch (const std::exception& ex) {
      log_->error("agent loop (reload, prune, SLO evaluation): {}", ex.what());
    } catch (...) {
      log_->error("agent loop (reload, prune, SLO evaluation): unknown exception");
    }
  }
  return stop();
}

namespace {

// Ends the process at `deadline` unless disarmed first (the destructor): the
// stop is bounded whatever hangs in it (a database that stopped answering
// holds the HTTP thread in /readyz, the outbox workers and the store's flush).
class StopWatchdog {
 public:
  StopWatchdog(std::chrono::steady_clock::time_point deadline, std::function<void()> on_expiry)
      : thread_([this, deadline, on_expiry = std::move(on_expiry)] {
          MutexLock lock(mu_);
          if (cv_.waitUntil(lock, deadline, [this]() REQUIRES(mu_) { return disarmed_; })) return;
          on_expiry();
          std::_Exit(0);  // threads may be inside the database: no destructor may run
        }) {}
  ~StopWatchdog() {
    {
      MutexLock lock(mu_);
      disarmed_ = true;
    }
    cv_.notifyAll();
    thread_.join();
  }
  StopWatchdog(const StopWatchdog&) = delete;
  StopWatchdog& operator=(const StopWatchdog&) = delete;

 private:
  Mutex mu_;
  CondVar cv_;
  bool disarmed_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace

int Agent::stop() {
  // Bounded (SPEC: within 10 s; longer only when drain_grace asks for it)
  // whatever is in flight: the HTTP server stops alongside the drain; probes
  // get drain_grace, then are cancelled and get ProbeLoop::kCancelWait;
  // notifications in flight are aborted and stay in the outbox for the next
  // start, like every undelivered one; the state store's last flush gets what
  // is left. Past the bound the watchdog logs what is lost and exits.
  using Steady = std::chrono::steady_clock;
  const Duration bound =
      std::max(kStopWithin, opts_.drain_grace + ProbeLoop::kCancelWait + kStoreCloseMin);
  const auto deadline = Steady::now() + bound;
  const auto unwritten = [this] { return store_ ? store_->unwritten() : size_t{0}; };
  StopWatchdog watchdog(deadline, [this, bound, unwritten] {
    log_->error("stopping took longer than {}: exiting now; {} probe runs possibly not written",
                formatDuration(bound), unwritten());
    log_->flush();
  });
  std::thread http_stop([this] { http_->stop(); });
  uint64_t runs = 0;
  bool drained = true;
  {
    std::lock_guard lock(reload_mu_);
    stopping_ = true;  // a reload still arriving over HTTP is refused
    runs = loop_ ? loop_->completedRuns() : 0;
    if (fleet_) fleet_->claimer().stop();  // no new claims while draining
    if (loop_) drained = loop_->stop(opts_.drain_grace);
    if (auto l = leading()) l->dispatcher->stop();
  }
  if (fleet_) fleet_->stop();  // resigns: another replica leads at its next beat
  http_stop.join();
  // The probe runs still queued, written before exiting (the probes stopped
  // above), within what is left of the bound.
  const auto left = std::chrono::duration_cast<Duration>(deadline - Steady::now()) -
                    std::chrono::milliseconds(200);
  if (store_ && !store_->closeWithin(std::max(left, Duration{0}))) {
    log_->error(
        "stopping: the state store did not answer in time; {} probe runs possibly "
        "not written",
        unwritten());
    log_->flush();
    std::_Exit(0);  // the store's writer is still in the database: no destructor may run
  }
  if (!drained) {
    // A run ignored cancellation: its thread cannot be joined, so exit now.
    log_->error("stopped after {} probe runs, abandoning runs that ignored cancellation", runs);
    log_->flush();
    std::_Exit(0);
  }
  log_->info("stopped cleanly after {} probe runs", runs);
  return 0;
}

Status Agent::reload() {
  std::lock_guard lock(reload_mu_);
  if (stopping_) return Status::Error("the agent is stopping");
  auto cfg = loadConfig();
  if (!cfg) {
    metrics_.setReload(false, clock_.now());
    log_->error("reload rejected: {}; the previous configuration keeps running", cfg.error());
    return Status::Error("reload rejected: " + cfg.error());
  }
  {
    std::lock_guard l(mu_);
    if (runtime_ && (*cfg)->agent.state != runtime_->config().agent.state) {
      log_->warn("reload: agent.state changed; the new state store takes effect after a restart");
    }
    if (runtime_ && ((*cfg)->agent.replica_id != runtime_->config().agent.replica_id ||
                     (*cfg)->agent.leader_lease != runtime_->config().agent.leader_lease)) {
      log_->warn(
          "reload: agent.replica_id or agent.leader_lease changed; the new value takes "
          "effect after a restart");
    }
    if (config::runFlushInterval((*cfg)->agent) != run_flush_interval_) {
      log_->warn(
          "reload: agent.run_flush_interval changed; the new interval takes effect after a "
          "restart");
    }
    if (runtime_ && (*cfg)->agent.listen != runtime_->config().agent.listen && !opts_.listen) {
      log_->warn("reload: agent.listen changed; the new address takes effect after a restart");
    }
  }
  startRuntime(*cfg);  // swaps the new runtime into the running loop
  metrics_.setReload(true, clock_.now());
  log_->info("configuration reloaded: {} probes", (*cfg)->probes.size());
  return Status::Ok();
}

void Agent::prune() {
  last_prune_ = clock_.now();
  if (!leading()) return;  // HA: the leader prunes for the fleet
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  if (!rt || !store_) return;
  const auto cutoff = clock_.now() - rt->config().agent.retention;
  if (auto ol = store_->pruneLineageBefore(cutoff); !ol) {
    log_->warn("{}", ol.error());
    metrics_.stateStoreError();
  }
  auto n = store_->pruneBefore(cutoff);
  if (!n) {
    log_->warn("{}", n.error());
    metrics_.stateStoreError();
  } else if (*n > 0) {
    log_->info("state store: pruned {} probe runs older than {}", *n, formatRfc3339(cutoff));
  }
}

void Agent::evaluateSlos() {
  last_slo_eval_ = clock_.now();
  slos_.evaluate(last_slo_eval_, slo_statuses_);
  for (const auto& st : slo_statuses_) metrics_.observeSlo(st);
  auto l = leading();
  if (!l) return;  // HA follower: SLO metrics only
  report(l->lifecycle.observeSlos(slo_statuses_, last_slo_eval_));
  // Burn peaks and delivery events of the last 10 s, saved on change only.
  report(l->lifecycle.saveChangedIncidents());
}

void Agent::report(const LifecycleStep& step) {
  if (StateStore::isFenced(step.committed)) {
    log_->warn("alert state not stored: {} (this replica steps down)", step.committed.message());
    role_changed_ = true;
  } else if (!step.committed) {
    log_->error("{}: alert state and notifications kept in memory, retried in {}s",
                step.committed.message(),
                std::chrono::duration_cast<std::chrono::seconds>(kSloEvaluationInterval).count());
    metrics_.stateStoreError();
  }
  for (const auto& c : step.changes) {
    const auto& a = c.alert;
    metrics_.setAlertFiring(a);
    if (c.fired) {
      log_->warn("alert {} firing: {}{}", a.id(), a.summary, describeMute(a));
    } else {
      log_->info("alert {} resolved after {}: {}", a.id(),
                 humanDuration(std::chrono::duration_cast<Duration>(*a.resolved_at - a.started_at)),
                 a.summary);
    }
  }
  // Drafts first: the resolve notification queued with them links the draft.
  draftPostmortems(step.resolved_incidents);
  if (step.queued > 0) {
    if (auto l = leading()) l->dispatcher->wake();
  }
}

void Agent::draftPostmortems(const std::vector<std::string>& ids) {
  if (ids.empty() || !store_) return;
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  if (!rt) return;
  for (const auto& id : ids) {
    auto doc = store_->loadIncident(id);
    auto inc = doc && *doc ? incidentFromJson(**doc) : std::nullopt;
    if (!inc) {
      log_->error("incident {}: not found in the state store; no post-mortem drafted", id);
      continue;
    }
    auto written =
        writePostmortem(*inc, *lifecycleConfig(rt->sharedConfig()), *store_, clock_.now());
    if (!written) {
      log_->error("incident {}: cannot write the post-mortem: {}", id, written.error());
      continue;
    }
    if (!written->template_error.empty())
      log_->error("post-mortem template: {}; the default draft was written",
                  written->template_error);
    log_->info("incident {} resolved after {}: post-mortem draft {}", id,
               humanDuration(inc->duration(clock_.now())), written->markdown.string());
  }
}

void Agent::recordLateDelivery(const TimelineEvent& e, const std::string& alert_id) {
  if (!store_) return;
  std::lock_guard store_lock(incidents_store_mu_);
  auto recent = store_->loadIncidents(false, 50);
  if (!recent) return;
  for (const auto& j : *recent) {
    const auto alerts = j.value("alerts", std::vector<std::string>{});
    if (std::find(alerts.begin(), alerts.end(), alert_id) == alerts.end()) continue;
    auto inc = incidentFromJson(j);
    if (!inc) return;
    addDeliveryEvent(*inc, e);
    if (auto st = store_->saveIncident(toJson(*inc, true)); !st) {
      log_->warn("{} (incident {} not updated)", st.message(), inc->id);
      metrics_.stateStoreError();
    }
    return;
  }
}

void Agent::restoreIncidents(IncidentTracker& incidents) {
  if (!store_) return;
  std::vector<Incident> open_incidents;
  if (auto open = store_->loadIncidents(true, 1000)) {
    for (const auto& j : *open)
      if (auto inc = incidentFromJson(j)) open_incidents.push_back(std::move(*inc));
  } else {
    log_->warn("{} (open incidents not restored)", open.error());
  }
  // Before its lifecycle is shared with any other thread: no lock needed yet.
  incidents.restore(std::move(open_incidents));
}

void Agent::DeliveryReport::attempted(const std::string& notifier,
                                      const std::vector<OutboxItem>& batch) {
  a_.metrics_.notificationsAttempted(notifier, batch.size());
}

void Agent::DeliveryReport::delivered(const std::string& notifier,
                                      const std::vector<OutboxItem>& batch) {
  const TimePoint now = a_.clock_.now();
  auto l = a_.leading();
  if (!l) return;
  for (const auto& it : l->lifecycle.observeDelivery(notifier, batch, true, "", now)) {
    a_.recordLateDelivery(
        deliveryEvent(it.alert_id, notifier, true, it.payload.value("status", ""), now),
        it.alert_id);
  }
  for (const auto& it : batch) {
    a_.log_->info("notification {} delivered to {}: {} {}{}", it.delivery_id, notifier, it.alert_id,
                  it.payload.value("status", ""),
                  it.attempts > 0 ? " after " + std::to_string(it.attempts + 1) + " attempts" : "");
  }
}

void Agent::DeliveryReport::failed(const std::string& notifier,
                                   const std::vector<OutboxItem>& batch, const std::string& error,
                                   TimePoint retry_at) {
  a_.metrics_.notificationsFailed(notifier, batch.size());
  const TimePoint now = a_.clock_.now();
  auto l = a_.leading();
  if (!l) return;
  for (const auto& it : l->lifecycle.observeDelivery(notifier, batch, false, error, now))
    a_.recordLateDelivery(deliveryEvent(it.alert_id, notifier, false, error, now), it.alert_id);
  a_.log_->warn("notifier {}: {} notification(s) not delivered ({}); retry at {}", notifier,
                batch.size(), error, formatRfc3339(retry_at));
}

void Agent::DeliveryReport::dropped(const std::string& notifier,
                                    const std::vector<OutboxItem>& batch, const std::string& why) {
  a_.metrics_.notificationsDropped(notifier, batch.size());
  for (const auto& it : batch) {
    a_.log_->error("notification {} to {} for {} dropped: {}", it.delivery_id, notifier,
                   it.alert_id, why);
  }
}

void Agent::DeliveryReport::queueSize(int64_t undelivered) {
  a_.metrics_.setNotificationQueue(undelivered);
}

void Agent::DeliveryReport::internalError(const std::string& notifier, const std::string& what) {
  a_.log_->error("notifier {}: delivering threw: {}; the notifications stay queued", notifier,
                 what);
}

void Agent::DeliveryReport::storeError(const std::string& error) {
  a_.metrics_.stateStoreError();
  a_.log_->warn("notification outbox: {}", error);
}

}  // namespace datawatch
