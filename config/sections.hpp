#pragma once
// Internal to config/: one parser per top-level section, each turning the YAML
// of one item into its typed struct (types.hpp), and the cross-reference check
// that runs once every section is parsed.
//
// Contract: a parser reports every problem it finds in its item and appends the
// item to `out` only when it could build it (an item with a bad `type:` is
// dropped, one with a bad optional field keeps the default). Names that point
// at other items (a probe's source, a notify list) are checked by crossCheck,
// never by the section parsers, since the other item may be in a later file.

#include <map>
#include <string>
#include <vector>

#include "config/reader.hpp"

namespace datawatch::config::detail {

// Each agent key may come from a different file, so agent is read key by key.
void parseAgent(Ctx& ctx, const std::map<std::string, Entry>& keys, AgentConfig& a);
void parseSource(Ctx& ctx, const Entry& e, std::vector<SourceConfig>& out);
void parseProbe(Ctx& ctx, const Entry& e, std::vector<ProbeConfig>& out);
void parseSlo(Ctx& ctx, const Entry& e, std::vector<SloConfig>& out);
void parseNotifier(Ctx& ctx, const Entry& e, std::vector<NotifierConfig>& out);
void parseSilence(Ctx& ctx, const Entry& e, std::vector<SilenceConfig>& out);
// contracts_section.cpp: reads the contract file now and appends its probes
// (and SLO) to `c` beside the ContractConfig; source references are checked
// by crossCheck like any probe's.
void parseContract(Ctx& ctx, const Entry& e, Config& c);

// Duplicate names, references between sections (sources, probes, notifiers,
// upstream lineage) and checks that need two sections at once.
void crossCheck(Ctx& ctx, Config& c);

}  // namespace datawatch::config::detail
