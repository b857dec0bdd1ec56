// ProbeLoop batches (issue 19): runs of batchable probes on one source queued
// together go to one worker as one batch, within the source's limit; other
// probes run on their own. A fake source that sends batches records them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "agent/probe_loop.hpp"
#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = *parseTimestamp("2026-11-26T00:00:00Z");

// Answers every query with one row holding 1; records what came how.
class BatchingSource final : public SqlSource {
 public:
  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Sqlite; }
  const Dialect& dialect() const override { return dialectFor(config::DialectId::Sqlite); }
  std::string placeholder(int n) const override { return numberedMarker('?', n); }
  bool batchesQueries() const override { return true; }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>&,
                            const QueryLimits&) override {
    MutexLock lock(mu_);
    singles_.push_back(sql);
    return answer();
  }
  std::vector<Result<QueryResult>> queryBatch(const std::vector<BatchQuery>& batch) override {
    MutexLock lock(mu_);
    std::vector<std::string> sql;
    std::vector<Result<QueryResult>> out;
    for (const auto& q : batch) {
      sql.push_back(*q.sql);
      out.emplace_back(answer());
    }
    batches_.push_back(std::move(sql));
    return out;
  }
  std::vector<std::vector<std::string>> batches() const {
    MutexLock lock(mu_);
    return batches_;
  }
  std::vector<std::string> singles() const {
    MutexLock lock(mu_);
    return singles_;
  }

 private:
  static QueryResult answer() { return QueryResult{{"n"}, {{SqlValue(int64_t{1})}}}; }
  std::string name_ = "db";
  mutable Mutex mu_;
  std::vector<std::vector<std::string>> batches_ GUARDED_BY(mu_);
  std::vector<std::string> singles_ GUARDED_BY(mu_);
};

// Plans "SELECT <its name>" unless its name starts with "plain"; passes on a 1.
class PlannedProbe final : public Probe {
 public:
  PlannedProbe(config::ProbeConfig cfg, SqlSource& src) : cfg_(std::move(cfg)) {
    q_.source = &src;
    q_.sql = "SELECT " + cfg_.name;
  }
  const config::ProbeConfig& config() const override { return cfg_; }
  const PlannedQuery* plan() const override {
    return cfg_.name.rfind("plain", 0) == 0 ? nullptr : &q_;
  }
  ProbeResult run(const RunContext& ctx) override {
    auto r = runPlanned(ctx, q_);
    if (!r) return ProbeResult::error(r.error());
    return ProbeResult::pass(1, "rows", "ok");
  }

 private:
  config::ProbeConfig cfg_;
  PlannedQuery q_;
};

}  // namespace

TEST_CASE("the loop runs a due group of batchable probes as batches within the source's limit",
          "[scheduler][probe_loop][batch][threads]") {
  SimulatedClock clock{kStart};
  SourceRegistry sources;
  BatchingSource* source = nullptr;
  sources.add("sqlite",
              [&](const config::SourceConfig&, const Clock&) -> Result<std::unique_ptr<Source>> {
                auto s = std::make_unique<BatchingSource>();
                source = s.get();
                return std::unique_ptr<Source>(std::move(s));
              });
  ProbeRegistry probes;
  probes.add("volume", [](const config::ProbeConfig& pc, Source& s) {
    return makeProbeOn<PlannedProbe, SqlSource>(pc, s, "needs SQL");
  });
  std::string yaml = "sources:\n  db: {type: sqlite, path: w.db, max_connections: 3}\nprobes:\n";
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back((i % 4 == 3 ? "plain" : "p") + std::to_string(i));
  for (const auto& n : names)
    yaml += "  - {name: " + n + ", type: volume, source: db, table: t, min: 1, every: 1s}\n";
  auto loaded = config::loadConfigFromString(yaml, "/t/c.yaml", "", testing::envFrom({}));
  REQUIRE(loaded.ok());
  auto rt = std::make_shared<Runtime>(std::make_shared<config::Config>(std::move(*loaded.config)),
                                      clock, sources, probes, nullptr, nullptr,
                                      std::make_shared<spdlog::logger>("t"));
  REQUIRE(source != nullptr);
  ProbeLoop loop(rt, clock, 8, nullptr);
  loop.start();
  // First runs fall in [0, 1s): a second on, every probe is due at once.
  for (int round = 1; round <= 3; ++round) {
    clock.advance(1s);
    loop.wake();
    REQUIRE(testing::eventually([&] { return loop.completedRuns() >= 12u * round; }, 5s));
  }
  CHECK(loop.stop(0s));

  const auto batches = source->batches();
  const auto singles = source->singles();
  size_t batched = 0;
  for (const auto& b : batches) {
    CHECK(b.size() >= 2);
    CHECK(b.size() <= 3);  // never more than the source's runs in flight
    for (const auto& sql : b) CHECK(sql.find("plain") == std::string::npos);
    batched += b.size();
  }
  CHECK(batched > 0);
  // Every run asked exactly once, one way or the other; plain ones on their own.
  CHECK(batched + singles.size() == loop.completedRuns());
  CHECK(std::count_if(singles.begin(), singles.end(), [](const std::string& s) {
          return s.find("plain") != std::string::npos;
        }) == static_cast<std::ptrdiff_t>(loop.completedRuns() / 4));
  for (size_t i = 0; i < names.size(); ++i) {
    auto r = rt->lastResult(i);
    REQUIRE(r);
    CHECK(r->status == ProbeStatus::Pass);
  }
}
