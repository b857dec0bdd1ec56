// The fleet's probe claims against a real PostgreSQL (a fresh database per
// test): one run per probe and grid point across replicas, leases, per-source
// limits fleet-wide.

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "core/mutex.hpp"
#include "tests/integration/fleet_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;

std::unique_ptr<Fleet> openFleet(const FleetOptions& o) {
  auto f = Fleet::open(o, std::make_shared<spdlog::logger>("fleet"));
  INFO((f.ok() ? "" : f.error()));
  REQUIRE(f.ok());
  return std::move(f).value();
}

std::vector<FleetProbe> probes(const std::string& prefix, int n, const std::string& source,
                               Duration every, Duration lease) {
  std::vector<FleetProbe> out;
  for (int i = 0; i < n; ++i)
    out.push_back({prefix + std::to_string(i), source, every, lease, Duration{0}});
  return out;
}

std::vector<std::string> names(const std::vector<FleetClaim>& claims) {
  std::vector<std::string> out;
  for (const auto& c : claims) out.push_back(c.probe);
  return out;
}

std::vector<FleetClaim> claimOk(Fleet& f, size_t max_runs,
                                const std::map<std::string, size_t>& free = {}) {
  auto c = f.claim(max_runs, free);
  INFO((c.ok() ? "" : c.error()));
  REQUIRE(c.ok());
  return *c;
}

#define SKIP_WITHOUT_PG()                                          \
  if (!havePg()) {                                                 \
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped"); \
    return;                                                        \
  }

}  // namespace

