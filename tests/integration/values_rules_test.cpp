// The rules of values probes that contracts and dbt need -- missing values,
// pattern, lengths, composite keys, and `must` bounds on each metric -- run on
// every database kind of db_under_test.hpp, with the expected counts worked
// out by hand from the rows planted below; and their config errors.

#include <catch2/catch.hpp>

#include <set>

#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "probes/sqlite_source.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

using Runner = DbProbes;

// 100 items (ids 1..100) whose code is, by id:
//   1-3 NULL; 4-5 ''; 6 'N/A'; 7 'abc-1' (lower case); 8 'ABCD-1'; 9 'AB-12';
//   10 'XYZ-1234567890123' (17 characters); 12 and 13 'ABC-11'; others 'ABC-<id>'.
// With pattern ^[A-Z]{3}-[0-9]+$, lengths 5..12 and missing ['', 'N/A']:
//   nulls 3; missing 6 (3 NULL, 2 '', 'N/A');
//   not matching 6 ('' x2, 'N/A', 'abc-1', 'ABCD-1', 'AB-12');
//   wrong length 4 ('' x2 (0), 'N/A' (3), 'XYZ-...' (17));
//   invalid 7 (the union); duplicates 3 ('' once more, 'ABC-11' twice more).
// Also an empty table `empty_items`, and `order_lines`, a composite key
// (order_id, line_no): (1,1) x3, (1,2), (2,1), (2,NULL) x2, (NULL,NULL) x2,
// (3,1) -> 10 rows, duplicates 3: two more (1,1), one more (2,NULL); the
// all-NULL key is not counted.
void plant(Db& db) {
  std::string values;
  for (int id = 1; id <= 100; ++id) {
    std::string code = "'ABC-" + std::to_string(id) + "'";
    if (id <= 3)
      code = "NULL";
    else if (id <= 5)
      code = "''";
    else if (id == 6)
      code = "'N/A'";
    else if (id == 7)
      code = "'abc-1'";
    else if (id == 8)
      code = "'ABCD-1'";
    else if (id == 9)
      code = "'AB-12'";
    else if (id == 10)
      code = "'XYZ-1234567890123'";
    else if (id == 12 || id == 13)
      code = "'ABC-11'";
    values += (id == 1 ? "(" : ", (") + std::to_string(id) + ", " + code + ")";
  }
  db.exec("CREATE TABLE items (id int, code varchar(40)); INSERT INTO items VALUES " + values +
          "; CREATE TABLE empty_items (id int, code varchar(40)); "
          "CREATE TABLE order_lines (order_id int, line_no int); INSERT INTO order_lines VALUES "
          "(1, 1), "
          "(1, 1), (1, 1), (1, 2), (2, 1), (2, NULL), (2, NULL), (NULL, NULL), (NULL, NULL), "
          "(3, 1)");
}

const char* const kInvalidCodes[] = {"", "N/A", "abc-1", "ABCD-1", "AB-12", "XYZ-1234567890123"};

// The probes every kind runs, in order (index = Runner::run's argument).
std::string commonProbes(const Db& db) {
  const std::string items = db.table("items"), empty = db.table("empty_items"),
                    lines = db.table("order_lines");
  auto p = [](const std::string& name, const std::string& table, const std::string& rest) {
    return "  - {name: " + name + ", type: values, source: db, table: " + table + ", " + rest +
           "}\n";
  };
  std::string y = p("lengths", items,
                    "column: code, min_length: 5, max_length: 12, missing: ['', 'N/A'], "
                    "unique: true");
  // Each operator at its edge: 3 nulls in 100 rows (3%).
  const char* const bounds[] = {
      "< 3%", "<= 3%", "between 1 and 3", "not between 1 and 3", "= 3", "!= 3", "> 2", ">= 4"};
  for (int i = 0; i < 8; ++i)
    y += p("nulls" + std::to_string(i), items,
           "column: code, must: {nulls: \"" + std::string(bounds[i]) + "\"}");
  y += p("empty_ok", empty, "column: code, must: {nulls: \"= 0%\", missing: \"<= 0%\"}");
  y += p("empty_bad", empty, "column: code, must: {nulls: \"> 0%\"}");
  y += p("key", lines, "columns: [order_id, line_no], unique: true");
  y += p("key_ok", lines, "columns: [order_id, line_no], must: {duplicates: \"<= 3\"}");
  y += p("key_empty", empty, "columns: [id, code], unique: true");
  y += p("tolerated", items,
         "column: code, min_length: 5, max_length: 12, missing: ['', 'N/A'], "
         "must: {invalid: \"<= 4\", missing: \"<= 6%\", duplicates: \"= 3\", nulls: \"< 5%\"}");
  y += p("too_many_invalid", items,
         "column: code, min_length: 5, max_length: 12, must: {invalid: \"< 4\"}");
  return y;
}

