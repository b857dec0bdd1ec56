#pragma once
// The fleet tests' database: a fresh PostgreSQL database per test on the test
// server (DATAWATCH_TEST_PG_DSN), migrated by PostgresStateStore::open (which
// creates the fleet's tables), dropped afterwards.

#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "ha/fleet.hpp"
#include "store/postgres_state_store.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

// The DSN with its database name replaced.
inline std::string withDatabase(const std::string& dsn, const std::string& db) {
  const auto q = dsn.find('?');
  const std::string base = dsn.substr(0, q);
  const std::string query = q == std::string::npos ? "" : dsn.substr(q);
  const auto slash = base.rfind('/');
  return base.substr(0, slash + 1) + db + query;
}

class FleetDb {
 public:
  explicit FleetDb(bool with_tables = true) : server_dsn_(testPgDsn()) {
    std::random_device rd;
    name_ = "dw_fleet_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
    pgExec(server_dsn_, "CREATE DATABASE " + name_);
    dsn_ = withDatabase(server_dsn_, name_);
    if (with_tables) {
      auto store = PostgresStateStore::open(dsn_);
      if (!store.ok()) throw std::runtime_error("state store migrations failed: " + store.error());
    }
  }
  ~FleetDb() {
    try {
      pgExec(server_dsn_, "DROP DATABASE " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  FleetDb(const FleetDb&) = delete;
  FleetDb& operator=(const FleetDb&) = delete;
  const std::string& dsn() const { return dsn_; }
  void exec(const std::string& sql) const { pgExec(dsn_, sql); }

  FleetOptions options(const std::string& id, std::chrono::milliseconds lease) const {
    FleetOptions o;
    o.dsn = dsn_;
    o.replica_id = id;
    o.config_hash = "hash-1";
    o.leader_lease = lease;
    o.replica_ttl = lease * 2;
    o.statement_timeout = std::chrono::seconds(5);
    return o;
  }

 private:
  std::string server_dsn_;
  std::string name_;
  std::string dsn_;
};

// The test server's DSN is set (else the test says so and is skipped).
inline bool havePg() {
  const char* dsn = std::getenv("DATAWATCH_TEST_PG_DSN");  // NOLINT(concurrency-mt-unsafe)
  return dsn != nullptr && *dsn != '\0';
}

}  // namespace datawatch::testing
