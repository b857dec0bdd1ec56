// ODCS contracts watched as probes (config/contracts_section.cpp,
// config/odcs_expand.cpp) against the real PostgreSQL: the fixture contract
// tests/fixtures/contracts/orders-violations.odcs.yaml over tables with
// violations planted, every expanded probe's exact verdict and value (worked
// out by hand from the rows below); validate's diagnostics at the contract's
// lines; `import odcs` written, re-loaded and equal to the expansion; errors.

#include <catch2/catch.hpp>

#include <unistd.h>
#include <random>
#include <sstream>

#include "agent/fleet_member.hpp"
#include "config/odcs_expand.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const TimePoint kNow = *parseTimestamp("2026-11-26T10:00:00Z");
const std::string kFixture =
    std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/contracts/orders-violations.odcs.yaml";

std::string ts(std::chrono::minutes ago) {
  return "'" + formatRfc3339(kNow - ago) + "'";
}

// A fresh schema with the contract's tables, removed on destruction.
//
// orders (10 rows; loaded_at 2 h before now on every row):
//   id  tenant status   email     amount country created_at
//   1   acme   open     a@x.io    10     US      now-30m
//   2   acme   open     ''        20     FR      now-40m
//   3   acme   shipped  N/A       30     US      now-50m
//   4   beta   shipped  NULL      40     usa     now-60m
//   5   beta   lost     e@x.io    50     DE      now-70m
//   6   beta   open     e@x.io    0      US      now-80m
//   7   beta   NULL     g@x.io    70     FR      now-90m
//   8   gamma  open     h@x.io    80     US      now-100m
//   8   gamma  open     i@x.io    90     US      now-110m
//   10  gamma  open     j@x.io    5000   US      now-40d
// status is nullable although the contract says required (a schema change);
// line_items has no price column and the key (2, 1) twice.
struct Warehouse {
  Warehouse() : dsn(testPgDsn()) {
    std::random_device rd;
    schema = "dw_ct" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
    const std::string s = schema + ".";
    std::string rows;
    const char* const cols[] = {"(1, 'acme', 'open', 'a@x.io', 10, 'US', ",
                                "(2, 'acme', 'open', '', 20, 'FR', ",
                                "(3, 'acme', 'shipped', 'N/A', 30, 'US', ",
                                "(4, 'beta', 'shipped', NULL, 40, 'usa', ",
                                "(5, 'beta', 'lost', 'e@x.io', 50, 'DE', ",
                                "(6, 'beta', 'open', 'e@x.io', 0, 'US', ",
                                "(7, 'beta', NULL, 'g@x.io', 70, 'FR', ",
                                "(8, 'gamma', 'open', 'h@x.io', 80, 'US', ",
                                "(8, 'gamma', 'open', 'i@x.io', 90, 'US', ",
                                "(10, 'gamma', 'open', 'j@x.io', 5000, 'US', "};
    for (int i = 0; i < 10; ++i) {
      const auto created =
          i == 9 ? std::chrono::minutes(40 * 24 * 60) : std::chrono::minutes(30 + 10 * i);
      rows += std::string(i ? ", " : "") + cols[i] + ts(created) + ", " +
              ts(std::chrono::minutes(120)) + ", 'n')";
    }
    pgExec(dsn, "CREATE SCHEMA " + schema + "; CREATE TABLE " + s +
                    "orders (order_id integer NOT NULL, tenant text NOT NULL, status text, email "
                    "text, amount integer, country text, created_at timestamptz, loaded_at "
                    "timestamptz, note text); INSERT INTO " +
                    s + "orders VALUES " + rows + "; CREATE TABLE " + s +
                    "line_items (order_id integer, line_no integer, qty integer); INSERT INTO " +
                    s + "line_items VALUES (1, 1, 2), (1, 2, 1), (2, 1, 3), (2, 1, 1)");
  }
  ~Warehouse() {
    try {
      pgExec(dsn, "DROP SCHEMA " + schema + " CASCADE");
    } catch (const std::exception&) {
      // best effort
    }
  }
  Warehouse(const Warehouse&) = delete;
  Warehouse& operator=(const Warehouse&) = delete;

