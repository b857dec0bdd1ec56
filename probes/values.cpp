#include <array>
#include <cmath>

#include "core/duration.hpp"
#include "probes/sql_probes.hpp"
#include "probes/time_window.hpp"

namespace datawatch {
namespace {

constexpr int64_t kMaxSamples = 5;

class ValuesProbe final : public Probe {
 public:
  ValuesProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::ValuesSpec>(cfg_.spec)), src_(src) {
    const Dialect& d = src_.dialect();
    const std::string col = d.ident(spec_.column);
    int p = 1;
    // Parameters: window bounds first (if any), then accepted values, then min, max.
    std::vector<std::string> where;
    if (!spec_.time_column.empty() && spec_.window) {
      window_.emplace(src_, cfg_.table, spec_.time_column, *spec_.window);
      where.push_back(window_->condition(p));
      p += 2;
    }
    if (spec_.filter) where.push_back("(" + *spec_.filter + ")");
    std::string from = " FROM " + d.qualified(cfg_.table);
    for (size_t i = 0; i < where.size(); ++i) from += (i == 0 ? " WHERE " : " AND ") + where[i];
    std::vector<std::string> bad;  // per-row violation predicates
    std::string sql = "SELECT count(*), sum(CASE WHEN " + col + " IS NULL THEN 1 ELSE 0 END)";
    if (!spec_.accepted.empty()) {
      std::string list;
      for (size_t i = 0; i < spec_.accepted.size(); ++i)
        list += (i ? ", " : "") + src_.placeholder(p++);
      const std::string pred = col + " IS NOT NULL AND " + col + " NOT IN (" + list + ")";
      sql += ", sum(CASE WHEN " + pred + " THEN 1 ELSE 0 END)";
      bad.push_back(pred);
    } else {
      sql += ", 0";
    }
    if (spec_.min || spec_.max) {
      std::string pred;
      if (spec_.min) pred += col + " < " + src_.placeholder(p++);
      if (spec_.max) pred += (pred.empty() ? "" : " OR ") + col + " > " + src_.placeholder(p++);
      sql += ", sum(CASE WHEN " + pred + " THEN 1 ELSE 0 END)";
      bad.push_back("(" + pred + ")");
    } else {
      sql += ", 0";
    }
    // Duplicates: non-null rows beyond the first of each value.
    sql += spec_.unique ? ", count(" + col + ") - count(DISTINCT " + col + ")" : std::string(", 0");
    counts_sql_ = sql + from;
    if (!bad.empty()) {
      std::string any;
      for (const auto& b : bad) any += (any.empty() ? "" : " OR ") + b;
      samples_sql_ = d.selectLimited(
          col + from + (where.empty() ? " WHERE " : " AND ") + "(" + any + ") ORDER BY 1",
          kMaxSamples, true);
    }
    if (spec_.unique) {
      dup_sql_ = d.selectLimited(col + from + (where.empty() ? " WHERE " : " AND ") + col +
                                     " IS NOT NULL GROUP BY " + col +
                                     " HAVING count(*) > 1 ORDER BY count(*) DESC, 1",
                                 kMaxSamples);
    }
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    std::vector<SqlValue> params;
    if (window_) {
      auto bounds = window_->bounds(ctx);
      if (!bounds) return ProbeResult::error(bounds.error());
      if (!*bounds) return evaluate({0, 0, 0, 0, 0}, {}, {});
      params = std::move(**bounds);
    }
    for (const auto& a : spec_.accepted) params.emplace_back(a);
    if (spec_.min) params.emplace_back(*spec_.min);
    if (spec_.max) params.emplace_back(*spec_.max);
    const QueryLimits limits = builtQuery(ctx.limits, spec_.filter.has_value());
    auto q = src_.query(counts_sql_, params, limits);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.size() != 1 || q->rows[0].size() != 5)
      return ProbeResult::error("unexpected result shape from values query");
    std::array<double, 5> c{};
    for (size_t i = 0; i < 5; ++i) c[i] = sqlValueToDouble(q->rows[0][i]).value_or(0);
    std::vector<std::string> samples, duplicates;
    if ((c[2] > 0 || c[3] > 0) && !samples_sql_.empty()) {
      if (auto s = src_.query(samples_sql_, params, limits)) {
        for (const auto& row : s->rows) samples.push_back(sqlValueToString(row.at(0)));
      }
    }
    if (c[4] > 0 && !dup_sql_.empty()) {
      std::vector<SqlValue> wparams(params.begin(), params.begin() + (window_ ? 2 : 0));
      if (auto s = src_.query(dup_sql_, wparams, limits)) {
        for (const auto& row : s->rows) duplicates.push_back(sqlValueToString(row.at(0)));
      }
    }
    return evaluate(c, samples, duplicates);
  }

