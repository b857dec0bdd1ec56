#pragma once
// The verdict of a freshness probe on its newest timestamp, shared by table
// freshness (max(column)) and lineage dataset freshness (the last COMPLETE
// run that wrote the dataset): `max_age` and/or `schedule` + `grace`.
// Value: the age in seconds; the threshold names max, and with a schedule
// expected_after, schedule and grace.

#include <optional>

#include "config/types.hpp"
#include "probes/result.hpp"

namespace datawatch {

// The latest scheduled load whose grace has passed at `now` (nullopt without a
// schedule, or before its first run).
std::optional<TimePoint> expectedLoad(const config::FreshnessSpec& spec, TimePoint now);

// The threshold object of `spec` at `now` ({"max": seconds} and the schedule's).
nlohmann::json freshnessThreshold(const config::FreshnessSpec& spec, TimePoint now);

// Pass or fail for data whose newest point is `newest` (<= now: callers clamp
// future points). `what` names the point in the message ("age 13m" or
// "written 13m ago"): "age" by default. `details` gain newest and
// newest_timestamp_seconds.
ProbeResult judgeNewest(const config::FreshnessSpec& spec, TimePoint now, TimePoint newest,
                        nlohmann::json details, const std::string& what = "age");

}  // namespace datawatch
