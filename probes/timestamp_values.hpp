#pragma once
// Timestamps as stored in SQL columns without a native timestamp type (SQLite):
// Unix seconds (integer or real; values above 1e11 are read as milliseconds),
// or ISO-8601 text with or without a zone. A column is expected to use one
// representation throughout; its newest value is max(column), so the lookup is
// a single index probe when the column is indexed.

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "probes/source.hpp"

namespace datawatch {

struct TimestampFormat {
  enum class Kind { EpochSeconds, EpochMillis, IsoText };
  Kind kind = Kind::IsoText;
  char separator = 'T';     // between date and time; 0 for a date only
  bool has_seconds = true;  // "HH:MM" alone when false
  int fraction_digits = 0;  // digits after the seconds
  std::string zone_suffix;  // "", "Z", "+02:00", "+0200"
  Duration utc_offset{0};   // of zone_suffix
};

// Reads a stored value as a time; nullopt when it is not a timestamp.
std::optional<TimePoint> timestampFromValue(const SqlValue& v);

// The representation of a sample value, or nullopt when it is not a timestamp.
std::optional<TimestampFormat> detectTimestampFormat(const SqlValue& sample);

// `t` written the way `f` stores times, so that comparing the column with it in
// SQL (as numbers or as text) orders the same way as comparing the times.
SqlValue timestampToValue(const TimestampFormat& f, TimePoint t);

// The error for a timestamp column whose newest value is not a timestamp.
std::string notATimestampMessage(const std::string& column, const SqlValue& newest);

}  // namespace datawatch
