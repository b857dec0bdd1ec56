#pragma once
// PgPool: the PostgreSQL state store's connections (internal to store/).
//
// - At most `size` connections, opened lazily; a call waits for a free one.
// - Every connection: SET statement_timeout, application_name 'datawatch'.
// - A connection that breaks (server restart, network) is discarded with every
//   idle one (they are most likely dead too); that call fails, the next reconnects.
// - Failed connects back off exponentially (100 ms doubling to 2 s); calls during
//   the backoff fail fast: "state store unreachable (retrying in …): <why>".
// - No call waits for ever on a server that stops answering: while run()'s
//   call (or a new connection's session set-up) waits, a server that sends
//   nothing for callLimit(), 2 x statement_timeout + 1 s (a server that
//   answers ends each statement within statement_timeout), has the socket cut
//   (core/socket_cutter.hpp: CutWatch; a call of many statements, each
//   answered, is never cut). The call then fails as "state store unreachable
//   (<what>): the server answered nothing for ..." -- or, if COMMIT was sent,
//   "commit outcome unknown" (it may have reached the server) -- and the
//   connection is discarded like any broken one; a call that returned before
//   the cut keeps its result. A call whose socket cannot be watched (no file
//   descriptor left to duplicate) is not run: "cannot watch the call". So a
//   frozen server (a stopped process, a paused
//   VM, a network that drops packets) is an unreachable store, never a thread
//   of the agent blocked for ever. Measured in real time (the watcher's
//   SystemClock), not on the injected clock: it bounds I/O. Connecting is
//   bounded by connect_timeout (10 s unless the DSN sets it), waiting for a
//   free connection by 4 x statement_timeout. libpqxx's reactivation is
//   inhibited: a broken connection never reopens unwatched.
// - Never throws: every pqxx exception becomes a Status whose message has the
//   DSN's password masked.
// Thread-safe.

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "core/query_watcher.hpp"
#include "core/redact.hpp"
#include "core/result.hpp"

namespace datawatch {

struct PgPoolOptions {
  size_t size = 4;
  Duration statement_timeout = std::chrono::seconds(5);
  Duration min_backoff = std::chrono::milliseconds(100);
  Duration max_backoff = std::chrono::seconds(2);
  const Clock* clock = nullptr;  // nullptr: the system clock
};

class PgPool {
 public:
  PgPool(const std::string& dsn, PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `fn` on a pooled connection. `what` names the operation in errors
  // ("state store <what> failed: ..."). fn's own Status is returned with the
  // DSN's password masked, whatever happened after it (a cut during the
  // ROLLBACK that followed keeps it: a fenced write stays "fenced").
  Status run(const std::string& what, const std::function<Status(pqxx::connection&)>& fn);
  // The same with its own limit (a migration that waits for another replica's lock).
  Status run(const std::string& what, Duration limit,
             const std::function<Status(pqxx::connection&)>& fn);
  // A call's limit: 2 x statement_timeout + 1 s.
  Duration callLimit() const;

  // `text` with the DSN's password (and any URL credential) masked.
  std::string redact(const std::string& text) const;
  const std::string& redactedDsn() const { return redacted_dsn_; }
  Duration statementTimeout() const { return options_.statement_timeout; }

 private:
  Result<std::unique_ptr<pqxx::connection>> acquire() EXCLUDES(mu_);
  Result<std::unique_ptr<pqxx::connection>> connect() EXCLUDES(mu_);
  void release(std::unique_ptr<pqxx::connection> c, bool broken) EXCLUDES(mu_);
  // One call of fn, its exceptions made a Status; `broken`: drop the connection;
  // `in_doubt`: a commit whose outcome is unknown; `answered`: fn returned, or
  // the server answered with an error (a cut after it does not hide it).
  struct Outcome {
    Status status = Status::Ok();
    bool broken = false;
    bool in_doubt = false;
    bool answered = false;
  };
  Outcome attempt(const std::string& what, pqxx::connection& c,
                  const std::function<Status(pqxx::connection&)>& fn) const;

  const std::string dsn_;
  const std::string redacted_dsn_;
  const Redactor redactor_;
  const PgPoolOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;
  // Cuts calls a server leaves unanswered. Real time, no `cancelled` flags:
  // no linger and no polls between deadlines (one wake-up per deadline).
  QueryWatcher watcher_{system_clock_, 0, "dw-store-watch", std::chrono::hours(1)};

  Mutex mu_;
  CondVar freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ GUARDED_BY(mu_);
  size_t open_ GUARDED_BY(mu_) = 0;  // idle + in use + being opened
  Duration backoff_ GUARDED_BY(mu_){0};
  MonoTime retry_after_ GUARDED_BY(mu_){};
  std::string last_connect_error_ GUARDED_BY(mu_);
};

}  // namespace datawatch
