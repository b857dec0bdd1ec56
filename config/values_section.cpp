// The keys of a values probe (values_section.hpp).
#include "config/values_section.hpp"

#include <regex>

namespace datawatch::config::detail {
namespace {

// The map being read and the probe's name for messages ("probe \"x\"").
struct Reader {
  MapReader& m;
  const std::string& what;
  Ctx& ctx() { return m.ctx(); }
  const Doc& doc() { return m.doc(); }
};

// column, or columns (a composite key of 2+ columns: only unique and
// must.duplicates apply to it).
void readValuesColumns(Reader& r, ValuesSpec& s) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  if (!m.has("columns")) {
    if (auto v = m.str("column", true)) s.column = *v;
    return;
  }
  if (m.has("column")) m.error("column", what + ": set either column or columns, not both");
  if (auto v = m.strList("columns")) {
    s.columns = *v;
    if (s.columns.size() < 2)
      m.error("columns", what +
                             ": columns is a composite key of 2 or more columns (for one column "
                             "write column)");
  }
  for (const char* k : {"accepted", "missing", "pattern", "min_length", "max_length",
                        "max_null_ratio", "min", "max"}) {
    if (m.has(k))
      m.error(k, what + ": " + k +
                     " checks one column; with columns (a composite key) only unique and "
                     "must.duplicates apply");
  }
}

// pattern: an ECMAScript regular expression, compiled here so a bad one is
// reported at its line (the databases' engines differ: docs/probes.md).
void readValuesPattern(Reader& r, ValuesSpec& s) {
  auto v = r.m.str("pattern");
  if (!v) return;
  if (v->empty()) {
    r.m.error("pattern", r.what + ": pattern must not be empty");
    return;
  }
  // std::regex compiles by recursive descent: ~100000 nested groups overflow
  // the stack. No real pattern comes near the cap.
  constexpr size_t kMaxPattern = 4096;
  if (v->size() > kMaxPattern) {
    r.m.error("pattern", r.what + ": pattern is " + std::to_string(v->size()) +
                             " characters long; at most " + std::to_string(kMaxPattern));
    return;
  }
  try {
    std::regex re(*v, std::regex::ECMAScript);
    s.pattern = *v;
  } catch (const std::regex_error& e) {
    r.m.error("pattern",
              r.what + ": pattern \"" + *v + "\" is not a valid regular expression: " + e.what());
  }
}

void readValuesLengths(Reader& r, ValuesSpec& s) {
  MapReader& m = r.m;
  for (const char* k : {"min_length", "max_length"}) {
    auto v = m.integer(k);
    if (!v) continue;
    if (*v < 0)
      m.error(k, r.what + ": " + k + " must be >= 0");
    else
      (std::string(k) == "min_length" ? s.min_length : s.max_length) = *v;
  }
  if (s.min_length && s.max_length && *s.min_length > *s.max_length)
    m.error("min_length", r.what + ": min_length is greater than max_length");
}

// must: {metric: bound}, e.g. {nulls: "< 1%", duplicates: "= 0"}.
void readValuesMust(Reader& r, ValuesSpec& s) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  if (!m.has("must")) return;
  const YAML::Node node = m.raw("must");
  if (!node.IsMap()) {
    m.error("must", what +
                        ": must is a map of metric: bound (nulls, missing, invalid, duplicates), "
                        "e.g. {nulls: \"< 1%\"}");
    return;
  }
  static const std::vector<std::string_view> kMetrics{"nulls", "missing", "invalid", "duplicates"};
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    const auto metric = valuesMetricFromString(key);
    if (!metric) {
      r.ctx().error(r.doc(), it->first,
                    what + ": must: unknown metric \"" + key + "\" (expected " +
                        joinNames(kMetrics) + ")" + didYouMean(key, kMetrics));
      continue;
    }
    std::string err = "a bound is a string such as \"< 1%\" or \"between 1 and 5\"";
    std::optional<Bound> b;
    if (it->second.IsScalar()) b = parseBound(it->second.Scalar(), &err);
    if (!b) {
      r.ctx().error(r.doc(), it->second, what + ": must." + key + ": " + err);
      continue;
    }
    if (!s.columns.empty() && *metric != ValuesMetric::Duplicates) {
      r.ctx().error(r.doc(), it->first,
                    what + ": must." + key +
                        " checks one column; a composite key (columns) "
                        "has only duplicates");
      continue;
    }
    s.must[*metric] = *b;
  }
}

// The rules that only make sense together.
void checkValuesRules(Reader& r, const ValuesSpec& s) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  if (!s.columns.empty() && !s.unique && !s.must.count(ValuesMetric::Duplicates))
    m.error("columns", what + ": columns needs unique: true or must: {duplicates: ...}");
  if (s.must.count(ValuesMetric::Nulls) && m.has("max_null_ratio"))
    m.error("max_null_ratio", what + ": set either max_null_ratio or must.nulls, not both");
  const bool validity = !s.accepted.empty() || s.min || s.max || s.pattern || s.min_length ||
                        s.max_length || m.has("pattern");
  if (s.must.count(ValuesMetric::Invalid) && !validity)
    m.error("must", what +
                        ": must.invalid needs a rule that makes a value invalid (accepted, min, "
                        "max, pattern, min_length or max_length)");
}

}  // namespace

ValuesSpec readValuesSpec(MapReader& m, const std::string& what) {
  Reader r{m, what};
  ValuesSpec s;
  readValuesColumns(r, s);
  if (auto v = m.strList("accepted")) {
    s.accepted = *v;
    if (s.accepted.empty()) m.error("accepted", what + ": accepted must not be empty");
  }
  if (auto v = m.strList("missing")) {
    s.missing = *v;
    if (s.missing.empty()) m.error("missing", what + ": missing must not be empty");
  }
  readValuesPattern(r, s);
  readValuesLengths(r, s);
  if (auto v = m.num("max_null_ratio")) {
    if (*v < 0 || *v > 1)
      m.error("max_null_ratio", what + ": max_null_ratio must be between 0 and 1");
    else
      s.max_null_ratio = *v;
  }
  if (auto v = m.boolean("unique")) s.unique = *v;
  s.min = m.num("min");
  s.max = m.num("max");
  if (auto v = m.str("time_column")) s.time_column = *v;
  if (auto d = m.duration("window")) s.window = *d;
  if (auto v = m.str("filter")) s.filter = *v;
  if (s.window && s.time_column.empty()) m.error("window", what + ": window needs time_column");
  readValuesMust(r, s);
  checkValuesRules(r, s);
  requireOneOf(m, what,
               {"accepted", "max_null_ratio", "unique", "min", "max", "missing", "pattern",
                "min_length", "max_length", "must"});
  return s;
}

}  // namespace datawatch::config::detail
