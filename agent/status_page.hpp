#pragma once
// The human status page served at GET /: SLOs with budget bars, firing alerts,
// open incidents, probes with their last result and its age. Server-rendered
// HTML from the status API's JSON; no external assets; refreshes itself every
// 30 s. Every text from config or data is escaped.

#include <nlohmann/json.hpp>

#include <string>

namespace datawatch {

// `status` is the GET /api/v1/status document.
std::string renderStatusPage(const nlohmann::json& status);

}  // namespace datawatch
