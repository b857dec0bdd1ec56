// The schema part of the contract diff: contract metadata, objects,
// properties, types, ranges, keys. Invariants: contract_diff.hpp.

#include "config/contract_diff.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <map>

#include "config/contract_diff_detail.hpp"

namespace datawatch::config::odcs {

using diff_detail::Changes;
using diff_detail::fieldLoc;
using Level = Change::Level;

const char* toString(Change::Level l) {
  switch (l) {
    case Level::Breaking: return "breaking";
    case Level::Warning: return "warning";
    case Level::Info: return "info";
  }
  return "info";
}

namespace diff_detail {

void Changes::add(Change::Level level, std::string path, std::string message, Location old_loc,
                  Location new_loc) {
  list_.push_back(
      {level, std::move(path), std::move(message), std::move(old_loc), std::move(new_loc)});
}

Location fieldLoc(const std::map<std::string, Location>& fields, const Location& fallback,
                  std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (auto it = fields.find(std::string(k)); it != fields.end() && it->second.line > 0)
      return it->second;
  }
  return fallback;
}

std::string quoteList(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "'" : ", '") + v + "'";
  return out;
}

std::vector<std::string> missingFrom(const std::vector<std::string>& a,
                                     const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& v : a)
    if (std::find(b.begin(), b.end(), v) == b.end()) out.push_back(v);
  return out;
}

std::string normalType(std::string_view type) {
  std::string t;
  for (char c : type) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      if (!t.empty() && t.back() != ' ') t += ' ';
    } else {
      t += static_cast<char>(std::tolower(u));
    }
  }
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::string spaced;  // no spaces next to '(' ',' ')'
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ' ' &&
        ((i + 1 < t.size() && std::string_view("(),").find(t[i + 1]) != std::string_view::npos) ||
         (!spaced.empty() && (spaced.back() == '(' || spaced.back() == ','))))
      continue;
    spaced += t[i];
  }
  std::string base = spaced.substr(0, spaced.find('('));
  const std::string mod = spaced.substr(base.size());
  static const std::map<std::string, std::string> kAliases{
      {"int8", "bigint"},
      {"int64", "bigint"},
      {"int4", "integer"},
      {"int", "integer"},
      {"int2", "smallint"},
      {"float8", "double precision"},
      {"double", "double precision"},
      {"float", "double precision"},
      {"float4", "real"},
      {"bool", "boolean"},
      {"varchar", "character varying"},
      {"char", "character"},
      {"decimal", "numeric"},
      {"string", "text"},
      {"timestamptz", "timestamp with time zone"},
      {"timestamp", "timestamp without time zone"}};
  if (auto it = kAliases.find(base); it != kAliases.end()) base = it->second;
  return base + mod;
}

}  // namespace diff_detail

namespace {

// ---------------------------------------------------------------- types

std::string baseOf(const std::string& t) {
  return t.substr(0, t.find('('));
}

// The numbers inside "(...)", e.g. {10, 2} for numeric(10,2); empty without.
std::vector<int> modifiers(const std::string& t) {
  std::vector<int> out;
  auto p = t.find('(');
  while (p != std::string::npos && p + 1 < t.size()) {
    out.push_back(std::atoi(t.c_str() + p + 1));
    p = t.find(',', p + 1);
  }
  return out;
}

// Digits before the point a type holds: 5 smallint, 10 integer, 19 bigint,
// p - s numeric(p,s), INT_MAX numeric; -1 not a number type.
int integerDigits(const std::string& t) {
  const std::string b = baseOf(t);
  if (b == "tinyint") return 3;
  if (b == "smallint") return 5;
  if (b == "integer") return 10;
  if (b == "bigint") return 19;
  if (b == "numeric") {
    const auto m = modifiers(t);
    if (m.empty()) return INT_MAX;
    return m[0] - (m.size() > 1 ? m[1] : 0);
  }
  return -1;
}

int scaleOf(const std::string& t) {
  if (baseOf(t) != "numeric") return 0;
  const auto m = modifiers(t);
  if (m.empty()) return INT_MAX;
  return m.size() > 1 ? m[1] : 0;
}

bool isCharType(const std::string& b) {
  return b == "character varying" || b == "character" || b == "text";
}

// Whether every value of physical type `from` is a value of `to` (both normalType).
bool physicalWidening(const std::string& from, const std::string& to) {
  const int fd = integerDigits(from), td = integerDigits(to);
  if (fd >= 0 && td >= 0) return td >= fd && scaleOf(to) >= scaleOf(from);
  const std::string fb = baseOf(from), tb = baseOf(to);
  if (fb == "real" && tb == "double precision") return true;
  if (isCharType(fb) && isCharType(tb)) {
    if (tb == "text" || (tb == "character varying" && modifiers(to).empty())) return true;
    if (fb == "text" || modifiers(from).empty()) return false;
    return tb == "character varying" && modifiers(to)[0] >= modifiers(from)[0];
  }
  return false;
}

std::string shown(const std::string& v) {
  return v.empty() ? "(none)" : v;
}

// ---------------------------------------------------------------- properties

struct PropertyDiff {
  Changes& out;
  const std::string path;
  const Property& o;
  const Property& n;

