#include "lineage/links.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

// The walks go level by level and visit each level's nodes sorted by key, so
// every answer is deterministic. upstreamChain() walks what upstreamProbes()
// walks: it ends at the nodes other probes watch (they are listed, with their
// probes; what lies above them is their own chain).

namespace datawatch::lineage {
namespace {

const std::vector<std::string>& noStrings() {
  static const std::vector<std::string> kEmpty;
  return kEmpty;
}

void sortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Breadth first from `start` along each node's `up` (or `down`) list.
// visit(key, node, depth) runs once per reached node, nearest level first,
// each level in key order; it returns whether to walk on past that node.
// The walk ends when the graph does or when `keep_going()` turns false.
template <class Nodes, class Visit, class KeepGoing>
void walkLevels(const Nodes& nodes, const std::vector<std::string>& start, bool upward, Visit visit,
                KeepGoing keep_going) {
  using Entry = typename Nodes::value_type;
  std::unordered_set<const Entry*> seen;
  std::vector<const Entry*> frontier, level;
  for (const auto& key : start) {
    const auto it = nodes.find(key);
    if (it != nodes.end() && seen.insert(&*it).second) frontier.push_back(&*it);
  }
  int depth = 0;
  while (!frontier.empty() && keep_going()) {
    ++depth;
    level.clear();
    for (const Entry* e : frontier) {
      for (const auto& next : upward ? e->second.up : e->second.down) {
        const auto it = nodes.find(next);
        if (it != nodes.end() && seen.insert(&*it).second) level.push_back(&*it);
      }
    }
    std::sort(level.begin(), level.end(),
              [](const Entry* a, const Entry* b) { return a->first < b->first; });
    frontier.clear();
    for (const Entry* e : level) {
      if (!keep_going()) return;
      if (visit(e->first, e->second, depth)) frontier.push_back(e);
    }
  }
}

// A PostgreSQL table without a schema is in `public` (OpenLineage names it
// database.schema.table): "orders" must not match staging.orders too.
std::string qualifiedTable(const config::SourceConfig& source, const std::string& table) {
  const bool postgres =
      source.type == config::SourceType::Postgres ||
      (source.type == config::SourceType::Odbc && source.dialect == config::DialectId::Postgres);
  if (!postgres || table.find('.') != std::string::npos) return table;
  return "public." + table;
}

// Drops every upstream pair inside a cycle of probes (each would mute the
// other while both fail, and nothing would be sent): Kosaraju's strongly
// connected components over "Q is upstream of P"; a pair in one component is
// no one's cause.
void dropCycles(std::map<std::string, std::vector<std::string>>& upstream) {
  std::map<std::string, std::vector<std::string>> down;  // the reverse edges
  for (const auto& [p, ups] : upstream)
    for (const auto& q : ups) down[q].push_back(p);
  std::vector<std::string> order;  // by finishing time on `upstream`
  std::set<std::string> seen;
  for (const auto& root : upstream) {
    if (!seen.insert(root.first).second) continue;
    std::vector<std::pair<std::string, size_t>> stack{{root.first, 0}};
    while (!stack.empty()) {
      auto& [node, i] = stack.back();
      const auto it = upstream.find(node);
      if (it != upstream.end() && i < it->second.size()) {
        const std::string next = it->second[i++];
        if (seen.insert(next).second) stack.emplace_back(next, 0);
        continue;
      }
      order.push_back(node);
      stack.pop_back();
    }
  }
  std::map<std::string, size_t> component;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (component.count(*it)) continue;
    const size_t c = component.size();
    std::vector<std::string> todo{*it};
    component[*it] = c;
    while (!todo.empty()) {
      const std::string node = todo.back();
      todo.pop_back();
      for (const auto& next : down[node])
        if (component.emplace(next, c).second) todo.push_back(next);
    }
  }
  for (auto it = upstream.begin(); it != upstream.end();) {
    auto& ups = it->second;
    const size_t mine = component.at(it->first);
    ups.erase(std::remove_if(ups.begin(), ups.end(),
                             [&](const std::string& q) { return component.at(q) == mine; }),
              ups.end());
    it = ups.empty() ? upstream.erase(it) : std::next(it);
  }
}

template <class Node>
bool watchedByOther(const Node& node, const std::string& probe) {
  return std::any_of(node.probes.begin(), node.probes.end(),
                     [&](const std::string& p) { return p != probe; });
}

}  // namespace

