#include "core/time_format.hpp"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <type_traits>

namespace datawatch {
namespace {

using namespace std::chrono;

bool readInt(std::string_view s, size_t& i, int digits, int& out) {
  if (i + static_cast<size_t>(digits) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < digits; ++k) {
    char c = s[i + static_cast<size_t>(k)];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  i += static_cast<size_t>(digits);
  out = v;
  return true;
}

// Writes v as exactly `digits` decimal digits (v in [0, 10^digits)).
char* putDigits(char* p, unsigned v, int digits) {
  for (int k = digits - 1; k >= 0; --k) {
    p[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + digits;
}

// Writes t as RFC 3339 UTC ("2026-11-26T10:00:00Z", with `millis`
// "...00.005Z") into `p` (at least 24 bytes); returns the end. Digit by digit:
// this runs for every probe run (issue 19; snprintf was ~1% of the agent's CPU
// at 1,000 runs a second).
char* putRfc3339(char* p, TimePoint t, bool millis) {
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  // TimePoint counts nanoseconds in 64 bits: years 1677 to 2262, four digits.
  static_assert(std::is_same_v<TimePoint::duration, std::chrono::nanoseconds>);
  p = putDigits(p, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  *p++ = '-';
  p = putDigits(p, static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  p = putDigits(p, static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  p = putDigits(p, static_cast<unsigned>(hms.hours().count()), 2);
  *p++ = ':';
  p = putDigits(p, static_cast<unsigned>(hms.minutes().count()), 2);
  *p++ = ':';
  p = putDigits(p, static_cast<unsigned>(hms.seconds().count()), 2);
  if (millis) {
    *p++ = '.';
    // From the count, not t - secs: that overflows in TimePoint's first second.
    auto ns = t.time_since_epoch().count() % 1'000'000'000;
    if (ns < 0) ns += 1'000'000'000;
    p = putDigits(p, static_cast<unsigned>(ns / 1'000'000), 3);
  }
  *p++ = 'Z';
  return p;
}

}  // namespace

std::string formatRfc3339(TimePoint t) {
  char buf[32];
  return std::string(buf, putRfc3339(buf, t, false));
}

std::string formatRfc3339Millis(TimePoint t) {
  char buf[32];
  return std::string(buf, putRfc3339(buf, t, true));
}

std::string formatCompactDate(TimePoint t) {
  const year_month_day ymd{floor<days>(t)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<TimePoint> parseTimestamp(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!readInt(s, i, 4, y) || i >= s.size() || s[i++] != '-' || !readInt(s, i, 2, mo) ||
      i >= s.size() || s[i++] != '-' || !readInt(s, i, 2, d)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  TimePoint t = sys_days{ymd};
  if (i == s.size()) return t;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
  ++i;
  if (!readInt(s, i, 2, h) || i >= s.size() || s[i++] != ':' || !readInt(s, i, 2, mi)) {
    return std::nullopt;
  }
  double frac = 0;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!readInt(s, i, 2, se)) return std::nullopt;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      double scale = 0.1;
      size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        frac += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == start) return std::nullopt;
    }
  }
  if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  t += hours{h} + minutes{mi} + seconds{se} +
       duration_cast<system_clock::duration>(duration<double>(frac));
  if (i == s.size()) return t;
  // Warehouses print the zone after a space: "... +00:00" (SQL Server's
  // datetimeoffset), "... +0000" (Snowflake), "... UTC" (Trino, BigQuery).
  if (s[i] == ' ' && i + 1 < s.size()) ++i;
  const std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z" || zone == "UTC" || zone == "GMT") return t;
  if (s[i] != '+' && s[i] != '-') return std::nullopt;
  const int sign = s[i] == '-' ? -1 : 1;
  ++i;
  int oh = 0, om = 0;
  if (!readInt(s, i, 2, oh)) return std::nullopt;
  if (i < s.size() && s[i] == ':') ++i;
  if (i < s.size() && !readInt(s, i, 2, om)) return std::nullopt;
  if (i != s.size() || oh > 23 || om > 59) return std::nullopt;
  return t - sign * (hours{oh} + minutes{om});
}

double toUnixSeconds(TimePoint t) {
  return duration<double>(t.time_since_epoch()).count();
}

TimePoint fromUnixSeconds(double s) {
  return TimePoint{duration_cast<system_clock::duration>(duration<double>(s))};
}

int64_t toUnixMillis(TimePoint t) {
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

TimePoint fromUnixMillis(int64_t ms) {
  return TimePoint{milliseconds{ms}};
}

}  // namespace datawatch
