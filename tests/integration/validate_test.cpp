// `datawatch validate` through the binary: a config error about a reference is
// reported at the offending value, in text (FILE:LINE:COL) and as a GitHub
// annotation (::error file=…,line=…,col=…::), so editors and pull requests
// land on the right line. Issue 15, defect 15.

#include <catch2/catch.hpp>

#include "tests/support/test_support.hpp"

using namespace datawatch::testing;

namespace {

const std::string kBinary = DATAWATCH_BINARY;

// One wrong reference of each kind; the line of each is in the comment.
const char* kConfig =
    "agent:\n"
    "  default_notify: [ops, pagr]\n"  // 2: agent.default_notify
    "sources:\n"
    "  db: {type: sqlite, path: ./w.db}\n"
    "notifiers:\n"
    "  ops: {type: file, path: ./alerts.jsonl}\n"
    "probes:\n"
    "  - name: raw\n"
    "    type: volume\n"
    "    source: db\n"
    "    table: raw\n"
    "    min: 1\n"
    "  - name: orders\n"  // 13: where the errors used to point
    "    type: freshness\n"
    "    source: dbb\n"  // 15: source
    "    table: shop.orders\n"
    "    column: updated_at\n"
    "    schedule: \"0 25 * * *\"\n"  // 18: cron
    "    upstream: [raw, raww]\n"     // 19: upstream
    "    alert:\n"
    "      notify:\n"
    "        - opz\n"  // 22: probe notify
    "slos:\n"
    "  - name: s\n"
    "    objective: 99\n"
    "    probes: [orders, order]\n"  // 26: slo probes
    "    alerting:\n"
    "      page: {notify: [pagr]}\n"  // 28: slo notify
    "silences:\n"
    "  - {match: {slo: ss}, until: \"2026-12-01T00:00:00Z\"}\n"  // 30: silence (warning)
    "environments:\n"
    "  staging:\n"
    "    probes:\n"
    "      raw: {source: dbz}\n"  // 34: overlay source
    "    notifiers:\n"
    "      opss: {path: ./x.jsonl}\n";  // 36: overlay of nothing

struct Expected {
  int line;
  int col;
  const char* message;
};

const Expected kExpected[] = {
    {2, 25, "agent.default_notify notifies \"pagr\", which is not a defined notifier"},
    {15, 13, "probe \"orders\": source \"dbb\" is not defined (did you mean \"db\"?)"},
    {18, 15,
     "probe \"orders\": schedule: invalid cron expression \"0 25 * * *\": hour \"25\" out of "
     "range 0-23"},
    {19, 21, "probe \"orders\": upstream probe \"raww\" is not defined (did you mean \"raw\"?)"},
    {22, 11,
     "probe \"orders\" notifies \"opz\", which is not a defined notifier (did you mean \"ops\"?)"},
    {26, 22, "slo \"s\": probe \"order\" is not defined (did you mean \"orders\"?)"},
    {28, 23, "slo \"s\" notifies \"pagr\", which is not a defined notifier"},
};

}  // namespace

