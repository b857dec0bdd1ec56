// The probe scenarios of the golden SQL files (dialect_sql_scenarios.hpp).
#include "tests/unit/dialect_sql_scenarios.hpp"

namespace datawatch::testing {
namespace {

using namespace std::chrono_literals;
using config::ProbeConfig;
using config::ProbeType;
using Shape = QuantileSql::Shape;
using Steps = std::vector<CannedStep>;

const SqlValue kNull = std::monostate{};
// The newest time-column value the window probes see (ISO text: the
// dialect's epoch expression is used in the backfill).
const char* kNewest = "2026-11-26T09:00:00Z";

bool isPg(const Dialect& d) {
  return d.id() == DialectId::Postgres;
}

ProbeConfig probe(const std::string& name, ProbeType type, const std::string& table,
                  config::ProbeSpec spec) {
  ProbeConfig p;
  p.name = name;
  p.type = type;
  p.source = "recorded";
  p.table = table;
  p.spec = std::move(spec);
  return p;
}

SqlScenario freshness(const std::string& name, const std::string& table, const std::string& col,
                      std::optional<std::string> filter) {
  config::FreshnessSpec s;
  s.column = col;
  s.max_age = 1h;
  s.filter = std::move(filter);
  return {name, probe("fresh", ProbeType::Freshness, table, s), [](const Dialect&) {
            return Steps{{"newest", rows({{"2026-11-26T12:00:00Z"}})},  // in the future
                         {"newest at or before now", rows({{"2026-11-26T09:30:00Z"}})}};
          }};
}

SqlScenario volumeCount() {
  config::VolumeSpec s;
  s.min = 1;
  return {"volume count", probe("vol", ProbeType::Volume, "shop.orders", s), [](const Dialect&) {
            return Steps{{"count", rows({{int64_t{42}}})}};
          }};
}

SqlScenario volumeWindow() {
  config::VolumeSpec s;
  s.column = "created_at";
  s.window = 1h;
  s.filter = "status <> 'test'";
  s.anomaly = config::AnomalyConfig{};
  return {"volume window, filter, anomaly backfill",
          probe("vol", ProbeType::Volume, "shop.orders", s), [](const Dialect&) {
            return Steps{{"window: newest timestamp (its format)", rows({{kNewest}})},
                         {"count in the window", rows({{int64_t{42}}})},
                         {"anomaly backfill: counts per bucket",
                          rows({{int64_t{0}, int64_t{10}}, {int64_t{1}, int64_t{12}}})}};
          }};
}

SqlScenario volumeEstimate() {
  config::VolumeSpec s;
  s.method = config::VolumeMethod::Estimate;
  return {"volume estimate", probe("vol", ProbeType::Volume, "analytics.shop.orders", s),
          [](const Dialect& d) {
            const std::string label = "row estimate from the catalog";
            switch (d.id()) {
              case DialectId::Sqlite:
              case DialectId::Trino: return Steps{};  // keeps no row count
              case DialectId::Postgres: return Steps{{label, rows({{1000.0, 990.0}})}};
              case DialectId::Databricks:
                return Steps{{label, rows({{"Statistics", "123456 bytes, 1000 rows", ""}})}};
              default: return Steps{{label, rows({{1000.0}})}};
            }
          }};
}

// The counts row of a values probe (values_sql.hpp's Count order): rows, nulls,
// missing, not accepted, out of range, not matching, wrong length, invalid,
// duplicates.
QueryResult counts(std::vector<int64_t> c) {
  std::vector<SqlValue> row(c.begin(), c.end());
  return rows({row});
}

SqlScenario valuesAccepted() {
  config::ValuesSpec s;
  s.column = "status";
  s.accepted = {"paid", "shipped"};
  s.unique = true;
  s.time_column = "created_at";
  s.window = 24h;
  s.filter = "region = 'eu'";
  return {"values accepted, unique, window, filter",
          probe("vals", ProbeType::Values, "shop.orders", s), [](const Dialect&) {
            return Steps{{"window: newest timestamp (its format)", rows({{kNewest}})},
                         {"counts", counts({100, 2, 0, 3, 0, 0, 0, 3, 4})},
                         {"samples of violations", rows({{"refunded"}})},
                         {"duplicate values", rows({{"paid"}})}};
          }};
}

SqlScenario valuesRange() {
  config::ValuesSpec s;
  s.column = "amount";
  s.min = 0;
  s.max = 1000;
  return {"values range", probe("vals", ProbeType::Values, "shop.orders", s), [](const Dialect&) {
            return Steps{{"counts", counts({100, 0, 0, 0, 2, 0, 0, 2, 0})},
                         {"samples of violations", rows({{-5.0}})}};
          }};
}

// A pattern (not on sqlserver: no regular expressions), lengths, missing
// values and bounds on the metrics.
SqlScenario valuesPattern() {
  config::ValuesSpec s;
  s.column = "sku";
  s.pattern = "^[A-Z]{3}-[0-9]+$";
  s.min_length = 5;
  s.max_length = 12;
  s.missing = {"", "N/A"};
  s.must[config::ValuesMetric::Nulls] = *config::parseBound("< 1%", nullptr);
  s.must[config::ValuesMetric::Invalid] = *config::parseBound("<= 10", nullptr);
  return {"values pattern, lengths, missing, bounds",
          probe("vals", ProbeType::Values, "shop.items", s), [](const Dialect& d) {
            if (d.id() == DialectId::SqlServer) return Steps{};
            return Steps{{"counts", counts({100, 1, 3, 0, 0, 12, 4, 14, 0})},
                         {"samples of violations", rows({{"abc-1"}})}};
          }};
}

// Lengths alone (every dialect, SQL Server's LEN keeping trailing blanks).
SqlScenario valuesLength() {
  config::ValuesSpec s;
  s.column = "name";
  s.min_length = 1;
  s.max_length = 20;
  s.missing = {""};
  return {"values lengths, missing", probe("vals", ProbeType::Values, "shop.items", s),
          [](const Dialect&) {
            return Steps{{"counts", counts({100, 0, 2, 0, 0, 0, 2, 2, 0})},
                         {"samples of violations", rows({{""}})}};
          }};
}

// A composite key over a window: duplicates beyond the first of each key.
SqlScenario valuesCompositeKey() {
  config::ValuesSpec s;
  s.columns = {"order_id", "line_no"};
  s.unique = true;
  s.time_column = "created_at";
  s.window = 24h;
  return {"values composite key, window", probe("vals", ProbeType::Values, "shop.lines", s),
          [](const Dialect&) {
            return Steps{{"window: newest timestamp (its format)", rows({{kNewest}})},
                         {"counts", counts({100, 0, 0, 0, 0, 0, 0, 0, 3})},
                         {"duplicate keys", rows({{int64_t{7}, int64_t{1}}})}};
          }};
}

SqlScenario schema(const std::string& name, const std::string& table) {
  return {name, probe("cols", ProbeType::Schema, table, config::SchemaSpec{}), [](const Dialect&) {
            return Steps{{"columns from the catalog",
                          rows({{"id", "bigint", int64_t{1}}, {"status", "text", int64_t{0}}})}};
          }};
}

SqlScenario sqlProbe() {
  config::SqlSpec s;
  s.query = "SELECT count(*) FROM shop.orders WHERE status = 'failed'";
  s.max = 0;
  return {"sql (user query, passed through)", probe("q", ProbeType::Sql, "", s),
          [](const Dialect&) {
            return Steps{{"user query", rows({{int64_t{0}}})}};
          }};
}

// The first statement of a numeric statistics answer in the dialect's shape:
// 1000 values in [0, 100], mean 50, quartiles 25, 50, 75 (bins: 4).
Steps numericStats(const Dialect& d) {
  const std::string label = "baseline: count, min, max, mean, spread, quantiles";
  switch (d.quantiles("v", {0.5}).shape) {
    case Shape::Columns:
      return {{label, rows({{int64_t{1000}, 0.0, 100.0, 50.0, 29.0, 25.0, 50.0, 75.0}})}};
    case Shape::Array:
      return {{label, rows({{int64_t{1000}, 0.0, 100.0, 50.0, 29.0,
                             isPg(d) ? "{25,50,75}" : "[25.0, 50.0, 75.0]"}})}};
    case Shape::ArrayWithEnds:
      return {{label, rows({{int64_t{1000}, 0.0, 100.0, 50.0, 29.0, "[0, 25, 50, 75, 100]"}})}};
    case Shape::OrderStatistics: break;
  }
  std::vector<std::vector<SqlValue>> r{{int64_t{-1}, int64_t{1000}, 0.0, 100.0, 50.0, 841.0}};
  for (int64_t j = 1; j <= 3; ++j)  // ranks around (n - 1) * j / 4: 249, 499, 749
    for (int64_t rank : {999 * j / 4, 999 * j / 4 + 1})
      r.push_back({j, rank, 25.0 * static_cast<double>(j), kNull, kNull, kNull});
  return {{label, rows(std::move(r))}};
}

// (bin, count, min, max, avg) of a numeric histogram over bins 0..5, with nulls.
QueryResult numericBins(int64_t shift) {
  std::vector<std::vector<SqlValue>> r{{int64_t{-1}, int64_t{5}, kNull, kNull, kNull}};
  for (int64_t b = 1; b <= 4; ++b) {
    const double lo = 25.0 * static_cast<double>(b - 1);
    r.push_back({b, 250 + shift * b, lo, lo + 25, lo + 12.5});
  }
  return rows(std::move(r));
}

// The scope statements of one drift scope (drift.cpp planSample): PostgreSQL
// reads pg_class (and the planner's estimate of a window); others count.
// `plan_rows` is the window's estimated rows; `rows` the table's (or the count).
Steps scopeSteps(const Dialect& d, const std::string& which, bool window, double rows_in_table,
                 double pages, double plan_rows) {
  if (!isPg(d))
    return {{which + ": row count",
             rows({{static_cast<int64_t>(window ? plan_rows : rows_in_table)}})}};
  Steps s{{which + ": table statistics", rows({{rows_in_table, pages}})}};
  if (window)
    s.push_back(
        {which + ": planner's estimate of the window",
         rows({{"[{\"Plan\": {\"Plan Rows\": " + std::to_string(int64_t(plan_rows)) + "}}]"}})});
  return s;
}

Steps concat(std::vector<Steps> parts) {
  Steps out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

SqlScenario driftNumericWindow() {
  config::DriftSpec s;
  s.column = "amount";
  s.time_column = "created_at";
  s.window = 24h;
  s.bins = 4;
  s.sample_rows = 1000;
  // PostgreSQL: the current window is sampled with TABLESAMPLE SYSTEM (200 of
  // 100000 pages), the baseline's 2000 rows thinned with random() (cheaper
  // than sampling the table); elsewhere both are thinned by randomBelow.
  return {"drift numeric, window, sampled", probe("drift", ProbeType::Drift, "shop.orders", s),
          [](const Dialect& d) {
            return concat(
                {{{"first value (numeric or text)", rows({{12.5}})},
                  {"window: newest timestamp (its format)", rows({{kNewest}})}},
                 scopeSteps(d, "current", true, 1e6, 1e5, 500000),
                 scopeSteps(d, "baseline", true, 1e6, 1e5, 2000),
                 numericStats(d),
                 {{"baseline histogram", numericBins(0)}, {"current histogram", numericBins(10)}}});
          }};
}

SqlScenario driftNumericTable() {
  config::DriftSpec s;
  s.column = "amount";
  s.bins = 4;
  s.kind = config::ColumnKind::Numeric;
  return {"drift numeric, whole table, not sampled", probe("drift", ProbeType::Drift, "orders", s),
          [](const Dialect& d) {
            return concat(
                {scopeSteps(d, "current", false, 5000, 50, 0),
                 scopeSteps(d, "baseline", false, 5000, 50, 0),
                 numericStats(d),
                 {{"baseline histogram", numericBins(0)}, {"current histogram", numericBins(0)}}});
          }};
}

SqlScenario driftCategorical() {
  config::DriftSpec s;
  s.column = "status";
  s.bins = 3;
  s.sample_rows = 1000;
  // PostgreSQL: 1000 of 1e6 rows on 100 pages: TABLESAMPLE BERNOULLI.
  const auto hist = [](int64_t other) {
    return rows({{int64_t{0}, int64_t{500}, kNull, kNull, kNull},
                 {int64_t{1}, int64_t{300}, kNull, kNull, kNull},
                 {int64_t{2}, int64_t{100}, kNull, kNull, kNull},
                 {int64_t{3}, other, kNull, kNull, kNull}});
  };
  return {"drift categorical, whole table, sampled",
          probe("drift", ProbeType::Drift, "shop.orders", s), [hist](const Dialect& d) {
            return concat({{{"first value (numeric or text)", rows({{"paid"}})}},
                           scopeSteps(d, "current", false, 1e6, 100, 0),
                           scopeSteps(d, "baseline", false, 1e6, 100, 0),
                           {{"baseline: top categories", rows({{"paid", int64_t{500}},
                                                               {"shipped", int64_t{300}},
                                                               {"refunded", int64_t{100}}})},
                            {"baseline histogram", hist(10)},
                            {"current histogram", hist(60)},
                            {"new categories", rows({{"lost", int64_t{40}}})}}});
          }};
}

// A window on a hostile column: placeholders right after its quoted name.
SqlScenario hostileWindow() {
  config::VolumeSpec s;
  s.column = kHostileColumn;
  s.window = 1h;
  return {"hostile identifiers: volume window", probe("vol", ProbeType::Volume, kHostileTable, s),
          [](const Dialect&) {
            return Steps{{"window: newest timestamp (its format)", rows({{kNewest}})},
                         {"count in the window", rows({{int64_t{42}}})}};
          }};
}

}  // namespace

std::vector<SqlScenario> sqlScenarios() {
  return {freshness("freshness", "shop.orders", "created_at", std::nullopt),
          freshness("freshness with filter", "shop.orders", "created_at", "status <> 'test'"),
          volumeCount(),
          volumeWindow(),
          volumeEstimate(),
          valuesAccepted(),
          valuesRange(),
          valuesPattern(),
          valuesLength(),
          valuesCompositeKey(),
          schema("schema", "shop.orders"),
          schema("schema, no schema named", "orders"),
          sqlProbe(),
          driftNumericWindow(),
          driftNumericTable(),
          driftCategorical(),
          freshness("hostile identifiers: freshness", kHostileTable, kHostileColumn, std::nullopt),
          hostileWindow(),
          schema("hostile identifiers: schema", kHostileTable)};
}

}  // namespace datawatch::testing
