// ODCS v3 contracts (odcs.hpp): the reader. A small typed walk over the YAML
// tree of one contract file that reports mistyped fields at their position
// and never throws. The quality rules and SLA properties are read in
// odcs_quality.cpp.
#include "config/odcs.hpp"
#include "core/ascii.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

#include "config/odcs_reader.hpp"

namespace datawatch::config::odcs {
namespace {

using detail::OdcsReader;

const std::vector<std::string> kLogicalTypes = {"string",    "integer", "number", "boolean", "date",
                                                "timestamp", "time",    "object", "array"};

// `enum` (v3.2): a list of `{value: x, label: ...}` maps; plain scalars are
// accepted too.
void readEnum(OdcsReader& r, const YAML::Node& n, std::vector<std::string>& out) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    r.error(n, "enum must be a list, got " + OdcsReader::kind(n));
    return;
  }
  for (const auto& item : n) {
    if (item.IsScalar()) {
      out.push_back(item.Scalar());
    } else if (item.IsMap() && item["value"].IsDefined() && item["value"].IsScalar()) {
      out.push_back(item["value"].Scalar());
    } else if (!item.IsNull()) {
      r.error(item,
              "enum items must be values or maps with a value, got " + OdcsReader::kind(item));
    }
  }
}

void readOptions(OdcsReader& r, const YAML::Node& n, Property& p) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    r.error(n, "logicalTypeOptions must be a map, got " + OdcsReader::kind(n));
    return;
  }
  detail::checkKeys(r, n, detail::KeyLevel::Options);
  LogicalTypeOptions& o = p.options;
  const bool dated =
      p.logical_type == "date" || p.logical_type == "timestamp" || p.logical_type == "time";
  // Dates and times bound with strings, which values' numeric min/max cannot
  // check: those stay unread (the expansion does not check them).
  if (dated) {
    for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (auto v = r.str(n, key)) o.unchecked[key] = *v;
    }
  } else {
    o.minimum = r.number(n, "minimum");
    o.maximum = r.number(n, "maximum");
    // v3.1: a number (the exclusive bound); v3.0: a boolean that makes
    // minimum/maximum exclusive.
    for (auto [key, inclusive, exclusive] :
         {std::tuple{"exclusiveMinimum", &o.minimum, &o.exclusive_minimum},
          std::tuple{"exclusiveMaximum", &o.maximum, &o.exclusive_maximum}}) {
      const YAML::Node v = n[key];
      if (!v.IsDefined() || v.IsNull()) continue;
      if (auto b = OdcsReader::asBool(v)) {
        if (*b && *inclusive) {
          *exclusive = *inclusive;
          inclusive->reset();
        }
      } else {
        *exclusive = r.number(n, key);
      }
    }
  }
  o.min_length = r.integer(n, "minLength");
  o.max_length = r.integer(n, "maxLength");
  o.pattern = r.str(n, "pattern");
  o.format = r.str(n, "format");
}

