#include "agent/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "agent/agent.hpp"
#include "agent/cli_text.hpp"
#include "agent/lineage_service.hpp"
#include "agent/logging.hpp"
#include "agent/run_once.hpp"
#include "agent/runtime.hpp"
#include "agent/version.hpp"
#include "config/contract_ref.hpp"
#include "config/loader.hpp"
#include "config/odcs_import.hpp"
#include "import/dbt_import.hpp"
#include "incidents/postmortem.hpp"
#include "probes/drift.hpp"
#include "slo/prometheus_rules.hpp"
#include "slo/slo_advice.hpp"
#include "slo/slo_engine.hpp"

#include <fstream>
#include <sstream>
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "core/utf8.hpp"

namespace datawatch {
namespace {

std::shared_ptr<spdlog::logger> makeCliLogger(const CommonOptions& o,
                                              std::shared_ptr<RedactorHolder> redactor) {
  auto level = spdlog::level::from_str(o.log_level);
  return makeLogger(o.log_format == "json" ? LogFormat::Json : LogFormat::Text, level,
                    std::move(redactor));
}

config::LoadResult loadCommon(const CommonOptions& common) {
  config::LoadOptions lo;
  lo.paths = common.config_paths;
  lo.environment = common.environment;
  return config::loadConfig(lo);
}

// Prints diagnostics to stderr; returns true when there is no error.
bool report(const config::LoadResult& r, bool github = false) {
  for (const auto& d : r.diagnostics) {
    if (github)
      std::cout << d.github() << "\n";
    else
      std::cerr << d.str() << "\n";
  }
  return r.ok();
}

bool colorOn(FILE* f) {
  return isatty(fileno(f)) && std::getenv("NO_COLOR") == nullptr;
}  // NOLINT

std::string valueText(const ProbeResult& r) {
  if (!r.value) return "-";
  char buf[64];
  if (r.unit == "seconds")
    return humanDuration(std::chrono::milliseconds(static_cast<int64_t>(*r.value * 1000)));
  std::snprintf(buf, sizeof buf, "%.6g", *r.value);
  return std::string(buf) + (r.unit.empty() ? "" : " " + r.unit);
}

}  // namespace

int cmdVersion() {
  std::cout << "datawatch " << kVersion << " (git " << kGitRevision << ", built " << __DATE__
            << ")\n";
  return 0;
}

int cmdImportDbt(const std::string& manifest, const std::string& output, const std::string& source,
                 const std::string& dsn_env, bool probes_only) {
  std::error_code ec;
  if (std::filesystem::is_directory(manifest, ec)) {
    const auto guess = std::filesystem::path(manifest) / "target" / "manifest.json";
    std::cerr << manifest << ": is a directory; import dbt reads a manifest.json"
              << (std::filesystem::exists(guess, ec) ? " (try " + guess.string() + ")" : "")
              << "\n";
    return 2;
  }
  std::ifstream in(manifest);
  if (!in) {
    std::cerr << manifest << ": cannot read file\n";
    return 2;
  }
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    std::cerr << manifest << ": not valid JSON\n";
    return 2;
  }
  dbt::DbtImportOptions o;
  o.source = source;
  o.dsn_env = dsn_env;
  o.probes_only = probes_only;
  o.manifest_name = std::filesystem::path(manifest).filename().string();
  auto imported = dbt::importDbtManifest(j, o);
  if (!imported) {
    std::cerr << manifest << ": " << imported.error() << "\n";
    return 2;
  }
  for (const auto& w : imported->warnings) std::cerr << "warning: " << w << "\n";
  if (output.empty() || output == "-") {
    std::cout << imported->yaml;
    return 0;
  }
  std::ofstream out(output);
  out << imported->yaml;
  if (!out) {
    std::cerr << output << ": cannot write file\n";
    return 2;
  }
  std::cerr << "wrote " << output << "\n";
  return 0;
}

int cmdImportOdcs(const std::string& contract, const std::string& output,
                  const std::string& source) {
  if (source.empty() || !std::all_of(source.begin(), source.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
      })) {
    std::cerr << "datawatch import odcs: --source \"" << source
              << "\" is not a source name ([a-z0-9_-]+)\n";
    return 2;
  }
  const auto parsed = config::odcs::parseContractFile(contract);
  for (const auto& d : parsed.diagnostics) std::cerr << d.str() << "\n";
  if (!parsed.ok()) return 2;
  config::odcs::ExpandOptions o;
  o.source = source;
  const auto imported = config::odcs::importContract(*parsed.contract, o, parsed.diagnostics);
  for (const auto& s : imported.skipped)
    std::cerr << "warning: " << s.loc.str() << ": " << s.what << " is not watched: " << s.reason
              << "\n";
  if (output.empty() || output == "-") {
    std::cout << imported.yaml;
    return 0;
  }
  std::ofstream out(output);
  out << imported.yaml;
  if (!out) {
    std::cerr << output << ": cannot write file\n";
    return 2;
  }
  std::cerr << "wrote " << output << " (" << imported.probes.size() << " probes)\n";
  return 0;
}

