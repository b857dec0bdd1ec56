// `datawatch contract diff`: the breaking-change gate (config/contract_diff.hpp
// classifies; this prints and sets the exit code).
//
// Exit codes: 1 when any change is breaking, 0 otherwise, 2 when an input
// cannot be read or is not a valid contract (the parser's diagnostics on
// stderr), or --against live cannot reach the table's catalog.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agent/commands.hpp"
#include "config/contract_diff.hpp"
#include "config/loader.hpp"
#include "core/redact.hpp"
#include "core/utf8.hpp"
#include "probes/logical_types.hpp"
#include "probes/registry.hpp"

namespace datawatch {
namespace {

namespace odcs = config::odcs;
using Level = odcs::Change::Level;

// `-` is stdin. The diagnostics say why a contract is not valid: a file that
// cannot be read is one line (no summary after it).
std::optional<odcs::Contract> readContract(const std::string& path) {
  auto r = path == "-" ? odcs::parseContractStream(std::cin, "-") : odcs::parseContractFile(path);
  for (const auto& d : r.diagnostics) std::cerr << d.str() << "\n";
  const bool unreadable = std::any_of(r.diagnostics.begin(), r.diagnostics.end(),
                                      [](const auto& d) { return d.loc.line == 0; });
  if (!r.ok() && !unreadable) std::cerr << path << ": not a valid ODCS contract\n";
  return std::move(r.contract);
}

// Where an annotation goes: the new side, else the old.
const config::Location& where(const odcs::Change& c) {
  return c.new_loc.line > 0 || c.old_loc.line == 0 ? c.new_loc : c.old_loc;
}

nlohmann::json locJson(const config::Location& l) {
  if (l.file.empty() && l.line == 0) return nullptr;
  return {{"file", l.file}, {"line", l.line}, {"column", l.column}};
}

struct Counts {
  size_t breaking = 0, warnings = 0, info = 0;
};

Counts count(const std::vector<odcs::Change>& changes) {
  Counts n;
  for (const auto& c : changes) {
    n.breaking += c.level == Level::Breaking;
    n.warnings += c.level == Level::Warning;
    n.info += c.level == Level::Info;
  }
  return n;
}

std::string summary(const Counts& n) {
  return std::to_string(n.breaking) + " breaking, " + std::to_string(n.warnings) + " warning" +
         (n.warnings == 1 ? "" : "s") + ", " + std::to_string(n.info) + " info";
}

void printText(const std::vector<odcs::Change>& changes) {
  for (const auto& c : changes) {
    std::string level = c.level == Level::Breaking  ? "BREAKING"
                        : c.level == Level::Warning ? "WARNING"
                                                    : "INFO";
    level.resize(10, ' ');
    std::cout << level << c.path << ": " << c.message;
    if (where(c).line > 0) std::cout << "  (" << where(c).str() << ")";
    std::cout << "\n";
  }
  std::cout << (changes.empty() ? "no changes" : summary(count(changes))) << "\n";
}

void printJson(const std::vector<odcs::Change>& changes) {
  const Counts n = count(changes);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : changes)
    list.push_back({{"level", odcs::toString(c.level)},
                    {"path", c.path},
                    {"message", c.message},
                    {"old", locJson(c.old_loc)},
                    {"new", locJson(c.new_loc)}});
  const nlohmann::json j = {
      {"breaking", n.breaking}, {"warnings", n.warnings}, {"info", n.info}, {"changes", list}};
  std::cout << dumpJson(j, 2) << "\n";
}

// One workflow command per change, at the line in the new file (for a
// removal: the enclosing element there).
void printGithub(const std::vector<odcs::Change>& changes) {
  for (const auto& c : changes) {
    const char* cmd = c.level == Level::Breaking  ? "::error"
                      : c.level == Level::Warning ? "::warning"
                                                  : "::notice";
    const auto& l = where(c);
    std::cout << cmd << " file=" << config::githubEscape(l.file, true);
    if (l.line > 0) std::cout << ",line=" << l.line << ",col=" << std::max(l.column, 1);
    std::cout << "::" << config::githubEscape(c.path + ": " + c.message, false) << "\n";
  }
  std::cout << (changes.empty() ? "no changes" : summary(count(changes))) << "\n";
}

int print(const std::vector<odcs::Change>& changes, const std::string& format) {
  if (format == "json")
    printJson(changes);
  else if (format == "github")
    printGithub(changes);
  else
    printText(changes);
  return count(changes).breaking > 0 ? 1 : 0;
}

// ---------------------------------------------------------------- live

struct LiveSide {
  std::vector<odcs::LiveTable> tables;
  const Dialect* dialect = nullptr;
};

// The catalog's columns of each of the contract's objects, from `source`.
Result<LiveSide> readLive(const odcs::Contract& contract, const config::SourceConfig& sc,
                          const Redactor& redactor) {
  if (!sc.isSql()) return Status::Error("source " + sc.name + " is not a SQL source");
  SourceRegistry registry;
  registerBuiltinSources(registry);
  SystemClock clock;
  auto created = registry.create(sc, clock);
  if (!created) return Status::Error("source " + sc.name + ": " + redactor.redact(created.error()));
  auto* sql = dynamic_cast<SqlSource*>(created->get());
  if (!sql) return Status::Error("source " + sc.name + " is not a SQL source");
  LiveSide live;
  live.dialect = &sql->dialect();
  for (const auto& obj : contract.schema) {
    const auto q = sql->dialect().columns(sql->dialect().tableRef(obj.name), sql->placeholders());
    QueryLimits limits;
    limits.deadline = clock.monotonic() + sc.statement_timeout;
    auto rows = sql->query(q.sql, q.params, builtQuery(limits));
    if (!rows)
      return Status::Error("source " + sc.name + ": reading the columns of " + obj.name + ": " +
                           redactor.redact(rows.error()));
    odcs::LiveTable t{obj.name, !rows->rows.empty(), {}};
    for (const auto& row : rows->rows)
      t.columns.push_back({sqlValueToString(row.at(0)),
                           sql->dialect().canonicalType(sqlValueToString(row.at(1))),
                           sqlValueToDouble(row.at(2)).value_or(0) != 0});
    live.tables.push_back(std::move(t));
  }
  return live;
}

int diffLive(const CommonOptions& common, const std::string& id, const std::string& format) {
  config::LoadOptions lo;
  lo.paths = common.config_paths;
  lo.environment = common.environment;
  const auto loaded = config::loadConfig(lo);
  for (const auto& d : loaded.diagnostics) std::cerr << d.str() << "\n";
  if (!loaded.ok()) return 2;
  const auto& cfg = *loaded.config;
  const Redactor redactor(cfg.secrets);
  const config::ContractConfig* entry = nullptr;
  std::string known;
  for (const auto& c : cfg.contracts) {
    if (c.id == id) entry = &c;
    known += (known.empty() ? "" : ", ") + c.id;
  }
  if (!entry) {
    std::cerr << "datawatch contract diff: no contract with id \"" << id << "\" in the config"
              << (known.empty() ? " (it has none)" : " (contracts: " + known + ")") << "\n";
    return 2;
  }
  // Named relative to the working directory when it lies below it, as a
  // repository checkout runs it: GitHub places annotations only at relative paths.
  std::error_code ec;
  const auto rel = std::filesystem::relative(entry->path, std::filesystem::current_path(ec), ec);
  const bool below = !ec && !rel.empty() && *rel.begin() != "..";
  const auto contract = readContract(below ? rel.string() : entry->path.string());
  if (!contract) return 2;
  const config::SourceConfig* sc = cfg.findSource(entry->source);
  if (!sc) {
    std::cerr << "datawatch contract diff: contract " << id << " names no known source\n";
    return 2;
  }
  auto live = readLive(*contract, *sc, redactor);
  if (!live) {
    std::cerr << "datawatch contract diff: " << live.error() << "\n";
    return 2;
  }
  const Dialect& d = *live->dialect;
  odcs::LiveTypes types{
      [&d](const std::string& t) { return d.canonicalType(t); },
      [&d](const std::string& t) { return logicalFamily(d, t); },
      [&d](const std::string& l, const std::string& t) { return logicalTypeMatches(d, l, t); },
      [&d](const std::string& n) { return d.storedName(n); }};
  return print(odcs::diffAgainstLive(*contract, live->tables, d.namesCaseInsensitive(), types),
               format);
}

}  // namespace

