// Bound (types.hpp): the operators of ODCS quality rules and dbt's
// warn_if/error_if, parsed from and printed to their config spelling.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "config/types.hpp"

namespace datawatch::config {
namespace {

struct OpName {
  Bound::Op op;
  std::string_view text;
};
// Longest first, so ">=" is not read as ">" followed by "=".
constexpr OpName kOps[] = {{Bound::Op::Ge, ">="}, {Bound::Op::Le, "<="}, {Bound::Op::Ne, "!="},
                           {Bound::Op::Ne, "<>"}, {Bound::Op::Eq, "=="}, {Bound::Op::Gt, ">"},
                           {Bound::Op::Lt, "<"},  {Bound::Op::Eq, "="}};

void skipSpace(std::string_view& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
}

bool eatWord(std::string_view& s, std::string_view word) {
  skipSpace(s);
  if (s.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  if (s.size() > word.size() && std::isalnum(static_cast<unsigned char>(s[word.size()])))
    return false;
  s.remove_prefix(word.size());
  return true;
}

// A finite number, optionally followed by '%' (sets *percent).
std::optional<double> eatNumber(std::string_view& s, bool* percent) {
  skipSpace(s);
  std::string digits;
  while (!s.empty() &&
         (std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.' ||
          s.front() == '-' || s.front() == '+' || s.front() == 'e' || s.front() == 'E')) {
    digits += s.front();
    s.remove_prefix(1);
  }
  if (digits.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size() || !std::isfinite(v)) return std::nullopt;
  skipSpace(s);
  if (!s.empty() && s.front() == '%') {
    *percent = true;
    s.remove_prefix(1);
  }
  return v;
}

std::string num(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  // The shortest of 15 and 17 digits that reads back as v (parseBound(str())
  // == *this): 15 keeps "0.1" short, 17 is exact for every double.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

bool Bound::holds(double v) const {
  switch (op) {
    case Op::Eq: return v == a;
    case Op::Ne: return v != a;
    case Op::Gt: return v > a;
    case Op::Ge: return v >= a;
    case Op::Lt: return v < a;
    case Op::Le: return v <= a;
    case Op::Between: return v >= a && v <= b;
    case Op::NotBetween: return v < a || v > b;
  }
  return false;
}

std::string Bound::str() const {
  const std::string pct = percent ? "%" : "";
  switch (op) {
    case Op::Eq: return "= " + num(a) + pct;
    case Op::Ne: return "!= " + num(a) + pct;
    case Op::Gt: return "> " + num(a) + pct;
    case Op::Ge: return ">= " + num(a) + pct;
    case Op::Lt: return "< " + num(a) + pct;
    case Op::Le: return "<= " + num(a) + pct;
    case Op::Between: return "between " + num(a) + pct + " and " + num(b) + pct;
    case Op::NotBetween: return "not between " + num(a) + pct + " and " + num(b) + pct;
  }
  return "?";
}

std::optional<Bound> parseBound(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Bound> {
    if (error)
      *error = "\"" + std::string(text) + "\": " + why +
               " (expected e.g. \"= 0\", \"!= 0\", \"< 1%\", \">= 5\", \"between 1 and 5\", "
               "\"not between 1 and 5\")";
    return std::nullopt;
  };
  std::string_view s = text;
  Bound b;
  bool pa = false, pb = false;
  const bool negated = eatWord(s, "not");
  if (eatWord(s, "between")) {
    auto lo = eatNumber(s, &pa);
    if (!lo || !eatWord(s, "and")) return fail("between needs two numbers joined by 'and'");
    auto hi = eatNumber(s, &pb);
    if (!hi) return fail("between needs two numbers joined by 'and'");
    if (pa != pb) return fail("both ends must be percentages or neither");
    if (*lo > *hi) return fail("the lower end is above the upper end");
    b.op = negated ? Bound::Op::NotBetween : Bound::Op::Between;
    b.a = *lo;
    b.b = *hi;
  } else {
    if (negated) return fail("'not' must be followed by 'between'");
    skipSpace(s);
    bool found = false;
    for (const auto& o : kOps) {
      if (s.substr(0, o.text.size()) == o.text) {
        b.op = o.op;
        s.remove_prefix(o.text.size());
        found = true;
        break;
      }
    }
    if (!found) return fail("no comparison operator");
    auto v = eatNumber(s, &pa);
    if (!v) return fail("no number after the operator");
    b.a = *v;
  }
  skipSpace(s);
  if (!s.empty()) return fail("unexpected \"" + std::string(s) + "\"");
  b.percent = pa;
  if (b.percent && (b.a < 0 || b.a > 100 || b.b < 0 || b.b > 100))
    return fail("a percentage must be between 0 and 100");
  return b;
}

const char* toString(ValuesMetric m) {
  switch (m) {
    case ValuesMetric::Nulls: return "nulls";
    case ValuesMetric::Missing: return "missing";
    case ValuesMetric::Invalid: return "invalid";
    case ValuesMetric::Duplicates: return "duplicates";
  }
  return "?";
}

std::optional<ValuesMetric> valuesMetricFromString(std::string_view s) {
  for (auto m : {ValuesMetric::Nulls, ValuesMetric::Missing, ValuesMetric::Invalid,
                 ValuesMetric::Duplicates}) {
    if (s == toString(m)) return m;
  }
  return std::nullopt;
}

}  // namespace datawatch::config
