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

// sql: the single number a read-only query returns; min / max / equals.
Result<std::unique_ptr<Probe>> makeSqlProbe(const config::ProbeConfig& cfg, Source& source);

// values: nulls, missing, invalid (outside `accepted`, min/max, `pattern`,
// lengths; a row once) and duplicates (of a value, or of a composite key),
// counted in one query and judged per metric by its `must` bound or default
// (values.cpp); up to 5 sample invalid values and duplicated values/keys
// fetched only when there are any.
Result<std::unique_ptr<Probe>> makeValuesProbe(const config::ProbeConfig& cfg, Source& source);

// Formats a number for messages: integers without decimals, others with 4 significant digits.
std::string formatNumber(double v);

// schema: columns and types from the catalog, compared with the declared
// contract and with the last snapshot (kept through RunContext::snapshots).
// Value: the number of differences; fails on any contract violation or breaking change.
Result<std::unique_ptr<Probe>> makeSchemaProbe(const config::ProbeConfig& cfg, Source& source);

// A column type in one canonical spelling ("int8" -> "bigint", "varchar(20)" ->
// "character varying(20)", "timestamptz" -> "timestamp with time zone").
std::string canonicalType(std::string_view type);

}  // namespace datawatch
