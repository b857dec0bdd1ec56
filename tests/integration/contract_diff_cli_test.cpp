// `datawatch contract diff` through the binary: every classification of
// config/contract_diff.hpp with its exit code, the JSON shape, GitHub
// annotations at the right lines, bad input, and the pre-commit hook
// (scripts/contract-diff-hook.sh) in a real git repository. Each case edits
// the base contract tests/fixtures/contracts/diff/orders.odcs.yaml and lists
// exactly the changes the diff must report ("level path", in order).
// --against live: contract_diff_live_test.cpp.

#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

using namespace datawatch::testing;

namespace {

const std::string kBinary = DATAWATCH_BINARY;
const std::string kDir = std::string(DATAWATCH_SOURCE_DIR) + "/tests/fixtures/contracts/diff/";

using Edits = std::vector<std::pair<std::string, std::string>>;

// `text` with each edit applied; each `from` must occur exactly once.
std::string edited(std::string text, const Edits& edits) {
  for (const auto& [from, to] : edits) {
    const auto at = text.find(from);
    INFO("edit: " << from);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(from, at + 1) == std::string::npos);
    text.replace(at, from.size(), to);
  }
  return text;
}

struct Case {
  std::string name;
  Edits new_edits;
  int exit_code;
  std::vector<std::string> changes;  // "level path"
  Edits old_edits = {};
};

const std::string P = "schema.orders.properties.";

// Objects, properties, types, keys, enums.
std::vector<Case> schemaCases() {
  return {
      {"identical", {}, 0, {}},
      {"metadata",
       {{"version: 1.0.0", "version: 1.1.0"},
        {"description: One row per order.", "description: One row per placed order."}},
       0,
       {"info version", "info schema.orders.description"}},
      {"object removed (renamed)",
       {{"  - name: orders\n", "  - name: orders_v2\n"}},
       1,
       {"breaking schema.orders", "info schema.orders_v2"}},
      {"property removed",
       {{"      - name: customer_email\n        logicalType: string\n        physicalType: "
         "varchar(200)\n        logicalTypeOptions:\n          pattern: '^[^@]+@[^@]+$'\n",
         ""}},
       1,
       {"breaking " + P + "customer_email"}},
      {"required property added",
       {{"    quality:\n      - id: orders_rows",
         "      - name: channel\n        logicalType: string\n        required: true\n"
         "    quality:\n      - id: orders_rows"}},
       0,
       {"info " + P + "channel"}},
      {"type changed",
       {{"logicalType: number", "logicalType: string"},
        {"physicalType: numeric(12,2)", "physicalType: text"}},
       1,
       {"breaking " + P + "amount.logicalType", "breaking " + P + "amount.physicalType"}},
      {"type widened",
       {{"logicalType: integer", "logicalType: number"},
        {"physicalType: bigint", "physicalType: numeric"},
        {"physicalType: varchar(20)", "physicalType: varchar(40)"}},
       0,
       {"info " + P + "order_id.logicalType", "info " + P + "order_id.physicalType",
        "info " + P + "status.physicalType"}},
      {"type narrowed",
       {{"physicalType: varchar(20)", "physicalType: varchar(10)"}},
       1,
       {"breaking " + P + "status.physicalType"}},
      {"required added",
       {{"physicalType: varchar(200)\n", "physicalType: varchar(200)\n        required: true\n"}},
       1,
       {"breaking " + P + "customer_email.required"}},
      {"required removed",
       {{"physicalType: timestamptz\n        required: true\n", "physicalType: timestamptz\n"}},
       0,
       {"info " + P + "created_at.required"}},
      {"unique added",
       {{"physicalType: varchar(200)\n", "physicalType: varchar(200)\n        unique: true\n"}},
       1,
       {"breaking " + P + "customer_email.unique"}},
      {"unique removed", {{"        unique: true\n", ""}}, 0, {"info " + P + "order_id.unique"}},
      {"primary key extended",
       {{"physicalType: timestamptz\n",
         "physicalType: timestamptz\n        primaryKey: true\n        primaryKeyPosition: 2\n"}},
       1,
       {"breaking schema.orders.primaryKey"}},
      {"enum value removed",
       {{"enum: [placed, shipped, delivered]", "enum: [placed, shipped]"}},
       1,
       {"breaking " + P + "status.enum"}},
      {"enum value added",
       {{"enum: [placed, shipped, delivered]", "enum: [placed, shipped, delivered, cancelled]"}},
       0,
       {"info " + P + "status.enum"}},
      {"valid value removed",
       {{"validValues: [placed, shipped, delivered]", "validValues: [placed, shipped]"}},
       1,
       {"breaking " + P + "status.quality.invalidValues[0].arguments.validValues"}},
  };
}

