#include "agent/agent.hpp"

#include <signal.h>

#include <ctime>

#include "agent/version.hpp"
#include "alerting/notification.hpp"
#include "incidents/postmortem.hpp"
#include "slo/slo_advice.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {
// SLO metrics and breaching logs are refreshed this often (burn-rate windows
// start at 5 minutes; Prometheus scrapes every 15-60 s).
constexpr Duration kSloEvaluationInterval = std::chrono::seconds(10);
// The state store snapshot holding the firing alerts (a JSON array).
constexpr const char* kAlertsSnapshot = "alerts/firing";
// The silences created over the API (a JSON array).
constexpr const char* kSilencesSnapshot = "silences/api";

std::string describeMute(const Alert& a) {
  if (!a.silenced_by.empty()) return " (silenced by " + a.silenced_by + ": not sent)";
  if (!a.inhibited_by.empty()) {
    std::string ups;
    for (const auto& u : a.inhibited_by) ups += (ups.empty() ? "" : ", ") + u;
    return " (inhibited: upstream " + ups + " failing; not sent)";
  }
  return "";
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
  if (loop_) loop_->stop(Duration{0});
  if (dispatcher_) dispatcher_->stop();
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
  metrics_.setSlos(cfg->slos);
  metrics_.setAlerts(*cfg);
  metrics_.setNotifiers(cfg->notifiers);
  std::vector<AlertChange> gone;
  {
    std::lock_guard lock(alerts_mu_);
    alert_cfg_ = cfg;
    silences_.configure(cfg->silences);
    incidents_.configure(cfg);
    gone = alerts_.configure(cfg, clock_.now());
  }
  if (!alerts_restored_) {  // first start: before any probe runs
    restoreAlerts();
    alerts_restored_ = true;
  }
  handleAlerts(gone, clock_.now());
  if (dispatcher_) dispatcher_->configure(*cfg);
  // Before the new loop runs: the SLOs replay their history from the store first.
  const auto stats = slos_.configure(*cfg, store_.get(), clock_.now());
  for (const auto& e : stats.errors) log_->warn("{}", e);
  if (!cfg->slos.empty()) {
    log_->info("SLOs: {} rebuilt from {} stored probe runs, {} kept", stats.slos, stats.runs,
               stats.kept);
  }
  const int workers = cfg->agent.max_concurrent_probes;
  auto rt = std::make_shared<Runtime>(std::move(cfg), clock_, source_registry_, probe_registry_,
                                      store_.get(), &metrics_, log_);
  rt->primeFromStore();
  rt->setResultObserver([this](const ProbeResult& r) {
    slos_.record(r);
    std::vector<AlertChange> changes;
    {
      std::lock_guard lock(alerts_mu_);
      incidents_.observeProbe(r);
      changes = alerts_.observeProbe(r);
    }
    // Probe alerts go out as soon as they change; repeats and mutes are
    // reconsidered at every SLO evaluation.
    if (!changes.empty()) handleAlerts(changes, r.observed_at);
  });
  {
    std::lock_guard lock(mu_);
    runtime_ = rt;
  }
  loop_ = std::make_unique<ProbeLoop>(rt, clock_, workers, &metrics_);
  loop_->start();
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
  store_ = std::move(store).value();
  log_->info("state store {}", store_->describe());
  dispatcher_ = std::make_unique<Dispatcher>(*store_, clock_, &delivery_report_);
  const std::string listen = opts_.listen.value_or((*cfg)->agent.listen);
  http_ = std::make_unique<HttpServer>(*this);
  auto port = http_->start(listen);
  if (!port) {
    log_->error("{}", port.error());
    return 2;
  }
  const auto host = listen.substr(0, listen.rfind(':'));
  log_->info("listening on http://{}:{}", host, *port);
  {
    std::lock_guard lock(reload_mu_);
    const size_t probes = (*cfg)->probes.size();
    startRuntime(*cfg);
    metrics_.setReload(true, clock_.now());
    log_->info("datawatch {} started: {} probes from {}", kVersion, probes,
               (*cfg)->files.empty() ? std::string("-") : (*cfg)->files.front());
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
    if (sig == SIGHUP) {
      log_->info("received SIGHUP: reloading configuration");
      (void)reload();
    }
    if (clock_.now() - last_prune_ >= std::chrono::hours(1)) prune();
    if (clock_.now() - last_slo_eval_ >= kSloEvaluationInterval) evaluateSlos();
  }
  http_->stop();
  {
    std::lock_guard lock(reload_mu_);
    const uint64_t runs = loop_ ? loop_->completedRuns() : 0;
    if (loop_) loop_->stop(opts_.drain_grace);
    // Undelivered notifications stay in the outbox for the next start.
    dispatcher_->stop();
    log_->info("stopped cleanly after {} probe runs", runs);
  }
  return 0;
}

