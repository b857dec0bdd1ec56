// The ODCS v3 reader (config/odcs.hpp): the standard's own examples
// (tests/fixtures/contracts/, Apache-2.0 copies) and hand-written contracts,
// with the positions of what was read and of every error.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/odcs.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::config;
using namespace datawatch::config::odcs;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) {
  return std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/contracts/" + name;
}

std::string pos(const Location& l) {
  return std::to_string(l.line) + ":" + std::to_string(l.column);
}

// All diagnostics, one per line, as "LINE:COL: message".
std::string diags(const ParseResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += pos(d.loc) + ": " + d.message + "\n";
  return out;
}

const char* kHead = "kind: DataContract\napiVersion: v3.1.0\nid: orders-v1\nversion: 1.0.0\n";

ParseResult parse(const std::string& body) {
  return parseContractString(kHead + body, "c.yaml");
}

// The one quality rule of the one property of the one object.
Quality onlyPropertyRule(const std::string& rule_yaml) {
  auto r = parse("schema:\n  - name: t\n    properties:\n      - name: c\n        quality:\n" +
                 rule_yaml);
  INFO(diags(r));
  REQUIRE(r.ok());
  REQUIRE(r.contract->schema.at(0).properties.at(0).quality.size() == 1);
  return r.contract->schema[0].properties[0].quality[0];
}

}  // namespace

TEST_CASE("odcs: the standard's column-completeness example") {
  auto r = parseContractFile(fixture("column-completeness.odcs.yaml"));
  INFO(diags(r));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Contract& c = *r.contract;
  CHECK(c.file == fixture("column-completeness.odcs.yaml"));
  CHECK(c.id == "53581432-6c55-4ba2-a65f-72344a91553a");
  CHECK(c.api_version == "v3.0.2");
  CHECK(c.version == "1.0.0");
  CHECK(c.status == "active");
  CHECK(c.name == "my_table");
  REQUIRE(c.schema.size() == 1);
  const Object& o = c.schema[0];
  CHECK(o.name == "Air_Quality");
  CHECK(o.physical_type == "table");
  CHECK(pos(o.loc) == "10:5");
  REQUIRE(o.properties.size() == 1);
  const Property& p = o.properties[0];
  CHECK(p.name == "UniqueID");
  CHECK(p.primary_key);
  CHECK(p.primary_key_position == -1);
  CHECK(p.logical_type == "number");
  CHECK(p.physical_type == "int");
  CHECK_FALSE(p.required);
  CHECK(pos(p.loc) == "19:7");
  CHECK(pos(p.field_locs.at("primaryKey")) == "20:7");
  CHECK(o.primaryKey() == std::vector<std::string>{"UniqueID"});
  REQUIRE(p.quality.size() == 1);
  const Quality& q = p.quality[0];
  CHECK(q.supported());
  CHECK(q.type == "library");
  CHECK(q.metric == "nullValues");
  REQUIRE(q.must);
  CHECK(q.must->str() == "= 0");
  CHECK(q.severity == "error");
  CHECK(q.dimension == "completeness");
  CHECK(pos(q.loc) == "25:9");
  CHECK(pos(q.field_locs.at("mustBe")) == "28:9");
}

TEST_CASE("odcs: the standard's column-validity example (percent, null in validValues)") {
  auto r = parseContractFile(fixture("column-validity.odcs.yaml"));
  INFO(diags(r));
  REQUIRE(r.ok());
  const Quality& q = r.contract->schema.at(0).properties.at(0).quality.at(0);
  CHECK(q.metric == "invalidValues");
  CHECK(q.unit == "percent");
  REQUIRE(q.must);
  CHECK(q.must->op == Bound::Op::Le);
  CHECK(q.must->a == 5);
  CHECK(q.must->percent);
  CHECK(q.must->str() == "<= 5%");
  // null is never a value to compare with: it is left out.
  CHECK(q.valid_values == std::vector<std::string>{"", "n/a"});
  CHECK(q.supported());
  CHECK(pos(q.loc) == "23:9");
}

