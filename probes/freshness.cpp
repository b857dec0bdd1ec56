#include <cmath>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/freshness_judge.hpp"
#include "probes/sql_probes.hpp"
#include "probes/timestamp_values.hpp"

namespace datawatch {
namespace {

// Judges the newest row (max(column)), or with `oldest` the oldest one
// (min(column): retention). Both read one aggregate built by the same code.
class SqlFreshnessProbe final : public Probe {
 public:
  SqlFreshnessProbe(config::ProbeConfig cfg, SqlSource& src)
      : cfg_(std::move(cfg)), spec_(std::get<config::FreshnessSpec>(cfg_.spec)), src_(src) {
    const Dialect& d = src_.dialect();
    const std::string col = d.ident(spec_.column);
    const std::string from = " FROM " + d.qualified(cfg_.table);
    const std::string filter = spec_.filter ? "(" + *spec_.filter + ")" : "";
    // max(column) / min(column): one index probe when the column is indexed.
    const std::string agg = spec_.oldest ? "min(" : "max(";
    edge_.source = &src_;
    edge_.sql = "SELECT " + agg + col + ")" + from + (filter.empty() ? "" : " WHERE " + filter);
    edge_.with_user_sql = spec_.filter.has_value();
    // Only when the newest row is in the future (clock skew, preloaded rows): the
    // newest row at or before `now`.
    not_after_sql_ = "SELECT max(" + col + ")" + from + " WHERE " + col +
                     " <= " + d.timeBound(src_.placeholder(1)) +
                     (filter.empty() ? "" : " AND " + filter);
  }

  const config::ProbeConfig& config() const override { return cfg_; }
  const PlannedQuery* plan() const override { return &edge_; }

  ProbeResult run(const RunContext& ctx) override {
    auto q = runPlanned(ctx, edge_);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.size() != 1 || q->rows[0].size() != 1)
      return ProbeResult::error("unexpected result shape from freshness query");
    if (spec_.oldest) return judgeOldest(ctx, q->rows[0][0]);
    SqlValue raw = q->rows[0][0];
    // Not an initializer list: nlohmann builds those as a vector of pairs
    // first (every run; issue 19).
    nlohmann::json details(nlohmann::json::value_t::object);
    details["column"] = spec_.column;
    auto noRows = [&](const std::string& why) {
      auto r = ProbeResult::fail(std::nullopt, "seconds", why);
      r.threshold = freshnessThreshold(spec_, ctx.now);
      r.details = std::move(details);
      return r;
    };
    if (std::holds_alternative<std::monostate>(raw))
      return noRows("no rows with a " + spec_.column + " value");
    auto newest = timestampFromValue(raw);
    if (!newest) {
      auto r = ProbeResult::error(notATimestampMessage(spec_.column, raw));
      r.details = details;
      return r;
    }
    if (*newest > ctx.now) {
      details["future_newest"] = formatRfc3339(*newest);
      const auto format = detectTimestampFormat(raw);
      auto q2 = src_.query(not_after_sql_, {timestampToValue(*format, ctx.now)},
                           builtQuery(ctx.limits, spec_.filter.has_value()));
      if (!q2) return ProbeResult::error(q2.error());
      raw = q2->rows.at(0).at(0);
      if (std::holds_alternative<std::monostate>(raw)) return noRows("all rows are in the future");
      newest = timestampFromValue(raw);
      if (!newest)
        return ProbeResult::error("column " + spec_.column +
                                  " holds values that are not timestamps");
    }
    return judgeNewest(spec_, ctx.now, *newest, std::move(details));
  }

