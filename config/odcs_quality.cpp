// ODCS quality rules and SLA properties (odcs.hpp): read into the model, with
// v3.0 spellings mapped to v3.1 and the reason a rule cannot run recorded.
#include <algorithm>
#include <cmath>

#include "config/odcs_reader.hpp"
#include "core/ascii.hpp"

namespace datawatch::config::odcs {
namespace {

using detail::OdcsReader;

const std::vector<std::string> kMetrics = {"nullValues", "missingValues", "invalidValues",
                                           "duplicateValues", "rowCount"};

// v3.0's `rule:` names.
std::string metricFromRule(const std::string& rule) {
  if (rule == "nullCheck") return "nullValues";
  if (rule == "duplicateCount") return "duplicateValues";
  if (rule == "validValues") return "invalidValues";
  return rule;  // rowCount, and unknown names as written
}

struct Op {
  Bound::Op op;
  double a = 0, b = 0;
  std::string key;
};

// The operator keys, with the spellings some tools write for the inclusive ones.
const std::vector<std::pair<std::string, Bound::Op>> kOperators = {
    {"mustBe", Bound::Op::Eq},
    {"mustNotBe", Bound::Op::Ne},
    {"mustBeGreaterThan", Bound::Op::Gt},
    {"mustBeGreaterOrEqualTo", Bound::Op::Ge},
    {"mustBeGreaterThanOrEqualTo", Bound::Op::Ge},
    {"mustBeLessThan", Bound::Op::Lt},
    {"mustBeLessOrEqualTo", Bound::Op::Le},
    {"mustBeLessThanOrEqualTo", Bound::Op::Le},
    {"mustBeBetween", Bound::Op::Between},
    {"mustNotBeBetween", Bound::Op::NotBetween}};

// Reads every operator written on the rule. A non-number is an error, except
// for mustBe/mustNotBe, which ODCS does not restrict to numbers: those make the
// rule skipped.
std::vector<Op> readOperators(OdcsReader& r, const YAML::Node& n, Quality& q) {
  std::vector<Op> ops;
  for (const auto& [key, op] : kOperators) {
    const YAML::Node v = n[key];
    if (!v.IsDefined() || v.IsNull()) continue;
    if (op == Bound::Op::Between || op == Bound::Op::NotBetween) {
      if (!v.IsSequence() || v.size() != 2) {
        r.error(v,
                key + " must be a list of two numbers [low, high], got " +
                    (v.IsSequence() ? std::to_string(v.size()) + " items" : OdcsReader::kind(v)));
        continue;
      }
      double ends[2] = {0, 0};
      bool ok = true;
      for (size_t i = 0; i < 2; ++i) {
        char* end = nullptr;
        const std::string s = v[i].IsScalar() ? v[i].Scalar() : "";
        ends[i] = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(ends[i])) {
          r.error(v[i], key + " must be a list of two numbers, got \"" + s + "\"");
          ok = false;
        }
      }
      if (!ok) continue;
      if (ends[0] > ends[1]) {
        r.error(v, key + ": the smaller number comes first, got [" + v[0].Scalar() + ", " +
                       v[1].Scalar() + "]");
        continue;
      }
      ops.push_back({op, ends[0], ends[1], key});
      continue;
    }
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    char* end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x)) {
      if (op == Bound::Op::Eq || op == Bound::Op::Ne) {
        q.skip_reason = key + " \"" + (v.IsScalar() ? s : OdcsReader::kind(v)) +
                        "\" is not a number (datawatch compares numbers)";
      } else {
        r.error(v, key + " must be a number, got " +
                       (v.IsScalar() ? "\"" + s + "\"" : OdcsReader::kind(v)));
      }
      continue;
    }
    ops.push_back({op, x, 0, key});
  }
  return ops;
}

