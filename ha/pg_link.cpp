#include "ha/pg_link.hpp"

#include <algorithm>

#include "core/duration.hpp"
#include "core/pg_text.hpp"
#include "core/pqxx_session.hpp"
#include "core/redact.hpp"
#include "core/socket_cutter.hpp"

namespace datawatch {

std::string fleetRedact(const std::string& text) {
  return Redactor::redactDsn(text);
}

std::string pgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

PgLink::PgLink(std::string dsn, Duration statement_timeout, Prepared prepared,
               QueryWatcher& watcher)
    : dsn_(pgDsnWithDefaults(
          dsn, "datawatch-fleet",
          static_cast<int>(std::clamp<int64_t>(
              std::chrono::duration_cast<std::chrono::seconds>(statement_timeout).count(), 2,
              10)))),
      statement_timeout_(statement_timeout),
      prepared_(std::move(prepared)),
      watcher_(watcher) {}

PgLink::~PgLink() = default;

Duration PgLink::callLimit() const {
  return silenceLimit(statement_timeout_);
}

Status PgLink::connect() {
  if (conn_ && conn_->is_open()) return Status::Ok();
  conn_.reset();
  const MonoTime now = std::chrono::steady_clock::now();
  if (now < retry_after_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(retry_after_ - now);
    return Status::Error("fleet database unreachable (retrying in " + std::to_string(left.count()) +
                         " ms): " + last_connect_error_);
  }
  try {
    auto c = std::make_unique<pqxx::connection>(dsn_);
    // A lock held by a paused or cut-off session (the leader row, the claim
    // lock) makes a beat or claim fail within a second and retry, instead of
    // waiting out the statement timeout; such a session itself is ended by the
    // server once idle in its transaction for the statement timeout.
    const auto ms = std::max<int64_t>(1000, statement_timeout_.count());
    std::string setup = "SET statement_timeout = " + std::to_string(statement_timeout_.count()) +
                        "; SET lock_timeout = 1000" +
                        "; SET idle_in_transaction_session_timeout = " + std::to_string(ms);
    setUpWatched(watcher_, *c, std::chrono::steady_clock::now(), callLimit(), [&] {
      pqxx::nontransaction tx(*c);
      tx.exec(setup);
      tx.commit();
      for (const auto& [name, sql] : prepared_) c->prepare(name, sql);
    });
    conn_ = std::move(c);
    backoff_ = Duration{0};
    retry_after_ = MonoTime{};
    return Status::Ok();
  } catch (const std::exception& e) {
    last_connect_error_ = fleetRedact(pgFirstLine(e.what()));
    backoff_ = std::clamp(backoff_ * 2, Duration(std::chrono::milliseconds(100)),
                          Duration(std::chrono::seconds(2)));
    retry_after_ = std::chrono::steady_clock::now() + backoff_;
    return Status::Error("cannot connect to the fleet database: " + last_connect_error_);
  }
}

Status PgLink::fail(const std::string& what, const std::string& why, bool broken) {
  if (!broken && conn_ && conn_->is_open()) {
    try {  // leaves no transaction open (a warning when none is)
      pqxx::nontransaction tx(*conn_);
      tx.exec("ROLLBACK");
    } catch (const std::exception&) {
      broken = true;
    }
  }
  if (broken || !conn_ || !conn_->is_open()) conn_.reset();
  return Status::Error("fleet " + what + " failed: " + fleetRedact(pgFirstLine(why)));
}

Status PgLink::run(const std::string& what, const std::function<void(pqxx::connection&)>& fn) {
  if (Status s = connect(); !s.ok()) return Status::Error("fleet " + what + ": " + s.message());
  // The call and fail()'s ROLLBACK are watched: a server that freezes after
  // an error holds neither.
  CutWatch watch(watcher_, conn_->sock(), std::chrono::steady_clock::now(), callLimit());
  if (!watch.armed())
    return Status::Error("fleet " + what +
                         " failed: cannot watch the call (no file descriptor left)");
  bool answered = false;
  Status st = attempt(what, fn, answered);
  if (watch.finish()) {
    conn_.reset();
    // A call that returned, or that the server answered with an error, before
    // the cut keeps its result; so does a commit whose outcome is unknown (it
    // may have reached the server).
    if (!answered)
      st = Status::Error("fleet " + what + " failed: the server answered nothing for " +
                         humanDuration(callLimit()) + "; the connection was dropped");
  }
  return st;
}

Status PgLink::attempt(const std::string& what, const std::function<void(pqxx::connection&)>& fn,
                       bool& answered) {
  try {
    fn(*conn_);
    answered = true;
    return Status::Ok();
  } catch (const pqxx::broken_connection& e) {
    return fail(what, std::string("lost the connection: ") + e.what(), true);
  } catch (const pqxx::in_doubt_error& e) {
    answered = true;  // not "answered nothing": the COMMIT may have been applied
    return fail(what, std::string("commit outcome unknown: ") + e.what(), true);
  } catch (const pqxx::sql_error& e) {
    answered = conn_ && conn_->is_open();  // the server's own error
    std::string why = e.what();
    if (e.sqlstate() == "57014") why = "statement timed out (statement_timeout)";
    return fail(what, why, false);
  } catch (const std::exception& e) {
    return fail(what, e.what(), false);
  }
}

}  // namespace datawatch