TEST_CASE("odcs: the standard's SLA example") {
  auto r = parseContractFile(fixture("database-table-sla.odcs.yaml"));
  INFO(diags(r));
  REQUIRE(r.ok());
  const auto& sla = r.contract->sla;
  REQUIRE(sla.size() == 8);
  CHECK(sla[0].property == "latency");
  CHECK(sla[0].value == "4");
  CHECK(sla[0].unit == "d");
  CHECK(sla[0].element == "tab1.txn_ref_dt");
  REQUIRE(sla[0].duration);
  CHECK(*sla[0].duration == 96h);
  CHECK(pos(sla[0].loc) == "13:5");
  CHECK(sla[1].property == "generalAvailability");
  CHECK_FALSE(sla[1].duration);
  CHECK(sla[1].element.empty());
  CHECK(sla[4].property == "retention");
  REQUIRE(sla[4].duration);
  CHECK(*sla[4].duration == 3 * 365 * 24h);
  CHECK(pos(sla[4].loc) == "23:5");
  CHECK(sla[5].property == "frequency");
  CHECK(sla[5].value_ext == "1");
  CHECK(*sla[5].duration == 24h);
  CHECK(sla[6].driver == "regulatory");
  CHECK(sla[6].value == "09:00-08:00");
  CHECK(r.contract->schema.empty());
}

TEST_CASE("odcs: v3.1 names, physical names, options and enum") {
  auto r = parse(R"(team: {name: team-billing}
slaDefaultElement: orders.updated_at
slaProperties:
  - {property: freshness, value: 2, unit: hours}
  - {property: frequency, value: 1, unit: d, schedule: "0 6 * * *", element: orders.loaded_at}
schema:
  - name: Orders
    physicalName: shop.orders
    properties:
      - name: orderId
        physicalName: order_id
        logicalType: Integer
        primaryKey: true
        primaryKeyPosition: 2
        logicalTypeOptions: {minimum: 1, exclusiveMaximum: 1000}
      - name: tenant
        primaryKey: true
        primaryKeyPosition: 1
        required: true
        unique: yes
        logicalTypeOptions: {minLength: 2, maxLength: 8, pattern: '^[a-z]+$', format: slug}
      - name: status
        enum: [{value: open, label: Open}, {value: shipped}, closed]
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0, exclusiveMinimum: true, maximum: 10}
      - name: placed_on
        logicalType: date
        logicalTypeOptions: {minimum: "2020-01-01"}
)");
  INFO(diags(r));
  REQUIRE(r.ok());
  const Contract& c = *r.contract;
  CHECK(c.owner == "team-billing");
  REQUIRE(c.sla.size() == 2);
  CHECK(c.sla[0].element == "orders.updated_at");
  CHECK(*c.sla[0].duration == 2h);
  CHECK(c.sla[1].schedule == "0 6 * * *");
  CHECK(c.sla[1].element == "orders.loaded_at");
  const Object& o = c.schema.at(0);
  CHECK(o.name == "shop.orders");
  CHECK(o.logical_name == "Orders");
  CHECK(c.findObject("Orders") == &o);
  CHECK(c.findObject("shop.orders") == &o);
  CHECK(c.findObject("nope") == nullptr);
  CHECK(o.primaryKey() == std::vector<std::string>{"tenant", "order_id"});
  const Property* id = o.findProperty("orderId");
  REQUIRE(id);
  CHECK(id == o.findProperty("order_id"));
  CHECK(id->logical_type == "integer");
  CHECK(id->options.minimum == 1);
  CHECK(id->options.exclusive_maximum == 1000);
  CHECK_FALSE(id->options.maximum);
  const Property* tenant = o.findProperty("tenant");
  CHECK(tenant->required);
  CHECK(tenant->unique);
  CHECK(tenant->options.min_length == 2);
  CHECK(tenant->options.max_length == 8);
  CHECK(tenant->options.pattern == "^[a-z]+$");
  CHECK(tenant->options.format == "slug");
  CHECK(o.findProperty("status")->enum_values ==
        std::vector<std::string>{"open", "shipped", "closed"});
  // v3.0: exclusiveMinimum: true makes minimum exclusive.
  const Property* amount = o.findProperty("amount");
  CHECK_FALSE(amount->options.minimum);
  CHECK(amount->options.exclusive_minimum == 0);
  CHECK(amount->options.maximum == 10);
  // Date bounds are strings: not read as numbers, no error; kept as unchecked.
  CHECK_FALSE(o.findProperty("placed_on")->options.minimum);
  CHECK(o.findProperty("placed_on")->options.unchecked ==
        std::map<std::string, std::string>{{"minimum", "2020-01-01"}});
}