// Ranges, lengths, patterns.
std::vector<Case> rangeCases() {
  return {
      {"minimum raised",
       {{"minimum: 0", "minimum: 1"}},
       1,
       {"breaking " + P + "amount.logicalTypeOptions.minimum"}},
      {"maximum lowered",
       {{"maximum: 100000", "maximum: 1000"}},
       1,
       {"breaking " + P + "amount.logicalTypeOptions.maximum"}},
      {"range widened",
       {{"minimum: 0", "minimum: -10"}, {"maximum: 100000", "maximum: 200000"}},
       0,
       {"info " + P + "amount.logicalTypeOptions.minimum",
        "info " + P + "amount.logicalTypeOptions.maximum"}},
      {"minimum made exclusive",
       {{"minimum: 0", "exclusiveMinimum: 0"}},
       1,
       {"breaking " + P + "amount.logicalTypeOptions.exclusiveMinimum"}},
      {"maxLength lowered",
       {{"maxLength: 20", "maxLength: 10"}},
       1,
       {"breaking " + P + "status.logicalTypeOptions.maxLength"}},
      {"minLength added",
       {{"maxLength: 20", "maxLength: 20\n          minLength: 1"}},
       1,
       {"breaking " + P + "status.logicalTypeOptions.minLength"}},
      {"maxLength raised",
       {{"maxLength: 20", "maxLength: 30"}},
       0,
       {"info " + P + "status.logicalTypeOptions.maxLength"}},
      {"pattern added",
       {{"maxLength: 20", "maxLength: 20\n          pattern: '^[a-z]+$'"}},
       1,
       {"breaking " + P + "status.logicalTypeOptions.pattern"}},
      {"pattern changed",
       {{"'^[^@]+@[^@]+$'", "'^.+@.+$'"}},
       0,
       {"warning " + P + "customer_email.logicalTypeOptions.pattern"}},
      {"pattern removed",
       {{"        logicalTypeOptions:\n          pattern: '^[^@]+@[^@]+$'\n", ""}},
       0,
       {"info " + P + "customer_email.logicalTypeOptions.pattern"}},
  };
}