  // The fixture contract with this schema, written into `dir`.
  std::filesystem::path writeContract(const TempDir& dir) const {
    std::string text = readFile(kFixture);
    for (size_t at = text.find("__SCHEMA__"); at != std::string::npos;
         at = text.find("__SCHEMA__", at))
      text.replace(at, 10, schema);
    const auto path = dir / "orders.odcs.yaml";
    writeFile(path, text);
    return path;
  }
  std::string sourceYaml() const {
    return "sources:\n  warehouse: {type: postgres, dsn: \"" + dsn + "\"}\n";
  }

  std::string dsn;
  std::string schema;
};

size_t indexOf(const config::Config& c, const std::string& name) {
  for (size_t i = 0; i < c.probes.size(); ++i)
    if (c.probes[i].name == name) return i;
  FAIL("no probe " << name);
  return 0;
}

// Every field of a probe that the config spells, as one line (for comparing
// the expansion with its `import odcs` text re-loaded).
std::string describe(const config::ProbeConfig& p) {
  std::string d = p.name + " " + toString(p.type) + " " + p.source + " " + p.table + " " +
                  formatDuration(p.every) + " " + formatDuration(p.timeout) + " owner=" + p.owner +
                  " desc=" + p.description;
  if (p.alert)
    d += " alert=" + std::to_string(p.alert->after) + "/" + p.alert->severity + "/" +
         std::to_string(p.alert->notify.size());
  auto join = [](const std::vector<std::string>& v) {
    std::string o;
    for (const auto& x : v) o += x + ",";
    return o;
  };
  auto opt = [](const auto& v) { return v ? std::to_string(*v) : std::string("-"); };
  if (const auto* f = std::get_if<config::FreshnessSpec>(&p.spec))
    d += " col=" + f->column +
         " max_age=" + (f->max_age ? formatDuration(*f->max_age) : std::string("-")) +
         " sched=" + (f->schedule ? f->schedule->text() : "-") +
         " grace=" + formatDuration(f->grace) + " oldest=" + std::to_string(f->oldest);
  if (const auto* s = std::get_if<config::SchemaSpec>(&p.spec)) {
    for (const auto& [c, t] : s->columns) d += " " + c + ":" + t;
    for (const auto& [c, t] : s->logical_types) d += " lt:" + c + ":" + t;
    for (const auto& [c, r] : s->required) d += " req:" + c + ":" + std::to_string(r);
    d += " extra=" + std::to_string(s->allow_extra_columns);
  }
  if (const auto* v = std::get_if<config::ValuesSpec>(&p.spec)) {
    d += " col=" + v->column + " cols=" + join(v->columns) + " acc=" + join(v->accepted) +
         " miss=" + join(v->missing) + " pat=" + v->pattern.value_or("-") +
         " len=" + opt(v->min_length) + ".." + opt(v->max_length) + " range=" + opt(v->min) + ".." +
         opt(v->max) + " unique=" + std::to_string(v->unique);
    for (const auto& [m, b] : v->must) d += std::string(" must.") + toString(m) + "=" + b.str();
  }
  if (const auto* v = std::get_if<config::VolumeSpec>(&p.spec))
    d += " must=" + (v->must ? v->must->str() : "-");
  if (const auto* q = std::get_if<config::SqlSpec>(&p.spec))
    d += " query=" + q->query + " col=" + q->column + " must=" + (q->must ? q->must->str() : "-");
  return d;
}

}  // namespace

