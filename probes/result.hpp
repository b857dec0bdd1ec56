#pragma once
// ProbeResult: what one probe run observed. Its JSON form is SPEC §1's
// `check --format json` object and is what the state store keeps.
//
// Invariant: a result that leaves the runner (Runtime::runProbe: recorded, shown,
// alerted on) is valid UTF-8 in every string, details and threshold included, keys
// and values at any depth. makeValidUtf8() establishes it; text from monitored data
// (sample values, categories, column names, server messages) may hold any bytes.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/clock.hpp"

namespace datawatch {

enum class ProbeStatus { Pass, Fail, Error };
const char* toString(ProbeStatus s);
std::optional<ProbeStatus> probeStatusFromString(std::string_view s);

struct ProbeResult {
  // Identity (filled by the runner from the probe's config).
  std::string probe;
  std::string type;
  std::string source;
  std::string target;
  std::string owner;

  ProbeStatus status = ProbeStatus::Error;
  std::optional<double> value;  // absent when the run could not measure anything
  std::string unit;             // "seconds", "rows", ...
  nlohmann::json threshold = nlohmann::json::object();
  std::string message;
  nlohmann::json details = nlohmann::json::object();
  TimePoint observed_at;
  double duration_seconds = 0;

  static ProbeResult pass(double value, std::string unit, std::string message);
  static ProbeResult fail(std::optional<double> value, std::string unit, std::string message);
  static ProbeResult error(std::string message);

  // Replaces each invalid UTF-8 sequence in every string field, and in every key
  // and string value of threshold and details (recursively), by U+FFFD.
  void makeValidUtf8();

  nlohmann::json toJson() const;
  // Inverse of toJson; throws nlohmann::json::exception on malformed input.
  static ProbeResult fromJson(const nlohmann::json& j);
};

}  // namespace datawatch
