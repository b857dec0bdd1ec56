#pragma once
// The state store backends the contract suite runs on: SQLite always,
// PostgreSQL when DATAWATCH_TEST_PG_DSN is set. Each StoreUnderTest is a fresh,
// empty store: a temp-dir SQLite file, or a fresh schema of the test PostgreSQL
// (search_path in the URL), dropped on destruction.
//
//   for (const auto& backend : stateStoreBackends())
//     DYNAMIC_SECTION(backend) { StoreUnderTest db(backend); auto store = db.open(); ... }

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "store/state_store.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

// SQL that turns a SQLite state file of this build back into what migrations
// 1-6 made (tests of upgrades from older files): every run back in the table
// probe_runs. (Dropping an AUTOINCREMENT table drops its sqlite_sequence row.)
inline constexpr const char* kSqliteUndoRecentRuns =
    "INSERT INTO probe_run_history SELECT * FROM probe_runs_recent;"
    "DROP VIEW probe_runs; DROP TABLE probe_runs_recent;"
    "ALTER TABLE probe_run_history RENAME TO probe_runs;"
    "DELETE FROM schema_migrations WHERE version = 7";

// An outbox item for notifier "hook" (alert "a"), created and due at `at`.
inline OutboxItem hookItem(const std::string& id, TimePoint at) {
  OutboxItem it;
  it.delivery_id = id;
  it.notifier = "hook";
  it.alert_id = "a";
  it.payload = {{"id", id}};
  it.created_at = at;
  it.next_attempt = at;
  return it;
}

// A stored probe run with every field set, as the store tests write them.
inline ProbeResult storedRun(const std::string& probe, TimePoint at,
                             ProbeStatus st = ProbeStatus::Pass, std::optional<double> v = 1.0) {
  ProbeResult r;
  r.probe = probe;
  r.type = "volume";
  r.source = "db";
  r.target = "shop.orders";
  r.owner = "team";
  r.status = st;
  r.value = v;
  r.unit = "rows";
  r.message = "m";
  r.threshold = {{"min", 10}};
  r.details = {{"k", "v"}};
  r.observed_at = at;
  r.duration_seconds = 0.25;
  return r;
}

inline std::vector<std::string> stateStoreBackends() {
  std::vector<std::string> out{"sqlite"};
  const char* dsn = std::getenv("DATAWATCH_TEST_PG_DSN");  // NOLINT(concurrency-mt-unsafe)
  if (dsn != nullptr && *dsn != '\0') out.emplace_back("postgres");
  return out;
}

// `dsn` whose sessions use `schema` (libpq URI option -csearch_path=...).
inline std::string pgDsnWithSchema(const std::string& dsn, const std::string& schema) {
  return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         schema;
}

class StoreUnderTest {
 public:
  explicit StoreUnderTest(std::string backend) : backend_(std::move(backend)) {
    if (backend_ == "sqlite") {
      url_ = "sqlite://" + (dir_ / "state.db").string();
      return;
    }
    admin_dsn_ = testPgDsn();
    static std::atomic<int> counter{0};
    std::random_device rd;
    schema_ = "dw_store_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" +
              std::to_string(rd() % 100000);
    pgExec(admin_dsn_, "CREATE SCHEMA " + schema_);
    url_ = pgDsnWithSchema(admin_dsn_, schema_);
  }
  ~StoreUnderTest() {
    if (schema_.empty()) return;
    try {
      pgExec(admin_dsn_, "DROP SCHEMA " + schema_ + " CASCADE");
    } catch (const std::exception&) {  // best effort
    }
  }
  StoreUnderTest(const StoreUnderTest&) = delete;
  StoreUnderTest& operator=(const StoreUnderTest&) = delete;

  const std::string& backend() const { return backend_; }
  bool postgres() const { return backend_ == "postgres"; }
  // For openStateStore; opening it again reopens the same store.
  const std::string& url() const { return url_; }
  // PostgreSQL: the schema and a DSN of the server (with its password).
  const std::string& schema() const { return schema_; }
  const std::string& adminDsn() const { return admin_dsn_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // Opens (again) the store; throws with the error when it cannot.
  std::unique_ptr<StateStore> open() const {
    auto s = openStateStore(url_);
    if (!s) throw std::runtime_error("cannot open " + backend_ + " store: " + s.error());
    return std::move(s).value();
  }

  // Runs SQL on the store's database (SQLite file, or the PostgreSQL schema).
  void exec(const std::string& sql) const {
    if (postgres()) {
      pgExec(admin_dsn_, "SET search_path TO " + schema_ + "; " + sql);
    } else {
      SqliteDb db(dir_ / "state.db");
      db.exec(sql);
    }
  }

 private:
  TempDir dir_;
  std::string backend_;
  std::string url_;
  std::string admin_dsn_;
  std::string schema_;
};

}  // namespace datawatch::testing