TEST_CASE("contracts: every rule of a contract runs as a probe with its exact verdict",
          "[contracts][postgres]") {
  Warehouse w;
  TempDir dir;
  w.writeContract(dir);
  auto cfg =
      loadTestConfig(w.sourceYaml() +
                         "contracts:\n  - {path: orders.odcs.yaml, source: warehouse, every: "
                         "10m, slo: {objective: 99.5, window: 28d}}\n",
                     (dir / "dw.yaml").string());
  REQUIRE(cfg->probes.size() == 26);
  REQUIRE(cfg->contracts.size() == 1);
  CHECK(cfg->contracts[0].id == "orders-contract-v1");
  CHECK(cfg->contracts[0].path == dir / "orders.odcs.yaml");
  for (const auto& p : cfg->probes) {
    CHECK(p.contract == "orders-contract-v1");
    CHECK(p.every == std::chrono::minutes(10));
    CHECK(p.owner == "team-orders");  // the contract's team: the entry names none
    CHECK(p.loc.file == (dir / "orders.odcs.yaml").string());
  }
  REQUIRE(cfg->slos.size() == 1);
  CHECK(cfg->slos[0].name == "orders_contract_v1");
  CHECK(cfg->slos[0].objective == 99.5);
  CHECK(cfg->slos[0].probes.size() == 26);

  struct Expect {
    std::string probe;
    ProbeStatus status;
    double value;
  };
  const std::string c = "orders_contract_v1__";
  const std::vector<Expect> expected = {
      // status declared required but nullable in the table: one change.
      {"orders__schema", ProbeStatus::Fail, 1},
      {"orders__order_id", ProbeStatus::Fail, 1},  // single key: id 8 twice
      {"orders__tenant", ProbeStatus::Pass, 0},    // lengths 4..5, no nulls
      {"orders__status", ProbeStatus::Fail, 2},    // 'lost' not in enum + a NULL (required)
      {"orders__amount", ProbeStatus::Fail, 2},    // exclusiveMinimum 0 -> min 1: 0; max: 5000
      {"orders__country", ProbeStatus::Fail, 1},   // 'usa' does not match ^[A-Z]{2}$
      {"orders__status__null_values", ProbeStatus::Pass, 0},        // 10% < 20%
      {"orders__email__missing_values", ProbeStatus::Fail, 3},      // NULL, '', 'N/A' > 2
      {"orders__email__email_dups", ProbeStatus::Fail, 1},          // e@x.io twice, must be 0
      {"orders__email__null_values", ProbeStatus::Pass, 0},         // 1 null != 0
      {"orders__amount__sql", ProbeStatus::Fail, 1},                // one amount > 100, must < 1
      {"orders__country__invalid_values", ProbeStatus::Pass, 0},    // 1 in [0, 1]
      {"orders__country__invalid_values_2", ProbeStatus::Fail, 1},  // 1 in [1, 5]
      {"orders__row_count", ProbeStatus::Pass, 10},                 // 10 > 5
      {"orders__row_count_2", ProbeStatus::Fail, 10},               // 10 < 11
      // (acme, open) and (gamma, open) x3: 3 duplicates = 30% <= 30%
      {"orders__duplicate_values", ProbeStatus::Pass, 0},
      {"orders__sql", ProbeStatus::Pass, 10},        // COUNT(*) = 10
      {"line_items__schema", ProbeStatus::Fail, 1},  // price missing
      {"line_items__order_id", ProbeStatus::Pass, 0},
      {"line_items__line_no", ProbeStatus::Pass, 0},
      {"line_items__qty", ProbeStatus::Pass, 0},
      {"line_items__primary_key", ProbeStatus::Fail, 1},       // (2, 1) twice
      {"orders__latency", ProbeStatus::Pass, 1800},            // newest created_at 30 min <= 1 h
      {"orders__freshness", ProbeStatus::Fail, 7200},          // newest loaded_at 2 h > 10 min
      {"orders__retention", ProbeStatus::Fail, 40 * 86400.0},  // oldest row 40 d > 30 d
      {"orders__frequency", ProbeStatus::Pass, 7200},          // loaded 08:00, after the 06:00 run
  };
  REQUIRE(expected.size() == cfg->probes.size());
  ProbeHarness h(cfg, kNow);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& e = expected[i];
    CHECK(cfg->probes[i].name == c + e.probe);  // the expansion's order
    const auto r = h.run(indexOf(*cfg, c + e.probe));
    INFO(e.probe << ": " << r.message);
    CHECK(r.status == e.status);
    REQUIRE(r.value);
    CHECK(*r.value == Approx(e.value));
  }
}

