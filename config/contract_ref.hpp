#pragma once
// Where a contract's probe was written, as every surface shows it (status API,
// status page, `check`, alert payloads): the contract id and the rule's
// FILE:LINE:COL in the contract file (ProbeConfig::contract / ::loc). A probe
// written in the config (contract == "") has none: contractRef is null and
// contractRule "".
#include <nlohmann/json.hpp>
#include <string>

#include "config/types.hpp"

namespace datawatch::config {

// {"id": "orders-v1", "file": "contracts/orders.odcs.yaml", "line": 12,
// "column": 7}, or null for a probe not expanded from a contract.
inline nlohmann::json contractRef(const ProbeConfig& p) {
  if (p.contract.empty()) return nullptr;
  return {{"id", p.contract}, {"file", p.loc.file}, {"line", p.loc.line}, {"column", p.loc.column}};
}

// "contracts/orders.odcs.yaml:12" (the file alone when the line is unknown),
// or "" for a probe not expanded from a contract.
inline std::string contractRule(const ProbeConfig& p) {
  if (p.contract.empty()) return "";
  return p.loc.line > 0 ? p.loc.file + ":" + std::to_string(p.loc.line) : p.loc.file;
}

}  // namespace datawatch::config
