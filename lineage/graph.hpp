#pragma once
// LineageGraph: what the OpenLineage events say, in memory — jobs, datasets,
// the edges between them (a job reads its inputs and writes its outputs) and
// each job's recent runs. Rebuilt at start from the events in the state store;
// probes read it (job probes, dataset freshness/volume), the agent joins it to
// probes (links.hpp).
//
// Invariants:
// - Order-free: applying the same set of events in any order gives the same
//   graph (a COMPLETE may arrive before its START; a batch may be shuffled).
// - Idempotent: an event whose idempotencyKey() was applied already changes
//   nothing and apply() returns false — as long as its run is still one of the
//   job's `runs_per_job` newest runs (older runs are forgotten; their
//   summaries — last COMPLETE, a dataset's last write — are kept).
// - Merge per run: a run is the union of its events. started_at is the START's
//   eventTime (else the earliest event's), the state is the terminal event's
//   (COMPLETE/ABORT/FAIL; the latest of them if several) else the latest
//   event's; run facets merge key by key (a later event's facet replaces the
//   same-named one, others add); inputs/outputs are the union of the events'.
//   A run keeps at most `run_facet_bytes` of merged facets (names + compact
//   JSON; 0 keeps none — the agent's choice: the state store keeps every
//   event whole, and nothing the agent serves reads them from memory): a
//   facet that would pass it is dropped (a newer version of a kept facet too,
//   the older one stays); over the cap, which facets survive may depend on
//   arrival order. Events of one run at the same millisecond order START <
//   RUNNING < OTHER < COMPLETE < ABORT < FAIL.
// - A dataset is "written" by a run that ended COMPLETE and listed it in its
//   outputs (in any of its events): last_written is the newest such end, and
//   row_count is that run's outputStatistics.rowCount (if it sent one).
// - Edges only grow (while the agent runs): a job that once read a dataset
//   stays its consumer. version() increases whenever a node or an edge is
//   added, so derived structures (links.hpp) know when to rebuild.
// Thread-safe: every method may be called from any thread (one mutex).

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.hpp"
#include "lineage/run_event.hpp"

namespace datawatch::lineage {

// One run of a job, merged from its events.
struct RunState {
  std::string run_id;
  EventType state = EventType::Other;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> ended_at;  // the terminal event's time
  TimePoint last_event{};             // the newest event's time
  std::optional<std::string> error_message;
  nlohmann::json facets = nlohmann::json::object();  // run facets, merged
  bool ended() const { return isTerminal(state); }
};

struct JobView {
  std::string key;                         // namespace/name
  std::optional<RunState> last_run;        // the newest run by started_at
  std::optional<TimePoint> last_complete;  // the end of the newest COMPLETE run
  std::string last_complete_run;           // its runId
  std::vector<std::string> inputs;         // dataset keys, sorted
  std::vector<std::string> outputs;        // dataset keys, sorted
};

struct DatasetView {
  std::string key;
  std::optional<TimePoint> last_written;  // see the invariants above
  std::string last_writer;                // the job key of that run
  std::string last_writer_run;            // its runId
  std::optional<int64_t> row_count;       // that run's outputStatistics.rowCount
  std::vector<std::string> producers;     // job keys that list it as an output, sorted
  std::vector<std::string> consumers;     // job keys that list it as an input, sorted
};

class LineageGraph {
 public:
  explicit LineageGraph(size_t runs_per_job = 16, size_t run_facet_bytes = 16 * 1024);
  ~LineageGraph();
  LineageGraph(const LineageGraph&) = delete;
  LineageGraph& operator=(const LineageGraph&) = delete;

  // Applies one event; false when it was applied already (see the invariants).
  bool apply(const RunEvent& e);

  std::optional<JobView> job(std::string_view key) const;
  std::optional<DatasetView> dataset(std::string_view key) const;

  // How a table probe finds its datasets: those in namespace `ns` whose name
  // is `table` or ends with "." + `table` ("shop.public.orders" for
  // "public.orders"), compared case-insensitively (ASCII). With `database`
  // non-empty, only the name database + "." + table matches. Sorted keys.
  std::vector<std::string> datasetsFor(std::string_view ns, std::string_view table,
                                       std::string_view database = {}) const;

  // Every node and edge (LineageLinks is built from it).
  struct Topology {
    std::vector<std::string> jobs;      // keys, sorted
    std::vector<std::string> datasets;  // keys, sorted
    // (from, to): dataset -> job for an input, job -> dataset for an output.
    std::vector<std::pair<std::string, std::string>> edges;
  };
  Topology topology() const;

  // False while the graph is known to miss stored events (the agent could not
  // read them at start): probes judged from it report an error meanwhile. A
  // graph is complete when built; its owner says otherwise.
  void setComplete(bool complete) { complete_.store(complete); }
  bool complete() const { return complete_.load(); }

  size_t jobCount() const;
  size_t datasetCount() const;
  size_t eventCount() const;  // events applied (not counting duplicates)
  uint64_t version() const;

  // GET /api/v1/lineage: {"jobs": [{key, namespace, name, inputs, outputs,
  // last_run: {run_id, state, started_at, ended_at, error_message} | null,
  // last_complete}], "datasets": [{key, namespace, name, producers, consumers,
  // last_written, row_count}], "edges": [{from, to}] (dataset -> job for
  // inputs, job -> dataset for outputs)}; times RFC 3339, sorted by key.
  nlohmann::json toJson() const;

 private:
  struct Impl;
  mutable Mutex mu_;
  std::unique_ptr<Impl> impl_ GUARDED_BY(mu_);
  std::atomic<bool> complete_{true};
};

}  // namespace datawatch::lineage
