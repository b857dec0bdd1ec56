#pragma once
// PgLink: one PostgreSQL connection of the fleet (internal to ha/).
//
// - Opened lazily; every session gets statement_timeout, lock_timeout 1 s (a
//   lock held by a paused replica fails a beat or claim fast; it is retried)
//   and idle_in_transaction_session_timeout (a replica paused inside a claim
//   cannot hold the claim lock for ever), and its prepared statements.
// - A broken connection is dropped; the next call reconnects. Failed connects
//   back off (100 ms doubling to 2 s); calls during the backoff fail fast.
// - No call waits for ever on a server that stops answering: while a call (or
//   a new session's set-up, or the ROLLBACK after an error) waits, a server
//   that sends nothing for callLimit(), 2 x statement_timeout + 1 s, has the
//   socket cut (core/socket_cutter.hpp: CutWatch); the call fails ("the server
//   answered nothing for ...", or "commit outcome unknown" once COMMIT was
//   sent) and the connection is dropped; a call that returned before the cut
//   keeps its result. A heartbeat on a frozen fleet database fails like one on
//   a dead one; the leader's lease lapses on its local deadline either way
//   (fleet.hpp). libpqxx's reactivation is inhibited: a broken connection never
//   reopens unwatched, without the settings above.
// - Never throws: pqxx exceptions become Status values with the DSN's password
//   masked.
// Not thread-safe: the owner guards it with its own Mutex.

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/query_watcher.hpp"
#include "core/result.hpp"

namespace datawatch {

class PgLink {
 public:
  using Prepared = std::vector<std::pair<std::string, std::string>>;  // name, SQL
  // `watcher` (real time) outlives the link.
  PgLink(std::string dsn, Duration statement_timeout, Prepared prepared, QueryWatcher& watcher);
  ~PgLink();
  PgLink(const PgLink&) = delete;
  PgLink& operator=(const PgLink&) = delete;

  // Runs `fn` on the connection; `what` names the operation in errors. An
  // exception thrown by fn becomes an error (a transaction fn opened with BEGIN
  // is rolled back).
  Status run(const std::string& what, const std::function<void(pqxx::connection&)>& fn);
  // Connects now (when not connected).
  Status connect();
  Duration callLimit() const;

 private:
  Status fail(const std::string& what, const std::string& why, bool broken);
  // One call of fn on conn_, its exceptions made a Status (fail()). `answered`:
  // fn returned, the server answered with an error, or the commit is in doubt.
  Status attempt(const std::string& what, const std::function<void(pqxx::connection&)>& fn,
                 bool& answered);

  const std::string dsn_;
  const Duration statement_timeout_;
  const Prepared prepared_;
  QueryWatcher& watcher_;
  std::unique_ptr<pqxx::connection> conn_;
  Duration backoff_{0};
  MonoTime retry_after_{};
  std::string last_connect_error_;
};

// "postgres://u:<redacted>@h/db" style text for errors and logs.
std::string fleetRedact(const std::string& text);

// A PostgreSQL array literal ('{"a","b"}') for a text[] parameter.
std::string pgTextArray(const std::vector<std::string>& values);

}  // namespace datawatch
