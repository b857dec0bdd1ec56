#pragma once
// "Rows whose `column` lies in [now - window, now]" for table probes (volume,
// values). The bounds are written in the column's own representation — learnt
// once from its newest value (see timestamp_values.hpp) — so the condition is a
// plain range on the column that an index serves, on SQLite and PostgreSQL.
//
// A column of dates (no time of day: SQL `date`, "YYYY-MM-DD" text) holds whole
// days, so its window is whole days ending today (UTC): a window of n days
// (rounded up; at least 1) is [today - (n-1), today], so `1d` counts today's
// rows only, `7d` today and the six days before.
//
// Not thread-safe: one instance per probe (probes never run concurrently with themselves).

#include <optional>
#include <string>
#include <vector>

#include "probes/probe.hpp"
#include "probes/timestamp_values.hpp"

namespace datawatch {

class TimeWindow {
 public:
  TimeWindow(SqlSource& src, const std::string& table, std::string column, Duration window);

  // "col >= <p_first> AND col <= <p_first+1>".
  std::string condition(int first_param) const;

  // The two bound parameters for a run at ctx.now (whole days for dates); nullopt
  // when the column holds no value at all (the window is then empty); an error
  // when its newest value is not a timestamp or the lookup failed.
  Result<std::optional<std::vector<SqlValue>>> bounds(const RunContext& ctx);

  // True once the column is known to hold dates (see the top of this header).
  bool wholeDays() const;

  // Bounds for an arbitrary range [from, to], in the column's representation
  // (same contract as bounds()).
  Result<std::optional<std::vector<SqlValue>>> range(const RunContext& ctx, TimePoint from,
                                                     TimePoint to);

  // An SQL expression of the column as Unix seconds (valid after a successful
  // bounds()/range() call that returned values).
  std::string epochExpr() const;

  const std::string& column() const { return column_; }
  Duration window() const { return window_; }

 private:
  SqlSource& src_;
  std::string column_;
  std::string quoted_;
  Duration window_;
  std::string sample_sql_;
  std::optional<TimestampFormat> format_;  // learnt on the first run
};

}  // namespace datawatch
