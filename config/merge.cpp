// Gathering the sections of every file, and the environment overlay.
#include "config/merge.hpp"

#include <algorithm>
#include <list>

namespace datawatch::config::detail {

namespace {

void gatherKeyed(Ctx& ctx, const Doc& doc, const YAML::Node& section, const std::string& name,
                 std::vector<Entry>& into) {
  if (section.IsNull()) return;
  if (!section.IsMap()) {
    ctx.error(doc, section, name + " must be a map of name: {...}, got " + nodeKind(section));
    return;
  }
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string key = it->first.Scalar();
    auto dup = std::find_if(into.begin(), into.end(), [&](const Entry& x) { return x.key == key; });
    if (dup != into.end()) {
      ctx.error(doc, it->first,
                "duplicate " + name.substr(0, name.size() - 1) + " \"" + key +
                    "\" (first defined at " + ctx.loc(*dup->doc, dup->key_node).str() + ")");
      continue;
    }
    into.push_back({it->second, &doc, key, it->first});
  }
}

void gatherList(Ctx& ctx, const Doc& doc, const YAML::Node& section, const std::string& name,
                std::vector<Entry>& into) {
  if (section.IsNull()) return;
  if (!section.IsSequence()) {
    ctx.error(doc, section, name + " must be a list, got " + nodeKind(section));
    return;
  }
  for (const auto& item : section) into.push_back({item, &doc, "", YAML::Node()});
}

// Agent keys are gathered one by one: each may come from a different file.
void gatherAgent(Ctx& ctx, const Doc& doc, const YAML::Node& v, Gathered& g) {
  if (v.IsNull()) return;
  if (!v.IsMap()) {
    ctx.error(doc, v, "agent must be a map, got " + std::string(nodeKind(v)));
    return;
  }
  for (auto a = v.begin(); a != v.end(); ++a) {
    const std::string k = a->first.Scalar();
    if (auto prev = g.agent.find(k); prev != g.agent.end()) {
      ctx.error(doc, a->first,
                "agent." + k + " is set twice (also at " +
                    ctx.loc(*prev->second.doc, prev->second.key_node).str() + ")");
      continue;
    }
    g.agent[k] = {a->second, &doc, k, a->first};
  }
}

void gatherEnvironments(Ctx& ctx, const Doc& doc, const YAML::Node& v, Gathered& g) {
  if (v.IsNull()) return;
  if (!v.IsMap()) {
    ctx.error(doc, v, "environments must be a map of name: overrides");
    return;
  }
  for (auto en = v.begin(); en != v.end(); ++en) {
    g.environments[en->first.Scalar()].push_back({en->second, &doc, en->first.Scalar(), en->first});
  }
}

}  // namespace

void gather(Ctx& ctx, const Doc& doc, Gathered& g) {
  if (doc.root.IsNull()) return;  // an empty file is fine
  if (!doc.root.IsMap()) {
    ctx.error(doc, doc.root,
              "the top level must be a map (agent, sources, probes, slos, notifiers, silences, "
              "contracts, environments)");
    return;
  }
  static const std::vector<std::string_view> kTop{
      "agent", "sources", "probes", "slos", "notifiers", "silences", "contracts", "environments"};
  for (auto it = doc.root.begin(); it != doc.root.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node v = it->second;  // a copy: the iterator's value is a temporary
    if (key == "agent") {
      gatherAgent(ctx, doc, v, g);
    } else if (key == "sources") {
      gatherKeyed(ctx, doc, v, "sources", g.sources);
    } else if (key == "notifiers") {
      gatherKeyed(ctx, doc, v, "notifiers", g.notifiers);
    } else if (key == "probes") {
      gatherList(ctx, doc, v, "probes", g.probes);
    } else if (key == "slos") {
      gatherList(ctx, doc, v, "slos", g.slos);
    } else if (key == "silences") {
      gatherList(ctx, doc, v, "silences", g.silences);
    } else if (key == "contracts") {
      gatherList(ctx, doc, v, "contracts", g.contracts);
    } else if (key == "environments") {
      gatherEnvironments(ctx, doc, v, g);
    } else {
      ctx.error(doc, it->first, "unknown top-level key \"" + key + "\"" + didYouMean(key, kTop));
    }
  }
}

namespace {

// yaml-cpp caveat: assigning to a YAML::Node that already points at a node
// rewrites that node (and every alias of it), and YAML::Clone drops positions.
// So merging never assigns to an existing handle: it collects handles, then
// inserts them into a map, and each value keeps the line it was written on.
using Pairs = std::list<std::pair<YAML::Node, YAML::Node>>;

YAML::Node deepMerge(const YAML::Node& base, const YAML::Node& over);

// The entries of `base` in order, each key of `over` merged into its entry or
// appended.
Pairs mergedPairs(const YAML::Node& base, const YAML::Node& over) {
  Pairs out;
  for (auto b = base.begin(); b != base.end(); ++b) out.emplace_back(b->first, b->second);
  for (auto o = over.begin(); o != over.end(); ++o) {
    const std::string k = o->first.Scalar();
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const auto& kv) { return kv.first.Scalar() == k; });
    if (same == out.end()) {
      out.emplace_back(o->first, o->second);
    } else {
      YAML::Node key = same->first;
      YAML::Node merged = deepMerge(same->second, o->second);
      same = out.erase(same);
      out.emplace(same, key, merged);
    }
  }
  return out;
}

