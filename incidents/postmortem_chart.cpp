#include <algorithm>
#include <optional>

#include "core/human_units.hpp"
#include "core/markup.hpp"
#include "core/time_format.hpp"
#include "incidents/postmortem.hpp"
#include "incidents/postmortem_text.hpp"

namespace datawatch {

std::string renderChart(const nlohmann::json& d) {
  using nlohmann::json;
  constexpr double W = 900, left = 70, right = 20, top1 = 40, h1 = 200, top2 = 290, h2 = 110;
  const double pw = W - left - right;
  const auto from = *parseTimestamp(d["window_from"].get<std::string>());
  const auto to = *parseTimestamp(d["window_to"].get<std::string>());
  const double span = std::max(1.0, std::chrono::duration<double>(to - from).count());
  auto x = [&](TimePoint t) {
    return left + pw * std::clamp(std::chrono::duration<double>(t - from).count() / span, 0.0, 1.0);
  };
  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"440\" "
      "viewBox=\"0 0 900 440\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"900\" height=\"440\" fill=\"white\"/>\n";
  svg +=
      "<text x=\"" + fixedDigits(left, 0) + "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" +
      xmlEscape(d["id"].get<std::string>() + " — " + d["subject"].get<std::string>()) + "</text>\n";
  // The firing span, shaded on both panels.
  const TimePoint opened = *parseTimestamp(d["opened_at"].get<std::string>());
  const TimePoint closed =
      d["resolved_at"].is_string() ? *parseTimestamp(d["resolved_at"].get<std::string>()) : to;
  for (auto [top, h] : {std::pair{top1, h1}, std::pair{top2, h2}}) {
    svg += "<rect id=\"firing\" x=\"" + fixedDigits(x(opened)) + "\" y=\"" + fixedDigits(top) +
           "\" width=\"" + fixedDigits(x(closed) - x(opened)) + "\" height=\"" + fixedDigits(h) +
           "\" fill=\"#cf222e\" fill-opacity=\"0.12\"/>\n";
    svg += "<rect x=\"" + fixedDigits(left) + "\" y=\"" + fixedDigits(top) + "\" width=\"" +
           fixedDigits(pw) + "\" height=\"" + fixedDigits(h) +
           "\" fill=\"none\" stroke=\"#888\"/>\n";
  }
  // Time axis: five UTC ticks under each panel.
  for (int i = 0; i <= 4; ++i) {
    const TimePoint t = from + std::chrono::duration_cast<Duration>((to - from) * i / 4);
    const std::string label = formatRfc3339(t).substr(11, 5);
    for (double base : {top1 + h1, top2 + h2}) {
      svg += "<line x1=\"" + fixedDigits(x(t)) + "\" y1=\"" + fixedDigits(base) + "\" x2=\"" +
             fixedDigits(x(t)) + "\" y2=\"" + fixedDigits(base + 4) + "\" stroke=\"#888\"/>\n";
      svg += "<text x=\"" + fixedDigits(x(t)) + "\" y=\"" + fixedDigits(base + 15) +
             "\" text-anchor=\"middle\">" + label + "</text>\n";
    }
  }
  svg += "<text x=\"" + fixedDigits(left + pw) + "\" y=\"" + fixedDigits(top2 + h2 + 28) +
         "\" text-anchor=\"end\">UTC, " + formatRfc3339(from).substr(0, 10) + "</text>\n";
  // Panel 1: the first probe with values, and its threshold.
  const json* probe = nullptr;
  // Panel 1: the first probe that failed (an SLO lists its probes in config
  // order, healthy ones too), else the first with values.
  for (const auto& p : d["probes"])
    if (!p["values"].empty() &&
        (!probe || (p.value("failed", false) && !(*probe).value("failed", false))))
      probe = &p;
  auto panel = [&](const std::vector<std::pair<TimePoint, double>>& pts,
                   std::optional<double> threshold, double top, double h, const std::string& label,
                   const std::string& color, const std::string& id) {
    double lo = 0, hi = 1;
    for (const auto& [t, v] : pts) hi = std::max(hi, v), lo = std::min(lo, v);
    if (threshold) hi = std::max(hi, *threshold);
    hi *= 1.1;
    auto y = [&](double v) { return top + h - h * (v - lo) / (hi - lo); };
    std::string out;
    for (double v : {lo, (lo + hi) / 2, hi}) {
      out += "<text x=\"" + fixedDigits(left - 6) + "\" y=\"" + fixedDigits(y(v) + 4) +
             "\" text-anchor=\"end\">" + plainNumber(v) + "</text>\n";
    }
    out += "<text x=\"14\" y=\"" + fixedDigits(top + h / 2) + "\" transform=\"rotate(-90 14 " +
           fixedDigits(top + h / 2) + ")\" text-anchor=\"middle\">" + xmlEscape(label) +
           "</text>\n";
    if (threshold) {
      out += "<line id=\"" + id + "-threshold\" x1=\"" + fixedDigits(left) + "\" y1=\"" +
             fixedDigits(y(*threshold)) + "\" x2=\"" + fixedDigits(left + pw) + "\" y2=\"" +
             fixedDigits(y(*threshold)) + "\" stroke=\"#cf222e\" stroke-dasharray=\"6 4\"/>\n";
      out += "<text x=\"" + fixedDigits(left + pw - 4) + "\" y=\"" +
             fixedDigits(y(*threshold) - 4) + "\" text-anchor=\"end\" fill=\"#cf222e\">threshold " +
             plainNumber(*threshold) + "</text>\n";
    }
    std::string path;
    for (const auto& [t, v] : pts)
      path += (path.empty() ? "M" : " L") + fixedDigits(x(t)) + " " + fixedDigits(y(v));
    if (!path.empty())
      out += "<path id=\"" + id + "\" d=\"" + path + "\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"1.5\"/>\n";
    return out;
  };
  if (probe) {
    std::vector<std::pair<TimePoint, double>> pts;
    for (const auto& v : (*probe)["values"])
      pts.push_back({*parseTimestamp(v["at"].get<std::string>()), v["value"].get<double>()});
    std::optional<double> th;
    if ((*probe)["threshold_max"].is_number())
      th = (*probe)["threshold_max"].get<double>();
    else if ((*probe)["threshold_min"].is_number())
      th = (*probe)["threshold_min"].get<double>();
    svg += panel(
        pts, th, top1, h1,
        (*probe)["name"].get<std::string>() + " (" + (*probe)["unit"].get<std::string>() + ")",
        "#0969da", "probe-value");
  }
  std::vector<std::pair<TimePoint, double>> burn;
  for (const auto& b : d["burn_series"])
    burn.push_back({*parseTimestamp(b["at"].get<std::string>()), b["burn_rate"].get<double>()});
  svg += panel(burn, std::nullopt, top2, h2, "burn rate", "#8250df", "burn-rate");
  svg += "</svg>\n";
  return svg;
}

}  // namespace datawatch
