// ProbeLoop batches (issue 19): runs of batchable probes on one source queued
// together go to one worker as one batch on one connection; other
// probes run on their own. A fake source that sends batches records them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "agent/probe_loop.hpp"
#include "core/time_format.hpp"
#include "tests/support/loop_rounds.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = *parseTimestamp("2026-11-26T00:00:00Z");

// Answers every query with one row holding 1, except that a batch leaves
// "...left..." queries unanswered (as a cut pipeline would); records what came how.
class BatchingSource final : public SqlSource {
 public:
  explicit BatchingSource(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Sqlite; }
  const Dialect& dialect() const override { return dialectFor(config::DialectId::Sqlite); }
  std::string placeholder(int n) const override { return numberedMarker('?', n); }
  bool batchesQueries() const override { return true; }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>&,
                            const QueryLimits&) override {
    Call call(*this);
    MutexLock lock(mu_);
    singles_.push_back(sql);
    if (!held_.empty() && sql.find(held_) != std::string::npos) {
      holding_ = true;
      gate_.notifyAll();
      gate_.wait(lock, [&]() REQUIRES(mu_) { return held_.empty(); });
    }
    return answer();
  }
  // query() of SQL holding `part` waits for release(); waitHolding() waits until one does.
  void hold(std::string part) {
    MutexLock lock(mu_);
    held_ = std::move(part);
  }
  bool waitHolding() {
    MutexLock lock(mu_);
    return gate_.waitFor(lock, std::chrono::seconds(5), [&]() REQUIRES(mu_) { return holding_; });
  }
  void release() {
    MutexLock lock(mu_);
    held_.clear();
    gate_.notifyAll();
  }
  BatchAnswers queryBatch(const std::vector<BatchQuery>& batch) override {
    Call call(*this);
    MutexLock lock(mu_);
    std::vector<std::string> sql;
    BatchAnswers out;
    for (const auto& q : batch) {
      sql.push_back(*q.sql);
      if (q.sql->find("left") != std::string::npos) {
        out.emplace_back();
      } else {
        out.emplace_back(answer());
        ++answered_;
      }
    }
    batches_.push_back(std::move(sql));
    return out;
  }
  size_t answeredInBatches() const {
    MutexLock lock(mu_);
    return answered_;
  }
  std::vector<std::vector<std::string>> batches() const {
    MutexLock lock(mu_);
    return batches_;
  }
  std::vector<std::string> singles() const {
    MutexLock lock(mu_);
    return singles_;
  }
  // The most calls (a query, a batch: a connection each) at once.
  int mostAtOnce() const {
    MutexLock lock(mu_);
    return most_at_once_;
  }

 private:
  // A call holds a connection for a moment (real time, so that the calls of
  // other workers can overlap it) and is counted while it does.
  struct Call {
    explicit Call(BatchingSource& s) : s_(s) {
      MutexLock lock(s_.mu_);
      s_.most_at_once_ = std::max(s_.most_at_once_, ++s_.at_once_);
    }
    ~Call() {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      MutexLock lock(s_.mu_);
      --s_.at_once_;
    }
    BatchingSource& s_;
  };
  static QueryResult answer() { return QueryResult{{"n"}, {{SqlValue(int64_t{1})}}}; }
  std::string name_;
  mutable Mutex mu_;
  std::vector<std::vector<std::string>> batches_ GUARDED_BY(mu_);
  std::vector<std::string> singles_ GUARDED_BY(mu_);
  size_t answered_ GUARDED_BY(mu_) = 0;
  CondVar gate_;
  std::string held_ GUARDED_BY(mu_);
  bool holding_ GUARDED_BY(mu_) = false;
  int at_once_ GUARDED_BY(mu_) = 0;
  int most_at_once_ GUARDED_BY(mu_) = 0;
};

