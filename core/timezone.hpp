#pragma once
// Time zones for cron schedules: a fixed offset, or a named IANA zone read from
// the system's zoneinfo files (TZif, v2+: the 64-bit transition table, then the
// POSIX TZ rule in the footer for times past the last transition). Immutable and
// thread-safe once loaded.

#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/cron.hpp"
#include "core/result.hpp"

namespace datawatch {

class TimeZone {
 public:
  // "UTC", "+02:00"-style offsets, or an IANA name ("Europe/Berlin").
  static Result<TimeZone> load(const std::string& name,
                               const std::filesystem::path& zoneinfo = "/usr/share/zoneinfo");
  static TimeZone fixed(Duration offset, std::string name);

  // The offset from UTC (local = utc + offset) in force at `utc`.
  Duration offsetAt(TimePoint utc) const;
  const std::string& name() const { return name_; }

 private:
  struct Rule {  // Mm.w.d/time
    int month = 0, week = 0, weekday = 0;
    int64_t time_s = 7200;
  };
  int64_t ruleOffsetAt(int64_t utc_s) const;

  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int32_t> offsets_;      // offset in force from each transition
  int32_t initial_offset_ = 0;
  bool has_rule_ = false;  // POSIX footer present and understood
  bool rule_has_dst_ = false;
  int32_t std_offset_ = 0, dst_offset_ = 0;
  Rule start_, end_;

  friend Result<TimeZone> parseTzif(const std::string& name, const std::string& data);
};

// The latest scheduled run at or before `t`, with the schedule read in `tz`, as
// cron runs it across DST changes: a wall-clock time that occurs twice (clocks
// going back) runs at its first occurrence only — both when the hour field is
// "*" — and one that does not occur (clocks going forward) runs when the gap
// ends (02:30 on a 02:00 -> 03:00 day runs at 03:00 new time).
std::optional<TimePoint> previousRun(const CronExpr& cron, TimePoint t, const TimeZone& tz);

}  // namespace datawatch
