#include "probes/time_window.hpp"

#include <algorithm>
#include <chrono>

namespace datawatch {

TimeWindow::TimeWindow(SqlSource& src, const std::string& table, std::string column,
                       Duration window)
    : src_(src),
      column_(std::move(column)),
      quoted_(src.dialect().ident(column_)),
      window_(window) {
  sample_sql_ = "SELECT max(" + quoted_ + ") FROM " + src.dialect().qualified(table);
}

std::string TimeWindow::condition(int first_param) const {
  const Dialect& d = src_.dialect();
  return quoted_ + " >= " + d.timeBound(src_.placeholder(first_param)) + " AND " + quoted_ +
         " <= " + d.timeBound(src_.placeholder(first_param + 1));
}

Result<std::optional<std::vector<SqlValue>>> TimeWindow::bounds(const RunContext& ctx) {
  auto r = range(ctx, ctx.now - window_, ctx.now);  // learns the format on the first run
  if (!r || !*r || !wholeDays()) return r;
  // Dates: whole days ending today, [today - (n-1), today] with n the window in
  // days rounded up; "col >= now - 1d" on a date would also take in yesterday.
  using namespace std::chrono;
  const auto today = floor<days>(ctx.now);
  const auto n = std::max<int64_t>(1, (duration_cast<seconds>(window_).count() + 86399) / 86400);
  return range(ctx, TimePoint(today - days(n - 1)), TimePoint(today));
}

bool TimeWindow::wholeDays() const {
  return format_ && format_->kind == TimestampFormat::Kind::IsoText && format_->separator == 0;
}

std::string TimeWindow::epochExpr() const {
  const auto kind = format_ ? format_->kind : TimestampFormat::Kind::IsoText;
  switch (kind) {
    case TimestampFormat::Kind::EpochSeconds: return "(" + quoted_ + ")";
    case TimestampFormat::Kind::EpochMillis: return "(" + quoted_ + " / 1000.0)";
    case TimestampFormat::Kind::IsoText: break;
  }
  return src_.dialect().epochSeconds(quoted_);
}

Result<std::optional<std::vector<SqlValue>>> TimeWindow::range(const RunContext& ctx,
                                                               TimePoint from, TimePoint to) {
  using R = Result<std::optional<std::vector<SqlValue>>>;
  if (!format_) {
    auto sample = src_.query(sample_sql_, {}, builtQuery(ctx.limits));
    if (!sample) return sample.status();
    const SqlValue v = sample->rows.at(0).at(0);
    if (std::holds_alternative<std::monostate>(v)) return std::optional<std::vector<SqlValue>>{};
    format_ = detectTimestampFormat(v);
    if (!format_) {
      return R::Error(notATimestampMessage(column_, v));
    }
  }
  return std::optional<std::vector<SqlValue>>(
      std::vector<SqlValue>{timestampToValue(*format_, from), timestampToValue(*format_, to)});
}

}  // namespace datawatch
