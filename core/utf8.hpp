#pragma once
// Text that leaves datawatch (JSON bodies, the state store, logs, the API) must be
// valid UTF-8: nlohmann::json's strict dump throws type_error.316 on a single bad
// byte. Text read from monitored data is made valid at the probe boundary with
// toValidUtf8 (probes/source.hpp, probes/result.hpp); every dump goes through
// dumpJson, which replaces what slipped through instead of throwing.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace datawatch {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence).
bool isValidUtf8(std::string_view text);

// `text` unchanged when valid; otherwise each maximal ill-formed subpart (Unicode's
// "substitution of maximal subparts") is replaced by U+FFFD.
std::string toValidUtf8(std::string_view text);

// j.dump(indent) with invalid UTF-8 replaced by U+FFFD: never throws type_error.316.
std::string dumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace datawatch
