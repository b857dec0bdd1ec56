#include "lineage/run_event.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <initializer_list>
#include <limits>
#include <utility>

#include "core/time_format.hpp"
#include "core/utf8.hpp"

// Where this parser is stricter or looser than spec/OpenLineage.json (2-0-2):
// - eventType is required (2-0-x lists it as optional): a run cannot be
//   merged without its transitions, and every OpenLineage client sends it.
// - run.runId must be a non-empty string; the spec says format "uuid", but
//   producers outside the official clients send other ids (Marquez stores any
//   string), so the id is taken as written and compared byte for byte.
// - producer must be a non-empty string; its "uri" format is not checked
//   (JSON Schema 2020-12 treats formats as annotations, and a relative
//   reference is a valid URI).
// - job.namespace, job.name and each dataset's namespace and name must be
//   non-empty strings (the spec only says strings): they make the graph's keys.
// - inputs/outputs: null is taken as absent.
// - eventTime is RFC 3339 (a date-time with seconds and a zone); it is kept at
//   millisecond precision, the precision of the idempotency key.
// - Facets are never validated: a facet of an unexpected shape is kept in
//   `doc` and ignored (errorMessage.message when not a string, rowCount when
//   not an integer).

namespace datawatch::lineage {
namespace {

constexpr size_t kMaxEventDepth = 128;  // JSON nesting accepted in one event

// RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" ('t', 'z'
// and a space for 'T' allowed, as RFC 3339 permits; "+HHMM" tolerated).
bool hasRfc3339Shape(std::string_view s) {
  const auto digits = [&](size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t k = at; k < at + n; ++k)
      if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
    return true;
  };
  if (!digits(0, 4) || s.size() < 20 || s[4] != '-' || !digits(5, 2) || s[7] != '-' ||
      !digits(8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2) ||
      s[13] != ':' || !digits(14, 2) || s[16] != ':' || !digits(17, 2)) {
    return false;
  }
  size_t i = 19;
  if (s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  const std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z") return true;
  if (zone.empty() || (zone[0] != '+' && zone[0] != '-')) return false;
  if (zone.size() == 6) return digits(i + 1, 2) && zone[3] == ':' && digits(i + 4, 2);
  return zone.size() == 5 && digits(i + 1, 4);
}

std::optional<TimePoint> parseEventTime(std::string_view s) {
  if (!hasRfc3339Shape(s)) return std::nullopt;
  auto t = parseTimestamp(s);
  if (!t) return std::nullopt;
  return TimePoint{std::chrono::floor<std::chrono::milliseconds>(t->time_since_epoch())};
}

std::string quotedValue(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  out += s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s);
  return toValidUtf8(out + "\"");
}

const char* typeName(const nlohmann::json& j) {
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

// Every string and key made valid UTF-8, in place; false when containers
// nest deeper than kMaxEventDepth (`depth`: j's level, the event's is 1).
bool sanitizeInPlace(nlohmann::json& j, size_t depth) {
  if (depth > kMaxEventDepth && (j.is_array() || j.is_object())) return false;
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (!isValidUtf8(s)) s = toValidUtf8(s);
    return true;
  }
  if (j.is_array()) {
    for (auto& v : j)
      if (!sanitizeInPlace(v, depth + 1)) return false;
    return true;
  }
  if (!j.is_object()) return true;
  bool bad_key = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!isValidUtf8(it.key())) bad_key = true;
    if (!sanitizeInPlace(it.value(), depth + 1)) return false;
  }
  if (bad_key) {
    // Two keys may become one after replacement: the later one wins.
    nlohmann::json rebuilt = nlohmann::json::object();
    for (auto it = j.begin(); it != j.end(); ++it) rebuilt[toValidUtf8(it.key())] = it.value();
    j = std::move(rebuilt);
  }
  return true;
}

