// datawatch: command-line entry point. Parses the subcommand and its options
// (Boost.Program_options) and hands over to agent/commands.

#include <boost/program_options.hpp>

#include <iostream>

#include "agent/commands.hpp"
#include "agent/process_tuning.hpp"

namespace po = boost::program_options;

// GnuTLS initialises itself in a library constructor (loading PKCS#11 modules)
// in every process that maps it — here only because libpq and libcurl link
// libldap, which links GnuTLS; datawatch's TLS is OpenSSL. This is GnuTLS's
// documented opt-out (GNUTLS_SKIP_GLOBAL_INIT in gnutls.h); a user of GnuTLS
// (libldap's TLS) still calls gnutls_global_init itself. Saves ~0.85 MB of
// resident memory per agent (issue 19). Exported by the link option in
// agent/CMakeLists.txt.
extern "C" int _gnutls_global_init_skip(void);
extern "C" int _gnutls_global_init_skip(void) {
  return 1;
}

namespace {

constexpr const char* kUsage = R"(usage: datawatch COMMAND [options]

commands:
  run        -c F [--listen ADDR]                   run the agent
  check      -c F [--probe NAME]... [--format table|json] [--repin]
                                                    run probes once (--repin: new pinned drift baselines)
  validate   -c F [--format text|github]            check a config without connecting
  rules      -c F                                   Prometheus rules for the SLOs
  incidents  -c F [list|show ID] [--format table|json]   incidents from the state store
  postmortem -c F ID [-o FILE]                      (re)draft an incident's post-mortem
  demo       [--dir D]                              the whole loop on a simulated clock
  import dbt MANIFEST [-o FILE] [--source NAME] [--dsn-env VAR] [--probes-only]
                                                    probes from a dbt manifest.json
  import odcs CONTRACT --source NAME [-o FILE]      probes from an ODCS v3 data contract
  contract diff OLD NEW [--format text|json|github]  classify contract changes (exit 1: breaking)
  contract diff --against live -c F --contract ID [--format ...]
                                                    a contract against the live tables
  version                                           version and build info

common options:
  -c, --config PATH     config file or directory (repeatable)
  --env NAME            apply environments.NAME overrides
  --log-format FORMAT   text (default) or json
  --log-level LEVEL     trace, debug, info (default), warn, error
)";

constexpr const char* kImportDbtUsage =
    R"(usage: datawatch import dbt MANIFEST [-o FILE] [--source NAME] [--dsn-env VAR] [--probes-only]

Writes probes that check what a dbt project's tests, source freshness and
model contracts check, as dbt means them (docs/dbt.md). MANIFEST is dbt's
target/manifest.json (run `dbt compile` first so singular tests and tests
with thresholds can be imported from their compiled SQL).

  -o, --output FILE   write the config there (default: standard output)
  --source NAME       the datawatch source the probes read (default: warehouse)
  --dsn-env VAR       PostgreSQL/Redshift: the variable holding the DSN
                      (default: WAREHOUSE_DSN)
  --probes-only       omit the sources: section
)";

constexpr const char* kImportOdcsUsage =
    R"(usage: datawatch import odcs CONTRACT --source NAME [-o FILE]

Writes the probes an ODCS v3 data contract expands into (the same probes
`contracts:` in the config watches; docs/contracts.md) as plain config. The
header lists every quality rule and SLA property that is not watched, with
the reason, and an SLO over all the probes to paste under slos:.

  --source NAME       the datawatch source the probes read (required)
  -o, --output FILE   write the config there (default: standard output)
)";

int usageError(const std::string& msg) {
  std::cerr << "datawatch: " << msg << "\n\n" << kUsage;
  return 2;
}

constexpr const char* kContractUsage =
    R"(usage: datawatch contract diff OLD NEW [--format text|json|github]
       datawatch contract diff --against live -c CONFIG --contract ID [--format text|json|github]

Compares two ODCS v3 contracts (or a contract and the live tables of its
source) and classifies every change: breaking, warning or info.
Exit codes: 0 no breaking change, 1 breaking changes, 2 unreadable or invalid input.
)";

// `contract diff ...` (its own options: the positional files and --against).
int contractCommand(int argc, char** argv, datawatch::CommonOptions& common) {
  datawatch::ContractDiffOptions o;
  std::vector<std::string> args;
  po::options_description co("contract options");
  co.add_options()("help,h", "help")("config,c", po::value(&common.config_paths)->composing(),
                                     "config")("env", po::value(&common.environment), "env")(
      "format", po::value(&o.format), "format")("against", po::value(&o.against), "against")(
      "contract", po::value(&o.contract), "contract id")("args", po::value(&args), "args");
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc - 1, argv + 1).options(co).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kContractUsage;
    return 0;
  }
  if (args.empty() || args[0] != "diff") {
    std::cerr << "datawatch: unknown contract subcommand\n\n" << kContractUsage;
    return 2;
  }
  o.files.assign(args.begin() + 1, args.end());
  return datawatch::cmdContractDiff(common, o);
}

}  // namespace

