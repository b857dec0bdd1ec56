#pragma once
// SqlSource over PostgreSQL (and Redshift, which speaks its protocol), with libpq.
//
// - A pool of at most `max_connections` connections, opened on demand; a broken
//   connection is dropped, and after a failure to connect new attempts back off
//   exponentially (1 s doubling to 60 s) so a dead database is not hammered.
// - Every connection starts read-only: default_transaction_read_only=on is set
//   right after connecting, before any probe query, so no path (built-in probes
//   over a view whose function writes included) can write.
// - Sessions default to READ ONLY transactions and the source's statement_timeout.
//   User-written SQL (sql probes, filters) runs in an explicit BEGIN READ ONLY
//   transaction (with SET LOCAL statement_timeout when the probe's deadline is
//   nearer), after which the session defaults are restored; a SELECT datawatch
//   built itself runs as one statement (one round trip) when no shorter timeout
//   is needed. Either way nothing can write.
// - A statement still running at the probe's deadline, or when QueryLimits::cancelled
//   is set (agent stop), is interrupted within ~100 ms (the QueryWatcher's
//   thread): its socket is shut down, so the query returns "timed out" /
//   "cancelled" at once whatever the server's state (frozen, unreachable: a
//   dead database never holds a probe past its deadline), and a cancel request
//   goes to the server from the source's cancel thread (PQcancel waits for the
//   server without a timeout: on the watcher's thread, one frozen server held
//   every later deadline of the source). The connection is discarded, never pooled.
// - Sessions run with TimeZone UTC, client_encoding UTF8 (unless the database is
//   SQL_ASCII), application_name=datawatch and, unless the DSN says otherwise,
//   connect_timeout=10; TLS and other libpq options pass through.
// - queryBatch (issue 19) sends the statements datawatch built (no user SQL)
//   together in libpq's pipeline mode: one connection, one Sync after the last
//   (one implicit read-only transaction, as each would have had), one round
//   trip and one wake-up for the lot. Every answer given is the one query()
//   would give. Left empty, to be asked on their own: user SQL, the statements
//   after an error (the pipeline aborts them), and whatever a cut left
//   unanswered. A cut (kPipelineBudget, the earliest deadline, the stop)
//   interrupts the connection as above (a cancel that lands between two
//   statements is ignored by the server; the shutdown is not); it is dropped.
// - Failures (connection refused, authentication, timeout, missing table or
//   column, permission denied, a write attempt) are Status errors with the DSN
//   password redacted. Thread-safe.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/background_queue.hpp"
#include "core/mutex.hpp"
#include "core/query_watcher.hpp"
#include "probes/source.hpp"

namespace datawatch {

class PgConnection;  // one libpq connection (postgres_source.cpp)

class PostgresSource final : public SqlSource {
 public:
  PostgresSource(std::string name, config::PostgresSourceConfig cfg, int max_connections,
                 Duration statement_timeout, const Clock& clock,
                 config::DialectId dialect = config::DialectId::Postgres);
  ~PostgresSource() override;

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Postgres; }
  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                            const QueryLimits& limits) override;
  const Dialect& dialect() const override { return dialect_; }
  std::string placeholder(int n) const override { return numberedMarker('$', n); }
  // See the top: pipelines of at most kMaxPipeline statements.
  BatchAnswers queryBatch(const std::vector<BatchQuery>& batch) override;
  // The postgres dialect (not Redshift: untested there).
  bool batchesQueries() const override;
  // A blocking connection that sends many statements before reading could
  // deadlock with a server whose output buffer is full (libpq's pipeline docs).
  static constexpr size_t kMaxPipeline = 64;
  // A pipeline still unanswered after this is cut (its statements answered at
  // the slowest one's pace; batched probes took under 100 ms last time); what
  // it had not answered is left to be asked on its own.
  static constexpr Duration kPipelineBudget{std::chrono::seconds(1)};
  // Cancel requests waiting for the cancel thread at most (more are dropped:
  // the server's statement_timeout ends those statements anyway — within 1 s
  // of a lone query's deadline, the session's for a pipeline's), and how long
  // the source's destruction lets them reach the server (a stop's cancels
  // take a millisecond each on a server that answers) before it leaves the
  // thread to them: short, as sources are destroyed one after another at a
  // stop or reload and a frozen server's cancel never returns.
  static constexpr size_t kMaxPendingCancels = 64;
  static constexpr Duration kCancelDrain{std::chrono::milliseconds(250)};

  // The DSN with application_name and connect_timeout added (for tests).
  static std::string effectiveDsn(const std::string& dsn);

 private:
  // One statement's outcome, and whether its connection may go back to the pool.
  struct Attempt {
    Result<QueryResult> result;
    bool reusable;
  };
  // A new connection; its session set-up is watched up to `deadline` and
  // `cancelled` as a query is (PQconnectdb itself is bounded by connect_timeout).
  Result<std::unique_ptr<PgConnection>> connect(MonoTime deadline,
                                                const std::atomic<bool>* cancelled) EXCLUDES(mu_);
  // An idle pooled connection, or a new one.
  Result<std::unique_ptr<PgConnection>> acquire(MonoTime deadline,
                                                const std::atomic<bool>* cancelled) EXCLUDES(mu_);
  // Whether a statement with `timeout` left needs SET LOCAL statement_timeout.
  bool needsShorterTimeout(Duration timeout) const;
  // A statement datawatch built, not cancelled, with time left: it may go in a pipeline.
  bool pipelinable(const QueryLimits& limits) const;
  // The statements `chunk` (indices into `batch`) in one pipeline on one
  // connection, under one QueryWatcher watch at min(kPipelineBudget, their
  // earliest deadline); fills the answers it got for sure, leaves the others.
  void pipeline(const std::vector<BatchQuery>& batch, const std::vector<size_t>& chunk,
                BatchAnswers& answers);
  // Sends and reads one pipeline; true when the connection is idle again.
  bool exchange(PgConnection& conn, const std::vector<BatchQuery>& batch,
                const std::vector<size_t>& chunk, BatchAnswers& answers);
  std::unique_ptr<PgConnection> takeIdle() EXCLUDES(mu_);
  void release(std::unique_ptr<PgConnection> c) EXCLUDES(mu_);
  Attempt execute(PgConnection& conn, const std::string& sql, const std::vector<SqlValue>& params,
                  bool generated, Duration timeout);
  // TimeZone UTC, the source's statement_timeout, transactions READ ONLY by default.
  std::string sessionDefaults() const;
  // Session defaults and client encoding on a new connection; the failure, if any.
  std::optional<std::string> setUpSession(PgConnection& c) const;

  std::string name_;
  const Dialect& dialect_;  // postgres or redshift
  std::string dsn_;
  size_t max_idle_;
  Duration statement_timeout_;
  const Clock& clock_;
  Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ GUARDED_BY(mu_);
  MonoTime retry_after_ GUARDED_BY(mu_){};
  Duration backoff_ GUARDED_BY(mu_){0};
  std::string last_connect_error_ GUARDED_BY(mu_);
  BackgroundQueue cancels_{"dw-pg-cancel", kMaxPendingCancels, kCancelDrain};
  QueryWatcher watcher_;  // declared last: destroyed (joined) first, before cancels_
};

}  // namespace datawatch
