#include <cmath>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "probes/sql_probes.hpp"

namespace datawatch {
namespace {

class SqlFreshnessProbe final : public Probe {
 public:
  SqlFreshnessProbe(config::ProbeConfig cfg, SqlSource& src) : cfg_(std::move(cfg)), spec_(std::get<config::FreshnessSpec>(cfg_.spec)), src_(src) {
    const std::string col = quoteIdentifier(spec_.column);
    const std::string ts = src_.epochSecondsExpr(col);
    const std::string now = src_.placeholder(1);
    // One pass: the newest parseable timestamp not after `now`, how many values
    // could not be read as timestamps (and one of them), and rows from the future.
    sql_ = "SELECT max(CASE WHEN ts <= " + now + " THEN ts END), count(v), "
           "sum(CASE WHEN v IS NOT NULL AND ts IS NULL THEN 1 ELSE 0 END), "
           "min(CASE WHEN v IS NOT NULL AND ts IS NULL THEN CAST(v AS TEXT) END), "
           "sum(CASE WHEN ts > " + now + " THEN 1 ELSE 0 END) "
           "FROM (SELECT " + col + " AS v, " + ts + " AS ts FROM " + quoteQualified(cfg_.table) +
           (spec_.filter ? " WHERE (" + *spec_.filter + ")" : std::string()) + ") AS t";
  }

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    const double now_s = toUnixSeconds(ctx.now);
    auto q = src_.query(sql_, {now_s}, ctx.limits);
    if (!q) return ProbeResult::error(q.error());
    if (q->rows.size() != 1 || q->rows[0].size() != 5) return ProbeResult::error("unexpected result shape from freshness query");
    const auto& row = q->rows[0];
    const auto newest = sqlValueToDouble(row[0]);
    const auto non_null = sqlValueToDouble(row[1]).value_or(0);
    const auto unparseable = sqlValueToDouble(row[2]).value_or(0);
    const auto future = sqlValueToDouble(row[4]).value_or(0);

    nlohmann::json threshold = nlohmann::json::object();
    if (spec_.max_age) threshold["max"] = std::chrono::duration<double>(*spec_.max_age).count();
    std::optional<TimePoint> expected_after;
    if (spec_.schedule) {
      // The latest scheduled load whose grace has passed: rows must be newer than it.
      if (auto run_at = spec_.schedule->previous(ctx.now - spec_.grace, spec_.utc_offset)) {
        expected_after = *run_at;
        threshold["expected_after"] = formatRfc3339(*run_at);
        threshold["schedule"] = spec_.schedule->text();
        threshold["grace"] = formatDuration(spec_.grace);
      }
    }
    nlohmann::json details = {{"column", spec_.column}, {"non_null_rows", non_null}};
    if (unparseable > 0) {
      details["unparseable_rows"] = unparseable;
      details["unparseable_example"] = sqlValueToString(row[3]);
    }
    if (future > 0) details["future_rows"] = future;

    if (!newest) {
      if (unparseable > 0) {
        auto r = ProbeResult::error("column " + spec_.column + " holds no readable timestamps (" +
                                    std::to_string(static_cast<int64_t>(unparseable)) + " values such as \"" +
                                    sqlValueToString(row[3]) +
                                    "\"): use ISO-8601 text or Unix seconds");
        r.details = details;
        return r;
      }
      auto r = ProbeResult::fail(std::nullopt, "seconds",
                                 non_null == 0 ? "no rows with a " + spec_.column + " value" : "all rows are in the future");
      r.threshold = threshold;
      r.details = details;
      return r;
    }
    const double age = std::max(0.0, now_s - *newest);
    details["newest"] = formatRfc3339(fromUnixSeconds(*newest));
    details["newest_timestamp_seconds"] = *newest;
    const auto age_d = std::chrono::milliseconds(static_cast<int64_t>(std::llround(age * 1000)));
    bool ok = true;
    std::string message = "age " + humanDuration(age_d);
    if (spec_.max_age) {
      const bool within = age_d <= *spec_.max_age;
      ok = ok && within;
      message += (within ? " <= " : " > ") + humanDuration(*spec_.max_age);
    }
    if (expected_after) {
      const bool loaded = fromUnixSeconds(*newest) >= *expected_after;
      ok = ok && loaded;
      message += loaded ? "; loaded since the " + formatRfc3339(*expected_after) + " run"
                        : "; missing the load scheduled at " + formatRfc3339(*expected_after) +
                              " (grace " + humanDuration(spec_.grace) + ")";
    }
    auto r = ok ? ProbeResult::pass(age, "seconds", message) : ProbeResult::fail(age, "seconds", message);
    r.threshold = threshold;
    r.details = details;
    return r;
  }

 private:
  config::ProbeConfig cfg_;
  const config::FreshnessSpec& spec_;
  SqlSource& src_;
  std::string sql_;
};

}  // namespace

Result<std::unique_ptr<Probe>> makeFreshnessProbe(const config::ProbeConfig& cfg, Source& source) {
  auto* sql = dynamic_cast<SqlSource*>(&source);
  if (sql == nullptr || cfg.table.empty()) {
    return Result<std::unique_ptr<Probe>>::Error("freshness on kafka topics is not supported by this build yet");
  }
  return std::unique_ptr<Probe>(std::make_unique<SqlFreshnessProbe>(cfg, *sql));
}

}  // namespace datawatch
