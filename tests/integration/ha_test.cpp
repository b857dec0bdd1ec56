// Issue 16's acceptance tests with real processes: `datawatch run` replicas on
// one PostgreSQL state store share the probes (each runs once per interval),
// one fenced leader sends the notifications, failover after kill -9 and
// SIGSTOP, PostgreSQL restarted under the fleet, two replicas migrating an
// empty database at once, and a replica whose config differs.
//
// Every replica gets env REPLICA=<id> (agent.replica_id and the webhook's
// X-Replica header), so the receiver knows which replica sent what. Short
// leases (3 s) keep the file near two minutes.

#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <set>
#include <sstream>
#include <thread>

#include "core/time_format.hpp"
#include "tests/integration/fleet_support.hpp"
#include "tests/support/ha_replicas.hpp"
#include "tests/support/receiver.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kAlert = "probe:orders_fresh:warning";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double secondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// A config for the fleet: `volume` volume probes p00.. every 1 s on the SQLite
// warehouse, the freshness probe orders_fresh with a probe alert to the
// webhook when `alert`, and `extra` appended to the probe list.
std::string fleetYaml(int volume, bool alert, const std::string& extra = "") {
  std::string y = R"(agent:
  state: "${STATE_URL}"
  replica_id: "${REPLICA}"
  leader_lease: 3s
  max_concurrent_probes: 16
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
)";
  for (int i = 0; i < volume; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%02d", i);
    y += "  - {name: " + std::string(name) +
         ", type: volume, source: shop, table: orders, min: 1, every: 1s}\n";
  }
  if (alert) {
    y += "  - {name: orders_fresh, type: freshness, source: shop, table: orders, "
         "column: created_at, max_age: 1m, every: 1s, "
         "alert: {after: 1, severity: warning, notify: [hook]}}\n";
  }
  y += extra;
  if (alert) {
    y += R"(notifiers:
  hook: {type: webhook, url: "${HOOK_URL}", timeout: 10s, headers: {X-Replica: "${REPLICA}"}}
)";
  }
  return y;
}

// Replicas of one fleet: a temp dir with the warehouse (orders, newest row 10
// minutes old) and the config, the state store's DSN.
class HaFleet {
 public:
  HaFleet(std::string state_dsn, std::string hook_url = "http://127.0.0.1:9/unused")
      : dsn_(std::move(state_dsn)) {
    makeOrdersWarehouse(dir_.path());
    env_ = {{"STATE_URL", dsn_}, {"HOOK_URL", std::move(hook_url)}};
  }
  ~HaFleet() {
    // On failure, the logs tell what the replicas did.
    const bool failing =
        std::uncaught_exceptions() > 0 || !Catch::getResultCapture().lastAssertionPassed();
    for (auto& r : replicas_) {
      if (!failing) break;
      std::printf("---- %s log (tail) ----\n%s\n", r->id().c_str(), tail(r->log()).c_str());
    }
  }
  HaFleet(const HaFleet&) = delete;
  HaFleet& operator=(const HaFleet&) = delete;

