#pragma once
// Factories for the table probes on SQL sources.

#include <memory>

#include "probes/probe.hpp"

namespace datawatch {

// freshness: now - max(column), in seconds; fails past max_age, or when the
// newest row predates the latest scheduled load whose grace has passed.
Result<std::unique_ptr<Probe>> makeFreshnessProbe(const config::ProbeConfig& cfg, Source& source);

// volume: rows in the table, or rows with column in [now - window, now];
// min / max / max_change (relative to the previous measured run).
Result<std::unique_ptr<Probe>> makeVolumeProbe(const config::ProbeConfig& cfg, Source& source);

}  // namespace datawatch