std::optional<Property> readProperty(OdcsReader& r, const YAML::Node& n, const std::string& where) {
  if (!n.IsMap()) {
    r.error(n, where + " must be a map, got " + OdcsReader::kind(n));
    return std::nullopt;
  }
  detail::checkKeys(r, n, detail::KeyLevel::Property);
  Property p;
  p.loc = r.keyLoc(n, "name");
  p.field_locs = r.keyLocs(n);
  auto name = r.str(n, "name");
  if (!name || name->empty()) {
    r.error(n, where + ": missing \"name\"");
    return std::nullopt;
  }
  p.logical_name = *name;
  p.name = r.str(n, "physicalName").value_or("");
  if (p.name.empty()) p.name = p.logical_name;
  p.logical_type = asciiLower(r.str(n, "logicalType").value_or(""));
  if (!p.logical_type.empty() && std::find(kLogicalTypes.begin(), kLogicalTypes.end(),
                                           p.logical_type) == kLogicalTypes.end()) {
    r.error(n["logicalType"], "logicalType \"" + p.logical_type + "\" is not one of " +
                                  "string, integer, number, boolean, date, timestamp, time, " +
                                  "object, array");
  }
  p.physical_type = r.str(n, "physicalType").value_or("");
  p.required = r.boolean(n, "required").value_or(false);
  p.unique = r.boolean(n, "unique").value_or(false);
  p.primary_key = r.boolean(n, "primaryKey").value_or(false);
  p.primary_key_position = static_cast<int>(r.integer(n, "primaryKeyPosition").value_or(-1));
  p.description = r.str(n, "description").value_or("");
  readEnum(r, n["enum"], p.enum_values);
  readOptions(r, n["logicalTypeOptions"], p);
  p.quality = readQualityList(r, n["quality"], /*object_level=*/false);
  // An object or array property is checked as one column: what its nested
  // properties declare (their rules too) is not watched, and is said so.
  for (const char* key : {"properties", "items"}) {
    const YAML::Node nested = n[key];
    if (nested.IsDefined() && !nested.IsNull())
      r.warning(nested, "property " + p.logical_name + ": its nested " + key +
                            " (and their quality rules) are not watched: datawatch checks " +
                            p.name + " as one column");
  }
  return p;
}

// Two primary key properties with the same primaryKeyPosition: an error at
// the second (the key's column order would be a guess).
void checkKeyPositions(OdcsReader& r, const YAML::Node& props, const Object& o) {
  std::map<int, std::string> seen;
  for (const auto& p : o.properties) {
    if (!p.primary_key || p.primary_key_position < 0) continue;
    auto [it, fresh] = seen.emplace(p.primary_key_position, p.logical_name);
    if (fresh) continue;
    for (const auto& pn : props) {
      if (pn.IsMap() && pn["name"].IsDefined() && pn["name"].IsScalar() &&
          pn["name"].Scalar() == p.logical_name && pn["primaryKeyPosition"].IsDefined()) {
        r.error(pn["primaryKeyPosition"], "property " + p.logical_name + ": primaryKeyPosition " +
                                              std::to_string(p.primary_key_position) +
                                              " is already " + it->second + "'s");
        break;
      }
    }
  }
}

std::optional<Object> readObject(OdcsReader& r, const YAML::Node& n, size_t index) {
  const std::string where = "schema[" + std::to_string(index) + "]";
  if (!n.IsMap()) {
    r.error(n, where + " must be a map, got " + OdcsReader::kind(n));
    return std::nullopt;
  }
  detail::checkKeys(r, n, detail::KeyLevel::Object);
  Object o;
  o.loc = r.keyLoc(n, "name");
  o.field_locs = r.keyLocs(n);
  auto name = r.str(n, "name");
  if (!name || name->empty()) {
    r.error(n, where + ": missing \"name\"");
    return std::nullopt;
  }
  o.logical_name = *name;
  o.name = r.str(n, "physicalName").value_or("");
  if (o.name.empty()) o.name = o.logical_name;
  o.physical_type = r.str(n, "physicalType").value_or("");
  o.description = r.str(n, "description").value_or("");
  const YAML::Node props = n["properties"];
  if (props.IsDefined() && !props.IsNull()) {
    if (!props.IsSequence()) {
      r.error(props, where + ".properties must be a list, got " + OdcsReader::kind(props));
    } else {
      size_t i = 0;
      for (const auto& pn : props) {
        const std::string pw = where + ".properties[" + std::to_string(i++) + "]";
        if (auto p = readProperty(r, pn, pw)) o.properties.push_back(std::move(*p));
      }
      checkKeyPositions(r, props, o);
    }
  }
  o.quality = readQualityList(r, n["quality"], /*object_level=*/true);
  return o;
}

// The owner: v3.1's `team: {name: ...}`, else the member of a v3.0 team list
// whose role is "owner".
// (yaml-cpp throws on the type of an absent key's node: test IsDefined first.)
bool isScalar(const YAML::Node& n) {
  return n.IsDefined() && n.IsScalar();
}

