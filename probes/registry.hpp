#pragma once
// Registries of source and probe factories, keyed by the YAML `type:` string and
// filled by explicit calls (registerBuiltinSources / registerBuiltinProbes), never
// by static self-registration. Registering a type twice throws (a programming error).

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/types.hpp"
#include "probes/probe.hpp"
#include "probes/source.hpp"

namespace datawatch {

class SourceRegistry {
 public:
  using Factory =
      std::function<Result<std::unique_ptr<Source>>(const config::SourceConfig&, const Clock&)>;
  void add(const std::string& type, Factory f);
  bool has(const std::string& type) const { return factories_.count(type) > 0; }
  // Unknown types are an error naming the type ("not supported by this build yet").
  Result<std::unique_ptr<Source>> create(const config::SourceConfig& cfg, const Clock& clock) const;

 private:
  std::map<std::string, Factory> factories_;
};

class ProbeRegistry {
 public:
  // `source` outlives the probe. Returns an error when the probe cannot run on
  // that kind of source (e.g. a table probe on a stream source).
  using Factory =
      std::function<Result<std::unique_ptr<Probe>>(const config::ProbeConfig&, Source&)>;
  void add(const std::string& type, Factory f);
  bool has(const std::string& type) const { return factories_.count(type) > 0; }
  // Always returns a probe: types without a factory (or whose factory refuses)
  // become an ErrorProbe that reports why on every run.
  std::unique_ptr<Probe> create(const config::ProbeConfig& cfg, Source* source) const;

 private:
  std::map<std::string, Factory> factories_;
};

void registerBuiltinSources(SourceRegistry& r);
void registerBuiltinProbes(ProbeRegistry& r);

// The message for a probe type this build does not run yet.
std::string unsupportedProbeMessage(std::string_view type);

}  // namespace datawatch