int cmdValidate(const CommonOptions& common, const std::string& format) {
  if (format != "text" && format != "github") {
    std::cerr << "datawatch validate: --format must be text or github\n";
    return 2;
  }
  auto r = loadCommon(common);
  if (r.config) {
    for (auto& w : sloCadenceWarnings(*r.config)) r.diagnostics.push_back(std::move(w));
  }
  const bool ok = report(r, format == "github");
  if (!ok) {
    size_t errors = 0;
    for (const auto& d : r.diagnostics) errors += d.severity == config::Diagnostic::Severity::Error;
    std::cerr << "config invalid: " << errors << " error(s)\n";
    return 2;
  }
  const auto& c = *r.config;
  std::cout << "config OK: " << c.sources.size() << " sources, " << c.probes.size() << " probes, "
            << c.slos.size() << " SLOs, " << c.notifiers.size() << " notifiers"
            << (c.environment.empty() ? "" : " (environment " + c.environment + ")") << "\n";
  return 0;
}

int cmdRules(const CommonOptions& common) {
  auto r = loadCommon(common);
  if (!report(r)) return 2;
  std::cout << prometheusRules(*r.config);
  return 0;
}

namespace {

// The state store named by the config, for the read-side commands.
Result<std::unique_ptr<StateStore>> storeOf(const config::Config& cfg) {
  return openStateStore(cfg.agent.state);
}

}  // namespace

int cmdIncidents(const CommonOptions& common, const std::vector<std::string>& args,
                 const std::string& format) {
  if (format != "table" && format != "json") {
    std::cerr << "datawatch incidents: --format must be table or json\n";
    return 2;
  }
  const std::string action = args.empty() ? "list" : args[0];
  if (!((action == "list" && args.size() <= 1) || (action == "show" && args.size() == 2))) {
    std::cerr << "datawatch incidents: usage: incidents [list|show ID] [--format table|json]\n";
    return 2;
  }
  auto loaded = loadCommon(common);
  if (!report(loaded)) return 2;
  auto store = storeOf(*loaded.config);
  if (!store) {
    std::cerr << "datawatch incidents: " << store.error() << "\n";
    return 2;
  }
  if (action == "show") {
    auto inc = (*store)->loadIncident(args[1]);
    if (!inc || !*inc) {
      std::cerr << "datawatch incidents: " << (inc ? "no incident " + args[1] : inc.error())
                << "\n";
      return 2;
    }
    nlohmann::json j = **inc;
    j.erase("burn_series");
    if (format == "json") {
      std::cout << dumpJson(j, 2) << "\n";
      return 0;
    }
    std::cout << j.value("id", "") << "  " << j.value("status", "") << "  "
              << j.value("severity", "") << "  " << j.value("subject", "") << "\n"
              << "opened   " << j.value("opened_at", "") << "\n"
              << "resolved "
              << (j["resolved_at"].is_string() ? j["resolved_at"].get<std::string>() : "-") << "\n"
              << "alerts   " << dumpJson(j["alerts"]) << "\n"
              << "postmortem "
              << (j["postmortem"].is_string() ? j["postmortem"].get<std::string>() : "-")
              << "\n\ntimeline (UTC)\n";
    for (const auto& e : j.value("timeline", nlohmann::json::array()))
      std::cout << "  " << e.value("at", "") << "  " << e.value("text", "") << "\n";
    return 0;
  }
  auto list = (*store)->loadIncidents(false, 1000);
  if (!list) {
    std::cerr << "datawatch incidents: " << list.error() << "\n";
    return 2;
  }
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (auto j : *list) {
      j.erase("timeline");
      j.erase("burn_series");
      out.push_back(std::move(j));
    }
    std::cout << dumpJson(out, 2) << "\n";
    return 0;
  }
  std::cout << pad("ID", 18) << pad("STATUS", 10) << pad("SEVERITY", 10) << pad("OPENED", 22)
            << pad("RESOLVED", 22) << "SUBJECT\n";
  for (const auto& j : *list) {
    std::cout << pad(j.value("id", ""), 18) << pad(j.value("status", ""), 10)
              << pad(j.value("severity", ""), 10) << pad(j.value("opened_at", ""), 22)
              << pad(j["resolved_at"].is_string() ? j["resolved_at"].get<std::string>() : "-", 22)
              << j.value("subject", "") << "\n";
  }
  return 0;
}