  const TempDir& dir() const { return dir_; }
  const std::string& dsn() const { return dsn_; }
  void writeConfig(const std::string& yaml, const std::string& file = "datawatch.yaml") {
    writeFile(dir_ / file, yaml);
  }
  Replica& start(const std::string& id, const std::string& file = "datawatch.yaml") {
    replicas_.push_back(std::make_unique<Replica>(kBinary, id, dir_ / file, dir_.path(), env_));
    return *replicas_.back();
  }
  Replica& get(const std::string& id) {
    for (auto& r : replicas_)
      if (r->id() == id) return *r;
    throw std::runtime_error("no replica " + id);
  }
  std::vector<std::string> rows(const std::string& sql) const { return pgRows(dsn_, sql); }
  int64_t scalar(const std::string& sql) const {
    auto r = rows(sql);
    return r.empty() ? 0 : std::stoll(r[0]);
  }
  // Waits until a replica other than `not_this` holds an unexpired lease.
  std::optional<LeaderRow> waitLeader(const std::string& not_this, std::chrono::seconds timeout) {
    LeaderRow l;
    if (!eventually(
            [&] {
              try {
                l = leaderRow(dsn_);
              } catch (const std::exception&) {  // not migrated yet
                return false;
              }
              return !l.owner.empty() && l.owner != not_this;
            },
            timeout))
      return std::nullopt;
    return l;
  }
  // Waits until each of `probes` has a run observed at or after `since_ms`.
  bool waitRunsSince(const std::vector<std::string>& probes, int64_t since_ms,
                     std::chrono::seconds timeout) const {
    std::string in;
    for (const auto& p : probes) in += (in.empty() ? "'" : ",'") + p + "'";
    const std::string sql =
        "SELECT count(DISTINCT probe) FROM probe_runs WHERE observed_at_ms >= " +
        std::to_string(since_ms) + " AND probe IN (" + in + ")";
    return eventually(
        [&] {
          try {
            return scalar(sql) >= static_cast<int64_t>(probes.size());
          } catch (const std::exception&) {
            return false;
          }
        },
        timeout);
  }

 private:
  static std::string tail(const std::string& s) {
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }
  TempDir dir_;
  std::string dsn_;
  std::map<std::string, std::string> env_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

std::vector<std::string> probeNames(int volume, bool alert) {
  std::vector<std::string> out;
  for (int i = 0; i < volume; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%02d", i);
    out.emplace_back(name);
  }
  if (alert) out.emplace_back("orders_fresh");
  return out;
}

void makeOrdersFresh(const HaFleet& f) {
  SqliteDb db(f.dir() / "warehouse.db");
  db.exec("INSERT INTO orders (created_at) VALUES ('" +
          formatRfc3339(std::chrono::system_clock::now()) + "')");
}

struct Sent {
  std::string status;
  std::string delivery_id;
  std::string replica;
};
// The webhook requests of the alert, in arrival order.
std::vector<Sent> sentOf(const std::vector<Receiver::Request>& requests) {
  std::vector<Sent> out;
  for (const auto& r : requests) {
    const json j = r.json();
    if (j["alert"]["id"] != kAlert) continue;
    out.push_back({j["status"], r.header("x-datawatch-delivery"), r.header("x-replica")});
  }
  return out;
}

// One delivery id per (alert, status); every firing arrives before any resolve.
void checkDeliveries(const std::vector<Sent>& sent) {
  std::map<std::string, std::set<std::string>> ids;
  size_t last_firing = 0;
  size_t first_resolved = sent.size();
  for (size_t i = 0; i < sent.size(); ++i) {
    ids[sent[i].status].insert(sent[i].delivery_id);
    if (sent[i].status == "firing") last_firing = i;
    if (sent[i].status == "resolved" && first_resolved == sent.size()) first_resolved = i;
  }
  for (const auto& [status, set] : ids) {
    INFO(status);
    CHECK(set.size() == 1);
  }
  CHECK(ids["firing"].size() == 1);
  CHECK(ids["resolved"].size() == 1);
  CHECK(last_firing < first_resolved);
  CHECK(*ids["firing"].begin() != *ids["resolved"].begin());
}

}  // namespace

