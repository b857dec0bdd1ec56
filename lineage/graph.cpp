#include "lineage/graph.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "core/ascii.hpp"
#include "core/time_format.hpp"
#include "core/utf8.hpp"

// Memory: a job keeps at most runs_per_job runs; a run keeps its applied
// events' (time, type) pairs, its merged state, the datasets it wrote (with
// rowCount) and its merged run facets, serialized and capped at
// run_facet_bytes (names + compact JSON): a facet that would pass the cap is
// dropped (a newer version of a kept facet too: the older one stays). Which
// facets survive over the cap may depend on arrival order; nothing else does.
// Nodes and edges are ids into vectors, names are stored once per node.

namespace datawatch::lineage {
namespace {

// Adds `id` to the sorted set `ids`; true when it was not there.
bool insertSorted(std::vector<uint32_t>& ids, uint32_t id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) return false;
  ids.insert(it, id);
  return true;
}

std::string lastNamePart(std::string_view lowered) {
  const auto dot = lowered.rfind('.');
  return std::string(dot == std::string_view::npos ? lowered : lowered.substr(dot + 1));
}

nlohmann::json timeOrNull(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(formatRfc3339Millis(*t)) : nlohmann::json(nullptr);
}

}  // namespace

// Records of the graph: nested here, not file-local, because Impl (a member
// of an exported class) holds them.
struct LineageGraph::Impl {
  // An event's place within its run: a total order over the run's distinct
  // events (equal ranks are the same idempotency key).
  struct EventRank {
    TimePoint at{};
    EventType type = EventType::Other;
    // Tie-break of events of one run at the same millisecond: the run's end wins.
    static int eventTypeRank(EventType t) {
      switch (t) {
        case EventType::Start: return 0;
        case EventType::Running: return 1;
        case EventType::Other: return 2;
        case EventType::Complete: return 3;
        case EventType::Abort: return 4;
        case EventType::Fail: return 5;
      }
      return 2;
    }
    bool operator==(const EventRank& o) const { return at == o.at && type == o.type; }
    bool operator<(const EventRank& o) const {
      return at != o.at ? at < o.at : eventTypeRank(type) < eventTypeRank(o.type);
    }
  };

  struct GraphFacet {
    EventRank from;
    std::string json;  // compact, valid UTF-8
  };

  struct RunOutput {
    uint32_t dataset = 0;
    std::optional<int64_t> rows;
    EventRank rows_from;  // the event that sent `rows`
  };

  struct GraphRun {
    std::string run_id;
    std::vector<EventRank> seen;
    EventRank latest;
    std::optional<EventRank> terminal;
    std::optional<TimePoint> first_start;
    TimePoint earliest{};
    std::optional<std::string> error;
    EventRank error_from;
    std::vector<RunOutput> outputs;
    std::map<std::string, GraphFacet, std::less<>> facets;
    size_t facet_bytes = 0;

    EventType state() const { return terminal ? terminal->type : latest.type; }
    TimePoint startedAt() const { return first_start.value_or(earliest); }
    bool completed() const { return terminal && terminal->type == EventType::Complete; }
    bool wrote(uint32_t d) const {
      return std::any_of(outputs.begin(), outputs.end(),
                         [d](const RunOutput& o) { return o.dataset == d; });
    }
  };

  // Newest-run order: by start, then runId (deterministic).
  static bool startsBefore(const GraphRun& a, const GraphRun& b) {
    const TimePoint sa = a.startedAt(), sb = b.startedAt();
    return sa != sb ? sa < sb : a.run_id < b.run_id;
  }

  struct CompleteMark {
    TimePoint at{};
    std::string run_id;
    bool operator<(const CompleteMark& o) const {
      return at != o.at ? at < o.at : run_id < o.run_id;
    }
  };

  struct WriteMark {
    TimePoint at{};
    uint32_t job = 0;
    std::string run_id;
    std::optional<int64_t> rows;
  };

  struct GraphJob {
    std::string key, ns, name;
    std::vector<uint32_t> inputs, outputs;  // dataset ids, sorted by id
    std::vector<GraphRun> runs;             // at most runs_per_job
    std::optional<CompleteMark> forgotten_complete;
  };

  struct GraphDataset {
    std::string key, ns, name;
    std::vector<uint32_t> producers, consumers;  // job ids, sorted by id
    std::optional<WriteMark> forgotten_write;
  };

  size_t runs_per_job = 16;
  size_t run_facet_bytes = 16 * 1024;  // 0: run facets are not kept
  std::vector<GraphJob> jobs;
  std::vector<GraphDataset> datasets;
  std::map<std::string, uint32_t, std::less<>> job_ids;      // key -> id
  std::map<std::string, uint32_t, std::less<>> dataset_ids;  // key -> id
  // (namespace, lowercased last dot-separated part of the name) -> dataset ids
  std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> by_table;
  size_t events = 0;
  uint64_t version = 0;

