// Gathering the sections of every file, and the environment overlay.
#include "config/merge.hpp"

#include <algorithm>

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

}  // namespace

void gather(Ctx& ctx, const Doc& doc, Gathered& g) {
  if (doc.root.IsNull()) return;  // an empty file is fine
  if (!doc.root.IsMap()) {
    ctx.error(doc, doc.root,
              "the top level must be a map (agent, sources, probes, slos, notifiers, silences, "
              "environments)");
    return;
  }
  static const std::vector<std::string_view> kTop{"agent",     "sources",  "probes",      "slos",
                                                  "notifiers", "silences", "environments"};
  for (auto it = doc.root.begin(); it != doc.root.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node v = it->second;  // a copy: the iterator's value is a temporary
    if (key == "agent") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        ctx.error(doc, v, "agent must be a map, got " + std::string(nodeKind(v)));
        continue;
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
    } else if (key == "environments") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        ctx.error(doc, v, "environments must be a map of name: overrides");
        continue;
      }
      for (auto en = v.begin(); en != v.end(); ++en) {
        g.environments[en->first.Scalar()].push_back(
            {en->second, &doc, en->first.Scalar(), en->first});
      }
    } else {
      ctx.error(doc, it->first, "unknown top-level key \"" + key + "\"" + didYouMean(key, kTop));
    }
  }
}

namespace {

// Overlays `over` onto `base`: maps merge key by key, anything else replaces.
YAML::Node deepMerge(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return over;
  YAML::Node out = YAML::Clone(base);
  for (auto it = over.begin(); it != over.end(); ++it) {
    const std::string k = it->first.Scalar();
    YAML::Node existing;
    bool found = false;
    for (auto b = out.begin(); b != out.end(); ++b) {
      if (b->first.Scalar() == k) {
        existing = b->second;
        found = true;
      }
    }
    out[k] = found ? deepMerge(existing, it->second) : it->second;
  }
  return out;
}

void overlayAgent(Gathered& g, const Entry& overlay, const YAML::Node& v) {
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
    target->node = deepMerge(target->node, o->second);
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
      overlayAgent(g, overlay, v);
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
