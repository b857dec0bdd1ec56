#pragma once
// Internal to config/odcs*.cpp: typed access to the YAML of one contract file.
// Every accessor returns nullopt for an absent or null key and reports a
// present value of the wrong type as an error at its position (FILE:LINE:COL,
// 1-based), never throwing. Unlike the config's MapReader it expands no
// ${VAR} (a contract's SQL may contain "${") and reports unknown keys
// only through checkKeys (ODCS allows extra fields under customProperties).

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/odcs.hpp"

namespace datawatch::config::odcs {
namespace detail {

class OdcsReader {
 public:
  OdcsReader(std::string file, std::vector<Diagnostic>& diags)
      : file_(std::move(file)), diags_(diags) {}

  Location loc(const YAML::Node& n) const;
  void error(const YAML::Node& n, std::string msg);
  void warning(const YAML::Node& n, std::string msg);
  static std::string kind(const YAML::Node& n);            // "a map", "a list", "a scalar", "null"
  static std::optional<bool> asBool(const YAML::Node& n);  // true/false/yes/no/on/off

  std::optional<std::string> str(const YAML::Node& map, const std::string& key);
  std::optional<double> number(const YAML::Node& map, const std::string& key);
  std::optional<int64_t> integer(const YAML::Node& map, const std::string& key);
  std::optional<bool> boolean(const YAML::Node& map, const std::string& key);
  // A list of scalars (a single scalar is a list of one); null items are
  // skipped (`validValues: ['', null]`: NULL is never a value to compare).
  std::vector<std::string> strList(const YAML::Node& map, const std::string& key);
  // Where `key` (the key itself, not its value) was written in `map`; else
  // where its first key was; else where the map was.
  Location keyLoc(const YAML::Node& map, const std::string& key) const;
  // Where each key of `map` was written.
  std::map<std::string, Location> keyLocs(const YAML::Node& map) const;

 private:
  std::string file_;
  std::vector<Diagnostic>& diags_;
};

// odcs_keys.cpp: the levels of a contract whose keys ODCS defines.
enum class KeyLevel { Top, Object, Property, Options, Quality, Arguments, Sla };
// Reports every key of `map` that ODCS does not define at `level`: a warning
// at the key with the nearest known key ("did you mean"), or an error when the
// key looks like an operator (starts with "must") or a misspelt
// logicalTypeOptions or quality (it changes what is checked).
void checkKeys(OdcsReader& r, const YAML::Node& map, KeyLevel level);

}  // namespace detail

// odcs_quality.cpp: a `quality:` list (on an object when object_level) and
// `slaProperties:` (elements default to `default_element`).
std::vector<Quality> readQualityList(detail::OdcsReader& r, const YAML::Node& n, bool object_level);
std::vector<Sla> readSlaList(detail::OdcsReader& r, const YAML::Node& n,
                             const std::string& default_element);

}  // namespace datawatch::config::odcs
