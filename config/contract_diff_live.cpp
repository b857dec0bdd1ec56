// The contract against the live tables (`contract diff --against live`).
// Invariants: contract_diff.hpp.

#include <algorithm>
#include <cctype>

#include "config/contract_diff.hpp"
#include "config/contract_diff_detail.hpp"

namespace datawatch::config::odcs {

using Level = Change::Level;

namespace {

bool sameName(const std::string& a, const std::string& b, bool ci) {
  if (!ci) return a == b;
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a declared type accepts the live one: equal, or the declaration has
// no modifier ("numeric" accepts "numeric(10,2)").
bool typeAccepts(const std::string& declared, const std::string& live) {
  if (declared == live) return true;
  return declared.find('(') == std::string::npos && live.substr(0, live.find('(')) == declared;
}

struct LiveDiff {
  diff_detail::Changes& out;
  bool ci;
  const LiveTypes& types;

  std::string storedName(const Property& p) const {
    return types.stored ? types.stored(p.name) : p.name;
  }

  void type(const std::string& path, const Property& p, const LiveColumn& c) {
    const std::string fam = types.family(c.type);
    const Location at = diff_detail::fieldLoc(p.field_locs, p.loc, {"logicalType"});
    if (!p.logical_type.empty() && !types.matches(p.logical_type, c.type)) {
      if (fam.empty()) {
        out.add(Level::Warning, path + ".logicalType",
                "cannot tell the logical type of the table's " + c.type +
                    " (contract: " + p.logical_type + ")",
                {}, at);
      } else {
        out.add(Level::Breaking, path + ".logicalType",
                "type: the contract promises " + p.logical_type + ", the table has " + c.type +
                    " (" + fam + ")",
                {}, at);
      }
      return;
    }
    if (p.physical_type.empty()) return;
    const std::string want = types.canonical(p.physical_type);
    if (typeAccepts(want, c.type)) return;
    const bool same_family = !fam.empty() && types.family(want) == fam;
    // Within the family (the logicalType held) the difference needs a look;
    // across families, with no logicalType to judge by, values do not convert.
    const Level l = same_family || !p.logical_type.empty() ? Level::Warning : Level::Breaking;
    out.add(l, path + ".physicalType",
            "type: the contract says " + want + ", the table has " + c.type, {},
            diff_detail::fieldLoc(p.field_locs, p.loc, {"physicalType"}));
  }

  void table(const Object& obj, const LiveTable& t) {
    const std::string path = "schema." + obj.name;
    if (!t.exists) {
      out.add(Level::Breaking, path, "table " + obj.name + " does not exist (or is not visible)",
              {}, obj.loc);
      return;
    }
    for (const auto& p : obj.properties) {
      const std::string ppath = path + ".properties." + p.name;
      auto it = std::find_if(t.columns.begin(), t.columns.end(), [&](const LiveColumn& c) {
        return sameName(c.name, storedName(p), ci);
      });
      if (it == t.columns.end()) {
        out.add(Level::Breaking, ppath, "column " + p.name + " is missing from the table", {},
                p.loc);
        continue;
      }
      type(ppath, p, *it);
      if (p.required && !it->not_null)
        out.add(Level::Breaking, ppath + ".required",
                "required, but the table lets " + p.name + " be NULL", {},
                diff_detail::fieldLoc(p.field_locs, p.loc, {"required"}));
    }
    for (const auto& c : t.columns) {
      const bool named =
          std::any_of(obj.properties.begin(), obj.properties.end(),
                      [&](const Property& p) { return sameName(c.name, storedName(p), ci); });
      if (!named)
        out.add(Level::Info, path + ".properties." + c.name,
                "column " + c.name + " (" + c.type + ") is in the table, not in the contract", {},
                obj.loc);
    }
  }
};

}  // namespace

std::vector<Change> diffAgainstLive(const Contract& contract, const std::vector<LiveTable>& live,
                                    bool names_case_insensitive, const LiveTypes& types) {
  diff_detail::Changes out;
  LiveDiff d{out, names_case_insensitive, types};
  for (const auto& obj : contract.schema) {
    auto it = std::find_if(live.begin(), live.end(),
                           [&](const LiveTable& t) { return t.object == obj.name; });
    if (it == live.end()) {
      d.table(obj, LiveTable{obj.name, false, {}});
    } else {
      d.table(obj, *it);
    }
  }
  return out.take();
}

}  // namespace datawatch::config::odcs
