#pragma once
// SnapshotStore: small JSON documents a probe keeps between runs (the last seen
// schema of a table, a pinned drift baseline), keyed by a string the probe
// chooses (conventionally "<probe>:<what>"). Implemented by the state store.
// Thread-safe; failures are values.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/result.hpp"

namespace datawatch {

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  virtual Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) = 0;
  virtual Status saveSnapshot(const std::string& key, const nlohmann::json& value) = 0;
};

}  // namespace datawatch
