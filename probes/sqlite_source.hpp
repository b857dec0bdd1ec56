#pragma once
// SqlSource over a SQLite file: read-only connections (SQLITE_OPEN_READONLY plus
// PRAGMA query_only), a busy timeout, bound parameters, and a deadline enforced
// with a progress handler that interrupts the statement.

#include <memory>
#include <mutex>
#include <vector>

#include "probes/source.hpp"
#include "probes/sqlite_handle.hpp"

namespace datawatch {

class SqliteSource final : public SqlSource {
 public:
  SqliteSource(std::string name, config::SqliteSourceConfig cfg, int max_connections,
               const Clock& clock);

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Sqlite; }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                            const QueryLimits& limits) override;
  SqlDialect dialect() const override { return SqlDialect::Sqlite; }
  std::string placeholder(int n) const override { return "?" + std::to_string(n); }

 private:
  Result<SqliteConnection> open();
  std::string name_;
  config::SqliteSourceConfig cfg_;
  size_t max_idle_;
  const Clock& clock_;
  std::mutex mu_;
  std::vector<SqliteConnection> idle_;  // guarded by mu_
};

}  // namespace datawatch
