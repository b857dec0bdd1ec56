#include "probes/source.hpp"

#include <charconv>
#include <cstdio>

namespace datawatch {

SqlSource::BatchAnswers SqlSource::queryBatch(const std::vector<BatchQuery>& batch) {
  BatchAnswers out;
  out.reserve(batch.size());
  for (const auto& q : batch) out.emplace_back(query(*q.sql, *q.params, q.limits));
  return out;
}

std::string numberedMarker(char prefix, int n) {
  std::string s = std::to_string(n);
  s.insert(s.begin(), prefix);
  return s;
}

std::string quoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"')
      out += "\"\"";
    else if (c != '\0')
      out += c;  // NUL cannot appear in an identifier; drop it
  }
  return out + "\"";
}

std::string quoteQualified(std::string_view dotted) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    if (!out.empty()) out += '.';
    out += quoteIdentifier(
        dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string sqlValueToString(const SqlValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return std::get<std::string>(v);
}

std::optional<double> sqlValueToDouble(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) {
    double out = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && p == s->data() + s->size()) return out;
  }
  return std::nullopt;
}

}  // namespace datawatch