// Quality rules and SLA properties.
std::vector<Case> ruleCases() {
  return {
      {"null threshold tightened",
       {{"mustBeLessThan: 5", "mustBeLessThan: 1"}},
       1,
       {"breaking " + P + "amount.quality.amount_nulls.must"}},
      {"null threshold loosened",
       {{"mustBeLessThan: 5", "mustBeLessThan: 10"}},
       0,
       {"info " + P + "amount.quality.amount_nulls.must"}},
      {"row count raised",
       {{"mustBeGreaterThan: 100", "mustBeGreaterThan: 1000"}},
       1,
       {"breaking schema.orders.quality.orders_rows.must"}},
      {"quality rule added with a threshold",
       {{"        primaryKeyPosition: 1\n",
         "        primaryKeyPosition: 1\n        quality:\n          - metric: duplicateValues\n"
         "            mustBe: 0\n"}},
       1,
       {"breaking " + P + "order_id.quality.duplicateValues[0]"}},
      {"quality rule removed",
       {{"        quality:\n          - id: amount_nulls\n            metric: nullValues\n"
         "            mustBeLessThan: 5\n            unit: percent\n",
         ""}},
       0,
       {"info " + P + "amount.quality.amount_nulls"}},
      {"between narrowed",
       {{"mustBeGreaterThan: 100", "mustBeBetween: [200, 5000]"}},
       1,
       {"breaking schema.orders.quality.orders_rows.must"},
       {{"mustBeGreaterThan: 100", "mustBeBetween: [100, 10000]"}}},
      {"between to not between",
       {{"mustBeGreaterThan: 100", "mustNotBeBetween: [100, 10000]"}},
       0,
       {"warning schema.orders.quality.orders_rows.must"},
       {{"mustBeGreaterThan: 100", "mustBeBetween: [100, 10000]"}}},
      {"unit percent to rows",
       {{"unit: percent", "unit: rows"}},
       0,
       {"warning " + P + "amount.quality.amount_nulls.unit"}},
      {"metric changed",
       {{"metric: nullValues", "metric: missingValues"}},
       0,
       {"warning " + P + "amount.quality.amount_nulls.metric"}},
      {"freshness tightened",
       {{"value: 6\n", "value: 1\n"}},
       1,
       {"breaking slaProperties.orders_fresh.value"}},
      {"freshness loosened",
       {{"value: 6\n", "value: 12\n"}},
       0,
       {"info slaProperties.orders_fresh.value"}},
      {"retention lowered",
       {{"value: 365", "value: 30"}},
       1,
       {"breaking slaProperties.retention@orders.created_at.value"}},
      {"latency added",
       {{"  - property: retention\n",
         "  - property: latency\n    value: 2\n    unit: h\n    element: orders.created_at\n"
         "  - property: retention\n"}},
       1,
       {"breaking slaProperties.latency@orders.created_at"}},
      {"retention removed",
       {{"  - property: retention\n    value: 365\n    unit: d\n    element: orders.created_at\n",
         ""}},
       0,
       {"info slaProperties.retention@orders.created_at"}},
  };
}

struct Files {
  TempDir dir;
  std::string old_path, new_path;
};

void writeCase(Files& f, const Case& c) {
  const std::string base = readFile(kDir + "orders.odcs.yaml");
  f.old_path = (f.dir / "old.odcs.yaml").string();
  f.new_path = (f.dir / "new.odcs.yaml").string();
  writeFile(f.old_path, edited(base, c.old_edits));
  writeFile(f.new_path, edited(base, c.new_edits));
}

CommandResult diff(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kBinary, "contract", "diff"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

// Each case through the binary: the exit code and exactly the changes listed.
void runCases(const std::vector<Case>& list) {
  for (const auto& c : list) {
    SECTION(c.name) {
      Files f;
      writeCase(f, c);
      const auto r = diff({f.old_path, f.new_path, "--format", "json"});
      INFO(r.out << r.err);
      CHECK(r.exit_code == c.exit_code);
      const auto j = nlohmann::json::parse(r.out);
      std::vector<std::string> got;
      for (const auto& ch : j.at("changes"))
        got.push_back(ch.at("level").get<std::string>() + " " + ch.at("path").get<std::string>());
      CHECK(got == c.changes);
    }
  }
}

// Split so that no test runs much over a second (each case runs the binary).
std::vector<Case> slice(const std::vector<Case>& all, size_t from, size_t to) {
  return {all.begin() + static_cast<std::ptrdiff_t>(from),
          all.begin() + static_cast<std::ptrdiff_t>(std::min(to, all.size()))};
}

}  // namespace

TEST_CASE("contract diff classifies object, property and type changes (exit 1 on breaking)",
          "[contract][cli]") {
  runCases(slice(schemaCases(), 0, 8));
}

TEST_CASE("contract diff classifies required, unique, key and enum changes", "[contract][cli]") {
  runCases(slice(schemaCases(), 8, 100));
}

TEST_CASE("contract diff classifies range and pattern changes", "[contract][cli]") {
  runCases(rangeCases());
}

TEST_CASE("contract diff classifies quality rule changes", "[contract][cli]") {
  runCases(slice(ruleCases(), 0, 9));
}