Status Agent::reload() {
  std::lock_guard lock(reload_mu_);
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
    if (runtime_ && (*cfg)->agent.listen != runtime_->config().agent.listen && !opts_.listen) {
      log_->warn("reload: agent.listen changed; the new address takes effect after a restart");
    }
  }
  if (loop_) loop_->stop(opts_.drain_grace);
  startRuntime(*cfg);
  metrics_.setReload(true, clock_.now());
  log_->info("configuration reloaded: {} probes", (*cfg)->probes.size());
  return Status::Ok();
}

void Agent::prune() {
  last_prune_ = clock_.now();
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  if (!rt || !store_) return;
  const auto cutoff = clock_.now() - rt->config().agent.retention;
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
  std::vector<AlertChange> changes;
  {
    std::lock_guard lock(alerts_mu_);
    for (const auto& st : slo_statuses_) {
      metrics_.observeSlo(st);
      // What notifications about it say: kept while it breaches or alerts,
      // including the evaluation that resolves it.
      if (!st.breaching.empty() || slo_now_.count(st.name) ||
          alerts_.find("slo:" + st.name + ":page") || alerts_.find("slo:" + st.name + ":ticket"))
        slo_now_[st.name] = st;
      incidents_.observeSlo(st, last_slo_eval_);
      for (auto& c : alerts_.observeSlo(st, last_slo_eval_)) changes.push_back(std::move(c));
    }
  }
  handleAlerts(changes, last_slo_eval_);
  persistIncidents();  // burn peaks and delivery events of the last 10 s
}

void Agent::handleAlerts(const std::vector<AlertChange>& changes, TimePoint now) {
  std::vector<Alert> fired;  // as of after planning: with their mute state
  size_t queued = 0;
  Status st;
  {
    std::lock_guard lock(alerts_mu_);
    auto outgoing = alerts_.plan(changes, silences_, now);
    incidents_.observeAlerts(changes, alerts_, now);
    incidents_.observeMutes(alerts_, now);
    if (changes.empty() && outgoing.empty() && unqueued_.empty()) return;
    NotificationContext ctx;
    ctx.cfg = alert_cfg_.get();
    ctx.last_run = [this](const std::string& p) { return alerts_.lastRun(p); };
    for (const auto& o : outgoing) {
      auto it = slo_now_.find(o.alert.subject);
      ctx.slo = o.alert.kind == "slo" && it != slo_now_.end() ? &it->second : nullptr;
      unqueued_.push_back(outboxItem(o, ctx));
    }
    for (const auto& c : changes) {
      const Alert* now_firing = c.fired ? alerts_.find(c.alert.id()) : nullptr;
      fired.push_back(now_firing ? *now_firing : c.alert);
    }
    // An SLO with no firing alert left needs no status kept.
    std::erase_if(slo_now_, [&](const auto& kv) {
      return !alerts_.find("slo:" + kv.first + ":page") &&
             !alerts_.find("slo:" + kv.first + ":ticket") && kv.second.breaching.empty();
    });
    nlohmann::json firing = nlohmann::json::array();
    for (const auto& a : alerts_.firing()) firing.push_back(toJson(a));
    // Under alerts_mu_: snapshots commit in the order they were taken.
    st = store_ ? store_->commitAlerts(kAlertsSnapshot, firing, unqueued_)
                : Status::Error("no state store");
    if (st) {
      queued = unqueued_.size();
      unqueued_.clear();
    }
  }
  if (!st) {
    log_->error("{}: alert state and notifications kept in memory, retried in {}s", st.message(),
                std::chrono::duration_cast<std::chrono::seconds>(kSloEvaluationInterval).count());
    metrics_.stateStoreError();
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const auto& a = fired[i];
    metrics_.setAlertFiring(a);
    if (changes[i].fired) {
      log_->warn("alert {} firing: {}{}", a.id(), a.summary, describeMute(a));
    } else {
      log_->info("alert {} resolved after {}: {}", a.id(),
                 humanDuration(std::chrono::duration_cast<Duration>(*a.resolved_at - a.started_at)),
                 a.summary);
    }
  }
  if (queued > 0 && dispatcher_) dispatcher_->wake();
  if (!changes.empty()) persistIncidents();
}