std::string readOwner(const YAML::Node& root) {
  const YAML::Node team = root["team"];
  if (!team.IsDefined()) return "";
  if (team.IsMap() && isScalar(team["name"])) return team["name"].Scalar();
  if (team.IsSequence()) {
    for (const auto& m : team) {
      if (m.IsMap() && isScalar(m["role"]) && asciiLower(m["role"].Scalar()) == "owner" &&
          isScalar(m["username"]))
        return m["username"].Scalar();
    }
  }
  return "";
}

bool checkKind(OdcsReader& r, const YAML::Node& root) {
  if (root["dataContractSpecification"].IsDefined()) {
    r.error(root["dataContractSpecification"],
            "this is a Data Contract Specification file, not an ODCS v3 contract (convert it "
            "with `datacontract export --format odcs`)");
    return false;
  }
  const YAML::Node kind = root["kind"];
  const YAML::Node api = root["apiVersion"];
  if (!kind.IsDefined() && !api.IsDefined()) {
    r.error(root, "not an ODCS data contract: no \"kind: DataContract\" and no \"apiVersion\"");
    return false;
  }
  bool ok = true;
  if (!kind.IsDefined()) {
    r.error(root, "not an ODCS data contract: missing \"kind: DataContract\"");
    ok = false;
  } else if (!kind.IsScalar() || kind.Scalar() != "DataContract") {
    r.error(kind, "not an ODCS data contract: kind must be DataContract, got \"" +
                      (kind.IsScalar() ? kind.Scalar() : OdcsReader::kind(kind)) + "\"");
    ok = false;
  }
  if (!api.IsDefined()) {
    r.error(root, "missing \"apiVersion\" (v3.0.0 ... v3.1.0)");
    ok = false;
  } else if (!api.IsScalar() || api.Scalar().rfind("v3.", 0) != 0) {
    r.error(api, "apiVersion \"" + (api.IsScalar() ? api.Scalar() : OdcsReader::kind(api)) +
                     "\" is not ODCS v3 (datawatch reads v3.0.x and v3.1.0)");
    ok = false;
  }
  return ok;
}

Contract readContract(OdcsReader& r, const YAML::Node& root, const std::string& file) {
  Contract c;
  c.file = file;
  c.loc = r.loc(root);
  detail::checkKeys(r, root, detail::KeyLevel::Top);
  c.id = r.str(root, "id").value_or("");
  if (c.id.empty() && !root["id"].IsDefined())
    r.error(root, "missing \"id\" (the contract's identifier; probes are named after it)");
  else if (c.id.empty())
    r.error(root["id"], "id must not be empty");
  c.name = r.str(root, "name").value_or("");
  c.version = r.str(root, "version").value_or("");
  c.api_version = r.str(root, "apiVersion").value_or("");
  c.status = r.str(root, "status").value_or("");
  c.owner = readOwner(root);
  c.field_locs = r.keyLocs(root);
  const YAML::Node team = root["team"];
  if (!c.owner.empty() && team.IsMap()) {
    c.owner_field = "team.name";
    c.field_locs[c.owner_field] = r.keyLoc(team, "name");
  } else if (!c.owner.empty() && team.IsSequence()) {
    for (size_t i = 0; i < team.size(); ++i) {
      if (team[i].IsMap() && isScalar(team[i]["username"]) &&
          team[i]["username"].Scalar() == c.owner) {
        c.owner_field = "team[" + std::to_string(i) + "].username";
        c.field_locs[c.owner_field] = r.keyLoc(team[i], "username");
        break;
      }
    }
  }
  const YAML::Node schema = root["schema"];
  if (schema.IsDefined() && !schema.IsNull()) {
    if (!schema.IsSequence()) {
      r.error(schema, "schema must be a list of objects, got " + OdcsReader::kind(schema));
    } else {
      size_t i = 0;
      for (const auto& on : schema) {
        if (auto o = readObject(r, on, i)) c.schema.push_back(std::move(*o));
        ++i;
      }
    }
  }
  const std::string default_element = r.str(root, "slaDefaultElement").value_or("");
  c.sla = readSlaList(r, root["slaProperties"], default_element);
  return c;
}

}  // namespace

