// Notification delivery under load (issue 5): N alerts fire at once; their
// notifications go through the real path (alert tracker -> plan -> SPEC §5
// bodies -> one outbox transaction in a SQLite state store) and a Dispatcher
// delivers them over HTTP to a local receiver that fails every other request.
// Prints the time until every notification is delivered and the outbox is
// empty, the requests made, and peak RSS.
//
// usage: notify_bench [alerts=1000] [notifier=webhook|slack|alertmanager] [fail_every=2]
// (fail_every: every Nth request fails; 0 = none)
// Retries use a short policy (100 ms doubling to 1 s) so the figure measures
// the agent, not the production backoff (5 s doubling to 5 min).

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "alerting/alerts.hpp"
#include "alerting/notification.hpp"
#include "alerting/outbox.hpp"
#include "bench/bench_util.hpp"
#include "config/loader.hpp"
#include "store/sqlite_state_store.hpp"

using namespace datawatch;
using Clock_ = std::chrono::steady_clock;

namespace {

struct Counting final : DeliveryObserver {
  std::atomic<size_t> attempted_n{0}, delivered_n{0}, failed_n{0}, dropped_n{0};
  void attempted(const std::string&, const std::vector<OutboxItem>& b) override {
    attempted_n += b.size();
  }
  void delivered(const std::string&, const std::vector<OutboxItem>& b) override {
    delivered_n += b.size();
  }
  void failed(const std::string&, const std::vector<OutboxItem>& b, const std::string&,
              TimePoint) override {
    failed_n += b.size();
  }
  void dropped(const std::string&, const std::vector<OutboxItem>& b, const std::string&) override {
    dropped_n += b.size();
  }
  void queueSize(int64_t) override {}
  void storeError(const std::string& e) override { std::fprintf(stderr, "store: %s\n", e.c_str()); }
};

double msSince(Clock_::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock_::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int alerts = argc > 1 ? std::atoi(argv[1]) : 1000;
  const std::string kind = argc > 2 ? argv[2] : "webhook";
  const uint64_t fail_every = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2;

  // The receiver: every other request gets a 500.
  httplib::Server receiver;
  std::atomic<uint64_t> requests{0}, accepted{0};
  auto handler = [&](const httplib::Request&, httplib::Response& res) {
    const uint64_t n = requests.fetch_add(1);
    if (fail_every > 0 && n % fail_every == fail_every - 1) {
      res.status = 500;
      return;
    }
    ++accepted;
    res.set_content("ok", "text/plain");
  };
  receiver.Post(".*", handler);
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread server([&] { receiver.listen_after_bind(); });
  while (!receiver.is_running()) std::this_thread::yield();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";

  std::string yaml = "sources:\n  shop: {type: sqlite, path: /nonexistent.db}\nprobes:\n";
  for (int i = 0; i < alerts; ++i) {
    yaml += "  - {name: t" + std::to_string(i) +
            ", type: freshness, source: shop, table: t, column: ts, max_age: 1h, owner: team, "
            "alert: {after: 1, severity: warning, notify: [out]}}\n";
  }
  if (kind == "slack")
    yaml += "notifiers:\n  out: {type: slack, webhook_url: \"" + url + "\", group_wait: 0s}\n";
  else if (kind == "alertmanager")
    yaml += "notifiers:\n  out: {type: alertmanager, url: \"" + url + "\"}\n";
  else
    yaml += "notifiers:\n  out: {type: webhook, url: \"" + url + "\", secret: k}\n";
  std::shared_ptr<const config::Config> cfg = bench::loadConfigOrExit(yaml, "bench.yaml");

  const auto dir = std::filesystem::temp_directory_path() /
                   ("datawatch-notify-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  SystemClock clock;
  Counting counts;

  // Fire every alert at once and queue the notifications (one transaction).
  auto t0 = Clock_::now();
  AlertTracker tracker(cfg);
  SilenceSet silences;
  std::vector<AlertChange> changes;
  for (int i = 0; i < alerts; ++i) {
    ProbeResult r;
    r.probe = "t" + std::to_string(i);
    r.status = ProbeStatus::Fail;
    r.value = 7260;
    r.unit = "seconds";
    r.message = "newest row is 2h 1m old (max 1h)";
    r.observed_at = clock.now();
    for (auto& c : tracker.observeProbe(r)) changes.push_back(std::move(c));
  }
  NotificationContext ctx;
  ctx.cfg = cfg.get();
  ctx.last_run = [&](const std::string& p) { return tracker.lastRun(p); };
  std::vector<OutboxItem> items;
  for (const auto& o : tracker.plan(changes, silences, clock.now()))
    items.push_back(outboxItem(o, ctx));
  nlohmann::json firing = nlohmann::json::array();
  for (const auto& a : tracker.firing()) firing.push_back(toJson(a));
  if (auto st = store->commitAlerts("alerts/firing", firing, items); !st) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 2;
  }
  const double queue_ms = msSince(t0);

  RetryPolicy fast;
  fast.initial = std::chrono::milliseconds(100);
  fast.max = std::chrono::seconds(1);
  Dispatcher dispatcher(*store, clock, &counts, fast);
  t0 = Clock_::now();
  dispatcher.configure(*cfg);
  dispatcher.wake();
  while (*store->countNotifications() > 0 && msSince(t0) < 600000)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const double deliver_ms = msSince(t0);
  dispatcher.stop();
  receiver.stop();
  server.join();
  std::filesystem::remove_all(dir);

  std::printf("notify_bench: %d alerts firing at once -> %s receiver, every %lu. request fails\n",
              alerts, kind.c_str(), static_cast<unsigned long>(fail_every));
  std::printf("  plan + queue (one outbox transaction): %.1f ms\n", queue_ms);
  std::printf("  until all delivered, outbox empty:     %.1f ms\n", deliver_ms);
  std::printf("  notifications delivered %zu, failed attempts %zu, dropped %zu\n",
              counts.delivered_n.load(), counts.failed_n.load(), counts.dropped_n.load());
  std::printf("  HTTP requests %lu (accepted %lu)\n", static_cast<unsigned long>(requests.load()),
              static_cast<unsigned long>(accepted.load()));
  std::printf("  peak RSS %.1f MB, CPU %.2f s\n", bench::peakRssKb() / 1024.0,
              bench::processCpuSeconds());
  return counts.delivered_n.load() == static_cast<size_t>(alerts) ? 0 : 1;
}