// Pattern probes (not on odbc-sqlite: sqliteodbc has no REGEXP).
std::string patternProbes(const Db& db) {
  const std::string items = db.table("items");
  return "  - {name: full, type: values, source: db, table: " + items +
         ", column: code, pattern: '^[A-Z]{3}-[0-9]+$', min_length: 5, max_length: 12, "
         "missing: ['', 'N/A'], unique: true}\n"
         "  - {name: pattern_only, type: values, source: db, table: " +
         items + ", column: code, pattern: '^[A-Z]{3}-[0-9]+$', must: {invalid: \"= 6\"}}\n";
}

void checkCommon(Runner& r) {
  auto lengths = r.run(0);
  INFO(lengths.message);
  CHECK(lengths.status == ProbeStatus::Fail);
  CHECK(lengths.value == 13);  // 4 invalid + 6 missing + 3 duplicates
  CHECK(lengths.details["nulls"] == 3.0);
  CHECK(lengths.details["missing"] == 6.0);
  CHECK(lengths.details["invalid"] == 4.0);
  CHECK(lengths.details["wrong_length"] == 4.0);
  CHECK(lengths.details["not_matching"] == 0.0);
  CHECK(lengths.details["duplicates"] == 3.0);
  CHECK(lengths.details["samples"] == std::vector<std::string>{"", "N/A", "XYZ-1234567890123"});
  CHECK(lengths.message ==
        "13 violating rows of 100: 6 missing, 3 duplicates (e.g. \"ABC-11\", \"\"), 4 of a length "
        "outside the bounds (e.g. \"\", \"N/A\", \"XYZ-1234567890123\")");
  const ProbeStatus expected[] = {ProbeStatus::Fail, ProbeStatus::Pass, ProbeStatus::Pass,
                                  ProbeStatus::Fail, ProbeStatus::Pass, ProbeStatus::Fail,
                                  ProbeStatus::Pass, ProbeStatus::Fail};
  for (size_t i = 0; i < 8; ++i) {
    auto n = r.run(1 + i);
    INFO("nulls" << i << ": " << n.message);
    CHECK(n.status == expected[i]);
    CHECK(n.details["must"]["nulls"]["value"] == 3.0);
    CHECK(n.details["must"]["nulls"]["percent"] == Approx(3.0));
  }
  CHECK(r.run(1).message == "3 violating rows of 100: 3 nulls (3%), must be < 3%");
  CHECK(r.run(2).message == "100 rows, within bounds: 3 nulls (3%) <= 3%");
  auto empty_ok = r.run(9);
  CHECK(empty_ok.status == ProbeStatus::Pass);
  CHECK(empty_ok.details["must"]["nulls"]["percent"] == 0.0);
  CHECK(empty_ok.details["rows"] == 0.0);
  CHECK(r.run(10).status == ProbeStatus::Fail);
  auto key = r.run(11);
  INFO(key.message);
  CHECK(key.status == ProbeStatus::Fail);
  CHECK(key.value == 3);
  CHECK(key.details["rows"] == 10.0);
  CHECK(key.message ==
        "3 violating rows of 10: 3 duplicates (e.g. (\"1\", \"1\"), (\"2\", \"NULL\"))");
  CHECK(key.details["duplicate_keys"] ==
        std::vector<std::vector<std::string>>{{"1", "1"}, {"2", "NULL"}});
  CHECK(r.run(12).status == ProbeStatus::Pass);
  auto key_empty = r.run(13);
  CHECK(key_empty.status == ProbeStatus::Pass);
  CHECK(key_empty.details["rows"] == 0.0);
  auto tolerated = r.run(14);
  INFO(tolerated.message);
  CHECK(tolerated.status == ProbeStatus::Pass);
  CHECK(tolerated.details["must"]["missing"]["percent"] == Approx(6.0));
  CHECK(tolerated.details["must"]["invalid"]["value"] == 4.0);
  auto too_many = r.run(15);
  CHECK(too_many.status == ProbeStatus::Fail);
  CHECK(too_many.message ==
        "4 violating rows of 100: 4 invalid (4%), must be < 4 (e.g. \"\", \"N/A\", "
        "\"XYZ-1234567890123\")");
}

