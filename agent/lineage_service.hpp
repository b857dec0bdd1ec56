#pragma once
// LineageService: the agent's OpenLineage side (docs/lineage.md). It receives
// run events (POST /api/v1/lineage), stores each once (the state store keys
// them by runId, eventType and eventTime) and applies them to the in-memory
// graph that job and dataset probes read; it rebuilds that graph from the
// store at start and, with a shared store (HA), follows the events other
// replicas received. It also joins the graph to a configuration (links()) for
// alert inhibition, incident impact and the status page.
//
// Invariants:
// - Stored before applied: every event in the graph is in the store. An event
//   the store could not take is applied nowhere and its request answered 503,
//   so the sender retries it (a retried duplicate is then stored once).
// - A refused request (400, 401, 413) changes nothing, in the store or graph.
// - A duplicate (same idempotency key) is answered as accepted and changes
//   nothing (counted under `duplicates`, not in datawatch_lineage_events_total).
// Thread-safe: receive() runs on the HTTP thread, follow() on the main loop,
// the probes read graph() from the workers.

#include <spdlog/logger.h>

#include <memory>
#include <string_view>

#include "agent/metrics.hpp"
#include "core/mutex.hpp"
#include "lineage/graph.hpp"
#include "lineage/links.hpp"
#include "store/state_store.hpp"

namespace datawatch {

// The answer to one POST /api/v1/lineage.
struct LineageReceipt {
  int status = 201;     // 201 stored, 400 invalid (nothing stored), 503 store failed
  std::string error;    // why, for 400 and 503
  size_t accepted = 0;  // events stored now
  size_t duplicates = 0;
};

class LineageService {
 public:
  // `metrics` may be null; both outlive the service.
  LineageService(Metrics* metrics, std::shared_ptr<spdlog::logger> log);

  // Rebuilds the graph from every stored event (at start, before the probes
  // run). Returns how many were applied. Until a load succeeds the graph is
  // not complete() and lineage probes report an error (never a verdict on
  // half the history); call it again to retry from where it stopped.
  Result<size_t> load(StateStore& store);
  bool loaded() const { return graph_.complete(); }
  // HA: applies the events stored (by any replica) since the last load/follow.
  // The stores hand out ids in commit order (PostgreSQL: saves serialised by
  // a transaction lock), so reading after the last id misses nothing.
  Status follow(StateStore& store);

  // A POST body at the agent's `now` (events more than an hour ahead of it
  // are refused: they would pass for the newest run).
  LineageReceipt receive(StateStore& store, std::string_view body, TimePoint now);

  const lineage::LineageGraph& graph() const { return graph_; }

  // The graph joined to `cfg`: rebuilt when either changed since the last call.
  std::shared_ptr<const lineage::LineageLinks> links(
      const std::shared_ptr<const config::Config>& cfg) EXCLUDES(mu_);

 private:
  size_t applyRows(const std::vector<LineageRow>& rows) REQUIRES(mu_);
  Result<size_t> catchUp(StateStore& store) EXCLUDES(mu_);

  Metrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  // Run facets are not kept in memory (the store keeps the events whole):
  // they were ~3 KB a run, 5x the rest of the graph (bench/lineage_bench).
  lineage::LineageGraph graph_{16, 0};
  Mutex mu_;
  int64_t last_seq_ GUARDED_BY(mu_) = 0;  // the newest stored event applied
  std::shared_ptr<const config::Config> links_cfg_ GUARDED_BY(mu_);
  uint64_t links_version_ GUARDED_BY(mu_) = 0;
  std::shared_ptr<const lineage::LineageLinks> links_ GUARDED_BY(mu_);
};

// `cfg` with what the lineage links add: each probe's upstream probes through
// the graph appended to `upstream`, and the datasets and jobs downstream of it
// appended to `consumers` ("dataset <key>", "job <key>"). What the alert
// lifecycle (inhibition, incidents) and post-mortems (impact) read. Returns
// `cfg` itself when the links add nothing.
std::shared_ptr<const config::Config> withLineage(const std::shared_ptr<const config::Config>& cfg,
                                                  const lineage::LineageLinks& links);

}  // namespace datawatch
