// The values probe: per-row rules on one column (or a composite key) counted in
// one query (values_sql.hpp), judged per metric (config::ValuesMetric): a
// metric with a `must` bound passes iff the bound holds for its count (or its
// percent of the rows); without one, invalid and duplicates (when unique) fail
// on their first row, missing when `missing` is given, nulls only past
// max_null_ratio.
#include <array>
#include <cmath>

#include "core/duration.hpp"
#include "probes/sql_probes.hpp"
#include "probes/time_window.hpp"
#include "probes/values_sql.hpp"

namespace datawatch {
namespace {

using config::ValuesMetric;
using namespace values_sql;
using Counts = std::array<double, kCountColumns>;

// A sample value as messages and details show it: at most kSampleBytes bytes,
// cut at a UTF-8 character boundary with "…" (a max_length rule exists to catch
// huge values: one run must not carry them into alerts and the state store).
constexpr size_t kSampleBytes = 64;
std::string sampleText(const SqlValue& v) {
  std::string s = sqlValueToString(v);
  if (s.size() <= kSampleBytes) return s;
  size_t cut = kSampleBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "\u2026";
}

// The samples a run fetched: invalid values, and duplicated values or keys.
struct Samples {
  std::vector<std::string> invalid;
  std::vector<std::vector<std::string>> duplicates;  // one entry per key column
};

// The verdict being built: message parts (failed and tolerated) and the rows
// the failed metrics count.
struct Verdict {
  std::vector<std::string> failed;
  std::vector<std::string> tolerated;
  double violating = 0;
};

// "1 row", "2 rows"; `one` is the singular, `many` the plural.
std::string counted(double n, const std::string& one, const std::string& many) {
  return formatNumber(n) + " " + (n == 1 ? one : many);
}

// The plural of a metric's name as counts show it ("nulls"); the singular is
// the metric's own name ("null") or, for "duplicates", "duplicate".
std::string metricWord(ValuesMetric m, double n) {
  std::string w = toString(m);
  if (m == ValuesMetric::Nulls || m == ValuesMetric::Duplicates)
    return n == 1 ? w.substr(0, w.size() - 1) : w;
  return w;
}

// Up to 3 quoted examples: ` (e.g. "a", "b")`, or "" without any. Keys of
// several columns read as `(1, x)`.
std::string examples(const std::vector<std::vector<std::string>>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 3; ++i) {
    std::string k;
    for (const auto& v : keys[i]) k += (k.empty() ? "" : ", ") + ("\"" + v + "\"");
    out += (i ? ", " : "") + (keys[i].size() == 1 ? k : "(" + k + ")");
  }
  return out.empty() ? "" : " (e.g. " + out + ")";
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

class ValuesProbe final : public Probe {
 public:
  ValuesProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::ValuesSpec>(cfg_.spec)), src_(src) {
    if (!spec_.time_column.empty() && spec_.window)
      window_.emplace(src_, cfg_.table, spec_.time_column, *spec_.window);
    auto built = values_sql::build(cfg_, src_, window_ ? window_->condition(1) : "");
    if (built)
      sql_ = std::move(built).value();
    else
      build_error_ = built.error();
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    if (!build_error_.empty()) return ProbeResult::error(build_error_);
    std::vector<SqlValue> window_params;
    if (window_) {
      auto bounds = window_->bounds(ctx);
      if (!bounds) return ProbeResult::error(bounds.error());
      if (!*bounds) return evaluate(Counts{}, {});
      window_params = std::move(**bounds);
    }
    const QueryLimits limits = builtQuery(ctx.limits, spec_.filter.has_value());
    auto query = [&](const Statement& st) {
      std::vector<SqlValue> params = window_params;
      params.insert(params.end(), st.params.begin(), st.params.end());
      return src_.query(st.sql, params, limits);
    };
    auto q = query(sql_.counts);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.size() != 1 || q->rows[0].size() != kCountColumns)
      return ProbeResult::error("unexpected result shape from values query");
    Counts c{};
    for (size_t i = 0; i < kCountColumns; ++i) c[i] = sqlValueToDouble(q->rows[0][i]).value_or(0);
    if (spec_.missing.empty()) c[kMissing] = c[kNulls];
    Samples samples;
    if (c[kInvalid] > 0 && !sql_.samples.sql.empty()) {
      if (auto s = query(sql_.samples))
        for (const auto& row : s->rows) samples.invalid.push_back(sampleText(row.at(0)));
    }
    if (c[kDuplicates] > 0 && !sql_.duplicates.sql.empty()) {
      if (auto s = query(sql_.duplicates)) {
        for (const auto& row : s->rows) {
          std::vector<std::string> key;
          for (const auto& v : row) key.push_back(sampleText(v));
          samples.duplicates.push_back(std::move(key));
        }
      }
    }
    return evaluate(c, samples);
  }

