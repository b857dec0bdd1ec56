// `datawatch import dbt` against the test PostgreSQL: the v12 fixture
// (tests/fixtures/dbt/v12.json) pointed at a fresh schema whose tables hold
// what dbt's tests accept, except one planted orphan. Every imported probe
// must reach dbt's verdict: a `where`-filtered unique and a `quote: null`
// camelCase column PASS (the old import failed both: it dropped `where` and
// quoted the name; control probes written the old way show the data really
// fails them), the relationships probe finds the orphan.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "tests/support/db_under_test.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kFixtures = std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/dbt/";

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size()))
    s.replace(i, from.size(), to);
}

// The v12 fixture with every relation in `schema` of the current database.
std::string manifestIn(const std::string& schema) {
  auto j = nlohmann::json::parse(readFile(kFixtures + "v12.json"));
  for (auto* map : {&j["nodes"], &j["sources"]}) {
    for (auto& [id, n] : map->items()) {
      if (!n.contains("schema") || n["resource_type"] == "test") continue;
      n["schema"] = schema;
      const std::string table = n.contains("alias") ? n["alias"] : n["identifier"];
      n["relation_name"] = "\"warehouse\".\"" + schema + "\".\"" + table + "\"";
    }
  }
  std::string text = j.dump();
  replaceAll(text, "\\\"warehouse\\\".\\\"analytics\\\".", "\\\"" + schema + "\\\".");
  replaceAll(text, "from raw.raw_customers", "from " + schema + ".raw_customers");
  return text;
}

const char* kTables = R"(
CREATE TABLE raw_orders (id integer, _loaded_at timestamptz);
INSERT INTO raw_orders VALUES (1, now() - interval '1 hour');
CREATE TABLE raw_customers (id integer, updated_at timestamptz);
INSERT INTO raw_customers VALUES (10, now() - interval '2 hours');
CREATE TABLE orders (order_id integer, transactionHash text, status text, customer_id integer,
                     tx_id integer, origin_chain_id integer, order_date date);
INSERT INTO orders VALUES
  (1, '0xa', 'placed', 10, 100, 1, '2024-01-01'),
  (2, '0xb', 'shipped', 11, 100, NULL, '2024-01-02'),
  (3, '0xc', 'completed', 99, 100, NULL, '2024-01-03');
CREATE TABLE dim_customers (customer_id integer NOT NULL, "Email" text, name varchar(100));
INSERT INTO dim_customers VALUES (10, 'a@example.com', 'Ann'), (11, 'b@example.com', 'Bob');
)";

// The probes of the old import for the same two tests: no filter, the name quoted.
std::string oldProbes(const std::string& schema) {
  return "  - {name: old_unique_tx_id, type: values, source: warehouse, table: " + schema +
         ".orders, column: tx_id, unique: true}\n"
         "  - {name: old_not_null_transactionhash, type: values, source: warehouse, table: " +
         schema + ".orders, column: '\"transactionHash\"', max_null_ratio: 0}\n";
}

}  // namespace

