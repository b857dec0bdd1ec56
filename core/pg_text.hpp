#pragma once
// Text helpers shared by everything that talks to PostgreSQL (the source, the
// state store's pool, the fleet's links): no libpq here, only strings.

#include <string>

namespace datawatch {

// The first line of a libpq/libpqxx message, without its "ERROR:  " or
// "FATAL:  " prefix and trailing blanks.
std::string pgFirstLine(const std::string& message);

// `dsn` (a postgres:// URI or key=value string) with application_name and
// connect_timeout added unless it sets them itself.
std::string pgDsnWithDefaults(const std::string& dsn, const std::string& application_name,
                              int connect_timeout_seconds);

}  // namespace datawatch
