#pragma once
// The alert pipeline of the notifier tests, as the agent wires it, on a
// simulated clock: tracker -> plan -> outbox (a SQLite state store) -> one
// NotifierQueue per notifier, with a DeliveryObserver that records events.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alerting/alerts.hpp"
#include "alerting/notification.hpp"
#include "alerting/notifiers.hpp"
#include "alerting/outbox.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

inline const TimePoint kNotifyT0 = *parseTimestamp("2026-11-26T10:00:00Z");

// Records what the queues report.
struct Events final : DeliveryObserver {
  std::mutex mu;
  size_t attempts = 0, n_delivered = 0, n_failed = 0, n_dropped = 0;
  std::vector<std::string> errors, drop_reasons;
  std::vector<TimePoint> retry_at;
  void attempted(const std::string&, const std::vector<OutboxItem>& b) override {
    std::lock_guard l(mu);
    attempts += b.size();
  }
  void delivered(const std::string&, const std::vector<OutboxItem>& b) override {
    std::lock_guard l(mu);
    n_delivered += b.size();
  }
  void failed(const std::string&, const std::vector<OutboxItem>& b, const std::string& e,
              TimePoint at) override {
    std::lock_guard l(mu);
    n_failed += b.size();
    errors.push_back(e);
    retry_at.push_back(at);
  }
  void dropped(const std::string&, const std::vector<OutboxItem>& b,
               const std::string& why) override {
    std::lock_guard l(mu);
    n_dropped += b.size();
    drop_reasons.push_back(why);
  }
  void degraded(const std::string&, const std::string& e) override {
    std::lock_guard l(mu);
    degraded_errors.push_back(e);
  }
  std::vector<std::string> degraded_errors;
  void queueSize(int64_t) override {}
  void storeError(const std::string& e) override { FAIL("outbox store error: " << e); }
};

// The alert pipeline as the agent wires it, on a simulated clock: tracker ->
// plan -> outbox (state store) -> one NotifierQueue per notifier.
struct Pipeline {
  explicit Pipeline(const std::string& yaml, TimePoint start = kNotifyT0) : clock(start) {
    store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
    cfg = loadTestConfig(yaml, (dir / "datawatch.yaml").string());
    tracker.configure(cfg, start);
    for (const auto& n : cfg->notifiers)
      queues[n.name] =
          std::make_unique<NotifierQueue>(n.name, makeNotifier(n, *store), *store, clock, &events);
  }
  // Runs of `probe` at the clock's now; queues what the tracker plans. Returns the count.
  size_t run(const std::string& probe, ProbeStatus s, double value = 7260) {
    ProbeResult r;
    r.probe = probe;
    r.type = "freshness";
    r.status = s;
    r.value = value;
    r.unit = "seconds";
    r.threshold = {{"max_age_seconds", 3600}};
    r.message = s == ProbeStatus::Pass ? "fresh" : "newest row is 2h 1m old (max 1h)";
    r.observed_at = clock.now();
    return queue(tracker.observeProbe(r));
  }
  size_t queue(const std::vector<AlertChange>& changes) {
    NotificationContext ctx;
    ctx.cfg = cfg.get();
    ctx.last_run = [this](const std::string& p) { return tracker.lastRun(p); };
    std::vector<OutboxItem> items;
    for (const auto& o : tracker.plan(changes, silences, clock.now()))
      items.push_back(outboxItem(o, ctx));
    REQUIRE(store->commitAlerts("alerts/firing", nlohmann::json::array(), items));
    return items.size();
  }
  NotifierQueue::Pumped pump(const std::string& notifier) { return queues.at(notifier)->pump(); }
  int64_t queued() { return *store->countNotifications(); }

  TempDir dir;
  std::unique_ptr<SqliteStateStore> store;
  SimulatedClock clock;
  std::shared_ptr<config::Config> cfg;
  AlertTracker tracker;
  SilenceSet silences;
  Events events;
  std::map<std::string, std::unique_ptr<NotifierQueue>> queues;
};

inline std::string oneNotifier(const std::string& notifier_yaml) {
  return R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 1h,
     owner: team-billing, alert: {after: 1, severity: warning, notify: [hook]}}
notifiers:
  hook: )" +
         notifier_yaml + "\n";
}

}  // namespace datawatch::testing
