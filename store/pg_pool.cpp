#include "store/pg_pool.hpp"

#include <algorithm>

#include "core/duration.hpp"
#include "core/pg_text.hpp"
#include "core/pqxx_session.hpp"
#include "core/socket_cutter.hpp"
#include "probes/postgres_source.hpp"

namespace datawatch {
namespace {

// The password of a URL ("postgres://u:pw@h/db") or key=value DSN, or "".
std::string dsnPassword(const std::string& dsn) {
  if (auto scheme = dsn.find("://"); scheme != std::string::npos) {
    const auto at = dsn.find('@', scheme + 3);
    const auto slash = dsn.find('/', scheme + 3);
    const auto colon = dsn.find(':', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash) &&
        colon != std::string::npos && colon < at)
      return dsn.substr(colon + 1, at - colon - 1);
  }
  if (auto p = dsn.find("password="); p != std::string::npos) {
    const auto start = p + 9;
    const auto end = dsn.find_first_of(" &", start);
    return dsn.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  return "";
}

bool connectionLost(const pqxx::connection& c, const std::string& sqlstate) {
  // Class 08: connection exception; 57P01-57P03: the server is shutting down.
  return !c.is_open() || sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P0", 0) == 0;
}

}  // namespace

PgPool::PgPool(const std::string& dsn, PgPoolOptions options)
    : dsn_(PostgresSource::effectiveDsn(dsn)),
      redacted_dsn_(Redactor::redactDsn(dsn)),
      redactor_(std::vector<std::string>{dsnPassword(dsn)}),
      options_(options),
      clock_(options.clock ? *options.clock : system_clock_) {}

PgPool::~PgPool() {
  MutexLock lock(mu_);
  idle_.clear();
}

std::string PgPool::redact(const std::string& text) const {
  return Redactor::redactDsn(redactor_.redact(text));
}

Result<std::unique_ptr<pqxx::connection>> PgPool::connect() {
  using R = Result<std::unique_ptr<pqxx::connection>>;
  {
    MutexLock lock(mu_);
    const MonoTime now = clock_.monotonic();
    if (now < retry_after_) {
      return R::Error("state store unreachable (retrying in " +
                      humanDuration(std::chrono::duration_cast<Duration>(retry_after_ - now)) +
                      "): " + last_connect_error_);
    }
  }
  try {
    auto c = std::make_unique<pqxx::connection>(dsn_);
    setUpWatched(watcher_, *c, system_clock_.monotonic(), callLimit(), [&] {
      pqxx::nontransaction setup(*c);
      // A session paused or cut off inside a transaction (a fenced write holds
      // the leader row FOR SHARE) is ended by the server, so it cannot block a
      // takeover for longer than the statement timeout.
      const std::string ms = std::to_string(options_.statement_timeout.count());
      setup.exec("SET statement_timeout = " + ms + "; SET idle_in_transaction_session_timeout = " +
                 ms + "; SET application_name = 'datawatch'");
      setup.commit();
    });
    MutexLock lock(mu_);
    backoff_ = Duration{0};
    retry_after_ = MonoTime{};
    return R(std::move(c));
  } catch (const std::exception& e) {
    const std::string msg = redact(pgFirstLine(e.what()));
    MutexLock lock(mu_);
    backoff_ =
        backoff_.count() == 0 ? options_.min_backoff : std::min(backoff_ * 2, options_.max_backoff);
    retry_after_ = clock_.monotonic() + backoff_;
    last_connect_error_ = msg;
    return R::Error("state store unreachable (retrying in " + humanDuration(backoff_) +
                    "): cannot connect to " + redacted_dsn_ + ": " + msg);
  }
}

Result<std::unique_ptr<pqxx::connection>> PgPool::acquire() {
  {
    MutexLock lock(mu_);
    // A call waits for a free connection; statements end within their timeout.
    const bool free = freed_.waitFor(lock, options_.statement_timeout * 4, [&]() REQUIRES(mu_) {
      return !idle_.empty() || open_ < options_.size;
    });
    if (!free)
      return Result<std::unique_ptr<pqxx::connection>>::Error(
          "state store busy: all " + std::to_string(options_.size) + " connections in use");
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  auto c = connect();
  if (!c) {
    MutexLock lock(mu_);
    --open_;
    freed_.notifyOne();
  }
  return c;
}

void PgPool::release(std::unique_ptr<pqxx::connection> c, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> dead;
  {
    MutexLock lock(mu_);
    if (broken) {
      dead = std::move(idle_);
      idle_.clear();
      open_ -= dead.size() + 1;
    } else {
      idle_.push_back(std::move(c));
    }
    freed_.notifyAll();
  }
  // `c` and `dead` close outside the lock.
}

Duration PgPool::callLimit() const {
  return silenceLimit(options_.statement_timeout);
}

Status PgPool::run(const std::string& what, const std::function<Status(pqxx::connection&)>& fn) {
  return run(what, callLimit(), fn);
}

Status PgPool::run(const std::string& what, Duration limit,
                   const std::function<Status(pqxx::connection&)>& fn) {
  auto acquired = acquire();
  if (!acquired) return acquired.status();
  std::unique_ptr<pqxx::connection> c = std::move(acquired).value();
  Outcome out;
  {
    CutWatch watch(watcher_, c->sock(), system_clock_.monotonic(), limit);
    if (!watch.armed()) {
      release(std::move(c), false);
      return Status::Error("state store " + what +
                           " failed: cannot watch the call (no file "
                           "descriptor left)");
    }
    out = attempt(what, *c, fn);
    if (watch.finish()) {
      // A call that returned (or that the server answered with an error)
      // before the cut keeps its result; one the cut ended says so, except a
      // commit whose outcome is unknown (it may have reached the server).
      if (!out.answered && !out.in_doubt)
        out.status = Status::Error("state store unreachable (" + what +
                                   "): the server answered nothing for " + humanDuration(limit) +
                                   "; the connection was dropped");
      out.broken = true;
    }
  }
  release(std::move(c), out.broken);
  if (out.status.ok()) return out.status;
  return Status::Error(redact(out.status.message()));
}

PgPool::Outcome PgPool::attempt(const std::string& what, pqxx::connection& c,
                                const std::function<Status(pqxx::connection&)>& fn) const {
  try {
    return {fn(c), false, false, true};
  } catch (const pqxx::broken_connection& e) {
    return {Status::Error("state store unreachable (" + what + "): " + pgFirstLine(e.what())), true,
            false};
  } catch (const pqxx::in_doubt_error& e) {
    return {
        Status::Error("state store " + what + ": commit outcome unknown: " + pgFirstLine(e.what())),
        true, true};
  } catch (const pqxx::sql_error& e) {
    const bool lost = connectionLost(c, e.sqlstate());
    if (e.sqlstate() == "57014")
      return {Status::Error("state store " + what + " timed out (statement_timeout " +
                            humanDuration(options_.statement_timeout) + ")"),
              lost, false, !lost};
    return {Status::Error((lost ? "state store unreachable (" + what + "): "
                                : "state store " + what + " failed: ") +
                          pgFirstLine(e.what()) +
                          (e.sqlstate().empty() ? "" : " [SQLSTATE " + e.sqlstate() + "]")),
            lost, false, !lost};
  } catch (const std::exception& e) {
    return {Status::Error("state store " + what + " failed: " + pgFirstLine(e.what())),
            !c.is_open(), false};
  }
}

}  // namespace datawatch
