#include "probes/time_window.hpp"

namespace datawatch {

TimeWindow::TimeWindow(SqlSource& src, const std::string& table, std::string column,
                       Duration window)
    : src_(src), column_(std::move(column)), quoted_(quoteIdentifier(column_)), window_(window) {
  sample_sql_ = "SELECT max(" + quoted_ + ") FROM " + quoteQualified(table);
}

std::string TimeWindow::condition(int first_param) const {
  return quoted_ + " >= " + src_.placeholder(first_param) + " AND " + quoted_ +
         " <= " + src_.placeholder(first_param + 1);
}

Result<std::optional<std::vector<SqlValue>>> TimeWindow::bounds(const RunContext& ctx) {
  using R = Result<std::optional<std::vector<SqlValue>>>;
  if (!format_) {
    auto sample = src_.query(sample_sql_, {}, ctx.limits);
    if (!sample) return sample.status();
    const SqlValue v = sample->rows.at(0).at(0);
    if (std::holds_alternative<std::monostate>(v)) return std::optional<std::vector<SqlValue>>{};
    format_ = detectTimestampFormat(v);
    if (!format_) {
      return R::Error("column " + column_ + " holds a value that is not a timestamp (newest: \"" +
                      sqlValueToString(v) + "\"): store ISO-8601 text or Unix seconds");
    }
  }
  return std::optional<std::vector<SqlValue>>(std::vector<SqlValue>{
      timestampToValue(*format_, ctx.now - window_), timestampToValue(*format_, ctx.now)});
}

}  // namespace datawatch
