// Drift probes on every database kind (db_under_test.hpp: SQLite and PostgreSQL
// natively, SQLite, PostgreSQL and MariaDB through ODBC), checked against reference
// statistics computed independently with numpy/scipy by
// tests/fixtures/drift/make_reference.py (committed with its output, so no Python
// is needed here).

#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/time_format.hpp"
#include "probes/drift.hpp"
#include "store/sqlite_state_store.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using nlohmann::json;

namespace {

const std::string kFixtures = std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/drift/";

json reference() {
  std::ifstream in(kFixtures + "reference.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// Creates table `name` (id, ts, value) from the case's CSV.
void loadCase(Db& db, const std::string& name, bool numeric) {
  db.exec("CREATE TABLE " + name + " (id int, ts " + db.timestampType() + ", value " +
          (numeric ? "double precision" : "text") + ")");
  std::ifstream in(kFixtures + name + ".csv");
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  std::string batch;
  size_t n = 0;
  auto flush = [&] {
    if (!batch.empty()) db.exec("INSERT INTO " + name + " VALUES " + batch);
    batch.clear();
  };
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string id, ts, value;
    std::getline(ss, id, ',');
    std::getline(ss, ts, ',');
    std::getline(ss, value);
    const std::string v = value.empty() ? "NULL" : numeric ? value : "'" + value + "'";
    batch += (batch.empty() ? "" : ",") + std::string("(") + id + ", " + db.timestamp(ts) + ", " +
             v + ")";
    if (++n % 1000 == 0) flush();
  }
  flush();
}

ProbeHarness harness(const Db& db, const std::string& probes_yaml, StateStore* store = nullptr) {
  return ProbeHarness(
      loadTestConfig("sources:\n  db: " + db.sourceYaml() + "\nprobes:\n" + probes_yaml,
                     "/tmp/drift.yaml", db.env()),
      *parseTimestamp("2026-11-26T10:00:00Z"), store);
}

std::string windowedProbe(const std::string& name, const std::string& table,
                          const std::string& method, int bins) {
  return "  - {name: " + name + ", type: drift, source: db, table: " + table +
         ", column: value, time_column: ts, window: 1d, baseline: {window: 7d, lag: 7d}, " +
         "method: " + method + ", bins: " + std::to_string(bins) + "}\n";
}

std::vector<double> binCounts(const json& details, const char* side) {
  std::vector<double> out;
  for (const auto& b : details.at("bins")) out.push_back(b.at(side).get<double>());
  return out;
}

}  // namespace

TEST_CASE("drift scores match the numpy and scipy reference on every database",
          "[drift][postgres][odbc]") {
  const std::string kind = GENERATE(from_range(dbKinds()));
  INFO(kind);
  auto db = makeDb(kind);
  const json ref = reference().at("cases");
  std::string yaml;
  std::vector<std::pair<std::string, std::string>> runs;  // (case, method)
  for (const auto& [name, c] : ref.items()) {
    if (name == "n_empty") continue;
    const bool numeric = c.at("kind") == "numeric";
    loadCase(*db, name, numeric);
    const std::vector<std::string> methods =
        numeric ? std::vector<std::string>{"psi", "js", "ks", "wasserstein"}
                : std::vector<std::string>{"psi", "js", "chi2"};
    for (const auto& m : methods) {
      yaml += windowedProbe(name + "_" + m, db->table(name), m, c.at("bins").get<int>());
      runs.emplace_back(name, m);
    }
  }
  auto h = harness(*db, yaml);
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& [name, method] = runs[i];
    const json& c = ref.at(name);
    INFO(name << " " << method);
    const ProbeResult r = h.run(i);
    INFO(r.message);
    REQUIRE(r.status != ProbeStatus::Error);
    const json& d = r.details;
    // Same bins, same counts: the quantiles, windows and binning agree exactly.
    CHECK(binCounts(d, "baseline") == c.at("baseline_counts").get<std::vector<double>>());
    CHECK(binCounts(d, "current") == c.at("current_counts").get<std::vector<double>>());
    CHECK(d.at("baseline").at("null_ratio").get<double>() ==
          Approx(c.at("baseline_null_ratio").get<double>()));
    CHECK(d.at("current").at("null_ratio").get<double>() ==
          Approx(c.at("current_null_ratio").get<double>()));
    CHECK(d.at("baseline").at("sample").at("method") == "none");
    const double score = *r.value;
    if (method == "ks") {
      CHECK(score == Approx(c.at("ks").get<double>()).margin(1e-12));
      // The binned statistic bounds the exact one from below, within its error bound.
      const double exact = c.at("ks_exact").get<double>();
      CHECK(score <= exact + 1e-12);
      CHECK(exact <= score + d.at("error_bound").get<double>() + 1e-12);
    } else if (method == "wasserstein") {
      const double exact = c.at("wasserstein_exact").get<double>();
      CHECK(d.at("spread").get<double>() ==
            Approx(c.at("wasserstein_spread").get<double>()).epsilon(1e-9));
      CHECK(std::abs(score - exact) <= d.at("error_bound").get<double>() + 1e-9);
      // The documented practical tolerance (docs/drift.md).
      CHECK(std::abs(score - exact) <= 0.01 + 0.02 * exact);
    } else if (method == "chi2") {
      if (c.contains("chi2")) {
        CHECK(score == Approx(c.at("chi2").get<double>()).epsilon(1e-9));
        CHECK(d.at("p_value").get<double>() ==
              Approx(c.at("chi2_p_value").get<double>()).epsilon(1e-6).margin(1e-300));
        CHECK(d.at("df") == c.at("chi2_df"));
      } else {  // one bin: nothing to test
        CHECK(score == 0);
        CHECK(d.at("p_value") == 1.0);
      }
    } else {
      CHECK(score == Approx(c.at(method).get<double>()).epsilon(1e-9).margin(1e-12));
    }
  }
  // The verdicts an engineer expects from the default thresholds.
  auto verdict = [&](const std::string& name, const std::string& method) {
    for (size_t i = 0; i < runs.size(); ++i)
      if (runs[i] == std::make_pair(name, method)) return h.run(i).status;
    FAIL("no run " << name << " " << method);
    return ProbeStatus::Error;
  };
  CHECK(verdict("n_identical", "psi") == ProbeStatus::Pass);
  CHECK(verdict("n_same", "psi") == ProbeStatus::Pass);
  CHECK(verdict("c_same", "psi") == ProbeStatus::Pass);
  CHECK(verdict("n_scale", "psi") == ProbeStatus::Fail);
  CHECK(verdict("n_single_shift", "wasserstein") == ProbeStatus::Fail);
  CHECK(verdict("c_new", "js") == ProbeStatus::Fail);
  CHECK(verdict("c_vanish", "chi2") == ProbeStatus::Fail);
  CHECK(verdict("n_nulls", "psi") == ProbeStatus::Fail);
}