TEST_CASE("contract diff classifies SLA changes", "[contract][cli]") {
  runCases(slice(ruleCases(), 9, 100));
}

TEST_CASE("contract diff --format json: counts and both locations of each change",
          "[contract][cli]") {
  Files f;
  writeCase(f, {"mixed",
                {{"logicalType: number", "logicalType: string"},  // breaking, line 22
                 {"'^[^@]+@[^@]+$'", "'^.+@.+$'"},                // warning, line 47
                 {"version: 1.0.0", "version: 1.0.1"}},           // info
                1,
                {}});
  const auto r = diff({f.old_path, f.new_path, "--format", "json"});
  REQUIRE(r.exit_code == 1);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("breaking") == 1);
  CHECK(j.at("warnings") == 1);
  CHECK(j.at("info") == 1);
  REQUIRE(j.at("changes").size() == 3);
  const auto& type = j["changes"][1];
  CHECK(type.at("level") == "breaking");
  CHECK(type.at("path") == P + "amount.logicalType");
  CHECK(type.at("message") == "logical type changed from number to string");
  CHECK(type.at("old") == nlohmann::json{{"file", f.old_path}, {"line", 22}, {"column", 9}});
  CHECK(type.at("new") == nlohmann::json{{"file", f.new_path}, {"line", 22}, {"column", 9}});
  const auto& pattern = j["changes"][2];
  CHECK(pattern.at("level") == "warning");
  CHECK(pattern.at("new").at("line") == 47);  // logicalTypeOptions:
  CHECK(j["changes"][0].at("path") == "version");
}

TEST_CASE("contract diff --format github: one workflow command per change at the new line",
          "[contract][cli]") {
  Files f;
  writeCase(f, {"mixed",
                {{"logicalType: number", "logicalType: string"},
                 {"'^[^@]+@[^@]+$'", "'^.+@.+$'"},
                 {"maxLength: 20", "maxLength: 30"},
                 // The removal is reported at the object in the new file (line 10,
                 // "name:" at column 5).
                 {"      - name: created_at\n        logicalType: timestamp\n        physicalType: "
                  "timestamptz\n        required: true\n",
                  ""}},
                1,
                {}});
  const auto r = diff({f.old_path, f.new_path, "--format", "github"});
  CHECK(r.exit_code == 1);
  const std::string& n = f.new_path;
  const std::string expected =
      "::error file=" + n + ",line=22,col=9::" + P +
      "amount.logicalType: logical type changed from number to string\n" + "::notice file=" + n +
      ",line=37,col=9::" + P +
      "status.logicalTypeOptions.maxLength: maxLength loosened from 20 to 30\n" +
      "::warning file=" + n + ",line=47,col=9::" + P +
      "customer_email.logicalTypeOptions.pattern: pattern changed from ^[^@]+@[^@]+$ to "
      "^.+@.+$\n" +
      "::error file=" + n + ",line=10,col=5::" + P + "created_at: property created_at removed\n" +
      "2 breaking, 1 warning, 1 info\n";
  CHECK(r.out == expected);
}

TEST_CASE("contract diff --format text: a line per change and a summary", "[contract][cli]") {
  Files f;
  writeCase(f, {"type", {{"logicalType: number", "logicalType: string"}}, 1, {}});
  const auto r = diff({f.old_path, f.new_path});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "BREAKING  " + P +
                     "amount.logicalType: logical type changed from number to string  (" +
                     f.new_path + ":22:9)\n1 breaking, 0 warnings, 0 info\n");
  Files same;
  writeCase(same, {"same", {}, 0, {}});
  const auto s = diff({same.old_path, same.new_path});
  CHECK(s.exit_code == 0);
  CHECK(s.out == "no changes\n");
}