TEST_CASE(
    "three replicas on one PostgreSQL share 30 probes every 1s - each probe runs once per "
    "interval across the fleet, and more than one replica runs them",
    "[integration][ha]") {
  FleetDb db(false);
  HaFleet f(db.dsn());
  constexpr int kProbes = 30;
  f.writeConfig(fleetYaml(kProbes, false));
  const auto t_start = SteadyClock::now();
  for (const char* id : {"r1", "r2", "r3"}) f.start(id);
  for (const char* id : {"r1", "r2", "r3"}) REQUIRE(f.get(id).waitListening(20s));
  REQUIRE(f.waitRunsSince(probeNames(kProbes, false), 0, 20s));
  std::printf("ha soak: 3 replicas up and every probe ran once after %.1fs\n",
              secondsSince(t_start));

  // A window of 60 s as the issue says, 60 ± 2 runs per probe
  // (DATAWATCH_HA_SOAK_SECONDS=30: 30 ± 1, the same proportion).
  int window = 60;
  if (const char* s = std::getenv("DATAWATCH_HA_SOAK_SECONDS"))  // NOLINT(concurrency-mt-unsafe)
    window = std::max(10, std::atoi(s));
  const int tolerance = std::max(1, window / 30);
  const int64_t t0 = nowMs() + 1000;
  const int64_t t1 = t0 + window * 1000;
  // Measuring a window: the wait is the measurement, plus 2 s for the last runs to commit.
  std::this_thread::sleep_for(std::chrono::milliseconds(t1 - nowMs() + 2000));

  const auto rows = f.rows(
      "SELECT probe, count(*), COALESCE(min(gap), 0), COALESCE(max(gap), 0) FROM (SELECT probe, "
      "observed_at_ms - lag(observed_at_ms) OVER (PARTITION BY probe ORDER BY observed_at_ms) "
      "AS gap FROM probe_runs WHERE observed_at_ms >= " +
      std::to_string(t0) + " AND observed_at_ms < " + std::to_string(t1) +
      ") s GROUP BY probe ORDER BY probe");
  CHECK(rows.size() == kProbes);
  int64_t fewest = 1 << 30, most = 0, min_gap = 1 << 30, max_gap = 0;
  for (const auto& row : rows) {
    const auto c = splitRow(row);
    INFO(row);
    const int64_t n = std::stoll(c.at(1));
    CHECK(n >= window - tolerance);
    CHECK(n <= window + tolerance);
    // Never twice in one interval: consecutive runs of a probe ~1 s apart.
    CHECK(std::stoll(c.at(2)) >= 500);
    fewest = std::min(fewest, n);
    most = std::max(most, n);
    min_gap = std::min<int64_t>(min_gap, std::stoll(c.at(2)));
    max_gap = std::max<int64_t>(max_gap, std::stoll(c.at(3)));
  }
  CHECK(f.scalar("SELECT count(*) FROM probe_runs WHERE status <> 'pass'") == 0);

  // More than one replica claimed runs; the claims add up to the runs.
  std::map<std::string, double> claims;
  int claimers = 0;
  for (const char* id : {"r1", "r2", "r3"}) {
    claims[id] = f.get(id).metric("datawatch_probe_claims_total").value_or(-1);
    if (claims[id] > 0) ++claimers;
  }
  CHECK(claimers >= 2);
  const auto owners = f.rows("SELECT count(DISTINCT last_owner) FROM dw_schedule");
  // One leader, seen by all, and all three replicas live.
  std::set<std::string> leaders;
  int leading = 0;
  for (const char* id : {"r1", "r2", "r3"}) {
    const json st = f.get(id).status();
    REQUIRE(st.contains("fleet"));
    leaders.insert(st["fleet"].value("leader", json()).dump());
    if (st["fleet"]["role"] == "leader") ++leading;
    CHECK(f.get(id).metric("datawatch_ha_replicas") == 3);
    CHECK(st["probes"].at(0).contains("ran_by"));
  }
  CHECK(leaders.size() == 1);
  CHECK(leading == 1);
  std::printf(
      "ha soak: %d s window, runs per probe %lld..%lld (expected %d +- %d), gap between runs "
      "%lld..%lld ms; claims r1 %.0f r2 %.0f r3 %.0f; last owners %s; total %.1fs\n",
      window, static_cast<long long>(fewest), static_cast<long long>(most), window, tolerance,
      static_cast<long long>(min_gap), static_cast<long long>(max_gap), claims["r1"], claims["r2"],
      claims["r3"], owners.empty() ? "?" : owners[0].c_str(), secondsSince(t_start));
}

