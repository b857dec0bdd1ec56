#include "agent/lineage_service.hpp"

#include <algorithm>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
namespace {

constexpr size_t kLineagePage = 1000;
// Producers' clocks may run a little ahead of the agent's; an event further
// ahead would pass for the newest run and hide later failures until then.
constexpr Duration kFutureTolerance = std::chrono::hours(1);
// Datasets and jobs downstream listed in a probe's consumers: the nearest.
constexpr size_t kImpactNodes = 20;

}  // namespace

LineageService::LineageService(Metrics* metrics, std::shared_ptr<spdlog::logger> log)
    : metrics_(metrics), log_(std::move(log)) {
  graph_.setComplete(false);  // until load() has read the store
}

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

Result<size_t> LineageService::catchUp(StateStore& store) {
  size_t applied = 0;
  while (true) {
    int64_t after = 0;
    {
      MutexLock lock(mu_);
      after = last_seq_;
    }
    // No lock while the store answers: links() (the HTTP thread) stays free.
    auto rows = store.lineageEventsAfter(after, kLineagePage);
    if (!rows) return rows.status();
    {
      MutexLock lock(mu_);
      applied += applyRows(*rows);
    }
    if (rows->size() < kLineagePage) return applied;
  }
}

Result<size_t> LineageService::load(StateStore& store) {
  auto n = catchUp(store);
  if (n) graph_.setComplete(true);
  return n;
}

Status LineageService::follow(StateStore& store) {
  auto n = catchUp(store);
  return n ? Status::Ok() : n.status();
}

LineageReceipt LineageService::receive(StateStore& store, std::string_view body, TimePoint now) {
  LineageReceipt out;
  auto events = lineage::parseRunEvents(body);
  if (events) {
    for (size_t i = 0; i < events->size(); ++i) {
      const TimePoint at = (*events)[i].event_time;
      if (at <= now + kFutureTolerance) continue;
      events = Result<std::vector<lineage::RunEvent>>::Error(
          (events->size() > 1 ? "event " + std::to_string(i) + ": " : std::string()) +
          "eventTime " + formatRfc3339(at) + " is more than " + humanDuration(kFutureTolerance) +
          " ahead of the agent's clock (" + formatRfc3339(now) + "): check the producer's clock");
      break;
    }
  }
  if (!events) {
    if (metrics_) metrics_->lineageEventsRejected(1);  // a refused batch is refused whole
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
    // The nearest ones only: a probe high in a big graph has thousands below
    // it, the list travels in every notification (PagerDuty takes 512 KB), and
    // a full walk per probe would make each relink cost seconds.
    const auto down = links.downstreamOf({name}, kImpactNodes);
    if (up.empty() && down.datasets.empty() && down.jobs.empty()) continue;
    if (!out) out = std::make_shared<config::Config>(*cfg);
    auto& p = out->probes[i];
    addAll(p.upstream, up);
    // upstream_locs stays parallel to upstream: a lineage link is "written" at the probe.
    if (!p.upstream_locs.empty()) p.upstream_locs.resize(p.upstream.size(), p.loc);
    std::vector<std::string> consumers;
    for (const auto& d : down.datasets) consumers.push_back("dataset " + d);
    for (const auto& j : down.jobs) consumers.push_back("job " + j);
    if (down.truncated)
      consumers.push_back("and more datasets and jobs downstream (GET /api/v1/lineage)");
    addAll(p.consumers, consumers);
  }
  if (!out) return cfg;
  return out;
}

}  // namespace datawatch
