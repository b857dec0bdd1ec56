// Config errors about a reference point at the name that is wrong (the value),
// not at the item that holds it: editors and GitHub annotations land there.
// Issue 15, defect 15. The binary's side is tests/integration/validate_test.cpp.

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::config;

namespace {

// Line numbers are in the comments: every reference below is wrong once.
const char* kRefs =
    "agent:\n"                                        // 1
    "  default_notify: [ops, pagr]\n"                 // 2
    "sources:\n"                                      // 3
    "  db: {type: sqlite, path: ./w.db}\n"            // 4
    "  events: {type: kafka, brokers: \"k:9092\"}\n"  // 5
    "notifiers:\n"                                    // 6
    "  ops: {type: file, path: ./alerts.jsonl}\n"     // 7
    "probes:\n"                                       // 8
    "  - name: raw\n"                                 // 9
    "    type: volume\n"                              // 10
    "    source: db\n"                                // 11
    "    table: raw\n"                                // 12
    "    min: 1\n"                                    // 13
    "\n"                                              // 14
    "  - name: orders\n"                              // 15
    "    type: freshness\n"                           // 16
    "    source: dbb\n"                               // 17
    "    table: shop.orders\n"                        // 18
    "    column: updated_at\n"                        // 19
    "    schedule: \"0 25 * * *\"\n"                  // 20
    "    upstream:\n"                                 // 21
    "      - raw\n"                                   // 22
    "      - raww\n"                                  // 23
    "    alert:\n"                                    // 24
    "      notify:\n"                                 // 25
    "        - ops\n"                                 // 26
    "        - opz\n"                                 // 27
    "  - name: lag\n"                                 // 28
    "    type: consumer_lag\n"                        // 29
    "    source: db\n"                                // 30
    "    topic: t\n"                                  // 31
    "    group: g\n"                                  // 32
    "    max_lag_messages: 5\n"                       // 33
    "slos:\n"                                         // 34
    "  - name: s\n"                                   // 35
    "    objective: 99\n"                             // 36
    "    probes:\n"                                   // 37
    "      - orders\n"                                // 38
    "      - order\n"                                 // 39
    "    alerting:\n"                                 // 40
    "      page: {notify: [ops, pagr]}\n"             // 41
    "      ticket:\n"                                 // 42
    "        notify: oncal\n"                         // 43
    "silences:\n"                                     // 44
    "  - match: {probe: ordrs}\n"                     // 45
    "    until: \"2026-12-01T00:00:00Z\"\n"           // 46
    "environments:\n"                                 // 47
    "  staging:\n"                                    // 48
    "    probes:\n"                                   // 49
    "      raw:\n"                                    // 50
    "        source: evnts\n"                         // 51
    "    notifiers:\n"                                // 52
    "      opss: {path: ./x.jsonl}\n";                // 53

const char* kFile = "/etc/datawatch/refs.yaml";

LoadResult loadRefs(const std::string& env = "") {
  return loadConfigFromString(kRefs, kFile, env, datawatch::testing::envFrom({}));
}

std::vector<std::string> texts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.str());
  return out;
}

std::vector<std::string> annotations(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.github());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

}  // namespace

TEST_CASE("each bad reference is reported at the name that is wrong", "[config][references]") {
  auto r = loadRefs();
  REQUIRE_FALSE(r.ok());
  const std::vector<std::string> expected{
      "/etc/datawatch/refs.yaml:2:25: agent.default_notify notifies \"pagr\", which is not a "
      "defined notifier",
      "/etc/datawatch/refs.yaml:17:13: probe \"orders\": source \"dbb\" is not defined (did you "
      "mean \"db\"?)",
      "/etc/datawatch/refs.yaml:20:15: probe \"orders\": schedule: invalid cron expression \"0 25 "
      "* * *\": hour \"25\" out of range 0-23",
      "/etc/datawatch/refs.yaml:23:9: probe \"orders\": upstream probe \"raww\" is not defined "
      "(did you mean \"raw\"?)",
      "/etc/datawatch/refs.yaml:27:11: probe \"orders\" notifies \"opz\", which is not a defined "
      "notifier (did you mean \"ops\"?)",
      "/etc/datawatch/refs.yaml:30:13: probe \"lag\": topic needs a kafka source; source \"db\" "
      "is sqlite",
      "/etc/datawatch/refs.yaml:39:9: slo \"s\": probe \"order\" is not defined (did you mean "
      "\"orders\"?)",
      "/etc/datawatch/refs.yaml:41:28: slo \"s\" notifies \"pagr\", which is not a defined "
      "notifier",
      "/etc/datawatch/refs.yaml:43:17: slo \"s\" notifies \"oncal\", which is not a defined "
      "notifier",
      "/etc/datawatch/refs.yaml:45:20: warning: silence matches probe \"ordrs\", which is not "
      "defined, so it silences nothing (did you mean \"orders\"?)",
  };
  CHECK(joined(texts(r)) == joined(expected));
}

