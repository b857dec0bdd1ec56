#pragma once
// `import dbt`: the probes an import writes, before they are YAML.
//
// Each Plan is one probe. `node` is the model/seed/snapshot/source it watches
// (the key for lineage and consumers). `warn` marks dbt's warning level (the
// probe's alert severity warning); every other probe is dbt's error level
// (alert severity critical). `base` is the name before it is made unique.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "import/dbt_manifest.hpp"
#include "import/dbt_names.hpp"

namespace datawatch::dbt {

struct Plan {
  enum class Kind { Freshness, Values, Sql, Schema } kind = Kind::Values;
  std::string base;
  std::string name;                  // filled when the names are assigned
  std::string node;                  // unique_id of the relation it watches, "" for none
  std::string table;                 // as config writes it; "" = a sql probe run as written
  std::string column;                // freshness, values, sql ({column})
  std::vector<std::string> columns;  // values: a composite key
  std::optional<std::string> filter;
  bool warn = false;
  // values
  bool not_null = false;
  bool unique = false;
  std::vector<std::string> accepted;
  std::map<std::string, std::string> must;  // values: metric -> bound ("nulls" -> "<= 5")
  // freshness
  std::string max_age;
  // sql
  std::string query;
  std::string sql_must;
  // schema: name -> type ("" = any)
  std::vector<std::pair<std::string, std::string>> schema_columns;
  std::vector<std::string> required;  // schema: columns with a not_null constraint
  std::string owner;
  std::vector<std::string> consumers;
  std::vector<std::string> upstream;
  std::vector<std::string> from;   // the dbt unique_ids it checks
  std::vector<std::string> reads;  // nodes it reads besides `node` (singular tests)
  std::string note;                // appended to the description
};

// What was not imported, each with its reason, by category.
struct Skipped {
  std::vector<std::string> disabled;  // "test.x (disabled in dbt)"
  std::vector<std::string> unmapped;  // "test.x (dbt_expectations....: no compiled SQL ...)"
  std::vector<std::string> singular;  // singular tests imported from their compiled SQL
};

// Turns the manifest's sources, models and tests into Plans, merging the
// not_null / unique / accepted_values tests of one column (and `where`, and
// level) into one values probe: one query per column on the warehouse.
class Planner {
 public:
  Planner(const Manifest& m, Naming& naming) : m_(m), naming_(naming) {}
  // A source's freshness (loaded_at_field, or loaded_at_query): dbt_sources.cpp.
  void source(const std::string& id, const json& src);
  // A model with an enforced contract: a schema probe (dbt_sources.cpp).
  void contract(const std::string& id, const json& node);
  // A test node, generic or singular (dbt_tests.cpp).
  void test(const std::string& id, const json& node);

  std::vector<Plan> plans;
  Skipped skipped;

 private:
  struct Target {
    std::string id;
    const json* node = nullptr;
  };
  Target targetOf(const json& test, const json& kwargs) const;
  std::string nameOf(const Target& t) const;
  void merge(const std::string& id, const json& node, const std::string& kind, const Target& t,
             const json& kwargs, bool warn);
  // One probe per level; `base` names the error level ("" = the test's name).
  void perLevel(const std::string& id, const json& node, const std::string& kind, const Target& t,
                const json& kwargs, const Levels& levels, const std::string& base = "");
  bool levelProbe(const std::string& id, const json& node, const std::string& kind, const Target& t,
                  const json& kwargs, const Levels& levels, const config::Bound& pass, bool warn,
                  const std::string& base);
  std::optional<std::string> builtQuery(const std::string& kind, const json& node,
                                        const json& kwargs, const Target& t, const Levels& levels,
                                        std::string* column, std::string* why) const;
  // dbt's failure count built through the dialect (relationships,
  // unique_combination_of_columns), or nullopt with *why set.
  std::optional<std::string> relationshipsSql(const json& kwargs, const std::string& where,
                                              std::string* why) const;
  std::optional<std::string> combinationSql(const json& kwargs, const std::string& where,
                                            std::string* why) const;
  void singular(const std::string& id, const json& node);
  Plan testPlan(const std::string& id, const json& node, const Target& t, bool warn) const;
  void skip(const std::string& id, const std::string& why) {
    skipped.unmapped.push_back(id + " (" + why + ")");
  }

  const Manifest& m_;
  Naming& naming_;
  std::map<std::string, size_t> groups_;  // merge key -> index in plans
};

}  // namespace datawatch::dbt
