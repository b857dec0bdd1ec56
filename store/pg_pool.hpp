#pragma once
// PgPool: the PostgreSQL state store's connections (internal to store/).
//
// - At most `size` connections, opened lazily; a call waits for a free one.
// - Every connection: SET statement_timeout, application_name 'datawatch'.
// - A connection that breaks (server restart, network) is discarded with every
//   idle one (they are most likely dead too); that call fails, the next reconnects.
// - Failed connects back off exponentially (100 ms doubling to 2 s); calls during
//   the backoff fail fast: "state store unreachable (retrying in …): <why>".
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
  // ("state store <what> failed: ..."). fn's own Status is returned as is.
  Status run(const std::string& what, const std::function<Status(pqxx::connection&)>& fn);

  // `text` with the DSN's password (and any URL credential) masked.
  std::string redact(const std::string& text) const;
  const std::string& redactedDsn() const { return redacted_dsn_; }
  Duration statementTimeout() const { return options_.statement_timeout; }

 private:
  Result<std::unique_ptr<pqxx::connection>> acquire() EXCLUDES(mu_);
  Result<std::unique_ptr<pqxx::connection>> connect() EXCLUDES(mu_);
  void release(std::unique_ptr<pqxx::connection> c, bool broken) EXCLUDES(mu_);

  const std::string dsn_;
  const std::string redacted_dsn_;
  const Redactor redactor_;
  const PgPoolOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;

  Mutex mu_;
  CondVar freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ GUARDED_BY(mu_);
  size_t open_ GUARDED_BY(mu_) = 0;  // idle + in use + being opened
  Duration backoff_ GUARDED_BY(mu_){0};
  MonoTime retry_after_ GUARDED_BY(mu_){};
  std::string last_connect_error_ GUARDED_BY(mu_);
};

}  // namespace datawatch