TEST_CASE("fleet runs each of 30 probes once per grid point across three replicas",
          "[fleet][threads]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  const auto ps = probes("p", 30, "src", 1000ms, 5000ms);
  std::vector<std::unique_ptr<Fleet>> fleets;
  for (int i = 0; i < 3; ++i) {
    fleets.push_back(openFleet(db.options("r" + std::to_string(i), 5s)));
    REQUIRE(fleets.back()->syncProbes(ps, {}).ok());
  }
  Mutex mu;
  std::vector<std::pair<FleetClaim, size_t>> runs;  // guarded by mu
  std::atomic<int> errors{0};
  const auto end = Steady::now() + 5000ms;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      while (Steady::now() < end) {
        auto c = fleets[i]->claim(100, {});
        if (!c.ok()) {
          ++errors;
          continue;
        }
        if (!c->empty()) {
          {
            MutexLock lock(mu);
            for (const auto& x : *c) runs.emplace_back(x, i);
          }
          if (!fleets[i]->release(names(*c)).ok()) ++errors;
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  MutexLock lock(mu);
  std::set<std::pair<std::string, TimePoint>> seen;
  std::map<std::string, std::vector<TimePoint>> dues;
  std::map<size_t, int> by_replica;
  for (const auto& [c, who] : runs) {
    CHECK(seen.insert({c.probe, c.due}).second);  // never twice for one grid point
    dues[c.probe].push_back(c.due);
    ++by_replica[who];
  }
  REQUIRE(dues.size() == 30);
  for (auto& [probe, ds] : dues) {
    INFO(probe);
    std::sort(ds.begin(), ds.end());
    CHECK(ds.size() >= 5);
    CHECK(ds.size() <= 6);
    for (size_t k = 1; k < ds.size(); ++k) CHECK(ds[k] - ds[k - 1] == 1000ms);  // none skipped
  }
  WARN("30 probes every 1 s for 5 s on 3 replicas: " << runs.size() << " runs (r0 " << by_replica[0]
                                                     << ", r1 " << by_replica[1] << ", r2 "
                                                     << by_replica[2] << ")");
}

TEST_CASE("fleet keeps an unreleased run's probe until its lease expires", "[fleet]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  auto b = openFleet(db.options("b", 5s));
  const std::vector<FleetProbe> ps = {{"p", "src", 500ms, 1500ms, Duration{0}}};
  REQUIRE(a->syncProbes(ps, {}).ok());
  REQUIRE(b->syncProbes(ps, {}).ok());

  const auto sent = Steady::now();
  auto first = claimOk(*a, 10);
  REQUIRE(first.size() == 1);
  auto next = b->nextDue();
  REQUIRE(next.ok());
  REQUIRE(next->has_value());
  CHECK(**next - std::chrono::system_clock::now() > 1000ms);  // not before the lease ends

  // a died mid-run: nobody gets p until the lease ends, then b does, for the
  // grid point after the one a claimed.
  std::vector<FleetClaim> second;
  REQUIRE(eventually(
      [&] {
        second = claimOk(*b, 10);
        return !second.empty();
      },
      5000ms));
  CHECK(Steady::now() - sent >= 1500ms - 20ms);
  REQUIRE(second.size() == 1);
  CHECK(second[0].due == first[0].due + 500ms);
  auto owners = a->probeOwners();
  REQUIRE(owners.ok());
  CHECK(owners->at("p").replica == "b");

  // a's late release cannot end b's lease.
  REQUIRE(a->release({"p"}).ok());
  CHECK(claimOk(*a, 10).empty());
}

TEST_CASE("fleet holds a source limit fleet-wide across three replicas", "[fleet][threads]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  const auto ps = probes("s", 10, "limited", 200ms, 3000ms);
  std::vector<std::unique_ptr<Fleet>> fleets;
  for (int i = 0; i < 3; ++i) {
    fleets.push_back(openFleet(db.options("r" + std::to_string(i), 5s)));
    REQUIRE(fleets.back()->syncProbes(ps, {{"limited", 2}}).ok());
  }
  std::atomic<int> held{0}, max_held{0}, runs{0}, errors{0};
  const auto end = Steady::now() + 3000ms;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      while (Steady::now() < end) {
        auto c = fleets[i]->claim(10, {});
        if (!c.ok()) {
          ++errors;
          continue;
        }
        const int n = static_cast<int>(c->size());
        if (n > 0) {
          const int now_held = held += n;
          int prev = max_held;
          while (now_held > prev && !max_held.compare_exchange_weak(prev, now_held)) {
          }
          runs += n;
          std::this_thread::sleep_for(150ms);  // the runs
          held -= n;
          if (!fleets[i]->release(names(*c)).ok()) ++errors;
        } else {
          std::this_thread::sleep_for(10ms);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  CHECK(max_held == 2);
  CHECK(runs >= 20);  // two at a time for 3 s, 150 ms each: ~40
  WARN("source limit 2 over 3 replicas: " << runs.load() << " runs in 3 s, at most "
                                          << max_held.load() << " at once");
}

TEST_CASE("fleet claims honour max_runs, free_per_source and the known probes", "[fleet]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  auto b = openFleet(db.options("b", 5s));
  auto pa = probes("x", 4, "x", 3600s, 60s);
  for (auto& p : probes("y", 2, "y", 3600s, 60s)) pa.push_back(p);
  REQUIRE(a->syncProbes(pa, {}).ok());
  const std::string odd = "b \"odd\", {NULL}\\";  // array-literal syntax in a name
  REQUIRE(b->syncProbes({{odd, "x", 3600s, 60s, Duration{0}}}, {}).ok());

  CHECK(claimOk(*a, 0).empty());
  CHECK(names(claimOk(*a, 3)) == std::vector<std::string>{"x0", "x1", "x2"});
  CHECK(names(claimOk(*a, 10, {{"x", 0}})) == std::vector<std::string>{"y0", "y1"});
  CHECK(names(claimOk(*a, 10, {{"x", 5}})) == std::vector<std::string>{"x3"});
  CHECK(claimOk(*a, 10).empty());
  CHECK(names(claimOk(*b, 10)) == std::vector<std::string>{odd});  // never a's probes
  auto owners = a->probeOwners();
  REQUIRE(owners.ok());
  CHECK(owners->size() == 6);  // a's probes only
  CHECK(owners->at("x0").replica == "a");
  CHECK(std::chrono::abs(std::chrono::system_clock::now() - owners->at("x0").at) < 60s);
  owners = b->probeOwners();
  REQUIRE(owners.ok());
  CHECK(owners->size() == 1);
  CHECK(owners->at(odd).replica == "b");
  REQUIRE(b->release({odd}).ok());
  owners = b->probeOwners();
  REQUIRE(owners.ok());
  CHECK(owners->at(odd).replica == "b");  // who ran it last, after the lease
}

TEST_CASE("fleet source limits follow the config and count other replicas' leases", "[fleet]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  auto b = openFleet(db.options("b", 5s));
  const auto ps = probes("q", 4, "db", 3600s, 60s);
  REQUIRE(a->syncProbes(ps, {{"db", 1}}).ok());
  REQUIRE(b->syncProbes(ps, {{"db", 1}}).ok());
  CHECK(claimOk(*a, 10).size() == 1);
  CHECK(claimOk(*b, 10).empty());  // the one connection is a's
  REQUIRE(b->syncProbes(ps, {{"db", 2}}).ok());
  CHECK(claimOk(*b, 10).size() == 1);
  CHECK(claimOk(*a, 10).empty());
  REQUIRE(a->syncProbes(ps, {}).ok());  // no limit any more
  CHECK(claimOk(*a, 10).size() == 2);
}

TEST_CASE("fleet restarts a probe's grid when its interval changes", "[fleet]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  std::vector<FleetProbe> ps = {{"p", "src", 3600s, 1000ms, Duration{0}}};
  REQUIRE(a->syncProbes(ps, {}).ok());
  REQUIRE(claimOk(*a, 10).size() == 1);
  REQUIRE(a->release({"p"}).ok());
  auto next = a->nextDue();
  REQUIRE(next.ok());
  REQUIRE(next->has_value());
  CHECK(**next - std::chrono::system_clock::now() > 3500s);

  // The same interval (a sync on reload, another replica's start): the grid stays.
  ps[0].lease = 2000ms;
  REQUIRE(a->syncProbes(ps, {}).ok());
  auto same = a->nextDue();
  REQUIRE(same.ok());
  CHECK(*same == *next);
  CHECK(claimOk(*a, 10).empty());

  ps[0].every = 2000ms;
  REQUIRE(a->syncProbes(ps, {}).ok());
  auto restarted = a->nextDue();
  REQUIRE(restarted.ok());
  REQUIRE(restarted->has_value());
  CHECK(**restarted - std::chrono::system_clock::now() < 1000ms);
  auto c = claimOk(*a, 10);
  REQUIRE(c.size() == 1);
  CHECK(c[0].due == **restarted);
}

TEST_CASE("fleet claim cost for a batch of 100 due probes", "[fleet][cost]") {
  SKIP_WITHOUT_PG();
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  // Every 1 ms: all 100 are due again by the next claim.
  REQUIRE(a->syncProbes(probes("c", 100, "src", 1ms, 60000ms), {{"src", 200}}).ok());
  std::this_thread::sleep_for(5ms);
  const int n = 50;
  std::chrono::microseconds claiming{0};
  for (int i = 0; i < n; ++i) {
    const auto t0 = Steady::now();
    auto c = claimOk(*a, 100);
    claiming += std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0);
    REQUIRE(c.size() == 100);
    REQUIRE(a->release(names(c)).ok());
    std::this_thread::sleep_for(2ms);
  }
  WARN(
      "fleet claim() of 100 due probes: 4 round trips (BEGIN + claim lock, due rows, lease "
      "update, COMMIT), "
      << static_cast<double>(claiming.count()) / n / 1000.0 << " ms per claim over " << n);
}
