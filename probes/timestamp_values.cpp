#include "probes/timestamp_values.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/time_format.hpp"

namespace datawatch {
namespace {

constexpr double kMillisThreshold = 1e11;  // Unix seconds reach 1e11 in the year 5138

}  // namespace

std::optional<TimePoint> timestampFromValue(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    const double d = static_cast<double>(*i);
    return fromUnixSeconds(std::fabs(d) >= kMillisThreshold ? d / 1000.0 : d);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) return std::nullopt;
    return fromUnixSeconds(std::fabs(*d) >= kMillisThreshold ? *d / 1000.0 : *d);
  }
  if (const auto* s = std::get_if<std::string>(&v)) return parseTimestamp(*s);
  return std::nullopt;
}

std::optional<TimestampFormat> detectTimestampFormat(const SqlValue& sample) {
  TimestampFormat f;
  if (std::holds_alternative<int64_t>(sample) || std::holds_alternative<double>(sample)) {
    const double d = *sqlValueToDouble(sample);
    f.kind = std::fabs(d) >= kMillisThreshold ? TimestampFormat::Kind::EpochMillis
                                              : TimestampFormat::Kind::EpochSeconds;
    return f;
  }
  const auto* s = std::get_if<std::string>(&sample);
  if (!s) return std::nullopt;
  const auto parsed = parseTimestamp(*s);
  if (!parsed) return std::nullopt;
  f.kind = TimestampFormat::Kind::IsoText;
  if (s->size() <= 10) {
    f.separator = 0;
    return f;
  }
  f.separator = (*s)[10];
  size_t i = 16;  // after HH:MM
  f.has_seconds = i < s->size() && (*s)[i] == ':';
  if (f.has_seconds) i += 3;
  if (i < s->size() && ((*s)[i] == '.' || (*s)[i] == ',')) {
    ++i;
    while (i < s->size() && std::isdigit(static_cast<unsigned char>((*s)[i]))) {
      ++f.fraction_digits;
      ++i;
    }
  }
  f.zone_suffix = s->substr(std::min(i, s->size()));
  // The offset is what separates the written local time from UTC.
  const auto local = parseTimestamp(s->substr(0, std::min(i, s->size())));
  if (local) f.utc_offset = std::chrono::duration_cast<Duration>(*local - *parsed);
  return f;
}

SqlValue timestampToValue(const TimestampFormat& f, TimePoint t) {
  switch (f.kind) {
    case TimestampFormat::Kind::EpochSeconds: return toUnixSeconds(t);
    case TimestampFormat::Kind::EpochMillis: return static_cast<double>(toUnixMillis(t));
    case TimestampFormat::Kind::IsoText: break;
  }
  const TimePoint local = t + f.utc_offset;
  std::string s = formatRfc3339(local);  // YYYY-MM-DDTHH:MM:SSZ
  if (f.separator == 0) return s.substr(0, 10);
  s = s.substr(0, f.has_seconds ? 19 : 16);
  s[10] = f.separator;
  if (f.fraction_digits > 0) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        local - std::chrono::floor<std::chrono::seconds>(local))
                        .count();
    char buf[16];
    std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(ns));
    s += '.';  // appended piecewise: GCC 12 -O2 warns falsely on "." + std::string
    s.append(buf, static_cast<size_t>(std::min(f.fraction_digits, 9)));
    if (f.fraction_digits > 9) s += std::string(static_cast<size_t>(f.fraction_digits - 9), '0');
  }
  return s + f.zone_suffix;
}

std::string notATimestampMessage(const std::string& column, const SqlValue& newest) {
  return "column " + column + " holds a value that is not a timestamp (newest: \"" +
         sqlValueToString(newest) + "\"): store ISO-8601 text or Unix seconds";
}

}  // namespace datawatch