TEST_CASE(
    "kill -9 of the leader while its notification is held by a slow receiver - a new leader "
    "within 30s, one delivery id per event, firing before resolved",
    "[integration][ha]") {
  FleetDb db(false);
  Receiver hook;
  hook.respond([](const Receiver::Request&) {
    Receiver::Reply r;
    r.hold = 3s;  // a slow receiver: the first request is in flight when its sender dies
    return r;
  });
  HaFleet f(db.dsn(), hook.url("/dw"));
  f.writeConfig(fleetYaml(5, true));
  for (const char* id : {"r1", "r2", "r3"}) f.start(id);
  for (const char* id : {"r1", "r2", "r3"}) REQUIRE(f.get(id).waitListening(20s));
  // The warehouse is 10 minutes old: the alert fires; the leader posts it.
  REQUIRE(hook.waitRequests(1, 40s));
  const auto first = sentOf(hook.requests());
  REQUIRE(first.size() == 1);
  CHECK(first[0].status == "firing");
  const std::string sender = first[0].replica;
  CHECK(leaderRow(f.dsn()).owner == sender);
  const int64_t epoch = leaderRow(f.dsn()).epoch;

  f.get(sender).process().signal(SIGKILL);
  const auto t_kill = SteadyClock::now();
  CHECK(f.get(sender).process().wait(5s) == -1);  // by a signal
  const auto next = f.waitLeader(sender, 30s);
  REQUIRE(next);
  const double failover = secondsSince(t_kill);
  std::printf(
      "ha kill -9: leader %s killed mid-request, %s leads (epoch %lld -> %lld) after %.1fs\n",
      sender.c_str(), next->owner.c_str(), static_cast<long long>(epoch),
      static_cast<long long>(next->epoch), failover);
  CHECK(failover < 30.0);
  CHECK(next->epoch > epoch);

  // The data comes back: the alert resolves, sent by the new leader.
  makeOrdersFresh(f);
  REQUIRE(eventually(
      [&] {
        for (const auto& s : sentOf(hook.accepted()))
          if (s.status == "resolved") return true;
        return false;
      },
      40s));
  // Nothing left queued: every notification of the scenario was delivered.
  CHECK(eventually([&] { return f.scalar("SELECT count(*) FROM outbox") == 0; }, 20s));
  const auto sent = sentOf(hook.requests());
  checkDeliveries(sent);
  for (size_t i = 1; i < sent.size(); ++i) {
    INFO(i);
    CHECK(sent[i].replica == next->owner);  // nothing more from the dead one
  }
  std::printf("ha kill -9: %zu request(s): ", sent.size());
  for (const auto& s : sent)
    std::printf("%s %s from %s; ", s.status.c_str(), s.delivery_id.substr(0, 8).c_str(),
                s.replica.c_str());
  std::printf("\n");
}

