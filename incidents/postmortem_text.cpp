#include "incidents/postmortem_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/time_format.hpp"

namespace datawatch {

std::string fixedDigits(double v, int digits) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string utcDayMinute(TimePoint t) {
  return formatRfc3339(t).substr(0, 16).replace(10, 1, " ");
}

std::string codeSpan(std::string_view s) {
  std::string body;
  size_t run = 0, longest = 0;  // the longest run of backticks inside
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    if (c == '\n' || c == '\r')
      body += ' ';
    else if (c == '|')
      body += "\\|";  // GFM: a pipe ends a table cell even inside a code span
    else
      body += c;
  }
  const std::string fence(longest + 1, '`');
  // A body starting or ending with a backtick needs a space inside the fence.
  const bool pad = !body.empty() && (body.front() == '`' || body.back() == '`');
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

}  // namespace datawatch