  Location oldAt(std::initializer_list<std::string_view> keys) const {
    return fieldLoc(o.field_locs, o.loc, keys);
  }
  Location newAt(std::initializer_list<std::string_view> keys) const {
    return fieldLoc(n.field_locs, n.loc, keys);
  }

  void run() {
    types();
    flags();
    enums();
    ranges();
    lengths();
    textRule("pattern", o.options.pattern, n.options.pattern);
    textRule("format", o.options.format, n.options.format);
    if (o.description != n.description)
      out.add(Level::Info, path + ".description", "description changed", oldAt({"description"}),
              newAt({"description"}));
    if (o.logical_name != n.logical_name && !o.logical_name.empty() && !n.logical_name.empty())
      out.add(Level::Info, path + ".name",
              "logical name changed from " + o.logical_name + " to " + n.logical_name,
              oldAt({"name"}), newAt({"name"}));
    diff_detail::diffQuality(out, path, o.quality, n.quality, o.loc, n.loc);
  }

  void types() {
    if (o.logical_type != n.logical_type) {
      Level l = Level::Breaking;
      std::string what = "changed";
      if (n.logical_type.empty()) {
        l = Level::Info, what = "removed";
      } else if (o.logical_type == "integer" && n.logical_type == "number") {
        l = Level::Info, what = "widened";
      } else if (o.logical_type.empty()) {
        what = "added";
      }
      out.add(l, path + ".logicalType",
              "logical type " + what + " from " + shown(o.logical_type) + " to " +
                  shown(n.logical_type),
              oldAt({"logicalType"}), newAt({"logicalType"}));
    }
    const std::string ot = diff_detail::normalType(o.physical_type);
    const std::string nt = diff_detail::normalType(n.physical_type);
    if (ot == nt) return;
    Level l = Level::Breaking;
    std::string what = "changed";
    if (nt.empty()) {
      l = Level::Info, what = "removed";
    } else if (ot.empty()) {
      what = "added";
    } else if (physicalWidening(ot, nt)) {
      l = Level::Info, what = "widened";
    }
    out.add(l, path + ".physicalType",
            "physical type " + what + " from " + shown(o.physical_type) + " to " +
                shown(n.physical_type),
            oldAt({"physicalType"}), newAt({"physicalType"}));
  }

  void flag(const char* key, bool was, bool is) {
    if (was == is) return;
    out.add(is ? Level::Breaking : Level::Info, path + "." + key,
            std::string(key) + (is ? " added (false -> true)" : " removed (true -> false)"),
            oldAt({key}), newAt({key}));
  }

  void flags() {
    flag("required", o.required, n.required);
    flag("unique", o.unique, n.unique);
  }

