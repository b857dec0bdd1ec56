// `datawatch demo`: the embedded default end to end — a SQLite warehouse, a
// simulated loader, the real config loader, Runtime, Scheduler, probes and state
// store and SLO engine — on a simulated clock through two days in which the
// loader stalls and burns the orders-fresh SLO.

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>

#include "agent/cli_text.hpp"
#include "agent/commands.hpp"
#include "agent/logging.hpp"
#include "agent/runtime.hpp"
#include "agent/scheduler.hpp"
#include "alerting/lifecycle.hpp"
#include "alerting/notification.hpp"
#include "alerting/outbox.hpp"
#include "config/loader.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "incidents/incidents.hpp"
#include "incidents/postmortem.hpp"
#include "slo/slo_engine.hpp"

namespace datawatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kDemoConfig =
    R"(# Written by `datawatch demo`. Try: datawatch validate -c datawatch.yaml
agent:
  state: sqlite://./state.db
  max_concurrent_probes: 2
  default_notify: [local-log]
  postmortems: {dir: ./postmortems}
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - name: orders_fresh
    type: freshness
    source: shop
    table: orders
    column: created_at
    max_age: 30m
    every: 5m
    owner: team-shop
    consumers: [revenue-dashboard, churn-model]
    alert: {after: 2, severity: warning}   # two failing runs in a row
  - name: orders_volume
    type: volume
    source: shop
    table: orders
    column: created_at
    window: 1h
    min: 100
    every: 15m
    owner: team-shop
  - name: amount_drift
    type: drift            # the last 3 hours' amounts against 12 hours a day earlier
    source: shop
    table: orders
    column: amount
    time_column: created_at
    window: 3h
    baseline: {window: 12h, lag: 1d}
    bins: 10
    every: 1h
    owner: team-shop
slos:
  - name: orders-fresh
    description: orders reach the warehouse within 30 minutes
    objective: 99.5
    window: 28d
    probes: [orders_fresh]
    budgeting: timeslices
notifiers:
  local-log: {type: file, path: ./alerts.jsonl}   # one JSON notification a line
)";

// A span of simulated time.
struct Span {
  TimePoint from;
  TimePoint to;
  bool contains(TimePoint t) const { return t >= from && t < to; }
};

// The simulated world: an orders loader writing batches every 5 minutes. During
// `stall` nothing arrives; during `cents` a bad release writes amounts in cents.
class DemoLoader {
 public:
  DemoLoader(const fs::path& db, TimePoint start, Span stall, Span cents)
      : next_(start), stall_(stall), cents_(cents), rng_(20261126) {
    sqlite3_open(db.c_str(), &db_);
    exec(
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL NOT NULL, status TEXT NOT NULL,"
        " created_at TEXT NOT NULL)");
  }
  DemoLoader(const DemoLoader&) = delete;
  DemoLoader& operator=(const DemoLoader&) = delete;
  ~DemoLoader() { sqlite3_close(db_); }

  // Loads every batch due up to `t`. During the stall nothing arrives; when the
  // loader resumes it backfills the stalled batches with their original times.
  void advanceTo(TimePoint t) {
    while (next_ + 5min <= t) {
      if (stall_.contains(next_)) {
        pending_.push_back(next_);
      } else {
        for (auto b : pending_) writeBatch(b);
        pending_.clear();
        writeBatch(next_);
      }
      next_ += 5min;
    }
  }
  int64_t rows() const { return rows_; }

 private:
  void exec(const char* sql) { sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  void writeBatch(TimePoint from) {
    const auto hour =
        std::chrono::duration_cast<std::chrono::hours>(from.time_since_epoch()).count() % 24;
    const int n = (hour >= 8 && hour < 20) ? 30 : 12;
    std::uniform_real_distribution<double> amount(5, 250);
    std::uniform_int_distribution<int> offset_ms(0, 5 * 60 * 1000 - 1);
    std::discrete_distribution<int> status({80, 15, 5});
    static const char* kStatus[] = {"paid", "pending", "refunded"};
    exec("BEGIN");
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "INSERT INTO orders (amount, status, created_at) VALUES (?, ?, ?)", -1,
                       &st, nullptr);
    for (int i = 0; i < n; ++i) {
      const auto ts = formatRfc3339(from + std::chrono::milliseconds(offset_ms(rng_)));
      sqlite3_bind_double(st, 1, amount(rng_) * (cents_.contains(from) ? 100 : 1));
      sqlite3_bind_text(st, 2, kStatus[status(rng_)], -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 3, ts.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(st);
      sqlite3_reset(st);
      ++rows_;
    }
    sqlite3_finalize(st);
    exec("COMMIT");
  }

  sqlite3* db_ = nullptr;
  TimePoint next_;
  Span stall_;
  Span cents_;
  std::vector<TimePoint> pending_;
  std::mt19937 rng_;
  int64_t rows_ = 0;
};

std::string shortTime(TimePoint t) {
  auto s = formatRfc3339(t);  // 2026-11-23T09:35:00Z -> 2026-11-23 09:35
  return s.substr(0, 10) + " " + s.substr(11, 5);
}

// Prints the minutes at which an SLO's severities start and stop breaching, with
// the burn rates that decided it, and remembers each window's peak burn rate.
class BreachTracker {
 public:
  explicit BreachTracker(std::ostream& out) : out_(out) {}