  uint32_t jobId(const std::string& ns, const std::string& name) {
    std::string key = nodeKey(ns, name);
    if (auto it = job_ids.find(key); it != job_ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(jobs.size());
    jobs.push_back(GraphJob{key, ns, name, {}, {}, {}, std::nullopt});
    job_ids.emplace(std::move(key), id);
    ++version;
    return id;
  }

  uint32_t datasetId(const std::string& ns, const std::string& name) {
    std::string key = nodeKey(ns, name);
    if (auto it = dataset_ids.find(key); it != dataset_ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(datasets.size());
    datasets.push_back(GraphDataset{key, ns, name, {}, {}, std::nullopt});
    dataset_ids.emplace(std::move(key), id);
    by_table[{ns, lastNamePart(asciiLower(name))}].push_back(id);
    ++version;
    return id;
  }

  void addEdges(uint32_t j, const RunEvent& e) {
    for (const auto& in : e.inputs) {
      const uint32_t d = datasetId(in.ns, in.name);
      if (insertSorted(jobs[j].inputs, d)) ++version;
      insertSorted(datasets[d].consumers, j);
    }
    for (const auto& out : e.outputs) {
      const uint32_t d = datasetId(out.ns, out.name);
      if (insertSorted(jobs[j].outputs, d)) ++version;
      insertSorted(datasets[d].producers, j);
    }
  }

  void mergeFacet(GraphRun& run, const std::string& name, const nlohmann::json& value,
                  const EventRank& rank) {
    const auto it = run.facets.find(name);
    if (it != run.facets.end() && !(it->second.from < rank)) return;  // the kept one is newer
    std::string text = dumpJson(value);
    const size_t kept = it == run.facets.end() ? 0 : name.size() + it->second.json.size();
    const size_t size = name.size() + text.size();
    if (run.facet_bytes - kept + size > run_facet_bytes) return;  // dropped: over the cap
    run.facet_bytes = run.facet_bytes - kept + size;
    if (it == run.facets.end()) {
      run.facets.emplace(name, GraphFacet{rank, std::move(text)});
    } else {
      it->second = GraphFacet{rank, std::move(text)};
    }
  }

  void mergeEvent(GraphRun& run, const RunEvent& e, const EventRank& rank) {
    if (run.seen.empty()) {
      run.latest = rank;
      run.earliest = rank.at;
    } else {
      if (run.latest < rank) run.latest = rank;
      run.earliest = std::min(run.earliest, rank.at);
    }
    run.seen.push_back(rank);
    if (e.type == EventType::Start)
      run.first_start = run.first_start ? std::min(*run.first_start, rank.at) : rank.at;
    if (isTerminal(e.type) && (!run.terminal || *run.terminal < rank)) run.terminal = rank;
    if (e.error_message && (!run.error || run.error_from < rank)) {
      run.error = e.error_message;
      run.error_from = rank;
    }
    for (const auto& out : e.outputs) {
      const uint32_t d = dataset_ids.find(out.key())->second;
      auto it = std::find_if(run.outputs.begin(), run.outputs.end(),
                             [d](const RunOutput& o) { return o.dataset == d; });
      if (it == run.outputs.end()) {
        run.outputs.push_back(RunOutput{d, std::nullopt, EventRank{}});
        it = std::prev(run.outputs.end());
      }
      if (out.row_count && (!it->rows || it->rows_from < rank)) {
        it->rows = out.row_count;
        it->rows_from = rank;
      }
    }
    if (run_facet_bytes == 0) return;
    const auto run_it = e.doc.find("run");
    if (run_it == e.doc.end() || !run_it->is_object()) return;
    const auto facets = run_it->find("facets");
    if (facets == run_it->end() || !facets->is_object()) return;
    for (auto f = facets->begin(); f != facets->end(); ++f) mergeFacet(run, f.key(), *f, rank);
  }

  bool writeBefore(const WriteMark& a, const WriteMark& b) const {
    if (a.at != b.at) return a.at < b.at;
    if (a.job != b.job) return jobs[a.job].key < jobs[b.job].key;
    return a.run_id < b.run_id;
  }

  // Forgets the oldest run of job `j`, keeping what it adds to the summaries.
  void evictOldest(uint32_t j) {
    GraphJob& job = jobs[j];
    const auto oldest = std::min_element(job.runs.begin(), job.runs.end(), startsBefore);
    if (oldest->completed()) {
      CompleteMark mark{oldest->terminal->at, oldest->run_id};
      if (!job.forgotten_complete || *job.forgotten_complete < mark)
        job.forgotten_complete = std::move(mark);
      for (const auto& out : oldest->outputs) {
        WriteMark w{oldest->terminal->at, j, oldest->run_id, out.rows};
        auto& kept = datasets[out.dataset].forgotten_write;
        if (!kept || writeBefore(*kept, w)) kept = std::move(w);
      }
    }
    job.runs.erase(oldest);
  }

  bool apply(const RunEvent& e) {
    const uint32_t j = jobId(e.job_namespace, e.job_name);
    // Millisecond precision, as the idempotency key.
    const EventRank rank{std::chrono::floor<std::chrono::milliseconds>(e.event_time), e.type};
    {
      const auto& runs = jobs[j].runs;
      const auto run = std::find_if(runs.begin(), runs.end(),
                                    [&](const GraphRun& r) { return r.run_id == e.run_id; });
      if (run != runs.end() &&
          std::find(run->seen.begin(), run->seen.end(), rank) != run->seen.end())
        return false;
    }
    addEdges(j, e);
    GraphJob& job = jobs[j];
    auto run = std::find_if(job.runs.begin(), job.runs.end(),
                            [&](const GraphRun& r) { return r.run_id == e.run_id; });
    if (run == job.runs.end()) {
      job.runs.emplace_back();
      run = std::prev(job.runs.end());
      run->run_id = e.run_id;
    }
    mergeEvent(*run, e, rank);
    ++events;
    if (job.runs.size() > runs_per_job) evictOldest(j);
    return true;
  }

  static RunState runState(const GraphRun& r, bool with_facets) {
    RunState s;
    s.run_id = r.run_id;
    s.state = r.state();
    s.started_at = r.startedAt();
    if (r.terminal) s.ended_at = r.terminal->at;
    s.last_event = r.latest.at;
    s.error_message = r.error;
    if (!with_facets) return s;
    for (const auto& [name, facet] : r.facets) {
      try {
        s.facets[name] = nlohmann::json::parse(facet.json);
      } catch (const std::exception&) {
        // Our own dump always parses; nothing to add otherwise.
      }
    }
    return s;
  }

  std::vector<std::string> datasetKeys(const std::vector<uint32_t>& ids) const {
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const auto d : ids) keys.push_back(datasets[d].key);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  std::vector<std::string> jobKeys(const std::vector<uint32_t>& ids) const {
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const auto j : ids) keys.push_back(jobs[j].key);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  JobView jobView(uint32_t j, bool with_facets) const {
    const GraphJob& job = jobs[j];
    JobView v;
    v.key = job.key;
    v.inputs = datasetKeys(job.inputs);
    v.outputs = datasetKeys(job.outputs);
    const auto newest = std::max_element(job.runs.begin(), job.runs.end(), startsBefore);
    if (newest != job.runs.end()) v.last_run = runState(*newest, with_facets);
    std::optional<CompleteMark> best = job.forgotten_complete;
    for (const auto& r : job.runs) {
      if (!r.completed()) continue;
      CompleteMark mark{r.terminal->at, r.run_id};
      if (!best || *best < mark) best = std::move(mark);
    }
    if (best) {
      v.last_complete = best->at;
      v.last_complete_run = best->run_id;
    }
    return v;
  }

  DatasetView datasetView(uint32_t d) const {
    const GraphDataset& ds = datasets[d];
    DatasetView v;
    v.key = ds.key;
    v.producers = jobKeys(ds.producers);
    v.consumers = jobKeys(ds.consumers);
    std::optional<WriteMark> best = ds.forgotten_write;
    for (const auto j : ds.producers) {
      for (const auto& r : jobs[j].runs) {
        if (!r.completed() || !r.wrote(d)) continue;
        const auto out = std::find_if(r.outputs.begin(), r.outputs.end(),
                                      [d](const RunOutput& o) { return o.dataset == d; });
        WriteMark w{r.terminal->at, j, r.run_id, out->rows};
        if (!best || writeBefore(*best, w)) best = std::move(w);
      }
    }
    if (best) {
      v.last_written = best->at;
      v.last_writer = jobs[best->job].key;
      v.last_writer_run = best->run_id;
      v.row_count = best->rows;
    }
    return v;
  }

  std::vector<std::string> datasetsFor(std::string_view ns, std::string_view table,
                                       std::string_view database) const {
    std::vector<std::string> keys;
    const std::string t = asciiLower(table);
    if (t.empty()) return keys;
    const auto it = by_table.find({std::string(ns), lastNamePart(t)});
    if (it == by_table.end()) return keys;
    const std::string exact = database.empty() ? t : asciiLower(database) + "." + t;
    const std::string suffix = "." + t;
    for (const auto d : it->second) {
      const std::string name = asciiLower(datasets[d].name);
      const bool match =
          name == exact || (database.empty() && name.size() > suffix.size() &&
                            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
      if (match) keys.push_back(datasets[d].key);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Topology topology() const {
    Topology t;
    t.jobs.reserve(job_ids.size());
    t.datasets.reserve(dataset_ids.size());
    for (const auto& [key, id] : job_ids) {
      t.jobs.push_back(key);
      for (const auto d : jobs[id].inputs) t.edges.emplace_back(datasets[d].key, key);
      for (const auto d : jobs[id].outputs) t.edges.emplace_back(key, datasets[d].key);
    }
    for (const auto& entry : dataset_ids) t.datasets.push_back(entry.first);
    std::sort(t.edges.begin(), t.edges.end());
    return t;
  }

  nlohmann::json toJson() const {
    nlohmann::json jobs_json = nlohmann::json::array();
    for (const auto& entry : job_ids) {
      const GraphJob& job = jobs[entry.second];
      const JobView v = jobView(entry.second, false);
      nlohmann::json last_run = nullptr;
      if (v.last_run) {
        const RunState& r = *v.last_run;
        last_run = {{"run_id", r.run_id},
                    {"state", toString(r.state)},
                    {"started_at", timeOrNull(r.started_at)},
                    {"ended_at", timeOrNull(r.ended_at)},
                    {"error_message",
                     r.error_message ? nlohmann::json(*r.error_message) : nlohmann::json(nullptr)}};
      }
      jobs_json.push_back({{"key", job.key},
                           {"namespace", job.ns},
                           {"name", job.name},
                           {"inputs", v.inputs},
                           {"outputs", v.outputs},
                           {"last_run", std::move(last_run)},
                           {"last_complete", timeOrNull(v.last_complete)}});
    }
    nlohmann::json datasets_json = nlohmann::json::array();
    for (const auto& entry : dataset_ids) {
      const GraphDataset& ds = datasets[entry.second];
      const DatasetView v = datasetView(entry.second);
      datasets_json.push_back(
          {{"key", ds.key},
           {"namespace", ds.ns},
           {"name", ds.name},
           {"producers", v.producers},
           {"consumers", v.consumers},
           {"last_written", timeOrNull(v.last_written)},
           {"row_count", v.row_count ? nlohmann::json(*v.row_count) : nlohmann::json(nullptr)}});
    }
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& [from, to] : topology().edges) edges.push_back({{"from", from}, {"to", to}});
    return {{"jobs", std::move(jobs_json)},
            {"datasets", std::move(datasets_json)},
            {"edges", std::move(edges)}};
  }
};

LineageGraph::LineageGraph(size_t runs_per_job, size_t run_facet_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->runs_per_job = std::max<size_t>(1, runs_per_job);
  impl_->run_facet_bytes = run_facet_bytes;
}

LineageGraph::~LineageGraph() = default;

bool LineageGraph::apply(const RunEvent& e) {
  MutexLock lock(mu_);
  return impl_->apply(e);
}

std::optional<JobView> LineageGraph::job(std::string_view key) const {
  MutexLock lock(mu_);
  const auto it = impl_->job_ids.find(key);
  if (it == impl_->job_ids.end()) return std::nullopt;
  return impl_->jobView(it->second, true);
}

std::optional<DatasetView> LineageGraph::dataset(std::string_view key) const {
  MutexLock lock(mu_);
  const auto it = impl_->dataset_ids.find(key);
  if (it == impl_->dataset_ids.end()) return std::nullopt;
  return impl_->datasetView(it->second);
}

std::vector<std::string> LineageGraph::datasetsFor(std::string_view ns, std::string_view table,
                                                   std::string_view database) const {
  MutexLock lock(mu_);
  return impl_->datasetsFor(ns, table, database);
}

LineageGraph::Topology LineageGraph::topology() const {
  MutexLock lock(mu_);
  return impl_->topology();
}

size_t LineageGraph::jobCount() const {
  MutexLock lock(mu_);
  return impl_->jobs.size();
}

size_t LineageGraph::datasetCount() const {
  MutexLock lock(mu_);
  return impl_->datasets.size();
}

size_t LineageGraph::eventCount() const {
  MutexLock lock(mu_);
  return impl_->events;
}

uint64_t LineageGraph::version() const {
  MutexLock lock(mu_);
  return impl_->version;
}

nlohmann::json LineageGraph::toJson() const {
  MutexLock lock(mu_);
  return impl_->toJson();
}

}  // namespace datawatch::lineage
