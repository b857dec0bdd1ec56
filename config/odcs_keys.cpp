// The keys ODCS defines at each level datawatch reads (odcs_reader.hpp,
// checkKeys): from the ODCS v3.0.x and v3.1.0 JSON schemas, so a real
// contract gives no warning and a typo does.
#include <algorithm>
#include <array>
#include <string_view>

#include "config/odcs_reader.hpp"

namespace datawatch::config::odcs::detail {
namespace {

using Keys = std::vector<std::string_view>;

// Keys every schema element has (SchemaElement), plus v3.1's `id`.
const Keys kTop = {"version",
                   "kind",
                   "apiVersion",
                   "id",
                   "name",
                   "tenant",
                   "tags",
                   "status",
                   "servers",
                   "dataProduct",
                   "description",
                   "domain",
                   "schema",
                   "support",
                   "price",
                   "team",
                   "roles",
                   "slaDefaultElement",
                   "slaProperties",
                   "customProperties",
                   "authoritativeDefinitions",
                   "contractCreatedTs"};
const Keys kObject = {"id",
                      "name",
                      "physicalType",
                      "description",
                      "businessName",
                      "authoritativeDefinitions",
                      "tags",
                      "customProperties",
                      "logicalType",
                      "physicalName",
                      "dataGranularityDescription",
                      "properties",
                      "relationships",
                      "quality"};
const Keys kProperty = {"id",
                        "name",
                        "physicalType",
                        "description",
                        "businessName",
                        "authoritativeDefinitions",
                        "tags",
                        "customProperties",
                        "primaryKey",
                        "primaryKeyPosition",
                        "logicalType",
                        "logicalTypeOptions",
                        "physicalName",
                        "required",
                        "unique",
                        "partitioned",
                        "partitionKeyPosition",
                        "classification",
                        "encryptedName",
                        "transformSourceObjects",
                        "transformLogic",
                        "transformDescription",
                        "examples",
                        "criticalDataElement",
                        "relationships",
                        "quality",
                        "properties",
                        "items",
                        "enum"};
// The union over the logical types (string, date/time/timestamp, integer/number,
// object, array).
const Keys kOptions = {"minLength",     "maxLength",       "pattern",          "format",
                       "minimum",       "maximum",         "exclusiveMinimum", "exclusiveMaximum",
                       "timezone",      "defaultTimezone", "multipleOf",       "maxProperties",
                       "minProperties", "required",        "maxItems",         "minItems",
                       "uniqueItems"};
const Keys kQuality = {"id",
                       "name",
                       "description",
                       "type",
                       "metric",
                       "rule",
                       "arguments",
                       "validValues",
                       "unit",
                       "query",
                       "engine",
                       "implementation",
                       "dimension",
                       "method",
                       "severity",
                       "businessImpact",
                       "schedule",
                       "scheduler",
                       "tags",
                       "customProperties",
                       "authoritativeDefinitions",
                       "mustBe",
                       "mustNotBe",
                       "mustBeGreaterThan",
                       "mustBeGreaterOrEqualTo",
                       "mustBeGreaterThanOrEqualTo",
                       "mustBeLessThan",
                       "mustBeLessOrEqualTo",
                       "mustBeLessThanOrEqualTo",
                       "mustBeBetween",
                       "mustNotBeBetween"};
const Keys kArguments = {"validValues", "missingValues", "pattern", "properties"};
const Keys kSla = {"id",      "property", "value",       "valueExt",  "unit",
                   "element", "driver",   "description", "scheduler", "schedule"};

const Keys& keysOf(KeyLevel level) {
  switch (level) {
    case KeyLevel::Top: return kTop;
    case KeyLevel::Object: return kObject;
    case KeyLevel::Property: return kProperty;
    case KeyLevel::Options: return kOptions;
    case KeyLevel::Quality: return kQuality;
    case KeyLevel::Arguments: return kArguments;
    case KeyLevel::Sla: return kSla;
  }
  return kTop;
}

const char* levelName(KeyLevel level) {
  switch (level) {
    case KeyLevel::Top: return "the contract";
    case KeyLevel::Object: return "a schema object";
    case KeyLevel::Property: return "a property";
    case KeyLevel::Options: return "logicalTypeOptions";
    case KeyLevel::Quality: return "a quality rule";
    case KeyLevel::Arguments: return "a quality rule's arguments";
    case KeyLevel::Sla: return "an SLA property";
  }
  return "";
}

// The known key closest to `key`, when close enough to be a typo of it.
std::string_view closest(const Keys& keys, std::string_view key) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  for (auto k : keys) {
    const size_t d = editDistance(key, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  const size_t limit = key.size() <= 4 ? 1 : (key.size() <= 8 ? 2 : 3);
  return best_d <= limit ? best : std::string_view();
}

}  // namespace

void checkKeys(OdcsReader& r, const YAML::Node& map, KeyLevel level) {
  if (!map.IsDefined() || !map.IsMap()) return;
  const Keys& keys = keysOf(level);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    const std::string_view near = closest(keys, key);
    std::string msg = "unknown key \"" + key + "\" in " + levelName(level);
    if (!near.empty()) msg += " (did you mean \"" + std::string(near) + "\"?)";
    // A misspelt operator, logicalTypeOptions or quality changes what is
    // checked (the library default bound, no min/max probe, no rule).
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const bool changes_check =
        lower.rfind("must", 0) == 0 || near == "logicalTypeOptions" || near == "quality";
    if (changes_check) {
      r.error(it->first, msg + ": it would change what is checked");
    } else {
      r.warning(it->first,
                msg + "; ODCS allows extra fields only under customProperties (ignored)");
    }
  }
}

}  // namespace datawatch::config::odcs::detail