TEST_CASE("contracts: the expansion's details: severities, percent units, bounds and names",
          "[contracts]") {
  auto parsed = config::odcs::parseContractFile(kFixture);
  REQUIRE(parsed.ok());
  config::odcs::ExpandOptions o;
  o.source = "warehouse";
  o.owner = "team-billing";
  config::ProbeAlertConfig alert;
  alert.after = 2;
  alert.notify = {"oncall"};
  o.alert = alert;
  const auto ex = config::odcs::expandContract(*parsed.contract, o);
  CHECK(ex.name == "orders_contract_v1");
  auto probe = [&](const std::string& n) -> const config::ProbeConfig& {
    for (const auto& p : ex.probes)
      if (p.name == "orders_contract_v1__" + n) return p;
    FAIL("no probe " << n);
    return ex.probes.front();
  };
  // severity error -> critical, warning -> warning; none: the entry's alert as is.
  CHECK(probe("orders__email__missing_values").alert->severity == "critical");
  CHECK(probe("orders__email__missing_values").alert->after == 2);
  CHECK(probe("orders__email__missing_values").alert->notify == std::vector<std::string>{"oncall"});
  CHECK(probe("orders__status__null_values").alert->severity == "warning");
  CHECK(probe("orders__schema").alert->severity == "warning");  // ProbeAlertConfig's default
  CHECK(probe("orders__schema").owner == "team-billing");
  const auto& pct = std::get<config::ValuesSpec>(probe("orders__status__null_values").spec);
  CHECK(pct.must.at(config::ValuesMetric::Nulls).str() == "< 20%");
  const auto& key = std::get<config::ValuesSpec>(probe("orders__duplicate_values").spec);
  CHECK(key.columns == std::vector<std::string>{"tenant", "status"});
  CHECK(key.must.at(config::ValuesMetric::Duplicates).str() == "<= 30%");
  const auto& amount = std::get<config::ValuesSpec>(probe("orders__amount").spec);
  CHECK(amount.min == 1);  // integer: exclusiveMinimum 0 is min 1, exactly
  CHECK(amount.max == 1000);
  const auto& sql = std::get<config::SqlSpec>(probe("orders__amount__sql").spec);
  CHECK(sql.query == "SELECT COUNT(*) FROM {table} WHERE {column} > 100");
  CHECK(sql.column == "amount");
  const auto& freq = std::get<config::FreshnessSpec>(probe("orders__frequency").spec);
  CHECK(freq.schedule->text() == "0 6 * * *");
  CHECK(freq.grace == std::chrono::minutes(15));  // one check interval (every)
  CHECK_FALSE(freq.max_age);
  const auto& ret = std::get<config::FreshnessSpec>(probe("orders__retention").spec);
  CHECK(ret.oldest);
  CHECK(*ret.max_age == std::chrono::hours(30 * 24));
  const auto& pk = std::get<config::ValuesSpec>(probe("line_items__primary_key").spec);
  CHECK(pk.columns == std::vector<std::string>{"order_id", "line_no"});
  CHECK(pk.unique);
  REQUIRE(ex.skipped.size() == 4);
  CHECK(ex.skipped[0].loc.line == 57);
  CHECK(ex.skipped[2].what == "SLA property availability");
  CHECK(ex.skipped[3].reason == "no element (table.column) says which column to check");
  CHECK(ex.notes.empty());
}

