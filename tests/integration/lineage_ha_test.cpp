// OpenLineage with two replicas on one PostgreSQL state store: an event
// received by one replica reaches the other's graph and its job probe, and is
// stored once however many replicas receive it (docs/lineage.md).

#include <httplib.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/time_format.hpp"
#include "tests/integration/fleet_support.hpp"
#include "tests/support/ha_replicas.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kHaBinary = DATAWATCH_BINARY;

json haRunEvent(const std::string& type, const std::string& run_id, TimePoint at) {
  return {{"eventType", type},
          {"eventTime", formatRfc3339Millis(at)},
          {"run", {{"runId", run_id}}},
          {"job", {{"namespace", "spark"}, {"name", "etl.rollup"}}},
          {"producer", "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"},
          {"schemaURL", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
          {"outputs", json::array({{{"namespace", "s3://lake"}, {"name", "rollup/daily"}}})}};
}

int postTo(Replica& r, const json& body) {
  httplib::Client http("127.0.0.1", r.port());
  http.set_read_timeout(10, 0);
  auto res = http.Post("/api/v1/lineage", body.dump(), "application/json");
  return res ? res->status : -1;
}

}  // namespace

TEST_CASE("HA: an OpenLineage event received by one replica reaches the other's job probe",
          "[integration][ha][lineage]") {
  FleetDb db;
  TempDir dir;
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: "${STATE_URL}"
  replica_id: "${REPLICA}"
  leader_lease: 3s
probes:
  - {name: rollup_job, type: job, job: "spark/etl.rollup", max_age: 1h, every: 1s}
)");
  const std::map<std::string, std::string> env{{"STATE_URL", db.dsn()}};
  Replica a(kHaBinary, "ra", dir / "datawatch.yaml", dir.path(), env);
  Replica b(kHaBinary, "rb", dir / "datawatch.yaml", dir.path(), env);
  REQUIRE(a.waitListening(20s));
  REQUIRE(b.waitListening(20s));

  const auto now = std::chrono::system_clock::now();
  const json run =
      json::array({haRunEvent("START", "11111111-2222-3333-4444-555555555555", now - 3min),
                   haRunEvent("COMPLETE", "11111111-2222-3333-4444-555555555555", now - 1min)});
  REQUIRE(postTo(a, run) == 201);
  // A producer retrying against the other replica: stored once.
  REQUIRE(postTo(b, run) == 201);
  CHECK(pgRows(db.dsn(), "SELECT count(*) FROM lineage_events") == std::vector<std::string>{"2"});

  // b's graph and probe follow a's events (whichever replica runs the probe).
  auto rollupPasses = [](Replica& r) {
    const json status = r.status();
    for (const auto& p : status["probes"])
      if (p["name"] == "rollup_job" && p["last"].is_object()) return p["last"]["status"] == "pass";
    return false;
  };
  CHECK(eventually([&] { return rollupPasses(a) && rollupPasses(b); }, 20s));
  CHECK(eventually(
      [&] {
        auto body = b.get("/api/v1/lineage");
        if (!body) return false;
        const auto g = json::parse(*body);
        return g["jobs"].size() == 1 && g["jobs"][0]["last_run"]["state"] == "COMPLETE" &&
               g["datasets"].size() == 1;
      },
      10s));
  // Each event counted once, by the replica that stored it.
  const double stored =
      a.metric("datawatch_lineage_events_total{event_type=\"COMPLETE\"}").value_or(-1) +
      b.metric("datawatch_lineage_events_total{event_type=\"COMPLETE\"}").value_or(-1);
  CHECK(stored == 1);
}
