#pragma once
// drift: a score of the current distribution of a column against a baseline
// (SPEC §2, docs/drift.md). Histograms are computed inside the database; only
// bin counts cross the wire. The statistics are in drift_stats.hpp.

#include <memory>
#include <string>

#include "probes/probe.hpp"

namespace datawatch {

Result<std::unique_ptr<Probe>> makeDriftProbe(const config::ProbeConfig& cfg, Source& source);

// The SnapshotStore key of a drift probe's pinned baseline. `check --repin`
// clears it (saves null) so the next run captures a new one.
std::string driftBaselineKey(const std::string& probe_name);

// The threshold in force: the configured one, else the method's default (psi 0.2,
// js 0.1, ks 0.1, wasserstein 0.1; chi2: 0.001, a significance level on the p-value).
double driftThreshold(const config::DriftSpec& spec);

}  // namespace datawatch
