// The expansion of an ODCS contract into probes (odcs_expand.hpp); the table
// it implements is in docs/contracts.md. SLA properties: odcs_expand_sla.cpp.
#include "config/odcs_expand.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "config/odcs_expand_detail.hpp"

namespace datawatch::config::odcs {

std::string namePart(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(ch)));
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? static_cast<char>(c) : '_';
  }
  return out.empty() ? "x" : out;
}

std::string alertSeverity(std::string_view s) {
  std::string l = namePart(s);
  if (l == "error") return "critical";
  if (l == "warning" || l == "warn") return "warning";
  if (l == "info") return "info";
  if (l == "critical" || l == "page" || l == "ticket") return l;
  return "";
}

namespace detail {

// "nullValues" -> "null_values".
std::string snake(std::string_view camel) {
  std::string out;
  for (char ch : camel) {
    if (std::isupper(static_cast<unsigned char>(ch)) && !out.empty()) out += '_';
    out += ch;
  }
  return namePart(out);
}

// A number as the config writes it ("0", "2.5"): Bound's spelling of "= x".
std::string number(double x) {
  return Bound{Bound::Op::Eq, x, 0, false}.str().substr(2);
}

Expander::Expander(const Contract& c, const ExpandOptions& o) : c_(c), o_(o) {
  ex_.name = namePart(c.id);
}

std::string Expander::uniqueName(const std::string& base) {
  std::string n = base;
  for (int i = 2; std::any_of(ex_.probes.begin(), ex_.probes.end(),
                              [&](const ProbeConfig& p) { return p.name == n; });
       ++i)
    n = base + "_" + std::to_string(i);
  return n;
}

void Expander::add(ProbeConfig p, const std::string& rule_part, const std::string& severity) {
  p.name = uniqueName(ex_.name + "__" + rule_part);
  p.source = o_.source;
  p.source_loc = o_.source_loc;
  p.every = o_.every;
  p.owner = o_.owner.empty() ? c_.owner : o_.owner;
  p.alert = o_.alert;
  p.contract = c_.id;
  if (!severity.empty()) {
    const std::string s = alertSeverity(severity);
    if (s.empty()) {
      ex_.notes.push_back({p.loc, "probe " + p.name,
                           "severity \"" + severity +
                               "\" has no datawatch equivalent (error, warning, info): the "
                               "alert keeps its severity"});
    } else {
      if (!p.alert) p.alert = ProbeAlertConfig{};
      p.alert->severity = s;
    }
  }
  ex_.probes.push_back(std::move(p));
}

void Expander::skip(const Location& loc, std::string what, std::string reason) {
  ex_.skipped.push_back({loc, std::move(what), std::move(reason)});
}

void Expander::note(const Location& loc, std::string what, std::string how) {
  ex_.notes.push_back({loc, std::move(what), std::move(how)});
}

// A pattern the probes' engines can compile (ECMAScript, as the config checks).
bool Expander::patternOk(const std::string& pattern, const Location& loc, const std::string& what) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    return true;
  } catch (const std::regex_error& e) {
    skip(loc, what, "pattern \"" + pattern + "\" is not a valid regular expression: " + e.what());
    return false;
  }
}

// One schema probe per object: every property, with its physical type (any
// type when none is given), logical type family and required.
void Expander::schemaProbe(const Object& o) {
  if (o.properties.empty()) return;
  SchemaSpec s;
  s.allow_extra_columns = true;  // the contract lists what consumers rely on
  for (const auto& p : o.properties) {
    s.columns.emplace_back(p.name, p.physical_type);
    if (!p.logical_type.empty()) s.logical_types[p.name] = p.logical_type;
    if (p.required) s.required[p.name] = true;
  }
  ProbeConfig p;
  p.type = ProbeType::Schema;
  p.table = o.name;
  p.loc = o.loc;
  p.description = "contract " + c_.id + ": the columns of " + o.logical_name;
  p.spec = std::move(s);
  add(std::move(p), namePart(o.logical_name) + "__schema", "");
}

