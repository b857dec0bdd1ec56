#include "agent/agent.hpp"

#include <signal.h>

#include <ctime>

#include "agent/version.hpp"
#include "alerting/slo_advice.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {
// SLO metrics and breaching logs are refreshed this often (burn-rate windows
// start at 5 minutes; Prometheus scrapes every 15-60 s).
constexpr Duration kSloEvaluationInterval = std::chrono::seconds(10);
// The state store snapshot holding the firing alerts (a JSON array).
constexpr const char* kAlertsSnapshot = "alerts/firing";
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
  {
    std::vector<AlertChange> gone;
    {
      std::lock_guard lock(alerts_mu_);
      gone = alerts_.configure(cfg, clock_.now());
    }
    onAlertChanges(gone);
  }
  if (!alerts_restored_) {  // first start: before any probe runs
    restoreAlerts();
    alerts_restored_ = true;
  }
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
      changes = alerts_.observeProbe(r);
    }
    onAlertChanges(changes);
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
      for (auto& c : alerts_.observeSlo(st, last_slo_eval_)) changes.push_back(std::move(c));
    }
  }
  onAlertChanges(changes);
}

void Agent::onAlertChanges(const std::vector<AlertChange>& changes) {
  if (changes.empty()) return;
  persistAlerts();
  for (const auto& c : changes) {
    metrics_.setAlertFiring(c.alert);
    if (c.fired) {
      log_->warn("alert {} firing: {}", c.alert.id(), c.alert.summary);
    } else {
      log_->info("alert {} resolved after {}: {}", c.alert.id(),
                 humanDuration(std::chrono::duration_cast<Duration>(*c.alert.resolved_at -
                                                                    c.alert.started_at)),
                 c.alert.summary);
    }
  }
}

void Agent::persistAlerts() {
  if (!store_) return;
  std::lock_guard lock(alerts_mu_);  // one writer at a time, newest list last
  nlohmann::json firing = nlohmann::json::array();
  for (const auto& a : alerts_.firing()) firing.push_back(toJson(a));
  if (auto st = store_->saveSnapshot(kAlertsSnapshot, firing); !st) {
    log_->warn("{} (firing alerts not saved)", st.message());
    metrics_.stateStoreError();
  }
}

void Agent::restoreAlerts() {
  if (!store_) return;
  auto saved = store_->loadSnapshot(kAlertsSnapshot);
  if (!saved) {
    log_->warn("{} (firing alerts not restored)", saved.error());
    return;
  }
  if (!*saved || !(*saved)->is_array()) return;
  std::vector<Alert> firing;
  for (const auto& j : **saved)
    if (auto a = alertFromJson(j)) firing.push_back(*a);
  std::lock_guard lock(alerts_mu_);
  alerts_.restore(firing);
  for (const auto& a : alerts_.firing()) metrics_.setAlertFiring(a);
  if (!firing.empty())
    log_->info("alerts: {} firing alert(s) restored from the state store", firing.size());
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
  j["incidents"] = nlohmann::json::array();
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