TEST_CASE("drift details name the moved bins and the new categories", "[drift]") {
  auto db = makeDb("sqlite");
  loadCase(*db, "c_new", false);
  auto h = harness(*db, windowedProbe("p", "c_new", "psi", 10));
  const ProbeResult r = h.run();
  REQUIRE(r.status == ProbeStatus::Fail);
  CHECK(r.details.at("top_moved").at(0).at("bin") == "(other)");
  CHECK(r.details.at("new_categories").at(0).at("value") == "crypto");
  CHECK(r.message.find("moved most: (other)") != std::string::npos);
  CHECK(r.threshold == json{{"max", 0.2}});
  CHECK(r.unit == "score");
}

TEST_CASE("drift errors: empty current window, small baseline, wrong method for the column",
          "[drift]") {
  auto db = makeDb("sqlite");
  loadCase(*db, "n_empty", true);
  loadCase(*db, "c_same", false);
  auto h = harness(*db, windowedProbe("empty", "n_empty", "psi", 10) +
                            windowedProbe("small", "n_empty", "psi", 300) +
                            windowedProbe("ks_on_text", "c_same", "ks", 10) +
                            windowedProbe("missing", "no_such_table", "psi", 10));
  const ProbeResult empty = h.run(0);
  CHECK(empty.status == ProbeStatus::Error);
  CHECK(empty.message.find("no rows in the current window (1d)") != std::string::npos);
  const ProbeResult small = h.run(1);
  CHECK(small.status == ProbeStatus::Error);
  CHECK(small.message ==
        "baseline has 2000 rows with a value in [2026-11-12T10:00:00Z, "
        "2026-11-19T10:00:00Z]; drift needs at least 3000 (10 per bin, bins: 300)");
  const ProbeResult ks = h.run(2);
  CHECK(ks.status == ProbeStatus::Error);
  CHECK(ks.message.find("ks needs a numeric column") != std::string::npos);
  const ProbeResult missing = h.run(3);
  CHECK(missing.status == ProbeStatus::Error);
  CHECK(missing.message.find("no_such_table") != std::string::npos);
}

