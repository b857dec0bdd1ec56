// Incidents and post-mortems end to end: the demo's simulated outage goes
// through the real engine, alerting and incident code; the test checks the
// incident, its timeline, impact numbers recomputed from the state store, the
// Markdown sections and the SVG chart's geometry; plus the CLI and templates.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>
#include <set>
#include <sstream>

#include "core/duration.hpp"
#include "core/human_units.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem.hpp"
#include "incidents/postmortem_text.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBinary = DATAWATCH_BINARY;

// The start tag of the element with id="`id`" in `svg`, or "" when there is none.
std::string svgTag(const std::string& svg, const std::string& id) {
  const auto at = svg.find(" id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const auto start = svg.rfind('<', at);
  return svg.substr(start, svg.find('>', at) - start);
}

// The attribute `attr` of the element with id="`id`" in `svg`, as written.
std::string svgAttrText(const std::string& svg, const std::string& id, const std::string& attr) {
  const std::string tag = svgTag(svg, id);
  INFO(id << " " << attr);
  REQUIRE(!tag.empty());
  std::smatch m;
  REQUIRE(std::regex_search(tag, m, std::regex(" " + attr + "=\"([^\"]*)\"")));
  return m[1];
}

double svgAttr(const std::string& svg, const std::string& id, const std::string& attr) {
  return std::stod(svgAttrText(svg, id, attr));
}

// The text content of the element with id="`id`" (XML-escaped, as written).
std::string svgText(const std::string& svg, const std::string& id) {
  const auto at = svg.find(" id=\"" + id + "\"");
  INFO(id);
  REQUIRE(at != std::string::npos);
  const auto open_end = svg.find('>', at);
  return svg.substr(open_end + 1, svg.find("</", open_end) - open_end - 1);
}

bool svgIdsUnique(const std::string& svg) {
  std::set<std::string> seen;
  const std::regex id_re(" id=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), id_re); it != std::sregex_iterator();
       ++it)
    if (!seen.insert((*it)[1]).second) return false;
  return !seen.empty();
}

// A chart panel's box and y axis (ids PREFIX-panel, PREFIX-y-0, PREFIX-y-1...).
struct SvgAxis {
  double y = 0, height = 0;
  std::vector<double> values;
  std::vector<std::string> labels;
  double at(double v) const { return y + height - height * (v - values.front()) / range(); }
  double range() const { return values.back() - values.front(); }
};

SvgAxis svgAxis(const std::string& svg, const std::string& prefix) {
  SvgAxis a{
      svgAttr(svg, prefix + "-panel", "y"), svgAttr(svg, prefix + "-panel", "height"), {}, {}};
  for (int k = 0; !svgTag(svg, prefix + "-y-" + std::to_string(k)).empty(); ++k) {
    const std::string id = prefix + "-y-" + std::to_string(k);
    a.values.push_back(svgAttr(svg, id, "data-value"));
    a.labels.push_back(svgText(svg, id));
  }
  INFO(prefix);
  REQUIRE(a.values.size() >= 3);  // at least two steps
  CHECK(a.values.size() <= 6);    // at most five
  for (size_t k = 0; k < a.values.size(); ++k) {
    INFO(prefix << " tick " << k);
    // Evenly spaced from 0, each label at its value's height.
    CHECK(a.values[k] == Approx(a.values.front() + k * (a.values[1] - a.values[0])));
    CHECK(svgAttr(svg, prefix + "-y-" + std::to_string(k), "y") - 4 ==
          Approx(a.at(a.values[k])).margin(0.1));
  }
  CHECK(a.values.front() == 0);
  return a;
}

// The points of a path's d="M x y L x y ...".
std::vector<std::pair<double, double>> svgPath(const std::string& svg, const std::string& id) {
  const std::string d = svgAttrText(svg, id, "d");
  std::vector<std::pair<double, double>> pts;
  const std::regex pt("[ML]([-0-9.]+) ([-0-9.]+)");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), pt); it != std::sregex_iterator(); ++it)
    pts.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  return pts;
}

// The panel prefix (probe-N) of the probe named `name`.
std::string svgProbePanel(const std::string& svg, const std::string& name) {
  for (int i = 0; !svgTag(svg, "probe-" + std::to_string(i)).empty(); ++i)
    if (svgAttrText(svg, "probe-" + std::to_string(i), "data-probe") == name)
      return "probe-" + std::to_string(i);
  FAIL("no panel for " << name);
  return "";
}