void Agent::persistIncidents() {
  std::lock_guard store_lock(incidents_store_mu_);
  std::vector<Incident> changed;
  std::shared_ptr<const config::Config> cfg;
  {
    std::lock_guard lock(alerts_mu_);
    changed = incidents_.takeChanged();
    cfg = alert_cfg_;
  }
  if (!store_ || !cfg) return;
  for (auto& inc : changed) {
    if (!inc.open) {
      auto written = writePostmortem(inc, *cfg, *store_, clock_.now());
      if (written && !written->template_error.empty())
        log_->error("post-mortem template: {}; the default draft was written",
                    written->template_error);
      if (written) {
        inc.postmortem = written->markdown.string();
        log_->info("incident {} resolved after {}: post-mortem draft {}", inc.id,
                   humanDuration(inc.duration(clock_.now())), inc.postmortem);
      } else {
        log_->error("incident {}: cannot write the post-mortem: {}", inc.id, written.error());
      }
    }
    if (auto st = store_->saveIncident(toJson(inc, true)); !st) {
      log_->warn("{} (incident {} not saved)", st.message(), inc.id);
      metrics_.stateStoreError();
    }
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
    addTimelineEvent(*inc, e);
    if (auto st = store_->saveIncident(toJson(*inc, true)); !st) {
      log_->warn("{} (incident {} not updated)", st.message(), inc->id);
      metrics_.stateStoreError();
    }
    return;
  }
}

nlohmann::json Agent::incidents() {
  nlohmann::json out = nlohmann::json::array();
  if (!store_) return out;
  auto list = store_->loadIncidents(false, 100);
  if (!list) return out;
  for (const auto& j : *list) {
    nlohmann::json brief = j;
    brief.erase("timeline");
    brief.erase("burn_series");
    out.push_back(std::move(brief));
  }
  return out;
}

std::optional<nlohmann::json> Agent::incident(const std::string& id) {
  if (!store_) return std::nullopt;
  auto j = store_->loadIncident(id);
  if (!j || !*j) return std::nullopt;
  (*j)->erase("burn_series");
  return **j;
}

void Agent::restoreAlerts() {
  if (!store_) return;
  auto saved = store_->loadSnapshot(kAlertsSnapshot);
  if (!saved) log_->warn("{} (firing alerts not restored)", saved.error());
  std::vector<Alert> firing;
  if (saved && *saved && (*saved)->is_array()) {
    for (const auto& j : **saved)
      if (auto a = alertFromJson(j)) firing.push_back(*a);
  }
  auto silences = store_->loadSnapshot(kSilencesSnapshot);
  if (!silences) log_->warn("{} (API silences not restored)", silences.error());
  std::vector<Incident> open_incidents;
  if (auto open = store_->loadIncidents(true, 1000)) {
    for (const auto& j : *open)
      if (auto inc = incidentFromJson(j)) open_incidents.push_back(std::move(*inc));
  }
  std::lock_guard lock(alerts_mu_);
  incidents_.restore(std::move(open_incidents));
  if (silences && *silences) silences_.restoreApiSilences(**silences);
  alerts_.restore(firing);
  for (const auto& a : alerts_.firing()) metrics_.setAlertFiring(a);
  if (!firing.empty())
    log_->info("alerts: {} firing alert(s) restored from the state store", firing.size());
}

void Agent::persistSilences() {
  if (!store_) return;
  if (auto st = store_->saveSnapshot(kSilencesSnapshot, silences_.apiSilencesJson()); !st) {
    log_->warn("{} (API silences not saved: they last until a restart)", st.message());
    metrics_.stateStoreError();
  }
}

nlohmann::json Agent::silences() {
  std::lock_guard lock(alerts_mu_);
  const auto now = clock_.now();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : silences_.list(now)) out.push_back(toJson(s, now));
  return out;
}