TEST_CASE("odcs: v3.0 team list owner") {
  auto r = parse(
      "team:\n  - {username: ann, role: Data Scientist}\n  - {username: daustin, role: Owner}\n");
  REQUIRE(r.ok());
  CHECK(r.contract->owner == "daustin");
}

TEST_CASE("odcs: every operator is read into a Bound") {
  struct Case {
    std::string yaml;
    std::string bound;
  };
  const std::vector<Case> cases = {
      {"mustBe: 0", "= 0"},
      {"mustNotBe: 3", "!= 3"},
      {"mustBeGreaterThan: 5", "> 5"},
      {"mustBeGreaterOrEqualTo: 5", ">= 5"},
      {"mustBeLessThan: 10", "< 10"},
      {"mustBeLessOrEqualTo: 10", "<= 10"},
      {"mustBeBetween: [1, 5]", "between 1 and 5"},
      {"mustNotBeBetween: [1, 5]", "not between 1 and 5"},
      {"mustBeLessThan: 1.5\n          unit: percent", "< 1.5%"},
      {"mustBeBetween: [1, 5]\n          unit: percent", "between 1% and 5%"},
      // A lower and an upper bound together: between; exclusive ends moved by
      // one on row counts.
      {"mustBeGreaterOrEqualTo: 1\n          mustBeLessOrEqualTo: 9", "between 1 and 9"},
      {"mustBeGreaterThan: 0\n          mustBeLessThan: 100", "between 1 and 99"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto q = onlyPropertyRule("        - metric: nullValues\n          " + c.yaml + "\n");
    REQUIRE(q.must);
    CHECK(q.must->str() == c.bound);
    CHECK(q.supported());
  }
}

TEST_CASE("odcs: v3.0 rule names map to v3.1 metrics") {
  CHECK(onlyPropertyRule("        - {rule: nullCheck, mustBe: 0}\n").metric == "nullValues");
  CHECK(onlyPropertyRule("        - {rule: duplicateCount, mustBe: 0}\n").metric ==
        "duplicateValues");
  auto vv = onlyPropertyRule("        - {rule: validValues, validValues: [a, b], mustBe: 0}\n");
  CHECK(vv.metric == "invalidValues");
  CHECK(vv.valid_values == std::vector<std::string>{"a", "b"});
  CHECK(vv.supported());
  auto between = onlyPropertyRule("        - {type: library, rule: between}\n");
  CHECK(between.metric == "between");
  CHECK(between.skip_reason ==
        "metric \"between\" is not one datawatch runs (nullValues, missingValues, "
        "invalidValues, duplicateValues, rowCount)");
}

TEST_CASE("odcs: arguments, severity, ids and the library defaults") {
  auto q = onlyPropertyRule(R"(        - id: email_missing
          metric: missingValues
          arguments: {missingValues: [null, '', 'N/A']}
          mustBeLessThan: 100
          severity: warning
)");
  CHECK(q.id == "email_missing");
  CHECK(q.missing_values == std::vector<std::string>{"", "N/A"});
  CHECK(q.severity == "warning");
  CHECK(effectiveBound(q).str() == "< 100");
  auto named = onlyPropertyRule("        - {name: no_nulls, metric: nullValues}\n");
  CHECK(named.id == "no_nulls");
  CHECK_FALSE(named.must);
  CHECK(effectiveBound(named).str() == "= 0");
  auto pat =
      onlyPropertyRule("        - {metric: invalidValues, arguments: {pattern: '^[A-Z]{2}$'}}\n");
  CHECK(pat.pattern == "^[A-Z]{2}$");
  CHECK(pat.supported());
  auto sql = onlyPropertyRule(
      "        - {type: sql, query: 'SELECT COUNT(*) FROM {object} WHERE {property} < 0', "
      "mustBe: 0}\n");
  CHECK(sql.type == "sql");
  CHECK(sql.query == "SELECT COUNT(*) FROM {object} WHERE {property} < 0");
  CHECK(sql.supported());
}

TEST_CASE("odcs: rules datawatch cannot run are kept with the reason") {
  struct Case {
    std::string yaml, reason;
  };
  const std::vector<Case> cases = {
      {"{type: text, description: verified by the system}",
       "type text describes the rule for people; there is nothing to run"},
      {"{type: custom, engine: soda, implementation: 'x'}",
       "type custom runs in its own engine (soda); datawatch does not run it"},
      {"{type: great, metric: nullValues}", "unknown type \"great\" (library, sql, text, custom)"},
      {"{type: sql, mustBe: 0}", "type sql without a query"},
      {"{type: sql, query: 'SELECT 1'}",
       "type sql without a mustBe.. operator to compare its result with"},
      {"{type: library, mustBe: 0}", "a library rule without a metric"},
      {"{metric: invalidValues, mustBe: 0}",
       "invalidValues needs arguments.validValues or arguments.pattern"},
      {"{metric: rowCount, mustBeLessThan: 5, unit: percent}",
       "rowCount in percent has nothing to be a percentage of"},
      {"{metric: nullValues, mustBe: 0, unit: bytes}",
       "unit \"bytes\" (datawatch counts rows or percent)"},
      {"{metric: nullValues, mustBe: none}",
       "mustBe \"none\" is not a number (datawatch compares numbers)"},
      {"{metric: nullValues, mustBeGreaterThan: 0.5, mustBeLessThan: 2, unit: percent}",
       "combines mustBeGreaterThan, mustBeLessThan, which datawatch cannot check as one bound "
       "(write mustBeBetween or one operator)"},
      {"{metric: nullValues, mustBe: 0, mustNotBe: 1}",
       "combines mustBe, mustNotBe, which datawatch cannot check as one bound (write "
       "mustBeBetween or one operator)"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto q = onlyPropertyRule("        - " + c.yaml + "\n");
    CHECK_FALSE(q.supported());
    CHECK(q.skip_reason == c.reason);
  }
}

TEST_CASE("odcs: object-level rules") {
  auto r = parse(R"(schema:
  - name: orders
    quality:
      - {metric: rowCount, mustBeBetween: [100, 120]}
      - metric: duplicateValues
        mustBe: 0
        arguments: {properties: [tenant_id, order_id]}
      - {metric: duplicateValues, mustBe: 0}
      - {metric: nullValues, mustBe: 0}
)");
  INFO(diags(r));
  REQUIRE(r.ok());
  const auto& q = r.contract->schema.at(0).quality;
  REQUIRE(q.size() == 4);
  CHECK(q[0].supported());
  CHECK(q[0].must->str() == "between 100 and 120");
  CHECK(pos(q[0].loc) == "8:10");
  CHECK(q[1].supported());
  CHECK(q[1].properties == std::vector<std::string>{"tenant_id", "order_id"});
  CHECK(q[2].skip_reason ==
        "duplicateValues on an object needs arguments.properties (the key's columns)");
  CHECK(q[3].skip_reason ==
        "metric nullValues counts a property's values: write it under the property");
}

TEST_CASE("odcs: files that are not contracts") {
  auto list = parseContractString("- a\n- b\n", "x.yaml");
  CHECK_FALSE(list.ok());
  CHECK(diags(list) ==
        "1:1: not an ODCS data contract: the file is a list, not a map with kind: DataContract\n");
  auto config = parseContractString("sources:\n  w: {type: sqlite, path: x.db}\n", "x.yaml");
  CHECK(diags(config) ==
        "1:1: not an ODCS data contract: no \"kind: DataContract\" and no \"apiVersion\"\n");
  auto kind = parseContractString("kind: Contract\napiVersion: v3.1.0\nid: x\n", "x.yaml");
  CHECK(diags(kind) ==
        "1:7: not an ODCS data contract: kind must be DataContract, got \"Contract\"\n");
  auto v2 = parseContractString("kind: DataContract\napiVersion: v2.2.2\nid: x\n", "x.yaml");
  CHECK(diags(v2) ==
        "2:13: apiVersion \"v2.2.2\" is not ODCS v3 (datawatch reads v3.0.x and v3.1.0)\n");
  auto dcs = parseContractString("dataContractSpecification: 1.1.0\nid: x\n", "x.yaml");
  CHECK(diags(dcs) ==
        "1:28: this is a Data Contract Specification file, not an ODCS v3 contract (convert it "
        "with `datacontract export --format odcs`)\n");
  auto syntax = parseContractString("kind: DataContract\nschema: [\n", "x.yaml");
  CHECK_FALSE(syntax.ok());
  REQUIRE(syntax.diagnostics.size() == 1);
  CHECK(syntax.diagnostics[0].message.rfind("YAML syntax error", 0) == 0);
  CHECK(syntax.diagnostics[0].loc.file == "x.yaml");
  auto missing = parseContractFile(fixture("no-such.odcs.yaml"));
  CHECK_FALSE(missing.ok());
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].str() ==
        fixture("no-such.odcs.yaml") +
            ": cannot read the contract file: no such file or not readable");
  auto dir = parseContractFile(fixture(""));
  CHECK(dir.diagnostics.at(0).message == "is a directory, not a contract file");
}

