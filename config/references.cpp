// Cross-references between sections, checked once everything is parsed.
#include "config/sections.hpp"

#include <set>

#include "core/duration.hpp"

namespace datawatch::config::detail {

namespace {

bool hasCycle(const Config& c, const std::string& start, std::set<std::string>& visiting,
              std::set<std::string>& done) {
  if (done.count(start)) return false;
  if (visiting.count(start)) return true;
  visiting.insert(start);
  if (const auto* p = c.findProbe(start)) {
    for (const auto& u : p->upstream)
      if (hasCycle(c, u, visiting, done)) return true;
  }
  visiting.erase(start);
  done.insert(start);
  return false;
}

template <typename T>
std::vector<std::string_view> namesOf(const std::vector<T>& items) {
  std::vector<std::string_view> out;
  for (const auto& x : items) out.push_back(x.name);
  return out;
}

void checkNotify(Ctx& ctx, const Config& c, const std::vector<std::string>& names,
                 const Location& loc, const std::string& what) {
  for (const auto& n : names) {
    if (!c.findNotifier(n)) {
      ctx.error(loc, what + " notifies \"" + n + "\", which is not a defined notifier" +
                         didYouMean(n, namesOf(c.notifiers)));
    }
  }
}

// The probe's source exists and is of a kind its type and target can use.
void checkProbeSource(Ctx& ctx, const Config& c, const ProbeConfig& p, const std::string& what) {
  const auto* src = c.findSource(p.source);
  if (!src) {
    if (!p.source.empty())
      ctx.error(p.loc, what + ": source \"" + p.source + "\" is not defined" +
                           didYouMean(p.source, namesOf(c.sources)));
  } else if (!p.table.empty() && !src->isSql()) {
    ctx.error(p.loc, what + ": table needs a SQL source (postgres or sqlite); source \"" +
                         src->name + "\" is " + toString(src->type));
  } else if (!p.topic.empty() && src->isSql()) {
    ctx.error(p.loc, what + ": topic needs a kafka source; source \"" + src->name + "\" is " +
                         toString(src->type));
  } else if (p.type == ProbeType::Sql && !src->isSql()) {
    ctx.error(p.loc, what + ": sql probes need a SQL source (postgres or sqlite); source \"" +
                         src->name + "\" is kafka");
  } else if (p.type == ProbeType::Volume && src->type != SourceType::Postgres &&
             std::get<VolumeSpec>(p.spec).method == VolumeMethod::Estimate) {
    ctx.error(p.loc,
              what + ": method estimate needs a postgres source (it reads pg_class statistics)");
  } else if (p.type == ProbeType::ConsumerLag && src->isSql()) {
    ctx.error(p.loc, what + ": consumer_lag probes need a kafka source; source \"" + src->name +
                         "\" is " + toString(src->type));
  }
}

void checkProbes(Ctx& ctx, const Config& c) {
  std::set<std::string> seen;
  for (const auto& p : c.probes) {
    if (!p.name.empty() && !seen.insert(p.name).second) {
      ctx.error(p.loc, "duplicate probe name \"" + p.name + "\" (first defined at " +
                           c.findProbe(p.name)->loc.str() + ")");
    }
    const std::string what = "probe \"" + p.name + "\"";
    checkProbeSource(ctx, c, p, what);
    for (const auto& u : p.upstream) {
      if (u == p.name)
        ctx.error(p.loc, what + " lists itself as upstream");
      else if (!c.findProbe(u))
        ctx.error(p.loc, what + ": upstream probe \"" + u + "\" is not defined");
    }
    if (p.alert) checkNotify(ctx, c, p.alert->notify, p.loc, what);
  }
  for (const auto& p : c.probes) {
    std::set<std::string> visiting, done;
    if (!p.upstream.empty() && hasCycle(c, p.name, visiting, done)) {
      ctx.error(p.loc, "probe \"" + p.name + "\": upstream lineage forms a cycle");
    }
  }
}

void checkSlos(Ctx& ctx, const Config& c) {
  std::set<std::string> slo_names;
  for (const auto& s : c.slos) {
    const std::string what = "slo \"" + s.name + "\"";
    if (!s.name.empty() && !slo_names.insert(s.name).second)
      ctx.error(s.loc, "duplicate slo name \"" + s.name + "\"");
    for (const auto& p : s.probes) {
      if (!c.findProbe(p)) {
        ctx.error(s.loc,
                  what + ": probe \"" + p + "\" is not defined" + didYouMean(p, namesOf(c.probes)));
      }
    }
    if (s.alerting.page_notify) checkNotify(ctx, c, *s.alerting.page_notify, s.loc, what);
    if (s.alerting.ticket_notify) checkNotify(ctx, c, *s.alerting.ticket_notify, s.loc, what);
    for (const auto& w : s.alerting.windows) {
      if (w.long_window > s.window) {
        ctx.error(s.loc, what + ": alerting window " + formatDuration(w.long_window) +
                             " is longer than the SLO window " + formatDuration(s.window));
      }
    }
  }
}

}  // namespace

void crossCheck(Ctx& ctx, Config& c) {
  checkProbes(ctx, c);
  checkSlos(ctx, c);
  checkNotify(ctx, c, c.agent.default_notify, c.agent.loc, "agent.default_notify");
}

}  // namespace datawatch::config::detail