// logicalTypeOptions minimum/maximum into values' inclusive min/max. An
// exclusive bound on an integer moves by one (exact); on a number it is
// checked inclusively and noted.
void Expander::numericBounds(const Property& p, ValuesSpec& s, const std::string& what) {
  const auto& opt = p.options;
  const bool integer = p.logical_type == "integer";
  s.min = opt.minimum;
  s.max = opt.maximum;
  if (opt.exclusive_minimum) {
    const double x = *opt.exclusive_minimum;
    const double lo = integer ? std::floor(x) + 1 : x;
    if (!integer)
      note(p.field_locs.count("logicalTypeOptions") ? p.field_locs.at("logicalTypeOptions") : p.loc,
           what,
           "exclusiveMinimum " + number(x) +
               " is checked as min (inclusive): the value itself passes");
    s.min = s.min ? std::max(*s.min, lo) : lo;
  }
  if (opt.exclusive_maximum) {
    const double x = *opt.exclusive_maximum;
    const double hi = integer ? std::ceil(x) - 1 : x;
    if (!integer)
      note(p.field_locs.count("logicalTypeOptions") ? p.field_locs.at("logicalTypeOptions") : p.loc,
           what,
           "exclusiveMaximum " + number(x) +
               " is checked as max (inclusive): the value itself passes");
    s.max = s.max ? std::min(*s.max, hi) : hi;
  }
}

// One values probe per property for what the property itself declares:
// required / primary key (no nulls), unique / single primary key, enum,
// logicalTypeOptions (range, pattern, lengths).
void Expander::propertyProbe(const Object& o, const Property& p, bool single_pk, bool in_pk) {
  const std::string what = "property " + o.logical_name + "." + p.logical_name;
  ValuesSpec s;
  s.column = p.name;
  bool any = false;
  if (p.required || single_pk || in_pk) {
    s.must[ValuesMetric::Nulls] = Bound{};  // "= 0"
    any = true;
  }
  if (p.unique || single_pk) s.unique = any = true;
  if (!p.enum_values.empty()) {
    s.accepted = p.enum_values;
    any = true;
  }
  numericBounds(p, s, what);
  for (const auto& [key, value] : p.options.unchecked) {
    skip(p.field_locs.count("logicalTypeOptions") ? p.field_locs.at("logicalTypeOptions") : p.loc,
         what + " logicalTypeOptions." + key,
         "\"" + value + "\" bounds a " + p.logical_type +
             ", which datawatch does not check (values' min and max compare numbers)");
  }
  any = any || s.min || s.max;
  const auto& opt = p.options;
  if (opt.format)
    skip(p.field_locs.count("logicalTypeOptions") ? p.field_locs.at("logicalTypeOptions") : p.loc,
         what + " logicalTypeOptions.format",
         "format \"" + *opt.format +
             "\" is not checked (datawatch checks pattern, lengths and ranges: write a pattern)");
  if (opt.pattern && patternOk(*opt.pattern, p.loc, what + " pattern")) {
    s.pattern = opt.pattern;
    any = true;
  }
  s.min_length = opt.min_length;
  s.max_length = opt.max_length;
  any = any || s.min_length || s.max_length;
  if (!any) return;
  ProbeConfig pc;
  pc.type = ProbeType::Values;
  pc.table = o.name;
  pc.loc = p.loc;
  pc.description = "contract " + c_.id + ": " + what;
  pc.spec = std::move(s);
  add(std::move(pc), namePart(o.logical_name) + "__" + namePart(p.logical_name), "");
}

// A primary key of 2+ columns: their combination is unique.
void Expander::compositeKey(const Object& o, const std::vector<std::string>& key) {
  ValuesSpec s;
  s.columns = key;
  s.unique = true;
  ProbeConfig pc;
  pc.type = ProbeType::Values;
  pc.table = o.name;
  const Property* first = o.findProperty(key.front());
  pc.loc =
      first && first->field_locs.count("primaryKey") ? first->field_locs.at("primaryKey") : o.loc;
  pc.description = "contract " + c_.id + ": the primary key of " + o.logical_name;
  pc.spec = std::move(s);
  add(std::move(pc), namePart(o.logical_name) + "__primary_key", "");
}

// {object}/{property} (and ${table}/${column}, the JSON schema's example) as
// the sql probe's {table}/{column}.
std::string sqlPlaceholders(std::string q) {
  const std::vector<std::pair<std::string, std::string>> subs = {
      {"${object}", "{table}"},  {"${table}", "{table}"}, {"${property}", "{column}"},
      {"${column}", "{column}"}, {"{object}", "{table}"}, {"{property}", "{column}"}};
  for (const auto& [from, to] : subs) {
    for (size_t at = q.find(from); at != std::string::npos; at = q.find(from, at + to.size()))
      q.replace(at, from.size(), to);
  }
  return q;
}