Result<nlohmann::json> Agent::addSilence(const nlohmann::json& body) {
  const auto now = clock_.now();
  auto s = silenceFromRequest(body, now);
  if (!s) return Result<nlohmann::json>::Error(s.error());
  Silence added;
  {
    std::lock_guard lock(alerts_mu_);
    added = silences_.add(*s);
    persistSilences();
  }
  log_->info("silence {} added until {}: {}", added.id, formatRfc3339(added.ends), added.reason);
  handleAlerts({}, now);  // mute state shows at once
  return toJson(added, now);
}

Status Agent::deleteSilence(const std::string& id) {
  {
    std::lock_guard lock(alerts_mu_);
    if (!silences_.remove(id))
      return Status::Error("no API silence \"" + id +
                           "\" (config silences are removed in the config)");
    persistSilences();
  }
  log_->info("silence {} removed", id);
  handleAlerts({}, clock_.now());  // what it muted goes out now
  return Status::Ok();
}

void Agent::DeliveryReport::attempted(const std::string& notifier,
                                      const std::vector<OutboxItem>& batch) {
  a_.metrics_.notificationsAttempted(notifier, batch.size());
}

void Agent::DeliveryReport::delivered(const std::string& notifier,
                                      const std::vector<OutboxItem>& batch) {
  const TimePoint now = a_.clock_.now();
  std::vector<const OutboxItem*> late;
  {
    std::lock_guard lock(a_.alerts_mu_);
    for (const auto& it : batch) {
      if (!a_.incidents_.observeDelivery(it.alert_id, notifier, true,
                                         it.payload.value("status", ""), now))
        late.push_back(&it);
    }
  }
  for (const auto* it : late) {
    a_.recordLateDelivery(
        deliveryEvent(it->alert_id, notifier, true, it->payload.value("status", ""), now),
        it->alert_id);
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
  std::vector<const OutboxItem*> late;
  {
    std::lock_guard lock(a_.alerts_mu_);
    for (const auto& it : batch)
      if (!a_.incidents_.observeDelivery(it.alert_id, notifier, false, error, a_.clock_.now()))
        late.push_back(&it);
  }
  for (const auto* it : late) {
    a_.recordLateDelivery(deliveryEvent(it->alert_id, notifier, false, error, a_.clock_.now()),
                          it->alert_id);
  }
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

void Agent::DeliveryReport::storeError(const std::string& error) {
  a_.metrics_.stateStoreError();
  a_.log_->warn("notification outbox: {}", error);
}

std::string Agent::metricsText() {
  return metrics_.render();
}

Status Agent::ready() {
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  if (!rt) return Status::Error("configuration not loaded yet");
  if (!store_) return Status::Error("state store not open");
  return store_->ping();
}

std::optional<std::string> Agent::apiToken() {
  std::lock_guard lock(mu_);
  if (!runtime_) return std::nullopt;
  return runtime_->config().agent.api_token;
}

nlohmann::json Agent::status() {
  std::shared_ptr<Runtime> rt;
  {
    std::lock_guard lock(mu_);
    rt = runtime_;
  }
  nlohmann::json j;
  j["version"] = kVersion;
  j["now"] = formatRfc3339(clock_.now());
  j["probes"] = nlohmann::json::array();
  j["slos"] = nlohmann::json::array();
  for (const auto& st : slos_.evaluate(clock_.now())) j["slos"].push_back(toJson(st));
  j["alerts"] = nlohmann::json::array();
  {
    std::lock_guard lock(alerts_mu_);
    for (const auto& a : alerts_.firing()) j["alerts"].push_back(toJson(a));
  }
  j["silences"] = silences();
  j["incidents"] = nlohmann::json::array();
  {
    std::lock_guard lock(alerts_mu_);
    for (const auto& inc : incidents_.open()) j["incidents"].push_back(toJson(inc, false));
  }
  if (!rt) return j;
  j["config"] = redactor_->redactJson(
      {{"files", rt->config().files}, {"environment", rt->config().environment}});
  for (size_t i = 0; i < rt->size(); ++i) {
    const auto& c = rt->probeConfig(i);
    nlohmann::json p{{"name", c.name},     {"type", config::toString(c.type)},
                     {"source", c.source}, {"target", c.target()},
                     {"owner", c.owner},   {"every", formatDuration(c.every)}};
    if (auto last = rt->lastResult(i)) {
      p["last"] = redactor_->redactJson(last->toJson());
    } else {
      p["last"] = nullptr;
    }
    j["probes"].push_back(std::move(p));
  }
  return j;
}

}  // namespace datawatch
