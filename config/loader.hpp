#pragma once
// Loads, merges and validates configuration files. Every problem found is
// reported in one pass as a Diagnostic (FILE:LINE:COL: message); the loader
// never throws and never stops at the first error.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/types.hpp"

namespace datawatch::config {

struct Diagnostic {
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  Location loc;
  std::string message;
  // "FILE:LINE:COL: message" (or "FILE: message" without a position).
  std::string str() const;
  // "::error file=F,line=L,col=C::message" (GitHub workflow command).
  std::string github() const;
};

// A GitHub workflow command's value: %, CR and LF escaped; a property's value
// (file=, title=) also ':' and ','. Shared by validate and contract diff.
std::string githubEscape(const std::string& s, bool property);

// Looks up an environment variable; nullopt when unset. Injected so tests need
// not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup processEnv();

struct LoadOptions {
  // Files or directories (every *.yaml / *.yml inside, sorted by name).
  std::vector<std::string> paths;
  // The `environments.NAME` overlay to apply, or "".
  std::string environment;
  EnvLookup env = processEnv();
};

struct LoadResult {
  std::optional<Config> config;  // set when there are no errors
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return config.has_value(); }
};

LoadResult loadConfig(const LoadOptions& options);

// Loads from YAML text (tests, the demo's embedded config). `file` names it in
// diagnostics and anchors relative paths (its folder).
LoadResult loadConfigFromString(const std::string& yaml, const std::string& file,
                                const std::string& environment = "", EnvLookup env = processEnv());

// Edit distance, for "did you mean" hints.
size_t editDistance(std::string_view a, std::string_view b);

}  // namespace datawatch::config