void checkPattern(Runner& r, size_t first) {
  auto full = r.run(first);
  INFO(full.message);
  CHECK(full.status == ProbeStatus::Fail);
  CHECK(full.value == 16);  // 7 invalid + 6 missing + 3 duplicates
  CHECK(full.details["not_matching"] == 6.0);
  CHECK(full.details["wrong_length"] == 4.0);
  CHECK(full.details["invalid"] == 7.0);
  CHECK_THAT(full.message, Catch::StartsWith("16 violating rows of 100: 6 missing, 3 duplicates "
                                             "(e.g. \"ABC-11\", \"\"), "
                                             "6 not matching the pattern, 4 of a length outside "
                                             "the bounds (e.g. "));
  // Five of the six distinct invalid codes (their order is the collation's).
  const std::set<std::string> invalid(std::begin(kInvalidCodes), std::end(kInvalidCodes));
  REQUIRE(full.details["samples"].size() == 5);
  for (const auto& s : full.details["samples"]) CHECK(invalid.count(s.get<std::string>()) == 1);
  auto only = r.run(first + 1);
  INFO(only.message);
  CHECK(only.status == ProbeStatus::Pass);
  CHECK(only.details["not_matching"] == 6.0);
}

std::string loadErrors(const std::string& probe, const std::string& source =
                                                     "{type: sqlite, "
                                                     "path: /tmp/x.db}") {
  auto r = config::loadConfigFromString("sources:\n  db: " + source +
                                            "\nprobes:\n  - {name: v, type: values, source: db, " +
                                            "table: t, " + probe + "}\n",
                                        "/tmp/v.yaml");
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

}  // namespace

TEST_CASE(
    "values rules count missing, invalid and duplicate rows and judge each bound, on every "
    "database",
    "[values][postgres][odbc]") {
  for (const std::string& kind : dbKinds()) {
    DYNAMIC_SECTION(kind) {
      auto db = makeDb(kind);
      plant(*db);
      const bool has_regexp = kind != "odbc-sqlite";
      Runner r(*db, commonProbes(*db) + (has_regexp ? patternProbes(*db) : ""));
      checkCommon(r);
      if (has_regexp) checkPattern(r, 16);
    }
  }
}