TEST_CASE("contracts: validate points at the contract's lines", "[contracts]") {
  TempDir dir;
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture));
  writeFile(dir / "dw.yaml",
            "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n"
            "contracts:\n  - {path: orders.odcs.yaml, source: warehouse}\n");
  auto ok = runCommand({DATAWATCH_BINARY, "validate", "-c", (dir / "dw.yaml").string()});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "config OK: 1 sources, 26 probes, 0 SLOs, 0 notifiers\n");
  const std::string f = (dir / "orders.odcs.yaml").string();
  CHECK(ok.err ==
        f +
            ":57:10: warning: contract \"orders-contract-v1\": quality rule text on Orders is not "
            "watched: type text describes the rule for people; there is nothing to run\n" +
            f +
            ":58:10: warning: contract \"orders-contract-v1\": quality rule custom on Orders "
            "is not watched: type custom runs in its own engine (soda); datawatch does not "
            "run it\n" +
            f +
            ":76:6: warning: contract \"orders-contract-v1\": SLA property availability is "
            "not watched: datawatch does not measure availability (it watches freshness, "
            "latency, frequency and retention)\n" +
            f +
            ":77:6: warning: contract \"orders-contract-v1\": SLA property latency is not "
            "watched: no element (table.column) says which column to check\n");

  // A mistyped field in the contract, an unknown source, a file that is not
  // a contract and a missing one: errors, each where it was written.
  std::string bad = readFile(kFixture);
  // tenant's `required: true`, line 18
  bad.replace(bad.find("required: true\n        logicalTypeOptions"), 14, "required: sure");
  writeFile(dir / "bad.odcs.yaml", bad);
  writeFile(dir / "dw.yaml",
            "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n"
            "contracts:\n"
            "  - {path: bad.odcs.yaml, source: warehouse}\n"
            "  - {path: dw.yaml, source: warehouse}\n"
            "  - {path: missing.odcs.yaml, source: warehouse}\n"
            "  - {path: orders.odcs.yaml, source: wharehouse}\n");
  auto r = runCommand({DATAWATCH_BINARY, "validate", "-c", (dir / "dw.yaml").string()});
  CHECK(r.exit_code == 2);
  const std::string d = (dir / "dw.yaml").string();
  std::string errors;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);)
    if (line.find("warning:") == std::string::npos) errors += line + "\n";
  CHECK(errors ==
        (dir / "bad.odcs.yaml").string() +
            ":18:19: required must be true or false, got \"sure\"\n" + d +
            ":1:1: not an ODCS data contract: no \"kind: DataContract\" and no \"apiVersion\"\n" +
            d + ":6:12: contract \"missing.odcs.yaml\": no such file (" +
            (dir / "missing.odcs.yaml").string() + ")\n" + d +
            ":7:38: contract \"orders-contract-v1\": source \"wharehouse\" is not defined (did "
            "you mean \"warehouse\"?)\n"
            "config invalid: 4 error(s)\n");
}