  void enums() {
    if (o.enum_values == n.enum_values) return;
    const Location ol = oldAt({"enum"}), nl = newAt({"enum"});
    if (o.enum_values.empty()) {
      out.add(Level::Breaking, path + ".enum",
              "enum added: " + diff_detail::quoteList(n.enum_values), ol, nl);
      return;
    }
    if (n.enum_values.empty()) {
      out.add(Level::Info, path + ".enum", "enum removed (any value accepted)", ol, nl);
      return;
    }
    if (auto gone = diff_detail::missingFrom(o.enum_values, n.enum_values); !gone.empty())
      out.add(Level::Breaking, path + ".enum",
              "enum value removed: " + diff_detail::quoteList(gone), ol, nl);
    if (auto added = diff_detail::missingFrom(n.enum_values, o.enum_values); !added.empty())
      out.add(Level::Info, path + ".enum", "enum value added: " + diff_detail::quoteList(added), ol,
              nl);
  }

  // One end of a numeric range: the bound and whether it is exclusive.
  struct End {
    std::optional<double> v;
    bool open = false;
  };
  // The tighter of an inclusive and an exclusive bound (`lower`: larger is tighter).
  static End endOf(std::optional<double> incl, std::optional<double> excl, bool lower) {
    if (!incl) return {excl, excl.has_value()};
    if (!excl) return {incl, false};
    const bool excl_tighter = lower ? *excl >= *incl : *excl <= *incl;
    return excl_tighter ? End{excl, true} : End{incl, false};
  }
  static std::string endText(const End& e, bool lower) {
    if (!e.v) return "(none)";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", *e.v);
    return std::string(lower ? (e.open ? "> " : ">= ") : (e.open ? "< " : "<= ")) + buf;
  }
  // >0: `b` is tighter than `a`, <0 looser, 0 the same.
  static int tighter(const End& a, const End& b, bool lower) {
    if (!a.v && !b.v) return 0;
    if (!a.v) return 1;
    if (!b.v) return -1;
    if (*a.v != *b.v) return (lower ? *b.v > *a.v : *b.v < *a.v) ? 1 : -1;
    return a.open == b.open ? 0 : (b.open ? 1 : -1);
  }

  void rangeEnd(bool lower) {
    const auto& oo = o.options;
    const auto& no = n.options;
    const End a = lower ? endOf(oo.minimum, oo.exclusive_minimum, true)
                        : endOf(oo.maximum, oo.exclusive_maximum, false);
    const End b = lower ? endOf(no.minimum, no.exclusive_minimum, true)
                        : endOf(no.maximum, no.exclusive_maximum, false);
    const int t = tighter(a, b, lower);
    if (t == 0) return;
    const std::string_view key = lower ? ((b.v ? b.open : a.open) ? "exclusiveMinimum" : "minimum")
                                       : ((b.v ? b.open : a.open) ? "exclusiveMaximum" : "maximum");
    const std::string name = lower ? "lower bound" : "upper bound";
    out.add(t > 0 ? Level::Breaking : Level::Info, path + ".logicalTypeOptions." + std::string(key),
            name + (t > 0 ? " tightened" : " loosened") + " from " + endText(a, lower) + " to " +
                endText(b, lower),
            oldAt({"logicalTypeOptions." + std::string(key), key, "logicalTypeOptions"}),
            newAt({"logicalTypeOptions." + std::string(key), key, "logicalTypeOptions"}));
  }