 private:
  // c = {rows, nulls, not accepted, out of range, duplicates}
  ProbeResult evaluate(const std::array<double, 5>& c, const std::vector<std::string>& samples,
                       const std::vector<std::string>& duplicates) {
    const double rows = c[0], nulls = c[1], not_accepted = c[2], out_of_range = c[3], dups = c[4];
    const double null_ratio = rows > 0 ? nulls / rows : 0;
    const bool too_many_nulls = spec_.max_null_ratio && null_ratio > *spec_.max_null_ratio;
    const double violations = not_accepted + out_of_range + dups + (too_many_nulls ? nulls : 0);
    nlohmann::json threshold = nlohmann::json::object();
    if (!spec_.accepted.empty()) threshold["accepted"] = spec_.accepted;
    if (spec_.max_null_ratio) threshold["max_null_ratio"] = *spec_.max_null_ratio;
    if (spec_.unique) threshold["unique"] = true;
    if (spec_.min) threshold["min"] = *spec_.min;
    if (spec_.max) threshold["max"] = *spec_.max;
    nlohmann::json details = {{"column", spec_.column},
                              {"rows", rows},
                              {"nulls", nulls},
                              {"null_ratio", null_ratio},
                              {"not_accepted", not_accepted},
                              {"out_of_range", out_of_range},
                              {"duplicates", dups},
                              {"samples", samples}};
    if (!duplicates.empty()) details["duplicate_values"] = duplicates;
    if (window_) details["window"] = formatDuration(window_->window());
    std::vector<std::string> parts;
    if (not_accepted > 0) parts.push_back(formatNumber(not_accepted) + " not accepted");
    if (too_many_nulls) {
      parts.push_back(formatNumber(nulls) + " nulls (" + formatNumber(null_ratio * 100) + "% > " +
                      formatNumber(*spec_.max_null_ratio * 100) + "%)");
    }
    if (dups > 0) parts.push_back(formatNumber(dups) + " duplicates");
    if (out_of_range > 0) parts.push_back(formatNumber(out_of_range) + " out of range");
    std::string msg;
    for (const auto& p : parts) msg += (msg.empty() ? "" : ", ") + p;
    if (!samples.empty()) {
      msg += " (e.g. ";
      for (size_t i = 0; i < samples.size(); ++i)
        msg += (i ? ", " : "") + std::string("\"") + samples[i] + "\"";
      msg += ")";
    }
    ProbeResult r =
        violations == 0
            ? ProbeResult::pass(0, "rows", "no violations in " + formatNumber(rows) + " rows")
            : ProbeResult::fail(violations, "rows",
                                formatNumber(violations) + " violating rows of " +
                                    formatNumber(rows) + ": " + msg);
    r.threshold = threshold;
    r.details = details;
    return r;
  }

  config::ProbeConfig cfg_;
  const config::ValuesSpec& spec_;
  SqlSource& src_;
  std::optional<TimeWindow> window_;
  std::string counts_sql_;
  std::string samples_sql_;
  std::string dup_sql_;
};

}  // namespace

Result<std::unique_ptr<Probe>> makeValuesProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<ValuesProbe, SqlSource>(cfg, source, "values probes need a SQL source");
}

}  // namespace datawatch
