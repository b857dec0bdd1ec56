// config/contract_diff: the classification rules one by one (bounds as
// accepted sets, type widenings, keys, rule matching, SLAs), the order of
// the changes, their locations, and the live side with plain type functions.
// Through the binary, with exit codes: integration/contract_diff_cli_test.cpp.

#include <catch2/catch.hpp>

#include "config/contract_diff.hpp"
#include "config/contract_diff_detail.hpp"

using namespace datawatch::config;
using namespace datawatch::config::odcs;
using diff_detail::SetOrder;

namespace {

Bound bound(const std::string& text) {
  std::string error;
  auto b = parseBound(text, &error);
  INFO(text << ": " << error);
  REQUIRE(b);
  return *b;
}

Contract contract(const std::string& body, const std::string& file = "c.yaml") {
  const std::string text = "apiVersion: v3.1.0\nkind: DataContract\nid: c\n" + body;
  auto r = parseContractString(text, file);
  for (const auto& d : r.diagnostics) INFO(d.str());
  REQUIRE(r.ok());
  return *r.contract;
}

// "level path: message" per change.
std::vector<std::string> lines(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes)
    out.push_back(std::string(toString(c.level)) + " " + c.path + ": " + c.message);
  return out;
}

std::vector<std::string> diff(const std::string& old_body, const std::string& new_body) {
  return lines(diffContracts(contract(old_body), contract(new_body)));
}

// One property `x` of table `t` with the given lines (8 spaces deep).
std::string prop(const std::string& fields) {
  return "schema:\n  - name: t\n    properties:\n      - name: x\n" + fields;
}

}  // namespace

TEST_CASE("contract diff: thresholds compare as the sets of values they accept",
          "[contract_diff]") {
  struct Row {
    const char *old, *now;
    SetOrder order;
  };
  const Row rows[] = {
      {"< 5", "< 1", SetOrder::Tighter},
      {"< 5", "<= 5", SetOrder::Looser},
      {"<= 5", "< 5", SetOrder::Tighter},
      {"< 5", "< 5", SetOrder::Same},
      {"> 100", "> 1000", SetOrder::Tighter},
      {">= 100", "> 100", SetOrder::Tighter},
      {"> 100", ">= 50", SetOrder::Looser},
      {"between 100 and 10000", "between 200 and 5000", SetOrder::Tighter},
      {"between 100 and 10000", "between 50 and 10000", SetOrder::Looser},
      {"between 100 and 10000", "between 50 and 500", SetOrder::Incomparable},
      {"between 1 and 5", "not between 1 and 5", SetOrder::Incomparable},
      {"not between 1 and 5", "not between 2 and 4", SetOrder::Looser},
      {"= 0", "<= 10", SetOrder::Looser},
      {"= 0", "= 5", SetOrder::Incomparable},
      {"!= 0", "> 0", SetOrder::Tighter},
      {"> 0", "!= 0", SetOrder::Looser},
      {"< 5", "> 5", SetOrder::Incomparable},
      {"> 100", "between 100 and 1000", SetOrder::Incomparable},  // 100 is new
      {"> 100", "between 101 and 1000", SetOrder::Tighter},
      {"< 5%", "< 1%", SetOrder::Tighter},
      {"< 5%", "< 1", SetOrder::Incomparable},  // percent vs rows never compare
  };
  for (const auto& r : rows) {
    INFO(r.old << " -> " << r.now);
    CHECK(diff_detail::compareBounds(bound(r.old), bound(r.now)) == r.order);
  }
  // Row counts are whole numbers >= 0: rewrites that accept the same counts
  // are the same threshold, not a tightening.
  const Row counts[] = {
      {"< 1", "= 0", SetOrder::Same},
      {"<= 0", "= 0", SetOrder::Same},
      {"> 0", ">= 1", SetOrder::Same},
      {"< 5", "<= 4", SetOrder::Same},
      {"between 0.5 and 3", "between 1 and 3", SetOrder::Same},
      {"!= 2.5", ">= 0", SetOrder::Same},                 // two pieces, adjacent on whole numbers
      {"not between 1 and 5", "= 0", SetOrder::Tighter},  // {0, 6, 7, ...} -> {0}
      {"< 5", "< 1", SetOrder::Tighter},
      {"> 0", "> 1", SetOrder::Tighter},
      {"<= 4", "< 10", SetOrder::Looser},
      {"< 1%", "= 0%", SetOrder::Tighter},  // percentages stay real numbers
  };
  for (const auto& r : counts) {
    INFO("counts: " << r.old << " -> " << r.now);
    CHECK(diff_detail::compareBounds(bound(r.old), bound(r.now), true) == r.order);
  }
}

