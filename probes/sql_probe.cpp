#include <cmath>

#include "probes/sql_probes.hpp"

namespace datawatch {
namespace {

class SqlProbe final : public Probe {
 public:
  SqlProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::SqlSpec>(cfg_.spec)), src_(src) {}

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    auto q = src_.query(spec_.query, {}, ctx.limits);
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
    std::vector<std::string> problems;
    if (spec_.min) {
      threshold["min"] = *spec_.min;
      if (*value < *spec_.min)
        problems.push_back("value " + formatNumber(*value) + " < min " + formatNumber(*spec_.min));
    }
    if (spec_.max) {
      threshold["max"] = *spec_.max;
      if (*value > *spec_.max)
        problems.push_back("value " + formatNumber(*value) + " > max " + formatNumber(*spec_.max));
    }
    if (spec_.equals) {
      threshold["equals"] = *spec_.equals;
      if (*value != *spec_.equals) {
        problems.push_back("value " + formatNumber(*value) + " != " + formatNumber(*spec_.equals));
      }
    }
    ProbeResult r =
        problems.empty()
            ? ProbeResult::pass(*value, "", "value " + formatNumber(*value) + " within bounds")
            : ProbeResult::fail(*value, "", "");
    for (const auto& p : problems) r.message += (r.message.empty() ? "" : "; ") + p;
    r.threshold = threshold;
    r.details = {{"column", q->columns.empty() ? "" : q->columns[0]}};
    return r;
  }

 private:
  config::ProbeConfig cfg_;
  const config::SqlSpec& spec_;
  SqlSource& src_;
};

}  // namespace

Result<std::unique_ptr<Probe>> makeSqlProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<SqlProbe, SqlSource>(cfg, source, "sql probes need a SQL source");
}

}  // namespace datawatch
