#pragma once
// Databases reached through ODBC, for live tests: a fresh database on the test
// PostgreSQL (psqlODBC, "PostgreSQL Unicode"), on the test MariaDB ("MariaDB
// Unicode"), or a SQLite file in a temp dir ("SQLite3"), each dropped on
// destruction. scripts/test.sh starts the servers: DATAWATCH_TEST_PG_DSN (libpq
// URL) and DATAWATCH_TEST_MARIADB_ODBC (an ODBC connection string, printed by
// scripts/mariadb-test-server.sh start DIR). A missing variable throws: a live
// test never passes without its server.

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>

#include "config/types.hpp"
#include "probes/odbc_handle.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

inline std::string testMariaDbOdbc() {
  const char* c = std::getenv("DATAWATCH_TEST_MARIADB_ODBC");  // NOLINT(concurrency-mt-unsafe)
  if (c == nullptr || *c == '\0')
    throw std::runtime_error(
        "DATAWATCH_TEST_MARIADB_ODBC is not set: run the suite with scripts/test.sh (or "
        "export the output of scripts/mariadb-test-server.sh start DIR)");
  return c;
}

// Parts of a libpq URL DSN (postgresql://user:password@host:port/db).
struct PgUrl {
  std::string user, password, host, port, database;
};
inline PgUrl parsePgUrl(const std::string& dsn) {
  static const std::regex re(R"(^postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+):(\d+)/([^?]+))");
  std::smatch m;
  if (!std::regex_search(dsn, m, re)) throw std::runtime_error("unexpected test DSN shape");
  return {m[1], m[2], m[3], m[4], m[5]};
}

// A psqlODBC connection string for `database` on the server of a libpq URL DSN.
inline std::string pgOdbcConnection(const std::string& url_dsn, const std::string& database) {
  const PgUrl u = parsePgUrl(url_dsn);
  return "Driver={PostgreSQL Unicode};Server=" + u.host + ";Port=" + u.port +
         ";Database=" + database + ";Uid=" + u.user + ";Pwd=" + u.password;
}

// `conn` with its Database= attribute replaced by (or extended with) `database`.
inline std::string odbcWithDatabase(const std::string& conn, const std::string& database) {
  static const std::regex re(R"((^|;)Database=[^;]*)", std::regex::icase);
  if (std::regex_search(conn, re)) return std::regex_replace(conn, re, "$1Database=" + database);
  return conn + ";Database=" + database;
}

// Runs one statement over a plain (writable) ODBC connection: test fixtures.
inline void odbcExec(const std::string& conn, const std::string& sql) {
  auto env = OdbcEnvironment::create();
  if (!env) throw std::runtime_error(env.error());
  auto dbc = OdbcDbc::allocate(**env);
  if (!dbc) throw std::runtime_error(dbc.error());
  if (auto st = dbc->connect(conn); !st.ok())
    throw std::runtime_error("odbcExec: cannot connect: " + st.message());
  auto stmt = OdbcStmt::allocate(*dbc);
  if (!stmt) throw std::runtime_error(stmt.error());
  std::string text = sql;
  const SQLRETURN rc = SQLExecDirect(stmt->get(), reinterpret_cast<SQLCHAR*>(text.data()),
                                     static_cast<SQLINTEGER>(text.size()));
  if (!odbc::succeeded(rc) && rc != SQL_NO_DATA)
    throw std::runtime_error("odbcExec: " + sql + ": " +
                             odbc::formatDiagnostics(stmt->diagnostics(), "failed"));
}

inline std::string uniqueOdbcDbName(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
}

class OdbcDb {
 public:
  virtual ~OdbcDb() = default;
  virtual std::string kind() const = 0;  // "postgres", "mariadb", "sqlite"
  virtual config::DialectId dialect() const = 0;
  // A connection string to the fresh database (the user may write).
  virtual const std::string& connection() const = 0;
  // Runs one statement as that user (fixtures).
  void exec(const std::string& sql) const { odbcExec(connection(), sql); }
  // The password in connection(), "" when there is none: it must never show.
  virtual std::string password() const { return ""; }
};

// A database of its own on the test PostgreSQL, whose default TimeZone is
// Asia/Tokyo (the source must set UTC itself).
class PgOdbcDb final : public OdbcDb {
 public:
  PgOdbcDb() : dsn_(testPgDsn()), name_(uniqueOdbcDbName("dw_odbc")) {
    pgExec(dsn_, "CREATE DATABASE " + name_);
    pgExec(dsn_, "ALTER DATABASE " + name_ + " SET TimeZone = 'Asia/Tokyo'");
    conn_ = pgOdbcConnection(dsn_, name_);
  }
  ~PgOdbcDb() override {
    try {
      pgExec(dsn_, "DROP DATABASE " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  std::string kind() const override { return "postgres"; }
  config::DialectId dialect() const override { return config::DialectId::Postgres; }
  const std::string& connection() const override { return conn_; }
  std::string password() const override { return parsePgUrl(dsn_).password; }

 private:
  std::string dsn_, name_, conn_;
};

class MariaOdbcDb final : public OdbcDb {
 public:
  MariaOdbcDb() : base_(testMariaDbOdbc()), name_(uniqueOdbcDbName("dw_odbc")) {
    odbcExec(base_, "CREATE DATABASE " + name_ + " CHARACTER SET utf8mb4");
    conn_ = odbcWithDatabase(base_, name_);
  }
  ~MariaOdbcDb() override {
    try {
      odbcExec(base_, "DROP DATABASE " + name_);
    } catch (const std::exception&) {
    }
  }
  std::string kind() const override { return "mariadb"; }
  config::DialectId dialect() const override { return config::DialectId::Mysql; }
  const std::string& connection() const override { return conn_; }
  std::string password() const override {
    static const std::regex re(R"((^|;)Pwd=([^;]*))", std::regex::icase);
    std::smatch m;
    return std::regex_search(base_, m, re) ? m[2].str() : "";
  }

 private:
  std::string base_, name_, conn_;
};

class SqliteOdbcDb final : public OdbcDb {
 public:
  SqliteOdbcDb() : conn_("Driver=SQLite3;Database=" + (dir_ / "w.db").string()) {}
  std::string kind() const override { return "sqlite"; }
  config::DialectId dialect() const override { return config::DialectId::Sqlite; }
  const std::string& connection() const override { return conn_; }

 private:
  TempDir dir_;
  std::string conn_;
};

// "postgres", "mariadb" or "sqlite".
inline std::unique_ptr<OdbcDb> makeOdbcDb(const std::string& kind) {
  if (kind == "postgres") return std::make_unique<PgOdbcDb>();
  if (kind == "mariadb") return std::make_unique<MariaOdbcDb>();
  return std::make_unique<SqliteOdbcDb>();
}

}  // namespace datawatch::testing
