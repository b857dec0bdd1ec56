// OdcsReader (odcs_reader.hpp): typed access to a contract's YAML.
#include "config/odcs_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace datawatch::config::odcs::detail {

Location OdcsReader::loc(const YAML::Node& n) const {
  Location l{file_, 0, 0};
  if (n.IsDefined()) {
    const auto m = n.Mark();
    if (m.line >= 0) {
      l.line = m.line + 1;
      l.column = m.column + 1;
    }
  }
  return l;
}

void OdcsReader::error(const YAML::Node& n, std::string msg) {
  diags_.push_back({Diagnostic::Severity::Error, loc(n), std::move(msg)});
}

void OdcsReader::warning(const YAML::Node& n, std::string msg) {
  diags_.push_back({Diagnostic::Severity::Warning, loc(n), std::move(msg)});
}

std::string OdcsReader::kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    default: return "nothing";
  }
}

std::optional<bool> OdcsReader::asBool(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  std::string l = n.Scalar();
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<std::string> OdcsReader::str(const YAML::Node& map, const std::string& key) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(n, key + " must be a string, got " + kind(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<double> OdcsReader::number(const YAML::Node& map, const std::string& key) {
  auto s = str(map, key);
  if (!s) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
    error(map[key], key + " must be a number, got \"" + *s + "\"");
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> OdcsReader::integer(const YAML::Node& map, const std::string& key) {
  auto s = str(map, key);
  if (!s) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) {
    error(map[key], key + " must be an integer, got \"" + *s + "\"");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> OdcsReader::boolean(const YAML::Node& map, const std::string& key) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  auto b = asBool(n);
  if (!b) {
    error(n, key + " must be true or false, got " +
                 (n.IsScalar() ? "\"" + n.Scalar() + "\"" : kind(n)));
  }
  return b;
}

std::vector<std::string> OdcsReader::strList(const YAML::Node& map, const std::string& key) {
  std::vector<std::string> out;
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) {
    error(n, key + " must be a list, got " + kind(n));
    return out;
  }
  for (const auto& item : n) {
    if (item.IsNull()) continue;
    if (!item.IsScalar()) {
      error(item, key + " must be a list of values, got an item that is " + kind(item));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

Location OdcsReader::keyLoc(const YAML::Node& map, const std::string& key) const {
  if (!map.IsDefined() || !map.IsMap() || map.size() == 0) return loc(map);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return loc(it->first);
  }
  return loc(map.begin()->first);
}

std::map<std::string, Location> OdcsReader::keyLocs(const YAML::Node& map) const {
  std::map<std::string, Location> out;
  if (!map.IsMap()) return out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar()) out.emplace(it->first.Scalar(), loc(it->first));
  }
  return out;
}

}  // namespace datawatch::config::odcs::detail
