#include "tests/support/test_support.hpp"

#include "core/time_format.hpp"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace datawatch::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("datawatch-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

SqliteDb::SqliteDb(const std::filesystem::path& path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
    throw std::runtime_error("cannot open " + path.string());
}

SqliteDb::~SqliteDb() {
  sqlite3_close(db_);
}

void SqliteDb::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + msg + " in: " + sql);
  }
}

config::EnvLookup envFrom(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

void writeFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace datawatch::testing

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

namespace datawatch::testing {

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& out,
                 const std::filesystem::path& err,
                 const std::map<std::string, std::string>& extra_env) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (const auto& [k, v] : extra_env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

void Process::signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

bool Process::running() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int Process::wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    if (waitpid(pid_, &status_, WNOHANG) == pid_) {
      reaped_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

CommandResult runCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& extra_env,
                         std::chrono::milliseconds timeout) {
  TempDir dir;
  int code;
  {
    Process p(argv, dir / "out", dir / "err", extra_env);
    code = p.wait(timeout);
  }
  return {code, readFile(dir / "out"), readFile(dir / "err")};
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace datawatch::testing

#include <cstdlib>

namespace datawatch::testing {

std::string testPgDsn() {
  const char* dsn = std::getenv("DATAWATCH_TEST_PG_DSN");  // NOLINT(concurrency-mt-unsafe)
  if (dsn == nullptr || *dsn == '\0') {
    throw std::runtime_error(
        "DATAWATCH_TEST_PG_DSN is not set: run the suite with scripts/test.sh");
  }
  return dsn;
}

namespace {
std::string pgScript() {
  const char* s = std::getenv("DATAWATCH_PG_TEST_SERVER");  // NOLINT(concurrency-mt-unsafe)
  if (s == nullptr)
    throw std::runtime_error(
        "DATAWATCH_PG_TEST_SERVER is not set: run the suite with scripts/test.sh");
  return s;
}
void runScript(const std::string& script, const std::string& cmd,
               const std::filesystem::path& dir) {
  auto r = runCommand({"/bin/bash", script, cmd, dir.string()}, {}, std::chrono::seconds(60));
  if (r.exit_code != 0) throw std::runtime_error("pg-test-server " + cmd + " failed: " + r.err);
}
}  // namespace

PgServer::PgServer() : script_(pgScript()) {
  runScript(script_, "start", dir_.path() / "pg");
  dsn_ = readFile(dir_.path() / "pg" / "dsn");
  while (!dsn_.empty() && (dsn_.back() == '\n' || dsn_.back() == ' ')) dsn_.pop_back();
}

PgServer::~PgServer() {
  try {
    runScript(script_, "destroy", dir_.path() / "pg");
  } catch (const std::exception&) {
    // best effort
  }
}

void PgServer::stop() {
  runScript(script_, "stop", dir_.path() / "pg");
}
void PgServer::restart() {
  runScript(script_, "restart", dir_.path() / "pg");
}

void pgExec(const std::string& dsn, const std::string& sql) {
  auto r = runCommand({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql});
  if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err + " in: " + sql);
}

PgSchema::PgSchema(std::string dsn, const std::string& prefix) : dsn_(std::move(dsn)) {
  std::random_device rd;
  name_ = prefix + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
  pgExec(dsn_, "CREATE SCHEMA " + name_);
}

PgSchema::~PgSchema() {
  try {
    pgExec(dsn_, "DROP SCHEMA " + name_ + " CASCADE");
  } catch (const std::exception&) {
  }
}

void PgSchema::exec(const std::string& sql) const {
  pgExec(dsn_, "SET search_path TO " + name_ + "; " + sql);
}

}  // namespace datawatch::testing

#include <catch2/catch.hpp>

namespace datawatch::testing {

std::shared_ptr<config::Config> loadTestConfig(const std::string& yaml, const std::string& file,
                                               const std::map<std::string, std::string>& env) {
  auto r = config::loadConfigFromString(yaml, file, "", envFrom(env));
  std::string errs;
  for (const auto& d : r.diagnostics) errs += d.str() + "\n";
  INFO(errs);
  REQUIRE(r.ok());
  return std::make_shared<config::Config>(std::move(*r.config));
}

ProbeHarness::ProbeHarness(std::shared_ptr<config::Config> cfg, TimePoint start, StateStore* store)
    : clock(start) {
  registerBuiltinSources(sources_);
  registerBuiltinProbes(probes_);
  rt_ = std::make_unique<Runtime>(std::move(cfg), clock, sources_, probes_, store, nullptr,
                                  std::make_shared<spdlog::logger>("test"));
}

std::string requiredTool(const std::string& found, const std::string& name) {
  if (found.empty() || found.find("NOTFOUND") != std::string::npos)
    throw std::runtime_error(name + " not found: `scripts/install-deps.sh --test` installs it");
  return found;
}

int listenPort(const std::filesystem::path& log) {
  const std::string marker = "listening on http://127.0.0.1:";
  const std::string text = readFile(log);
  const auto pos = text.find(marker);
  if (pos == std::string::npos) return 0;
  return std::atoi(text.c_str() + pos + marker.size());
}

std::optional<double> promSample(const std::string& text, const std::string& series) {
  const auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return std::nullopt;
  return std::stod(text.substr(pos + series.size() + 2));
}

void makeOrdersWarehouse(const std::filesystem::path& dir) {
  SqliteDb db(dir / "warehouse.db");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT)");
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 42; ++i) {
    db.exec("INSERT INTO orders (created_at) VALUES ('" +
            formatRfc3339(now - std::chrono::minutes(10) - i * std::chrono::minutes(1)) + "')");
  }
}

}  // namespace datawatch::testing