TEST_CASE("odcs: a device is read up to the limit, an oversized file never") {
  auto dev = parseContractFile("/dev/zero");  // would be read forever
  CHECK_FALSE(dev.ok());
  CHECK(diags(dev) ==
        "0:0: the contract has more than 16777216 bytes; at most 16777216 are read\n");
  auto empty = parseContractFile("/dev/null");  // a character device, read: an empty file
  CHECK(diags(empty) ==
        "0:0: not an ODCS data contract: the file is null, not a map with kind: DataContract\n");
  testing::TempDir dir;
  const auto big = dir / "big.odcs.yaml";
  testing::writeFile(big, "kind: DataContract\n");
  std::filesystem::resize_file(big, kMaxContractBytes + 1);  // sparse: nothing is written
  auto huge = parseContractFile(big);
  CHECK_FALSE(huge.ok());
  CHECK(diags(huge) == "0:0: the contract file is 16777217 bytes; at most 16777216 are read\n");
}

TEST_CASE("odcs: a missing id and mistyped fields are errors at their position") {
  auto noid =
      parseContractString("kind: DataContract\napiVersion: v3.1.0\nversion: 1.0.0\n", "c.yaml");
  CHECK_FALSE(noid.ok());
  CHECK(diags(noid) ==
        "1:1: missing \"id\" (the contract's identifier; probes are named after it)\n");
  CHECK(noid.diagnostics.at(0).str() ==
        "c.yaml:1:1: missing \"id\" (the contract's identifier; probes are named after it)");
  auto r = parse(R"(schema:
  - name: orders
    properties:
      - name: id
        required: maybe
        primaryKeyPosition: first
        logicalType: text
      - physicalType: int
      - name: amount
        logicalTypeOptions: {minimum: low}
        quality:
          - {metric: nullValues, mustBeLessThan: many}
          - {metric: nullValues, mustBeBetween: [5, 1]}
          - {metric: nullValues, mustBeBetween: 3}
          - {metric: nullValues, mustBe: 200, unit: percent}
          - just a string
  - orders2
slaProperties:
  - {value: 3}
  - {property: latency}
)");
  CHECK_FALSE(r.ok());
  CHECK(diags(r) ==
        "9:19: required must be true or false, got \"maybe\"\n"
        "10:29: primaryKeyPosition must be an integer, got \"first\"\n"
        "11:22: logicalType \"text\" is not one of string, integer, number, boolean, date, "
        "timestamp, time, object, array\n"
        "12:9: schema[0].properties[1]: missing \"name\"\n"
        "14:39: minimum must be a number, got \"low\"\n"
        "16:50: mustBeLessThan must be a number, got \"many\"\n"
        "17:49: mustBeBetween: the smaller number comes first, got [5, 1]\n"
        "18:49: mustBeBetween must be a list of two numbers [low, high], got a scalar\n"
        "19:13: a percentage must be between 0 and 100, got = 200%\n"
        "20:13: a quality rule must be a map, got a scalar\n"
        "21:5: schema[1] must be a map, got a scalar\n"
        "23:5: slaProperties[0]: missing \"property\"\n"
        "24:5: slaProperties[1] (latency): missing \"value\"\n");
}

