// The expansion of ODCS contracts into probes (config/odcs_expand.hpp): names,
// bounds, severities, SLA elements and what is skipped, on hand-written
// contracts. The expansion against a real database: tests/integration/contracts_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/odcs_expand.hpp"

using namespace datawatch;
using namespace datawatch::config;
using namespace datawatch::config::odcs;
using namespace std::chrono_literals;

namespace {

std::string pos(const Location& l) {
  return std::to_string(l.line) + ":" + std::to_string(l.column);
}

std::string diags(const ParseResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += pos(d.loc) + ": " + d.message + "\n";
  return out;
}

const char* kHead = "kind: DataContract\napiVersion: v3.1.0\nid: orders-v1\nversion: 1.0.0\n";

ParseResult parse(const std::string& body) {
  return parseContractString(kHead + body, "c.yaml");
}

}  // namespace

namespace {

Expansion expand(const std::string& body) {
  auto r = parse(body);
  INFO(diags(r));
  REQUIRE(r.ok());
  ExpandOptions o;
  o.source = "w";
  return expandContract(*r.contract, o);
}

const ProbeConfig& probeNamed(const Expansion& ex, const std::string& name) {
  for (const auto& p : ex.probes)
    if (p.name == name) return p;
  FAIL("no probe " << name);
  return ex.probes.front();
}

}  // namespace

TEST_CASE("odcs expansion: names, bounds on numbers, severities and skipped patterns") {
  CHECK(namePart("53581432-6c55-4ba2") == "53581432_6c55_4ba2");
  CHECK(namePart("Air_Quality") == "air_quality");
  CHECK(namePart("") == "x");
  CHECK(alertSeverity("error") == "critical");
  CHECK(alertSeverity("Warning") == "warning");
  CHECK(alertSeverity("page") == "page");
  CHECK(alertSeverity("blocker").empty());
  auto ex = expand(R"(schema:
  - name: t
    properties:
      - name: price
        logicalType: number
        logicalTypeOptions: {minimum: 1, exclusiveMinimum: 0.5, exclusiveMaximum: 9.5}
      - name: placed
        logicalType: date
        logicalTypeOptions: {maximum: "2030-01-01"}
      - name: code
        logicalTypeOptions: {pattern: '([a-z'}
        quality:
          - {metric: invalidValues, arguments: {pattern: '(['}}
          - {metric: nullValues, severity: blocker}
          - {metric: nullValues}
)");
  const auto& price = std::get<ValuesSpec>(probeNamed(ex, "orders_v1__t__price").spec);
  CHECK(price.min == 1);  // the tighter of minimum 1 and exclusiveMinimum 0.5
  CHECK(price.max == 9.5);
  REQUIRE(ex.notes.size() == 3);
  CHECK(ex.notes[0].what == "property t.price");
  CHECK(ex.notes[0].reason ==
        "exclusiveMinimum 0.5 is checked as min (inclusive): the value itself passes");
  CHECK(pos(ex.notes[0].loc) == "10:9");
  CHECK(ex.notes[1].reason ==
        "exclusiveMaximum 9.5 is checked as max (inclusive): the value itself passes");
  CHECK(ex.notes[2].what == "probe orders_v1__t__code__null_values");
  CHECK(ex.notes[2].reason ==
        "severity \"blocker\" has no datawatch equivalent (error, warning, info): the alert "
        "keeps its severity");
  // A bad pattern: the property's own probe has nothing else to check and is
  // not made; the rule is skipped. Two unnamed nullValues rules: _2.
  CHECK_FALSE(std::any_of(ex.probes.begin(), ex.probes.end(),
                          [](const auto& p) { return p.name == "orders_v1__t__code"; }));
  REQUIRE(ex.skipped.size() == 3);
  CHECK(ex.skipped[0].what == "property t.placed logicalTypeOptions.maximum");
  CHECK(ex.skipped[0].reason ==
        "\"2030-01-01\" bounds a date, which datawatch does not check (values' min and max "
        "compare numbers)");
  CHECK(pos(ex.skipped[0].loc) == "13:9");
  ex.skipped.erase(ex.skipped.begin());
  CHECK(ex.skipped[0].what == "property t.code pattern");
  CHECK(ex.skipped[0].reason.rfind("pattern \"([a-z\" is not a valid regular expression: ", 0) ==
        0);
  CHECK(ex.skipped[1].what == "quality rule invalidValues on t.code");
  CHECK(probeNamed(ex, "orders_v1__t__code__null_values_2").alert == std::nullopt);
  CHECK(probeNamed(ex, "orders_v1__t__code__null_values").contract == "orders-v1");
}