  void observe(TimePoint at, const SloStatus& st) {
    for (const auto& w : st.windows) {
      auto& peak = peaks_[w.window];
      if (w.burn_rate > peak.first) peak = {w.burn_rate, at};
    }
    for (const char* severity : {"page", "ticket"}) {
      const bool on = st.breaching.count(severity) > 0;
      bool& was = breaching_[severity];
      if (on == was) continue;
      was = on;
      std::string burns;
      for (const auto& r : st.rows) {
        if (r.row.severity != severity || (on && !r.breaching)) continue;
        char buf[128];
        std::snprintf(buf, sizeof buf, "%s%s %.1f / %s %.1f %s %.2f", burns.empty() ? "" : "; ",
                      formatDuration(r.row.long_window).c_str(), r.long_burn_rate,
                      formatDuration(r.row.short_window).c_str(), r.short_burn_rate,
                      on ? ">" : "vs", r.row.burn_rate);
        burns += buf;
      }
      out_ << "  " << shortTime(at) << "  slo " << st.name << "  " << severity
           << (on ? " burn rate BREACHING: " : " burn rate back under threshold: ") << burns
           << "  (budget left " << percent(st.error_budget_remaining, 1) << ")\n";
    }
  }

  void printPeaks() const {
    out_ << "  peak burn rates:";
    for (const auto& [w, p] : peaks_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.1f", formatDuration(w).c_str(), p.first);
      out_ << buf;
    }
    out_ << "\n";
  }

 private:
  std::ostream& out_;
  std::map<std::string, bool> breaching_;
  std::map<Duration, std::pair<double, TimePoint>> peaks_;
};

}  // namespace