// Plans "<source> <name>" unless its name starts with "plain"; passes on a 1,
// but one named "bad..." always reports an error.
class PlannedProbe final : public Probe {
 public:
  PlannedProbe(config::ProbeConfig cfg, SqlSource& src) : cfg_(std::move(cfg)) {
    q_.source = &src;
    q_.sql = cfg_.source + " " + cfg_.name;
  }
  const config::ProbeConfig& config() const override { return cfg_; }
  const PlannedQuery* plan() const override {
    return cfg_.name.rfind("plain", 0) == 0 ? nullptr : &q_;
  }
  ProbeResult run(const RunContext& ctx) override {
    auto r = runPlanned(ctx, q_);
    if (!r) return ProbeResult::error(r.error());
    if (cfg_.name.rfind("bad", 0) == 0) return ProbeResult::error("bad by name");
    return ProbeResult::pass(1, "rows", "ok");
  }

 private:
  config::ProbeConfig cfg_;
  PlannedQuery q_;
};

// A Runtime of PlannedProbes ("volume") on BatchingSources ("sqlite") at a
// simulated clock; `yaml` names the sources and probes.
struct BatchRig {
  SimulatedClock clock{kStart};
  SourceRegistry sources;
  ProbeRegistry probes;
  std::map<std::string, BatchingSource*> made;  // by source name
  std::shared_ptr<Runtime> rt;

  BatchRig(const BatchRig&) = delete;  // the factories and the Runtime point into it
  BatchRig& operator=(const BatchRig&) = delete;
  explicit BatchRig(const std::string& yaml) {
    sources.add(
        "sqlite",
        [this](const config::SourceConfig& sc, const Clock&) -> Result<std::unique_ptr<Source>> {
          auto s = std::make_unique<BatchingSource>(sc.name);
          made[sc.name] = s.get();
          return std::unique_ptr<Source>(std::move(s));
        });
    probes.add("volume", [](const config::ProbeConfig& pc, Source& s) {
      return makeProbeOn<PlannedProbe, SqlSource>(pc, s, "needs SQL");
    });
    rt = runtime(yaml);
  }
  // A Runtime of `yaml` (its sources replace those in `made`).
  std::shared_ptr<Runtime> runtime(const std::string& yaml) {
    auto loaded = config::loadConfigFromString(yaml, "/t/c.yaml", "", testing::envFrom({}));
    REQUIRE(loaded.ok());
    return std::make_shared<Runtime>(std::make_shared<config::Config>(std::move(*loaded.config)),
                                     clock, sources, probes, nullptr, nullptr,
                                     std::make_shared<spdlog::logger>("t"));
  }
};

std::string volumeProbe(const std::string& name, const std::string& source) {
  return "  - {name: " + name + ", type: volume, source: " + source +
         ", table: t, min: 1, every: 1s}\n";
}

}  // namespace

