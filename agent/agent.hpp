#pragma once
// Agent: the long-running `datawatch run`. Owns the state store, the metrics,
// the current Runtime and its ProbeLoop, and the HTTP server; reloads on SIGHUP
// or POST /-/reload (a bad config is rejected and the old one keeps running);
// drains and stops on SIGTERM/SIGINT.
//
// With agent.state on PostgreSQL the agent is one replica of a fleet
// (agent/fleet_member.hpp): probe runs are claimed from the shared schedule,
// every replica follows the run feed (SLOs, probe gauges, status), and only
// the leader holds a Leadership (alert lifecycle, incidents, dispatcher).
// Role changes are applied on the main loop's thread (applyRole). With SQLite
// the agent is its own leader from start to stop.

#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/fleet_member.hpp"
#include "agent/http_server.hpp"
#include "agent/lineage_service.hpp"
#include "agent/logging.hpp"
#include "agent/metrics.hpp"
#include "agent/probe_loop.hpp"
#include "agent/runtime.hpp"
#include "alerting/alerts.hpp"
#include "alerting/lifecycle.hpp"
#include "alerting/outbox.hpp"
#include "alerting/silences.hpp"
#include "config/loader.hpp"
#include "core/mutex.hpp"
#include "incidents/incidents.hpp"
#include "slo/slo_engine.hpp"
#include "store/batched_state_store.hpp"
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
  // SPEC: SIGTERM stops the agent within 10 s (stop()'s watchdog), or within
  // drain_grace + ProbeLoop::kCancelWait + kStoreCloseMin when that is longer.
  static constexpr Duration kStopWithin{std::chrono::seconds(10)};
  static constexpr Duration kStoreCloseMin{std::chrono::seconds(1)};

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
  nlohmann::json silences() override;
  nlohmann::json incidents() override;
  std::optional<nlohmann::json> incident(const std::string& id) override;
  Result<nlohmann::json> addSilence(const nlohmann::json& body) override;
  Status deleteSilence(const std::string& id) override;
  // OpenLineage (agent_lineage.cpp, docs/lineage.md)
  std::optional<std::string> lineageToken() override;
  std::pair<int, nlohmann::json> receiveLineage(const std::string& body) override;
  std::optional<nlohmann::json> lineage() override;
  void lineageRefused() override { metrics_.lineageEventsRejected(1); }

 private:
  // The lineage graph from the store (run(), before the first probe run).
  void loadLineage();
  // Main loop: HA replicas pick up the events others received; when the
  // graph's links changed, the lifecycle gets the config they extend.
  void applyLineage();
  // The running Runtime's configuration (null before the first).
  std::shared_ptr<const config::Config> currentConfig() const;
  // The lifecycle's config re-extended when the graph's links changed (the
  // main loop, and a POST that added events: answered once inhibition holds).
  // `wait` false: gives up at once when the lock is held (the HTTP thread).
  void relinkLifecycle(bool wait);
  // `cfg` extended by the lineage links (withLineage): what the alert
  // lifecycle and post-mortems are given.
  std::shared_ptr<const config::Config> lifecycleConfig(
      const std::shared_ptr<const config::Config>& cfg);
  // A probe's lineage for the status API: its nodes and upstream chain.
  static nlohmann::json lineageOf(const lineage::LineageLinks& links, const std::string& probe);

  Result<std::shared_ptr<const config::Config>> loadConfig();
  // Drains and stops (run() after SIGTERM/SIGINT); returns the exit code.
  int stop();
  void startRuntime(std::shared_ptr<const config::Config> cfg);
  void prune();
  // Evaluates every SLO, publishes the metrics and hands the statuses to the
  // alert lifecycle (alerts, repeats, mutes, incidents).
  void evaluateSlos();
  // Logs a lifecycle step, publishes it as metrics, wakes the dispatcher and
  // drafts the post-mortems of the incidents it resolved.
  void report(const LifecycleStep& step);
  void draftPostmortems(const std::vector<std::string>& incident_ids);
  // The leader's part: the alert lifecycle with the incidents it drives, and
  // the outbox dispatcher. Destroyed only after dispatcher->stop().
  struct Leadership {
    explicit Leadership(Agent& a);
    IncidentTracker incidents;
    AlertLifecycle lifecycle;
    std::unique_ptr<Dispatcher> dispatcher;
    int64_t epoch = 0;  // HA: the lease's epoch this leadership was built for
  };
  // The current Leadership; null on an HA follower (and before start).
  std::shared_ptr<Leadership> leading() const EXCLUDES(leader_mu_);
  // Builds the Leadership: restores open incidents and firing alerts from the
  // store, configures it with `cfg` and starts the dispatcher.
  // False (and nothing changed) when the state to restore cannot be read.
  bool lead(const std::shared_ptr<const config::Config>& cfg, int64_t epoch);
  void stepDown();
  // HA: starts or ends this replica's Leadership to match the fleet's lease.
  void applyRole();
  // HA: the ProbeLoop's schedule over the fleet's claims ({} without a fleet).
  ProbeLoop::ScheduleFactory fleetScheduleFactory();
  // The error an HA follower gives for what only the leader does.
  std::string notLeader() const;
  // HA: the fleet, the store's fence and the claim thread (run(), before HTTP).
  Status joinFleet(const config::Config& cfg);
  Status awaitUniqueId(Fleet& fleet, Duration ttl);
  // HA: the runs every replica recorded since the last call (SLOs, probe
  // gauges, status, and the leader's lifecycle).
  void followFeed();
  // Open incidents from the state store, into `incidents`.
  void restoreIncidents(IncidentTracker& incidents);
  // A delivery for an alert whose incident already resolved: added to the
  // newest stored incident holding the alert.
  void recordLateDelivery(const TimelineEvent& e, const std::string& alert_id);

  // Delivery events to logs and metrics.
  class DeliveryReport final : public DeliveryObserver {
   public:
    explicit DeliveryReport(Agent& a) : a_(a) {}
    void attempted(const std::string& notifier, const std::vector<OutboxItem>& batch) override;
    void delivered(const std::string& notifier, const std::vector<OutboxItem>& batch) override;
    void failed(const std::string& notifier, const std::vector<OutboxItem>& batch,
                const std::string& error, TimePoint retry_at) override;
    void dropped(const std::string& notifier, const std::vector<OutboxItem>& batch,
                 const std::string& why) override;
    void queueSize(int64_t undelivered) override;
    void storeError(const std::string& error) override;
    void internalError(const std::string& notifier, const std::string& what) override;
    void degraded(const std::string& notifier, const std::string& error) override {
      a_.log_->warn("notifier {}: delivered, but {}", notifier, error);
    }

   private:
    Agent& a_;
  };

  AgentOptions opts_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<RedactorHolder> redactor_;
  SourceRegistry source_registry_;
  ProbeRegistry probe_registry_;
  std::unique_ptr<BatchedStateStore> store_;  // runs batched (batched_state_store.hpp)
  Duration run_flush_interval_{};  // the store's: written at start, before any other thread
  Metrics metrics_;
  LineageService lineage_{&metrics_, log_};
  // The links last given to the lifecycle (main loop and reloads, under reload_mu_).
  std::shared_ptr<const lineage::LineageLinks> lifecycle_links_;
  SloEngine slos_;
  // The one owner of fire -> notify -> resolve (alerting/lifecycle.hpp) and
  // the incidents it drives: see Leadership.
  mutable Mutex leader_mu_;
  std::shared_ptr<Leadership> leading_ GUARDED_BY(leader_mu_);
  // HA only (null with SQLite).
  std::unique_ptr<FleetMember> fleet_;
  std::atomic<bool> role_changed_{false};
  std::string feed_cursor_;                     // main loop thread only
  bool feed_trouble_ = false;                   // main loop thread only: logged once per outage
  TimePoint feed_start_{};                      // runs observed before: in the SLO replay
  std::map<std::string, TimePoint> feed_seen_;  // per probe, newest run fed; main loop only
  // Serialises late-delivery writes to stored incidents.
  std::mutex incidents_store_mu_;
  DeliveryReport delivery_report_{*this};
  std::vector<SloStatus> slo_statuses_;  // reused; evaluation thread only
  std::unique_ptr<HttpServer> http_;

  std::mutex reload_mu_;  // serialises reloads (signal thread vs HTTP)
  mutable std::mutex mu_;
  std::shared_ptr<Runtime> runtime_;  // guarded by mu_
  // The configuration loaded at start, shown by status() until runtime_ is set
  // (the HTTP server answers from before). Guarded by mu_.
  std::shared_ptr<const config::Config> starting_;
  std::unique_ptr<ProbeLoop> loop_;  // guarded by reload_mu_
  bool stopping_ = false;            // guarded by reload_mu_
  TimePoint last_prune_{};
  TimePoint last_slo_eval_{};
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it
// starts afterwards) so Agent::run can wait for them synchronously.
void blockAgentSignals();

}  // namespace datawatch