int main(int argc, char** argv) {
  datawatch::tuneProcess();  // first: before any thread or SQLite connection
  try {
    if (argc < 2) return usageError("missing command");
    const std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      std::cout << kUsage;
      return 0;
    }
    datawatch::CommonOptions common;
    std::vector<std::string> probes;
    std::string format;
    std::string listen;
    std::string dir = "./datawatch-demo";

    po::options_description opts("options");
    opts.add_options()("help,h", "show help")(
        "config,c", po::value(&common.config_paths)->composing(), "config")(
        "env", po::value(&common.environment), "environment")(
        "log-format", po::value(&common.log_format), "log format")(
        "log-level", po::value(&common.log_level), "log level");
    if (cmd == "check") {
      opts.add_options()("probe", po::value(&probes)->composing(), "probe")(
          "format", po::value(&format)->default_value("table"), "format")(
          "repin", "re-capture pinned drift baselines");
    } else if (cmd == "validate") {
      opts.add_options()("format", po::value(&format)->default_value("text"), "format");
    } else if (cmd == "run") {
      opts.add_options()("listen", po::value(&listen), "listen address");
    } else if (cmd == "demo") {
      opts.add_options()("dir", po::value(&dir), "demo folder");
    } else if (cmd == "version" || cmd == "--version") {
      return datawatch::cmdVersion();
    } else if (cmd == "import") {
      std::vector<std::string> args;
      std::string output, source = "warehouse", dsn_env = "WAREHOUSE_DSN";
      po::options_description io("import options");
      io.add_options()("help,h", "help")("output,o", po::value(&output), "output")(
          "source", po::value(&source), "source")("dsn-env", po::value(&dsn_env), "dsn env")(
          "probes-only", "omit sources")("args", po::value(&args), "args");
      po::positional_options_description pos;
      pos.add("args", -1);
      po::variables_map ivm;
      po::store(po::command_line_parser(argc - 1, argv + 1).options(io).positional(pos).run(), ivm);
      po::notify(ivm);
      if (ivm.count("help") && (args.empty() || args[0] == "dbt")) {
        std::cout << kImportDbtUsage;
        return 0;
      }
      if (!args.empty() && args[0] == "odcs") {
        if (ivm.count("help")) {
          std::cout << kImportOdcsUsage;
          return 0;
        }
        if (args.size() != 2)
          return usageError("usage: datawatch import odcs CONTRACT --source NAME [-o FILE]");
        if (!ivm.count("source")) {
          std::cerr << "import odcs: --source NAME is required (the datawatch source the probes "
                       "run on)\n";
          return 2;
        }
        return datawatch::cmdImportOdcs(args[1], output, source);
      }
      if (args.size() != 2 || args[0] != "dbt")
        return usageError("usage: datawatch import dbt MANIFEST [-o FILE]");
      return datawatch::cmdImportDbt(args[1], output, source, dsn_env,
                                     ivm.count("probes-only") > 0);
    } else if (cmd == "contract") {
      return contractCommand(argc, argv, common);
    } else if (cmd == "rules") {
      // -c and --env only
    } else if (cmd == "incidents" || cmd == "postmortem") {
      opts.add_options()("format", po::value(&format)->default_value("table"), "format")(
          "output,o", po::value(&listen), "output file")("args", po::value(&probes), "args");
    } else {
      return usageError("unknown command \"" + cmd + "\"");
    }
    po::positional_options_description positional;
    if (cmd == "incidents" || cmd == "postmortem") positional.add("args", -1);
    po::variables_map vm;
    po::store(
        po::command_line_parser(argc - 1, argv + 1).options(opts).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << kUsage;
      return 0;
    }
    if (common.log_format != "text" && common.log_format != "json")
      return usageError("--log-format must be text or json");
    if (cmd != "demo" && common.config_paths.empty()) return usageError(cmd + " needs -c/--config");
    if (cmd == "check") return datawatch::cmdCheck(common, probes, format, vm.count("repin") > 0);
    if (cmd == "validate") return datawatch::cmdValidate(common, format);
    if (cmd == "run")
      return datawatch::cmdRun(
          common, vm.count("listen") ? std::optional<std::string>(listen) : std::nullopt);
    if (cmd == "demo") return datawatch::cmdDemo(common, dir);
    if (cmd == "rules") return datawatch::cmdRules(common);
    if (cmd == "incidents") return datawatch::cmdIncidents(common, probes, format);
    if (cmd == "postmortem") {
      if (probes.size() != 1) return usageError("usage: datawatch postmortem -c F ID [-o FILE]");
      return datawatch::cmdPostmortem(common, probes[0], listen);
    }
  } catch (const po::error& ex) {
    return usageError(ex.what());
  } catch (const std::exception& ex) {
    std::cerr << "datawatch: internal error: " << ex.what() << "\n";
    return 2;
  }
  return 2;
}