TEST_CASE("values config errors are reported at their line", "[values][config]") {
  CHECK_THAT(loadErrors("column: c, pattern: '[A-Z'"),
             Catch::Contains("/tmp/v.yaml:4:") && Catch::Contains("pattern \"[A-Z\" is not a "
                                                                  "valid regular expression"));
  CHECK_THAT(loadErrors("column: c, pattern: '" + std::string(100000, '(') + "a" +
                        std::string(100000, ')') + "'"),
             Catch::Contains("pattern is 200001 characters long; at most 4096"));
  CHECK_THAT(loadErrors("column: c, must: {nuls: '< 1%'}"),
             Catch::Contains("must: unknown metric \"nuls\"") &&
                 Catch::Contains("did you mean \"nulls\""));
  CHECK_THAT(loadErrors("column: c, must: {nulls: 'less than 3'}"),
             Catch::Contains("must.nulls: \"less than 3\": no comparison operator"));
  CHECK_THAT(loadErrors("column: c, must: {nulls: 3}"),
             Catch::Contains("must.nulls: \"3\": no comparison operator"));
  CHECK_THAT(loadErrors("column: c, must: {nulls: '< 120%'}"),
             Catch::Contains("a percentage must be between 0 and 100"));
  CHECK_THAT(loadErrors("column: c, must: [nulls]"), Catch::Contains("must is a map of metric"));
  CHECK_THAT(loadErrors("columns: [a], unique: true"),
             Catch::Contains("columns is a composite key of 2 or more columns"));
  CHECK_THAT(loadErrors("column: c, columns: [a, b], unique: true"),
             Catch::Contains("set either column or columns"));
  CHECK_THAT(loadErrors("columns: [a, b], unique: true, pattern: 'x'"),
             Catch::Contains("pattern checks one column"));
  CHECK_THAT(loadErrors("columns: [a, b], must: {nulls: '= 0'}"),
             Catch::Contains("must.nulls checks one column") &&
                 Catch::Contains("columns needs unique: true or must: {duplicates: ...}"));
  CHECK_THAT(loadErrors("column: c, min_length: 5, max_length: 2"),
             Catch::Contains("min_length is greater than max_length"));
  CHECK_THAT(loadErrors("column: c, min_length: -1"), Catch::Contains("min_length must be >= 0"));
  CHECK_THAT(loadErrors("column: c, max_null_ratio: 0.1, must: {nulls: '< 1%'}"),
             Catch::Contains("set either max_null_ratio or must.nulls"));
  CHECK_THAT(loadErrors("column: c, must: {invalid: '= 0'}"),
             Catch::Contains("must.invalid needs a rule that makes a value invalid"));
  CHECK_THAT(loadErrors("column: c, missing: []"), Catch::Contains("missing must not be empty"));
  // Where the SQL cannot say it: T-SQL has no regular expressions, sqliteodbc no REGEXP.
  CHECK_THAT(loadErrors("column: c, pattern: '^a'",
                        "{type: odbc, dialect: sqlserver, connection: 'Driver=x'}"),
             Catch::Contains("pattern needs regular expressions, which T-SQL does not have"));
  CHECK_THAT(loadErrors("column: c, pattern: '^a'",
                        "{type: odbc, dialect: sqlite, connection: 'Driver=SQLite3;Database=x'}"),
             Catch::Contains("sqliteodbc does not define"));
  CHECK(loadErrors("column: c, pattern: '^a'",
                   "{type: odbc, dialect: sqlite, connection: 'Driver=SQLite3;LoadExt=re.so'}")
            .empty());
  CHECK(loadErrors("column: c, pattern: '^[A-Z]{3}$', min_length: 0, max_length: 3, "
                   "missing: ['', 'N/A'], must: {nulls: '< 1%', missing: '= 0', invalid: "
                   "'not between 1 and 5', duplicates: 'between 0 and 2'}")
            .empty());
  CHECK(loadErrors("columns: [a, b], must: {duplicates: '= 0'}").empty());
}

