#pragma once
// One database under test: SQLite in a temp dir, or a fresh schema of the test
// PostgreSQL (dropped on destruction). The table-probe tests run the same cases
// on both.

#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "tests/support/test_support.hpp"

namespace datawatch::testing {

class Db {
 public:
  virtual ~Db() = default;
  virtual void exec(const std::string& sql) = 0;
  virtual std::string table(const std::string& name) const = 0;  // as written in probe config
  virtual std::string sourceYaml() const = 0;
  virtual std::string timestampType() const = 0;
  virtual std::map<std::string, std::string> env() const { return {}; }
};

class SqliteDbUnderTest final : public Db {
 public:
  SqliteDbUnderTest() : db_(dir_ / "w.db") {}
  void exec(const std::string& sql) override { db_.exec(sql); }
  std::string table(const std::string& name) const override { return name; }
  std::string sourceYaml() const override {
    return "{type: sqlite, path: " + (dir_ / "w.db").string() + "}";
  }
  std::string timestampType() const override { return "text"; }

 private:
  TempDir dir_;
  SqliteDb db_;
};

class PgDbUnderTest final : public Db {
 public:
  PgDbUnderTest() : dsn_(testPgDsn()) {
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
  std::string sourceYaml() const override { return "{type: postgres, dsn: \"${PGDSN}\"}"; }
  std::string timestampType() const override { return "timestamptz"; }
  std::map<std::string, std::string> env() const override { return {{"PGDSN", dsn_}}; }

 private:
  std::string dsn_;
  std::string schema_;
};

// "sqlite" or "postgres".
inline std::unique_ptr<Db> makeDb(const std::string& kind) {
  if (kind == "sqlite") return std::make_unique<SqliteDbUnderTest>();
  return std::make_unique<PgDbUnderTest>();
}

}  // namespace datawatch::testing