TEST_CASE("pinned drift baselines are kept in the state store and re-pinned by check --repin",
          "[drift]") {
  TempDir dir;
  // A hostile column name: quoted everywhere, never spliced.
  {
    SqliteDb w(dir / "w.db");
    w.exec("CREATE TABLE readings (\"va\"\"l ue\" real)");
    std::string rows;
    for (int i = 0; i < 500; ++i)
      rows += (i ? "," : "") + std::string("(") + std::to_string(i % 50) + ")";
    w.exec("INSERT INTO readings VALUES " + rows);
  }
  const auto cfg = dir / "dw.yaml";
  writeFile(cfg, "agent: {state: \"sqlite://" + (dir / "state.db").string() +
                     "\"}\nsources:\n  db: {type: sqlite, path: " + (dir / "w.db").string() +
                     "}\nprobes:\n  - {name: pinned, type: drift, source: db, table: readings, "
                     "column: 'va\"l ue', baseline: pinned, bins: 10}\n");
  auto check = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv{DATAWATCH_BINARY, "check",    "-c",
                                  cfg.string(),     "--format", "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto res = runCommand(argv);
    INFO(res.err);
    return std::make_pair(res.exit_code, json::parse(res.out).at(0));
  };
  auto [code1, first] = check({});
  CHECK(code1 == 0);
  CHECK(first.at("details").at("baseline").at("captured_now") == true);
  CHECK(first.at("value") == 0.0);
  {
    SqliteDb w(dir / "w.db");  // the stuck sensor: 500 more readings, all 49
    std::string rows;
    for (int i = 0; i < 500; ++i) rows += (i ? "," : "") + std::string("(49)");
    w.exec("INSERT INTO readings VALUES " + rows);
  }
  auto [code2, second] = check({});
  CHECK(code2 == 1);
  CHECK(second.at("status") == "fail");
  CHECK_FALSE(second.at("details").at("baseline").contains("captured_now"));
  CHECK(second.at("details").at("baseline").at("pinned_at") ==
        first.at("details").at("baseline").at("pinned_at"));
  auto [code3, third] = check({"--repin"});
  CHECK(code3 == 0);
  CHECK(third.at("details").at("baseline").at("captured_now") == true);
  CHECK(third.at("value") == 0.0);
}

TEST_CASE("postgres drift samples big tables with TABLESAMPLE and says how", "[drift][postgres]") {
  auto db = makeDb("postgres");
  db->exec(
      "CREATE TABLE big AS SELECT g AS id, (g % 1000)::float8 AS value FROM "
      "generate_series(1, 200000) g; ANALYZE big;"
      "CREATE TABLE small AS SELECT g AS id, (g % 100)::float8 AS value FROM "
      "generate_series(1, 20000) g; ANALYZE small");
  auto h = harness(*db, "  - {name: big, type: drift, source: db, table: " + db->table("big") +
                            ", column: value, sample_rows: 20000}\n"
                            "  - {name: small, type: drift, source: db, table: " +
                            db->table("small") + ", column: value, sample_rows: 1000}\n");
  const ProbeResult big = h.run(0);
  INFO(big.message);
  REQUIRE(big.status == ProbeStatus::Pass);
  const json& s = big.details.at("current").at("sample");
  CHECK(s.at("method") == "system");
  CHECK(s.at("percent").get<double>() == Approx(10).epsilon(0.05));
  // SYSTEM samples ~108 of 1081 pages: about +-9% (1 sd); +-40% is over 4 sd.
  CHECK(s.at("rows").get<double>() > 20000 * 0.6);
  CHECK(s.at("rows").get<double>() < 20000 * 1.4);
  const ProbeResult small = h.run(1);
  INFO(small.message);
  REQUIRE(small.status != ProbeStatus::Error);
  CHECK(small.details.at("current").at("sample").at("method") == "bernoulli");
}

TEST_CASE("sqlite drift samples above sample_rows", "[drift]") {
  auto db = makeDb("sqlite");
  db->exec("CREATE TABLE t (value real)");
  std::string rows;
  for (int i = 0; i < 5000; ++i)
    rows += (i ? "," : "") + std::string("(") + std::to_string(i % 97) + ")";
  db->exec("INSERT INTO t VALUES " + rows);
  auto h = harness(*db,
                   "  - {name: s, type: drift, source: db, table: t, column: value, "
                   "sample_rows: 1000}\n");
  const ProbeResult r = h.run();
  INFO(r.message);
  REQUIRE(r.status != ProbeStatus::Error);
  const json& s = r.details.at("current").at("sample");
  CHECK(s.at("method") == "random");
  CHECK(s.at("rows").get<double>() > 700);
  CHECK(s.at("rows").get<double>() < 1300);
}
