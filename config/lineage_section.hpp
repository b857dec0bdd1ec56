#pragma once
// Internal to config/: the config of what OpenLineage events feed
// (docs/lineage.md) — `type: job` probes, freshness and volume probes with
// `dataset:`, a source's `lineage_namespace` / `lineage_database` — and the
// schedule keys freshness and job probes share. probes_section.cpp and
// sources_section.cpp read the keys every item has, then call these. Every
// problem is reported at its line; a key with a bad value keeps its default.

#include <string>
#include <string_view>
#include <vector>

#include "config/reader.hpp"

namespace datawatch::config::detail {

// The keys of a job probe besides those every probe has.
const std::vector<std::string_view>& jobProbeKeys();

// `dataset:` into p.dataset, read before `source:` (a probe with a dataset
// needs none). It must be "namespace/name": a '/' with text on both sides.
void readProbeDataset(MapReader& m, ProbeConfig& p, const std::string& what);

// For a probe with p.fromLineage(), once the keys every probe has are read:
// no source, table or topic; `dataset` only on freshness and volume probes,
// and without the keys a dataset cannot answer (column, filter, ...); `every`
// defaults to 1m (no query runs).
void checkLineageProbe(MapReader& m, ProbeConfig& p, const std::string& what);

// job (required, "namespace/name"), max_age, schedule, grace, timezone,
// max_duration; at least one of max_age, schedule and max_duration.
JobSpec readJobSpec(MapReader& m, const std::string& what);

// A freshness probe's schedule (cron), grace and timezone (each only with a
// schedule): read as a job probe's are.
void readScheduleKeys(MapReader& m, const std::string& what, FreshnessSpec& s);

// A source's lineage_namespace and lineage_database (only with a namespace).
void readSourceLineage(MapReader& m, SourceConfig& s);

}  // namespace datawatch::config::detail