int cmdPostmortem(const CommonOptions& common, const std::string& id, const std::string& output) {
  auto loaded = loadCommon(common);
  if (!report(loaded)) return 2;
  auto store = storeOf(*loaded.config);
  if (!store) {
    std::cerr << "datawatch postmortem: " << store.error() << "\n";
    return 2;
  }
  auto doc = (*store)->loadIncident(id);
  if (!doc || !*doc) {
    std::cerr << "datawatch postmortem: " << (doc ? "no incident " + id : doc.error()) << "\n";
    return 2;
  }
  auto inc = incidentFromJson(**doc);
  if (!inc) {
    std::cerr << "datawatch postmortem: incident " << id << " is unreadable in the state store\n";
    return 2;
  }
  SystemClock clock;
  // The impact lists the datasets and jobs downstream, as the agent's drafts do.
  LineageService lineage(nullptr, nullptr);
  (void)lineage.load(**store);  // unreadable: drafted without them
  const auto loaded_cfg = std::make_shared<const config::Config>(*loaded.config);
  const auto cfg = withLineage(loaded_cfg, *lineage.links(loaded_cfg));
  auto files = writePostmortem(*inc, *cfg, **store, clock.now(), output);
  if (!files) {
    std::cerr << "datawatch postmortem: " << files.error() << "\n";
    return 2;
  }
  if (!files->template_error.empty())
    std::cerr << "datawatch postmortem: " << files->template_error
              << " (the default draft was written)\n";
  std::cout << files->markdown.string() << "\n" << files->chart.string() << "\n";
  return 0;
}

namespace {

// " (did you mean \"orders-v1__orders__amount\"?)" for the closest probe name
// within a few edits (a contract id's dash typed for the name's '_'), else "".
std::string probeHint(const config::Config& cfg, const std::string& name) {
  const config::ProbeConfig* best = nullptr;
  size_t best_d = 0;
  for (const auto& p : cfg.probes) {
    const size_t d = config::editDistance(name, p.name);
    if (!best || d < best_d) {
      best = &p;
      best_d = d;
    }
  }
  const size_t limit = name.size() <= 4 ? 1 : (name.size() <= 8 ? 2 : 3);
  if (!best || best_d > limit) return "";
  return " (did you mean \"" + best->name + "\"?)";
}

// A contract's probe in `check`'s table: its message, then where the rule is
// written (" (at contracts/orders.odcs.yaml:12)").
std::string checkMessage(const config::Config& cfg, const ProbeResult& r,
                         const std::string& message) {
  const auto* pc = cfg.findProbe(r.probe);
  const std::string rule = pc ? config::contractRule(*pc) : "";
  return rule.empty() ? message : message + " (at " + rule + ")";
}

}  // namespace

