#pragma once
// SqlSource over ODBC (unixODBC): any warehouse with an ODBC driver, speaking
// the SQL of the source's configured Dialect.
//
// Contract (on top of SqlSource's, source.hpp):
// - Handles are owned by small RAII wrappers (odbc_handle.hpp): an environment
//   per source, a connection per pooled session, a statement per query; nothing
//   leaks on any path, errors included.
// - A pool of at most `max_connections` connections, opened on demand with the
//   source's connection string or DSN; a broken connection is discarded; after a
//   failure to connect, new attempts back off (1 s doubling to 60 s).
// - Read-only: SQL_ATTR_ACCESS_MODE = SQL_MODE_READ_ONLY on every connection
//   (a hint: psqlODBC and sqliteodbc ignore it; MariaDB's driver runs SET
//   SESSION TRANSACTION READ ONLY),
//   plus the dialect's read-only session (Dialect::sessionSetup: e.g. MySQL's
//   SET SESSION TRANSACTION READ ONLY, PostgreSQL's default_transaction_read_only,
//   SQLite's PRAGMA query_only) and UTC, run right after connecting, before any
//   probe query; a connection whose setup fails is not used. Connecting waits
//   at most 10 s (SQL_ATTR_LOGIN_TIMEOUT).
// - Parameters: probes write the markers placeholder(n) returns ("$n"), in any
//   order and repeated; query() rewrites them, outside string literals, quoted
//   identifiers and comments, into plain "?" and binds the values in textual
//   order with SQLBindParameter (never spliced into the SQL): int64 as
//   SQL_C_SBIGINT/SQL_BIGINT, text as SQL_C_CHAR/SQL_VARCHAR (UTF-8), NULL as a
//   NULL varchar, double as SQL_C_DOUBLE/SQL_DOUBLE -- except on psqlODBC, which
//   sends an SQL_DOUBLE untyped (so `int_col < ?` with 1.5 fails: "invalid input
//   syntax for type integer") but casts an SQL_DECIMAL to ::numeric, full
//   precision: there doubles go as SQL_DECIMAL. psqlODBC casts SQL_BIGINT to
//   ::int8 and leaves text untyped (`timestamptz_col >= ?` with an ISO text
//   works, like the libpq source's text parameters). No connection-string option
//   is needed.
// - One statement per query: a ';' followed by more SQL (outside literals and
//   comments) is refused before anything runs (psqlODBC would run each
//   statement of a list, "COMMIT; SET ... read_only = off; INSERT ..." included).
// - After a statement with user-written SQL (QueryLimits::generated false) the
//   session setup runs again before the connection is pooled, so a statement
//   that changed the session (SET SESSION TRANSACTION READ WRITE, PRAGMA
//   query_only=0, set_config) cannot leave it writable for the next one.
// - Deadlines: SQL_ATTR_QUERY_TIMEOUT from the probe's deadline (whole seconds,
//   rounded up), and SQLCancel (MariaDB/MySQL drivers: KILL QUERY <session id>
//   from a second connection, as their SQLCancel does, without its unlocking of
//   the executing thread's mutex) from a QueryWatcher at the deadline (or the
//   source's statement_timeout, whichever is first) or when
//   QueryLimits::cancelled is set (shutdown), so a driver that ignores the
//   timeout (MariaDB's SLEEP, SQLite) is still stopped; the connection of a
//   cancelled or timed-out statement is discarded, never pooled.
// - Results, by the type SQLDescribeCol reports: integer types (and booleans a
//   driver reports as text, psqlODBC's BoolsAsChar) as int64 (text parsed
//   exactly; a value that does not fit, an unsigned 2^64-1, becomes a double,
//   and a non-number -- SQLite's dynamic typing -- text); SQL_BIT as 0/1;
//   floating and decimal types as double (SQL_C_DOUBLE); binary types as their
//   raw bytes made valid UTF-8; wide types (SQL_WCHAR...) fetched as UTF-16 and
//   converted; everything else (text, dates, timestamps, intervals, UUIDs) as the
//   driver's SQL_C_CHAR text through toValidUtf8 (U+FFFD for each invalid byte).
//   The narrow SQL_C_CHAR is UTF-8 on psqlODBC, MariaDB Unicode and SQLite3
//   whatever the process locale (see odbc_handle.hpp for why not the W API).
// - Errors carry the SQLSTATE and the driver's message (diagnostic records),
//   with the connection string's secrets redacted (by value and by shape), and
//   read like the PostgreSQL source's: "cannot connect (ODBC): ...",
//   "query timed out ...", "query failed: table does not exist (SQLSTATE ...)",
//   "permission denied: ...", "query refused: probes may only read (...)".
// Thread-safe.

