#pragma once
// Internal to config/odcs_expand*.cpp: the expansion of one contract, built
// up probe by probe (odcs_expand.hpp states the invariants).

#include "config/odcs_expand.hpp"

namespace datawatch::config::odcs::detail {

std::string snake(std::string_view camel);  // "nullValues" -> "null_values"
std::string number(double x);               // 0 -> "0", 2.5 -> "2.5"

class Expander {
 public:
  Expander(const Contract& c, const ExpandOptions& o);
  Expansion run();

 private:
  // Names `p` `<id>__<rule_part>` (made unique), fills what every probe of
  // the contract shares (source, every, owner, alert, contract) and the alert
  // severity from the rule's `severity`.
  void add(ProbeConfig p, const std::string& rule_part, const std::string& severity);
  std::string uniqueName(const std::string& base);
  void skip(const Location& loc, std::string what, std::string reason);
  void note(const Location& loc, std::string what, std::string how);
  bool patternOk(const std::string& pattern, const Location& loc, const std::string& what);

  void object(const Object& o);
  void schemaProbe(const Object& o);
  void numericBounds(const Property& p, ValuesSpec& s, const std::string& what);
  void propertyProbe(const Object& o, const Property& p, bool single_pk, bool in_pk);
  void compositeKey(const Object& o, const std::vector<std::string>& key);
  void qualityRule(const Object& o, const Property* p, const Quality& q);
  void sqlRule(const Object& o, const Property* p, const Quality& q, const std::string& part,
               const std::string& what);
  // odcs_expand_sla.cpp
  void sla(const Sla& s);
  struct Element {
    std::string table, column;  // physical names
    std::string object_part;    // the object's name part in the probe name
  };
  std::optional<Element> element(const Sla& s, std::string* why) const;

  const Contract& c_;
  const ExpandOptions& o_;
  Expansion ex_;
};

}  // namespace datawatch::config::odcs::detail