TEST_CASE("contracts: import odcs writes the same probes as plain config", "[contracts]") {
  TempDir dir;
  const auto out = dir / "probes.yaml";
  auto r = runCommand(
      {DATAWATCH_BINARY, "import", "odcs", kFixture, "--source", "warehouse", "-o", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("wrote " + out.string() + " (26 probes)") != std::string::npos);
  const std::string text = readFile(out);
  CHECK(text.find("# Not watched (4):\n#   " + kFixture +
                  ":57:10: quality rule text on Orders: type text describes the rule for "
                  "people; there is nothing to run\n") != std::string::npos);
  CHECK(text.find("# slos:\n#   - name: orders_contract_v1\n") != std::string::npos);
  auto loaded = loadTestConfig(
      "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n" + text,
      (dir / "all.yaml").string());
  auto parsed = config::odcs::parseContractFile(kFixture);
  REQUIRE(parsed.ok());
  config::odcs::ExpandOptions o;
  o.source = "warehouse";
  const auto ex = config::odcs::expandContract(*parsed.contract, o);
  REQUIRE(loaded->probes.size() == ex.probes.size());
  for (size_t i = 0; i < ex.probes.size(); ++i)
    CHECK(describe(loaded->probes[i]) == describe(ex.probes[i]));

  auto missing = runCommand(
      {DATAWATCH_BINARY, "import", "odcs", (dir / "nope.yaml").string(), "--source", "warehouse"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == (dir / "nope.yaml").string() +
                           ": cannot read the contract file: no such file or not readable\n");
  auto no_source = runCommand({DATAWATCH_BINARY, "import", "odcs", kFixture});
  CHECK(no_source.exit_code == 2);
  CHECK(no_source.err ==
        "import odcs: --source NAME is required (the datawatch source the probes run on)\n");
  auto bad_source =
      runCommand({DATAWATCH_BINARY, "import", "odcs", kFixture, "--source", "Ware House"});
  CHECK(bad_source.exit_code == 2);
  CHECK(bad_source.err ==
        "datawatch import odcs: --source \"Ware House\" is not a source name ([a-z0-9_-]+)\n");
  auto help = runCommand({DATAWATCH_BINARY, "import", "odcs", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.rfind("usage: datawatch import odcs CONTRACT --source NAME [-o FILE]", 0) == 0);
}

TEST_CASE("contracts: entries in the config, their errors and the SLO", "[contracts]") {
  TempDir dir;
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture));
  writeFile(dir / "text.odcs.json",
            R"({"kind": "DataContract", "apiVersion": "v3.0.2", "id": "notes",
 "schema": [{"name": "t", "quality": [{"type": "text", "description": "hand-checked"}]}]})");
  const std::string sources =
      "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n"
      "notifiers:\n  oncall: {type: file, path: alerts.jsonl}\n";
  auto load = [&](const std::string& body) {
    return config::loadConfigFromString(sources + body, (dir / "dw.yaml").string());
  };
  auto errors = [](const config::LoadResult& r) {
    std::string out;
    for (const auto& d : r.diagnostics)
      if (d.severity == config::Diagnostic::Severity::Error) out += d.str() + "\n";
    return out;
  };
  const std::string d = (dir / "dw.yaml").string();

  auto ok = load(
      "contracts:\n"
      "  - path: orders.odcs.yaml\n"
      "    source: warehouse\n"
      "    owner: team-billing\n"
      "    alert: {after: 3, notify: [oncall]}\n"
      "    slo: {objective: 99, window: 7d, alerting: {page: {notify: [oncall]}}}\n"
      "probes:\n"
      "  - {name: mine, type: freshness, source: warehouse, table: t, column: c, max_age: 1h}\n");
  INFO(errors(ok));
  REQUIRE(ok.ok());
  const auto& c = *ok.config;
  CHECK(c.probes.size() == 27);
  CHECK(c.probes.front().name == "mine");  // probes first, then the contracts'
  const auto* amount = c.findProbe("orders_contract_v1__orders__amount");
  REQUIRE(amount);
  CHECK(amount->owner == "team-billing");
  CHECK(amount->alert->after == 3);
  CHECK(amount->alert->notify == std::vector<std::string>{"oncall"});
  CHECK(amount->every == std::chrono::minutes(15));
  CHECK(amount->loc.str() == (dir / "orders.odcs.yaml").string() + ":35:9");  // - name: amount
  REQUIRE(c.slos.size() == 1);
  CHECK(c.slos[0].name == "orders_contract_v1");
  CHECK(c.slos[0].objective == 99);
  CHECK(c.slos[0].window == std::chrono::hours(7 * 24));
  CHECK(*c.slos[0].alerting.page_notify == std::vector<std::string>{"oncall"});
  CHECK(c.slos[0].probes.size() == 26);
  CHECK(c.slos[0].loc.str() == d + ":10:10");
  REQUIRE(c.contracts.size() == 1);
  CHECK(c.contracts[0].slo->name == "orders_contract_v1");
  CHECK(c.contracts[0].every == std::chrono::minutes(15));

  auto bad = load(
      "contracts:\n"
      "  - {path: orders.odcs.yaml, source: warehouse, evry: 5m}\n"
      "  - {path: orders.odcs.yaml, source: warehouse}\n"
      "  - {path: text.odcs.json, source: warehouse, slo: {objective: 99}}\n"
      "  - {path: orders.odcs.yaml, source: warehouse, slo: {name: x, objective: 99}}\n"
      "  - {source: warehouse}\n"
      "  - orders.odcs.yaml\n");
  CHECK(errors(bad) ==
        d + ":6:49: unknown key \"evry\" in contract (did you mean \"every\"?)\n" + d +
            ":7:12: contract \"orders-contract-v1\" is already watched (at " + d + ":6:5)\n" + d +
            ":8:52: contract \"notes\": the contract has no probes for an SLO to cover\n" + d +
            ":9:12: contract \"orders-contract-v1\" is already watched (at " + d + ":6:5)\n" + d +
            ":10:5: contract: missing required key \"path\"\n" + d +
            ":11:5: contract must be a map, got a scalar\n");
  // Another id that names its probes alike ("orders-contract-v1" and
  // "Orders_Contract_V1" both give orders_contract_v1__...).
  writeFile(dir / "twin.odcs.json",
            R"({"kind": "DataContract", "apiVersion": "v3.1.0", "id": "Orders_Contract_V1",
 "schema": [{"name": "t", "properties": [{"name": "c", "required": true}]}]})");
  auto twin = load(
      "contracts:\n"
      "  - {path: orders.odcs.yaml, source: warehouse}\n"
      "  - {path: twin.odcs.json, source: warehouse}\n");
  CHECK(errors(twin) == d +
                            ":7:12: contract \"Orders_Contract_V1\" and contract "
                            "\"orders-contract-v1\" (at " +
                            d +
                            ":6:5) would both name their probes orders_contract_v1__...: give "
                            "one of them another id\n");
  bool nothing = false;
  for (const auto& w : bad.diagnostics)
    nothing = nothing || w.message == "contract \"notes\" has nothing datawatch can watch";
  CHECK(nothing);
}

