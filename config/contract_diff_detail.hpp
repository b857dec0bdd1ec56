#pragma once
// Internals shared by contract_diff.cpp (schema) and contract_diff_rules.cpp
// (quality rules, SLAs, the live side). Not part of the interface.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/contract_diff.hpp"

namespace datawatch::config::odcs::diff_detail {

// Collects changes in the order they are found (the diff's order).
class Changes {
 public:
  void add(Change::Level level, std::string path, std::string message, Location old_loc,
           Location new_loc);
  std::vector<Change> take() { return std::move(list_); }

 private:
  std::vector<Change> list_;
};

// Where the first of `keys` was written, else `fallback`.
Location fieldLoc(const std::map<std::string, Location>& fields, const Location& fallback,
                  std::initializer_list<std::string_view> keys);

// 'a', 'b', 'c'
std::string quoteList(const std::vector<std::string>& values);
// Values of `a` not in `b`, in `a`'s order.
std::vector<std::string> missingFrom(const std::vector<std::string>& a,
                                     const std::vector<std::string>& b);

// How the set of values a new constraint accepts relates to the old one's.
// `counts`: the measured value is a row count (a whole number >= 0), so the
// sets are compared on 0, 1, 2, ... only ("< 1" is "= 0", "> 0" is ">= 1");
// percentages are always compared as real numbers.
enum class SetOrder { Same, Tighter, Looser, Incomparable };
SetOrder compareBounds(const Bound& old, const Bound& now, bool counts = false);

// The quality lists of one element (a property or an object) at `path`;
// `old_parent` / `new_parent`: the element's location on each side.
void diffQuality(Changes& out, const std::string& path, const std::vector<Quality>& old,
                 const std::vector<Quality>& now, const Location& old_parent,
                 const Location& new_parent);

// The slaProperties of two contracts.
void diffSla(Changes& out, const Contract& old, const Contract& now);

// A physical type in one spelling: lower case, single spaces, common
// aliases ("int8" -> "bigint", "varchar(10)" -> "character varying(10)").
std::string normalType(std::string_view type);

}  // namespace datawatch::config::odcs::diff_detail
