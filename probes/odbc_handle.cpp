#include "probes/odbc_handle.hpp"

#include <algorithm>

#include "core/utf8.hpp"

namespace datawatch {

namespace odbc {

namespace {

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;
constexpr size_t kMaxRecords = 8;

}  // namespace

std::string fromUtf16(const SQLWCHAR* s, size_t units) {
  std::string out;
  out.reserve(units);
  for (size_t i = 0; i < units; ++i) {
    const uint32_t u = s[i];
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      appendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (s[i + 1] - 0xDC00u));
      ++i;
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      appendUtf8(out, kReplacement);  // an unpaired surrogate
    } else {
      appendUtf8(out, u);
    }
  }
  return out;
}

std::vector<Diagnostic> diagnostics(SQLSMALLINT handle_type, SQLHANDLE handle) {
  std::vector<Diagnostic> out;
  if (handle == SQL_NULL_HANDLE) return out;
  for (SQLSMALLINT rec = 1; rec <= static_cast<SQLSMALLINT>(kMaxRecords); ++rec) {
    SQLCHAR state[6] = {};
    SQLINTEGER native = 0;
    std::vector<SQLCHAR> msg(1024);
    SQLSMALLINT len = 0;
    SQLRETURN rc = SQLGetDiagRec(handle_type, handle, rec, state, &native, msg.data(),
                                 static_cast<SQLSMALLINT>(msg.size()), &len);
    if (rc == SQL_SUCCESS_WITH_INFO && len >= static_cast<SQLSMALLINT>(msg.size())) {
      msg.resize(static_cast<size_t>(len) + 1);
      rc = SQLGetDiagRec(handle_type, handle, rec, state, &native, msg.data(),
                         static_cast<SQLSMALLINT>(msg.size()), &len);
    }
    if (!succeeded(rc)) break;
    const size_t n = std::min(static_cast<size_t>(std::max<SQLSMALLINT>(len, 0)), msg.size() - 1);
    std::string text = toValidUtf8(std::string_view(reinterpret_cast<const char*>(msg.data()), n));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    size_t state_len = 0;
    while (state_len < 5 && state[state_len] != 0) ++state_len;
    out.push_back({toValidUtf8(std::string_view(reinterpret_cast<const char*>(state), state_len)),
                   std::move(text)});
  }
  return out;
}

std::string formatDiagnostics(const std::vector<Diagnostic>& diags, std::string_view fallback) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) out += "; ";
    if (!d.sqlstate.empty()) out += "SQLSTATE " + d.sqlstate + ": ";
    out += d.message;
  }
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace odbc

OdbcHandle& OdbcHandle::operator=(OdbcHandle&& o) noexcept {
  if (this != &o) {
    reset();
    type_ = o.type_;
    h_ = o.h_;
    o.h_ = SQL_NULL_HANDLE;
  }
  return *this;
}

void OdbcHandle::reset() {
  if (h_ != SQL_NULL_HANDLE) SQLFreeHandle(type_, h_);
  h_ = SQL_NULL_HANDLE;
}

Result<std::unique_ptr<OdbcEnvironment>> OdbcEnvironment::create() {
  using R = Result<std::unique_ptr<OdbcEnvironment>>;
  SQLHANDLE h = SQL_NULL_HANDLE;
  if (!odbc::succeeded(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &h)))
    return R::Error("cannot allocate an ODBC environment (is unixODBC installed?)");
  OdbcHandle env(SQL_HANDLE_ENV, h);
  const SQLRETURN rc =
      SQLSetEnvAttr(h, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  if (!odbc::succeeded(rc))
    return R::Error("cannot set ODBC version 3: " +
                    odbc::formatDiagnostics(env.diagnostics(), "no diagnostics"));
  return R(std::unique_ptr<OdbcEnvironment>(new OdbcEnvironment(std::move(env))));
}

Result<OdbcDbc> OdbcDbc::allocate(const OdbcEnvironment& env) {
  SQLHANDLE h = SQL_NULL_HANDLE;
  if (!odbc::succeeded(SQLAllocHandle(SQL_HANDLE_DBC, env.get(), &h)))
    return Result<OdbcDbc>::Error(
        "cannot allocate an ODBC connection handle: " +
        odbc::formatDiagnostics(odbc::diagnostics(SQL_HANDLE_ENV, env.get()), "no diagnostics"));
  return OdbcDbc(OdbcHandle(SQL_HANDLE_DBC, h));
}

OdbcDbc::~OdbcDbc() {
  if (connected_ && h_.get() != SQL_NULL_HANDLE) SQLDisconnect(h_.get());
}

Status OdbcDbc::setAttr(SQLINTEGER attr, SQLULEN value) {
  const SQLRETURN rc = SQLSetConnectAttr(h_.get(), attr, reinterpret_cast<SQLPOINTER>(value), 0);
  if (odbc::succeeded(rc)) return Status::Ok();
  return Status::Error(odbc::formatDiagnostics(diagnostics(), "SQLSetConnectAttr failed"));
}

Status OdbcDbc::connect(const std::string& connection_string) {
  std::vector<SQLCHAR> in(connection_string.begin(), connection_string.end());
  in.push_back(0);
  const SQLRETURN rc =
      SQLDriverConnect(h_.get(), nullptr, in.data(), static_cast<SQLSMALLINT>(in.size() - 1),
                       nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
  if (!odbc::succeeded(rc))
    return Status::Error(odbc::formatDiagnostics(diagnostics(), "SQLDriverConnect failed"));
  connected_ = true;
  return Status::Ok();
}

std::string OdbcDbc::info(SQLUSMALLINT what) const {
  SQLCHAR buf[256] = {};
  SQLSMALLINT len = 0;
  if (!odbc::succeeded(SQLGetInfo(h_.get(), what, buf, sizeof buf, &len))) return "";
  const size_t n = std::min(static_cast<size_t>(std::max<SQLSMALLINT>(len, 0)), sizeof buf - 1);
  return toValidUtf8(std::string_view(reinterpret_cast<const char*>(buf), n));
}

Result<OdbcStmt> OdbcStmt::allocate(const OdbcDbc& dbc) {
  SQLHANDLE h = SQL_NULL_HANDLE;
  if (!odbc::succeeded(SQLAllocHandle(SQL_HANDLE_STMT, dbc.get(), &h)))
    return Result<OdbcStmt>::Error("cannot allocate an ODBC statement: " +
                                   odbc::formatDiagnostics(dbc.diagnostics(), "no diagnostics"));
  return OdbcStmt(OdbcHandle(SQL_HANDLE_STMT, h));
}

}  // namespace datawatch
