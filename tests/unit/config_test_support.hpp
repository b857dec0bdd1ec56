#pragma once
// What the config tests share: loading YAML as /etc/datawatch/test.yaml and
// every diagnostic as one string.
#include <map>
#include <string>

#include "config/loader.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

// Sources and a notifier for broken-config cases: lines 1-5, cases start at line 6.
inline const char* kPrelude =
    "sources:\n"
    "  db: {type: sqlite, path: ./w.db}\n"
    "  events: {type: kafka, brokers: \"k:9092\"}\n"
    "notifiers:\n"
    "  ops: {type: file, path: ./alerts.jsonl}\n";

inline config::LoadResult loadTestYaml(const std::string& yaml, const std::string& env,
                                       std::map<std::string, std::string> vars) {
  return config::loadConfigFromString(yaml, "/etc/datawatch/test.yaml", env,
                                      envFrom(std::move(vars)));
}

inline std::string allErrors(const config::LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

}  // namespace datawatch::testing
