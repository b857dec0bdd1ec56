#pragma once
// What the libpqxx connections share (store/pg_pool.cpp, ha/pg_link.cpp);
// header-only: core itself does not link libpqxx.

#include <pqxx/pqxx>

#include <stdexcept>

#include "core/duration.hpp"
#include "core/socket_cutter.hpp"

namespace datawatch {

// libpqxx 6 reopens a broken connection by itself at its next use: a new
// session, with none of the settings made after connecting (statement_timeout,
// lock_timeout), and not watched (core/socket_cutter.hpp). Our owners drop a
// broken connection instead, so reactivation is inhibited. libpqxx 6.4 marks
// the switch deprecated (7 removed reactivation altogether).
inline void inhibitReactivation(pqxx::connection_base& c) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  c.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

// How long a call may wait without a byte from a server whose statements end
// within `statement_timeout` before its socket is cut (PgPool, PgLink): twice
// that, plus a second for the error to arrive.
inline Duration silenceLimit(Duration statement_timeout) {
  return statement_timeout * 2 + std::chrono::seconds(1);
}

// Sets up a new connection's session: inhibits reactivation, then runs
// `setup` under a CutWatch of `limit` (`now` on the watcher's clock). Throws
// what `setup` throws, or std::runtime_error when the server answered nothing
// for `limit` (the socket cut) or the socket cannot be watched.
template <class Setup>
void setUpWatched(QueryWatcher& watcher, pqxx::connection_base& c, MonoTime now, Duration limit,
                  Setup&& setup) {
  inhibitReactivation(c);
  CutWatch watch(watcher, c.sock(), now, limit);
  if (!watch.armed()) throw std::runtime_error("cannot watch the connection (no file descriptor)");
  try {
    setup();
  } catch (const std::exception&) {
    if (!watch.finish()) throw;
  }
  if (watch.finish())
    throw std::runtime_error("the server answered nothing for " + humanDuration(limit));
}

}  // namespace datawatch