// One Bound from the operators: one operator as is; a lower and an upper bound
// as `between` (an exclusive end moved by one on whole-row counts, where that
// is exact); anything else is skipped with the reason.
void combineOperators(const std::vector<Op>& ops, bool whole_counts, Quality& q) {
  if (ops.empty()) return;
  auto bound = [](Bound::Op op, double a, double b) {
    Bound x;
    x.op = op;
    x.a = a;
    x.b = b;
    return x;
  };
  if (ops.size() == 1) {
    q.must = bound(ops[0].op, ops[0].a, ops[0].b);
    return;
  }
  const auto isLower = [](Bound::Op o) { return o == Bound::Op::Gt || o == Bound::Op::Ge; };
  const auto isUpper = [](Bound::Op o) { return o == Bound::Op::Lt || o == Bound::Op::Le; };
  if (ops.size() == 2) {
    const Op* lo = isLower(ops[0].op) ? &ops[0] : (isLower(ops[1].op) ? &ops[1] : nullptr);
    const Op* hi = isUpper(ops[0].op) ? &ops[0] : (isUpper(ops[1].op) ? &ops[1] : nullptr);
    if (lo && hi) {
      const bool exclusive = lo->op == Bound::Op::Gt || hi->op == Bound::Op::Lt;
      if (!exclusive || whole_counts) {
        const double a = lo->op == Bound::Op::Gt ? std::floor(lo->a) + 1 : lo->a;
        const double b = hi->op == Bound::Op::Lt ? std::ceil(hi->a) - 1 : hi->a;
        if (a <= b) {
          q.must = bound(Bound::Op::Between, a, b);
          return;
        }
      }
    }
  }
  std::string keys;
  for (const auto& o : ops) keys += (keys.empty() ? "" : ", ") + o.key;
  q.skip_reason = "combines " + keys +
                  ", which datawatch cannot check as one bound (write mustBeBetween or one "
                  "operator)";
}

void readArguments(OdcsReader& r, const YAML::Node& n, Quality& q) {
  const YAML::Node args = n["arguments"];
  if (args.IsDefined() && !args.IsNull()) {
    if (!args.IsMap()) {
      r.error(args, "arguments must be a map, got " + OdcsReader::kind(args));
    } else {
      detail::checkKeys(r, args, detail::KeyLevel::Arguments);
      q.valid_values = r.strList(args, "validValues");
      q.missing_values = r.strList(args, "missingValues");
      q.pattern = r.str(args, "pattern");
      q.properties = r.strList(args, "properties");
    }
  }
  // v3.0: validValues beside the rule.
  if (q.valid_values.empty()) q.valid_values = r.strList(n, "validValues");
}

// Why datawatch cannot run `q`, or "" (the first reason that applies).
std::string skipReason(const Quality& q, const YAML::Node& n, bool object_level) {
  if (q.type == "text") return "type text describes the rule for people; there is nothing to run";
  if (q.type == "custom") {
    const YAML::Node engine = n["engine"];
    return "type custom runs in its own engine" +
           (engine.IsDefined() && engine.IsScalar() ? " (" + engine.Scalar() + ")"
                                                    : std::string()) +
           "; datawatch does not run it";
  }
  if (q.type == "sql") {
    if (q.query.empty()) return "type sql without a query";
    if (!q.must) return "type sql without a mustBe.. operator to compare its result with";
    if (q.unit == "percent")
      return "type sql with unit percent: the query returns one number (compute the percentage "
             "in the query)";
    return "";
  }
  if (q.type != "library") return "unknown type \"" + q.type + "\" (library, sql, text, custom)";
  if (q.metric.empty()) return "a library rule without a metric";
  if (std::find(kMetrics.begin(), kMetrics.end(), q.metric) == kMetrics.end())
    return "metric \"" + q.metric +
           "\" is not one datawatch runs (nullValues, missingValues, invalidValues, "
           "duplicateValues, rowCount)";
  if (!q.unit.empty() && q.unit != "rows" && q.unit != "percent")
    return "unit \"" + q.unit + "\" (datawatch counts rows or percent)";
  if (object_level &&
      (q.metric == "nullValues" || q.metric == "missingValues" || q.metric == "invalidValues"))
    return "metric " + q.metric + " counts a property's values: write it under the property";
  if (object_level && q.metric == "duplicateValues" && q.properties.empty())
    return "duplicateValues on an object needs arguments.properties (the key's columns)";
  if (q.metric == "invalidValues" && q.valid_values.empty() && !q.pattern)
    return "invalidValues needs arguments.validValues or arguments.pattern";
  if (q.metric == "rowCount" && q.unit == "percent")
    return "rowCount in percent has nothing to be a percentage of";
  return "";
}

Quality readQuality(OdcsReader& r, const YAML::Node& n, bool object_level) {
  detail::checkKeys(r, n, detail::KeyLevel::Quality);
  Quality q;
  q.loc = r.keyLoc(n, "");
  q.field_locs = r.keyLocs(n);
  q.id = r.str(n, "id").value_or("");
  if (q.id.empty()) q.id = r.str(n, "name").value_or("");
  q.metric = r.str(n, "metric").value_or("");
  if (q.metric.empty()) q.metric = metricFromRule(r.str(n, "rule").value_or(""));
  q.type = asciiLower(r.str(n, "type").value_or("library"));
  q.unit = asciiLower(r.str(n, "unit").value_or(""));
  q.query = r.str(n, "query").value_or("");
  q.severity = r.str(n, "severity").value_or("");
  q.description = r.str(n, "description").value_or("");
  q.dimension = r.str(n, "dimension").value_or("");
  readArguments(r, n, q);
  const auto ops = readOperators(r, n, q);
  if (q.skip_reason.empty()) combineOperators(ops, q.type == "library" && q.unit != "percent", q);
  if (q.must && q.unit == "percent") {
    q.must->percent = true;
    const bool in_range = q.must->a >= 0 && q.must->a <= 100 && q.must->b >= 0 && q.must->b <= 100;
    if (!in_range) {
      r.error(n, "a percentage must be between 0 and 100, got " + q.must->str());
      q.must.reset();
    }
  }
  if (q.skip_reason.empty()) q.skip_reason = skipReason(q, n, object_level);
  return q;
}