TEST_CASE("odcs: JSON contracts are read too") {
  auto r = parseContractString(
      R"({"kind": "DataContract", "apiVersion": "v3.1.0", "id": "j1",
 "schema": [{"name": "t", "properties": [{"name": "c", "required": true}]}]})",
      "c.json");
  INFO(diags(r));
  REQUIRE(r.ok());
  CHECK(r.contract->schema.at(0).properties.at(0).required);
  CHECK(pos(r.contract->schema[0].properties[0].loc) == "2:43");
}

TEST_CASE("odcs: odd shapes are errors, never a crash") {
  const std::vector<std::string> bodies = {
      "schema: {orders: {}}\n",
      "schema: [{name: [1, 2]}]\n",
      "schema: [{name: t, properties: {a: b}}]\n",
      "schema: [{name: t, properties: [{name: c, enum: 5}]}]\n",
      "schema: [{name: t, properties: [{name: c, logicalTypeOptions: [1]}]}]\n",
      "schema: [{name: t, properties: [{name: c, primaryKeyPosition: 1.5}]}]\n",
      "schema: [{name: t, quality: {metric: rowCount}}]\n",
      "schema: [{name: t, quality: [{metric: rowCount, mustBeGreaterThan: {a: 1}}]}]\n",
      "schema: [{name: t, quality: [{metric: invalidValues, arguments: [1]}]}]\n",
      "schema: [{name: t, properties: [{name: c, quality: [{metric: invalidValues, arguments: "
      "{validValues: {a: b}}}]}]}]\n",
      "slaProperties: {latency: 4}\n",
      "slaProperties: [{property: latency, value: [4]}]\n",
      "id: [x]\n",
  };
  for (const auto& b : bodies) {
    INFO(b);
    auto r = parseContractString("kind: DataContract\napiVersion: v3.1.0\nversion: 1\n" +
                                     (b.rfind("id:", 0) == 0 ? "" : std::string("id: x\n")) + b,
                                 "c.yaml");
    CHECK_FALSE(r.ok());
    REQUIRE_FALSE(r.diagnostics.empty());
    CHECK(r.diagnostics[0].loc.line >= 4);
  }
}