 private:
  // Failed: "3 nulls (3.448%), must be < 1%"; tolerated: "3 nulls (3%) <= 3%".
  static std::string boundPart(double count, ValuesMetric metric, double pct,
                               const config::Bound& b, bool holds) {
    return formatNumber(count) + " " + metricWord(metric, count) + " (" + formatNumber(pct) + "%)" +
           (holds ? " " : ", must be ") + b.str();
  }

  // The numeric range as its failure shows it: "[0, 10000]", ">= 0", "<= 10000".
  std::string rangeText() const {
    if (spec_.min && spec_.max)
      return "[" + formatNumber(*spec_.min) + ", " + formatNumber(*spec_.max) + "]";
    return spec_.min ? "(must be >= " + formatNumber(*spec_.min) + ")"
                     : "(must be <= " + formatNumber(spec_.max.value_or(0)) + ")";
  }

  // The metric's bound, if it has one: judged, its details recorded; true when
  // it had one.
  bool judgeBound(ValuesMetric metric, double count, double rows, Verdict& v,
                  nlohmann::json& details) const {
    auto it = spec_.must.find(metric);
    if (it == spec_.must.end()) return false;
    const config::Bound& b = it->second;
    const double pct = rows > 0 ? count * 100 / rows : 0;
    const bool holds = b.holds(b.percent ? pct : count);
    details["must"][toString(metric)] = {{"value", count}, {"percent", pct}, {"must", b.str()}};
    (holds ? v.tolerated : v.failed).push_back(boundPart(count, metric, pct, b, holds));
    if (!holds) v.violating += count;
    return true;
  }

  // Invalid rows without a bound: each rule's count, in the message's order.
  void invalidParts(const Counts& c, Verdict& v, std::vector<std::string>& after) const {
    if (c[kInvalid] <= 0) return;
    v.violating += c[kInvalid];
    if (c[kNotAccepted] > 0) v.failed.push_back(formatNumber(c[kNotAccepted]) + " not accepted");
    if (c[kOutOfRange] > 0)
      after.push_back(formatNumber(c[kOutOfRange]) + " out of range " + rangeText());
    if (c[kNotMatching] > 0)
      after.push_back(formatNumber(c[kNotMatching]) + " not matching the pattern");
    if (c[kWrongLength] > 0)
      after.push_back(formatNumber(c[kWrongLength]) + " of a length outside the bounds");
  }

  // Judges every metric. Message order (stable since before bounds): not
  // accepted, nulls, missing, invalid (bounded), duplicates, out of range,
  // pattern, length.
  Verdict judge(const Counts& c, const std::vector<std::vector<std::string>>& duplicates,
                nlohmann::json& details) const {
    Verdict v;
    const double rows = c[kRows];
    std::vector<std::string> after;  // parts written after duplicates
    const bool invalid_bounded = spec_.must.count(ValuesMetric::Invalid) > 0;
    if (!invalid_bounded) invalidParts(c, v, after);
    if (!judgeBound(ValuesMetric::Nulls, c[kNulls], rows, v, details) && spec_.max_null_ratio) {
      const double ratio = rows > 0 ? c[kNulls] / rows : 0;
      if (ratio > *spec_.max_null_ratio) {
        v.violating += c[kNulls];
        v.failed.push_back(counted(c[kNulls], "null", "nulls") + " (" + formatNumber(ratio * 100) +
                           "% > " + formatNumber(*spec_.max_null_ratio * 100) + "%)");
      }
    }
    if (!judgeBound(ValuesMetric::Missing, c[kMissing], rows, v, details) &&
        !spec_.missing.empty() && c[kMissing] > 0) {
      v.violating += c[kMissing];
      v.failed.push_back(formatNumber(c[kMissing]) + " missing");
    }
    if (invalid_bounded) judgeBound(ValuesMetric::Invalid, c[kInvalid], rows, v, details);
    const size_t failed_before = v.failed.size();
    if (!judgeBound(ValuesMetric::Duplicates, c[kDuplicates], rows, v, details) && spec_.unique &&
        c[kDuplicates] > 0) {
      v.violating += c[kDuplicates];
      v.failed.push_back(counted(c[kDuplicates], "duplicate", "duplicates"));
    }
    if (v.failed.size() > failed_before) v.failed.back() += examples(duplicates);
    v.failed.insert(v.failed.end(), after.begin(), after.end());
    return v;
  }

