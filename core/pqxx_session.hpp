#pragma once
// For the libpqxx connections (store/pg_pool.cpp, ha/pg_link.cpp); header-only:
// core itself does not link libpqxx.

#include <pqxx/pqxx>

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

}  // namespace datawatch
