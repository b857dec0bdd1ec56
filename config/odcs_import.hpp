#pragma once
// `datawatch import odcs CONTRACT --source NAME`: the probes `contracts:`
// would expand the contract into (expandContract, the same code path), written
// as plain config that `datawatch validate` accepts. The header comment lists
// every rule and SLA property not watched (and those watched approximately)
// with the reason, and a commented SLO over all the probes.

#include <string>
#include <vector>

#include "config/odcs_expand.hpp"

namespace datawatch::config::odcs {

struct OdcsImport {
  std::string yaml;
  std::vector<ProbeConfig> probes;  // what the yaml holds, as expanded
  std::vector<Skipped> skipped;
  std::vector<Skipped> notes;
};

// `warnings`: the parser's warnings about the contract (unknown keys, ...),
// listed in the header; with any, it does not claim every rule is watched.
OdcsImport importContract(const Contract& c, const ExpandOptions& o,
                          const std::vector<Diagnostic>& warnings = {});

}  // namespace datawatch::config::odcs
