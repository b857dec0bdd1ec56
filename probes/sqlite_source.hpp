#pragma once
// SqlSource over a SQLite file: read-only connections (SQLITE_OPEN_READONLY plus
// PRAGMA query_only), a busy timeout, bound parameters, and a deadline enforced
// with a progress handler that interrupts the statement.
//
// Pool invariant: a connection is in idle_ only while no statement of it is alive,
// no progress handler is set on it and no transaction is open on it (autocommit);
// run() ensures all three before query() gives the connection back, so a second
// worker can never share a running connection (issue 15, defect 10) nor inherit
// an old snapshot. A connection whose query failed is closed, not pooled.
// The progress handler also watches QueryLimits::cancelled: a cancelled query
// stops within milliseconds.

#include <memory>
#include <vector>

#include "core/mutex.hpp"
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
  const Dialect& dialect() const override { return dialectFor(DialectId::Sqlite); }
  std::string placeholder(int n) const override { return numberedMarker('?', n); }

 private:
  Result<SqliteConnection> open();
  SqliteConnection takeIdle() EXCLUDES(mu_);
  void giveBack(SqliteConnection conn) EXCLUDES(mu_);
  // Runs one statement on `db` in autocommit (its own read transaction); leaves
  // no statement, no progress handler and no open transaction behind (a
  // statement that opens one, BEGIN or SAVEPOINT, is refused).
  Result<QueryResult> run(sqlite3* db, const std::string& sql, const std::vector<SqlValue>& params,
                          const QueryLimits& limits);
  std::string name_;
  config::SqliteSourceConfig cfg_;
  size_t max_idle_;
  const Clock& clock_;
  Mutex mu_;
  std::vector<SqliteConnection> idle_ GUARDED_BY(mu_);
};

}  // namespace datawatch
