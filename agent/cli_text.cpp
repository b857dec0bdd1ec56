#include "agent/cli_text.hpp"

#include <cstdio>

#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace datawatch {
std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string percent(double ratio, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, ratio * 100);
  return buf;
}

// One line per SLO: objective, SLI and budget over its window, the burn rate of
// each window, and what is breaching.
void printSloTable(std::ostream& out, const std::vector<SloStatus>& slos, bool color) {
  if (slos.empty()) return;
  size_t wn = 3;
  for (const auto& st : slos) wn = std::max(wn, st.name.size());
  out << "\n"
      << pad("SLO", wn + 2) << pad("OBJECTIVE", 18) << pad("SLI", 10) << pad("BUDGET", 9)
      << pad("STATE", 9) << "BURN RATES\n";
  for (const auto& st : slos) {
    const auto& w = st.sloWindow();
    std::string state = "ok";
    const char* code = "\033[32m";
    if (st.breaching.count("page")) {
      state = "PAGE", code = "\033[31;1m";
    } else if (st.breaching.count("ticket")) {
      state = "TICKET", code = "\033[33;1m";
    } else if (w.counts.total == 0) {
      state = "no data", code = "\033[2m";
    }
    std::string burns;
    for (const auto& ws : st.windows) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%s%s %.2f", burns.empty() ? "" : "  ",
                    formatDuration(ws.window).c_str(), ws.burn_rate);
      burns += buf;
    }
    const std::string objective = percent(st.objective, 2) + " / " + formatDuration(st.window);
    out << pad(st.name, wn + 2) << pad(objective, 18)
        << pad(w.counts.total ? percent(1 - w.error_ratio, 3) : "-", 10)
        << pad(percent(st.error_budget_remaining, 1), 9) << (color ? code : "") << pad(state, 9)
        << (color ? "\033[0m" : "") << burns << "\n";
    if (st.no_data_since) {
      out << pad("", wn + 2) << "no data since " << formatRfc3339(*st.no_data_since) << "\n";
    }
  }
}

}  // namespace datawatch