LineageLinks::LineageLinks(const config::Config& cfg, const LineageGraph& graph) {
  const auto topo = graph.topology();
  for (const auto& j : topo.jobs) nodes_.emplace_hint(nodes_.end(), j, Node{})->second.job = true;
  for (const auto& d : topo.datasets) nodes_.emplace(d, Node{});
  // Edges come sorted by (from, to): every up and down list is sorted too. A
  // job that reads what it writes (MERGE, INSERT ... SELECT FROM itself) is
  // upstream of that dataset, not downstream: its read edge is left out, or
  // the job's probe and the dataset's would each mute the other.
  std::set<std::pair<std::string_view, std::string_view>> edges;
  for (const auto& [from, to] : topo.edges) edges.emplace(from, to);
  for (const auto& [from, to] : topo.edges) {
    if (edges.count({to, from}) && nodes_[to].job) continue;  // from is a dataset it writes
    nodes_[from].down.push_back(to);
    nodes_[to].up.push_back(from);
  }

  for (const auto& p : cfg.probes) {
    std::vector<std::string> watched;
    if (p.type == config::ProbeType::Job) {
      if (const auto* spec = std::get_if<config::JobSpec>(&p.spec); spec && nodes_.count(spec->job))
        watched.push_back(spec->job);
    } else if (!p.dataset.empty()) {
      if (nodes_.count(p.dataset)) watched.push_back(p.dataset);
    } else if (!p.table.empty()) {
      const auto* source = cfg.findSource(p.source);
      if (source && !source->lineage_namespace.empty())
        watched = graph.datasetsFor(source->lineage_namespace, qualifiedTable(*source, p.table),
                                    source->lineage_database);
      // The graph may have grown since topology(): keep the nodes it had then.
      watched.erase(std::remove_if(watched.begin(), watched.end(),
                                   [&](const std::string& k) { return !nodes_.count(k); }),
                    watched.end());
    }
    if (watched.empty()) continue;
    sortUnique(watched);
    for (const auto& key : watched) nodes_[key].probes.push_back(p.name);
    probe_nodes_[p.name] = std::move(watched);
  }
  for (auto& entry : nodes_) sortUnique(entry.second.probes);

  // Every probe's upstream walk (the one upstreamChain() makes, order aside),
  // on an index of the nodes: ids in key order, a visit stamp per walk.
  std::vector<const Node*> by_id;
  std::unordered_map<std::string_view, uint32_t> ids;
  by_id.reserve(nodes_.size());
  ids.reserve(nodes_.size());
  for (const auto& [key, node] : nodes_) {
    ids.emplace(key, static_cast<uint32_t>(by_id.size()));
    by_id.push_back(&node);
  }
  std::vector<std::vector<uint32_t>> up(by_id.size());
  for (size_t i = 0; i < by_id.size(); ++i)
    for (const auto& key : by_id[i]->up) up[i].push_back(ids.at(key));
  std::vector<uint32_t> stamp(by_id.size(), 0);
  uint32_t walk = 0;
  std::vector<uint32_t> frontier, next;
  for (const auto& [probe, start] : probe_nodes_) {
    ++walk;
    frontier.clear();
    for (const auto& key : start) {
      const uint32_t id = ids.at(key);
      stamp[id] = walk;
      frontier.push_back(id);
    }
    std::vector<std::string> upstream;
    while (!frontier.empty()) {
      next.clear();
      for (const uint32_t id : frontier) {
        for (const uint32_t u : up[id]) {
          if (stamp[u] == walk) continue;
          stamp[u] = walk;
          if (!watchedByOther(*by_id[u], probe)) {
            next.push_back(u);
            continue;
          }
          for (const auto& other : by_id[u]->probes)
            if (other != probe) upstream.push_back(other);
        }
      }
      frontier.swap(next);
    }
    sortUnique(upstream);
    if (!upstream.empty()) upstream_[probe] = std::move(upstream);
  }
  dropCycles(upstream_);
}

const std::vector<std::string>& LineageLinks::nodesOf(const std::string& probe) const {
  const auto it = probe_nodes_.find(probe);
  return it == probe_nodes_.end() ? noStrings() : it->second;
}

const std::vector<std::string>& LineageLinks::upstreamProbes(const std::string& probe) const {
  const auto it = upstream_.find(probe);
  return it == upstream_.end() ? noStrings() : it->second;
}

std::vector<ChainStep> LineageLinks::upstreamChain(const std::string& probe,
                                                   size_t max_steps) const {
  std::vector<ChainStep> chain;
  walkLevels(
      nodes_, nodesOf(probe), true,
      [&](const std::string& key, const Node& node, int depth) {
        std::vector<std::string> probes;
        for (const auto& p : node.probes)
          if (p != probe) probes.push_back(p);
        const bool walk_on = probes.empty();
        chain.push_back(ChainStep{key, node.job, depth, std::move(probes)});
        return walk_on;
      },
      [&] { return chain.size() < max_steps; });
  return chain;
}

Downstream LineageLinks::downstreamOf(const std::vector<std::string>& probes,
                                      size_t max_nodes) const {
  std::vector<std::string> start;
  for (const auto& p : probes) {
    const auto& nodes = nodesOf(p);
    start.insert(start.end(), nodes.begin(), nodes.end());
  }
  Downstream out;
  walkLevels(
      nodes_, start, false,
      [&](const std::string& key, const Node& node, int) {
        if (out.datasets.size() + out.jobs.size() == max_nodes) {
          out.truncated = true;
          return false;
        }
        (node.job ? out.jobs : out.datasets).push_back(key);
        return true;
      },
      [&] { return !out.truncated; });
  return out;
}

}  // namespace datawatch::lineage