// True when every element opened is closed in order (a small XML check; a
// hand-written scanner, std::regex recurses too deep on a whole document).
bool wellFormed(const std::string& xml) {
  std::vector<std::string> stack;
  size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string::npos) {
    const size_t end = xml.find('>', pos);
    if (end == std::string::npos) return false;
    std::string tag = xml.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty() || tag[0] == '?' || tag[0] == '!') continue;
    const bool closing = tag[0] == '/';
    const bool self = tag.back() == '/';
    const size_t name_start = closing ? 1 : 0;
    const std::string name =
        tag.substr(name_start, tag.find_first_of(" /\t\n", name_start) - name_start);
    if (self) continue;
    if (closing) {
      if (stack.empty() || stack.back() != name) return false;
      stack.pop_back();
    } else {
      stack.push_back(name);
    }
  }
  return stack.empty() && xml.find("<svg") != std::string::npos;
}

// The demo's chart (issue 20), against values computed here from the state
// store and the incident: the spans, round-hour ticks, one panel per probe on
// its own scale in human units with its threshold, the page burn rate.
void checkDemoChart(const std::string& svg, SqliteDb& state, const json& inc,
                    const std::string& md) {
  CHECK(wellFormed(svg));
  CHECK(svgIdsUnique(svg));
  auto scalar = [&](const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(state.get(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    const double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
  };
  const auto opened = toUnixMillis(*parseTimestamp(inc["opened_at"].get<std::string>()));
  const auto resolved = toUnixMillis(*parseTimestamp(inc["resolved_at"].get<std::string>()));
  const auto first_bad = static_cast<int64_t>(scalar(
      "select min(observed_at_ms) from probe_runs where probe = 'orders_fresh' and status != "
      "'pass'"));
  const auto recovered = static_cast<int64_t>(
      scalar("select min(observed_at_ms) from probe_runs where probe = 'orders_fresh' and status "
             "= 'pass' and observed_at_ms > " +
             std::to_string(first_bad)));
  // The time axis: from the first bad run minus a margin to the resolution
  // plus a margin (30 minutes or a quarter of the incident), over 800 px.
  const int64_t margin = std::max<int64_t>(30 * 60000, (resolved - opened) / 4);
  const int64_t from_ms = first_bad - margin, to_ms = resolved + margin;
  auto x = [&](int64_t ms) {
    return 80 + 800 * static_cast<double>(ms - from_ms) / static_cast<double>(to_ms - from_ms);
  };
  // The open span and the bad data window, shaded apart and in the legend.
  CHECK(svgAttr(svg, "firing", "x") == Approx(x(opened)).margin(0.1));
  CHECK(svgAttr(svg, "firing", "width") == Approx(x(resolved) - x(opened)).margin(0.2));
  CHECK(svgAttr(svg, "bad-data", "x") == Approx(x(first_bad)).margin(0.1));
  CHECK(svgAttr(svg, "bad-data", "width") == Approx(x(recovered) - x(first_bad)).margin(0.2));
  CHECK(svgAttrText(svg, "firing", "fill") != svgAttrText(svg, "bad-data", "fill"));
  CHECK(svgText(svg, "legend-open") == "incident open (first alert → last resolve)");
  CHECK(svgText(svg, "legend-bad-data") == "bad data (first bad run → data recovered)");
  // Ticks on round UTC times: the smallest of these steps giving at most 10.
  std::vector<int64_t> ticks;
  for (int64_t minutes : {10, 15, 30, 60, 120, 180, 360, 720, 1440}) {
    const int64_t step = minutes * 60000;
    ticks.clear();
    for (int64_t t = (from_ms + step - 1) / step * step; t <= to_ms; t += step) ticks.push_back(t);
    if (ticks.size() <= 10) break;
  }
  CHECK(ticks.size() >= 4);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const std::string id = "tick-" + std::to_string(i);
    CHECK(svgAttr(svg, id, "x") == Approx(x(ticks[i])).margin(0.1));
    CHECK(svgText(svg, id) == formatRfc3339(fromUnixMillis(ticks[i])).substr(11, 5));
    CHECK(svgText(svg, id).substr(2) == ":00");  // a 16h window: whole hours
  }
  CHECK(svgTag(svg, "tick-" + std::to_string(ticks.size())).empty());
  // One panel per probe that has values, each with a legend entry.
  for (int i = 0; !svgTag(svg, "probe-" + std::to_string(i)).empty(); ++i)
    CHECK(svgText(svg, "legend-probe-" + std::to_string(i)) ==
          svgAttrText(svg, "probe-" + std::to_string(i), "data-probe"));
  // orders_fresh: ages as durations, the top at or above the worst age.
  const std::string fresh = svgProbePanel(svg, "orders_fresh");
  const SvgAxis age = svgAxis(svg, fresh);
  const double worst_age = scalar(
      "select max(value) from probe_runs where probe = 'orders_fresh' and observed_at_ms "
      "between " +
      std::to_string(from_ms) + " and " + std::to_string(resolved));
  CHECK(age.values.back() >= worst_age);
  CHECK(age.values.back() <= 2 * worst_age);  // the line uses at least half the panel
  for (size_t k = 1; k < age.values.size(); ++k) {
    CHECK(std::fmod(age.values[k], 60) == 0);  // whole minutes
    CHECK(age.labels[k] == humanDuration(Duration{std::llround(age.values[k] * 1000)}));
  }
  CHECK(age.labels[0] == "0");
  CHECK(svgAttr(svg, fresh + "-max", "y1") == Approx(age.at(1800)).margin(0.2));
  CHECK(svgText(svg, fresh + "-max-label") == "max 30m");
  CHECK(svg.find("threshold 1800") == std::string::npos);
  double top_y = 1e9;
  for (const auto& [px, py] : svgPath(svg, fresh)) top_y = std::min(top_y, py);
  CHECK(top_y == Approx(age.at(worst_age)).margin(0.1));
  // orders_volume on its own scale: rows, its minimum as a line.
  const std::string volume = svgProbePanel(svg, "orders_volume");
  const SvgAxis rows = svgAxis(svg, volume);
  CHECK(rows.values.back() >=
        scalar("select max(value) from probe_runs where probe = 'orders_volume' and "
               "observed_at_ms between " +
               std::to_string(from_ms) + " and " + std::to_string(resolved)));
  CHECK(rows.labels.back() == plainNumber(rows.values.back()) + " rows");
  CHECK(svgAttr(svg, volume + "-min", "y1") == Approx(rows.at(100)).margin(0.2));
  CHECK(svgText(svg, volume + "-min-label") == "min 100 rows");
  // amount_drift measured nothing while its window was empty (error runs): its
  // line breaks there and starts again at the first run with a value after.
  const std::string drift_d = svgAttrText(svg, svgProbePanel(svg, "amount_drift"), "d");
  std::vector<double> starts;
  const std::regex move_to("M([-0-9.]+) ");
  for (auto it = std::sregex_iterator(drift_d.begin(), drift_d.end(), move_to);
       it != std::sregex_iterator(); ++it)
    starts.push_back(std::stod((*it)[1]));
  const auto first_error = static_cast<int64_t>(
      scalar("select min(observed_at_ms) from probe_runs where probe = 'amount_drift' and status = "
             "'error'"));
  const auto resumed = static_cast<int64_t>(
      scalar("select min(observed_at_ms) from probe_runs where probe = 'amount_drift' and value "
             "is not null and observed_at_ms > " +
             std::to_string(first_error)));
  REQUIRE(starts.size() == 2);
  CHECK(starts[1] == Approx(x(resumed)).margin(0.1));
  // The burn rate below, with the page row's threshold: 2% of the 28d budget
  // in 1h.
  const SvgAxis burn = svgAxis(svg, "burn");
  const double page = 0.02 * 28 * 24;
  std::smatch m;
  REQUIRE(std::regex_search(md, m, std::regex(R"(- Peak burn rate over 5m: ([0-9.]+))")));
  CHECK(burn.values.back() >= std::stod(m[1]));
  CHECK(burn.labels.back() == plainNumber(burn.values.back()) + "x");
  CHECK(svgAttr(svg, "burn-page", "y1") == Approx(burn.at(page)).margin(0.2));
  CHECK(svgText(svg, "burn-page-label") == "page " + plainNumber(page) + "x (1h and 5m windows)");
  // Stacked top to bottom, the burn rate last, with room between panels for
  // the tick labels and the next title; the image holds the last labels.
  std::vector<std::string> panels;
  for (int i = 0; !svgTag(svg, "probe-" + std::to_string(i)).empty(); ++i)
    panels.push_back("probe-" + std::to_string(i));
  CHECK(panels.size() >= 2);
  panels.push_back("burn");
  double last_bottom = 0;
  for (const auto& prefix : panels) {
    const double y = svgAttr(svg, prefix + "-panel", "y");
    INFO(prefix);
    CHECK(y - last_bottom >= 40);
    last_bottom = y + svgAttr(svg, prefix + "-panel", "height");
  }
  std::smatch h;
  REQUIRE(std::regex_search(svg, h, std::regex(R"re(<svg [^>]*height="([0-9.]+)")re")));
  CHECK(std::stod(h[1]) >= last_bottom + 30);
}

}  // namespace

