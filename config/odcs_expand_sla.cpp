// SLA properties of an ODCS contract as freshness probes (odcs_expand.hpp):
// freshness and latency -> max_age on the element's column, frequency -> the
// load schedule (or max_age), retention -> the oldest row's age.
#include <algorithm>

#include "config/odcs_expand_detail.hpp"
#include "core/ascii.hpp"

namespace datawatch::config::odcs::detail {
namespace {

// The SLA properties datawatch measures, by their name or QoS synonym.
std::string kind(const std::string& property) {
  const std::string p = asciiLower(property);
  if (p == "freshness") return "freshness";
  if (p == "latency" || p == "ly") return "latency";
  if (p == "frequency" || p == "fy") return "frequency";
  if (p == "retention" || p == "re") return "retention";
  return "";
}

}  // namespace

// `element`: "table.column" (the table may be qualified: "schema.table.column"),
// or a bare column when the contract has exactly one object. A table the
// contract declares is mapped to its physical name, and so is the column.
std::optional<Expander::Element> Expander::element(const Sla& s, std::string* why) const {
  const std::string& e = s.element;
  if (e.empty()) {
    *why = "no element (table.column) says which column to check";
    return std::nullopt;
  }
  if (e.find(',') != std::string::npos) {
    *why = "element \"" + e + "\" names several columns; datawatch checks one table.column";
    return std::nullopt;
  }
  Element out;
  const Object* obj = nullptr;
  const size_t dot = e.rfind('.');
  if (dot == std::string::npos) {
    if (c_.schema.size() != 1) {
      *why = "element \"" + e + "\" names no table (write table.column)";
      return std::nullopt;
    }
    obj = &c_.schema[0];
    out.column = e;
  } else {
    out.table = e.substr(0, dot);
    out.column = e.substr(dot + 1);
    obj = c_.findObject(out.table);
  }
  if (!obj && out.table.empty()) {
    *why = "element \"" + e + "\" names no table";
    return std::nullopt;
  }
  if (obj) {
    out.table = obj->name;
    out.object_part = namePart(obj->logical_name);
    if (const Property* p = obj->findProperty(out.column)) out.column = p->name;
  } else {
    out.object_part = namePart(out.table);
  }
  if (out.column.empty() || out.table.empty()) {
    *why = "element \"" + e + "\" is not table.column";
    return std::nullopt;
  }
  return out;
}

void Expander::sla(const Sla& s) {
  const std::string what = "SLA property " + s.property;
  const std::string k = kind(s.property);
  if (k.empty()) {
    skip(s.loc, what,
         "datawatch does not measure " + s.property +
             " (it watches freshness, latency, frequency and retention)");
    return;
  }
  std::string why;
  auto el = element(s, &why);
  if (!el) {
    skip(s.loc, what, why);
    return;
  }
  const std::string duration_why =
      "needs a value and a unit that make a duration (e.g. value: 4, "
      "unit: h), got value \"" +
      s.value + "\" unit \"" + s.unit + "\"";
  FreshnessSpec f;
  f.column = el->column;
  if (k == "frequency" && !s.schedule.empty()) {
    auto cron = CronExpr::parse(s.schedule);
    if (!cron) {
      skip(s.loc, what, "schedule \"" + s.schedule + "\": " + cron.error());
      return;
    }
    f.schedule = *cron;
    f.grace = o_.grace.value_or(o_.every);
  } else if (!s.duration) {
    skip(s.loc, what, duration_why);
    return;
  } else {
    f.max_age = *s.duration;
    f.oldest = k == "retention";
  }
  ProbeConfig p;
  p.type = ProbeType::Freshness;
  p.table = el->table;
  p.loc = s.loc;
  p.description = "contract " + c_.id + ": SLA " + s.property + " on " + s.element;
  p.spec = std::move(f);
  add(std::move(p), el->object_part + "__" + (s.id.empty() ? k : namePart(s.id)), "");
}

}  // namespace datawatch::config::odcs::detail