// The member `key` of object `obj` (path `path` in messages) as a string.
// Returns the error message, or "" with *out set.
std::string requireString(const nlohmann::json& obj, const char* key, const std::string& path,
                          bool non_empty, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return path + " is missing";
  if (!it->is_string()) return path + " must be a string, not " + typeName(*it);
  *out = it->get<std::string>();
  if (non_empty && out->empty()) return path + " is empty";
  return {};
}

// "run" / "job": present and an object.
std::string requireObject(const nlohmann::json& obj, const char* key, const nlohmann::json** out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::string(key) + " is missing";
  if (!it->is_object()) return std::string(key) + " must be an object, not " + typeName(*it);
  *out = &*it;
  return {};
}

// j[k1][k2]...: the nested value when every step is an object holding it.
const nlohmann::json* nested(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::optional<int64_t> integerValue(const nlohmann::json* j) {
  if (j == nullptr) return std::nullopt;
  if (j->is_number_integer()) return j->get<int64_t>();
  if (j->is_number_unsigned()) {
    const auto u = j->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(u);
  }
  return std::nullopt;
}

std::string parseDatasets(const nlohmann::json& doc, const char* field, bool outputs,
                          std::vector<DatasetRef>* out) {
  const auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return {};
  if (!it->is_array()) return std::string(field) + " must be an array, not " + typeName(*it);
  out->reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& d = (*it)[i];
    const std::string path = std::string(field) + "[" + std::to_string(i) + "]";
    if (!d.is_object()) return path + " must be an object, not " + typeName(d);
    DatasetRef ref;
    if (auto err = requireString(d, "namespace", path + ".namespace", true, &ref.ns); !err.empty())
      return err;
    if (auto err = requireString(d, "name", path + ".name", true, &ref.name); !err.empty())
      return err;
    if (outputs)
      ref.row_count = integerValue(nested(d, {"outputFacets", "outputStatistics", "rowCount"}));
    out->push_back(std::move(ref));
  }
  return {};
}

Result<RunEvent> parseSanitized(nlohmann::json doc) {
  RunEvent e;
  std::string text;
  if (auto err = requireString(doc, "eventTime", "eventTime", false, &text); !err.empty())
    return Result<RunEvent>::Error(err);
  const auto t = parseEventTime(text);
  if (!t)
    return Result<RunEvent>::Error("eventTime " + quotedValue(text) +
                                   " is not an RFC 3339 date-time with a zone");
  e.event_time = *t;
  if (auto err = requireString(doc, "eventType", "eventType", false, &text); !err.empty())
    return Result<RunEvent>::Error(err);
  const auto type = eventTypeFromString(text);
  if (!type)
    return Result<RunEvent>::Error("eventType " + quotedValue(text) +
                                   " is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER");
  e.type = *type;
  const nlohmann::json* run = nullptr;
  const nlohmann::json* job = nullptr;
  std::string err;
  if (err = requireObject(doc, "run", &run); !err.empty()) return Result<RunEvent>::Error(err);
  if (err = requireString(*run, "runId", "run.runId", true, &e.run_id); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = requireObject(doc, "job", &job); !err.empty()) return Result<RunEvent>::Error(err);
  if (err = requireString(*job, "namespace", "job.namespace", true, &e.job_namespace); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = requireString(*job, "name", "job.name", true, &e.job_name); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = requireString(doc, "producer", "producer", true, &e.producer); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = requireString(doc, "schemaURL", "schemaURL", false, &e.schema_url); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = parseDatasets(doc, "inputs", false, &e.inputs); !err.empty())
    return Result<RunEvent>::Error(err);
  if (err = parseDatasets(doc, "outputs", true, &e.outputs); !err.empty())
    return Result<RunEvent>::Error(err);
  if (const auto* m = nested(*run, {"facets", "errorMessage", "message"}); m && m->is_string())
    e.error_message = m->get<std::string>();
  e.doc = std::move(doc);
  return e;
}