namespace {
// Diagnostics with their severity: "W LINE:COL: message" / "E ...".
std::string sevDiags(const ParseResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics)
    out += std::string(d.severity == Diagnostic::Severity::Error ? "E " : "W ") + pos(d.loc) +
           ": " + d.message + "\n";
  return out;
}
}  // namespace

TEST_CASE("odcs: an unknown key is a warning at its line with the nearest known key") {
  auto r = parse(
      "stauts: active\nschema:\n  - name: t\n    properties:\n      - name: c\n"
      "        descripton: x\n        quality:\n          - metric: rowCount\n"
      "            arguments: {validValue: [a]}\nslaProperties:\n"
      "  - {property: latency, value: 1, unit: d, elemnt: t.c}\n");
  INFO(sevDiags(r));
  REQUIRE(r.ok());
  const std::string tail = "; ODCS allows extra fields only under customProperties (ignored)\n";
  CHECK(sevDiags(r) ==
        "W 5:1: unknown key \"stauts\" in the contract (did you mean \"status\"?)" + tail +
            "W 10:9: unknown key \"descripton\" in a property (did you mean \"description\"?)" +
            tail +
            "W 13:25: unknown key \"validValue\" in a quality rule's arguments (did you mean "
            "\"validValues\"?)" +
            tail +
            "W 15:44: unknown key \"elemnt\" in an SLA property (did you mean \"element\"?)" +
            tail);
  auto far = parse("zzz_custom: 1\n");
  CHECK(sevDiags(far) == "W 5:1: unknown key \"zzz_custom\" in the contract" + tail);
}