 private:
  // Retention: the oldest row's age must stay within max_age. No rows: nothing
  // is kept too long. A future oldest row is 0 old.
  ProbeResult judgeOldest(const RunContext& ctx, const SqlValue& raw) const {
    const Duration retention = spec_.max_age.value_or(Duration::zero());
    nlohmann::json details(nlohmann::json::value_t::object);
    details["column"] = spec_.column;
    details["oldest_row"] = true;
    const nlohmann::json threshold = {{"max", std::chrono::duration<double>(retention).count()}};
    if (std::holds_alternative<std::monostate>(raw)) {
      details["empty"] = true;
      auto r = ProbeResult::pass(0, "seconds",
                                 "no rows with a " + spec_.column + " value: nothing older than " +
                                     humanDuration(retention) + " is kept");
      r.threshold = threshold;
      r.details = details;
      return r;
    }
    const auto oldest = timestampFromValue(raw);
    if (!oldest) {
      auto r = ProbeResult::error(notATimestampMessage(spec_.column, raw));
      r.details = details;
      return r;
    }
    const double age = std::max(0.0, toUnixSeconds(ctx.now) - toUnixSeconds(*oldest));
    details["oldest"] = formatRfc3339(*oldest);
    details["oldest_timestamp_seconds"] = toUnixSeconds(*oldest);
    const auto age_d = std::chrono::milliseconds(static_cast<int64_t>(std::llround(age * 1000)));
    const bool within = age_d <= retention;
    const std::string message = "oldest row is " + humanDuration(age_d) + " old, " +
                                (within ? "within retention " : "retention ") +
                                humanDuration(retention);
    auto r = within ? ProbeResult::pass(age, "seconds", message)
                    : ProbeResult::fail(age, "seconds", message);
    r.threshold = threshold;
    r.details = details;
    return r;
  }

  config::ProbeConfig cfg_;
  const config::FreshnessSpec& spec_;
  SqlSource& src_;
  PlannedQuery edge_;  // max(column), or min(column) with `oldest`
  std::string not_after_sql_;
};

}  // namespace

std::optional<TimePoint> expectedLoad(const config::FreshnessSpec& spec, TimePoint now) {
  if (!spec.schedule) return std::nullopt;
  return previousRun(*spec.schedule, now - spec.grace, *spec.tz);
}

nlohmann::json freshnessThreshold(const config::FreshnessSpec& spec, TimePoint now) {
  nlohmann::json threshold = nlohmann::json::object();
  if (spec.max_age) threshold["max"] = std::chrono::duration<double>(*spec.max_age).count();
  if (auto run_at = expectedLoad(spec, now)) {
    threshold["expected_after"] = formatRfc3339(*run_at);
    threshold["schedule"] = spec.schedule->text();
    threshold["grace"] = formatDuration(spec.grace);
  }
  return threshold;
}

ProbeResult judgeNewest(const config::FreshnessSpec& spec, TimePoint now, TimePoint newest,
                        nlohmann::json details, const std::string& what) {
  const double age = std::max(0.0, toUnixSeconds(now) - toUnixSeconds(newest));
  details["newest"] = formatRfc3339(newest);
  details["newest_timestamp_seconds"] = toUnixSeconds(newest);
  const auto age_d = std::chrono::milliseconds(static_cast<int64_t>(std::llround(age * 1000)));
  bool ok = true;
  std::string message = what + " " + humanDuration(age_d);
  if (spec.max_age) {
    const bool within = age_d <= *spec.max_age;
    ok = ok && within;
    message += (within ? " <= " : " > ") + humanDuration(*spec.max_age);
  }
  if (auto expected_after = expectedLoad(spec, now)) {
    const bool loaded = newest >= *expected_after;
    ok = ok && loaded;
    message += loaded ? "; loaded since the " + formatRfc3339(*expected_after) + " run"
                      : "; missing the load scheduled at " + formatRfc3339(*expected_after) +
                            " (grace " + humanDuration(spec.grace) + ")";
  }
  auto r =
      ok ? ProbeResult::pass(age, "seconds", message) : ProbeResult::fail(age, "seconds", message);
  r.threshold = freshnessThreshold(spec, now);
  r.details = std::move(details);
  return r;
}

Result<std::unique_ptr<Probe>> makeFreshnessProbe(const config::ProbeConfig& cfg, Source& source) {
  const std::string needs = "freshness probes need a table on a SQL source";
  if (cfg.table.empty()) return Result<std::unique_ptr<Probe>>::Error(needs);
  return makeProbeOn<SqlFreshnessProbe, SqlSource>(cfg, source, needs);
}

}  // namespace datawatch
