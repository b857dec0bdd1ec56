#pragma once
// An ODCS contract (odcs.hpp) expanded into ordinary probes: the one mapping
// that both `contracts:` in the config and `datawatch import odcs` use
// (docs/contracts.md has the table).
//
// Invariants:
// - Every probe is named `<id>__<object>__<rule>` from name parts made of
//   [a-z0-9_] (namePart: lower case, any other character becomes '_'), is
//   unique within the expansion (a clash gets `_2`, `_3`, ...), has
//   ProbeConfig::contract = the contract's id and `loc` = where its rule was
//   written in the contract file.
// - Every quality rule and SLA property is either watched by a probe or listed
//   in `skipped` with the reason; a rule watched only approximately is listed
//   in `notes` with how.

#include <string>
#include <string_view>
#include <vector>

#include "config/odcs.hpp"

namespace datawatch::config::odcs {

struct ExpandOptions {
  std::string source;
  Location source_loc;  // where `source:` was written (diagnostics about the source)
  Duration every = 15min;
  std::string owner;  // "" = the contract's owner
  std::optional<ProbeAlertConfig> alert;
  // A `frequency` SLA with a cron `schedule`: how late the load may land.
  // nullopt = `every` (one check interval).
  std::optional<Duration> grace;
};

struct Skipped {
  Location loc;
  std::string what;    // "quality rule nullValues on orders.id", "SLA property availability"
  std::string reason;  // why it is not watched (or, in notes, how it is watched)
};

struct Expansion {
  std::string name;  // the contract id as a name part (the SLO's name)
  std::vector<ProbeConfig> probes;
  std::vector<Skipped> skipped;
  std::vector<Skipped> notes;
};

Expansion expandContract(const Contract& c, const ExpandOptions& o);

// `s` as a probe-name part: lower case, each character outside [a-z0-9_]
// replaced by '_' ("53581432-6c55" -> "53581432_6c55", "Air_Quality" ->
// "air_quality"); "x" when empty.
std::string namePart(std::string_view s);

// The datawatch alert severity for an ODCS rule severity: error -> critical,
// warning -> warning, info -> info; page/ticket/critical kept; else "".
std::string alertSeverity(std::string_view odcs_severity);

}  // namespace datawatch::config::odcs