TEST_CASE("contract diff: physical types that widen are info, others breaking", "[contract_diff]") {
  struct Row {
    const char *from, *to, *level;
  };
  const Row rows[] = {
      {"int", "bigint", "info"},
      {"integer", "int8", "info"},
      {"bigint", "integer", "breaking"},
      {"smallint", "numeric", "info"},
      {"integer", "numeric(12,2)", "info"},     // 10 integer digits fit in 10
      {"bigint", "numeric(12,2)", "breaking"},  // 19 do not
      {"numeric(10,2)", "numeric(12,2)", "info"},
      {"numeric(10,2)", "numeric(10,3)", "breaking"},  // fewer integer digits
      {"numeric(10,2)", "numeric(12,1)", "breaking"},  // a lost decimal
      {"VARCHAR(10)", "varchar(20)", "info"},
      {"varchar(20)", "varchar(10)", "breaking"},
      {"varchar(20)", "text", "info"},
      {"char(3)", "varchar", "info"},
      {"text", "varchar(100)", "breaking"},
      {"real", "double", "info"},
      {"double precision", "real", "breaking"},
      {"timestamp", "timestamptz", "breaking"},
      {"integer", "text", "breaking"},
  };
  for (const auto& r : rows) {
    INFO(r.from << " -> " << r.to);
    const auto d = diff(prop("        physicalType: " + std::string(r.from) + "\n"),
                        prop("        physicalType: " + std::string(r.to) + "\n"));
    REQUIRE(d.size() == 1);
    CHECK(d[0].rfind(std::string(r.level) + " schema.t.properties.x.physicalType: ", 0) == 0);
  }
  // The same type spelled differently is no change.
  CHECK(diff(prop("        physicalType: VARCHAR( 10 )\n"),
             prop("        physicalType: character varying(10)\n"))
            .empty());
}

TEST_CASE("contract diff: logical types, flags, enums and ranges with their messages",
          "[contract_diff]") {
  const std::string x = "schema.t.properties.x.";
  CHECK(diff(prop("        logicalType: integer\n"), prop("        logicalType: number\n")) ==
        std::vector<std::string>{"info " + x +
                                 "logicalType: logical type widened from integer to number"});
  CHECK(diff(prop("        logicalType: number\n"), prop("        logicalType: integer\n")) ==
        std::vector<std::string>{"breaking " + x +
                                 "logicalType: logical type changed from number to integer"});
  CHECK(diff(prop(""), prop("        logicalType: date\n")) ==
        std::vector<std::string>{"breaking " + x +
                                 "logicalType: logical type added from (none) to date"});
  CHECK(diff(prop("        required: false\n        unique: true\n"),
             prop("        required: true\n")) ==
        std::vector<std::string>{"breaking " + x + "required: required added (false -> true)",
                                 "info " + x + "unique: unique removed (true -> false)"});
  CHECK(diff(prop("        enum: [a, b, c]\n"), prop("        enum: [a, c, d]\n")) ==
        std::vector<std::string>{"breaking " + x + "enum: enum value removed: 'b'",
                                 "info " + x + "enum: enum value added: 'd'"});
  CHECK(diff(prop(""), prop("        enum: [a]\n")) ==
        std::vector<std::string>{"breaking " + x + "enum: enum added: 'a'"});
  const std::string o = "        logicalType: number\n        logicalTypeOptions:\n";
  CHECK(diff(prop(o + "          minimum: 0\n          maximum: 10\n"),
             prop(o + "          exclusiveMinimum: 0\n          maximum: 11\n")) ==
        std::vector<std::string>{
            "breaking " + x +
                "logicalTypeOptions.exclusiveMinimum: lower bound tightened from >= 0 to > 0",
            "info " + x + "logicalTypeOptions.maximum: upper bound loosened from <= 10 to <= 11"});
  // A v3.0 boolean exclusive flag means the same as the v3.1 number.
  CHECK(diff(prop(o + "          exclusiveMinimum: 0\n"),
             prop(o + "          minimum: 0\n          exclusiveMinimum: true\n"))
            .empty());
  CHECK(diff(prop(o + "          maximum: 10\n"), prop(o)) ==
        std::vector<std::string>{
            "info " + x + "logicalTypeOptions.maximum: upper bound loosened from <= 10 to (none)"});
  const std::string s = "        logicalType: string\n        logicalTypeOptions:\n";
  CHECK(
      diff(prop(s + "          minLength: 2\n"),
           prop(s + "          minLength: 1\n          maxLength: 9\n")) ==
      std::vector<std::string>{
          "info " + x + "logicalTypeOptions.minLength: minLength loosened from 2 to 1",
          "breaking " + x + "logicalTypeOptions.maxLength: maxLength tightened from (none) to 9"});
}