TEST_CASE("odcs: a misspelt operator, logicalTypeOptions or quality is an error") {
  auto r = parse(
      "schema:\n  - name: t\n    qualty: []\n    properties:\n      - name: c\n"
      "        logicalTypeOption: {minimum: 1}\n        logicalTypeOptions: {minimun: 2}\n"
      "        quality:\n          - metric: nullValues\n            mustBeLesThan: 10\n");
  CHECK_FALSE(r.ok());
  const std::string tail = ": it would change what is checked\n";
  CHECK(sevDiags(r) ==
        "E 7:5: unknown key \"qualty\" in a schema object (did you mean \"quality\"?)" + tail +
            "E 10:9: unknown key \"logicalTypeOption\" in a property (did you mean "
            "\"logicalTypeOptions\"?)" +
            tail +
            "W 11:30: unknown key \"minimun\" in logicalTypeOptions (did you mean \"minimum\"?); "
            "ODCS allows extra fields only under customProperties (ignored)\n"
            "E 14:13: unknown key \"mustBeLesThan\" in a quality rule (did you mean "
            "\"mustBeLessThan\"?)" +
            tail);
}

TEST_CASE("odcs: every key the standard defines (its full example and more) is known") {
  auto r = parseContractFile(fixture("all-keys.odcs.yaml"));
  INFO(sevDiags(r));
  REQUIRE(r.ok());
  CHECK(sevDiags(r).find("unknown key") == std::string::npos);
  // The fixtures the other tests use are real contracts too.
  for (const char* f : {"column-completeness.odcs.yaml", "column-validity.odcs.yaml",
                        "database-table-sla.odcs.yaml", "diff/orders.odcs.yaml"}) {
    INFO(f);
    CHECK(sevDiags(parseContractFile(fixture(f))).find("unknown key") == std::string::npos);
  }
}

TEST_CASE("odcs: two key properties with the same primaryKeyPosition are an error") {
  auto r = parse(
      "schema:\n  - name: t\n    properties:\n"
      "      - {name: a, primaryKey: true, primaryKeyPosition: 1}\n"
      "      - {name: b, primaryKey: true, primaryKeyPosition: 2}\n"
      "      - {name: c, primaryKey: true, primaryKeyPosition: 1}\n");
  CHECK_FALSE(r.ok());
  CHECK(diags(r) == "10:57: property c: primaryKeyPosition 1 is already a's\n");
}

TEST_CASE("odcs: a frequency SLA with a schedule needs no value") {
  auto r = parse("slaProperties:\n  - {property: frequency, schedule: '0 2 * * *'}\n");
  INFO(diags(r));
  REQUIRE(r.ok());
  REQUIRE(r.contract->sla.size() == 1);
  CHECK(r.contract->sla[0].schedule == "0 2 * * *");
  CHECK(r.contract->sla[0].value.empty());
  auto none = parse("slaProperties:\n  - {property: frequency}\n");
  CHECK(diags(none) == "6:5: slaProperties[0] (frequency): missing \"value\"\n");
}