TEST_CASE("import dbt on PostgreSQL: dbt's verdicts, where and folding included",
          "[integration][dbt][postgres]") {
  PgDbUnderTest db;
  const std::string table = db.table("x");
  const std::string schema = table.substr(0, table.size() - 2);
  db.exec(kTables);

  TempDir dir;
  writeFile(dir / "manifest.json", manifestIn(schema));
  const auto config = (dir / "dbt.yaml").string();
  auto imported = runCommand({kBinary, "import", "dbt", (dir / "manifest.json").string(), "-o",
                              config, "--dsn-env", "PGDSN"});
  REQUIRE(imported.exit_code == 0);
  writeFile(config, readFile(config) + oldProbes(schema));

  auto check = runCommand({kBinary, "check", "-c", config, "--format", "json"}, db.env());
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);  // failures, no errors but the control probe's
  const auto results = nlohmann::json::parse(check.out);
  std::map<std::string, std::pair<std::string, double>> got;
  for (const auto& r : results)
    got[r["probe"]] = {r["status"], r["value"].is_number() ? r["value"].get<double>() : -1};
  const std::map<std::string, std::string> want{
      {"orders__tx_id", "pass"},                  // unique where origin_chain_id IS NOT NULL
      {"old_unique_tx_id", "fail"},               // without the where: tx_id 100 three times
      {"orders__transactionhash", "pass"},        // transactionHash unquoted: transactionhash
      {"old_not_null_transactionhash", "error"},  // "transactionHash" does not exist
      {"relationships_orders_customer_id__customer_id__ref_customers", "fail"},
      {"orders__order_id", "pass"},
      {"orders__status", "pass"},
      {"orders__status__warn", "pass"},
      {"not_null_orders_customer_id", "pass"},
      {"not_null_orders_customer_id__warn", "pass"},
      {"orders__customer_id_order_date", "pass"},
      {"customers__email", "pass"},
      {"customers__contract", "pass"},
      {"unique_customers_name", "pass"},
      {"unique_customers_name__warn", "pass"},
      {"assert_no_negative_order_ids", "pass"},
      {"shop_raw_orders_fresh", "pass"},
      {"shop_raw_orders_fresh__warn", "pass"},
      {"shop_raw_customers_fresh", "pass"},
  };
  CHECK(got.size() == want.size());
  for (const auto& [probe, status] : want) {
    INFO(probe);
    REQUIRE(got.count(probe));
    CHECK(got[probe].first == status);
  }
  // One orphan: customer 99.
  CHECK(got["relationships_orders_customer_id__customer_id__ref_customers"].second == 1.0);
  // loaded_at_query: the age of the newest update, 2 hours, in seconds.
  CHECK(got["shop_raw_customers_fresh"].second == Approx(7200).margin(120));
}

namespace {

// A model node of the hand-written manifest below, in `schema`.
nlohmann::json modelNode(const std::string& schema, const std::string& name,
                         const std::vector<std::string>& deps = {}) {
  return {{"resource_type", "model"},
          {"name", name},
          {"package_name", "p"},
          {"database", "warehouse"},
          {"schema", schema},
          {"alias", name},
          {"relation_name", "\"warehouse\".\"" + schema + "\".\"" + name + "\""},
          {"columns", nlohmann::json::object()},
          {"depends_on", {{"nodes", deps}}}};
}

// A test node: generic when `kind` is set, else singular.
nlohmann::json testNode(const std::string& name, const std::string& model, const std::string& kind,
                        const nlohmann::json& kwargs, const nlohmann::json& config,
                        const std::string& compiled = "") {
  nlohmann::json n = {{"resource_type", "test"},
                      {"name", name},
                      {"config", config},
                      {"depends_on", {{"nodes", {model}}}}};
  if (!kind.empty()) {
    n["attached_node"] = model;
    n["test_metadata"] = {{"name", kind}, {"kwargs", kwargs}, {"namespace", nullptr}};
    if (kind == "unique_combination_of_columns") n["test_metadata"]["namespace"] = "dbt_utils";
  }
  if (!compiled.empty()) n["compiled_code"] = compiled;
  return n;
}

}  // namespace