TEST_CASE("GitHub annotations of bad references carry the name's line and column",
          "[config][references]") {
  auto r = loadRefs();
  REQUIRE_FALSE(r.ok());
  const auto a = annotations(r);
  REQUIRE(a.size() == 10);
  CHECK(a[1] ==
        "::error file=/etc/datawatch/refs.yaml,line=17,col=13::probe \"orders\": source \"dbb\" "
        "is not defined (did you mean \"db\"?)");
  CHECK(a[2] ==
        "::error file=/etc/datawatch/refs.yaml,line=20,col=15::probe \"orders\": schedule: invalid "
        "cron expression \"0 25 * * *\": hour \"25\" out of range 0-23");
  CHECK(a[9].rfind("::warning file=/etc/datawatch/refs.yaml,line=45,col=20::silence matches", 0) ==
        0);
}

TEST_CASE("references an environment overlay brings in are reported at the overlay",
          "[config][references][env]") {
  auto r = loadRefs("staging");
  REQUIRE_FALSE(r.ok());
  const auto t = joined(texts(r));
  // The overridden `source:` (line 51), not the probe (line 9) nor 1:1.
  CHECK_THAT(t, Catch::Contains("/etc/datawatch/refs.yaml:51:17: probe \"raw\": source \"evnts\" "
                                "is not defined (did you mean \"events\"?)"));
  CHECK_THAT(t, Catch::Contains("/etc/datawatch/refs.yaml:53:7: environment \"staging\" overrides "
                                "notifier \"opss\", which is not defined"));
  // What the overlay did not touch keeps its own position.
  CHECK_THAT(t,
             Catch::Contains("/etc/datawatch/refs.yaml:17:13: probe \"orders\": source \"dbb\""));
}

TEST_CASE("an overlay in another file is reported in that file", "[config][references][env]") {
  datawatch::testing::TempDir dir;
  datawatch::testing::writeFile(dir / "base.yaml",
                                "sources:\n"
                                "  db: {type: sqlite, path: ./w.db}\n"
                                "probes:\n"
                                "  - name: p\n"
                                "    type: volume\n"
                                "    source: db\n"
                                "    table: t\n"
                                "    min: 1\n"
                                "    alert: {notify: [ops]}\n");
  datawatch::testing::writeFile(dir / "env.yaml",
                                "notifiers:\n"
                                "  ops: {type: file, path: ./a.jsonl}\n"
                                "environments:\n"
                                "  staging:\n"
                                "    probes:\n"
                                "      p:\n"
                                "        source: dbz\n"
                                "        alert: {notify: [opx]}\n"
                                "        mni: 3\n");
  LoadOptions lo;
  lo.paths = {(dir / "base.yaml").string(), (dir / "env.yaml").string()};
  lo.env = datawatch::testing::envFrom({});
  REQUIRE(loadConfig(lo).ok());
  lo.environment = "staging";
  auto r = loadConfig(lo);
  REQUIRE_FALSE(r.ok());
  const std::string env = (dir / "env.yaml").string();
  CHECK(joined(texts(r)) ==
        env + ":7:17: probe \"p\": source \"dbz\" is not defined (did you mean \"db\"?)\n" + env +
            ":8:26: probe \"p\" notifies \"opx\", which is not a defined notifier (did you mean "
            "\"ops\"?)\n" +
            env + ":9:9: unknown key \"mni\" in probe \"p\" (did you mean \"min\"?)\n");
}

TEST_CASE("an overlay keeps the probe's own position and its key order",
          "[config][references][env]") {
  auto r = loadConfigFromString(
      "sources:\n  db: {type: sqlite, path: ./w.db}\n"
      "probes:\n"
      "  - name: p\n"
      "    type: schema\n"
      "    source: db\n"
      "    table: t\n"
      "    columns: {id: bigint, amount: numeric, status: text}\n"
      "environments:\n"
      "  e: {probes: {p: {columns: {amount: text}, every: 0s}}}\n",
      kFile, "e", datawatch::testing::envFrom({}));
  REQUIRE_FALSE(r.ok());
  CHECK(joined(texts(r)) == "/etc/datawatch/refs.yaml:10:52: every must be at least 1s, got 0s\n");
  auto ok = loadConfigFromString(
      "sources:\n  db: {type: sqlite, path: ./w.db}\n"
      "probes:\n"
      "  - {name: p, type: schema, source: db, table: t,\n"
      "     columns: {id: bigint, amount: numeric, status: text}}\n"
      "environments:\n"
      "  e: {probes: {p: {columns: {amount: text}}}}\n",
      kFile, "e", datawatch::testing::envFrom({}));
  REQUIRE(ok.ok());
  const auto& cols = std::get<SchemaSpec>(ok.config->probes[0].spec).columns;
  REQUIRE(cols.size() == 3);
  CHECK(cols[0] == std::make_pair(std::string("id"), std::string("bigint")));
  CHECK(cols[1] == std::make_pair(std::string("amount"), std::string("text")));
  CHECK(cols[2] == std::make_pair(std::string("status"), std::string("text")));
}
