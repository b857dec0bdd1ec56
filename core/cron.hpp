#pragma once
// Five-field cron expressions (minute hour day-of-month month day-of-week), as in
// crontab(5): lists, ranges, steps, month and weekday names, and the @hourly,
// @daily/@midnight, @weekly, @monthly, @yearly/@annually shorthands. When both
// day fields are restricted, a day matches if either does (Vixie cron).
// Times are evaluated in UTC shifted by a fixed offset (`utc_offset`); named
// zones with DST changes are handled by previousRun() in core/timezone.hpp.

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace datawatch {

class CronExpr {
 public:
  static Result<CronExpr> parse(std::string_view text);

  // The latest scheduled minute at or before `t`, searched up to ~5 years back.
  std::optional<TimePoint> previous(TimePoint t, Duration utc_offset = Duration{0}) const;
  // The first scheduled minute strictly after `t`, searched up to ~5 years ahead.
  std::optional<TimePoint> next(TimePoint t, Duration utc_offset = Duration{0}) const;

  const std::string& text() const { return text_; }
  // True when the hour field is "*" (the job runs every hour, even one repeated
  // when the clocks go back).
  bool everyHour() const { return !hour_restricted_; }

 private:
  bool matchesDay(int dom, int month, int dow) const;
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;
  std::bitset<13> months_;
  std::bitset<8> dow_;
  bool hour_restricted_ = false;
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace datawatch