#include <memory>
#include <vector>

#include "core/mutex.hpp"
#include "core/query_watcher.hpp"
#include "core/redact.hpp"
#include "probes/source.hpp"

namespace datawatch {

struct OdbcConnection;  // owns an SQLHDBC (odbc_source.cpp)
class OdbcEnvironment;  // owns the SQLHENV (odbc_handle.hpp)
class OdbcStmt;

class OdbcSource final : public SqlSource {
 public:
  OdbcSource(std::string name, config::OdbcSourceConfig cfg, config::DialectId dialect,
             int max_connections, Duration statement_timeout, const Clock& clock);
  ~OdbcSource() override;

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Odbc; }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                            const QueryLimits& limits) override;
  const Dialect& dialect() const override { return dialect_; }
  std::string placeholder(int n) const override { return numberedMarker('$', n); }

  // "$n" markers -> "?", with the parameter order they imply (1-based indexes
  // into the caller's params, one per "?" in textual order). Skipped: '...'
  // literals ('' escapes; backslash escapes are not recognised), $tag$...$tag$
  // strings, "..." / `...` / [...] quoted identifiers (a '[' right after an
  // identifier character, ')' or ']' is a subscript, ARRAY[$1]), -- and /* */
  // comments; a '$' right after an identifier character is not a marker (a$1).
  // An error names a marker beyond `param_count` ($0 included), or a second
  // statement. Exposed for tests.
  struct Rewritten {
    std::string sql;
    std::vector<int> order;
  };
  // `escapes`: where the dialect reads a backslash as escaping the next character
  // (Dialect::backslashEscapes), so `'O\'Brien'` is one literal.
  // User-written SQL (a sql probe's query; QueryLimits::generated false) must be
  // one query: it starts with SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN or
  // DESCRIBE, and has no INTO (SELECT ... INTO creates tables or files). Checked
  // before it runs, on top of the read-only session: several warehouses have no
  // read-only session, and none may keep a transaction, SET, USE or COPY a user
  // statement would leave on a pooled connection. Exposed for tests.
  static Status checkUserStatement(const std::string& sql);
  static Result<Rewritten> rewritePlaceholders(const std::string& sql, size_t param_count,
                                               BackslashEscapes escapes = {});

 private:
  // One statement's outcome, and whether its connection may go back to the pool.
  struct Attempt {
    Result<QueryResult> result;
    bool reusable;
    bool lost_connection = false;  // SQLSTATE 08xxx: the connection was gone
  };
  // One run of `sql` on `conn` under the watcher; `fired` says whether it was cancelled.
  Attempt runOnce(OdbcConnection& conn, const Rewritten& sql, const std::vector<SqlValue>& params,
                  MonoTime deadline, const QueryLimits& limits, QueryWatcher::Reason& fired);
  Result<std::unique_ptr<OdbcConnection>> connect() EXCLUDES(mu_);
  // The dialect's session setup; with `reset`, its session reset first (after user SQL).
  Status setUpSession(OdbcConnection& conn, bool reset = false) const;
  // MariaDB / MySQL: the session's CONNECTION_ID() (0 when unknown), and KILL
  // QUERY of it from a second connection (the watcher thread's cancel).
  int64_t sessionId(OdbcConnection& conn) const;
  void killQuery(int64_t id) const;
  std::unique_ptr<OdbcConnection> takeIdle() EXCLUDES(mu_);
  void release(std::unique_ptr<OdbcConnection> c) EXCLUDES(mu_);
  Attempt execute(OdbcConnection& conn, const OdbcStmt& stmt, const Rewritten& sql,
                  const std::vector<SqlValue>& params) const;
  // A failed call's diagnostics as a probe-facing message, redacted.
  Attempt failure(const OdbcStmt& stmt) const;

  std::string name_;
  std::string connection_string_;  // cfg.connection, or DSN={cfg.dsn}
  Redactor redactor_;              // the connection string's secret values
  const Dialect& dialect_;
  size_t max_idle_;
  Duration statement_timeout_;
  const Clock& clock_;
  std::unique_ptr<OdbcEnvironment> env_;  // null when unixODBC failed: every query says so
  std::string env_error_;
  Mutex mu_;
  std::vector<std::unique_ptr<OdbcConnection>> idle_ GUARDED_BY(mu_);
  MonoTime retry_after_ GUARDED_BY(mu_){};
  Duration backoff_ GUARDED_BY(mu_){0};
  std::string last_connect_error_ GUARDED_BY(mu_);
  QueryWatcher watcher_;  // declared last: destroyed (joined) first
};

}  // namespace datawatch