  void ranges() {
    rangeEnd(true);
    rangeEnd(false);
    for (const char* key : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"})
      datedEnd(key, std::string_view(key).find("inimum") != std::string_view::npos);
  }

  // ISO dates/times of one shape (digits where the other has digits, the same
  // separators) and no UTC offset compare as text; others do not order.
  static bool isoComparable(const std::string& a, const std::string& b) {
    if (a.size() != b.size() || a.empty()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
      const bool db = std::isdigit(static_cast<unsigned char>(b[i])) != 0;
      if (da != db || (!da && a[i] != b[i]) || (!da && i > 10 && (a[i] == '+' || a[i] == '-')))
        return false;
    }
    return std::isdigit(static_cast<unsigned char>(a[0])) != 0;
  }

  // A bound written as a string on a date, time or timestamp property
  // (LogicalTypeOptions::unchecked): added is tightened, removed loosened; a
  // later minimum or an earlier maximum is tightened; unordered: a warning.
  void datedEnd(const char* key, bool lower) {
    auto get = [&](const Property& p) -> std::optional<std::string> {
      auto it = p.options.unchecked.find(key);
      if (it == p.options.unchecked.end()) return std::nullopt;
      return it->second;
    };
    const auto a = get(o), b = get(n);
    if (a == b) return;
    const std::string k = key;
    const std::string p = path + ".logicalTypeOptions." + k;
    const Location ol = oldAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"});
    const Location nl = newAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"});
    if (!a) return out.add(Level::Breaking, p, k + " added: " + *b, ol, nl);
    if (!b) return out.add(Level::Info, p, k + " removed (was " + *a + ")", ol, nl);
    const std::string change = " from " + *a + " to " + *b;
    if (!isoComparable(*a, *b)) return out.add(Level::Warning, p, k + " changed" + change, ol, nl);
    const bool tight = lower ? *b > *a : *b < *a;
    out.add(tight ? Level::Breaking : Level::Info, p,
            k + (tight ? " tightened" : " loosened") + change, ol, nl);
  }

  void length(const char* key, std::optional<int64_t> a, std::optional<int64_t> b, bool lower) {
    if (a == b) return;
    const bool tight = !a || (b && (lower ? *b > *a : *b < *a));
    auto txt = [](std::optional<int64_t> v) { return v ? std::to_string(*v) : "(none)"; };
    const std::string k = key;
    out.add(tight ? Level::Breaking : Level::Info, path + ".logicalTypeOptions." + k,
            k + (tight ? " tightened" : " loosened") + " from " + txt(a) + " to " + txt(b),
            oldAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"}),
            newAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"}));
  }

  void lengths() {
    length("minLength", o.options.min_length, n.options.min_length, true);
    length("maxLength", o.options.max_length, n.options.max_length, false);
  }

  void textRule(const char* key, const std::optional<std::string>& a,
                const std::optional<std::string>& b) {
    if (a == b) return;
    const std::string k = key;
    const Location ol = oldAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"});
    const Location nl = newAt({"logicalTypeOptions." + k, k, "logicalTypeOptions"});
    const std::string p = path + ".logicalTypeOptions." + k;
    if (!a)
      out.add(Level::Breaking, p, k + " added: " + *b, ol, nl);
    else if (!b)
      out.add(Level::Info, p, k + " removed (was " + *a + ")", ol, nl);
    else
      out.add(Level::Warning, p, k + " changed from " + *a + " to " + *b, ol, nl);
  }
};

// ---------------------------------------------------------------- objects

std::vector<std::string> primaryKeyOf(const Object& obj) {
  std::vector<const Property*> keys;
  for (const auto& p : obj.properties)
    if (p.primary_key) keys.push_back(&p);
  std::stable_sort(keys.begin(), keys.end(), [](const Property* a, const Property* b) {
    const int pa = a->primary_key_position < 0 ? INT_MAX : a->primary_key_position;
    const int pb = b->primary_key_position < 0 ? INT_MAX : b->primary_key_position;
    return pa < pb;
  });
  std::vector<std::string> out;
  for (const auto* p : keys) out.push_back(p->name);
  return out;
}

std::string keyText(const std::vector<std::string>& cols) {
  std::string s;
  for (const auto& c : cols) s += (s.empty() ? "" : ", ") + c;
  return "(" + s + ")";
}

// Where an object's primary key is written: its first key column's flag.
Location keyLoc(const Object& obj) {
  for (const auto& p : obj.properties)
    if (p.primary_key) return fieldLoc(p.field_locs, p.loc, {"primaryKey", "primaryKeyPosition"});
  return obj.loc;
}

const Property* findProp(const Object& obj, const std::string& name) {
  for (const auto& p : obj.properties)
    if (p.name == name) return &p;
  return nullptr;
}

void diffObject(Changes& out, const Object& o, const Object& n) {
  const std::string path = "schema." + o.name;
  if (o.description != n.description)
    out.add(Level::Info, path + ".description", "description changed",
            fieldLoc(o.field_locs, o.loc, {"description"}),
            fieldLoc(n.field_locs, n.loc, {"description"}));
  if (diff_detail::normalType(o.physical_type) != diff_detail::normalType(n.physical_type))
    out.add(
        Level::Info, path + ".physicalType",
        "physical type changed from " + shown(o.physical_type) + " to " + shown(n.physical_type),
        fieldLoc(o.field_locs, o.loc, {"physicalType"}),
        fieldLoc(n.field_locs, n.loc, {"physicalType"}));
  const auto ok = primaryKeyOf(o), nk = primaryKeyOf(n);
  if (ok != nk) {
    std::string what = "changed";
    if (ok.empty()) what = "added";
    if (nk.empty()) what = "removed";
    out.add(Level::Breaking, path + ".primaryKey",
            "primary key " + what + " from " + keyText(ok) + " to " + keyText(nk), keyLoc(o),
            keyLoc(n));
  }
  for (const auto& op : o.properties) {
    const std::string ppath = path + ".properties." + op.name;
    if (const Property* np = findProp(n, op.name)) {
      PropertyDiff{out, ppath, op, *np}.run();
    } else {
      out.add(Level::Breaking, ppath, "property " + op.name + " removed", op.loc, n.loc);
    }
  }
  for (const auto& np : n.properties) {
    if (findProp(o, np.name)) continue;
    out.add(Level::Info, path + ".properties." + np.name,
            "property " + np.name + " added" + (np.required ? " (required)" : ""), o.loc, np.loc);
  }
  diff_detail::diffQuality(out, path, o.quality, n.quality, o.loc, n.loc);
}

const Object* findObj(const Contract& c, const std::string& name) {
  for (const auto& o : c.schema)
    if (o.name == name) return &o;
  return nullptr;
}

void diffMetadata(Changes& out, const Contract& o, const Contract& n) {
  const std::pair<const char*, std::pair<const std::string*, const std::string*>> fields[] = {
      {"apiVersion", {&o.api_version, &n.api_version}},
      {"id", {&o.id, &n.id}},
      {"name", {&o.name, &n.name}},
      {"version", {&o.version, &n.version}},
      {"status", {&o.status, &n.status}},
      {"owner", {&o.owner, &n.owner}}};
  // Each at its own line; the owner under the ODCS field it was read from.
  auto at = [](const Contract& c, const std::string& key) {
    const auto it = c.field_locs.find(key);
    return it == c.field_locs.end() ? c.loc : it->second;
  };
  for (const auto& [key, values] : fields) {
    if (*values.first == *values.second) continue;
    std::string path = key;
    std::string old_key = key, new_key = key;
    if (path == "owner") {
      old_key = o.owner_field;
      new_key = n.owner_field;
      path = !new_key.empty() ? new_key : (!old_key.empty() ? old_key : "team.name");
    }
    out.add(
        Level::Info, path,
        std::string(key) + " changed from " + shown(*values.first) + " to " + shown(*values.second),
        at(o, old_key), at(n, new_key));
  }
}

}  // namespace

std::vector<Change> diffContracts(const Contract& old, const Contract& now) {
  Changes out;
  diffMetadata(out, old, now);
  for (const auto& o : old.schema) {
    if (const Object* n = findObj(now, o.name)) {
      diffObject(out, o, *n);
    } else {
      out.add(Level::Breaking, "schema." + o.name, "object " + o.name + " removed", o.loc, now.loc);
    }
  }
  for (const auto& n : now.schema) {
    if (!findObj(old, n.name))
      out.add(Level::Info, "schema." + n.name, "object " + n.name + " added", old.loc, n.loc);
  }
  diff_detail::diffSla(out, old, now);
  return out.take();
}

}  // namespace datawatch::config::odcs