// The NULLs and thresholds dbt's macros treat their own way, each planted:
// dbt_utils.unique_combination_of_columns groups NULL keys (two all-NULL rows
// are a duplicate; the values probe would skip them), accepted_values ignores
// NULL and, with quote: false, takes SQL literals ('x'), a fail_calc of
// sum(...) over no failing rows is NULL and passes, a relationships `field`
// that is an expression is counted from the compiled SQL, a singular test
// whose SQL holds ';' is skipped (not an invalid file), and a severity-warn
// probe is never another probe's upstream.
TEST_CASE("import dbt on PostgreSQL: NULL keys, quote false, fail_calc and one statement",
          "[integration][dbt][postgres]") {
  PgDbUnderTest db;
  const std::string t = db.table("x");
  const std::string s = t.substr(0, t.size() - 2);
  db.exec(
      "CREATE TABLE facts (a integer, b integer, c integer, st text, k integer);"
      "INSERT INTO facts VALUES (NULL, NULL, 1, 'x', 1), (NULL, NULL, 2, 'y', 2),"
      "  (1, 2, NULL, NULL, 3), (1, 3, NULL, 'x', 4);"
      "CREATE TABLE child (fk integer); INSERT INTO child VALUES (1), (5), (NULL);");
  const std::string facts = "model.p.facts", child = "model.p.child";
  const nlohmann::json plain = {{"severity", "ERROR"}};
  nlohmann::json nodes = {{facts, modelNode(s, "facts")}, {child, modelNode(s, "child", {facts})}};
  auto add = [&](const std::string& name, nlohmann::json n) { nodes["test.p." + name] = n; };
  add("combo_ab", testNode("combo_ab", facts, "unique_combination_of_columns",
                           {{"combination_of_columns", {"a", "b"}}}, plain));
  add("combo_c", testNode("combo_c", facts, "unique_combination_of_columns",
                          {{"combination_of_columns", {"c"}}}, plain));
  add("accepted_st",
      testNode("accepted_st", facts, "accepted_values",
               {{"column_name", "st"}, {"values", {"'x'", "'y'"}}, {"quote", false}}, plain));
  add("my_check",
      testNode("my_check", facts, "my_check", nlohmann::json::object(), {{"fail_calc", "sum(n)"}},
               "select k, 1 as n from " + s + ".facts where k > 100"));
  add("warn_check",
      testNode("warn_check", facts, "warn_check", nlohmann::json::object(), {{"severity", "warn"}},
               "select * from " + s + ".facts where k > 100"));
  add("rel_fk", testNode("rel_fk", child, "relationships",
                         {{"column_name", "fk"}, {"to", "ref('facts')"}, {"field", "k + 0"}}, plain,
                         "select fk from " + s + ".child where fk is not null and fk not in " +
                             "(select k + 0 from " + s + ".facts)"));
  add("semicolon", testNode("semicolon", facts, "", nullptr, plain,
                            "select * from " + s + ".facts where k < 0 -- one; two"));
  const nlohmann::json manifest = {
      {"metadata",
       {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        {"adapter_type", "postgres"}}},
      {"nodes", nodes},
      {"sources", nlohmann::json::object()}};

  TempDir dir;
  writeFile(dir / "manifest.json", manifest.dump());
  const auto config = (dir / "dbt.yaml").string();
  auto imported = runCommand({kBinary, "import", "dbt", (dir / "manifest.json").string(), "-o",
                              config, "--dsn-env", "PGDSN"});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  const std::string yaml = readFile(config);
  INFO(yaml);
  CHECK(yaml.find("#   test.p.semicolon (singular test: its compiled SQL or fail_calc holds ';'") !=
        std::string::npos);

  auto check = runCommand({kBinary, "check", "-c", config, "--format", "json"}, db.env());
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  std::map<std::string, std::pair<std::string, double>> got;
  for (const auto& r : nlohmann::json::parse(check.out))
    got[r["probe"]] = {r["status"], r["value"].is_number() ? r["value"].get<double>() : -1};
  const std::map<std::string, std::pair<std::string, double>> want{
      {"facts__a_b", {"fail", 1}},  // (NULL, NULL) twice: one duplicated key
      {"facts__c", {"fail", 1}},    // NULL twice
      {"facts__st", {"pass", -1}},  // 'x', 'y' and a NULL
      {"my_check", {"pass", 0}},    // sum over no rows: NULL, dbt passes
      {"warn_check", {"pass", 0}}, {"rel_fk", {"fail", 1}},  // 5 has no parent; NULL is no failure
  };
  CHECK(got.size() == want.size());
  for (const auto& [probe, w] : want) {
    INFO(probe);
    REQUIRE(got.count(probe));
    CHECK(got[probe].first == w.first);
    if (w.second >= 0) CHECK(got[probe].second == w.second);
  }
  auto loaded = config::loadConfigFromString(yaml, config, "", envFrom(db.env()));
  REQUIRE(loaded.ok());
  const auto* rel = loaded.config->findProbe("rel_fk");
  REQUIRE(rel);
  auto upstream = rel->upstream;  // the error-level probes on facts, not warn_check
  std::sort(upstream.begin(), upstream.end());
  CHECK(upstream == std::vector<std::string>{"facts__a_b", "facts__c", "facts__st", "my_check"});
}
