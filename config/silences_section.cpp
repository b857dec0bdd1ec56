// The `silences:` section.
#include "config/sections.hpp"

#include "core/time_format.hpp"

namespace datawatch::config::detail {

void parseSilence(Ctx& ctx, const Entry& e, std::vector<SilenceConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "silence");
  if (!m.ok()) return;
  m.checkKeys({"match", "starts", "until", "reason"});
  SilenceConfig s;
  s.loc = m.loc();
  if (auto v = m.strMap("match")) {
    s.match = *v;
    if (s.match.empty()) m.error("match", "silence: match must not be empty");
    const YAML::Node match = m.raw("match");
    for (auto it = match.begin(); it != match.end(); ++it)
      s.match_locs[it->first.Scalar()] = ctx.loc(*e.doc, it->second);
  } else {
    m.missing("match");
  }
  auto ts = [&](const std::string& key, bool required) -> std::optional<TimePoint> {
    auto v = m.str(key, required);
    if (!v) return std::nullopt;
    auto t = parseTimestamp(*v);
    if (!t)
      m.error(key, "silence: " + key +
                       " must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got \"" + *v +
                       "\"");
    return t;
  };
  s.starts = ts("starts", false);
  if (auto u = ts("until", true)) s.until = *u;
  if (s.starts && *s.starts >= s.until) m.error("until", "silence: until must be after starts");
  s.reason = m.str("reason").value_or("");
  out.push_back(std::move(s));
}

}  // namespace datawatch::config::detail
