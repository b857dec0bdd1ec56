#pragma once
// The subcommands (SPEC §1). Each returns the process exit code.

#include <optional>
#include <string>
#include <vector>

namespace datawatch {

struct CommonOptions {
  std::vector<std::string> config_paths;
  std::string environment;
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
};

int cmdCheck(const CommonOptions& common, const std::vector<std::string>& probes,
             const std::string& format, bool repin = false);
int cmdValidate(const CommonOptions& common, const std::string& format);
int cmdRun(const CommonOptions& common, const std::optional<std::string>& listen);
int cmdRules(const CommonOptions& common);
// `incidents [list|show ID] [--format table|json]`: from the config's state store.
int cmdIncidents(const CommonOptions& common, const std::vector<std::string>& args,
                 const std::string& format);
// `postmortem ID [-o FILE]`: drafts the post-mortem (an open incident's is marked so).
int cmdPostmortem(const CommonOptions& common, const std::string& id, const std::string& output);
int cmdDemo(const CommonOptions& common, const std::string& dir);
int cmdVersion();
// `contract diff OLD NEW` / `contract diff --against live -c F --contract ID`
// (agent/contract_cmd.cpp): exit 1 on a breaking change, 2 on bad input.
struct ContractDiffOptions {
  std::vector<std::string> files;  // OLD NEW
  std::string format = "text";     // text | json | github
  std::string against;             // "" or "live"
  std::string contract;            // --contract ID (with --against live)
};
int cmdContractDiff(const CommonOptions& common, const ContractDiffOptions& options);
int cmdImportDbt(const std::string& manifest, const std::string& output, const std::string& source,
                 const std::string& dsn_env, bool probes_only);
// `import odcs`: the contract's probes as config (config/odcs_import.hpp);
// exit 2 when the contract cannot be read or `source` is not a valid name.
int cmdImportOdcs(const std::string& contract, const std::string& output,
                  const std::string& source);

}  // namespace datawatch