int cmdDemo(const CommonOptions& common, const std::string& dir_arg) {
  const fs::path dir = fs::absolute(dir_arg).lexically_normal();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "datawatch demo: cannot create " << dir.string() << ": " << ec.message() << "\n";
    return 2;
  }
  for (const char* f : {"warehouse.db", "warehouse.db-wal", "warehouse.db-shm", "state.db",
                        "state.db-wal", "state.db-shm", "alerts.jsonl", "postmortems"}) {
    fs::remove_all(dir / f, ec);
  }
  const fs::path config_path = dir / "datawatch.yaml";
  std::ofstream(config_path) << kDemoConfig;

  const TimePoint start = *parseTimestamp("2026-11-23T00:00:00Z");
  const TimePoint end = start + 48h;
  const TimePoint stall_from = start + 24h + 9h;
  const TimePoint stall_to = start + 24h + 14h;
  const Span cents{start + 24h + 16h, start + 24h + 18h};
  // Two days of history before the agent starts: the drift probe's baseline.
  DemoLoader loader(dir / "warehouse.db", start - 48h, {stall_from, stall_to}, cents);
  loader.advanceTo(start);

  config::LoadOptions lo;
  lo.paths = {config_path.string()};
  auto loaded = config::loadConfig(lo);
  for (const auto& d : loaded.diagnostics) std::cerr << d.str() << "\n";
  if (!loaded.ok()) return 2;
  auto cfg = std::make_shared<config::Config>(std::move(*loaded.config));

  auto redactor = std::make_shared<RedactorHolder>();
  auto log = makeLogger(common.log_format == "json" ? LogFormat::Json : LogFormat::Text,
                        spdlog::level::err, redactor);
  auto store = openStateStore(cfg->agent.state);
  if (!store) {
    std::cerr << "datawatch demo: " << store.error() << "\n";
    return 2;
  }
  SimulatedClock clock(start);
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  Runtime rt(cfg, clock, sources, probes, store->get(), nullptr, log);
  SloEngine slos;
  slos.configure(*cfg, store->get(), start);
  // Alerts as the agent raises them: the same lifecycle (alerts, outbox,
  // incidents in one transaction), delivered by the file notifier.
  std::vector<std::string> alert_lines;
  size_t notifications = 0;
  IncidentTracker incidents([&](const std::string& day) {
    auto n = (*store)->nextIncidentSeq(day);
    return n ? *n : 1;
  });
  AlertLifecycle lifecycle(store->get(), &incidents);
  (void)lifecycle.configure(cfg, start);
  std::vector<std::string> artefacts;
  std::set<std::string> announced;  // incidents whose opening was printed
  auto draft = [&](const std::string& id, TimePoint now) {
    auto doc = (*store)->loadIncident(id);
    auto inc = doc && *doc ? incidentFromJson(**doc) : std::nullopt;
    if (!inc) return;
    auto files = writePostmortem(*inc, *cfg, **store, now);
    if (!files) {
      std::cerr << "datawatch demo: " << files.error() << "\n";
      return;
    }
    alert_lines.push_back("  " + shortTime(now) + "  incident " + id + " resolved after " +
                          humanDuration(inc->duration(now)) + "; post-mortem drafted");
    artefacts.push_back(files->markdown.string());
    artefacts.push_back(files->chart.string());
  };
  auto report = [&](const LifecycleStep& step, TimePoint now) {
    if (!step.committed) std::cerr << "datawatch demo: " << step.committed.message() << "\n";
    for (const auto& c : step.changes) {
      const std::string mute = c.fired ? muteReason(c.alert) : "";
      alert_lines.push_back("  " + shortTime(now) + "  alert    " + c.alert.id() +
                            (c.fired ? " FIRING" : " resolved") +
                            (mute.empty() ? " -> local-log" : " (" + mute + "; not sent yet)"));
      const std::string id = c.fired ? incidents.incidentOf(c.alert.id()) : "";
      if (!id.empty() && announced.insert(id).second)
        alert_lines.push_back("  " + shortTime(now) + "  incident " + id + " opened");
    }
    for (const auto& id : step.resolved_incidents) draft(id, now);
    notifications += step.queued;
  };
  rt.setResultObserver([&](const std::shared_ptr<const ProbeResult>& r) {
    slos.record(*r);
    report(lifecycle.observeProbe(r), r->observed_at);
  });
  // Deliveries join the incident timeline.
  struct Deliveries final : DeliveryObserver {
    AlertLifecycle& life;
    const Clock& clock;
    Deliveries(AlertLifecycle& l, const Clock& c) : life(l), clock(c) {}
    void attempted(const std::string&, const std::vector<OutboxItem>&) override {}
    void delivered(const std::string& n, const std::vector<OutboxItem>& b) override {
      (void)life.observeDelivery(n, b, true, "", clock.now());
    }
    void failed(const std::string& n, const std::vector<OutboxItem>& b, const std::string& e,
                TimePoint) override {
      (void)life.observeDelivery(n, b, false, e, clock.now());
    }
    void dropped(const std::string&, const std::vector<OutboxItem>&, const std::string&) override {}
    void queueSize(int64_t) override {}
    void storeError(const std::string& e) override { std::cerr << "datawatch demo: " << e << "\n"; }
  } deliveries(lifecycle, clock);
  NotifierQueue outbox(cfg->notifiers.at(0).name, makeNotifier(cfg->notifiers.at(0), **store),
                       **store, clock, &deliveries);
  Scheduler sched(Scheduler::Options{cfg->agent.max_concurrent_probes, rt.sourceLimits(), 30s},
                  rt.schedule(), start);

  std::cout << "datawatch demo: two simulated days of an orders pipeline on SQLite\n"
            << "  " << shortTime(start) << " -> " << shortTime(end) << " UTC; the loader stalls "
            << shortTime(stall_from).substr(11) << "-" << shortTime(stall_to).substr(11)
            << " and writes amounts in cents " << shortTime(cents.from).substr(11) << "-"
            << shortTime(cents.to).substr(11) << " on day 2\n\n"
            << "timeline (UTC)\n";
  std::vector<ProbeStatus> last(rt.size(), ProbeStatus::Pass);
  std::vector<std::optional<TimePoint>> failing_since(rt.size());
  std::vector<int> runs(rt.size()), bad(rt.size());
  bool stall_printed = false, resume_printed = false, cents_printed = false, euros_printed = false;
  TimePoint next_eval = start;
  BreachTracker tracker(std::cout);
  std::optional<SloStatus> final_status;
  while (auto next = sched.nextWakeup()) {
    if (*next >= end) break;
    if (!stall_printed && *next >= stall_from) {
      std::cout << "  " << shortTime(stall_from) << "  loader   stalls (simulated outage)\n";
      stall_printed = true;
    }
    if (!resume_printed && *next >= stall_to) {
      std::cout << "  " << shortTime(stall_to)
                << "  loader   resumes and backfills the missed batches\n";
      resume_printed = true;
    }
    if (!cents_printed && *next >= cents.from) {
      std::cout << "  " << shortTime(cents.from)
                << "  loader   a bad release writes amounts in cents\n";
      cents_printed = true;
    }
    if (!euros_printed && *next >= cents.to) {
      std::cout << "  " << shortTime(cents.to) << "  loader   fixed: amounts in euros again\n";
      euros_printed = true;
    }
    // The agent evaluates its SLOs continuously; here, at every simulated minute.
    for (; next_eval <= *next; next_eval += 1min) {
      const auto statuses = slos.evaluate(next_eval);
      for (const auto& st : statuses) {
        tracker.observe(next_eval, st);
        final_status = st;
      }
      report(lifecycle.observeSlos(statuses, next_eval), next_eval);
      report(lifecycle.saveChangedIncidents(), next_eval);
      for (const auto& line : alert_lines) std::cout << line << "\n";
      alert_lines.clear();
    }
    loader.advanceTo(*next);
    clock.advanceTo(*next);
    (void)outbox.pump();  // the file notifier delivers what is queued
    for (const auto& d : sched.takeDue(*next)) {
      const ProbeResult r = rt.runProbe(d.index);
      sched.finished(d.index, clock.now());
      ++runs[d.index];
      if (r.status != ProbeStatus::Pass) ++bad[d.index];
      if (r.status != last[d.index]) {
        std::string extra;
        if (r.status == ProbeStatus::Pass && failing_since[d.index]) {
          extra =
              "  (after " +
              humanDuration(std::chrono::duration_cast<Duration>(*next - *failing_since[d.index])) +
              ")";
          failing_since[d.index].reset();
        } else if (r.status != ProbeStatus::Pass && !failing_since[d.index]) {
          failing_since[d.index] = *next;
        }
        std::string st = r.status == ProbeStatus::Pass   ? "PASS "
                         : r.status == ProbeStatus::Fail ? "FAIL "
                                                         : "ERROR";
        std::cout << "  " << shortTime(*next) << "  " << r.probe
                  << std::string(r.probe.size() < 14 ? 14 - r.probe.size() : 1, ' ') << st << "  "
                  << r.message << extra << "\n";
        last[d.index] = r.status;
      }
    }
    for (const auto& line : alert_lines) std::cout << line << "\n";  // after the runs' lines
    alert_lines.clear();
  }
  for (const auto& line : alert_lines) std::cout << line << "\n";
  (void)outbox.pump();
  auto count = (*store)->countRuns();
  std::cout << "\nsummary\n";
  for (size_t i = 0; i < rt.size(); ++i) {
    std::cout << "  " << rt.probeConfig(i).name << ": " << runs[i] << " runs, " << bad[i]
              << " not passing\n";
  }
  if (final_status) {
    tracker.printPeaks();
    printSloTable(std::cout, {*final_status}, false);
  }
  std::cout << "\nfiles\n"
            << "  warehouse  " << (dir / "warehouse.db").string() << " (" << loader.rows()
            << " orders)\n"
            << "  config     " << config_path.string() << "\n"
            << "  state      " << (*store)->describe() << " (" << (count ? *count : 0)
            << " probe runs)\n"
            << "  alerts     " << (dir / "alerts.jsonl").string() << " (" << notifications
            << " notifications, SPEC §5 bodies)\n";
  for (const auto& a : artefacts) std::cout << "  postmortem " << a << "\n";
  std::cout
      << "\nnext: datawatch validate -c " << config_path.string() << "\n"
      << "      datawatch rules -c " << config_path.string()
      << "    # the SLO as Prometheus rules\n"
      << "      sqlite3 " << (dir / "state.db").string()
      << " \"select probe, status, message from probe_runs where status != 'pass' limit 5\"\n";
  return 0;
}

}  // namespace datawatch
