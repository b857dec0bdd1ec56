#include "core/cron.hpp"

#include <array>
#include <cctype>
#include <chrono>
#include <vector>

namespace datawatch {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 12> kMonths{"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDays{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int lo;
  int hi;
  bool months;
  bool days;
};

std::optional<int> parseValue(std::string_view tok, const FieldSpec& f) {
  if (tok.empty()) return std::nullopt;
  if (std::isalpha(static_cast<unsigned char>(tok[0]))) {
    std::string lower;
    for (char c : tok) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (f.months) {
      for (size_t i = 0; i < kMonths.size(); ++i)
        if (kMonths[i] == lower) return static_cast<int>(i) + 1;
    }
    if (f.days) {
      for (size_t i = 0; i < kDays.size(); ++i)
        if (kDays[i] == lower) return static_cast<int>(i);
    }
    return std::nullopt;
  }
  int v = 0;
  for (char c : tok) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Sets bits of `out` for one field; returns an error message or "".
template <size_t N>
std::string parseField(std::string_view field, const FieldSpec& f, std::bitset<N>& out,
                       bool& restricted) {
  restricted = field != "*" && field != "?";
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    std::string_view part = field.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      auto s = parseValue(part.substr(slash + 1), FieldSpec{f.name, 1, 1000, false, false});
      if (!s || *s == 0)
        return "invalid step in " + std::string(f.name) + " field \"" + std::string(part) + "\"";
      step = *s;
      part = part.substr(0, slash);
    }
    int lo = f.lo, hi = f.hi;
    if (part != "*" && part != "?") {
      auto dash = part.find('-');
      auto a = parseValue(part.substr(0, dash), f);
      if (!a) return "invalid " + std::string(f.name) + " \"" + std::string(part) + "\"";
      lo = hi = *a;
      if (dash != std::string_view::npos) {
        auto b = parseValue(part.substr(dash + 1), f);
        if (!b) return "invalid " + std::string(f.name) + " \"" + std::string(part) + "\"";
        hi = *b;
      } else if (step > 1) {
        hi = f.hi;  // "5/15" means from 5 to the end, every 15
      }
    }
    if (f.days && hi == 7) hi = 7;  // 7 is Sunday too; folded below
    if (lo < f.lo || hi > (f.days ? 7 : f.hi) || lo > hi) {
      return std::string(f.name) + " \"" + std::string(part) + "\" out of range " +
             std::to_string(f.lo) + "-" + std::to_string(f.hi);
    }
    for (int v = lo; v <= hi; v += step) out.set(static_cast<size_t>(f.days && v == 7 ? 0 : v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return "";
}

}  // namespace

Result<CronExpr> CronExpr::parse(std::string_view text) {
  std::string expanded(text);
  if (text == "@hourly")
    expanded = "0 * * * *";
  else if (text == "@daily" || text == "@midnight")
    expanded = "0 0 * * *";
  else if (text == "@weekly")
    expanded = "0 0 * * 0";
  else if (text == "@monthly")
    expanded = "0 0 1 * *";
  else if (text == "@yearly" || text == "@annually")
    expanded = "0 0 1 1 *";
  std::vector<std::string_view> fields;
  std::string_view rest = expanded;
  while (!rest.empty()) {
    size_t sp = rest.find_first_not_of(" \t");
    if (sp == std::string_view::npos) break;
    rest = rest.substr(sp);
    size_t end = rest.find_first_of(" \t");
    fields.push_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  if (fields.size() != 5) {
    return Result<CronExpr>::Error("invalid cron expression \"" + std::string(text) +
                                   "\": expected 5 fields (minute hour day-of-month month "
                                   "day-of-week), got " +
                                   std::to_string(fields.size()));
  }
  CronExpr c;
  c.text_ = std::string(text);
  bool r = false;
  std::string err;
  if (!(err = parseField(fields[0], {"minute", 0, 59, false, false}, c.minutes_, r)).empty() ||
      !(err = parseField(fields[1], {"hour", 0, 23, false, false}, c.hours_, c.hour_restricted_))
           .empty() ||
      !(err =
            parseField(fields[2], {"day-of-month", 1, 31, false, false}, c.dom_, c.dom_restricted_))
           .empty() ||
      !(err = parseField(fields[3], {"month", 1, 12, true, false}, c.months_, r)).empty() ||
      !(err = parseField(fields[4], {"day-of-week", 0, 6, false, true}, c.dow_, c.dow_restricted_))
           .empty()) {
    return Result<CronExpr>::Error("invalid cron expression \"" + std::string(text) + "\": " + err);
  }
  return c;
}

bool CronExpr::matchesDay(int dom, int month, int dow) const {
  if (!months_.test(static_cast<size_t>(month))) return false;
  const bool d1 = dom_.test(static_cast<size_t>(dom));
  const bool d2 = dow_.test(static_cast<size_t>(dow));
  if (dom_restricted_ && dow_restricted_) return d1 || d2;
  return d1 && d2;
}

std::optional<TimePoint> CronExpr::previous(TimePoint t, Duration utc_offset) const {
  const auto local = floor<minutes>(t + utc_offset);
  auto day = floor<days>(local);
  int minute_of_day = static_cast<int>((local - day).count());
  for (int n = 0; n < 366 * 5; ++n) {
    const year_month_day ymd{day};
    const weekday wd{day};
    if (matchesDay(static_cast<int>(static_cast<unsigned>(ymd.day())),
                   static_cast<int>(static_cast<unsigned>(ymd.month())),
                   static_cast<int>(wd.c_encoding()))) {
      for (int m = minute_of_day; m >= 0; --m) {
        if (hours_.test(static_cast<size_t>(m / 60)) &&
            minutes_.test(static_cast<size_t>(m % 60))) {
          return TimePoint(day + minutes{m}) - utc_offset;
        }
      }
    }
    day -= days{1};
    minute_of_day = 24 * 60 - 1;
  }
  return std::nullopt;
}

std::optional<TimePoint> CronExpr::next(TimePoint t, Duration utc_offset) const {
  const auto local = floor<minutes>(t + utc_offset) + minutes{1};
  auto day = floor<days>(local);
  int minute_of_day = static_cast<int>((local - day).count());
  for (int n = 0; n < 366 * 5; ++n) {
    const year_month_day ymd{day};
    const weekday wd{day};
    if (matchesDay(static_cast<int>(static_cast<unsigned>(ymd.day())),
                   static_cast<int>(static_cast<unsigned>(ymd.month())),
                   static_cast<int>(wd.c_encoding()))) {
      for (int m = minute_of_day; m < 24 * 60; ++m) {
        if (hours_.test(static_cast<size_t>(m / 60)) &&
            minutes_.test(static_cast<size_t>(m % 60))) {
          return TimePoint(day + minutes{m}) - utc_offset;
        }
      }
    }
    day += days{1};
    minute_of_day = 0;
  }
  return std::nullopt;
}

}  // namespace datawatch