TEST_CASE("contract diff: unreadable or invalid input exits 2 with the parser's diagnostics",
          "[contract][cli]") {
  TempDir dir;
  const std::string base = kDir + "orders.odcs.yaml";
  const auto missing = diff({(dir / "nope.odcs.yaml").string(), base});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("nope.odcs.yaml") != std::string::npos);

  writeFile(dir / "bad.odcs.yaml", "kind: Something\napiVersion: v3.1.0\nid: x\n");
  const auto bad = diff({base, (dir / "bad.odcs.yaml").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("bad.odcs.yaml") != std::string::npos);
  CHECK(bad.out.empty());

  writeFile(dir / "broken.odcs.yaml", "kind: DataContract\nschema: [\n");
  CHECK(diff({base, (dir / "broken.odcs.yaml").string()}).exit_code == 2);

  CHECK(diff({base}).exit_code == 2);
  CHECK(diff({base, base, "--format", "xml"}).exit_code == 2);
  CHECK(diff({base, base, "--against", "yesterday"}).exit_code == 2);

  const auto help = diff({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("usage: datawatch contract diff OLD NEW") != std::string::npos);
  CHECK(runCommand({kBinary, "contract", "merge", base, base}).exit_code == 2);
}

TEST_CASE("contract-diff-hook.sh: compares staged contracts with origin/main", "[contract][cli]") {
  TempDir dir;
  const std::string repo = (dir / "repo").string();
  const std::string hook = std::string(DATAWATCH_SOURCE_DIR) + "/scripts/contract-diff-hook.sh";
  auto sh = [&](const std::string& script) {
    return runCommand({"/bin/sh", "-c", "cd \"$0\" && " + script, repo},
                      {{"DATAWATCH", kBinary},
                       {"GIT_AUTHOR_NAME", "t"},
                       {"GIT_AUTHOR_EMAIL", "t@example.com"},
                       {"GIT_COMMITTER_NAME", "t"},
                       {"GIT_COMMITTER_EMAIL", "t@example.com"},
                       {"GIT_CONFIG_NOSYSTEM", "1"},
                       {"HOME", dir.path().string()}});
  };
  std::filesystem::create_directories(repo + "/contracts");
  const std::string base = readFile(kDir + "orders.odcs.yaml");
  writeFile(repo + "/contracts/orders.odcs.yaml", base);
  REQUIRE(sh("git init -q -b main . && git add . && git commit -q -m base && "
             "git update-ref refs/remotes/origin/main HEAD")
              .exit_code == 0);

  // Unchanged and a loosening pass; a breaking change fails, naming it.
  CHECK(sh("\"" + hook + "\" contracts/orders.odcs.yaml").exit_code == 0);
  writeFile(repo + "/contracts/orders.odcs.yaml",
            edited(base, {{"maxLength: 20", "maxLength: 30"}}));
  const auto loose = sh("\"" + hook + "\" contracts/orders.odcs.yaml");
  CHECK(loose.exit_code == 0);
  CHECK(loose.out.find("INFO      " + P + "status.logicalTypeOptions.maxLength") !=
        std::string::npos);
  writeFile(repo + "/contracts/orders.odcs.yaml",
            edited(base, {{"mustBeLessThan: 5", "mustBeLessThan: 1"}}));
  const auto tight = sh("\"" + hook + "\" contracts/orders.odcs.yaml");
  CHECK(tight.exit_code == 1);
  CHECK(tight.out.find("BREAKING  " + P + "amount.quality.amount_nulls.must") != std::string::npos);

  // A file name with spaces (and one that looks like an option) is one
  // argument all the way through; a missing base ref fails, saying what to set.
  writeFile(repo + "/contracts/my orders.odcs.yaml", base);
  writeFile(repo + "/-dash.odcs.yaml", base);
  REQUIRE(sh("git add . && git commit -q -m more && git update-ref refs/remotes/origin/main HEAD")
              .exit_code == 0);
  writeFile(repo + "/contracts/my orders.odcs.yaml",
            edited(base, {{"mustBeLessThan: 5", "mustBeLessThan: 1"}}));
  writeFile(repo + "/-dash.odcs.yaml", edited(base, {{"mustBeLessThan: 5", "mustBeLessThan: 1"}}));
  const auto spaced = sh("\"" + hook + "\" \"contracts/my orders.odcs.yaml\"");
  CHECK(spaced.exit_code == 1);
  CHECK(spaced.out.find("== contracts/my orders.odcs.yaml (against origin/main)") !=
        std::string::npos);
  CHECK(spaced.out.find("BREAKING  " + P + "amount.quality.amount_nulls.must") !=
        std::string::npos);
  const auto dashed = sh("\"" + hook + "\" -dash.odcs.yaml");
  CHECK(dashed.exit_code == 1);
  CHECK(dashed.out.find("BREAKING  " + P + "amount.quality.amount_nulls.must") !=
        std::string::npos);
  const auto no_base =
      sh("DATAWATCH_BASE_REF=origin/nope \"" + hook + "\" contracts/orders.odcs.yaml");
  CHECK(no_base.exit_code == 1);
  CHECK(no_base.err.find("origin/nope does not exist here") != std::string::npos);
  CHECK(no_base.err.find("DATAWATCH_BASE_REF") != std::string::npos);

  // A contract origin/main does not have yet is skipped, with a note; an
  // invalid one fails.
  writeFile(repo + "/contracts/new.odcs.yaml", base);
  const auto added = sh("\"" + hook + "\" contracts/new.odcs.yaml");
  CHECK(added.exit_code == 0);
  CHECK(added.out.find("contracts/new.odcs.yaml: new file, not on origin/main: skipped") !=
        std::string::npos);
  writeFile(repo + "/contracts/orders.odcs.yaml", "kind: [\n");
  const auto broken = sh("\"" + hook + "\" contracts/orders.odcs.yaml contracts/new.odcs.yaml");
  CHECK(broken.exit_code == 1);
  CHECK(broken.err.find("contracts/orders.odcs.yaml: cannot compare (exit 2)") !=
        std::string::npos);
}

TEST_CASE("contract diff --against live: a PostgreSQL table that drifted from its contract",
          "[contract][cli][postgres]") {
  const std::string dsn = testPgDsn();
  const std::string schema = "dw_cdiff" + std::to_string(getpid());
  pgExec(dsn, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  pgExec(dsn, "CREATE SCHEMA " + schema);
  struct Drop {
    std::string dsn, schema;
    ~Drop() {
      try {
        pgExec(dsn, "DROP SCHEMA " + schema + " CASCADE");
      } catch (const std::exception&) {
      }
    }
  } drop{dsn, schema};
  // customer_email is gone, amount became text, status lets NULL in
  // although the contract requires it, and a column nobody promised.
  pgExec(dsn, "CREATE TABLE " + schema +
                  ".orders (order_id bigint NOT NULL, amount text NOT NULL, status "
                  "varchar(20), created_at timestamptz NOT NULL, note text)");
  TempDir dir;
  const std::string table = schema + ".orders";
  writeFile(dir / "orders.odcs.yaml",
            edited(readFile(kDir + "orders.odcs.yaml"),
                   {{"  - name: orders\n", "  - name: orders\n    physicalName: " + table + "\n"},
                    {"physicalType: varchar(20)\n",
                     "physicalType: varchar(20)\n        required: true\n"}}));
  const std::string sources =
      "sources:\n  pg: {type: postgres, dsn: \"${PGDSN}\"}\n"
      "  down: {type: postgres, dsn: \"postgresql://dw:s3cret-Pw@127.0.0.1:1/none\"}\n";
  writeFile(dir / "datawatch.yaml",
            sources + "contracts:\n  - {path: orders.odcs.yaml, source: pg}\n");
  const std::map<std::string, std::string> env{{"PGDSN", dsn}};
  auto live = [&](const std::string& config, const std::string& id, const std::string& format) {
    return runCommand({kBinary, "contract", "diff", "--against", "live", "-c",
                       (dir / config).string(), "--contract", id, "--format", format},
                      env);
  };

  const auto r = live("datawatch.yaml", "orders-contract", "json");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  const auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> got;
  for (const auto& ch : j.at("changes"))
    got.push_back(ch.at("level").get<std::string>() + " " + ch.at("path").get<std::string>());
  const std::string p = "schema." + table + ".properties.";
  CHECK(got == std::vector<std::string>{"breaking " + p + "amount.logicalType",
                                        "breaking " + p + "status.required",
                                        "breaking " + p + "customer_email", "info " + p + "note"});
  CHECK(j["changes"][0].at("message") ==
        "type: the contract promises number, the table has text (string)");
  CHECK(j["changes"][0].at("new").at("line") == 23);  // the contract's amount.logicalType
  CHECK(j["changes"][0].at("old") == nullptr);

  // Restored to the contract (and NOT NULL where required): nothing breaking.
  pgExec(dsn, "ALTER TABLE " + table + " ALTER amount TYPE numeric(12,2) USING amount::numeric");
  pgExec(dsn, "ALTER TABLE " + table + " ALTER status SET NOT NULL");
  pgExec(dsn, "ALTER TABLE " + table + " ADD customer_email varchar(200)");
  const auto fixed = live("datawatch.yaml", "orders-contract", "text");
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out ==
        "INFO      " + p + "note: column note (text) is in the table, not in the contract  (" +
            (dir / "orders.odcs.yaml").string() + ":10:5)\n0 breaking, 0 warnings, 1 info\n");

  // Run from the repository (the contract below the working directory): the
  // path is relative, as GitHub annotations need.
  const auto in_repo = runCommand({"/bin/sh", "-c",
                                   "cd '" + dir.path().string() + "' && '" + kBinary +
                                       "' contract diff --against live -c datawatch.yaml "
                                       "--contract orders-contract --format github"},
                                  env);
  INFO(in_repo.out << in_repo.err);
  CHECK(in_repo.exit_code == 0);
  CHECK(in_repo.out.find("::notice file=orders.odcs.yaml,line=10,col=5::") != std::string::npos);

  // An unknown id and a source that is down exit 2, saying why (no secret).
  const auto unknown = live("datawatch.yaml", "nope", "text");
  CHECK(unknown.exit_code == 2);
  CHECK(
      unknown.err.find("no contract with id \"nope\" in the config (contracts: orders-contract)") !=
      std::string::npos);
  writeFile(dir / "down.yaml",
            sources + "contracts:\n  - {path: orders.odcs.yaml, source: down}\n");
  const auto down = live("down.yaml", "orders-contract", "text");
  CHECK(down.exit_code == 2);
  CHECK(down.err.find("source down") != std::string::npos);
  CHECK(down.err.find("s3cret-Pw") == std::string::npos);
}

TEST_CASE("contract diff reads a pipe: /dev/stdin, - and one unreadable line", "[contract][cli]") {
  Files f;
  writeCase(f, {"type", {{"logicalType: number", "logicalType: string"}}, 1, {}});
  const std::string want = "BREAKING  " + P +
                           "amount.logicalType: logical type changed from number to string  (" +
                           f.new_path + ":22:9)\n1 breaking, 0 warnings, 0 info\n";
  // What `<(git show origin/main:f)` gives: a FIFO path.
  auto fifo = runCommand({"/bin/sh", "-c",
                          "cat '" + f.old_path + "' | '" + kBinary +
                              "' contract diff /dev/stdin '" + f.new_path + "'"});
  INFO(fifo.err);
  CHECK(fifo.exit_code == 1);
  CHECK(fifo.out == want);
  auto dash =
      runCommand({"/bin/sh", "-c",
                  "'" + kBinary + "' contract diff - '" + f.new_path + "' < '" + f.old_path + "'"});
  CHECK(dash.exit_code == 1);
  CHECK(dash.out == want);
  auto both = diff({"-", "-"});
  CHECK(both.exit_code == 2);
  CHECK(both.err == "datawatch contract diff: only one side can be - (stdin)\n");
  const std::string nope = (f.dir / "nope.odcs.yaml").string();
  auto missing = diff({nope, f.new_path});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == nope + ": cannot read the contract file: no such file or not readable\n");
}
