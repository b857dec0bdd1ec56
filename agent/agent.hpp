#pragma once
// Agent: the long-running `datawatch run`. Owns the state store, the metrics,
// the current Runtime and its ProbeLoop, and the HTTP server; reloads on SIGHUP
// or POST /-/reload (a bad config is rejected and the old one keeps running);
// drains and stops on SIGTERM/SIGINT.

#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/http_server.hpp"
#include "agent/logging.hpp"
#include "agent/metrics.hpp"
#include "agent/probe_loop.hpp"
#include "agent/runtime.hpp"
#include "alerting/alerts.hpp"
#include "alerting/slo_engine.hpp"
#include "config/loader.hpp"
#include "store/state_store.hpp"

namespace datawatch {

struct AgentOptions {
  std::vector<std::string> config_paths;
  std::string environment;
  std::optional<std::string> listen;  // --listen overrides agent.listen
  Duration drain_grace{std::chrono::seconds(5)};
};

class Agent final : public HttpApi {
 public:
  Agent(AgentOptions options, const Clock& clock, std::shared_ptr<spdlog::logger> log,
        std::shared_ptr<RedactorHolder> redactor);
  ~Agent() override;

  // Runs until SIGTERM or SIGINT. The caller must have blocked SIGTERM, SIGINT and
  // SIGHUP in every thread (blockAgentSignals) before starting any thread.
  // Returns 0 on a clean stop, 2 when the agent cannot start.
  int run();

  // HttpApi
  std::string metricsText() override;
  nlohmann::json status() override;
  Status ready() override;
  Status reload() override;
  std::optional<std::string> apiToken() override;

 private:
  Result<std::shared_ptr<const config::Config>> loadConfig();
  void startRuntime(std::shared_ptr<const config::Config> cfg);
  void prune();
  // Evaluates every SLO, publishes the metrics and turns breaches into alerts.
  void evaluateSlos();
  // Logs alert changes, publishes them as metrics, saves the firing alerts.
  void onAlertChanges(const std::vector<AlertChange>& changes);
  // The firing alerts in the state store: written on every change, read at start.
  void persistAlerts();
  void restoreAlerts();

  AgentOptions opts_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<RedactorHolder> redactor_;
  SourceRegistry source_registry_;
  ProbeRegistry probe_registry_;
  std::unique_ptr<StateStore> store_;
  Metrics metrics_;
  SloEngine slos_;
  mutable std::mutex alerts_mu_;
  AlertTracker alerts_;                  // guarded by alerts_mu_
  bool alerts_restored_ = false;         // guarded by reload_mu_
  std::vector<SloStatus> slo_statuses_;  // reused; evaluation thread only
  std::unique_ptr<HttpServer> http_;

  std::mutex reload_mu_;  // serialises reloads (signal thread vs HTTP)
  mutable std::mutex mu_;
  std::shared_ptr<Runtime> runtime_;  // guarded by mu_
  std::unique_ptr<ProbeLoop> loop_;   // guarded by reload_mu_
  TimePoint last_prune_{};
  TimePoint last_slo_eval_{};
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it
// starts afterwards) so Agent::run can wait for them synchronously.
void blockAgentSignals();

}  // namespace datawatch