TEST_CASE("contract diff: string bounds on dates are ordered when they are ISO of one shape",
          "[contract_diff]") {
  const std::string at = "schema.t.properties.x.logicalTypeOptions.";
  auto date = [](const std::string& opts) {
    return prop("        logicalType: date\n        logicalTypeOptions:\n" + opts);
  };
  const std::string min20 = "          minimum: '2020-01-01'\n";
  CHECK(diff(date(min20), date("          minimum: '2024-01-01'\n")) ==
        std::vector<std::string>{"breaking " + at +
                                 "minimum: minimum tightened from 2020-01-01 to 2024-01-01"});
  CHECK(diff(date(min20), date("          minimum: '2019-12-31'\n")) ==
        std::vector<std::string>{"info " + at +
                                 "minimum: minimum loosened from 2020-01-01 to 2019-12-31"});
  CHECK(
      diff(date("          maximum: '2030-01-01'\n"), date("          maximum: '2029-06-30'\n")) ==
      std::vector<std::string>{"breaking " + at +
                               "maximum: maximum tightened from 2030-01-01 to 2029-06-30"});
  CHECK(diff(date(min20), date(min20 + "          maximum: '2030-01-01'\n")) ==
        std::vector<std::string>{"breaking " + at + "maximum: maximum added: 2030-01-01"});
  CHECK(diff(date(min20),
             date("          minimum: '" + std::string("2020-01-01T00:00:00+02:00") + "'\n")) ==
        std::vector<std::string>{"warning " + at +
                                 "minimum: minimum changed from 2020-01-01 to "
                                 "2020-01-01T00:00:00+02:00"});
  CHECK(diff(date(min20), date("          exclusiveMaximum: '2030-01-01'\n")) ==
        std::vector<std::string>{
            "info " + at + "minimum: minimum removed (was 2020-01-01)",
            "breaking " + at + "exclusiveMaximum: exclusiveMaximum added: 2030-01-01"});
}

TEST_CASE("contract diff: primary keys are compared as ordered column lists, once",
          "[contract_diff]") {
  auto keyed = [](const std::string& a, const std::string& b) {
    return "schema:\n  - name: t\n    properties:\n      - name: a\n" + a + "      - name: b\n" + b;
  };
  const std::string k1 = "        primaryKey: true\n        primaryKeyPosition: 1\n";
  const std::string k2 = "        primaryKey: true\n        primaryKeyPosition: 2\n";
  CHECK(diff(keyed(k1, k2), keyed(k2, k1)) ==
        std::vector<std::string>{
            "breaking schema.t.primaryKey: primary key changed from (a, b) to (b, a)"});
  CHECK(diff(keyed(k1, ""), keyed(k1, k2)) ==
        std::vector<std::string>{
            "breaking schema.t.primaryKey: primary key changed from (a) to (a, b)"});
  CHECK(
      diff(keyed(k1, ""), keyed("", "")) ==
      std::vector<std::string>{"breaking schema.t.primaryKey: primary key removed from (a) to ()"});
  CHECK(diff(keyed(k1, k2), keyed(k1, k2)).empty());
}

