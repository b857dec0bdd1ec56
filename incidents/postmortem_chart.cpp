// The post-mortem chart (renderChart, postmortem.hpp): one small panel per
// probe, each on its own y axis in the probe's unit (an age and a row count do
// not share a scale), then the burn rate with the SLO's page threshold. Every
// panel shades the incident's open span and, hatched, the bad data window, and
// shares one time axis with ticks on round UTC hours. Stable element ids (the
// integration test reads their geometry) are listed in docs/incidents.md.

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/human_units.hpp"
#include "core/markup.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem.hpp"
#include "incidents/postmortem_text.hpp"

namespace datawatch {
namespace {

using ChartAttrs = std::vector<std::pair<std::string, std::string>>;
using ChartPoints = std::vector<std::pair<TimePoint, double>>;

constexpr double kChartWidth = 900, kChartLeft = 80, kChartRight = 20;
constexpr double kChartPlotWidth = kChartWidth - kChartLeft - kChartRight;
constexpr size_t kChartMaxProbes = 4;
constexpr const char* kChartProbeColors[kChartMaxProbes] = {"#0969da", "#1a7f37", "#bc4c00",
                                                            "#bf3989"};
constexpr const char* kChartBurnColor = "#8250df";
constexpr const char* kChartAlarmColor = "#cf222e";

std::string chartNum(double v) {
  return fixedDigits(v, 1);
}

// <name attrs/> or <name attrs>text</name>; values and text are escaped.
std::string chartTag(const std::string& name, const ChartAttrs& attrs,
                     const std::string& text = {}) {
  std::string s = "<" + name;
  for (const auto& [k, v] : attrs) s += " " + k + "=\"" + xmlEscape(v) + "\"";
  return s + (text.empty() ? "/>\n" : ">" + xmlEscape(text) + "</" + name + ">\n");
}

TimePoint chartTime(const nlohmann::json& v) {
  return *parseTimestamp(v.get<std::string>());
}

// The x axis: [from, to] over the plot's width.
struct ChartClock {
  TimePoint from, to;
  double x(TimePoint t) const {
    const double span = std::max(1.0, std::chrono::duration<double>(to - from).count());
    const double f = std::chrono::duration<double>(t - from).count() / span;
    return kChartLeft + kChartPlotWidth * std::clamp(f, 0.0, 1.0);
  }
};

// Ticks on round UTC times: the smallest step of 10m, 15m, 30m, 1h, 2h, 3h,
// 6h, 12h or 1d (else whole days) that gives at most 10 ticks.
std::vector<TimePoint> chartTimeTicks(TimePoint from, TimePoint to, Duration& step) {
  using std::chrono::hours, std::chrono::minutes;
  const int64_t a = toUnixMillis(from), b = toUnixMillis(to);
  auto first = [&](int64_t s) { return (a + s - 1) / s * s; };  // a > 0: Unix time now
  const Duration steps[] = {minutes(10), minutes(15), minutes(30), hours(1), hours(2),
                            hours(3),    hours(6),    hours(12),   hours(24)};
  const int64_t day = Duration(hours(24)).count();
  step = Duration((b - a) / (10 * day) * day + day);
  for (Duration s : steps)
    if ((b - first(s.count())) / s.count() + 1 <= 10) {
      step = s;
      break;
    }
  std::vector<TimePoint> ticks;
  for (int64_t t = first(step.count()); t <= b; t += step.count())
    ticks.push_back(fromUnixMillis(t));
  return ticks;
}

// A y axis from `bottom` to `top` in steps of `step` (4 or 5 of them).
struct ChartScale {
  double bottom = 0, top = 1, step = 1;
};

// The smallest "nice" step (durations for seconds, 1-2-5 otherwise) that
// covers [lo, hi] plus 5% headroom in at most 5 steps.
ChartScale chartScale(double lo, double hi, bool seconds) {
  lo = std::min(lo, 0.0);
  if (hi <= lo) hi = lo + (seconds ? 60 : 1);
  const double want = (hi - lo) * 1.05;
  std::vector<double> steps;
  if (seconds)
    steps = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200};
  // Past the list: whole days (seconds), else 1-2-5 steps of plain numbers.
  const double unit = seconds ? 86400 : 1;
  const double mag = std::pow(10.0, std::floor(std::log10(want / unit / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    steps.push_back((seconds ? std::max(m * mag, 1.0) : m * mag) * unit);
  ChartScale s;
  for (double step : steps) {
    s.step = step;
    s.bottom = std::floor(lo / step) * step;
    s.top = s.bottom + std::ceil((lo + want - s.bottom) / step - 1e-9) * step;
    if ((s.top - s.bottom) / step <= 5 + 1e-9) break;
  }
  return s;
}

// One panel: its box, its scale and the element id prefix of what it draws.
struct ChartPanel {
  double top, height;
  ChartScale scale;
  std::string id;  // "probe-0", "burn"
  double bottom() const { return top + height; }
  double y(double v) const {
    return bottom() - height * (v - scale.bottom) / (scale.top - scale.bottom);
  }
};

// A text with a white halo, readable over lines and shading.
ChartAttrs chartHalo(ChartAttrs a) {
  a.insert(a.end(), {{"stroke", "white"}, {"stroke-width", "3"}, {"paint-order", "stroke"}});
  return a;
}

// The open span: translucent red; the bad data window: hatched (kChartDefs).
const ChartAttrs kChartOpenPaint{{"fill", "#cf222e"}, {"fill-opacity", "0.12"}};
const ChartAttrs kChartBadDataPaint{{"fill", "url(#bad-data-hatch)"}};

struct ChartSpans {
  TimePoint opened, closed;
  std::optional<std::pair<TimePoint, TimePoint>> bad_data;
};

// "14:00"; on a chart over more than a day, midnight is the date ("11-25").
std::string chartTickLabel(TimePoint t, const ChartClock& c) {
  const std::string at = formatRfc3339(t);  // 2026-11-25T00:00:00Z
  const bool days = c.to - c.from > std::chrono::hours(24);
  return days && at.compare(11, 5, "00:00") == 0 ? at.substr(5, 5) : at.substr(11, 5);
}

// The box, the shaded spans, the time grid and labels, the y axis.
std::string chartFrame(const ChartPanel& p, const ChartClock& c, const ChartSpans& spans,
                       const std::vector<TimePoint>& ticks, bool ids,
                       const std::function<std::string(double)>& label) {
  auto span = [&](const std::string& id, TimePoint a, TimePoint b, const ChartAttrs& paint) {
    ChartAttrs at{{"x", chartNum(c.x(a))},
                  {"y", chartNum(p.top)},
                  {"width", chartNum(c.x(b) - c.x(a))},
                  {"height", chartNum(p.height)}};
    if (ids) at.insert(at.begin(), {"id", id});
    at.insert(at.end(), paint.begin(), paint.end());
    return chartTag("rect", at);
  };
  std::string s = span("firing", spans.opened, spans.closed, kChartOpenPaint);
  if (spans.bad_data)
    s += span("bad-data", spans.bad_data->first, spans.bad_data->second, kChartBadDataPaint);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const std::string x = chartNum(c.x(ticks[i]));
    s += chartTag("line", {{"x1", x},
                           {"y1", chartNum(p.top)},
                           {"x2", x},
                           {"y2", chartNum(p.bottom() + 4)},
                           {"stroke", "#d0d7de"}});
    ChartAttrs at{{"x", x}, {"y", chartNum(p.bottom() + 15)}, {"text-anchor", "middle"}};
    if (ids) at.insert(at.begin(), {"id", "tick-" + std::to_string(i)});
    s += chartTag("text", at, chartTickLabel(ticks[i], c));
  }
  const int steps = static_cast<int>(std::lround((p.scale.top - p.scale.bottom) / p.scale.step));
  for (int k = 0; k <= steps; ++k) {
    const double v = p.scale.bottom + k * p.scale.step;
    s += chartTag("line", {{"x1", chartNum(kChartLeft - 4)},
                           {"y1", chartNum(p.y(v))},
                           {"x2", chartNum(kChartLeft)},
                           {"y2", chartNum(p.y(v))},
                           {"stroke", "#888"}});
    s += chartTag("text",
                  {{"id", p.id + "-y-" + std::to_string(k)},
                   {"data-value", plainNumber(v)},
                   {"x", chartNum(kChartLeft - 7)},
                   {"y", chartNum(p.y(v) + 4)},
                   {"text-anchor", "end"}},
                  label(v));
  }
  s += chartTag("rect", {{"id", p.id + "-panel"},
                         {"x", chartNum(kChartLeft)},
                         {"y", chartNum(p.top)},
                         {"width", chartNum(kChartPlotWidth)},
                         {"height", chartNum(p.height)},
                         {"fill", "none"},
                         {"stroke", "#888"}});
  return s;
}

using ChartPixels = std::vector<std::pair<double, double>>;

// Where a threshold's label goes: x, baseline, anchored at its end or start.
struct ChartSpot {
  double x, baseline;
  bool end;
};

std::string chartRuleLabel(const std::string& id, const std::string& text, const std::string& color,
                           const ChartSpot& at) {
  return chartTag("text",
                  chartHalo({{"id", id + "-label"},
                             {"x", chartNum(at.x)},
                             {"y", chartNum(at.baseline)},
                             {"text-anchor", at.end ? "end" : "start"},
                             {"fill", color}}),
                  text);
}

ChartPixels chartPixels(const ChartPanel& p, const ChartClock& c, const ChartPoints& pts) {
  ChartPixels out;
  for (const auto& [t, v] : pts) out.push_back({c.x(t), p.y(v)});
  return out;
}

// Whether a segment of `line` may cross the box [x0, x1] x [y0, y1] (its
// bounding box meets the box: conservative).
bool chartCrosses(const ChartPixels& line, double x0, double x1, double y0, double y1) {
  for (size_t i = 0; i < line.size(); ++i) {
    const auto& a = line[i];
    const auto& b = line[std::min(i + 1, line.size() - 1)];
    if (std::max(a.first, b.first) >= x0 && std::min(a.first, b.first) <= x1 &&
        std::max(a.second, b.second) >= y0 && std::min(a.second, b.second) <= y1)
      return true;
  }
  return false;
}

// A dashed horizontal line across the panel, labelled inside the panel where
// the label does not cover `line`: at the right end above or below the line,
// else at the left end.
std::string chartRule(const ChartPanel& p, double v, const std::string& id, const std::string& text,
                      const std::string& color, const ChartPixels& line) {
  const double y = p.y(v);
  std::string s = chartTag("line", {{"id", id},
                                    {"x1", chartNum(kChartLeft)},
                                    {"y1", chartNum(y)},
                                    {"x2", chartNum(kChartLeft + kChartPlotWidth)},
                                    {"y2", chartNum(y)},
                                    {"stroke", color},
                                    {"stroke-dasharray", "6 4"}});
  const double w = 6.2 * static_cast<double>(text.size());  // ~6.2 px a character
  const double right = kChartLeft + kChartPlotWidth - 4, left = kChartLeft + 4;
  std::optional<ChartSpot> fallback;  // the first that fits the panel
  for (bool at_right : {true, false})
    for (double baseline : {y - 5, y + 13}) {
      if (baseline - 10 < p.top || baseline + 3 > p.bottom()) continue;  // outside the panel
      const ChartSpot spot{at_right ? right : left, baseline, at_right};
      const double x0 = at_right ? right - w : left;
      if (!chartCrosses(line, x0, x0 + w, baseline - 10, baseline + 3))
        return s + chartRuleLabel(id, text, color, spot);
      if (!fallback) fallback = spot;
    }
  return s + chartRuleLabel(id, text, color, fallback.value_or(ChartSpot{right, y - 5, true}));
}

// The usual spacing of the points: the median step along x.
double chartTypicalStep(const ChartPixels& line) {
  std::vector<double> steps;
  for (size_t i = 1; i < line.size(); ++i) steps.push_back(line[i].first - line[i - 1].first);
  if (steps.empty()) return 0;
  std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
  return steps[steps.size() / 2];
}

// The line through the points, broken where runs measured nothing (errors):
// a step over 2.5 times the usual spacing starts a new segment, so a gap in
// the data is not drawn as a value.
std::string chartPath(const ChartPixels& line, const std::string& color, ChartAttrs extra) {
  const double gap = 2.5 * chartTypicalStep(line);
  std::string d;
  for (size_t i = 0; i < line.size(); ++i) {
    const bool jump = i == 0 || (gap > 0 && line[i].first - line[i - 1].first > gap);
    d += std::string(d.empty() ? "" : " ") + (jump ? "M" : "L") + chartNum(line[i].first) + " " +
         chartNum(line[i].second);
  }
  if (d.empty()) return {};
  extra.insert(extra.end(),
               {{"d", d}, {"fill", "none"}, {"stroke", color}, {"stroke-width", "1.5"}});
  return chartTag("path", extra);
}

// The panel title above its box, in the line's colour.
std::string chartTitle(const ChartPanel& p, const std::string& text, const std::string& color) {
  return chartTag("text",
                  {{"id", p.id + "-title"},
                   {"x", chartNum(kChartLeft)},
                   {"y", chartNum(p.top - 7)},
                   {"font-weight", "bold"},
                   {"fill", color}},
                  text);
}

struct ChartLayout {
  ChartClock clock;
  ChartSpans spans;
  std::vector<TimePoint> ticks;
};

std::string chartProbe(const nlohmann::json& probe, ChartPanel p, const ChartLayout& l,
                       const std::string& color, bool ids) {
  const std::string unit = probe["unit"];
  ChartPoints pts;
  double lo = 0, hi = 0;
  for (const auto& v : probe["values"]) {
    pts.push_back({chartTime(v["at"]), v["value"].get<double>()});
    lo = std::min(lo, pts.back().second), hi = std::max(hi, pts.back().second);
  }
  for (const char* k : {"threshold_max", "threshold_min"})
    if (probe[k].is_number()) hi = std::max(hi, probe[k].get<double>());
  p.scale = chartScale(lo, hi, unit == "seconds");
  auto label = [&](double v) { return v == 0 ? "0" : humanValue(v, unit); };  // not "0ms"
  std::string s = chartFrame(p, l.clock, l.spans, l.ticks, ids, label);
  s += chartTitle(p, probe["name"].get<std::string>() + (unit.empty() ? "" : " (" + unit + ")"),
                  color);
  // The line first: the threshold's label stays readable over it.
  const ChartPixels line = chartPixels(p, l.clock, pts);
  s += chartPath(line, color, {{"id", p.id}, {"data-probe", probe["name"].get<std::string>()}});
  for (const auto& [k, word] :
       {std::pair{"threshold_max", "max"}, std::pair{"threshold_min", "min"}})
    if (probe[k].is_number())
      s += chartRule(p, probe[k].get<double>(), p.id + "-" + word,
                     std::string(word) + " " + label(probe[k].get<double>()), kChartAlarmColor,
                     line);
  return s;
}

// The SLO's first page row (the fastest): its threshold and windows.
std::optional<nlohmann::json> chartPageRow(const nlohmann::json& d) {
  for (const auto& slo : d["slos"])
    for (const auto& row : slo.value("burn_rows", nlohmann::json::array()))
      if (row["severity"] == "page") return row;
  return std::nullopt;
}

std::string chartBurn(const nlohmann::json& d, ChartPanel p, const ChartLayout& l, bool ids) {
  ChartPoints pts;
  double hi = 0;
  for (const auto& b : d["burn_series"]) {
    pts.push_back({chartTime(b["at"]), b["burn_rate"].get<double>()});
    hi = std::max(hi, pts.back().second);
  }
  const auto page = chartPageRow(d);
  if (page) hi = std::max(hi, (*page)["burn_rate"].get<double>());
  p.scale = chartScale(0, hi, false);
  auto label = [](double v) { return plainNumber(v) + "x"; };
  std::string s = chartFrame(p, l.clock, l.spans, l.ticks, ids, label);
  s += chartTitle(p, "burn rate: the highest of the SLO's alert windows, each minute",
                  kChartBurnColor);
  const ChartPixels line = chartPixels(p, l.clock, pts);
  s += chartPath(line, kChartBurnColor, {{"id", "burn-rate"}});
  if (page) {
    const double rate = (*page)["burn_rate"];
    s += chartRule(p, rate, "burn-page",
                   "page " + plainNumber(rate) + "x (" + (*page)["long_window"].get<std::string>() +
                       " and " + (*page)["short_window"].get<std::string>() + " windows)",
                   kChartAlarmColor, line);
  }
  return s;
}

// The probes drawn: those with values, failed ones first, at most four.
std::vector<const nlohmann::json*> chartProbes(const nlohmann::json& d) {
  std::vector<const nlohmann::json*> out;
  for (bool failed : {true, false})
    for (const auto& p : d["probes"])
      if (!p["values"].empty() && p.value("failed", false) == failed &&
          out.size() < kChartMaxProbes)
        out.push_back(&p);
  return out;
}

struct ChartLegendItem {
  std::string id, swatch, text;  // swatch: an SVG fragment drawn in a 24x10 box at (0, -9)
};

// Legend items left to right, wrapping at the chart's width; returns the
// markup and moves `y` below the last row.
std::string chartLegend(const std::vector<ChartLegendItem>& items, double& y) {
  std::string s;
  double x = kChartLeft;
  for (const auto& it : items) {
    const double w = 32 + 6.2 * static_cast<double>(it.text.size()) + 18;  // ~6.2 px a character
    if (x + w > kChartWidth - kChartRight && x > kChartLeft) x = kChartLeft, y += 18;
    s += "<g transform=\"translate(" + chartNum(x) + " " + chartNum(y) + ")\">" + it.swatch;
    s += chartTag("text", {{"id", it.id}, {"x", "30"}, {"y", "0"}}, it.text) + "</g>\n";
    x += w;
  }
  y += 18;
  return s;
}

std::string chartBox(const ChartAttrs& paint) {
  ChartAttrs a{{"x", "0"}, {"y", "-9"}, {"width", "24"}, {"height", "10"}};
  a.insert(a.end(), paint.begin(), paint.end());
  a.insert(a.end(), {{"stroke", "#888"}, {"stroke-width", "0.5"}});
  return chartTag("rect", a);
}

std::string chartStroke(const std::string& color, bool dashed) {
  return "<line x1=\"0\" y1=\"-4\" x2=\"24\" y2=\"-4\" stroke=\"" + color + "\" stroke-width=\"" +
         (dashed ? "1\" stroke-dasharray=\"6 4\"" : "2\"") + "/>";
}

std::vector<ChartLegendItem> chartLegendItems(const nlohmann::json& d,
                                              const std::vector<const nlohmann::json*>& probes,
                                              const ChartSpans& spans) {
  std::vector<ChartLegendItem> items{
      {"legend-open", chartBox(kChartOpenPaint), "incident open (first alert → last resolve)"}};
  if (spans.bad_data)
    items.push_back({"legend-bad-data", chartBox(kChartBadDataPaint),
                     d["data_recovered_at"].is_string()
                         ? "bad data (first bad run → data recovered)"
                         : "bad data (first bad run → not over)"});
  for (size_t i = 0; i < probes.size(); ++i)
    items.push_back({"legend-probe-" + std::to_string(i), chartStroke(kChartProbeColors[i], false),
                     (*probes[i])["name"].get<std::string>()});
  if (!d["burn_series"].empty())
    items.push_back({"legend-burn", chartStroke(kChartBurnColor, false), "burn rate"});
  items.push_back({"legend-threshold", chartStroke(kChartAlarmColor, true),
                   "threshold (probe, or the SLO's page burn rate)"});
  return items;
}

ChartSpans chartSpans(const nlohmann::json& d, TimePoint to) {
  ChartSpans s{chartTime(d["opened_at"]),
               d["resolved_at"].is_string() ? chartTime(d["resolved_at"]) : to, std::nullopt};
  // Not over: to the chart's end; unknown (no run stored): not drawn.
  if (d["data_recovered_at"].is_string())
    s.bad_data = {chartTime(d["first_bad_run"]), chartTime(d["data_recovered_at"])};
  else if (!d.value("data_recovery_unknown", false))
    s.bad_data = {chartTime(d["first_bad_run"]), to};
  return s;
}

constexpr const char* kChartDefs =
    "<defs><pattern id=\"bad-data-hatch\" width=\"8\" height=\"8\" "
    "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
    "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#9a6700\" stroke-width=\"2.5\" "
    "stroke-opacity=\"0.5\"/></pattern></defs>\n";

}  // namespace

std::string renderChart(const nlohmann::json& d) {
  ChartLayout l{{chartTime(d["window_from"]), chartTime(d["window_to"])}, {}, {}};
  l.spans = chartSpans(d, l.clock.to);
  Duration step{};
  l.ticks = chartTimeTicks(l.clock.from, l.clock.to, step);
  const auto probes = chartProbes(d);
  std::string body = chartTag(
      "text",
      {{"x", chartNum(kChartLeft)}, {"y", "22"}, {"font-size", "14"}, {"font-weight", "bold"}},
      d["id"].get<std::string>() + " — " + d["subject"].get<std::string>());
  double y = 44;
  body += chartLegend(chartLegendItems(d, probes, l.spans), y);
  double top = y + 20;
  const double probe_height = probes.size() <= 2 ? 110 : 85;
  for (size_t i = 0; i < probes.size(); ++i, top += probe_height + 46)
    body += chartProbe(*probes[i], {top, probe_height, {}, "probe-" + std::to_string(i)}, l,
                       kChartProbeColors[i], i == 0);
  if (!d["burn_series"].empty()) {  // the spans' and ticks' ids on the first panel
    body += chartBurn(d, {top, 100, {}, "burn"}, l, probes.empty());
    top += 100 + 46;
  }
  const std::string from_day = formatRfc3339(l.clock.from).substr(0, 10);
  const std::string to_day = formatRfc3339(l.clock.to).substr(0, 10);
  body += chartTag("text",
                   {{"x", chartNum(kChartLeft + kChartPlotWidth)},
                    {"y", chartNum(top - 16)},
                    {"text-anchor", "end"},
                    {"fill", "#57606a"}},
                   "UTC, " + from_day + (to_day == from_day ? "" : " – " + to_day) +
                       "; ticks every " + formatDuration(step));
  const std::string h = chartNum(top);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + chartNum(kChartWidth) +
         "\" height=\"" + h + "\" viewBox=\"0 0 " + chartNum(kChartWidth) + " " + h +
         "\" font-family=\"sans-serif\" font-size=\"11\">\n" + kChartDefs + "<rect width=\"" +
         chartNum(kChartWidth) + "\" height=\"" + h + "\" fill=\"white\"/>\n" + body + "</svg>\n";
}

}  // namespace datawatch