// Overlays `over` onto `base`: maps merge key by key, anything else replaces.
// A merged nested map is a new node (its children keep their positions).
YAML::Node deepMerge(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return over;
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& [k, v] : mergedPairs(base, over)) out.force_insert(k, v);
  return out;
}

// Merges `over` into the entry's own map in place, so the entry keeps its
// position (a probe is reported at its first line).
void mergeEntry(Entry& target, const YAML::Node& over) {
  if (!target.node.IsMap() || !over.IsMap()) {
    target.node = over;  // rewrites the entry's node: an entry is never an alias in practice
    return;
  }
  const Pairs pairs = mergedPairs(target.node, over);
  for (const auto& kv : pairs) target.node.remove(kv.first);
  for (const auto& [k, v] : pairs) target.node.force_insert(k, v);
}

void overlayAgent(Ctx& ctx, Gathered& g, const Entry& overlay, const YAML::Node& v) {
  ctx.noteOverlay(*overlay.doc, v);
  for (auto a = v.begin(); a != v.end(); ++a) {
    const std::string k = a->first.Scalar();
    auto prev = g.agent.find(k);
    if (prev == g.agent.end()) {
      g.agent[k] = {a->second, overlay.doc, k, a->first};
    } else {
      prev->second.node = deepMerge(prev->second.node, a->second);
      if (!a->second.IsMap()) prev->second.doc = overlay.doc;
    }
  }
}

// The name of a keyed entry (sources, notifiers) or of a list item (probes, slos).
std::string entryName(const Entry& x, bool keyed) {
  if (keyed) return x.key;
  if (x.node.IsMap() && x.node["name"] && x.node["name"].IsScalar()) return x.node["name"].Scalar();
  return "";
}

// Merges `section: {name: overrides}` into the entries of that name.
void overlayNamed(Ctx& ctx, const std::string& env, const std::string& section,
                  std::vector<Entry>& list, const Entry& overlay, const YAML::Node& v) {
  const bool keyed = section == "sources" || section == "notifiers";
  for (auto o = v.begin(); o != v.end(); ++o) {
    auto target = std::find_if(list.begin(), list.end(), [&](const Entry& x) {
      return entryName(x, keyed) == o->first.Scalar();
    });
    if (target == list.end()) {
      ctx.error(*overlay.doc, o->first,
                "environment \"" + env + "\" overrides " + section.substr(0, section.size() - 1) +
                    " \"" + o->first.Scalar() + "\", which is not defined");
      continue;
    }
    ctx.noteOverlay(*overlay.doc, o->second);
    mergeEntry(*target, o->second);
  }
}

void applyOverlay(Ctx& ctx, const std::string& env, Gathered& g, const Entry& overlay) {
  static const std::vector<std::string_view> kSections{"agent", "sources", "notifiers", "probes",
                                                       "slos"};
  for (auto sec = overlay.node.begin(); sec != overlay.node.end(); ++sec) {
    const std::string s = sec->first.Scalar();
    const YAML::Node v = sec->second;
    const bool known = std::find(kSections.begin(), kSections.end(), s) != kSections.end();
    if (!known) {
      ctx.error(
          *overlay.doc, sec->first,
          "environment \"" + env + "\": unknown key \"" + s + "\"" + didYouMean(s, kSections));
    } else if (!v.IsMap()) {
      ctx.error(*overlay.doc, v,
                "environment \"" + env + "\": " + s + " overrides must be a map keyed by name");
    } else if (s == "agent") {
      overlayAgent(ctx, g, overlay, v);
    } else {
      auto& list = s == "sources"     ? g.sources
                   : s == "notifiers" ? g.notifiers
                   : s == "probes"    ? g.probes
                                      : g.slos;
      overlayNamed(ctx, env, s, list, overlay, v);
    }
  }
}

}  // namespace

void applyEnvironment(Ctx& ctx, const std::string& env, Gathered& g,
                      const std::vector<std::unique_ptr<Doc>>& docs) {
  auto it = g.environments.find(env);
  if (it == g.environments.end()) {
    std::vector<std::string_view> names;
    for (const auto& [n, _] : g.environments) names.push_back(n);
    Location l{docs.empty() ? std::string("--env") : docs.front()->file, 0, 0};
    ctx.error(
        l, "environment \"" + env + "\" is not defined" +
               (names.empty() ? std::string(" (no environments are defined)")
                              : " (defined: " + joinNames(names) + ")" + didYouMean(env, names)));
    return;
  }
  for (const Entry& overlay : it->second) {
    if (overlay.node.IsNull()) continue;
    if (!overlay.node.IsMap()) {
      ctx.error(*overlay.doc, overlay.node, "environment \"" + env + "\" must be a map");
      continue;
    }
    applyOverlay(ctx, env, g, overlay);
  }
}

}  // namespace datawatch::config::detail