int cmdCheck(const CommonOptions& common, const std::vector<std::string>& only,
             const std::string& format, bool repin) {
  if (format != "table" && format != "json") {
    std::cerr << "datawatch check: --format must be table or json\n";
    return 2;
  }
  auto loaded = loadCommon(common);
  if (!report(loaded)) return 2;
  auto cfg = std::make_shared<config::Config>(std::move(*loaded.config));
  if (!only.empty()) {
    bool bad = false;
    for (const auto& name : only) {
      if (!cfg->findProbe(name)) {
        std::cerr << "datawatch check: no probe named \"" << name << "\"" << probeHint(*cfg, name)
                  << "\n";
        bad = true;
      }
    }
    if (bad) return 2;
    std::erase_if(cfg->probes, [&](const config::ProbeConfig& p) {
      return std::find(only.begin(), only.end(), p.name) == only.end();
    });
  }
  auto redactor = std::make_shared<RedactorHolder>();
  redactor->set(std::make_shared<Redactor>(cfg->secrets));
  auto log = makeCliLogger(common, redactor);
  log->set_level(
      std::max(log->level(), spdlog::level::err));  // check reports through its output, not logs
  SystemClock clock;
  std::unique_ptr<StateStore> store;
  if (auto s = openStateStore(cfg->agent.state); s) {
    store = std::move(s).value();
  } else {
    std::cerr << "warning: " << redactor->redact(s.error()) << " (results are not recorded)\n";
  }
  if (repin) {
    if (!store) {
      std::cerr << "datawatch check: --repin needs the state store\n";
      return 2;
    }
    // Clearing a pinned baseline makes its probe capture a new one on this run.
    for (const auto& p : cfg->probes) {
      if (p.type != config::ProbeType::Drift ||
          !std::get<config::DriftSpec>(p.spec).baseline.pinned)
        continue;
      if (auto st = store->saveSnapshot(driftBaselineKey(p.name), nullptr); !st) {
        std::cerr << "datawatch check: " << redactor->redact(st.message()) << "\n";
        return 2;
      }
    }
  }
  SourceRegistry sources;
  ProbeRegistry probes;
  registerBuiltinSources(sources);
  registerBuiltinProbes(probes);
  // Job and dataset probes judge the OpenLineage events the agent stored.
  LineageService lineage(nullptr, log);
  if (store) {
    if (auto n = lineage.load(*store); !n)
      std::cerr << "warning: " << redactor->redact(n.error())
                << " (job and dataset probes see no OpenLineage events)\n";
  }
  Runtime rt(cfg, clock, sources, probes, store.get(), nullptr, log, &lineage.graph());
  rt.primeFromStore();
  const bool progress = format == "table" && cfg->probes.size() > 3 && isatty(fileno(stderr));
  auto results =
      runAllOnce(rt, clock, cfg->agent.max_concurrent_probes, [&](size_t done, size_t total) {
        if (progress) std::fprintf(stderr, "\r\033[Krunning probes %zu/%zu", done, total);
      });
  if (progress) std::fprintf(stderr, "\r\033[K");

  int passed = 0, failed = 0, errored = 0;
  for (const auto& r : results) {
    passed += r.status == ProbeStatus::Pass;
    failed += r.status == ProbeStatus::Fail;
    errored += r.status == ProbeStatus::Error;
  }
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json j = redactor->redactJson(r.toJson());
      if (const auto* pc = cfg->findProbe(r.probe); pc && !pc->contract.empty())
        j["contract"] = config::contractRef(*pc);
      arr.push_back(std::move(j));
    }
    std::cout << dumpJson(arr, 2) << "\n";
  } else {
    const bool color = colorOn(stdout);
    size_t wp = 5, wt = 4, wg = 6, wv = 5;
    for (const auto& r : results) {
      wp = std::max(wp, r.probe.size());
      wt = std::max(wt, r.type.size());
      wg = std::max(wg, r.target.size());
      wv = std::max(wv, valueText(r).size());
    }
    std::cout << pad("STATUS", 7) << pad("PROBE", wp + 2) << pad("TYPE", wt + 2)
              << pad("TARGET", wg + 2) << pad("VALUE", wv + 2) << "MESSAGE\n";
    for (const auto& r : results) {
      std::string st = r.status == ProbeStatus::Pass   ? "PASS"
                       : r.status == ProbeStatus::Fail ? "FAIL"
                                                       : "ERROR";
      const char* code = r.status == ProbeStatus::Pass   ? "\033[32m"
                         : r.status == ProbeStatus::Fail ? "\033[31;1m"
                                                         : "\033[33;1m";
      std::cout << (color ? code : "") << pad(st, 7) << (color ? "\033[0m" : "")
                << pad(r.probe, wp + 2) << pad(r.type, wt + 2) << pad(r.target, wg + 2)
                << pad(valueText(r), wv + 2) << checkMessage(*cfg, r, redactor->redact(r.message))
                << "\n";
    }
    std::cout << "\n"
              << passed << " passed, " << failed << " failed, " << errored << " errored"
              << (store ? " (recorded in " + store->describe() + ")" : std::string()) << "\n";
    // The SLOs' current state: their history from the store, with this run in it.
    SloEngine slos;
    const auto stats = slos.configure(*cfg, store.get(), clock.now());
    for (const auto& e : stats.errors) std::cerr << "warning: " << redactor->redact(e) << "\n";
    if (!store)
      for (const auto& r : results) slos.record(r);
    printSloTable(std::cout, slos.evaluate(clock.now()), color);
  }
  if (failed > 0) return 1;
  if (errored > 0) return 3;
  return 0;
}

int cmdRun(const CommonOptions& common, const std::optional<std::string>& listen) {
  blockAgentSignals();  // before any thread starts
  auto redactor = std::make_shared<RedactorHolder>();
  auto log = makeCliLogger(common, redactor);
  SystemClock clock;
  AgentOptions opts;
  opts.config_paths = common.config_paths;
  opts.environment = common.environment;
  opts.listen = listen;
  Agent agent(std::move(opts), clock, log, redactor);
  return agent.run();
}

}  // namespace datawatch