TEST_CASE("odcs expansion: SLA elements, durations and schedules") {
  auto ex = expand(R"(schema:
  - {name: Orders, physicalName: shop.orders, properties: [{name: updatedAt, physicalName: updated_at}]}
slaProperties:
  - {property: latency, value: 2, unit: hours, element: Orders.updatedAt}
  - {property: ly, value: 30, unit: min, element: other.t.loaded_at, id: raw-latency}
  - {property: frequency, value: 1, unit: d, element: Orders.updatedAt}
  - {property: frequency, value: 1, unit: d, schedule: '0 25 * * *', element: Orders.updatedAt}
  - {property: retention, value: soon, element: Orders.updatedAt}
  - {property: freshness, value: 1, unit: h, element: 'Orders.updatedAt,other.t.x'}
  - {property: freshness, value: 1, unit: h, element: updatedAt}
  - {property: timeOfAvailability, value: '09:00'}
)");
  const auto& lat = probeNamed(ex, "orders_v1__orders__latency");
  CHECK(lat.table == "shop.orders");
  CHECK(lat.type == ProbeType::Freshness);
  CHECK(std::get<FreshnessSpec>(lat.spec).column == "updated_at");
  CHECK(*std::get<FreshnessSpec>(lat.spec).max_age == 2h);
  CHECK(pos(lat.loc) == "8:6");
  const auto& raw = probeNamed(ex, "orders_v1__other_t__raw_latency");
  CHECK(raw.table == "other.t");
  CHECK(*std::get<FreshnessSpec>(raw.spec).max_age == 30min);
  const auto& freq = std::get<FreshnessSpec>(probeNamed(ex, "orders_v1__orders__frequency").spec);
  CHECK(*freq.max_age == 24h);
  CHECK_FALSE(freq.schedule);
  // One object: a bare column is enough.
  CHECK(std::get<FreshnessSpec>(probeNamed(ex, "orders_v1__orders__freshness").spec).column ==
        "updated_at");
  REQUIRE(ex.skipped.size() == 4);
  CHECK(ex.skipped[0].reason.rfind("schedule \"0 25 * * *\": ", 0) == 0);
  CHECK(ex.skipped[1].reason ==
        "needs a value and a unit that make a duration (e.g. value: 4, unit: h), got value "
        "\"soon\" unit \"\"");
  CHECK(ex.skipped[2].reason ==
        "element \"Orders.updatedAt,other.t.x\" names several columns; datawatch checks one "
        "table.column");
  CHECK(ex.skipped[3].what == "SLA property timeOfAvailability");
  CHECK(ex.probes.size() == 5);  // the four above and the schema of Orders
}

TEST_CASE("odcs expansion: sql placeholders and object-level rules") {
  auto ex = expand(R"(schema:
  - name: t
    properties:
      - name: c
        quality:
          - {type: sql, query: 'SELECT COUNT(*) FROM ${table} WHERE ${column} < 0', mustBe: 0}
    quality:
      - {type: sql, query: 'SELECT MAX({property}) FROM {object}', mustBeLessThan: 5}
      - {type: sql, query: 'SELECT COUNT(*) FROM {object}', mustBeGreaterThan: 0, id: has rows}
)");
  const auto& s = std::get<SqlSpec>(probeNamed(ex, "orders_v1__t__c__sql").spec);
  CHECK(s.query == "SELECT COUNT(*) FROM {table} WHERE {column} < 0");
  CHECK(s.column == "c");
  CHECK(s.must->str() == "= 0");
  const auto& rows = probeNamed(ex, "orders_v1__t__has_rows");
  CHECK(std::get<SqlSpec>(rows.spec).column.empty());
  CHECK(rows.table == "t");
  REQUIRE(ex.skipped.size() == 1);
  CHECK(ex.skipped[0].reason ==
        "the query uses {property} but the rule is on an object, not a property");
}

TEST_CASE("odcs expansion: object-level keys by physicalName, nested properties said") {
  auto r = parse(R"(schema:
  - name: t
    properties:
      - {name: orderId, physicalName: ORDER_ID}
      - {name: lineNo, physicalName: LINE_NO, logicalTypeOptions: {format: uuid}}
      - name: payload
        logicalType: object
        properties:
          - {name: inner, quality: [{metric: nullValues, mustBe: 0}]}
    quality:
      - {metric: duplicateValues, arguments: {properties: [orderId]}, id: one}
      - {metric: duplicateValues, arguments: {properties: [orderId, LINE_NO]}, id: two}
)");
  CHECK(diags(r) ==
        "13:11: property payload: its nested properties (and their quality rules) are not "
        "watched: datawatch checks payload as one column\n");
  REQUIRE(r.ok());  // a warning
  ExpandOptions o;
  o.source = "w";
  const auto ex = expandContract(*r.contract, o);
  const auto& one = std::get<ValuesSpec>(probeNamed(ex, "orders_v1__t__one").spec);
  CHECK(one.column == "ORDER_ID");
  CHECK(one.columns.empty());
  const auto& two = std::get<ValuesSpec>(probeNamed(ex, "orders_v1__t__two").spec);
  CHECK(two.column.empty());
  CHECK(two.columns == std::vector<std::string>{"ORDER_ID", "LINE_NO"});
  REQUIRE(ex.skipped.size() == 1);
  CHECK(pos(ex.skipped[0].loc) == "9:47");
  CHECK(ex.skipped[0].what == "property t.lineNo logicalTypeOptions.format");
  CHECK(ex.skipped[0].reason ==
        "format \"uuid\" is not checked (datawatch checks pattern, lengths and ranges: write a "
        "pattern)");
}