void Expander::sqlRule(const Object& o, const Property* p, const Quality& q,
                       const std::string& part, const std::string& what) {
  SqlSpec s;
  s.query = sqlPlaceholders(q.query);
  if (p) s.column = p->name;
  if (!p && s.query.find("{column}") != std::string::npos) {
    skip(q.loc, what, "the query uses {property} but the rule is on an object, not a property");
    return;
  }
  s.must = effectiveBound(q);
  ProbeConfig pc;
  pc.type = ProbeType::Sql;
  pc.table = o.name;
  pc.loc = q.loc;
  pc.description = q.description;
  pc.spec = std::move(s);
  add(std::move(pc), part, q.severity);
}

void Expander::qualityRule(const Object& o, const Property* p, const Quality& q) {
  const std::string label = q.type == "library" && !q.metric.empty() ? q.metric : q.type;
  const std::string what = "quality rule " + (q.id.empty() ? label : q.id + " (" + label + ")") +
                           " on " + o.logical_name + (p ? "." + p->logical_name : "");
  if (!q.supported()) {
    skip(q.loc, what, q.skip_reason);
    return;
  }
  const std::string rule =
      q.id.empty() ? snake(q.type == "sql" ? "sql" : q.metric) : namePart(q.id);
  const std::string part =
      namePart(o.logical_name) + "__" + (p ? namePart(p->logical_name) + "__" : "") + rule;
  if (q.type == "sql") return sqlRule(o, p, q, part, what);
  const Bound b = effectiveBound(q);
  ProbeConfig pc;
  pc.table = o.name;
  pc.loc = q.loc;
  // The rule's description, else what it checks: "nullValues of orders.amount must be < 1%".
  pc.description = !q.description.empty()
                       ? q.description
                       : q.metric + " of " + o.logical_name + (p ? "." + p->logical_name : "") +
                             " must be " + b.str();
  if (q.metric == "rowCount") {
    VolumeSpec v;
    v.must = b;
    pc.type = ProbeType::Volume;
    pc.spec = std::move(v);
    return add(std::move(pc), part, q.severity);
  }
  ValuesSpec s;
  if (p) s.column = p->name;
  pc.type = ProbeType::Values;
  if (q.metric == "nullValues") {
    s.must[ValuesMetric::Nulls] = b;
  } else if (q.metric == "missingValues") {
    s.missing = q.missing_values;
    s.must[ValuesMetric::Missing] = b;
  } else if (q.metric == "invalidValues") {
    s.accepted = q.valid_values;
    if (q.pattern && !patternOk(*q.pattern, q.loc, what)) return;
    s.pattern = q.pattern;
    s.must[ValuesMetric::Invalid] = b;
  } else {  // duplicateValues; arguments.properties by name or physicalName
    std::vector<std::string> key = q.properties;
    for (auto& col : key)
      if (const Property* kp = o.findProperty(col)) col = kp->name;
    if (key.size() == 1) s.column = key[0];
    if (key.size() >= 2) {
      s.column.clear();
      s.columns = key;
    }
    s.unique = true;
    s.must[ValuesMetric::Duplicates] = b;
  }
  pc.spec = std::move(s);
  add(std::move(pc), part, q.severity);
}

void Expander::object(const Object& o) {
  schemaProbe(o);
  const auto key = o.primaryKey();
  for (const auto& p : o.properties) {
    const bool in_pk = std::find(key.begin(), key.end(), p.name) != key.end();
    propertyProbe(o, p, in_pk && key.size() == 1, in_pk);
  }
  if (key.size() >= 2) compositeKey(o, key);
  for (const auto& p : o.properties)
    for (const auto& q : p.quality) qualityRule(o, &p, q);
  for (const auto& q : o.quality) qualityRule(o, nullptr, q);
}

Expansion Expander::run() {
  for (const auto& o : c_.schema) object(o);
  for (const auto& s : c_.sla) sla(s);
  return std::move(ex_);
}

}  // namespace detail

Expansion expandContract(const Contract& c, const ExpandOptions& o) {
  return detail::Expander(c, o).run();
}

}  // namespace datawatch::config::odcs