TEST_CASE("contract diff: quality rules match by id, else by metric and position",
          "[contract_diff]") {
  const std::string q = "schema.t.properties.x.quality.";
  auto rules = [](const std::string& list) { return prop("        quality:\n" + list); };
  // Two unnamed nullValues rules: the second one tightened.
  const std::string r1 = "          - metric: nullValues\n            mustBeLessThan: 10\n";
  CHECK(diff(rules(r1 + r1),
             rules(r1 + "          - metric: nullValues\n            mustBeLessThan: 3\n")) ==
        std::vector<std::string>{"breaking " + q +
                                 "nullValues[1].must: threshold tightened from < 10 to < 3"});
  // By id, whatever the order.
  const std::string a =
      "          - id: a\n            metric: rowCount\n            mustBeGreaterThan: 5\n";
  const std::string b =
      "          - id: b\n            metric: duplicateValues\n            mustBe: 0\n";
  CHECK(diff(rules(a + b), rules(b + a)).empty());
  // Two rules sharing an id are two rules, matched in order: the second one
  // tightened is reported, not hidden behind the first.
  const std::string a2 =
      "          - id: a\n            metric: nullValues\n            mustBeLessThan: 10\n";
  CHECK(diff(rules(a + a2),
             rules(a + "          - id: a\n            metric: nullValues\n            "
                       "mustBeLessThan: 3\n")) ==
        std::vector<std::string>{"breaking " + q +
                                 "a[1].must: threshold tightened from < 10 to < 3"});
  // A library rule without an operator has its default threshold (= 0).
  CHECK(diff(rules("          - metric: duplicateValues\n"),
             rules("          - metric: duplicateValues\n            mustBeLessOrEqualTo: 2\n")) ==
        std::vector<std::string>{"info " + q +
                                 "duplicateValues[0].must: threshold loosened from = 0 to <= 2"});
  // Rows are whole: "< 1" rewritten as "= 0" accepts the same counts; "< 1"
  // percent to "= 0" percent does not.
  CHECK(diff(rules("          - metric: nullValues\n            mustBeLessThan: 1\n"),
             rules("          - metric: nullValues\n            mustBe: 0\n"))
            .empty());
  CHECK(diff(rules("          - metric: nullValues\n            mustBeLessThan: 1\n            "
                   "unit: percent\n"),
             rules("          - metric: nullValues\n            mustBe: 0\n            unit: "
                   "percent\n")) ==
        std::vector<std::string>{"breaking " + q +
                                 "nullValues[0].must: threshold tightened from < 1% to = 0%"});
  // Valid values, patterns and duplicate keys.
  auto valid = [](const std::string& v) {
    return "          - metric: invalidValues\n            arguments:\n              "
           "validValues: " +
           v + "\n";
  };
  CHECK(diff(rules(valid("[a, b]")), rules(valid("[a, c]"))) ==
        std::vector<std::string>{
            "breaking " + q + "invalidValues[0].arguments.validValues: valid value removed: 'b'",
            "info " + q + "invalidValues[0].arguments.validValues: valid value added: 'c'"});
  auto dup = [](const std::string& cols) {
    return "schema:\n  - name: t\n    properties:\n      - name: a\n      - name: b\n"
           "    quality:\n      - metric: duplicateValues\n        arguments:\n"
           "          properties: " +
           cols + "\n";
  };
  CHECK(
      diff(dup("[a, b]"), dup("[a]")) ==
      std::vector<std::string>{"breaking schema.t.quality.duplicateValues[0].arguments.properties: "
                               "duplicate key narrowed from ['a', 'b'] to ['a']"});
  CHECK(diff(dup("[a]"), dup("[a, b]")) ==
        std::vector<std::string>{"info schema.t.quality.duplicateValues[0].arguments.properties: "
                                 "duplicate key widened from ['a'] to ['a', 'b']"});
  // A sql rule's query changed: no direction.
  auto sql = [](const std::string& query) {
    return "schema:\n  - name: t\n    quality:\n      - id: s\n        type: sql\n        query: "
           "\"" +
           query + "\"\n        mustBe: 0\n";
  };
  CHECK(diff(sql("SELECT 1"), sql("SELECT 2")) ==
        std::vector<std::string>{"warning schema.t.quality.s.query: query changed"});
  // A text rule added checks nothing.
  CHECK(diff(rules(a), rules(a + "          - type: text\n            description: be nice\n")) ==
        std::vector<std::string>{"info " + q + "text[0]: quality rule text added (no threshold)"});
}