// value + unit as a duration ("d, day, days; y, yr, years", ...), or nullopt.
std::optional<Duration> slaDuration(const std::string& value, const std::string& unit) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v <= 0)
    return std::nullopt;
  static const std::vector<std::pair<std::vector<std::string>, double>> kUnits = {
      {{"ms", "millisecond", "milliseconds"}, 1e-3},
      {{"s", "sec", "secs", "second", "seconds"}, 1},
      {{"m", "min", "mins", "minute", "minutes"}, 60},
      {{"h", "hr", "hrs", "hour", "hours"}, 3600},
      {{"d", "day", "days"}, 86400},
      {{"w", "wk", "week", "weeks"}, 7 * 86400},
      {{"mo", "mon", "month", "months"}, 30 * 86400},
      {{"y", "yr", "yrs", "year", "years"}, 365 * 86400}};
  const std::string u = asciiLower(unit);
  for (const auto& [names, seconds] : kUnits) {
    if (std::find(names.begin(), names.end(), u) != names.end())
      return Duration(static_cast<int64_t>(std::llround(v * seconds * 1000)));
  }
  return std::nullopt;
}

std::optional<Sla> readSla(OdcsReader& r, const YAML::Node& n, size_t index,
                           const std::string& default_element) {
  const std::string where = "slaProperties[" + std::to_string(index) + "]";
  if (!n.IsMap()) {
    r.error(n, where + " must be a map, got " + OdcsReader::kind(n));
    return std::nullopt;
  }
  detail::checkKeys(r, n, detail::KeyLevel::Sla);
  Sla s;
  s.loc = r.keyLoc(n, "property");
  s.field_locs = r.keyLocs(n);
  s.property = r.str(n, "property").value_or("");
  if (s.property.empty()) {
    r.error(n, where + ": missing \"property\"");
    return std::nullopt;
  }
  const YAML::Node value = n["value"];
  // With a cron `schedule` (frequency), the schedule is what is checked.
  if (!value.IsDefined() && !n["schedule"].IsDefined()) {
    r.error(n, where + " (" + s.property + "): missing \"value\"");
    return std::nullopt;
  }
  if (value.IsDefined() && !value.IsNull()) s.value = r.str(n, "value").value_or("");
  s.value_ext = r.str(n, "valueExt").value_or("");
  s.id = r.str(n, "id").value_or("");
  s.unit = r.str(n, "unit").value_or("");
  s.element = r.str(n, "element").value_or(default_element);
  s.schedule = r.str(n, "schedule").value_or("");
  s.driver = r.str(n, "driver").value_or("");
  s.duration = slaDuration(s.value, s.unit);
  return s;
}

}  // namespace

std::vector<Quality> readQualityList(detail::OdcsReader& r, const YAML::Node& n,
                                     bool object_level) {
  std::vector<Quality> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    r.error(n, "quality must be a list of rules, got " + OdcsReader::kind(n));
    return out;
  }
  for (const auto& item : n) {
    if (!item.IsMap()) {
      r.error(item, "a quality rule must be a map, got " + OdcsReader::kind(item));
      continue;
    }
    out.push_back(readQuality(r, item, object_level));
  }
  return out;
}

std::vector<Sla> readSlaList(detail::OdcsReader& r, const YAML::Node& n,
                             const std::string& default_element) {
  std::vector<Sla> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    r.error(n, "slaProperties must be a list, got " + OdcsReader::kind(n));
    return out;
  }
  size_t i = 0;
  for (const auto& item : n) {
    if (auto s = readSla(r, item, i, default_element)) out.push_back(std::move(*s));
    ++i;
  }
  return out;
}

Bound effectiveBound(const Quality& q) {
  if (q.must) return *q.must;
  Bound b;                                           // "= 0": none of the counted rows
  if (q.metric == "rowCount") b.op = Bound::Op::Gt;  // "> 0": the table has rows
  return b;
}

}  // namespace datawatch::config::odcs