int cmdContractDiff(const CommonOptions& common, const ContractDiffOptions& o) {
  if (o.format != "text" && o.format != "json" && o.format != "github") {
    std::cerr << "datawatch contract diff: --format must be text, json or github\n";
    return 2;
  }
  if (!o.against.empty()) {
    if (o.against != "live") {
      std::cerr << "datawatch contract diff: --against takes only \"live\"\n";
      return 2;
    }
    if (o.contract.empty() || common.config_paths.empty() || !o.files.empty()) {
      std::cerr << "datawatch contract diff: usage: contract diff --against live -c CONFIG "
                   "--contract ID [--format text|json|github]\n";
      return 2;
    }
    return diffLive(common, o.contract, o.format);
  }
  if (o.files.size() != 2) {
    std::cerr << "datawatch contract diff: usage: contract diff OLD NEW "
                 "[--format text|json|github]\n";
    return 2;
  }
  if (o.files[0] == "-" && o.files[1] == "-") {
    std::cerr << "datawatch contract diff: only one side can be - (stdin)\n";
    return 2;
  }
  const auto old_contract = readContract(o.files[0]);
  const auto new_contract = readContract(o.files[1]);
  if (!old_contract || !new_contract) return 2;
  return print(odcs::diffContracts(*old_contract, *new_contract), o.format);
}

}  // namespace datawatch
