// The fleet's leader lease and heartbeats against a real PostgreSQL (a fresh
// database per test). Claims: fleet_claim_test.cpp.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "core/mutex.hpp"
#include "tests/integration/fleet_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> quietLog() {
  return std::make_shared<spdlog::logger>("fleet");
}

std::unique_ptr<Fleet> openFleet(const FleetOptions& o) {
  auto f = Fleet::open(o, quietLog());
  INFO((f.ok() ? "" : f.error()));
  REQUIRE(f.ok());
  return std::move(f).value();
}

// One beat as a beating thread saw it.
struct BeatRecord {
  size_t who = 0;
  FleetState state;
  Steady::time_point sent{}, received{};
  bool other_valid = false;  // another replica's leaderValidNow() right after this beat
};

// Replicas beating every `period` on their own threads; each can be paused.
class Beaters {
 public:
  Beaters(std::vector<std::unique_ptr<Fleet>> fleets, std::chrono::milliseconds period)
      : fleets_(std::move(fleets)), period_(period), active_(fleets_.size()) {
    for (auto& a : active_) a = std::make_unique<Active>();
    for (size_t i = 0; i < fleets_.size(); ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Beaters() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  Beaters(const Beaters&) = delete;
  Beaters& operator=(const Beaters&) = delete;

  Fleet& fleet(size_t i) { return *fleets_[i]; }
  // After it returns, replica i beats no more (a beat in flight has finished).
  void pause(size_t i) {
    MutexLock lock(active_[i]->mu);
    active_[i]->on = false;
  }
  std::vector<BeatRecord> records() {
    MutexLock lock(mu_);
    return records_;
  }
  std::vector<BeatRecord> takeovers() {
    std::vector<BeatRecord> out;
    for (auto& r : records())
      if (r.state.became_leader) out.push_back(r);
    return out;
  }

 private:
  struct Active {
    Mutex mu;
    bool on GUARDED_BY(mu) = true;
  };
  void loop(size_t i) {
    while (!stop_) {
      {
        MutexLock lock(active_[i]->mu);
        if (active_[i]->on) beatOnce(i);
      }
      std::this_thread::sleep_for(period_);
    }
  }
  void beatOnce(size_t i) {
    BeatRecord r;
    r.who = i;
    r.sent = Steady::now();
    auto st = fleets_[i]->beat();
    r.received = Steady::now();
    if (!st.ok()) return;
    r.state = *st;
    for (size_t j = 0; j < fleets_.size(); ++j)
      if (j != i && fleets_[j]->leaderValidNow()) r.other_valid = true;
    MutexLock lock(mu_);
    records_.push_back(r);
  }

  std::vector<std::unique_ptr<Fleet>> fleets_;
  std::chrono::milliseconds period_;
  std::vector<std::unique_ptr<Active>> active_;
  std::atomic<bool> stop_{false};
  Mutex mu_;
  std::vector<BeatRecord> records_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("fleet open refuses a database without the fleet tables", "[fleet]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db(false);
  auto f = Fleet::open(db.options("r1", 2s), quietLog());
  REQUIRE_FALSE(f.ok());
  CHECK_THAT(f.error(), Catch::Contains("run the state store migrations first"));
  CHECK_THAT(f.error(), Catch::Contains("dw_leader"));
  CHECK_THAT(f.error(), !Catch::Contains("datawatch-test"));  // the test server's password

  auto o = db.options("r1", 2s);
  o.dsn = withDatabase(db.dsn(), "no_such_db");
  auto g = Fleet::open(o, quietLog());
  REQUIRE_FALSE(g.ok());
  CHECK_THAT(g.error(), Catch::Contains("cannot connect"));
  CHECK_THAT(g.error(), !Catch::Contains("datawatch-test"));
}

TEST_CASE("fleet elects one leader among three replicas and hands over by resign and by expiry",
          "[fleet][threads]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db;
  const auto lease = 2000ms;
  std::vector<std::unique_ptr<Fleet>> fleets;
  for (int i = 0; i < 3; ++i)
    fleets.push_back(openFleet(db.options("r" + std::to_string(i), lease)));
  Beaters b(std::move(fleets), 100ms);

  // One leader, renewing: a single epoch, every replica sees it.
  REQUIRE(eventually([&] { return b.takeovers().size() == 1; }, 5000ms));
  const BeatRecord first = b.takeovers()[0];
  const size_t l1 = first.who;
  REQUIRE(eventually([&] { return b.records().size() >= 20; }, 5000ms));
  CHECK(b.takeovers().size() == 1);
  for (size_t i = 0; i < 3; ++i) CHECK(b.fleet(i).leaderValidNow() == (i == l1));

  // Resign: another replica takes over at its next beat, long before the lease ends.
  b.pause(l1);
  b.fleet(l1).resign();
  const auto resigned = Steady::now();
  CHECK_FALSE(b.fleet(l1).leaderValidNow());
  REQUIRE(eventually([&] { return b.takeovers().size() == 2; }, 5000ms));
  const BeatRecord second = b.takeovers()[1];
  CHECK(second.who != l1);
  CHECK(second.state.epoch == first.state.epoch + 1);
  CHECK(second.received - resigned < lease / 2);

  // Expiry: the new leader stops beating (paused, no resign); the last replica
  // takes over only after the lease, with the next epoch.
  const size_t l2 = second.who;
  b.pause(l2);
  Steady::time_point last_renewal{};
  for (const auto& r : b.records())
    if (r.who == l2 && r.state.leader) last_renewal = r.sent;
  REQUIRE(eventually([&] { return b.takeovers().size() == 3; }, 3 * lease));
  const BeatRecord third = b.takeovers()[2];
  CHECK(third.who != l1);
  CHECK(third.who != l2);
  CHECK(third.state.epoch == second.state.epoch + 1);
  CHECK(third.received - last_renewal >= lease - 20ms);
  CHECK_FALSE(b.fleet(l2).leaderValidNow());  // its local deadline ended first

  // The ex-leader wakes: its next beat says it lost the lease, to the third.
  auto woke = b.fleet(l2).beat();
  REQUIRE(woke.ok());
  CHECK(woke->lost_leadership);
  CHECK_FALSE(woke->leader);
  CHECK_FALSE(woke->became_leader);
  CHECK(woke->leader_id == b.fleet(third.who).replicaId());
  CHECK(woke->epoch == third.state.epoch);

  // Throughout: no replica thought itself leader while another's deadline held,
  // and epochs only grew.
  int64_t last_epoch = 0;
  for (const auto& r : b.records()) {
    if (r.state.leader) CHECK_FALSE(r.other_valid);
    if (r.state.leader) CHECK(r.state.leader_valid_until <= r.sent + lease);
    CHECK(r.state.epoch >= last_epoch);
    last_epoch = std::max(last_epoch, r.state.epoch);
  }
}

TEST_CASE("fleet state shows the leader's config hash and the live replicas", "[fleet]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  auto bo = db.options("b", 5s);
  bo.config_hash = "hash-2";
  auto b = openFleet(bo);

  auto sa = a->beat();
  REQUIRE(sa.ok());
  CHECK(sa->leader);
  CHECK(sa->became_leader);
  CHECK(sa->epoch == 1);
  CHECK(a->leaderValidNow());
  auto sb = b->beat();
  REQUIRE(sb.ok());
  CHECK_FALSE(sb->leader);
  CHECK_FALSE(sb->became_leader);
  CHECK(sb->leader_id == "a");
  CHECK(sb->leader_config_hash == "hash-1");
  CHECK(sb->live_replicas == 2);
  CHECK(sb->epoch == 1);

  // A renewal keeps the epoch; a new hash reaches the leader row.
  a->setConfigHash("hash-3");
  sa = a->beat();
  REQUIRE(sa.ok());
  CHECK(sa->leader);
  CHECK_FALSE(sa->became_leader);
  CHECK(sa->epoch == 1);
  sb = b->beat();
  REQUIRE(sb.ok());
  CHECK(sb->leader_config_hash == "hash-3");

  auto reps = b->replicas();
  REQUIRE(reps.ok());
  REQUIRE(reps->size() == 2);
  CHECK((*reps)[0].id == "a");
  CHECK((*reps)[0].leader);
  CHECK((*reps)[0].config_hash == "hash-3");
  CHECK((*reps)[1].id == "b");
  CHECK_FALSE((*reps)[1].leader);
  CHECK((*reps)[1].config_hash == "hash-2");
  CHECK((*reps)[1].last_seen >= (*reps)[1].started_at);
  const auto age = std::chrono::system_clock::now() - (*reps)[1].last_seen;
  CHECK(std::chrono::abs(age) < 60s);

  // A clean stop: gone from the list, the lease free for the next beat.
  a->resign();
  CHECK_FALSE(a->leaderValidNow());
  reps = b->replicas();
  REQUIRE(reps.ok());
  REQUIRE(reps->size() == 1);
  CHECK((*reps)[0].id == "b");
  sb = b->beat();
  REQUIRE(sb.ok());
  CHECK(sb->became_leader);
  CHECK(sb->epoch == 2);
  CHECK(sb->leader_config_hash == "hash-2");
  CHECK(sb->live_replicas == 1);
}

TEST_CASE("fleet renewal after the lease lapsed in the database is a new epoch", "[fleet]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db;
  auto a = openFleet(db.options("a", 500ms));
  auto s1 = a->beat();
  REQUIRE(s1.ok());
  REQUIRE(s1->became_leader);
  CHECK(s1->leader_valid_until - Steady::now() <= 400ms);  // lease - lease/5
  // A pause longer than the lease: the local deadline ends first, then the lease.
  REQUIRE(eventually([&] { return !a->leaderValidNow(); }, 1000ms));
  REQUIRE(eventually(
      [&] {
        auto r = a->replicas();
        return r.ok() && (r->empty() || !(*r)[0].leader);  // stale heartbeat: lease gone too
      },
      2000ms));
  auto s2 = a->beat();
  REQUIRE(s2.ok());
  CHECK(s2->leader);
  CHECK(s2->became_leader);
  CHECK(s2->lost_leadership);  // epoch 1 is over
  CHECK(s2->epoch == s1->epoch + 1);
  auto s3 = a->beat();
  REQUIRE(s3.ok());
  CHECK(s3->leader);
  CHECK_FALSE(s3->became_leader);
  CHECK_FALSE(s3->lost_leadership);
  CHECK(s3->epoch == s2->epoch);
}

TEST_CASE("fleet reconnects after its connection is killed", "[fleet]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db;
  auto a = openFleet(db.options("a", 5s));
  REQUIRE(a->beat().ok());
  db.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'datawatch-fleet' AND datname = current_database()");
  auto broken = a->beat();
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(broken.error(), Catch::Contains("fleet heartbeat failed"));
  CHECK_THAT(broken.error(), !Catch::Contains("datawatch-test"));
  auto again = a->beat();
  INFO((again.ok() ? "" : again.error()));
  REQUIRE(again.ok());
  CHECK(again->leader);
  CHECK(again->epoch == 1);  // renewed within the lease: the same epoch
  CHECK(a->leaderValidNow());
}

TEST_CASE("fleet beat cost", "[fleet][cost]") {
  if (!havePg()) {
    WARN("DATAWATCH_TEST_PG_DSN is not set: fleet tests skipped");
    return;
  }
  FleetDb db;
  auto a = openFleet(db.options("a", 15s));
  REQUIRE(a->beat().ok());
  const int n = 200;
  const auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) REQUIRE(a->beat().ok());
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0);
  WARN("fleet beat(): 2 round trips (heartbeat + lease in one statement, then the state read), "
       << static_cast<double>(us.count()) / n / 1000.0 << " ms per beat over " << n);
  CHECK(a->leaderValidNow());
}