TEST_CASE("contracts: the HA config hash covers the contract files", "[contracts]") {
  TempDir dir;
  const std::string yaml =
      "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n"
      "contracts:\n  - {path: orders.odcs.yaml, source: warehouse}\n";
  writeFile(dir / "dw.yaml", yaml);
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture));
  auto load = [&] {
    auto r = config::loadConfigFromString(yaml, (dir / "dw.yaml").string());
    REQUIRE(r.ok());
    return *r.config;
  };
  const std::string original = configHash(load());
  // Two replicas whose contract files differ (one line more) run different
  // configurations although their config files are the same.
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture) + "# edited\n");
  const auto edited = load();
  CHECK(configHash(edited) != original);
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture));
  CHECK(configHash(load()) == original);
}

TEST_CASE("contracts: import odcs lists the contract's warnings and claims nothing then",
          "[contracts]") {
  TempDir dir;
  const auto contract = (dir / "c.odcs.yaml").string();
  const std::string body =
      "kind: DataContract\napiVersion: v3.1.0\nid: c1\nversion: 1.0.0\n"
      "schema:\n  - name: t\n    properties:\n      - name: c\n        required: true\n";
  writeFile(contract, body);
  auto clean = runCommand({DATAWATCH_BINARY, "import", "odcs", contract, "--source", "w"});
  REQUIRE(clean.exit_code == 0);
  CHECK(clean.out.find("# Every quality rule and SLA property of the contract is watched.\n") !=
        std::string::npos);
  writeFile(contract, body + "stauts: active\n");
  auto typo = runCommand({DATAWATCH_BINARY, "import", "odcs", contract, "--source", "w"});
  REQUIRE(typo.exit_code == 0);
  const std::string warning =
      "unknown key \"stauts\" in the contract (did you mean \"status\"?); ODCS allows "
      "extra fields only under customProperties (ignored)";
  CHECK(typo.err == contract + ":10:1: warning: " + warning + "\n");
  CHECK(typo.out.find("# Contract warnings (1):\n#   " + contract + ":10:1: " + warning + "\n") !=
        std::string::npos);
  CHECK(typo.out.find("is watched") == std::string::npos);
  writeFile(contract, body + "        mustBeLesThan: 10\n");
  auto op = runCommand({DATAWATCH_BINARY, "import", "odcs", contract, "--source", "w"});
  CHECK(op.exit_code == 2);
  CHECK(op.err == contract +
                      ":10:9: unknown key \"mustBeLesThan\" in a property: it would change what "
                      "is checked\n");
}

TEST_CASE("contracts: every problem of the contract's slo block at once", "[contracts]") {
  TempDir dir;
  writeFile(dir / "orders.odcs.yaml", readFile(kFixture));
  const std::string d = (dir / "dw.yaml").string();
  auto r = config::loadConfigFromString(
      "sources:\n  warehouse: {type: postgres, dsn: \"postgresql://u@localhost/db\"}\n"
      "contracts:\n  - path: orders.odcs.yaml\n    source: warehouse\n"
      "    slo: {objective: 99, name: x, probes: [a], windw: 7d}\n",
      d);
  CHECK_FALSE(r.ok());
  std::string errors;
  for (const auto& e : r.diagnostics)
    if (e.severity == config::Diagnostic::Severity::Error) errors += e.str() + "\n";
  const std::string fixed =
      " is not set here: the contract's SLO is named after its id and covers all its probes\n";
  CHECK(errors == d + ":6:32: contract \"orders-contract-v1\": slo.name" + fixed + d +
                      ":6:43: contract \"orders-contract-v1\": slo.probes" + fixed + d +
                      ":6:48: unknown key \"windw\" in slo (did you mean \"window\"?)\n");
}