TEST_CASE(
    "SIGSTOP the leader past its lease - another takes over with a higher epoch - SIGCONT: the "
    "old leader sends nothing, writes nothing and steps down",
    "[integration][ha]") {
  // Stopped after its firing was delivered, or while the receiver holds it:
  // then, awake, its request ends and its outbox write must be fenced.
  bool in_flight = false;
  SECTION("stopped after its notification was delivered") {}
  SECTION("stopped while its notification is in flight") {
    in_flight = true;
  }
  FleetDb db(false);
  Receiver hook;
  auto count = std::make_shared<std::atomic<int>>(0);
  hook.respond([count, in_flight](const Receiver::Request&) {
    Receiver::Reply r;
    if (in_flight && (*count)++ == 0) r.hold = 2s;
    return r;
  });
  HaFleet f(db.dsn(), hook.url("/dw"));
  f.writeConfig(fleetYaml(3, true));
  for (const char* id : {"r1", "r2"}) f.start(id);
  for (const char* id : {"r1", "r2"}) REQUIRE(f.get(id).waitListening(20s));
  REQUIRE(hook.waitRequests(1, 40s));
  const LeaderRow before = leaderRow(f.dsn());
  REQUIRE(!before.owner.empty());
  CHECK(sentOf(hook.requests()).at(0).replica == before.owner);
  Replica& old = f.get(before.owner);
  const std::string other_id = before.owner == "r1" ? "r2" : "r1";
  Replica& other = f.get(other_id);
  const std::string sends = R"(datawatch_notifications_total{notifier="hook"})";
  if (!in_flight) REQUIRE(eventually([&] { return old.metric(sends).value_or(0) >= 1; }, 10s));
  // The attempt in flight at SIGSTOP may still be counted when it ends; nothing more.
  const double old_sends = old.metric(sends).value_or(0) + (in_flight ? 1 : 0);
  CHECK(old.metric("datawatch_ha_leader") == 1);

  old.process().signal(SIGSTOP);
  const auto t_stop = SteadyClock::now();
  const size_t requests_at_stop = hook.requests().size();
  const auto next = f.waitLeader(before.owner, 30s);
  REQUIRE(next);
  std::printf("ha SIGSTOP: %s stopped, %s leads (epoch %lld -> %lld) after %.1fs\n",
              before.owner.c_str(), next->owner.c_str(), static_cast<long long>(before.epoch),
              static_cast<long long>(next->epoch), secondsSince(t_stop));
  CHECK(next->owner == other_id);
  CHECK(next->epoch > before.epoch);
  REQUIRE(eventually(
      [&] {
        const json st = other.status();
        return st.contains("fleet") && st["fleet"]["role"] == "leader" &&
               st["fleet"]["leader"] == other_id && st["fleet"]["epoch"] == next->epoch;
      },
      10s));

  // While the old leader sleeps the alert resolves: the new leader sends it.
  makeOrdersFresh(f);
  REQUIRE(eventually(
      [&] {
        for (const auto& s : sentOf(hook.accepted()))
          if (s.status == "resolved") return s.replica == other_id;
        return false;
      },
      30s));
  const auto snapshot_before = f.rows("SELECT key, value FROM snapshots ORDER BY key");
  const auto incidents_before = f.rows("SELECT id, status, doc FROM incidents ORDER BY id");

  old.process().signal(SIGCONT);
  const auto t_cont = SteadyClock::now();
  // It wakes knowing its lease is gone, and steps down.
  REQUIRE(eventually(
      [&] {
        const json st = old.status();
        return st.contains("fleet") && st["fleet"]["role"] == "follower" &&
               st["fleet"]["leader"] == other_id && old.metric("datawatch_ha_leader") == 0;
      },
      15s));
  CHECK(eventually([&] { return old.logHas("stepping down as leader"); }, 10s));
  std::printf("ha SIGSTOP: %s follows again %.1fs after SIGCONT\n", before.owner.c_str(),
              secondsSince(t_cont));
  // A few of its beats and probe runs later (it claims runs again: awake, a
  // follower that reads the run feed), it has sent nothing and written nothing.
  const double claims = old.metric("datawatch_probe_claims_total").value_or(0);
  CHECK(eventually(
      [&] { return old.metric("datawatch_probe_claims_total").value_or(0) >= claims + 3; }, 10s));
  CHECK(f.waitRunsSince(probeNames(3, true), nowMs(), 10s));
  CHECK(eventually([&] { return secondsSince(t_cont) > 4; }, 10s));  // > one lease awake
  CHECK(old.metric(sends).value_or(0) <= old_sends);
  const auto all = hook.requests();
  for (size_t i = requests_at_stop; i < all.size(); ++i) {
    INFO(i);
    CHECK(all[i].header("x-replica") != before.owner);
  }
  checkDeliveries(sentOf(all));
  CHECK(leaderRow(f.dsn()).owner == other_id);
  CHECK(leaderRow(f.dsn()).epoch == next->epoch);
  CHECK(f.scalar("SELECT count(*) FROM outbox") == 0);
  CHECK(f.rows("SELECT key, value FROM snapshots ORDER BY key") == snapshot_before);
  CHECK(f.rows("SELECT id, status, doc FROM incidents ORDER BY id") == incidents_before);
  const bool fenced = old.logHas("fenced");
  std::printf("ha SIGSTOP: the old leader's log %s a fenced write\n",
              fenced ? "shows" : "shows no attempt at");
  std::istringstream lines(old.log());
  for (std::string line; std::getline(lines, line);)
    if (line.find("fenced") != std::string::npos || line.find("stepping down") != std::string::npos)
      std::printf("  %s: %s\n", before.owner.c_str(), line.c_str());
}