const Property* Object::findProperty(std::string_view n) const {
  for (const auto& p : properties)
    if (p.name == n || p.logical_name == n) return &p;
  return nullptr;
}

std::vector<std::string> Object::primaryKey() const {
  std::vector<const Property*> keys;
  for (const auto& p : properties)
    if (p.primary_key) keys.push_back(&p);
  // Positions given first in order; -1 (not given) after them, in declared order.
  std::stable_sort(keys.begin(), keys.end(), [](const Property* a, const Property* b) {
    const int pa = a->primary_key_position < 0 ? INT32_MAX : a->primary_key_position;
    const int pb = b->primary_key_position < 0 ? INT32_MAX : b->primary_key_position;
    return pa < pb;
  });
  std::vector<std::string> out;
  for (const auto* p : keys) out.push_back(p->name);
  return out;
}

const Object* Contract::findObject(std::string_view n) const {
  for (const auto& o : schema)
    if (o.name == n || o.logical_name == n) return &o;
  return nullptr;
}

ParseResult parseContractString(const std::string& text, const std::string& file) {
  ParseResult res;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& ex) {
    res.diagnostics.push_back({Diagnostic::Severity::Error,
                               Location{file, ex.mark.line + 1, ex.mark.column + 1},
                               "YAML syntax error: " + ex.msg});
    return res;
  } catch (const YAML::Exception& ex) {
    res.diagnostics.push_back({Diagnostic::Severity::Error, Location{file, 0, 0},
                               std::string("YAML error: ") + ex.what()});
    return res;
  }
  OdcsReader r(file, res.diagnostics);
  if (!root.IsMap()) {
    r.error(root, "not an ODCS data contract: the file is " + OdcsReader::kind(root) +
                      ", not a map with kind: DataContract");
    return res;
  }
  if (!checkKind(r, root)) return res;
  Contract c;
  try {
    c = readContract(r, root, file);
  } catch (const YAML::Exception& ex) {
    // A shape the reader did not foresee: an error, never an escape.
    res.diagnostics.push_back({Diagnostic::Severity::Error,
                               Location{file, ex.mark.line + 1, ex.mark.column + 1},
                               "invalid contract: " + ex.msg});
  }
  const bool errors = std::any_of(res.diagnostics.begin(), res.diagnostics.end(), [](auto& d) {
    return d.severity == Diagnostic::Severity::Error;
  });
  if (!errors) res.contract = std::move(c);
  // In file order (the reader visits some fields out of order).
  std::stable_sort(res.diagnostics.begin(), res.diagnostics.end(), [](auto& a, auto& b) {
    return std::tie(a.loc.line, a.loc.column) < std::tie(b.loc.line, b.loc.column);
  });
  return res;
}

ParseResult parseContractFile(const std::filesystem::path& path) {
  ParseResult res;
  auto fail = [&](std::string msg) {
    res.diagnostics.push_back(
        {Diagnostic::Severity::Error, Location{path.string(), 0, 0}, std::move(msg)});
    return res;
  };
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) return fail("is a directory, not a contract file");
  if (std::filesystem::is_regular_file(status)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxContractBytes)
      return fail("the contract file is " + std::to_string(size) + " bytes; at most " +
                  std::to_string(kMaxContractBytes) + " are read");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read the contract file: no such file or not readable");
  // A FIFO or a device (`<(git show ...)`, /dev/stdin) is read too, up to the
  // limit (/dev/zero stops there).
  return parseContractStream(in, path.string());
}

ParseResult parseContractStream(std::istream& in, const std::string& file) {
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxContractBytes) {
      ParseResult res;
      res.diagnostics.push_back({Diagnostic::Severity::Error, Location{file, 0, 0},
                                 "the contract has more than " + std::to_string(kMaxContractBytes) +
                                     " bytes; at most " + std::to_string(kMaxContractBytes) +
                                     " are read"});
      return res;
    }
  }
  return parseContractString(text, file);
}

}  // namespace datawatch::config::odcs
