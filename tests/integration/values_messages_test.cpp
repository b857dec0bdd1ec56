// What a values probe's message says, word for word (probes/values.cpp): the
// range a value fell out of, singular counts ("1 null", "1 row"), a pass
// within bounds, and example duplicated values. SQLite in a temp dir; the
// counts are worked out from the rows inserted below.

#include <catch2/catch.hpp>

#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

TEST_CASE("values messages: ranges, singulars, bounds and duplicate examples", "[values]") {
  TempDir dir;
  {
    SqliteDb db(dir / "w.db");
    // v: -5 and 20000 out of [0, 10000]; 7 three times, 8 twice; one NULL.
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
    db.exec("INSERT INTO t (v) VALUES (-5), (20000), (7), (7), (7), (8), (8), (NULL)");
    db.exec("CREATE TABLE one (v INTEGER)");
    db.exec("INSERT INTO one VALUES (NULL)");
  }
  auto cfg = loadTestConfig(
      "sources:\n  w: {type: sqlite, path: ./w.db}\nprobes:\n"
      "  - {name: range, type: values, source: w, table: t, column: v, min: 0, max: 10000}\n"
      "  - {name: low, type: values, source: w, table: t, column: v, min: 0}\n"
      "  - {name: dups, type: values, source: w, table: t, column: v, unique: true}\n"
      "  - {name: one_null, type: values, source: w, table: one, column: v, "
      "max_null_ratio: 0.5}\n"
      "  - {name: tolerated, type: values, source: w, table: t, column: v, min: 0, max: 100, "
      "must: {invalid: '<= 100%'}}\n",
      (dir / "dw.yaml").string());
  ProbeHarness h(cfg);
  CHECK(h.run(0).message ==
        "2 violating rows of 8: 2 out of range [0, 10000] (e.g. \"-5\", \"20000\")");
  CHECK(h.run(1).message == "1 violating row of 8: 1 out of range (must be >= 0) (e.g. \"-5\")");
  // 8 non-null values, 4 distinct: 3 duplicates; 7 (three times) first.
  CHECK(h.run(2).message == "3 violating rows of 8: 3 duplicates (e.g. \"7\", \"8\")");
  CHECK(h.run(3).message == "1 violating row of 1: 1 null (100% > 50%)");
  // -5 and 20000 invalid: 2 of 8 rows = 25%.
  CHECK(h.run(4).message == "8 rows, within bounds: 2 invalid (25%) <= 100%");
}

TEST_CASE("values samples are cut at 64 bytes on a character boundary", "[values]") {
  TempDir dir;
  // 63 ASCII bytes then 'é' (2 bytes, straddling byte 64) and more: the cut
  // falls before 'é', never inside it. A short bad value stays whole.
  const std::string head(63, 'a');
  const std::string long_value = head + "\xC3\xA9" + std::string(5000, 'b');
  {
    SqliteDb db(dir / "w.db");
    db.exec("CREATE TABLE t (v TEXT)");
    db.exec("INSERT INTO t VALUES ('" + long_value + "'), ('zz')");
  }
  auto cfg = loadTestConfig(
      "sources:\n  w: {type: sqlite, path: ./w.db}\nprobes:\n"
      "  - {name: ok, type: values, source: w, table: t, column: v, accepted: [x]}\n",
      (dir / "dw.yaml").string());
  ProbeHarness h(cfg);
  const auto r = h.run(0);
  INFO(r.message);
  CHECK(r.message.find("\"" + head + "\xE2\x80\xA6\"") != std::string::npos);
  CHECK(r.message.find("\"zz\"") != std::string::npos);
  CHECK(r.message.size() < 200);
}