// One event, taking `doc` over; `valid_utf8` when every string in it is
// known valid already.
Result<RunEvent> parseOwned(nlohmann::json doc, bool valid_utf8) {
  if (!doc.is_object())
    return Result<RunEvent>::Error(std::string("an event must be a JSON object, not ") +
                                   typeName(doc));
  if (!valid_utf8 && !sanitizeInPlace(doc, 1))
    return Result<RunEvent>::Error("event nests deeper than " + std::to_string(kMaxEventDepth) +
                                   " levels");
  return parseSanitized(std::move(doc));
}

// The deepest nesting of arrays and objects in JSON text, strings skipped
// (the text need not be valid JSON).
size_t jsonNestingDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

const char* toString(EventType t) {
  switch (t) {
    case EventType::Start: return "START";
    case EventType::Running: return "RUNNING";
    case EventType::Complete: return "COMPLETE";
    case EventType::Abort: return "ABORT";
    case EventType::Fail: return "FAIL";
    case EventType::Other: return "OTHER";
  }
  return "OTHER";
}

std::optional<EventType> eventTypeFromString(std::string_view s) {
  if (s == "START") return EventType::Start;
  if (s == "RUNNING") return EventType::Running;
  if (s == "COMPLETE") return EventType::Complete;
  if (s == "ABORT") return EventType::Abort;
  if (s == "FAIL") return EventType::Fail;
  if (s == "OTHER") return EventType::Other;
  return std::nullopt;
}

std::string nodeKey(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::string RunEvent::idempotencyKey() const {
  return run_id + "|" + toString(type) + "|" + std::to_string(toUnixMillis(event_time));
}

Result<RunEvent> parseRunEvent(const nlohmann::json& j) {
  try {
    return parseOwned(nlohmann::json(j), false);
  } catch (const std::exception& ex) {
    return Result<RunEvent>::Error(std::string("event not readable: ") + ex.what());
  }
}

Result<std::vector<RunEvent>> parseRunEvents(std::string_view body) {
  using Events = Result<std::vector<RunEvent>>;
  try {
    if (jsonNestingDepth(body) > kMaxEventDepth + 1)  // + 1: a batch's array
      return Events::Error("body nests deeper than " + std::to_string(kMaxEventDepth) + " levels");
    // nlohmann's parser refuses ill-formed UTF-8 inside strings: replace it
    // first (JSON's own syntax is ASCII, so only string contents change).
    // Parsed from valid UTF-8 every string is valid (\u escapes too: lone
    // surrogates are parse errors).
    const bool valid = isValidUtf8(body);
    nlohmann::json j;
    try {
      if (valid) {
        j = nlohmann::json::parse(body.begin(), body.end());
      } else {
        const std::string text = toValidUtf8(body);
        j = nlohmann::json::parse(text);
      }
    } catch (const nlohmann::json::parse_error& ex) {
      std::string what = ex.what();
      if (const auto at = what.find("] "); at != std::string::npos) what.erase(0, at + 2);
      if (what.size() > 160) what = what.substr(0, 160) + "...";
      return Events::Error("body is not JSON: " + toValidUtf8(what));
    }
    std::vector<RunEvent> events;
    if (j.is_object()) {
      auto e = parseOwned(std::move(j), valid);
      if (!e) return Events::Error(e.error());
      events.push_back(std::move(*e));
      return events;
    }
    if (!j.is_array())
      return Events::Error(
          std::string("body must be an event (a JSON object) or an array of events, not ") +
          typeName(j));
    if (j.empty()) return Events::Error("body is an empty array: no events");
    events.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      auto e = parseOwned(std::move(j[i]), valid);
      if (!e) return Events::Error("event " + std::to_string(i) + ": " + e.error());
      events.push_back(std::move(*e));
    }
    return events;
  } catch (const std::exception& ex) {
    // nlohmann's type errors cannot happen after the checks; bad_alloc can.
    return Events::Error(std::string("body not readable: ") + ex.what());
  }
}

}  // namespace datawatch::lineage