TEST_CASE("the demo's outage becomes one incident with a timeline and a post-mortem",
          "[integration][incident][demo]") {
  TempDir dir;
  const auto demo = dir / "demo";
  auto r = runCommand({kBinary, "demo", "--dir", demo.string()}, {}, 120s);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("incident INC-20261124-1 opened") != std::string::npos);
  CHECK(r.out.find("incident INC-20261124-1 resolved after 10h29m; post-mortem drafted") !=
        std::string::npos);

  // The CLI reads it back (SPEC §1 fields).
  const std::string cfg = (demo / "datawatch.yaml").string();
  auto list = runCommand({kBinary, "incidents", "-c", cfg, "list", "--format", "json"});
  REQUIRE(list.exit_code == 0);
  const json incidents = json::parse(list.out);
  REQUIRE(incidents.size() == 1);
  const json& inc = incidents[0];
  CHECK(inc["id"] == "INC-20261124-1");
  CHECK(inc["status"] == "resolved");
  CHECK(inc["subject"] == "orders-fresh");
  CHECK(inc["severity"] == "page");
  CHECK(inc["alerts"] == json::array({"slo:orders-fresh:page", "probe:orders_fresh:warning",
                                      "slo:orders-fresh:ticket"}));
  CHECK(inc["postmortem"] == (demo / "postmortems" / "INC-20261124-1.md").string());
  auto show =
      runCommand({kBinary, "incidents", "-c", cfg, "show", "INC-20261124-1", "--format", "json"});
  REQUIRE(show.exit_code == 0);
  const json full = json::parse(show.out);
  const json& tl = full["timeline"];
  REQUIRE(tl.size() >= 8);
  // In time order; it starts with the first failing run and ends with the resolution.
  for (size_t i = 1; i < tl.size(); ++i) CHECK(tl[i - 1]["at"] <= tl[i]["at"]);
  CHECK(tl.front()["kind"] == "probe_failing");
  CHECK(tl.back()["kind"] == "resolved");
  std::vector<std::string> kinds;
  for (const auto& e : tl) kinds.push_back(e["kind"]);
  for (const char* k : {"opened", "alert_fired", "notification_sent", "probe_recovered",
                        "alert_resolved", "burn_rate_peak"}) {
    INFO(k);
    CHECK(std::find(kinds.begin(), kinds.end(), k) != kinds.end());
  }
  CHECK(runCommand({kBinary, "incidents", "-c", cfg, "show", "INC-19990101-1"}).exit_code == 2);

  // Impact, recomputed from the state store: the streak of orders_fresh.
  SqliteDb state(demo / "state.db");
  auto scalar = [&](const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(state.get(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    const int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  };
  const int64_t first_bad_ms = scalar(
      "select min(observed_at_ms) from probe_runs where probe = 'orders_fresh' and status != "
      "'pass'");
  const int64_t recovered_ms = scalar(
      "select min(observed_at_ms) from probe_runs where probe = 'orders_fresh' and status = "
      "'pass' and observed_at_ms > " +
      std::to_string(first_bad_ms));
  CHECK(full["first_bad_run"] == formatRfc3339(fromUnixMillis(first_bad_ms)));
  const auto opened = *parseTimestamp(full["opened_at"].get<std::string>());
  const auto resolved = *parseTimestamp(full["resolved_at"].get<std::string>());
  // Timeslices: a minute is bad when the latest result at its end failed. The
  // budget is counted from the first evaluation after the incident opened.
  const int64_t bad_minutes = (recovered_ms / 60000) - (toUnixMillis(opened) / 60000 + 1);
  const std::string md = readFile(demo / "postmortems" / "INC-20261124-1.md");
  std::smatch m;
  REQUIRE(std::regex_search(md, m, std::regex(R"(\(([0-9.]+) budget minutes\))")));
  CHECK(std::abs(std::stod(m[1]) - static_cast<double>(bad_minutes)) <= 1.0);
  CHECK(md.find(" UTC (10h29m): first alert → last resolve") != std::string::npos);
  // The data's own recovery, apart from the alerts' (issue 20): the SLO's probe
  // passed again at recovered_ms; the 3d ticket window cooled hours later.
  const auto recover = std::chrono::duration_cast<Duration>(fromUnixMillis(recovered_ms) -
                                                            fromUnixMillis(first_bad_ms));
  CHECK(recover > 4h);
  CHECK(recover < 5h);
  CHECK(md.find("- Time to recover: " + humanDuration(recover) + " (the data recovered at " +
                formatRfc3339(fromUnixMillis(recovered_ms)) + ")") != std::string::npos);
  CHECK(md.find("| Bad data window | 2026-11-24 " +
                formatRfc3339(fromUnixMillis(first_bad_ms)).substr(11, 5) + " → " +
                formatRfc3339(fromUnixMillis(recovered_ms)).substr(11, 5) + " UTC (" +
                humanDuration(recover) + ")") != std::string::npos);
  CHECK(md.find("The data recovered at " + formatRfc3339(fromUnixMillis(recovered_ms)) +
                ", when every probe passed again (`orders_fresh` at " +
                formatRfc3339(fromUnixMillis(recovered_ms)).substr(11, 5) + ")") !=
        std::string::npos);
  const auto linger = std::chrono::duration_cast<Duration>(resolved - fromUnixMillis(recovered_ms));
  CHECK(md.find("`slo:orders-fresh:ticket` resolved last: the 3d ticket row (6h short window) "
                "cooled at " +
                formatRfc3339(resolved).substr(11, 5) + ", " + humanDuration(linger) +
                " after the data recovered") != std::string::npos);
  // orders_volume (same table, not in the SLO) failed too: in the Data table.
  CHECK(md.find("| `orders_volume` | `orders` | min 100 rows | ") != std::string::npos);
  // Peak burn rates, shortest window first.
  CHECK(md.find("- Peak burn rate over 5m") < md.find("- Peak burn rate over 30m"));
  CHECK(md.find("- Peak burn rate over 30m") < md.find("- Peak burn rate over 1h"));
  CHECK(md.find("- Peak burn rate over 1d") < md.find("- Peak burn rate over 3d"));
  CHECK(md.find("| mitigate | | | | |") != std::string::npos);
  // Data "after": the first passing value once the failures were over.
  {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(state.get(),
                               "select value from probe_runs where probe = 'orders_fresh' and "
                               "status = 'pass' and observed_at_ms > (select max(observed_at_ms) "
                               "from probe_runs where probe = 'orders_fresh' and status != 'pass') "
                               "order by observed_at_ms limit 1",
                               -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    const double after = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    // In human units: seconds as a duration (36.5s, not 36.5).
    CHECK(md.find("| `orders_fresh` | `orders` | max 30m | ") != std::string::npos);
    CHECK(md.find(" | " + humanDuration(Duration{std::llround(after * 1000)}) + " | ") !=
          std::string::npos);
  }
  // The stored incident keeps whole seconds (checked against SQL above): the
  // draft is written from it, as `datawatch postmortem` redrafts it.
  const auto detect = std::chrono::duration_cast<Duration>(
      opened - *parseTimestamp(full["first_bad_run"].get<std::string>()));
  CHECK(md.find("- Time to detect: " + humanDuration(detect)) != std::string::npos);
  for (const char* section :
       {"# INC-20261124-1: orders-fresh (page)", "**Status:** Draft", "## Summary", "## Impact",
        "## Detection", "## Timeline (UTC)", "## Data", "## Root cause", "## Trigger",
        "## Resolution", "## Action items", "## Lessons learned", "## Links",
        "| Downstream consumers | `churn-model`, `revenue-dashboard` |",
        "| Owner | `team-shop` |"}) {
    INFO(section);
    CHECK(md.find(section) != std::string::npos);
  }

  checkDemoChart(readFile(demo / "postmortems" / "INC-20261124-1.svg"), state, full, md);
}

TEST_CASE("post-mortem text is escaped and templates fail with a line number",
          "[integration][incident][template]") {
  CHECK(markdownEscape("a|b*c_d<e>`[x]#\nnext") == R"(a\|b\*c_d\<e\>\`\[x\]\# next)");
  CHECK(markdownEscape("_x_ a__b") == R"(\_x\_ a\_\_b)");  // emphasis-capable underscores
  CHECK(codeSpan("orders_fresh") == "`orders_fresh`");
  CHECK(codeSpan("a|b\nc") == "`a\\|b c`");
  CHECK(codeSpan("x`y") == "``x`y``");
  CHECK(codeSpan("`edge") == "`` `edge ``");
  json data{{"id", "INC-1"}, {"timeline", json::array({{{"time", "10:00"}, {"text", "x"}}})}};
  auto ok = renderPostmortemTemplate("# {{id}}\n{{#timeline}}- {{time}} {{text}}\n{{/timeline}}",
                                     "pm.mustache", data);
  REQUIRE(ok);
  CHECK(*ok == "# INC-1\n- 10:00 x\n");
  auto bad = renderPostmortemTemplate("# {{id}}\n\n{{#timeline}}\n- {{time}}\n{{/timelin}}\n",
                                      "pm.mustache", data);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::StartsWith("pm.mustache:3:1: "));
  CHECK_THAT(bad.error(), Catch::Contains("timeline"));
}

TEST_CASE("quotes, pipes and Unicode in names and messages survive into the post-mortem",
          "[integration][incident][escaping]") {
  TempDir dir;
  auto store = std::move(SqliteStateStore::open((dir / "state.db").string())).value();
  auto cfg = loadTestConfig(R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - name: orders_fresh
    type: freshness
    source: shop
    table: "shop.Orders|2026"
    column: ts
    max_age: 30m
    owner: 'team "billing" | ops'
    consumers: ["finance | dash", "Zürich <report>", "*bold* _it_"]
    alert: {after: 1, severity: warning}
)",
                            (dir / "c.yaml").string());
  AlertTracker alerts(cfg);
  SilenceSet silences;
  IncidentTracker incidents([](const std::string&) { return 1; });
  incidents.configure(cfg);
  const TimePoint t0 = *parseTimestamp("2026-11-26T10:00:00Z");
  auto feed = [&](TimePoint at, ProbeStatus s, double value, const std::string& msg) {
    ProbeResult r;
    r.probe = "orders_fresh";
    r.type = "freshness";
    r.status = s;
    r.value = value;
    r.unit = "seconds";
    r.threshold = {{"max", 1800}};
    r.message = msg;
    r.observed_at = at;
    REQUIRE(store->recordRun(r));
    incidents.observeProbe(r);
    auto changes = alerts.observeProbe(r);
    alerts.plan(changes, silences, at);
    incidents.observeAlerts(changes, alerts, at);
  };
  feed(t0, ProbeStatus::Pass, 60, "fresh");
  feed(t0 + 5min, ProbeStatus::Fail, 2400, "age | 40m > 30m * `late` ünïcödé\nsecond line");
  // A real clock has milliseconds; the incident stores whole seconds.
  feed(t0 + 10min + 27ms, ProbeStatus::Pass, 30, "fresh again");
  auto done = incidents.takeChanged();
  REQUIRE(done.size() == 1);
  REQUIRE_FALSE(done[0].open);
  // As the agent drafts it: from the stored incident (times in whole seconds).
  const auto stored = incidentFromJson(toJson(done[0], true));
  REQUIRE(stored);
  auto files = writePostmortem(*stored, *cfg, *store, t0 + 11min, dir / "pm" / "x.md");
  REQUIRE(files);
  const std::string md = readFile(files->markdown);
  // Names are code spans: literal inside, only the table's pipe escaped.
  CHECK(md.find(R"(`finance \| dash`)") != std::string::npos);
  CHECK(md.find(R"(`Zürich <report>`)") != std::string::npos);
  CHECK(md.find(R"(`*bold* _it_`)") != std::string::npos);
  CHECK(md.find(R"(`team "billing" \| ops`)") != std::string::npos);
  CHECK(md.find(R"(`shop.Orders\|2026`)") != std::string::npos);
  CHECK(md.find(R"(age \| 40m \> 30m \* \`late\` ünïcödé second line)") != std::string::npos);
  // Every table row keeps its columns: count the pipes that are not escaped.
  std::istringstream lines(md);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| 2026-11-26", 0) != 0) continue;  // timeline rows: | time | event |
    int pipes = 0;
    for (size_t i = 0; i < line.size(); ++i)
      pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    INFO(line);
    CHECK(pipes == 3);
  }
  CHECK(wellFormed(readFile(files->chart)));
  // The passing run 27 ms after the stored resolve time is the recovery.
  CHECK(md.find("The data recovered at ") != std::string::npos);
  CHECK(md.find("had not recovered") == std::string::npos);
}
