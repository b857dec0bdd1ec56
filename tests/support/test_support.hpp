#pragma once
// Helpers shared by the tests: temporary folders, SQLite fixtures, env maps.

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace datawatch::testing {

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A writable SQLite database for arranging test data.
class SqliteDb {
 public:
  explicit SqliteDb(const std::filesystem::path& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  // Runs SQL; fails the test (throws) on error.
  void exec(const std::string& sql);
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// An EnvLookup over a fixed map.
config::EnvLookup envFrom(std::map<std::string, std::string> vars);

void writeFile(const std::filesystem::path& p, const std::string& text);
std::string readFile(const std::filesystem::path& p);

}  // namespace datawatch::testing

namespace datawatch::testing {

// A child process (fork/exec) with stdout and stderr sent to files.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& out,
          const std::filesystem::path& err,
          const std::map<std::string, std::string>& extra_env = {});
  ~Process();  // kills the child if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void signal(int sig);
  // Waits up to `timeout` for exit; returns the exit code, or -1 on timeout / by signal.
  int wait(std::chrono::milliseconds timeout);
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};
// Runs a command to completion (at most `timeout`), capturing its output.
CommandResult runCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& extra_env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A program CMake's find_program looked for (`found`: its path, or "" /
// "…-NOTFOUND"). Throws (failing the test), saying how to install it, when missing.
std::string requiredTool(const std::string& found, const std::string& name);

// The port of "listening on http://127.0.0.1:PORT" in an agent's log, or 0.
int listenPort(const std::filesystem::path& log);

// The value of the sample `name{labels}` in Prometheus text, or nullopt.
std::optional<double> promSample(const std::string& text, const std::string& series);

// warehouse.db in `dir`: table orders(id, created_at), 42 rows, the newest 10
// minutes old (RFC 3339 text).
void makeOrdersWarehouse(const std::filesystem::path& dir);

// Polls `condition` every 50 ms until it holds or `timeout` passes. For waiting on
// another process, where no fake clock can reach.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace datawatch::testing

namespace datawatch::testing {

// The shared test PostgreSQL started by scripts/test.sh (DATAWATCH_TEST_PG_DSN).
// Throws when it is not set, so a PostgreSQL test can never pass without a server.
std::string testPgDsn();

// A private PostgreSQL server (scripts/pg-test-server.sh) for tests that stop
// and restart the database. Destroyed with the object.
class PgServer {
 public:
  PgServer();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  const std::string& dsn() const { return dsn_; }
  void stop();
  void restart();

 private:
  TempDir dir_;
  std::string script_;
  std::string dsn_;
};

// Runs SQL on PostgreSQL with psql (arranging test data); throws on failure.
void pgExec(const std::string& dsn, const std::string& sql);

// A schema of its own for a test (tests run in parallel: "<prefix><pid>_<n>"),
// dropped with everything in it afterwards.
class PgSchema {
 public:
  explicit PgSchema(std::string dsn, const std::string& prefix = "dw_t");
  ~PgSchema();
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;
  const std::string& name() const { return name_; }
  // Runs `sql` with the schema first on the search path.
  void exec(const std::string& sql) const;

 private:
  std::string dsn_;
  std::string name_;
};

}  // namespace datawatch::testing

#include "agent/runtime.hpp"
#include "core/time_format.hpp"

namespace datawatch::testing {

// Parses a whole config; fails the test (REQUIRE) with every diagnostic when invalid.
// `file` names it and anchors its relative paths.
std::shared_ptr<config::Config> loadTestConfig(const std::string& yaml, const std::string& file,
                                               const std::map<std::string, std::string>& env = {});

// The built-in sources and probes of a config, on a simulated clock: run probe i
// and look at its result. The store, when given, must outlive the harness.
class ProbeHarness {
 public:
  explicit ProbeHarness(std::shared_ptr<config::Config> cfg,
                        TimePoint start = *parseTimestamp("2026-11-26T10:00:00Z"),
                        StateStore* store = nullptr);
  ProbeResult run(size_t i = 0) { return rt_->runProbe(i); }
  SimulatedClock clock;

 private:
  SourceRegistry sources_;
  ProbeRegistry probes_;
  std::unique_ptr<Runtime> rt_;
};

}  // namespace datawatch::testing
