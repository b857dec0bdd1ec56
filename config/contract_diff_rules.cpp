// The contract diff's quality rules, SLA properties and live side.
// Invariants: contract_diff.hpp.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>

#include "config/contract_diff.hpp"
#include "config/contract_diff_detail.hpp"
#include "core/ascii.hpp"

namespace datawatch::config::odcs {

using Level = Change::Level;

namespace diff_detail {
namespace {

// ---------------------------------------------------------------- bounds

// An interval of the real line; infinite ends are open.
struct Interval {
  double lo, hi;
  bool lo_open, hi_open;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Interval> acceptedSet(const Bound& b) {
  using Op = Bound::Op;
  switch (b.op) {
    case Op::Eq: return {{b.a, b.a, false, false}};
    case Op::Ne: return {{-kInf, b.a, true, true}, {b.a, kInf, true, true}};
    case Op::Gt: return {{b.a, kInf, true, true}};
    case Op::Ge: return {{b.a, kInf, false, true}};
    case Op::Lt: return {{-kInf, b.a, true, true}};
    case Op::Le: return {{-kInf, b.a, true, false}};
    case Op::Between: return {{b.a, b.b, false, false}};
    case Op::NotBetween: return {{-kInf, b.a, true, true}, {b.b, kInf, true, true}};
  }
  return {};
}

bool contains(const Interval& outer, const Interval& inner) {
  const bool lo_ok =
      inner.lo > outer.lo || (inner.lo == outer.lo && (!outer.lo_open || inner.lo_open));
  const bool hi_ok =
      inner.hi < outer.hi || (inner.hi == outer.hi && (!outer.hi_open || inner.hi_open));
  return lo_ok && hi_ok;
}

// Each interval of `a` lies in one of `b` (b's intervals are disjoint, a's connected).
bool subset(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  return std::all_of(a.begin(), a.end(), [&](const Interval& x) {
    return std::any_of(b.begin(), b.end(), [&](const Interval& y) { return contains(y, x); });
  });
}

// The counts 0, 1, 2, ... in `set`, as closed intervals of whole numbers
// (hi may be +inf), sorted, adjacent ones merged: "< 1" and "= 0" are {0}.
std::vector<Interval> countsIn(const std::vector<Interval>& set) {
  std::vector<Interval> out;
  for (const auto& x : set) {
    double lo = x.lo_open ? std::floor(x.lo) + 1 : std::ceil(x.lo);
    const double hi = x.hi == kInf ? kInf : x.hi_open ? std::ceil(x.hi) - 1 : std::floor(x.hi);
    lo = std::max(lo, 0.0);
    if (lo <= hi) out.push_back({lo, hi, false, hi == kInf});
  }
  std::sort(out.begin(), out.end(),
            [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  std::vector<Interval> merged;
  for (const auto& x : out) {
    if (!merged.empty() && x.lo <= merged.back().hi + 1) {
      if (x.hi > merged.back().hi) merged.back() = {merged.back().lo, x.hi, false, x.hi_open};
    } else {
      merged.push_back(x);
    }
  }
  return merged;
}

}  // namespace

SetOrder compareBounds(const Bound& old, const Bound& now, bool counts) {
  if (old.percent != now.percent) return SetOrder::Incomparable;
  auto a = acceptedSet(old), b = acceptedSet(now);
  if (counts && !old.percent) a = countsIn(a), b = countsIn(b);
  const bool old_in_new = subset(a, b), new_in_old = subset(b, a);
  if (old_in_new && new_in_old) return SetOrder::Same;
  if (new_in_old) return SetOrder::Tighter;
  if (old_in_new) return SetOrder::Looser;
  return SetOrder::Incomparable;
}

namespace {

// ---------------------------------------------------------------- quality

const std::initializer_list<std::string_view> kMustKeys = {"must",
                                                           "mustBe",
                                                           "mustNotBe",
                                                           "mustBeGreaterThan",
                                                           "mustBeGreaterOrEqualTo",
                                                           "mustBeLessThan",
                                                           "mustBeLessOrEqualTo",
                                                           "mustBeBetween",
                                                           "mustNotBeBetween",
                                                           "mustBeGreaterThanOrEqualTo",
                                                           "mustBeLessThanOrEqualTo"};

// The threshold a rule is checked against: `must`, else a library rule's
// default (effectiveBound: "= 0", rowCount "> 0"); none for text/sql/custom
// rules without one.
std::optional<Bound> thresholdOf(const Quality& q) {
  if (q.must) return q.must;
  if (q.type == "library" && q.supported()) return effectiveBound(q);
  return std::nullopt;
}

std::string kindOf(const Quality& q) {
  return q.metric.empty() ? (q.type.empty() ? "rule" : q.type) : q.metric;
}

// Each rule's key in its list: its id, else "<metric>[k]" (k-th unnamed rule
// of that metric). Keys are unique: an id seen before in the list gets "[n]"
// (n-th repeat), so two rules sharing an id are two rules, matched in order.
std::vector<std::string> ruleKeys(const std::vector<Quality>& rules) {
  std::map<std::string, int> seen, ids;
  std::vector<std::string> keys;
  for (const auto& q : rules) {
    if (!q.id.empty()) {
      const int n = ids[q.id]++;
      keys.push_back(n == 0 ? q.id : q.id + "[" + std::to_string(n) + "]");
    } else {
      const std::string k = kindOf(q);
      keys.push_back(k + "[" + std::to_string(seen[k]++) + "]");
    }
  }
  return keys;
}

struct QualityDiff {
  Changes& out;
  const std::string path;  // ...quality.<key>
  const Quality& o;
  const Quality& n;

  Location oldAt(std::initializer_list<std::string_view> keys) const {
    return fieldLoc(o.field_locs, o.loc, keys);
  }
  Location newAt(std::initializer_list<std::string_view> keys) const {
    return fieldLoc(n.field_locs, n.loc, keys);
  }
  void add(Level l, const std::string& field, const std::string& msg,
           std::initializer_list<std::string_view> keys) {
    out.add(l, path + (field.empty() ? "" : "." + field), msg, oldAt(keys), newAt(keys));
  }

  void run() {
    if (o.type != n.type)
      add(Level::Warning, "type", "rule type changed from " + o.type + " to " + n.type, {"type"});
    if (o.metric != n.metric)
      add(Level::Warning, "metric", "metric changed from " + o.metric + " to " + n.metric,
          {"metric", "rule"});
    if (o.query != n.query) add(Level::Warning, "query", "query changed", {"query"});
    threshold();
    values();
    if (o.missing_values != n.missing_values)
      add(Level::Warning, "arguments.missingValues",
          "missingValues changed from [" + quoteList(o.missing_values) + "] to [" +
              quoteList(n.missing_values) + "]",
          {"arguments.missingValues", "missingValues", "arguments"});
    pattern();
    keyColumns();
    if (o.severity != n.severity)
      add(Level::Info, "severity", "severity changed from " + o.severity + " to " + n.severity,
          {"severity"});
    if (o.description != n.description)
      add(Level::Info, "description", "description changed", {"description"});
    if (o.dimension != n.dimension)
      add(Level::Info, "dimension", "dimension changed from " + o.dimension + " to " + n.dimension,
          {"dimension"});
  }

  void threshold() {
    const auto a = thresholdOf(o), b = thresholdOf(n);
    if (a == b) return;
    const std::string field = "must";
    if (!a) {
      add(Level::Breaking, field, "threshold added: " + b->str(), kMustKeys);
      return;
    }
    if (!b) {
      add(Level::Info, field, "threshold removed (was " + a->str() + ")", kMustKeys);
      return;
    }
    const std::string change = " from " + a->str() + " to " + b->str();
    if (a->percent != b->percent) {
      add(Level::Warning, "unit",
          std::string("unit changed from ") + (a->percent ? "percent" : "rows") + " to " +
              (b->percent ? "percent" : "rows") + ":" + change,
          {"unit"});
      return;
    }
    // A library rule in rows counts whole rows: "< 1" and "= 0" are the same.
    const bool counts =
        o.type == "library" && n.type == "library" && o.metric == n.metric &&
        (o.metric == "nullValues" || o.metric == "missingValues" || o.metric == "invalidValues" ||
         o.metric == "duplicateValues" || o.metric == "rowCount");
    switch (compareBounds(*a, *b, counts)) {
      case SetOrder::Same: return;
      case SetOrder::Tighter:
        add(Level::Breaking, field, "threshold tightened" + change, kMustKeys);
        return;
      case SetOrder::Looser:
        add(Level::Info, field, "threshold loosened" + change, kMustKeys);
        return;
      case SetOrder::Incomparable:
        add(Level::Warning, field, "threshold changed" + change, kMustKeys);
        return;
    }
  }

  void values() {
    if (o.valid_values == n.valid_values) return;
    const std::initializer_list<std::string_view> keys = {"arguments.validValues", "validValues",
                                                          "arguments"};
    const std::string field = "arguments.validValues";
    if (o.valid_values.empty()) {
      add(Level::Breaking, field, "validValues added: " + quoteList(n.valid_values), keys);
      return;
    }
    if (n.valid_values.empty()) {
      add(Level::Info, field, "validValues removed (any value accepted)", keys);
      return;
    }
    if (auto gone = missingFrom(o.valid_values, n.valid_values); !gone.empty())
      add(Level::Breaking, field, "valid value removed: " + quoteList(gone), keys);
    if (auto more = missingFrom(n.valid_values, o.valid_values); !more.empty())
      add(Level::Info, field, "valid value added: " + quoteList(more), keys);
  }

  void pattern() {
    if (o.pattern == n.pattern) return;
    const std::initializer_list<std::string_view> keys = {"arguments.pattern", "pattern",
                                                          "arguments"};
    if (!o.pattern)
      add(Level::Breaking, "arguments.pattern", "pattern added: " + *n.pattern, keys);
    else if (!n.pattern)
      add(Level::Info, "arguments.pattern", "pattern removed (was " + *o.pattern + ")", keys);
    else
      add(Level::Warning, "arguments.pattern",
          "pattern changed from " + *o.pattern + " to " + *n.pattern, keys);
  }

  // Duplicates over fewer columns are counted more strictly.
  void keyColumns() {
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    const auto a = sorted(o.properties), b = sorted(n.properties);
    if (a == b || a.empty() || b.empty()) return;
    const bool narrowed = std::includes(a.begin(), a.end(), b.begin(), b.end());
    const bool widened = std::includes(b.begin(), b.end(), a.begin(), a.end());
    const Level l = narrowed ? Level::Breaking : widened ? Level::Info : Level::Warning;
    add(l, "arguments.properties",
        std::string("duplicate key ") +
            (narrowed  ? "narrowed"
             : widened ? "widened"
                       : "changed") +
            " from [" + quoteList(o.properties) + "] to [" + quoteList(n.properties) + "]",
        {"arguments.properties", "properties", "arguments"});
  }
};

}  // namespace

void diffQuality(Changes& out, const std::string& path, const std::vector<Quality>& old,
                 const std::vector<Quality>& now, const Location& old_parent,
                 const Location& new_parent) {
  const auto ok = ruleKeys(old), nk = ruleKeys(now);
  auto indexOf = [](const std::vector<std::string>& keys, const std::string& k) {
    return static_cast<size_t>(std::find(keys.begin(), keys.end(), k) - keys.begin());
  };
  for (size_t i = 0; i < old.size(); ++i) {
    const std::string p = path + ".quality." + ok[i];
    const size_t j = indexOf(nk, ok[i]);
    if (j < now.size()) {
      QualityDiff{out, p, old[i], now[j]}.run();
    } else {
      const auto was = thresholdOf(old[i]);
      out.add(
          Level::Info, p,
          "quality rule " + kindOf(old[i]) + " removed" + (was ? " (was " + was->str() + ")" : ""),
          old[i].loc, new_parent);
    }
  }
  for (size_t j = 0; j < now.size(); ++j) {
    if (indexOf(ok, nk[j]) < old.size()) continue;
    const auto& q = now[j];
    const auto must = thresholdOf(q);
    out.add(must ? Level::Breaking : Level::Info, path + ".quality." + nk[j],
            "quality rule " + kindOf(q) + " added" +
                (must ? " with threshold " + must->str() : " (no threshold)"),
            old_parent, q.loc);
  }
}

namespace {

// ---------------------------------------------------------------- SLA

std::string slaKey(const Sla& s) {
  if (!s.id.empty()) return s.id;
  return s.element.empty() ? s.property : s.property + "@" + s.element;
}

// freshness, latency, retention: a lower value is a stricter promise.
bool ordered(const Sla& s) {
  const std::string p = asciiLower(s.property);
  return p == "freshness" || p == "latency" || p == "retention";
}

std::string valueText(const Sla& s) {
  std::string v = s.value.empty() ? "(none)" : s.value;
  if (!s.unit.empty()) v += " " + s.unit;
  return v;
}

void diffSlaPair(Changes& out, const std::string& path, const Sla& o, const Sla& n) {
  auto at = [](const Sla& s, std::initializer_list<std::string_view> keys) {
    return fieldLoc(s.field_locs, s.loc, keys);
  };
  if (o.element != n.element)
    out.add(Level::Warning, path + ".element",
            "element changed from " + o.element + " to " + n.element, at(o, {"element"}),
            at(n, {"element"}));
  if (o.schedule != n.schedule)
    out.add(Level::Warning, path + ".schedule",
            "schedule changed from " + o.schedule + " to " + n.schedule, at(o, {"schedule"}),
            at(n, {"schedule"}));
  if (asciiLower(o.property) != asciiLower(n.property)) {  // same id, another promise
    out.add(Level::Warning, path + ".property",
            "property changed from " + o.property + " to " + n.property, at(o, {"property"}),
            at(n, {"property"}));
    return;
  }
  if (o.value == n.value && asciiLower(o.unit) == asciiLower(n.unit) && o.value_ext == n.value_ext)
    return;
  const std::initializer_list<std::string_view> keys = {"value", "unit", "valueExt"};
  const std::string change = " from " + valueText(o) + " to " + valueText(n);
  if (!ordered(o)) {
    out.add(asciiLower(o.property) == "frequency" ? Level::Warning : Level::Info, path + ".value",
            o.property + " changed" + change, at(o, keys), at(n, keys));
    return;
  }
  if (!o.duration || !n.duration) {
    out.add(Level::Warning, path + ".value", o.property + " changed" + change + " (not a duration)",
            at(o, keys), at(n, keys));
    return;
  }
  if (*o.duration == *n.duration) return;
  const bool tight = *n.duration < *o.duration;
  out.add(tight ? Level::Breaking : Level::Info, path + ".value",
          o.property + (tight ? " tightened" : " loosened") + change, at(o, keys), at(n, keys));
}

}  // namespace

void diffSla(Changes& out, const Contract& old, const Contract& now) {
  // Keys in list order; a key seen before gets "[n]" (two timeOfAvailability
  // entries on one element are two promises).
  auto keysOf = [](const Contract& c) {
    std::map<std::string, int> seen;
    std::vector<std::string> keys;
    for (const auto& s : c.sla) {
      const std::string k = slaKey(s);
      const int n = seen[k]++;
      keys.push_back(n == 0 ? k : k + "[" + std::to_string(n) + "]");
    }
    return keys;
  };
  const auto ok = keysOf(old), nk = keysOf(now);
  auto indexOf = [](const std::vector<std::string>& keys, const std::string& k) {
    return static_cast<size_t>(std::find(keys.begin(), keys.end(), k) - keys.begin());
  };
  for (size_t i = 0; i < old.sla.size(); ++i) {
    const Sla& o = old.sla[i];
    const std::string path = "slaProperties." + ok[i];
    if (const size_t j = indexOf(nk, ok[i]); j < now.sla.size())
      diffSlaPair(out, path, o, now.sla[j]);
    else
      out.add(Level::Info, path, o.property + " removed (was " + valueText(o) + ")", o.loc,
              now.loc);
  }
  for (size_t j = 0; j < now.sla.size(); ++j) {
    if (indexOf(ok, nk[j]) < old.sla.size()) continue;
    const Sla& n = now.sla[j];
    const Level l = ordered(n)                              ? Level::Breaking
                    : asciiLower(n.property) == "frequency" ? Level::Warning
                                                            : Level::Info;
    out.add(l, "slaProperties." + nk[j], n.property + " added: " + valueText(n), old.loc, n.loc);
  }
}

}  // namespace diff_detail
}  // namespace datawatch::config::odcs