  nlohmann::json threshold() const {
    nlohmann::json t = nlohmann::json::object();
    if (!spec_.accepted.empty()) t["accepted"] = spec_.accepted;
    if (!spec_.missing.empty()) t["missing"] = spec_.missing;
    if (spec_.pattern) t["pattern"] = *spec_.pattern;
    if (spec_.min_length) t["min_length"] = *spec_.min_length;
    if (spec_.max_length) t["max_length"] = *spec_.max_length;
    if (spec_.max_null_ratio) t["max_null_ratio"] = *spec_.max_null_ratio;
    if (spec_.unique) t["unique"] = true;
    if (spec_.min) t["min"] = *spec_.min;
    if (spec_.max) t["max"] = *spec_.max;
    for (const auto& [m, b] : spec_.must) t["must"][toString(m)] = b.str();
    return t;
  }

  nlohmann::json baseDetails(const Counts& c, const Samples& samples) const {
    const double rows = c[kRows];
    nlohmann::json d = {{"rows", rows},
                        {"nulls", c[kNulls]},
                        {"null_ratio", rows > 0 ? c[kNulls] / rows : 0.0},
                        {"missing", c[kMissing]},
                        {"invalid", c[kInvalid]},
                        {"not_accepted", c[kNotAccepted]},
                        {"out_of_range", c[kOutOfRange]},
                        {"not_matching", c[kNotMatching]},
                        {"wrong_length", c[kWrongLength]},
                        {"duplicates", c[kDuplicates]},
                        {"samples", samples.invalid}};
    if (spec_.columns.empty()) {
      d["column"] = spec_.column;
      std::vector<std::string> dups;
      for (const auto& k : samples.duplicates) dups.push_back(k.empty() ? "" : k[0]);
      if (!dups.empty()) d["duplicate_values"] = dups;
    } else {
      d["columns"] = spec_.columns;
      if (!samples.duplicates.empty()) d["duplicate_keys"] = samples.duplicates;
    }
    if (window_) d["window"] = formatDuration(window_->window());
    return d;
  }

  ProbeResult evaluate(const Counts& c, const Samples& samples) const {
    nlohmann::json details = baseDetails(c, samples);
    const Verdict v = judge(c, samples.duplicates, details);
    const double rows = c[kRows];
    ProbeResult r;
    if (v.failed.empty()) {
      std::string msg = v.tolerated.empty() ? "no violations in " + counted(rows, "row", "rows")
                                            : counted(rows, "row", "rows") +
                                                  ", within bounds: " + join(v.tolerated);
      r = ProbeResult::pass(0, "rows", msg);
    } else {
      std::string msg = join(v.failed);
      if (!samples.invalid.empty()) {
        msg += " (e.g. ";
        for (size_t i = 0; i < samples.invalid.size(); ++i)
          msg += (i ? ", " : "") + std::string("\"") + samples.invalid[i] + "\"";
        msg += ")";
      }
      r = ProbeResult::fail(v.violating, "rows",
                            counted(v.violating, "violating row", "violating rows") + " of " +
                                formatNumber(rows) + ": " + msg);
    }
    r.threshold = threshold();
    r.details = std::move(details);
    return r;
  }

  config::ProbeConfig cfg_;
  const config::ValuesSpec& spec_;
  SqlSource& src_;
  std::optional<TimeWindow> window_;
  Statements sql_;
  std::string build_error_;
};

}  // namespace

Result<std::unique_ptr<Probe>> makeValuesProbe(const config::ProbeConfig& cfg, Source& source) {
  return makeProbeOn<ValuesProbe, SqlSource>(cfg, source, "values probes need a SQL source");
}

}  // namespace datawatch
