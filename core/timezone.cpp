#include "core/timezone.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace datawatch {
namespace {

int64_t be(const std::string& d, size_t pos, int bytes) {
  int64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(d[pos + static_cast<size_t>(i)]);
  if (bytes == 4 && (v & 0x80000000LL)) v -= 0x100000000LL;
  return v;
}

// Parses a POSIX TZ offset "[+-]hh[:mm[:ss]]"; returns seconds, advancing i.
bool parseHms(const std::string& s, size_t& i, int64_t& out) {
  int sign = 1;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
  int64_t parts[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (p == 0) return false;
      break;
    }
    int64_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      v = v * 10 + (s[i++] - '0');
    parts[p] = v;
    if (i < s.size() && s[i] == ':' && p < 2)
      ++i;
    else
      break;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool skipName(const std::string& s, size_t& i) {
  if (i < s.size() && s[i] == '<') {
    const auto end = s.find('>', i);
    if (end == std::string::npos) return false;
    i = end + 1;
    return true;
  }
  const size_t start = i;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  return i - start >= 3;
}

}  // namespace

Result<TimeZone> parseTzif(const std::string& name, const std::string& d) {
  using R = Result<TimeZone>;
  if (d.size() < 44 || d.compare(0, 4, "TZif") != 0)
    return R::Error("time zone " + name + ": not a TZif file");
  auto counts = [&](size_t at, int64_t c[6]) {
    for (int k = 0; k < 6; ++k) c[k] = be(d, at + 20 + static_cast<size_t>(k) * 4, 4);
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  size_t pos = 44;
  const bool v2 = d[4] >= '2';
  int time_size = 4;
  if (v2) {  // skip the v1 block, read the 64-bit one
    pos += static_cast<size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (d.size() < pos + 44) return R::Error("time zone " + name + ": truncated TZif file");
    counts(pos, c);
    pos += 44;
    time_size = 8;
  }
  const int64_t timecnt = c[3], typecnt = c[4];
  const size_t need = pos + static_cast<size_t>(timecnt * time_size + timecnt + typecnt * 6);
  if (d.size() < need || typecnt <= 0)
    return R::Error("time zone " + name + ": truncated TZif file");
  TimeZone tz;
  tz.name_ = name;
  std::vector<int64_t> times(static_cast<size_t>(timecnt));
  for (int64_t k = 0; k < timecnt; ++k)
    times[static_cast<size_t>(k)] = be(d, pos + static_cast<size_t>(k * time_size), time_size);
  pos += static_cast<size_t>(timecnt * time_size);
  std::vector<int> idx(static_cast<size_t>(timecnt));
  for (int64_t k = 0; k < timecnt; ++k)
    idx[static_cast<size_t>(k)] = static_cast<unsigned char>(d[pos + static_cast<size_t>(k)]);
  pos += static_cast<size_t>(timecnt);
  std::vector<int32_t> type_off(static_cast<size_t>(typecnt));
  for (int64_t k = 0; k < typecnt; ++k)
    type_off[static_cast<size_t>(k)] =
        static_cast<int32_t>(be(d, pos + static_cast<size_t>(k * 6), 4));
  pos += static_cast<size_t>(typecnt * 6 + c[5] + c[2] * (time_size + 4) + c[1] + c[0]);
  tz.initial_offset_ = type_off[0];
  for (size_t k = 0; k < times.size(); ++k) {
    if (idx[k] >= typecnt) return R::Error("time zone " + name + ": corrupt TZif file");
    tz.transitions_.push_back(times[k]);
    tz.offsets_.push_back(type_off[static_cast<size_t>(idx[k])]);
  }
  // Footer: "\n<POSIX TZ>\n".
  if (v2 && pos < d.size() && d[pos] == '\n') {
    const auto end = d.find('\n', pos + 1);
    const std::string rule =
        d.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    size_t i = 0;
    int64_t std_off = 0;
    if (skipName(rule, i) && parseHms(rule, i, std_off)) {
      tz.std_offset_ = static_cast<int32_t>(-std_off);  // POSIX offsets are west-positive
      tz.dst_offset_ = tz.std_offset_ + 3600;
      tz.has_rule_ = true;
      if (i < rule.size() && skipName(rule, i)) {
        int64_t dst_off = 0;
        size_t j = i;
        if (parseHms(rule, j, dst_off)) {
          tz.dst_offset_ = static_cast<int32_t>(-dst_off);
          i = j;
        }
        auto parseRule = [&](TimeZone::Rule& r) {
          if (i >= rule.size() || rule[i] != ',' || i + 1 >= rule.size() || rule[i + 1] != 'M')
            return false;
          i += 2;
          if (std::sscanf(rule.c_str() + i, "%d.%d.%d", &r.month, &r.week, &r.weekday) != 3)
            return false;
          while (i < rule.size() && rule[i] != '/' && rule[i] != ',') ++i;
          if (i < rule.size() && rule[i] == '/') {
            ++i;
            if (!parseHms(rule, i, r.time_s)) return false;
          }
          return r.month >= 1 && r.month <= 12 && r.week >= 1 && r.week <= 5 && r.weekday >= 0 &&
                 r.weekday <= 6;
        };
        tz.rule_has_dst_ = parseRule(tz.start_) && parseRule(tz.end_);
        if (!tz.rule_has_dst_)
          tz.has_rule_ = false;  // a rule form we do not read: use the table only
      }
    }
  }
  return tz;
}

Result<TimeZone> TimeZone::load(const std::string& name, const std::filesystem::path& zoneinfo) {
  if (name == "UTC" || name == "Etc/UTC" || name == "GMT" || name == "Z")
    return fixed(Duration{0}, name);
  if (name.size() == 6 && (name[0] == '+' || name[0] == '-') && name[3] == ':') {
    size_t i = 0;
    int64_t s = 0;
    if (parseHms(name, i, s) && i == name.size() && std::abs(s) <= 14 * 3600) {
      return fixed(std::chrono::seconds(s), name);
    }
    return Result<TimeZone>::Error("invalid UTC offset \"" + name + "\" (use +HH:MM)");
  }
  if (name.empty() || name.find("..") != std::string::npos || name[0] == '/') {
    return Result<TimeZone>::Error("invalid time zone name \"" + name + "\"");
  }
  std::ifstream in(zoneinfo / name, std::ios::binary);
  if (!in) {
    return Result<TimeZone>::Error("unknown time zone \"" + name + "\" (not in " +
                                   zoneinfo.string() +
                                   "; use an IANA name such as Europe/Berlin, UTC, or +01:00)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseTzif(name, ss.str());
}

TimeZone TimeZone::fixed(Duration offset, std::string name) {
  TimeZone tz;
  tz.name_ = std::move(name);
  tz.initial_offset_ =
      static_cast<int32_t>(std::chrono::duration_cast<std::chrono::seconds>(offset).count());
  return tz;
}

int64_t TimeZone::ruleOffsetAt(int64_t utc_s) const {
  using namespace std::chrono;
  if (!rule_has_dst_) return std_offset_;
  const auto ymd = year_month_day{floor<days>(sys_seconds{seconds{utc_s + std_offset_}})};
  auto when = [&](const Rule& r, int32_t offset_before) {
    const year_month first{ymd.year(), month{static_cast<unsigned>(r.month)}};
    const weekday wd1{sys_days{first / 1}};
    int day = 1 + (r.weekday - static_cast<int>(wd1.c_encoding()) + 7) % 7 + (r.week - 1) * 7;
    const int month_len =
        static_cast<int>(static_cast<unsigned>((first / std::chrono::last).day()));
    while (day > month_len) day -= 7;
    const sys_days date{first / day};
    return duration_cast<seconds>(date.time_since_epoch()).count() + r.time_s - offset_before;
  };
  const int64_t start = when(start_, std_offset_);
  const int64_t end = when(end_, dst_offset_);
  const bool dst = start < end ? (utc_s >= start && utc_s < end) : (utc_s >= start || utc_s < end);
  return dst ? dst_offset_ : std_offset_;
}

Duration TimeZone::offsetAt(TimePoint utc) const {
  const int64_t s =
      std::chrono::duration_cast<std::chrono::seconds>(utc.time_since_epoch()).count();
  int64_t off = initial_offset_;
  if (!transitions_.empty() && s >= transitions_.front()) {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s);
    off = offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
  }
  if (has_rule_ && (transitions_.empty() || s >= transitions_.back())) off = ruleOffsetAt(s);
  return std::chrono::seconds(off);
}

namespace {

// The first instant in (lo, hi] whose offset is `after` (offsetAt(lo) is not).
TimePoint transitionBetween(const TimeZone& tz, TimePoint lo, TimePoint hi, Duration after) {
  while (hi - lo > std::chrono::seconds(1)) {
    const TimePoint mid = lo + (hi - lo) / 2;
    (tz.offsetAt(mid) == after ? hi : lo) = mid;
  }
  return hi;
}

// When a job scheduled at wall-clock time `local` (a local time written as if
// UTC) runs: at the one instant it occurs; on a repeated time (clocks going
// back) at the first occurrence only, unless the job runs every hour (then at
// both); on a skipped time (clocks going forward) when the gap ends.
std::vector<TimePoint> runInstants(const CronExpr& cron, TimePoint local, const TimeZone& tz) {
  using namespace std::chrono_literals;
  // The offsets in force before and after any change that touches `local`
  // (a change lies within 14 h of it; zones change at most once in two days).
  const Duration before = tz.offsetAt(local - 26h);
  const Duration after = tz.offsetAt(local + 26h);
  std::vector<TimePoint> valid;
  for (Duration o : {before, after}) {
    const TimePoint u = local - o;
    if (tz.offsetAt(u) == o && (valid.empty() || valid.front() != u)) valid.push_back(u);
  }
  std::sort(valid.begin(), valid.end());
  if (valid.size() == 2 && !cron.everyHour()) valid.pop_back();
  if (valid.empty() && after > before)
    valid.push_back(transitionBetween(tz, local - after, local - before, after));
  return valid;
}

}  // namespace

std::optional<TimePoint> previousRun(const CronExpr& cron, TimePoint t, const TimeZone& tz) {
  using namespace std::chrono_literals;
  // Walk back through scheduled wall-clock times, starting from the latest local
  // time reachable at or before t (after the clocks went back, local time is
  // behind where it was an hour earlier), to the first that ran at or before t.
  TimePoint local = t + std::max(tz.offsetAt(t), tz.offsetAt(t - 26h));
  for (int i = 0; i < 2000; ++i) {
    const auto candidate = cron.previous(local);
    if (!candidate) return std::nullopt;
    const auto runs = runInstants(cron, *candidate, tz);
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if (*it <= t) return *it;
    local = *candidate - 1min;
  }
  return std::nullopt;
}

}  // namespace datawatch