TEST_CASE(
    "the loop runs a due group of batchable probes as batches within the source's connections",
    "[scheduler][probe_loop][batch][threads]") {
  std::string yaml =
      "sources:\n  db: {type: sqlite, path: w.db, max_connections: 3}\n"
      "  db2: {type: sqlite, path: w2.db, max_connections: 3}\nprobes:\n";
  // On db: p0..p11 (every fourth "plain": no plan), bad0 and bad1 (errors) and
  // left0; on db2: q0..q3.
  std::vector<std::pair<std::string, std::string>> names;
  for (int i = 0; i < 12; ++i)
    names.emplace_back((i % 4 == 3 ? "plain" : "p") + std::to_string(i), "db");
  for (int i = 0; i < 2; ++i) names.emplace_back("bad" + std::to_string(i), "db");
  names.emplace_back("left0", "db");  // its batches never answer it
  for (int i = 0; i < 4; ++i) names.emplace_back("q" + std::to_string(i), "db2");
  for (const auto& [n, src] : names) yaml += volumeProbe(n, src);
  BatchRig rig(yaml);
  auto& clock = rig.clock;
  auto& made = rig.made;
  auto& rt = rig.rt;
  REQUIRE(made.size() == 2);
  ProbeLoop loop(rt, clock, 8, nullptr);
  const uint64_t per_round = names.size();
  auto badInBatches = [&] {
    size_t n = 0;
    for (const auto& b : made["db"]->batches())
      for (const auto& sql : b) n += sql.find("bad") != std::string::npos ? 1 : 0;
    return n;
  };
  size_t bad_after_first_round = 0;
  REQUIRE(testing::runRounds(loop, clock, 4, per_round, 5s, [&](uint64_t round) {
    if (round == 1) bad_after_first_round = badInBatches();
  }));
  CHECK(loop.stop(0s));

  size_t batched = 0, answered = 0, asked = 0, left_alone = 0, biggest = 0;
  for (const auto& [name, source] : made) {
    // Never more connections than max_connections: a batch is one.
    CHECK(source->mostAtOnce() >= 1);
    CHECK(source->mostAtOnce() <= 3);
    for (const auto& b : source->batches()) {
      CHECK(b.size() >= 2);
      CHECK(b.size() <= ProbeLoop::kMaxBatch);
      biggest = std::max(biggest, b.size());
      for (const auto& sql : b) {
        CHECK(sql.rfind(name + " ", 0) == 0);  // one source per batch
        CHECK(sql.find("plain") == std::string::npos);
      }
      batched += b.size();
    }
    answered += source->answeredInBatches();
    for (const auto& sql : source->singles()) left_alone += sql == "db left0" ? 1 : 0;
    asked += source->singles().size();
  }
  CHECK(batched >= answered);
  // Runs ride on the batch's slots: a due group beyond the source's three
  // runs in flight still goes in one batch (db has 12 batchable probes).
  CHECK(biggest > 3);
  // A probe whose last run failed runs on its own.
  CHECK(badInBatches() == bad_after_first_round);
  // Every run answered exactly once, in a batch or on its own; left0 on its
  // own each round (its batch left it: the loop ran it alone).
  CHECK(answered + asked == loop.completedRuns());
  CHECK(left_alone == 4);
  for (size_t i = 0; i < names.size(); ++i) {
    auto r = rt->lastResult(i);
    REQUIRE(r);
    CHECK(r->status ==
          (names[i].first.rfind("bad", 0) == 0 ? ProbeStatus::Error : ProbeStatus::Pass));
  }
}

TEST_CASE("runs a batch left unanswered run again on their own, in turn on its one connection",
          "[probe_loop][batch][threads]") {
  // Five probes on a source of two connections, all due at once: one worker
  // takes them all (the runs after the first ride on its slots), and the
  // three the batch leaves run alone one after another on that one slot.
  std::string yaml = "sources:\n  db: {type: sqlite, path: w.db, max_connections: 2}\nprobes:\n";
  // plain0 and plain1 do not batch: each needs a slot of its own, so the
  // source is at its limit whenever the batch's slot were freed too early.
  for (const char* n : {"p0", "left0", "left1", "left2", "p1", "plain0", "plain1"})
    yaml += volumeProbe(n, "db");
  BatchRig rig(yaml);
  auto& clock = rig.clock;
  auto& rt = rig.rt;
  BatchingSource* source = rig.made.at("db");
  // The dispatch observer sees each run once, the left ones' too (taken by
  // the batch, then started again on their own).
  Mutex observed_mu;
  std::map<size_t, int> observed;
  ProbeLoop loop(rt, clock, 4, nullptr, [&](const Dispatch& d, TimePoint) {
    MutexLock lock(observed_mu);
    ++observed[d.index];
  });
  // All seven due at once, each second.
  REQUIRE(testing::runRounds(loop, clock, 3, 7, 5s));
  CHECK(loop.stop(0s));
  const auto batches = source->batches();
  REQUIRE(batches.size() == 3);
  for (const auto& b : batches) CHECK(b.size() == 5);
  CHECK(source->answeredInBatches() == 6);
  std::map<std::string, int> singles;
  for (const auto& sql : source->singles()) ++singles[sql];
  CHECK(singles ==
        std::map<std::string, int>{
            {"db left0", 3}, {"db left1", 3}, {"db left2", 3}, {"db plain0", 3}, {"db plain1", 3}});
  // Never more than the source's two connections: the batch's slot is held
  // until its last left run has ended.
  CHECK(source->mostAtOnce() <= 2);
  CHECK(loop.completedRuns() == 21);
  for (size_t i = 0; i < 7; ++i) CHECK(rt->lastResult(i)->status == ProbeStatus::Pass);
  MutexLock lock(observed_mu);
  std::map<size_t, int> each_thrice;
  for (size_t i = 0; i < 7; ++i) each_thrice[i] = 3;
  CHECK(observed == each_thrice);
}

