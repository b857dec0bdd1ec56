#include <cmath>

#include "probes/sql_probes.hpp"

namespace datawatch {
namespace {

// `query` with each {table} and {column} replaced, in one pass: a replacement
// is never rescanned (a quoted name may itself hold "{column}").
std::string fillNames(std::string_view query, const std::string& table, const std::string& column) {
  std::string out;
  for (size_t i = 0; i < query.size();) {
    if (query.compare(i, 7, "{table}") == 0) {
      out += table;
      i += 7;
    } else if (!column.empty() && query.compare(i, 8, "{column}") == 0) {
      out += column;
      i += 8;
    } else {
      out += query[i++];
    }
  }
  return out;
}

class SqlProbe final : public Probe {
 public:
  // With a table, {table} and {column} become the dialect-quoted names (the
  // config refuses them without one); the rest of the query is the user's.
  SqlProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::SqlSpec>(cfg_.spec)), src_(src) {
    query_ = spec_.query;
    if (!cfg_.table.empty()) {
      const Dialect& d = src_.dialect();
      query_ = fillNames(spec_.query, d.qualified(cfg_.table),
                         spec_.column.empty() ? "" : d.ident(spec_.column));
    }
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    auto q = src_.query(query_, {}, ctx.limits);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.empty())
      return ProbeResult::error("query returned no row (expected one row with one number)");
    if (q->rows.size() > 1) {
      return ProbeResult::error("query returned " + std::to_string(q->rows.size()) +
                                " rows (expected one row with one number)");
    }
    if (q->rows[0].size() != 1) {
      return ProbeResult::error("query returned " + std::to_string(q->rows[0].size()) +
                                " columns (expected one number)");
    }
    const SqlValue& v = q->rows[0][0];
    if (std::holds_alternative<std::monostate>(v))
      return ProbeResult::error("query returned NULL (expected a number)");
    const auto value = sqlValueToDouble(v);
    if (!value || !std::isfinite(*value)) {
      return ProbeResult::error("query returned \"" + sqlValueToString(v) + "\", not a number");
    }
    nlohmann::json threshold = nlohmann::json::object();
    const auto problems = judge(*value, threshold);
    ProbeResult r =
        problems.empty()
            ? ProbeResult::pass(*value, "", "value " + formatNumber(*value) + " within bounds")
            : ProbeResult::fail(*value, "", "");
    for (const auto& p : problems) r.message += (r.message.empty() ? "" : "; ") + p;
    r.threshold = threshold;
    r.details = {{"column", q->columns.empty() ? "" : q->columns[0]}};
    if (!cfg_.table.empty()) r.details["table"] = cfg_.table;
    if (!spec_.column.empty()) r.details["checked_column"] = spec_.column;
    return r;
  }

 private:
  // What `value` breaks of min / max / equals / must (all must hold).
  std::vector<std::string> judge(double value, nlohmann::json& threshold) const {
    std::vector<std::string> problems;
    if (spec_.min) {
      threshold["min"] = *spec_.min;
      if (value < *spec_.min)
        problems.push_back("value " + formatNumber(value) + " < min " + formatNumber(*spec_.min));
    }
    if (spec_.max) {
      threshold["max"] = *spec_.max;
      if (value > *spec_.max)
        problems.push_back("value " + formatNumber(value) + " > max " + formatNumber(*spec_.max));
    }
    if (spec_.equals) {
      threshold["equals"] = *spec_.equals;
      if (value != *spec_.equals)
        problems.push_back("value " + formatNumber(value) + " != " + formatNumber(*spec_.equals));
    }
    if (spec_.must) {
      threshold["must"] = spec_.must->str();
      if (!spec_.must->holds(value))
        problems.push_back("value " + formatNumber(value) + ", must be " + spec_.must->str());
    }
    return problems;
  }

  config::ProbeConfig cfg_;
  const config::SqlSpec& spec_;
  SqlSource& src_;
  std::string query_;  // spec_.query with {table} / {column} filled
};

}  // namespace

Result<std::unique_ptr<Probe>> makeSqlProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<SqlProbe, SqlSource>(cfg, source, "sql probes need a SQL source");
}

}  // namespace datawatch
