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

// Where names[i] was written: locs[i] when the loader recorded it, else the
// enclosing item (a config built in code).
const Location& at(const std::vector<Location>& locs, size_t i, const Location& item) {
  return i < locs.size() && locs[i].line > 0 ? locs[i] : item;
}
const Location& at(const Location& loc, const Location& item) {
  return loc.line > 0 ? loc : item;
}

void checkNotify(Ctx& ctx, const Config& c, const std::vector<std::string>& names,
                 const std::vector<Location>& locs, const Location& item, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& n = names[i];
    if (!c.findNotifier(n)) {
      ctx.error(at(locs, i, item), what + " notifies \"" + n +
                                       "\", which is not a defined notifier" +
                                       didYouMean(n, namesOf(c.notifiers)));
    }
  }
}

// The probe's source exists and is of a kind its type and target can use.
// Reported at the `source:` value. Job and dataset probes have none (OpenLineage
// events feed them).
void checkProbeSource(Ctx& ctx, const Config& c, const ProbeConfig& p, const std::string& what) {
  if (p.fromLineage()) return;
  const auto* src = c.findSource(p.source);
  const Location& loc = at(p.source_loc, p.loc);
  if (!src) {
    if (!p.source.empty())
      ctx.error(loc, what + ": source \"" + p.source + "\" is not defined" +
                         didYouMean(p.source, namesOf(c.sources)));
  } else if (!p.table.empty() && !src->isSql()) {
    ctx.error(loc, what + ": table needs a SQL source (postgres, sqlite or odbc); source \"" +
                       src->name + "\" is " + toString(src->type));
  } else if (!p.topic.empty() && src->isSql()) {
    ctx.error(loc, what + ": topic needs a kafka source; source \"" + src->name + "\" is " +
                       toString(src->type));
  } else if (p.type == ProbeType::Sql && !src->isSql()) {
    ctx.error(loc, what + ": sql probes need a SQL source (postgres, sqlite or odbc); source \"" +
                       src->name + "\" is kafka");
  } else if (auto limit = src->isSql() ? dialectLimitation(p, src->dialect, src) : std::nullopt) {
    ctx.error(p.loc, what + ": " + *limit);
  } else if (p.type == ProbeType::ConsumerLag && src->isSql()) {
    ctx.error(loc, what + ": consumer_lag probes need a kafka source; source \"" + src->name +
                       "\" is " + toString(src->type));
  }
}

void checkUpstream(Ctx& ctx, const Config& c, const ProbeConfig& p, const std::string& what) {
  for (size_t i = 0; i < p.upstream.size(); ++i) {
    const auto& u = p.upstream[i];
    if (u == p.name)
      ctx.error(at(p.upstream_locs, i, p.loc), what + " lists itself as upstream");
    else if (!c.findProbe(u))
      ctx.error(at(p.upstream_locs, i, p.loc), what + ": upstream probe \"" + u +
                                                   "\" is not defined" +
                                                   didYouMean(u, namesOf(c.probes)));
  }
}

// A contract's source is checked once, at its `source:`; its probes then skip
// the source checks that would repeat it (they still get the dialect's).
bool checkContractSource(Ctx& ctx, const Config& c, const ContractConfig& k) {
  const std::string what = "contract \"" + k.id + "\"";
  const auto* src = c.findSource(k.source);
  if (!src) {
    if (!k.source.empty())
      ctx.error(at(k.source_loc, k.loc), what + ": source \"" + k.source + "\" is not defined" +
                                             didYouMean(k.source, namesOf(c.sources)));
    return false;
  }
  if (!src->isSql()) {
    ctx.error(at(k.source_loc, k.loc), what +
                                           ": contracts need a SQL source (postgres, sqlite or "
                                           "odbc); source \"" +
                                           src->name + "\" is kafka");
    return false;
  }
  return true;
}