TEST_CASE("a reload during a batch's left runs moves those not started to the new Runtime",
          "[probe_loop][batch][threads]") {
  std::string yaml = "sources:\n  db: {type: sqlite, path: w.db, max_connections: 1}\nprobes:\n";
  const std::vector<std::string> left{"left0", "left1", "left2"};
  for (const auto& n : {"p0", "left0", "left1", "left2"}) yaml += volumeProbe(n, "db");
  BatchRig rig(yaml);
  BatchingSource* old_source = rig.made.at("db");
  old_source->hold("left");  // the chain's first left run waits
  ProbeLoop loop(rig.rt, rig.clock, 4, nullptr);
  rig.clock.advance(1s);  // all four due at once at the loop's first look
  loop.start();
  REQUIRE(old_source->waitHolding());
  // The chain holds one left run; the two others have not started: the
  // reload takes them (due at once in its schedule) while the held one ends
  // on the old Runtime.
  auto next = rig.runtime(yaml);
  BatchingSource* new_source = rig.made.at("db");
  REQUIRE(new_source != old_source);
  loop.replaceRuntime(next, 4);
  old_source->release();
  const auto ran_old = old_source->singles();
  REQUIRE(ran_old.size() == 1);
  const std::string held = ran_old[0];
  auto ranNew = [&] {
    std::set<std::string> out;
    for (const auto& sql : new_source->singles()) out.insert(sql);
    return out;
  };
  std::set<std::string> moved;
  for (const auto& n : left)
    if ("db " + n != held) moved.insert("db " + n);
  REQUIRE(moved.size() == 2);
  // The new Runtime runs the two (its batch leaves them too: alone again);
  // the held one ran on the old Runtime and is not due again yet.
  REQUIRE(testing::eventually([&] { return ranNew() == moved; }, 5s));
  CHECK(loop.stop(0s));
  CHECK(old_source->singles() == ran_old);
  const auto batches = old_source->batches();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].size() == 4);
  CHECK(ranNew() == moved);
  CHECK(new_source->mostAtOnce() <= 1);
  CHECK(old_source->mostAtOnce() <= 1);
}

TEST_CASE("a dispatch observer that throws loses no run", "[probe_loop][threads]") {
  std::string yaml = "sources:\n  db: {type: sqlite, path: w.db, max_connections: 2}\nprobes:\n";
  for (const char* n : {"plain0", "plain1"}) yaml += volumeProbe(n, "db");
  BatchRig rig(yaml);
  std::atomic<int> calls{0};
  ProbeLoop loop(rig.rt, rig.clock, 2, nullptr, [&](const Dispatch&, TimePoint) {
    if (calls++ == 0) throw std::runtime_error("a bug in the observer");
  });
  // Thrown through the worker, the first run taken was lost (its probe never
  // due again): the rounds would stop at one run short.
  REQUIRE(testing::runRounds(loop, rig.clock, 3, 2, 5s));
  CHECK(loop.stop(0s));
  CHECK(loop.completedRuns() == 6);
  CHECK(calls.load() == 6);
}