TEST_CASE("contract diff: SLA properties by direction", "[contract_diff]") {
  auto sla = [](const std::string& items) { return "slaProperties:\n" + items; };
  const std::string fresh = "  - property: latency\n    value: 4\n    unit: h\n";
  CHECK(diff(sla(fresh), sla("  - property: latency\n    value: 1\n    unit: d\n")) ==
        std::vector<std::string>{
            "info slaProperties.latency.value: latency loosened from 4 h to 1 d"});
  CHECK(diff(sla(fresh), sla("  - property: latency\n    value: 240\n    unit: m\n")).empty() ==
        true);
  CHECK(diff(sla("  - property: retention\n    value: 3\n    unit: y\n"),
             sla("  - property: retention\n    value: 1\n    unit: y\n")) ==
        std::vector<std::string>{
            "breaking slaProperties.retention.value: retention tightened from 3 y to 1 y"});
  CHECK(diff(sla("  - property: frequency\n    value: 1\n    unit: d\n"),
             sla("  - property: frequency\n    value: 2\n    unit: d\n")) ==
        std::vector<std::string>{
            "warning slaProperties.frequency.value: frequency changed from 1 d to 2 d"});
  CHECK(diff(sla(fresh), sla(fresh + "  - property: availability\n    value: 99.9\n")) ==
        std::vector<std::string>{"info slaProperties.availability: availability added: 99.9"});
  // Two entries with one key are told apart by position.
  const std::string toa = "  - property: timeOfAvailability\n    element: t.c\n    value: ";
  CHECK(diff(sla(toa + "09:00\n" + toa + "08:00\n"), sla(toa + "09:00\n" + toa + "07:00\n")) ==
        std::vector<std::string>{"info slaProperties.timeOfAvailability@t.c[1].value: "
                                 "timeOfAvailability changed from 08:00 to 07:00"});
  // Same id, another property: no direction.
  CHECK(diff(sla("  - id: s\n    property: latency\n    value: 1\n    unit: h\n"),
             sla("  - id: s\n    property: frequency\n    value: 1\n    unit: h\n")) ==
        std::vector<std::string>{
            "warning slaProperties.s.property: property changed from latency to frequency"});
  CHECK(diff(sla(""), sla(fresh)) ==
        std::vector<std::string>{"breaking slaProperties.latency: latency added: 4 h"});
}

TEST_CASE("contract diff: deterministic order and locations on both sides", "[contract_diff]") {
  const std::string old_text =
      "version: 1.0.0\n"               // 4
      "schema:\n"                      // 5
      "  - name: a\n"                  // 6
      "    properties:\n"              // 7
      "      - name: x\n"              // 8
      "        logicalType: string\n"  // 9
      "      - name: y\n"              // 10
      "        logicalType: string\n"  // 11
      "  - name: b\n"                  // 12
      "    properties:\n"              // 13
      "      - name: z\n";             // 14
  const std::string new_text =
      "version: 2.0.0\n"                 // 4
      "schema:\n"                        // 5
      "  - name: c\n"                    // 6
      "  - name: a\n"                    // 7
      "    properties:\n"                // 8
      "      - name: w\n"                // 9
      "      - name: x\n"                // 10
      "        logicalType: integer\n";  // 11
  const auto changes =
      diffContracts(contract(old_text, "old.yaml"), contract(new_text, "new.yaml"));
  CHECK(
      lines(changes) ==
      std::vector<std::string>{
          "info version: version changed from 1.0.0 to 2.0.0",
          "breaking schema.a.properties.x.logicalType: logical type changed from string to integer",
          "breaking schema.a.properties.y: property y removed",
          "info schema.a.properties.w: property w added", "breaking schema.b: object b removed",
          "info schema.c: object c added"});
  REQUIRE(changes.size() == 6);
  // The type change: the key on each side.
  CHECK(changes[1].old_loc.str() == "old.yaml:9:9");
  CHECK(changes[1].new_loc.str() == "new.yaml:11:9");
  // A removed property: where it was, and its object in the new file.
  CHECK(changes[2].old_loc.str() == "old.yaml:10:9");
  CHECK(changes[2].new_loc.str() == "new.yaml:7:5");
  // An added object: where it is.
  CHECK(changes[5].new_loc.str() == "new.yaml:6:5");
  // Running it twice gives the same list.
  CHECK(lines(diffContracts(contract(old_text), contract(new_text))) == lines(changes));
}

