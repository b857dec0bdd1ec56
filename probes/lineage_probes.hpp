#pragma once
// Probes fed by OpenLineage events (docs/lineage.md). They read the lineage
// graph (lineage/graph.hpp), never a database, and are scheduled on the
// agent's clock like every probe: a job that stops reporting still fails.
//
// - `type: job`: the job's runs. Fails when the newest run ended FAIL or ABORT
//   ("last run FAILED at T (runId …): <errorMessage>"), when a run started and
//   has not ended for longer than max_duration ("running for 3h > 2h"), when no
//   run COMPLETEd within max_age ("no COMPLETE since T …"), or none since the
//   latest scheduled run whose grace has passed. Every problem is listed, the
//   first is the headline. Value: seconds since the last COMPLETE (absent when
//   there was none).
// - freshness with `dataset`: the age of the dataset's last write (the newest
//   COMPLETE run that listed it in its outputs), judged as table freshness is
//   (freshness_judge.hpp). Never written: fail, no value.
// - volume with `dataset`: that write's outputStatistics.rowCount, judged as
//   table volume is (volume_judge.hpp: min, max, must, max_change). A write
//   without a row count: error (nothing to judge).
// Details name the job or dataset, the run and its producer, so an alert
// reads as the event said it.

#include <memory>

#include "lineage/graph.hpp"
#include "probes/probe.hpp"

namespace datawatch {

// A probe for a config with ProbeConfig::fromLineage(). `graph` outlives it.
std::unique_ptr<Probe> makeLineageProbe(const config::ProbeConfig& cfg,
                                        const lineage::LineageGraph& graph);

}  // namespace datawatch
