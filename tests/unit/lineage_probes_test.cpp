// Job probes and dataset freshness/volume (probes/lineage_probes.hpp) on a
// simulated clock: the events are applied to a real LineageGraph and the probe
// is judged at chosen instants.

#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "lineage/graph.hpp"
#include "probes/lineage_probes.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const TimePoint kT0 = *parseTimestamp("2026-11-30T01:00:00Z");
const std::string kJob = "airflow/orders_dag.load_orders";
const std::string kOut = "postgres://db:5432/shop.public.orders";

// One event of `kJob`, writing kOut (with `rows` as its outputStatistics).
lineage::RunEvent event(const std::string& type, const std::string& run, TimePoint at,
                        std::optional<int64_t> rows = std::nullopt, const std::string& error = "") {
  json e = {{"eventType", type},
            {"eventTime", formatRfc3339Millis(at)},
            {"run", {{"runId", run}}},
            {"job", {{"namespace", "airflow"}, {"name", "orders_dag.load_orders"}}},
            {"producer", "https://github.com/apache/airflow"},
            {"schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
            {"outputs",
             json::array({{{"namespace", "postgres://db:5432"}, {"name", "shop.public.orders"}}})}};
  if (rows) e["outputs"][0]["outputFacets"] = {{"outputStatistics", {{"rowCount", *rows}}}};
  if (!error.empty()) e["run"]["facets"] = {{"errorMessage", {{"message", error}}}};
  auto parsed = lineage::parseRunEvent(e);
  REQUIRE(parsed);
  return *parsed;
}

struct Rig {
  explicit Rig(const std::string& probe_yaml)
      : cfg(loadTestConfig("probes:\n  - " + probe_yaml + "\n", "lineage.yaml")),
        probe(makeLineageProbe(cfg->probes.at(0), graph)) {}
  ProbeResult at(TimePoint now, const ProbeResult* previous = nullptr) {
    RunContext ctx;
    ctx.now = now;
    ctx.previous = previous;
    return probe->run(ctx);
  }
  lineage::LineageGraph graph;
  std::shared_ptr<config::Config> cfg;
  std::unique_ptr<Probe> probe;
};

}  // namespace

TEST_CASE("job probe: a COMPLETE within max_age passes, its age is the value", "[lineage]") {
  Rig rig("{name: j, type: job, job: \"" + kJob + "\", max_age: 1d}");
  auto none = rig.at(kT0);
  CHECK(none.status == ProbeStatus::Fail);
  CHECK_FALSE(none.value);
  CHECK(none.message == "no COMPLETE run of " + kJob + " seen yet");

  rig.graph.apply(event("START", "r1", kT0));
  rig.graph.apply(event("COMPLETE", "r1", kT0 + 10min));
  auto ok = rig.at(kT0 + 1h);
  CHECK(ok.status == ProbeStatus::Pass);
  CHECK(ok.value == Approx(3000));
  CHECK(ok.message == "last run COMPLETE at 2026-11-30T01:10:00Z (50m ago)");
  CHECK(ok.details["last_run"]["run_id"] == "r1");
  CHECK(ok.threshold["max"] == 86400.0);

  auto stale = rig.at(kT0 + 10min + 24h + 1s);
  CHECK(stale.status == ProbeStatus::Fail);
  CHECK(stale.message == "no COMPLETE since 2026-11-30T01:10:00Z (1d ago) > 1d");
}

TEST_CASE("job probe: the newest run FAILED fails with its error message, a rerun recovers",
          "[lineage]") {
  Rig rig("{name: j, type: job, job: \"" + kJob + "\", max_age: 1d}");
  rig.graph.apply(event("COMPLETE", "r1", kT0));
  // Out of order: the FAIL arrives before its START.
  rig.graph.apply(
      event("FAIL", "r2", kT0 + 1h + 5min, std::nullopt, "relation \"raw.orders\" does not exist"));
  rig.graph.apply(event("START", "r2", kT0 + 1h));
  auto failed = rig.at(kT0 + 2h);
  CHECK(failed.status == ProbeStatus::Fail);
  CHECK(failed.message ==
        "last run FAILED at 2026-11-30T02:05:00Z (runId r2): relation \"raw.orders\" does not "
        "exist");
  CHECK(failed.value == Approx(7200));  // the last COMPLETE is still an age
  rig.graph.apply(event("START", "r3", kT0 + 3h));
  rig.graph.apply(event("COMPLETE", "r3", kT0 + 3h + 1min));
  CHECK(rig.at(kT0 + 4h).status == ProbeStatus::Pass);
}