TEST_CASE("contract diff against live columns: missing, mistyped, nullable, extra",
          "[contract_diff]") {
  const Contract c = contract(
      "schema:\n  - name: t\n    properties:\n"
      "      - name: id\n        logicalType: integer\n        required: true\n"
      "      - name: amount\n        logicalType: number\n        physicalType: numeric(12,2)\n"
      "      - name: code\n        physicalType: varchar(3)\n"
      "      - name: label\n        physicalType: text\n"
      "      - name: gone\n        logicalType: string\n");
  LiveTypes types;
  types.family = [](const std::string& t) {
    if (t == "bigint") return std::string("integer");
    if (t.rfind("numeric", 0) == 0 || t == "real") return std::string("number");
    if (t == "text" || t.rfind("character", 0) == 0) return std::string("string");
    return std::string();
  };
  types.matches = [&](const std::string& l, const std::string& t) {
    const auto f = types.family(t);
    return f == l || (l == "number" && f == "integer");
  };
  types.canonical = [](const std::string& t) {
    return t == "varchar(3)" ? std::string("character varying(3)") : t;
  };
  const std::vector<LiveTable> live{{"t",
                                     true,
                                     {{"ID", "bigint", false},
                                      {"amount", "real", true},
                                      {"code", "bigint", true},
                                      {"label", "character varying(9)", false},
                                      {"extra", "bigint", false}}}};
  CHECK(lines(diffAgainstLive(c, live, /*names_case_insensitive=*/true, types)) ==
        std::vector<std::string>{
            "breaking schema.t.properties.id.required: required, but the table lets id be NULL",
            "warning schema.t.properties.amount.physicalType: type: the contract says "
            "numeric(12,2), the table has real",
            "breaking schema.t.properties.code.physicalType: type: the contract says character "
            "varying(3), the table has bigint",
            "warning schema.t.properties.label.physicalType: type: the contract says text, the "
            "table has character varying(9)",
            "breaking schema.t.properties.gone: column gone is missing from the table",
            "info schema.t.properties.extra: column extra (bigint) is in the table, not in the "
            "contract"});
  // Case-sensitive names: "ID" is not "id".
  const auto cs = lines(diffAgainstLive(c, live, false, types));
  CHECK(cs.front() == "breaking schema.t.properties.id: column id is missing from the table");
  // No such table.
  CHECK(lines(diffAgainstLive(c, {{"t", false, {}}}, true, types)) ==
        std::vector<std::string>{"breaking schema.t: table t does not exist (or is not visible)"});
}

TEST_CASE("contract diff: top-level fields at their own lines, the owner under its ODCS field") {
  const auto changes = diffContracts(
      contract("version: 1.0.0\nstatus: active\nteam:\n  - {username: ann, role: owner}\n",
               "old.yaml"),
      contract("status: retired\nversion: 1.0.0\nname: x\nteam: {name: billing}\n", "new.yaml"));
  CHECK(lines(changes) ==
        std::vector<std::string>{"info name: name changed from (none) to x",
                                 "info status: status changed from active to retired",
                                 "info team.name: owner changed from ann to billing"});
  REQUIRE(changes.size() == 3);
  CHECK(changes[1].old_loc.str() == "old.yaml:5:1");
  CHECK(changes[1].new_loc.str() == "new.yaml:4:1");
  CHECK(changes[2].old_loc.str() == "old.yaml:7:6");
  CHECK(changes[2].new_loc.str() == "new.yaml:7:8");
}
