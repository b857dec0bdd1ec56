#pragma once
// LineageLinks: the configured probes joined to the lineage graph — which
// graph nodes each probe watches and, through the graph, which probes are
// upstream of it and which datasets and jobs lie downstream. What alert
// inhibition, incident impact and the status page read.
//
// A probe watches:
// - a `type: job` probe: its job (JobSpec::job, a "namespace/name" key);
// - a probe with `dataset:`: that dataset key;
// - a table probe on a source with `lineage_namespace`: the datasets
//   LineageGraph::datasetsFor(namespace, table, lineage_database) finds.
//
// Upstream probes of P: walk up from P's nodes (a dataset to the jobs that
// produce it, a job to the datasets it reads), breadth first; on each path the
// first node some other probe watches ends the walk there, and those probes are
// P's upstream. So a failing job probe is upstream of every table its job
// writes, and a table two jobs up is upstream only where no probe watches the
// nodes between. Cycles are walked once. upstreamChain() lists the nodes that
// walk reaches, so it ends at the watched ones (what lies above them is their
// probes' own chain). Each level is in key order: every answer is
// deterministic. A probe watches only nodes the graph has.
//
// Immutable once built: share it (std::shared_ptr<const LineageLinks>) and
// build a new one when the graph's version() or the config changes.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/types.hpp"
#include "lineage/graph.hpp"

namespace datawatch::lineage {

// One node on a probe's upstream chain (the status page), nearest first.
struct ChainStep {
  std::string node;                 // the dataset or job key
  bool job = false;                 // a job (else a dataset)
  int depth = 1;                    // 1 = directly upstream of the probe's nodes
  std::vector<std::string> probes;  // the probes watching it (may be empty)
};

struct Downstream {
  std::vector<std::string> datasets;  // keys, nearest first, each once
  std::vector<std::string> jobs;
  bool truncated = false;  // more lie beyond `max_nodes`
};

class LineageLinks {
 public:
  LineageLinks() = default;  // no lineage: every probe has no nodes
  LineageLinks(const config::Config& cfg, const LineageGraph& graph);

  // The nodes `probe` watches (sorted); empty for an unknown probe.
  const std::vector<std::string>& nodesOf(const std::string& probe) const;
  // Probes upstream of `probe` through the graph (sorted; never `probe`).
  const std::vector<std::string>& upstreamProbes(const std::string& probe) const;
  // The nodes upstream of `probe`, nearest first, at most `max_steps`.
  std::vector<ChainStep> upstreamChain(const std::string& probe, size_t max_steps = 20) const;
  // Datasets and jobs downstream of the nodes of `probes`, excluding those nodes.
  // At most `max_nodes` of them (the nearest): the walk stops there, so a
  // probe high in a big graph costs no more than its first levels.
  Downstream downstreamOf(const std::vector<std::string>& probes,
                          size_t max_nodes = SIZE_MAX) const;

 private:
  struct Node {
    bool job = false;
    std::vector<std::string> up;    // producers of a dataset / inputs of a job
    std::vector<std::string> down;  // consumers of a dataset / outputs of a job
    std::vector<std::string> probes;
  };
  std::map<std::string, Node> nodes_;
  std::map<std::string, std::vector<std::string>> probe_nodes_;
  std::map<std::string, std::vector<std::string>> upstream_;
};

}  // namespace datawatch::lineage
