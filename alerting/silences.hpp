#pragma once
// Silences (SPEC §2 `silences:`, SPEC §7 /api/v1/silences): an alert whose
// labels match every matcher of an active silence sends no notification. It
// still fires, counts in the metrics and shows in the status API (with the
// silence's id), and will open incidents. Config silences come and go with the
// configuration; API silences are kept in the state store by the agent.
// Not thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/types.hpp"
#include "core/result.hpp"

namespace datawatch {

struct Silence {
  std::string id;                            // "config-1" or "api-<hex>"
  std::map<std::string, std::string> match;  // label -> value; all must be equal
  TimePoint starts{};
  TimePoint ends{};
  std::string reason;
  std::string created_by;  // "config" | "api"

  bool activeAt(TimePoint now) const { return starts <= now && now < ends; }
  bool matches(const std::map<std::string, std::string>& labels) const;
};

nlohmann::json toJson(const Silence& s, TimePoint now);  // adds "active"
// A silence from an API request body: {"match": {...}, "until"|"ends": RFC 3339,
// "starts": RFC 3339 (optional, default now), "reason": "..."}. The error says
// what is wrong with the body.
Result<Silence> silenceFromRequest(const nlohmann::json& body, TimePoint now);

class SilenceSet {
 public:
  // Replaces the config silences (ids config-1, config-2, … in file order).
  void configure(const std::vector<config::SilenceConfig>& silences);
  // Adds an API silence, giving it an id; returns it.
  Silence add(Silence s);
  // Removes an API silence; false when there is none with that id (config
  // silences are removed by editing the config).
  bool remove(const std::string& id);
  // The first active silence matching `labels`, if any.
  const Silence* silencing(const std::map<std::string, std::string>& labels, TimePoint now) const;
  // All silences, config first; expired API silences are dropped first.
  std::vector<Silence> list(TimePoint now);

  // API silences as stored (a JSON array) and read back.
  nlohmann::json apiSilencesJson() const;
  void restoreApiSilences(const nlohmann::json& saved);

 private:
  std::vector<Silence> config_;
  std::vector<Silence> api_;
};

}  // namespace datawatch