TEST_CASE("the SQLite source's REGEXP searches with ECMAScript and reports a bad pattern",
          "[values][sqlite]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec(
      "CREATE TABLE t (v text); INSERT INTO t VALUES ('ABC-12'), ('abc-1'), (NULL), ('x ABC-1')");
  SimulatedClock clock(*parseTimestamp("2026-11-26T10:00:00Z"));
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", std::chrono::seconds(1)}, 1,
                   clock);
  auto q = src.query("SELECT sum(v REGEXP ?1), sum(v REGEXP ?2), count(v REGEXP ?1) FROM t",
                     {std::string("^[A-Z]{3}-[0-9]+$"), std::string("[A-Z]{3}-[0-9]")}, {});
  REQUIRE(q.ok());
  CHECK(sqlValueToDouble(q->rows[0][0]) == 1.0);  // anchored: ABC-12 only
  CHECK(sqlValueToDouble(q->rows[0][1]) == 2.0);  // a search: ABC-12 and x ABC-1
  CHECK(sqlValueToDouble(q->rows[0][2]) == 3.0);  // NULL REGEXP p is NULL
  auto bad = src.query("SELECT v REGEXP ?1 FROM t", {std::string("[A-Z")}, {});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error(), Catch::Contains("REGEXP: invalid regular expression \"[A-Z\""));
  // Characters, not bytes: "é" is one (as in PostgreSQL); an ill-formed
  // byte is one character too.
  auto chars = src.query(
      "SELECT 'ééé' REGEXP ?1, 'ab' REGEXP ?1, 'é' REGEXP ?2, 'e' REGEXP ?2, "
      "CAST(x'41ff42' AS TEXT) REGEXP ?1",
      {std::string("^.{3}$"), std::string("^[àé]$")}, {});
  REQUIRE(chars.ok());
  CHECK(sqlValueToDouble(chars->rows[0][0]) == 1.0);
  CHECK(sqlValueToDouble(chars->rows[0][1]) == 0.0);
  CHECK(sqlValueToDouble(chars->rows[0][2]) == 1.0);
  CHECK(sqlValueToDouble(chars->rows[0][3]) == 0.0);
  CHECK(sqlValueToDouble(chars->rows[0][4]) == 1.0);
  // The connection stays usable, and a new pattern replaces the cached one.
  auto again = src.query("SELECT count(*) FROM t WHERE v REGEXP ?1", {std::string("^abc")}, {});
  REQUIRE(again.ok());
  CHECK(sqlValueToDouble(again->rows[0][0]) == 1.0);
}

TEST_CASE("the SQLite source's REGEXP neither overflows the stack nor backtracks exponentially",
          "[values][sqlite]") {
  TempDir dir;
  SqliteDb db(dir / "w.db");
  db.exec("CREATE TABLE t (v text); INSERT INTO t VALUES (printf('%.*c', 200000, 'A'))");
  SimulatedClock clock(*parseTimestamp("2026-11-26T10:00:00Z"));
  SqliteSource src("db", config::SqliteSourceConfig{dir / "w.db", std::chrono::seconds(1)}, 1,
                   clock);
#if defined(__GLIBCXX__)
  // A 200 KB value: std::regex's backtracking executor recursed per character
  // and overflowed the stack here (measured: from ~40 KB with ^[A-Z]+$, from
  // ~10 KB with nested groups). Now matched breadth-first.
  auto q = src.query("SELECT v REGEXP ?1, v REGEXP ?2, (v || 'x') REGEXP ?1 FROM t",
                     {std::string("^[A-Z]+$"), std::string("^((A|B)|(C|D))*$")}, {});
  REQUIRE(q.ok());
  CHECK(sqlValueToDouble(q->rows[0][0]) == 1.0);
  CHECK(sqlValueToDouble(q->rows[0][1]) == 1.0);
  CHECK(sqlValueToDouble(q->rows[0][2]) == 0.0);
  // 2^40 paths for a backtracking executor: hangs without the polynomial mode.
  auto evil =
      src.query("SELECT printf('%.*c', 40, 'a') || '!' REGEXP ?1", {std::string("^(a+)+$")}, {});
  REQUIRE(evil.ok());
  CHECK(sqlValueToDouble(evil->rows[0][0]) == 0.0);
  // A back-reference needs backtracking: refused as a pattern, clearly.
  auto backref = src.query("SELECT 'aa' REGEXP ?1", {std::string("(a)\\1")}, {});
  REQUIRE_FALSE(backref.ok());
  CHECK_THAT(backref.error(), Catch::Contains("REGEXP: invalid regular expression \"(a)\\1\""));
#else
  auto over = src.query("SELECT v REGEXP ?1 FROM t", {std::string("^[A-Z]+$")}, {});
  REQUIRE_FALSE(over.ok());
  CHECK_THAT(over.error(), Catch::Contains("a value of 200000 bytes is longer than the 1000"));
#endif
}
