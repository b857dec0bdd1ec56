#include "agent/lineage_service.hpp"

#include <algorithm>

namespace datawatch {
namespace {

constexpr size_t kLineagePage = 1000;
// follow() re-reads this many ids below the newest applied: PostgreSQL hands
// out ids at insert and commits in any order, so a concurrent insert may
// become visible after a later id was already read.
constexpr int64_t kFollowOverlap = 512;

// How many events a refused body held: each of a batch, else one.
size_t eventsIn(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_array() && !j.empty() ? j.size() : 1;
}

}  // namespace

LineageService::LineageService(Metrics* metrics, std::shared_ptr<spdlog::logger> log)
    : metrics_(metrics), log_(std::move(log)) {}

size_t LineageService::applyRows(const std::vector<LineageRow>& rows) {
  size_t applied = 0;
  for (const auto& row : rows) {
    last_seq_ = std::max(last_seq_, row.seq);
    auto e = lineage::parseRunEvent(row.event);
    if (!e) {  // only a store edited by hand holds one
      if (log_) log_->warn("lineage: stored event {} skipped: {}", row.seq, e.error());
      continue;
    }
    applied += graph_.apply(*e) ? 1 : 0;
  }
  return applied;
}

Result<size_t> LineageService::load(StateStore& store) {
  MutexLock lock(mu_);
  size_t applied = 0;
  while (true) {
    auto rows = store.lineageEventsAfter(last_seq_, kLineagePage);
    if (!rows) return rows.status();
    applied += applyRows(*rows);
    if (rows->size() < kLineagePage) return applied;
  }
}

Status LineageService::follow(StateStore& store) {
  MutexLock lock(mu_);
  int64_t after = std::max<int64_t>(0, last_seq_ - kFollowOverlap);
  while (true) {
    auto rows = store.lineageEventsAfter(after, kLineagePage);
    if (!rows) return rows.status();
    applyRows(*rows);
    if (rows->size() < kLineagePage) return Status::Ok();
    after = rows->back().seq;
  }
}

LineageReceipt LineageService::receive(StateStore& store, std::string_view body) {
  LineageReceipt out;
  auto events = lineage::parseRunEvents(body);
  if (!events) {
    if (metrics_) metrics_->lineageEventsRejected(eventsIn(body));
    out.status = 400;
    out.error = events.error();
    return out;
  }
  for (const auto& e : *events) {
    auto stored = store.saveLineageEvent(e.idempotencyKey(), e.event_time, e.doc);
    if (!stored) {
      out.status = 503;
      out.error = "the state store did not take the event (" + stored.error() + "); send it again";
      if (log_) log_->warn("lineage: {}", out.error);
      return out;
    }
    if (!*stored) {
      ++out.duplicates;
      continue;
    }
    graph_.apply(e);  // stored first: the graph never holds what the store lost
    ++out.accepted;
    if (metrics_) metrics_->lineageEventStored(lineage::toString(e.type));
  }
  return out;
}

std::shared_ptr<const lineage::LineageLinks> LineageService::links(
    const std::shared_ptr<const config::Config>& cfg) {
  MutexLock lock(mu_);
  const uint64_t version = graph_.version();
  if (!links_ || links_cfg_ != cfg || links_version_ != version) {
    links_ = std::make_shared<const lineage::LineageLinks>(*cfg, graph_);
    links_cfg_ = cfg;
    links_version_ = version;
  }
  return links_;
}

std::shared_ptr<const config::Config> withLineage(const std::shared_ptr<const config::Config>& cfg,
                                                  const lineage::LineageLinks& links) {
  std::shared_ptr<config::Config> out;
  auto addAll = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
    bool added = false;
    for (const auto& x : from) {
      if (std::find(to.begin(), to.end(), x) != to.end()) continue;
      to.push_back(x);
      added = true;
    }
    return added;
  };
  for (size_t i = 0; i < cfg->probes.size(); ++i) {
    const auto& name = cfg->probes[i].name;
    const auto& up = links.upstreamProbes(name);
    const auto down = links.downstreamOf({name});
    if (up.empty() && down.datasets.empty() && down.jobs.empty()) continue;
    if (!out) out = std::make_shared<config::Config>(*cfg);
    auto& p = out->probes[i];
    addAll(p.upstream, up);
    // upstream_locs stays parallel to upstream: a lineage link is "written" at the probe.
    if (!p.upstream_locs.empty()) p.upstream_locs.resize(p.upstream.size(), p.loc);
    std::vector<std::string> consumers;
    for (const auto& d : down.datasets) consumers.push_back("dataset " + d);
    for (const auto& j : down.jobs) consumers.push_back("job " + j);
    addAll(p.consumers, consumers);
  }
  if (!out) return cfg;
  return out;
}

}  // namespace datawatch
