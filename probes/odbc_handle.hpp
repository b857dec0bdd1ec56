#pragma once
// Small RAII wrappers over unixODBC handles, the diagnostics reader, and the
// UTF-16 (SQLWCHAR) <-> UTF-8 conversions the ODBC source uses.
//
// Invariants:
// - Every handle is freed exactly once, by its owner's destructor (move-only);
//   a connection handle that connected is disconnected first. The environment
//   must outlive its connections, a connection its statements.
// - Text crosses the ODBC boundary through the narrow (A) functions as UTF-8
//   bytes, never through the W functions: for a driver without W functions
//   (sqliteodbc's SQLite3) unixODBC would convert UTF-16 with the process
//   locale's codeset (ASCII in the "C" locale: every non-ASCII character
//   mangled), while psqlODBC, MariaDB Connector/ODBC and sqliteodbc all take and
//   give UTF-8 on the narrow functions (checked live). Everything read back
//   (messages, names) is made valid UTF-8; wide column data (SQL_C_WCHAR, for
//   columns a driver describes as SQL_WCHAR...) goes through fromUtf16.
// - Nothing here throws for an ODBC failure: calls return SQLRETURN or Status,
//   and diagnostics() reads the handle's records for the message.

#include <sql.h>
#include <sqlext.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace datawatch {

namespace odbc {

inline bool succeeded(SQLRETURN rc) {
  return rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO;
}

struct Diagnostic {
  std::string sqlstate;  // five characters, "" when the driver gave none
  std::string message;   // the driver's text, valid UTF-8
};

// The diagnostic records of a handle after a call (SQLGetDiagRec), in order.
std::vector<Diagnostic> diagnostics(SQLSMALLINT handle_type, SQLHANDLE handle);
// "SQLSTATE 42S02: [unixODBC]...; SQLSTATE 01000: ..."; `fallback` when empty.
std::string formatDiagnostics(const std::vector<Diagnostic>& diags, std::string_view fallback);

// UTF-16 code units -> valid UTF-8 (unpaired surrogates become U+FFFD).
std::string fromUtf16(const SQLWCHAR* s, size_t units);

}  // namespace odbc

// One ODBC handle of any type; frees it on destruction.
class OdbcHandle {
 public:
  OdbcHandle() = default;
  OdbcHandle(SQLSMALLINT type, SQLHANDLE h) : type_(type), h_(h) {}
  ~OdbcHandle() { reset(); }
  OdbcHandle(OdbcHandle&& o) noexcept : type_(o.type_), h_(o.h_) { o.h_ = SQL_NULL_HANDLE; }
  OdbcHandle& operator=(OdbcHandle&& o) noexcept;
  OdbcHandle(const OdbcHandle&) = delete;
  OdbcHandle& operator=(const OdbcHandle&) = delete;

  SQLHANDLE get() const { return h_; }
  SQLSMALLINT type() const { return type_; }
  std::vector<odbc::Diagnostic> diagnostics() const { return odbc::diagnostics(type_, h_); }
  void reset();

 private:
  SQLSMALLINT type_ = SQL_HANDLE_ENV;
  SQLHANDLE h_ = SQL_NULL_HANDLE;
};

// The environment (ODBC 3 behaviour). Outlives every connection made from it.
class OdbcEnvironment {
 public:
  static Result<std::unique_ptr<OdbcEnvironment>> create();
  SQLHENV get() const { return h_.get(); }

 private:
  explicit OdbcEnvironment(OdbcHandle h) : h_(std::move(h)) {}
  OdbcHandle h_;
};

// A connection handle; disconnected (if connected) and freed on destruction.
class OdbcDbc {
 public:
  static Result<OdbcDbc> allocate(const OdbcEnvironment& env);
  ~OdbcDbc();
  OdbcDbc(OdbcDbc&& o) noexcept = default;
  OdbcDbc& operator=(OdbcDbc&&) = delete;
  OdbcDbc(const OdbcDbc&) = delete;
  OdbcDbc& operator=(const OdbcDbc&) = delete;

  // Sets an integer connection attribute; an error carries the diagnostics.
  Status setAttr(SQLINTEGER attr, SQLULEN value);
  // SQLDriverConnect without prompting; the error holds the diagnostics (the
  // caller redacts: a driver may echo the connection string).
  Status connect(const std::string& connection_string);
  // SQLGetInfo text (SQL_DRIVER_NAME, SQL_DBMS_NAME...), "" when unavailable.
  std::string info(SQLUSMALLINT what) const;
  SQLHDBC get() const { return h_.get(); }
  std::vector<odbc::Diagnostic> diagnostics() const { return h_.diagnostics(); }

 private:
  explicit OdbcDbc(OdbcHandle h) : h_(std::move(h)) {}
  OdbcHandle h_;
  bool connected_ = false;
};

// A statement handle (its cursor closes when it is freed).
class OdbcStmt {
 public:
  static Result<OdbcStmt> allocate(const OdbcDbc& dbc);
  SQLHSTMT get() const { return h_.get(); }
  std::vector<odbc::Diagnostic> diagnostics() const { return h_.diagnostics(); }

 private:
  explicit OdbcStmt(OdbcHandle h) : h_(std::move(h)) {}
  OdbcHandle h_;
};

}  // namespace datawatch