void checkProbes(Ctx& ctx, const Config& c) {
  std::set<std::string> bad_contracts;
  for (const auto& k : c.contracts)
    if (!checkContractSource(ctx, c, k)) bad_contracts.insert(k.id);
  std::set<std::string> seen;
  for (const auto& p : c.probes) {
    if (!p.name.empty() && !seen.insert(p.name).second) {
      ctx.error(p.loc, "duplicate probe name \"" + p.name + "\" (first defined at " +
                           c.findProbe(p.name)->loc.str() + ")");
    }
    const std::string what = "probe \"" + p.name + "\"";
    if (!bad_contracts.count(p.contract) || p.contract.empty()) checkProbeSource(ctx, c, p, what);
    checkUpstream(ctx, c, p, what);
    // A contract's alert is the same for all its probes: checked once below.
    if (p.alert && p.contract.empty())
      checkNotify(ctx, c, p.alert->notify, p.alert->notify_locs, p.loc, what);
  }
  for (const auto& k : c.contracts) {
    if (k.alert)
      checkNotify(ctx, c, k.alert->notify, k.alert->notify_locs, k.loc,
                  "contract \"" + k.id + "\"");
  }
  for (const auto& p : c.probes) {
    std::set<std::string> visiting, done;
    if (!p.upstream.empty() && hasCycle(c, p.name, visiting, done)) {
      ctx.error(p.loc, "probe \"" + p.name + "\": upstream lineage forms a cycle");
    }
  }
}

void checkSlo(Ctx& ctx, const Config& c, const SloConfig& s) {
  const std::string what = "slo \"" + s.name + "\"";
  for (size_t i = 0; i < s.probes.size(); ++i) {
    const auto& p = s.probes[i];
    if (!c.findProbe(p)) {
      ctx.error(at(s.probe_locs, i, s.loc),
                what + ": probe \"" + p + "\" is not defined" + didYouMean(p, namesOf(c.probes)));
    }
  }
  const auto& a = s.alerting;
  if (a.page_notify) checkNotify(ctx, c, *a.page_notify, a.page_notify_locs, s.loc, what);
  if (a.ticket_notify) checkNotify(ctx, c, *a.ticket_notify, a.ticket_notify_locs, s.loc, what);
  for (const auto& w : a.windows) {
    if (w.long_window > s.window) {
      ctx.error(s.loc, what + ": alerting window " + formatDuration(w.long_window) +
                           " is longer than the SLO window " + formatDuration(s.window));
    }
  }
}

void checkSlos(Ctx& ctx, const Config& c) {
  std::set<std::string> slo_names;
  for (const auto& s : c.slos) {
    if (!s.name.empty() && !slo_names.insert(s.name).second)
      ctx.error(s.loc, "duplicate slo name \"" + s.name + "\"");
    checkSlo(ctx, c, s);
  }
}

// A silence matching a probe or SLO that does not exist silences nothing: a
// warning at the value, since the config stays usable.
void checkSilences(Ctx& ctx, const Config& c) {
  for (const auto& s : c.silences) {
    for (const auto& [label, value] : s.match) {
      const bool probe = label == "probe";
      if (!probe && label != "slo") continue;
      if (probe ? c.findProbe(value) != nullptr : c.findSlo(value) != nullptr) continue;
      auto loc = s.match_locs.find(label);
      ctx.warning(loc == s.match_locs.end() ? s.loc : at(loc->second, s.loc),
                  "silence matches " + label + " \"" + value +
                      "\", which is not defined, so it silences nothing" +
                      didYouMean(value, probe ? namesOf(c.probes) : namesOf(c.slos)));
    }
  }
}

}  // namespace

void crossCheck(Ctx& ctx, Config& c) {
  checkProbes(ctx, c);
  checkSlos(ctx, c);
  checkSilences(ctx, c);
  checkNotify(ctx, c, c.agent.default_notify, c.agent.default_notify_locs, c.agent.loc,
              "agent.default_notify");
}

}  // namespace datawatch::config::detail
