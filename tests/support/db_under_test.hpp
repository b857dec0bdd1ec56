#pragma once
// One database under test, reached by a native source or through ODBC:
//   "sqlite"         SQLite in a temp dir (the sqlite source)
//   "postgres"       a fresh schema of the test PostgreSQL (libpq)
//   "odbc-sqlite"    the same SQLite file through sqliteodbc ("SQLite3")
//   "odbc-postgres"  a fresh schema of the test PostgreSQL through psqlODBC
//   "odbc-mariadb"   a fresh database on the test MariaDB through MariaDB
//                    Connector/ODBC (DATAWATCH_TEST_MARIADB_ODBC)
// each dropped on destruction. The table-probe tests run the same cases, with
// the same expected values, on every kind (dbKinds()); fixtures write SQL that
// all of them accept, using timestampType()/timestamp() for time columns and
// analyze() for catalog estimates. Fixtures are arranged natively (sqlite3,
// psql) where there is a native client, so only the source goes through ODBC.

#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/odbc_under_test.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

class Db {
 public:
  virtual ~Db() = default;
  // Runs fixture SQL: one statement or several separated by ';'.
  virtual void exec(const std::string& sql) = 0;
  virtual std::string table(const std::string& name) const = 0;  // as written in probe config
  virtual std::string sourceYaml() const = 0;
  // The column type of time columns, and a UTC instant written as its literal
  // ("2026-11-26T09:55:00Z" -> '2026-11-26T09:55:00Z', or '2026-11-26 09:55:00'
  // where the database refuses the T and Z: MariaDB's DATETIME).
  virtual std::string timestampType() const = 0;
  virtual std::string timestamp(const std::string& iso_utc) const { return "'" + iso_utc + "'"; }
  // Refreshes the catalog's row-count estimate of table `name`.
  virtual void analyze(const std::string& name) { exec("ANALYZE " + name); }
  virtual std::map<std::string, std::string> env() const { return {}; }
};

// Splits fixture SQL at the ';' outside '...', "..." and `...`.
inline std::vector<std::string> splitStatements(const std::string& sql) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (const char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == ';') {
      if (cur.find_first_not_of(" \t\n") != std::string::npos) out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (cur.find_first_not_of(" \t\n") != std::string::npos) out.push_back(cur);
  return out;
}

// `odbc`: the source reaches the file through sqliteodbc.
class SqliteDbUnderTest final : public Db {
 public:
  explicit SqliteDbUnderTest(bool odbc = false) : db_(dir_ / "w.db"), odbc_(odbc) {}
  void exec(const std::string& sql) override { db_.exec(sql); }
  std::string table(const std::string& name) const override { return name; }
  std::string sourceYaml() const override {
    const std::string path = (dir_ / "w.db").string();
    if (odbc_)
      return "{type: odbc, dialect: sqlite, connection: \"Driver=SQLite3;Database=" + path + "\"}";
    return "{type: sqlite, path: " + path + "}";
  }
  std::string timestampType() const override { return "text"; }

 private:
  TempDir dir_;
  SqliteDb db_;
  bool odbc_;
};

// `odbc`: the source reaches the schema through psqlODBC.
class PgDbUnderTest final : public Db {
 public:
  explicit PgDbUnderTest(bool odbc = false) : dsn_(testPgDsn()), odbc_(odbc) {
    std::random_device rd;
    schema_ = "dw_tp" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
    pgExec(dsn_, "CREATE SCHEMA " + schema_);
  }
  ~PgDbUnderTest() override {
    try {
      pgExec(dsn_, "DROP SCHEMA " + schema_ + " CASCADE");
    } catch (const std::exception&) {
    }
  }
  void exec(const std::string& sql) override {
    pgExec(dsn_, "SET search_path TO " + schema_ + "; " + sql);
  }
  std::string table(const std::string& name) const override { return schema_ + "." + name; }
  std::string sourceYaml() const override {
    if (odbc_) return "{type: odbc, dialect: postgres, connection: \"${ODBCCONN}\"}";
    return "{type: postgres, dsn: \"${PGDSN}\"}";
  }
  std::string timestampType() const override { return "timestamptz"; }
  std::map<std::string, std::string> env() const override {
    if (odbc_) return {{"ODBCCONN", pgOdbcConnection(dsn_, parsePgUrl(dsn_).database)}};
    return {{"PGDSN", dsn_}};
  }

 private:
  std::string dsn_;
  bool odbc_;
  std::string schema_;
};

// A database of its own on the test MariaDB; tables are named database.table.
// Time columns are DATETIME(6): a naive timestamp the source reads as UTC.
class MariaDbUnderTest final : public Db {
 public:
  void exec(const std::string& sql) override {
    for (const auto& s : splitStatements(sql)) db_.exec(s);
  }
  std::string table(const std::string& name) const override { return database() + "." + name; }
  std::string sourceYaml() const override {
    return "{type: odbc, dialect: mysql, connection: \"${ODBCCONN}\"}";
  }
  std::string timestampType() const override { return "DATETIME(6)"; }
  std::string timestamp(const std::string& iso_utc) const override {
    static const std::regex kIso(R"(^(\d{4}-\d\d-\d\d)T([0-9:.]+)Z$)");
    return "'" + std::regex_replace(iso_utc, kIso, "$1 $2") + "'";
  }
  void analyze(const std::string& name) override { exec("ANALYZE TABLE " + table(name)); }
  std::map<std::string, std::string> env() const override {
    return {{"ODBCCONN", db_.connection()}};
  }
  std::string password() const { return db_.password(); }

 private:
  std::string database() const {
    static const std::regex kDb(R"((^|;)Database=([^;]*))", std::regex::icase);
    std::smatch m;
    const std::string& c = db_.connection();
    return std::regex_search(c, m, kDb) ? m[2].str() : "";
  }
  MariaOdbcDb db_;
};

// The probes of `probes_yaml` (a YAML list body) against source "db" of the
// database under test, run by a ProbeHarness at its fixed start time.
struct DbProbes : ProbeHarness {
  DbProbes(const Db& db, const std::string& probes_yaml, StateStore* store = nullptr)
      : ProbeHarness(
            loadTestConfig("sources:\n  db: " + db.sourceYaml() + "\nprobes:\n" + probes_yaml,
                           "/tmp/t.yaml", db.env()),
            *parseTimestamp("2026-11-26T10:00:00Z"), store) {}
};

// A YAML single-quoted scalar (a hostile name in a probe's config).
inline std::string yamlQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The kinds every table-probe case runs on.
inline std::vector<std::string> dbKinds() {
  return {"sqlite", "postgres", "odbc-sqlite", "odbc-postgres", "odbc-mariadb"};
}

inline std::unique_ptr<Db> makeDb(const std::string& kind) {
  if (kind == "sqlite") return std::make_unique<SqliteDbUnderTest>();
  if (kind == "postgres") return std::make_unique<PgDbUnderTest>();
  if (kind == "odbc-sqlite") return std::make_unique<SqliteDbUnderTest>(true);
  if (kind == "odbc-postgres") return std::make_unique<PgDbUnderTest>(true);
  if (kind == "odbc-mariadb") return std::make_unique<MariaDbUnderTest>();
  throw std::invalid_argument("makeDb: unknown kind " + kind);
}

}  // namespace datawatch::testing