TEST_CASE("job probe: a run past max_duration fails while it runs", "[lineage]") {
  Rig rig("{name: j, type: job, job: \"" + kJob + "\", max_duration: 2h}");
  auto nothing = rig.at(kT0);
  CHECK(nothing.status == ProbeStatus::Pass);  // nothing required without max_age or schedule
  rig.graph.apply(event("START", "r1", kT0));
  CHECK(rig.at(kT0 + 2h).status == ProbeStatus::Pass);
  auto slow = rig.at(kT0 + 3h);
  CHECK(slow.status == ProbeStatus::Fail);
  CHECK(slow.message == "running for 3h > 2h (runId r1, started 2026-11-30T01:00:00Z)");
  CHECK(slow.threshold["max_duration"] == 7200.0);
}

TEST_CASE("job probe: schedule and grace expect a COMPLETE after each scheduled run", "[lineage]") {
  Rig rig("{name: j, type: job, job: \"" + kJob + "\", schedule: \"0 2 * * *\", grace: 1h}");
  rig.graph.apply(event("COMPLETE", "r1", kT0));                // 01:00, before the 02:00 run
  CHECK(rig.at(kT0 + 1h + 59min).status == ProbeStatus::Pass);  // 02:59: within grace
  auto late = rig.at(kT0 + 2h + 30min);                         // 03:30
  CHECK(late.status == ProbeStatus::Fail);
  CHECK(late.message.find(
            "no COMPLETE since the run scheduled at 2026-11-30T02:00:00Z (grace 1h)") == 0);
  CHECK(late.threshold["expected_after"] == "2026-11-30T02:00:00Z");
  rig.graph.apply(event("COMPLETE", "r2", kT0 + 2h + 40min));
  CHECK(rig.at(kT0 + 2h + 45min).status == ProbeStatus::Pass);
}

TEST_CASE("dataset freshness: the age of the last COMPLETE write", "[lineage]") {
  Rig rig("{name: d, type: freshness, dataset: \"" + kOut + "\", max_age: 1h}");
  auto never = rig.at(kT0);
  CHECK(never.status == ProbeStatus::Fail);
  CHECK(never.message == "no COMPLETE run has written " + kOut + " yet");
  rig.graph.apply(event("START", "r1", kT0));
  CHECK(rig.at(kT0 + 1min).status == ProbeStatus::Fail);  // started, not written
  rig.graph.apply(event("COMPLETE", "r1", kT0 + 10min));
  auto fresh = rig.at(kT0 + 40min);
  CHECK(fresh.status == ProbeStatus::Pass);
  CHECK(fresh.value == Approx(1800));
  CHECK(fresh.details["written_by"] == kJob);
  CHECK(fresh.details["run_id"] == "r1");
  auto old = rig.at(kT0 + 2h);
  CHECK(old.status == ProbeStatus::Fail);
  CHECK(old.message == "written 1h50m > 1h");
  // A FAILed run does not write.
  rig.graph.apply(event("FAIL", "r2", kT0 + 3h));
  CHECK(rig.at(kT0 + 3h).value == Approx(3 * 3600 - 600));
}

TEST_CASE("lineage probes report an error while the stored events are not loaded", "[lineage]") {
  Rig rig("{name: j, type: job, job: \"" + kJob + "\", max_age: 1d}");
  rig.graph.setComplete(false);
  auto r = rig.at(kT0);
  CHECK(r.status == ProbeStatus::Error);
  CHECK(r.message.find("could not be read yet") != std::string::npos);
}

TEST_CASE("dataset volume: outputStatistics.rowCount judged like table volume", "[lineage]") {
  Rig rig("{name: v, type: volume, dataset: \"" + kOut + "\", min: 1000, max_change: 0.5}");
  CHECK(rig.at(kT0).status == ProbeStatus::Error);
  rig.graph.apply(event("COMPLETE", "r1", kT0));
  auto no_count = rig.at(kT0 + 1min);
  CHECK(no_count.status == ProbeStatus::Error);
  CHECK(no_count.message.find("sent no outputStatistics.rowCount") != std::string::npos);
  rig.graph.apply(event("COMPLETE", "r2", kT0 + 1h, 4000));
  auto first = rig.at(kT0 + 1h);
  CHECK(first.status == ProbeStatus::Pass);
  CHECK(first.value == 4000);
  rig.graph.apply(event("COMPLETE", "r3", kT0 + 2h, 1500));
  auto dropped = rig.at(kT0 + 2h, &first);
  CHECK(dropped.status == ProbeStatus::Fail);  // -62.5% > max_change 50%
  CHECK(dropped.value == 1500);
  // The next run sees the same write: still compared with the write before.
  auto again = rig.at(kT0 + 2h + 1min, &dropped);
  CHECK(again.status == ProbeStatus::Fail);
  CHECK(again.details["previous"] == 4000.0);
  rig.graph.apply(event("COMPLETE", "r4", kT0 + 3h, 900));
  auto low = rig.at(kT0 + 3h);
  CHECK(low.status == ProbeStatus::Fail);
  CHECK(low.details["run_id"] == "r4");
}
