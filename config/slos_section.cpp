// The `slos:` section.
#include "config/sections.hpp"

#include <algorithm>

namespace datawatch::config::detail {

namespace {

void readBurnWindow(Ctx& ctx, const Doc& doc, const YAML::Node& item, const std::string& what,
                    SloConfig& s) {
  MapReader r(ctx, doc, item, what + " alerting window");
  if (!r.ok()) return;
  r.checkKeys({"severity", "long", "short", "burn_rate"});
  auto sev = r.str("severity", true);
  auto lw = r.duration("long", true);
  auto sw = r.duration("short", true);
  auto br = r.num("burn_rate", true);
  if (sev && *sev != "page" && *sev != "ticket")
    r.error("severity", what + ": window severity must be page or ticket");
  if (lw && sw && *sw >= *lw)
    r.error("short", what + ": the short window must be shorter than the long window");
  if (br && *br <= 0) r.error("burn_rate", what + ": burn_rate must be > 0");
  if (sev && lw && sw && br) s.alerting.windows.push_back({*sev, *lw, *sw, *br});
}

void readAlerting(Ctx& ctx, const Doc& doc, MapReader& m, const std::string& what, SloConfig& s) {
  MapReader a(ctx, doc, m.raw("alerting"), what + " alerting");
  if (!a.ok()) return;
  a.checkKeys({"page", "ticket", "windows", "min_bad_events", "inhibit_lower_severity"});
  for (const char* sev : {"page", "ticket"}) {
    if (!a.has(sev)) continue;
    MapReader r(ctx, doc, a.raw(sev), what + " alerting." + sev);
    if (!r.ok()) continue;
    r.checkKeys({"notify"});
    const bool page = std::string(sev) == "page";
    auto n = r.strList("notify", false,
                       page ? &s.alerting.page_notify_locs : &s.alerting.ticket_notify_locs);
    (page ? s.alerting.page_notify : s.alerting.ticket_notify) =
        n.value_or(std::vector<std::string>{});
  }
  if (auto v = a.intInRange("min_bad_events", 1, 1000000))
    s.alerting.min_bad_events = static_cast<int>(*v);
  if (auto v = a.boolean("inhibit_lower_severity")) s.alerting.inhibit_lower_severity = *v;
  if (!a.has("windows")) return;
  auto w = a.raw("windows");
  if (!w.IsSequence()) {
    ctx.error(doc, w,
              what + ": alerting.windows must be a list of {severity, long, short, burn_rate}");
    return;
  }
  for (const auto& item : w) readBurnWindow(ctx, doc, item, what, s);
}

void readPolicies(MapReader& m, const std::string& what, SloConfig& s) {
  if (auto v = m.str("budgeting")) {
    if (*v == "occurrences")
      s.budgeting = Budgeting::Occurrences;
    else if (*v == "timeslices")
      s.budgeting = Budgeting::Timeslices;
    else
      m.error("budgeting", what + ": budgeting must be occurrences or timeslices" +
                               didYouMean(*v, {"occurrences", "timeslices"}));
  }
  if (auto v = m.str("errors")) {
    if (*v == "bad")
      s.errors = ErrorPolicy::Bad;
    else if (*v == "ignore")
      s.errors = ErrorPolicy::Ignore;
    else
      m.error("errors", what + ": errors must be bad or ignore");
  }
}

}  // namespace

void parseSlo(Ctx& ctx, const Entry& e, std::vector<SloConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "slo");
  if (!m.ok()) return;
  m.checkKeys(
      {"name", "description", "objective", "window", "probes", "budgeting", "errors", "alerting"});
  SloConfig s;
  s.loc = m.loc();
  if (auto v = m.str("name", true)) {
    s.name = *v;
    if (!validName(s.name, true))
      m.error("name", "slo name \"" + s.name + "\" must match [a-z0-9_-]+");
  }
  const std::string what = "slo \"" + s.name + "\"";
  if (auto v = m.str("description")) s.description = *v;
  if (auto v = m.num("objective", true)) {
    if (*v <= 0 || *v >= 100)
      m.error("objective", what + ": objective is a percentage strictly between 0 and 100, got " +
                               m.str("objective").value_or(""));
    else
      s.objective = *v;
  }
  if (auto d = m.duration("window", false, std::chrono::hours(1))) s.window = *d;
  if (auto v = m.strList("probes", true, &s.probe_locs)) {
    s.probes = *v;
    if (s.probes.empty()) m.error("probes", what + ": probes must not be empty");
  }
  readPolicies(m, what, s);
  if (m.has("alerting")) readAlerting(ctx, *e.doc, m, what, s);
  out.push_back(std::move(s));
}

}  // namespace datawatch::config::detail