TEST_CASE(
    "PostgreSQL restarted under the fleet - nothing crashes, every probe runs again soon after, "
    "and the notification queued before the restart is delivered",
    "[integration][ha]") {
  PgServer pg;
  Receiver hook;
  hook.respondWith(500, "receiver broken");
  HaFleet f(pg.dsn(), hook.url("/dw"));
  f.writeConfig(fleetYaml(5, true));
  const auto probes = probeNames(5, true);
  for (const char* id : {"r1", "r2"}) f.start(id);
  for (const char* id : {"r1", "r2"}) REQUIRE(f.get(id).waitListening(20s));
  // The firing notification fails (500) and stays queued.
  REQUIRE(hook.waitRequests(1, 40s));
  const std::string id = sentOf(hook.requests()).at(0).delivery_id;
  REQUIRE(f.waitRunsSince(probes, 0, 20s));
  CHECK(f.scalar("SELECT count(*) FROM outbox") == 1);

  pg.stop();
  const int64_t down_ms = nowMs();
  const auto t_down = SteadyClock::now();
  hook.respondWith(200, "ok");
  // Down for longer than the leader lease: the fleet loses its leader.
  // Watching that nothing crashes is a wait by nature.
  REQUIRE_FALSE(eventually(
      [&] { return !f.get("r1").process().running() || !f.get("r2").process().running(); }, 5s));
  pg.restart();
  const int64_t up_ms = nowMs();
  const auto t_up = SteadyClock::now();
  std::printf("ha PostgreSQL restart: down %.1fs\n",
              std::chrono::duration<double>(t_up - t_down).count());

  // Every probe runs again within one interval plus a few seconds.
  REQUIRE(f.waitRunsSince(probes, up_ms, 30s));
  const double recovered = secondsSince(t_up);
  std::printf("ha PostgreSQL restart: every probe ran again %.1fs after PostgreSQL was back\n",
              recovered);
  CHECK(recovered < 1 + 3 + 5);  // interval + lease + reconnect backoff
  const int64_t gap_runs = f.scalar(
      "SELECT count(*) FROM probe_runs WHERE observed_at_ms >= " + std::to_string(down_ms + 2000) +
      " AND observed_at_ms < " + std::to_string(up_ms));
  std::printf("ha PostgreSQL restart: %lld run(s) recorded as observed while it was down\n",
              static_cast<long long>(gap_runs));

  // The notification queued before the restart is delivered, with its id.
  REQUIRE(hook.waitAccepted(1, 30s));
  std::printf("ha PostgreSQL restart: the queued notification delivered %.1fs after\n",
              secondsSince(t_up));
  for (const auto& s : sentOf(hook.accepted())) CHECK(s.delivery_id == id);
  CHECK(eventually([&] { return f.scalar("SELECT count(*) FROM outbox") == 0; }, 10s));
  CHECK(f.get("r1").process().running());
  CHECK(f.get("r2").process().running());
  CHECK(leaderRow(f.dsn()).owner != "");
}

