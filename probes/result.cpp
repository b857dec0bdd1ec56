#include "probes/result.hpp"

#include <cmath>

#include "core/time_format.hpp"
#include "core/utf8.hpp"

namespace datawatch {

const char* toString(ProbeStatus s) {
  switch (s) {
    case ProbeStatus::Pass: return "pass";
    case ProbeStatus::Fail: return "fail";
    case ProbeStatus::Error: return "error";
  }
  return "error";
}

std::optional<ProbeStatus> probeStatusFromString(std::string_view s) {
  if (s == "pass") return ProbeStatus::Pass;
  if (s == "fail") return ProbeStatus::Fail;
  if (s == "error") return ProbeStatus::Error;
  return std::nullopt;
}

ProbeResult ProbeResult::pass(double value, std::string unit, std::string message) {
  ProbeResult r;
  r.status = ProbeStatus::Pass;
  r.value = value;
  r.unit = std::move(unit);
  r.message = std::move(message);
  return r;
}

ProbeResult ProbeResult::fail(std::optional<double> value, std::string unit, std::string message) {
  ProbeResult r;
  r.status = ProbeStatus::Fail;
  r.value = value;
  r.unit = std::move(unit);
  r.message = std::move(message);
  return r;
}

ProbeResult ProbeResult::error(std::string message) {
  ProbeResult r;
  r.status = ProbeStatus::Error;
  r.message = std::move(message);
  return r;
}

namespace {

// In place, allocating only for what it replaces (every run passes through
// here: issue 19). Keys cannot be renamed in place: an object with a key to
// replace is rebuilt.
void makeJsonValidUtf8(nlohmann::json& j) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (!isValidUtf8(s)) s = toValidUtf8(s);
  } else if (j.is_array()) {
    for (auto& v : j) makeJsonValidUtf8(v);
  } else if (j.is_object()) {
    bool keys_valid = true;
    for (auto& [k, v] : j.items()) {
      keys_valid = keys_valid && isValidUtf8(k);
      makeJsonValidUtf8(v);
    }
    if (keys_valid) return;
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items()) out[toValidUtf8(k)] = std::move(v);
    j = std::move(out);
  }
}

}  // namespace

void ProbeResult::makeValidUtf8() {
  for (std::string* s : {&probe, &type, &source, &target, &owner, &unit, &message})
    if (!isValidUtf8(*s)) *s = toValidUtf8(*s);
  makeJsonValidUtf8(threshold);
  makeJsonValidUtf8(details);
}

nlohmann::json ProbeResult::toJson() const {
  nlohmann::json j;
  j["probe"] = probe;
  j["type"] = type;
  j["source"] = source;
  j["target"] = target;
  j["status"] = toString(status);
  if (value && std::isfinite(*value))
    j["value"] = *value;
  else
    j["value"] = nullptr;
  j["unit"] = unit;
  j["threshold"] = threshold;
  j["message"] = message;
  j["observed_at"] = formatRfc3339(observed_at);
  j["duration_seconds"] = duration_seconds;
  j["details"] = details;
  if (!owner.empty()) j["owner"] = owner;
  return j;
}

ProbeResult ProbeResult::fromJson(const nlohmann::json& j) {
  ProbeResult r;
  r.probe = j.at("probe").get<std::string>();
  r.type = j.value("type", "");
  r.source = j.value("source", "");
  r.target = j.value("target", "");
  r.owner = j.value("owner", "");
  r.status = probeStatusFromString(j.at("status").get<std::string>()).value_or(ProbeStatus::Error);
  if (j.contains("value") && j["value"].is_number()) r.value = j["value"].get<double>();
  r.unit = j.value("unit", "");
  r.threshold = j.value("threshold", nlohmann::json::object());
  r.message = j.value("message", "");
  r.details = j.value("details", nlohmann::json::object());
  r.observed_at =
      parseTimestamp(j.value("observed_at", "1970-01-01T00:00:00Z")).value_or(TimePoint{});
  r.duration_seconds = j.value("duration_seconds", 0.0);
  return r;
}

}  // namespace datawatch