TEST_CASE("datawatch validate reports each bad reference at its value in text and for GitHub",
          "[integration][validate]") {
  TempDir dir;
  const std::string file = (dir / "refs.yaml").string();
  writeFile(file, kConfig);

  auto text = runCommand({kBinary, "validate", "-c", file});
  CHECK(text.exit_code == 2);
  auto gh = runCommand({kBinary, "validate", "-c", file, "--format", "github"});
  CHECK(gh.exit_code == 2);
  for (const auto& e : kExpected) {
    const std::string pos = std::to_string(e.line) + ":" + std::to_string(e.col);
    INFO(pos << " " << e.message);
    CHECK(text.err.find(file + ":" + pos + ": " + e.message + "\n") != std::string::npos);
    CHECK(gh.out.find("::error file=" + file + ",line=" + std::to_string(e.line) + ",col=" +
                      std::to_string(e.col) + "::" + e.message + "\n") != std::string::npos);
  }
  CHECK(text.err.find(file + ":30:19: warning: silence matches slo \"ss\", which is not defined, "
                             "so it silences nothing (did you mean \"s\"?)") != std::string::npos);
  CHECK(gh.out.find("::warning file=" + file + ",line=30,col=19::silence matches slo \"ss\"") !=
        std::string::npos);
  // Nothing is reported at the probe's first line any more.
  CHECK(text.err.find(file + ":13:") == std::string::npos);

  auto env =
      runCommand({kBinary, "validate", "-c", file, "--env", "staging", "--format", "github"});
  CHECK(env.exit_code == 2);
  CHECK(env.out.find("::error file=" + file +
                     ",line=34,col=21::probe \"raw\": source \"dbz\" is not defined (did you mean "
                     "\"db\"?)\n") != std::string::npos);
  CHECK(
      env.out.find("::error file=" + file +
                   ",line=36,col=7::environment \"staging\" overrides notifier \"opss\", which is "
                   "not defined\n") != std::string::npos);
}

namespace {

// Issue 21: probes fed by OpenLineage events, and no source at all.
const char* kLineageConfig =
    "agent: {lineage_token: \"${OL_TOKEN}\"}\n"
    "probes:\n"
    "  - {name: nightly_orders, type: job, job: \"airflow/orders_dag.load_orders\", max_age: 1d}\n"
    "  - {name: hourly_job, type: job, job: \"spark/etl.hourly\", schedule: \"0 * * * *\",\n"
    "     grace: 30m, timezone: Europe/Paris, max_duration: 2h}\n"
    "  - {name: orders_ds_fresh, type: freshness, dataset: "
    "\"postgres://db:5432/shop.public.orders\",\n"
    "     max_age: 1h, upstream: [nightly_orders]}\n"
    "  - {name: orders_ds_rows, type: volume, dataset: \"postgres://db:5432/shop.public.orders\",\n"
    "     min: 1000}\n"
    "slos:\n"
    "  - {name: orders, objective: 99, probes: [nightly_orders, orders_ds_fresh]}\n";

// The same mistakes a user makes first: a source on a job probe, a dataset
// without its namespace.
const char* kLineageBroken =
    "probes:\n"
    "  - name: nightly_orders\n"
    "    type: job\n"
    "    source: warehouse\n"  // 4
    "    job: airflow/orders_dag.load_orders\n"
    "    max_age: 1d\n"
    "  - name: orders_ds_rows\n"
    "    type: volume\n"
    "    dataset: shop.public.orders\n"  // 9
    "    min: 1000\n";

}  // namespace

TEST_CASE("datawatch validate accepts job and dataset probes with no source defined",
          "[integration][validate][lineage]") {
  TempDir dir;
  const std::string file = (dir / "lineage.yaml").string();
  writeFile(file, kLineageConfig);
  auto ok = runCommand({kBinary, "validate", "-c", file}, {{"OL_TOKEN", "ol-token-123456"}});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("config OK: 0 sources, 4 probes, 1 SLOs, 0 notifiers") != std::string::npos);
  CHECK(ok.err.find("error") == std::string::npos);
  CHECK(ok.err.find("ol-token-123456") == std::string::npos);

  const std::string bad = (dir / "broken.yaml").string();
  writeFile(bad, kLineageBroken);
  auto gh = runCommand({kBinary, "validate", "-c", bad, "--format", "github"});
  CHECK(gh.exit_code == 2);
  CHECK(gh.out.find("::error file=" + bad +
                    ",line=4,col=13::probe \"nightly_orders\": job probes are fed by OpenLineage "
                    "events: remove source\n") != std::string::npos);
  CHECK(gh.out.find("::error file=" + bad +
                    ",line=9,col=14::probe \"orders_ds_rows\": dataset \"shop.public.orders\" "
                    "must be \"namespace/name\"") != std::string::npos);
  CHECK(gh.out.find("is not defined") == std::string::npos);  // no source is looked up
}