TEST_CASE(
    "two replicas starting together on an empty database - one migration per version, one "
    "leader",
    "[integration][ha]") {
  FleetDb db(false);
  HaFleet f(db.dsn());
  f.writeConfig(fleetYaml(3, false));
  f.start("r1");
  f.start("r2");
  REQUIRE(f.get("r1").waitListening(20s));
  REQUIRE(f.get("r2").waitListening(20s));
  const auto versions =
      f.rows("SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version");
  REQUIRE(versions.size() >= 2);
  for (size_t i = 0; i < versions.size(); ++i) {
    INFO(versions[i]);
    CHECK(versions[i] == std::to_string(i + 1) + "|1");
  }
  // One leader, both live, both agree.
  REQUIRE(eventually(
      [&] {
        const json a = f.get("r1").status();
        const json b = f.get("r2").status();
        if (!a.contains("fleet") || !b.contains("fleet")) return false;
        const int leading = (a["fleet"]["role"] == "leader") + (b["fleet"]["role"] == "leader");
        return leading == 1 && a["fleet"]["leader"] == b["fleet"]["leader"] &&
               f.get("r1").metric("datawatch_ha_replicas") == 2 &&
               f.get("r2").metric("datawatch_ha_replicas") == 2;
      },
      15s));
  CHECK(*f.get("r1").metric("datawatch_ha_leader") + *f.get("r2").metric("datawatch_ha_leader") ==
        1);
  CHECK(f.waitRunsSince(probeNames(3, false), 0, 10s));
  CHECK(f.get("r1").process().running());
  CHECK(f.get("r2").process().running());
}

TEST_CASE(
    "a replica with another config (an extra probe) logs and exports the mismatch - the leader "
    "keeps leading - the same config at another path is no mismatch",
    "[integration][ha]") {
  FleetDb db(false);
  HaFleet f(db.dsn());
  f.writeConfig(fleetYaml(3, false));
  f.writeConfig(fleetYaml(3, false,
                          "  - {name: extra_probe, type: volume, source: shop, table: orders, "
                          "min: 1, every: 1s}\n"),
                "extra.yaml");
  // The same config at another path (another mount, -c DIR) is the same config.
  f.writeConfig(fleetYaml(3, false), "copy.yaml");
  f.start("r1");
  f.start("r2");
  const auto leader = f.waitLeader("", 20s);
  REQUIRE(leader);
  Replica& odd = f.start("r3", "extra.yaml");
  Replica& copy = f.start("r4", "copy.yaml");
  REQUIRE(eventually([&] { return odd.metric("datawatch_ha_config_mismatch") == 1; }, 20s));
  CHECK(eventually([&] { return odd.logHas("differs from the leader's"); }, 5s));
  CHECK(odd.status()["fleet"]["config_mismatch"] == true);
  REQUIRE(eventually([&] { return copy.metric("datawatch_ha_replicas") == 4; }, 10s));
  for (const char* id : {"r1", "r2", "r4"}) {
    INFO(id);
    CHECK(f.get(id).metric("datawatch_ha_config_mismatch") == 0);
  }
  CHECK_FALSE(copy.logHas("differs from the leader's"));
  // It runs the probe only it knows; the leader and its epoch stay.
  CHECK(f.waitRunsSince({"extra_probe"}, 0, 10s));
  CHECK(f.rows("SELECT last_owner FROM dw_schedule WHERE probe = 'extra_probe'") ==
        std::vector<std::string>{"r3"});
  const LeaderRow after = leaderRow(f.dsn());
  CHECK(after.owner == leader->owner);
  CHECK(after.epoch == leader->epoch);
  CHECK(f.get(leader->owner).metric("datawatch_ha_leader") == 1);
  CHECK(odd.metric("datawatch_ha_leader") == 0);
}
