#pragma once
// The agent's Prometheus metrics (SPEC §3), in one prometheus-cpp registry.
// Every configured probe's series exist (at 0) from the moment it is configured,
// and disappear when a reload removes the probe.
//
// Thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/types.hpp"
#include "probes/result.hpp"

namespace datawatch {

class Metrics {
 public:
  explicit Metrics(const std::string& version);

  // Makes the series of exactly these probes exist: new ones at 0, removed ones dropped.
  void setProbes(const std::vector<config::ProbeConfig>& probes);
  // Records one finished run. Unknown probes are ignored.
  void observe(const ProbeResult& r);
  void addMissedRuns(const std::string& probe, uint64_t n);
  void stateStoreError();
  void setReload(bool success, TimePoint when);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct ProbeSeries {
    prometheus::Labels labels;
    prometheus::Gauge* success;
    prometheus::Gauge* error;
    prometheus::Counter* runs;
    prometheus::Counter* failures;
    prometheus::Counter* errors;
    prometheus::Counter* missed;
    prometheus::Gauge* duration;
    prometheus::Gauge* last_run;
    prometheus::Gauge* value = nullptr;   // the type's main gauge
    prometheus::Gauge* value2 = nullptr;  // freshness newest timestamp, lag seconds
    prometheus::Family<prometheus::Gauge>* value_family = nullptr;
    prometheus::Family<prometheus::Gauge>* value2_family = nullptr;
  };
  void removeSeries(ProbeSeries& s);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& error_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Counter>& missed_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Gauge>& freshness_age_;
  prometheus::Family<prometheus::Gauge>& freshness_newest_;
  prometheus::Family<prometheus::Gauge>& volume_rows_;
  prometheus::Family<prometheus::Gauge>& drift_score_;
  prometheus::Family<prometheus::Gauge>& schema_changes_;
  prometheus::Family<prometheus::Gauge>& values_violations_;
  prometheus::Family<prometheus::Gauge>& sql_value_;
  prometheus::Family<prometheus::Gauge>& lag_messages_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  prometheus::Counter& store_errors_;

  mutable std::mutex mu_;
  std::map<std::string, ProbeSeries> probes_;  // guarded by mu_
};

}  // namespace datawatch
