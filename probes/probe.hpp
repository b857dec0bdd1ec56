#pragma once
// Probe: one check of one target. Built once from its config by a factory that
// validates it (registry.hpp); run many times.
//
// Contract: run() never throws and never blocks past ctx.limits.deadline by more
// than the source needs to interrupt a statement. Failures to evaluate are
// ProbeResult::error values. The runner fills identity, observed_at and duration.
// run() may be called from any worker thread, but never concurrently for one
// probe (the scheduler guarantees it).
//
// Planned queries (issue 19): a probe whose every run begins with the same
// query says which in plan(). The runner may then send that query ahead,
// batched with other probes' on the same source (SqlSource::queryBatch), and
// hand the run its answer in RunContext::planned. A run gets the answer to
// exactly its planned query, with its own limits, or nothing (then it queries
// as usual): runPlanned() is the one place that chooses, so the query a probe
// plans and the one it runs cannot differ.

#include <memory>
#include <optional>

#include "config/types.hpp"
#include "probes/result.hpp"
#include "probes/snapshot_store.hpp"
#include "probes/source.hpp"

namespace datawatch {

struct RunContext {
  TimePoint now;  // the agent's clock: the `now` every query is given
  QueryLimits limits;
  // The last run of this probe that measured a value (pass or fail), if any.
  const ProbeResult* previous = nullptr;
  // Where the probe may keep state between runs; null when running without a store.
  SnapshotStore* snapshots = nullptr;
  // Other processes (HA replicas) run this probe too and write the same
  // snapshots: state kept in memory between runs must be reloaded each run.
  bool shared_snapshots = false;
  // The answer to the probe's plan() query when the runner sent it ahead;
  // taken by runPlanned (once: it is then empty). Null or empty: the run
  // queries itself.
  std::optional<Result<QueryResult>>* planned = nullptr;
};

// The query every run of a probe begins with, fixed when the probe is built.
struct PlannedQuery {
  SqlSource* source = nullptr;
  std::string sql;
  std::vector<SqlValue> params;
  bool with_user_sql = false;  // a user's `filter` is part of it (builtQuery)

  BatchQuery forRun(const RunContext& ctx) const {
    return {&sql, &params, builtQuery(ctx.limits, with_user_sql)};
  }
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual const config::ProbeConfig& config() const = 0;
  virtual ProbeResult run(const RunContext& ctx) = 0;
  // The query each run begins with, if the probe has one (see the top); the
  // pointer lives as long as the probe.
  virtual const PlannedQuery* plan() const { return nullptr; }
};

// The answer to the planned query `q`: the one sent ahead, or a query now.
inline Result<QueryResult> runPlanned(const RunContext& ctx, const PlannedQuery& q) {
  if (ctx.planned != nullptr && ctx.planned->has_value()) {
    Result<QueryResult> answer = std::move(**ctx.planned);
    ctx.planned->reset();
    return answer;
  }
  return q.source->query(q.sql, q.params, q.forRun(ctx).limits);
}

// The usual factory body: a `P(cfg, s)` when `source` is an `S` (SqlSource,
// StreamSource), else the error `needs` ("values probes need a SQL source").
template <typename P, typename S>
Result<std::unique_ptr<Probe>> makeProbeOn(const config::ProbeConfig& cfg, Source& source,
                                           const std::string& needs) {
  auto* s = dynamic_cast<S*>(&source);
  if (s == nullptr) return Result<std::unique_ptr<Probe>>::Error(needs);
  return std::unique_ptr<Probe>(std::make_unique<P>(cfg, *s));
}

// A probe that always reports the same error: a type this build cannot run yet,
// or a source that could not be set up. Keeps the rest of the agent going.
class ErrorProbe final : public Probe {
 public:
  ErrorProbe(config::ProbeConfig cfg, std::string message)
      : cfg_(std::move(cfg)), message_(std::move(message)) {}
  const config::ProbeConfig& config() const override { return cfg_; }
  ProbeResult run(const RunContext&) override { return ProbeResult::error(message_); }

 private:
  config::ProbeConfig cfg_;
  std::string message_;
};

}  // namespace datawatch
