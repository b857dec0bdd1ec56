#include "probes/odbc_source.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "core/duration.hpp"
#include "core/redact.hpp"
#include "core/utf8.hpp"
#include "probes/odbc_handle.hpp"

namespace datawatch {

struct OdbcConnection {
  explicit OdbcConnection(OdbcDbc d) : dbc(std::move(d)) {}
  OdbcDbc dbc;
  // psqlODBC sends an SQL_DOUBLE parameter untyped; an SQL_DECIMAL one as ::numeric.
  bool doubles_as_decimal = false;
  // MariaDB / MySQL Connector/ODBC: the server's id of this session, for KILL
  // QUERY from a second connection (their SQLCancel unlocks, from the cancelling
  // thread, a mutex the executing thread holds; ThreadSanitizer reports it). 0: SQLCancel.
  int64_t kill_id = 0;
};

namespace {

constexpr auto kLoginTimeout = std::chrono::seconds(10);

// ---- connection strings

// `value` as an ODBC attribute value: braced when it holds ';', '{', '}' or
// surrounding spaces ("}" doubled inside).
std::string odbcValue(const std::string& value) {
  if (value.find_first_of(";{}") == std::string::npos &&
      (value.empty() || (value.front() != ' ' && value.back() != ' ')))
    return value;
  std::string out = "{";
  for (char c : value) {
    out += c;
    if (c == '}') out += '}';
  }
  return out + "}";
}

// The values of the secret attributes (PWD, Password, *token*, *secret*) of an
// ODBC connection string, braces removed: the Redactor masks them anywhere.
std::vector<std::string> secretValues(const std::string& conn) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < conn.size()) {
    const size_t eq = conn.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = conn.substr(i, eq - i);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value;
    size_t next = eq + 1;
    if (next < conn.size() && conn[next] == '{') {
      for (++next; next < conn.size(); ++next) {
        if (conn[next] == '}' && !(next + 1 < conn.size() && conn[next + 1] == '}')) break;
        if (conn[next] == '}') ++next;
        value += conn[next];
      }
      next = conn.find(';', next);
    } else {
      next = conn.find(';', next);
      value = conn.substr(eq + 1, (next == std::string::npos ? conn.size() : next) - eq - 1);
    }
    if (Redactor::isSecretKey(key) && !value.empty()) out.push_back(value);
    if (next == std::string::npos) break;
    i = next + 1;
  }
  return out;
}

// ---- errors

bool startsWith(std::string_view s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}

bool containsNoCase(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != hay.end();
}

// The first record that is not a warning (01xxx), else the first.
odbc::Diagnostic primary(const std::vector<odbc::Diagnostic>& diags) {
  for (const auto& d : diags)
    if (!startsWith(d.sqlstate, "01")) return d;
  return diags.empty() ? odbc::Diagnostic{} : diags.front();
}

// A driver message on one line: psqlODBC appends ";\nError while executing the query".
std::string firstLine(const std::string& msg) {
  std::string line = msg.substr(0, msg.find('\n'));
  while (!line.empty() && (line.back() == ';' || line.back() == ' ')) line.pop_back();
  return line;
}

enum class Failure {
  Connection,
  Timeout,
  ReadOnly,
  Permission,
  MissingTable,
  MissingColumn,
  Other
};

Failure classify(const odbc::Diagnostic& d) {
  const std::string& st = d.sqlstate;
  const std::string& m = d.message;
  // 08xxx; 57P01-57P03: PostgreSQL ended the session (terminated, shutting down).
  if (startsWith(st, "08") || st == "57P01" || st == "57P02" || st == "57P03")
    return Failure::Connection;
  if (st == "HYT00" || st == "HYT01" || st == "57014" || st == "HY008" || st == "70100" ||
      containsNoCase(m, "interrupted"))
    return Failure::Timeout;
  if (st == "25006" || containsNoCase(m, "read-only") || containsNoCase(m, "read only") ||
      containsNoCase(m, "readonly"))
    return Failure::ReadOnly;
  if (st == "42501" || containsNoCase(m, "permission denied") ||
      (startsWith(st, "42") && containsNoCase(m, "denied")))
    return Failure::Permission;
  if (st == "42S02" || st == "42P01" || containsNoCase(m, "no such table"))
    return Failure::MissingTable;
  if (st == "42S22" || st == "42703" || containsNoCase(m, "no such column"))
    return Failure::MissingColumn;
  return Failure::Other;
}

// ---- values

bool isWide(SQLSMALLINT t) {
  return t == SQL_WCHAR || t == SQL_WVARCHAR || t == SQL_WLONGVARCHAR;
}
bool isInteger(SQLSMALLINT t) {
  return t == SQL_INTEGER || t == SQL_SMALLINT || t == SQL_TINYINT || t == SQL_BIGINT;
}
bool isFloating(SQLSMALLINT t) {
  return t == SQL_FLOAT || t == SQL_REAL || t == SQL_DOUBLE || t == SQL_DECIMAL || t == SQL_NUMERIC;
}
bool isBinary(SQLSMALLINT t) {
  return t == SQL_BINARY || t == SQL_VARBINARY || t == SQL_LONGVARBINARY;
}

enum class Kind { Integer, Floating, Bit, BoolText, Binary, Wide, Text };

struct ResultColumn {
  std::string name;
  Kind kind;
};

// A whole column value as bytes (SQL_C_CHAR / SQL_C_BINARY / SQL_C_WCHAR), read
// in chunks; nullopt for NULL. `ok` false on a driver error.
std::optional<std::string> readChunks(SQLHSTMT s, SQLUSMALLINT col, SQLSMALLINT ctype, bool& ok) {
  const size_t terminator = ctype == SQL_C_CHAR ? 1 : ctype == SQL_C_WCHAR ? sizeof(SQLWCHAR) : 0;
  std::string out;
  char buf[8192];
  for (;;) {
    SQLLEN ind = 0;
    const SQLRETURN rc = SQLGetData(s, col, ctype, buf, sizeof buf, &ind);
    if (rc == SQL_NO_DATA) break;
    if (!odbc::succeeded(rc)) {
      ok = false;
      return std::nullopt;
    }
    if (ind == SQL_NULL_DATA) return std::nullopt;
    const size_t room = sizeof buf - terminator;
    const bool more = ind == SQL_NO_TOTAL || static_cast<size_t>(ind) > room;
    out.append(buf, more ? room : static_cast<size_t>(ind));
    if (rc == SQL_SUCCESS || !more) break;
  }
  return out;
}

SqlValue integerOrText(const std::string& text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && p == end) return v;
  double d = 0;
  const auto [pd, ecd] = std::from_chars(text.data(), end, d);
  if (ecd == std::errc() && pd == end) return d;
  return toValidUtf8(text);
}

// One column of the current row; `ok` false on a driver error.
SqlValue fetchValue(SQLHSTMT s, SQLUSMALLINT col, Kind kind, bool& ok) {
  switch (kind) {
    case Kind::Floating: {
      double v = 0;
      SQLLEN ind = 0;
      if (!odbc::succeeded(SQLGetData(s, col, SQL_C_DOUBLE, &v, sizeof v, &ind))) ok = false;
      if (!ok || ind == SQL_NULL_DATA) return std::monostate{};
      return v;
    }
    case Kind::Bit: {
      unsigned char v = 0;
      SQLLEN ind = 0;
      if (!odbc::succeeded(SQLGetData(s, col, SQL_C_BIT, &v, sizeof v, &ind))) ok = false;
      if (!ok || ind == SQL_NULL_DATA) return std::monostate{};
      return static_cast<int64_t>(v != 0 ? 1 : 0);
    }
    case Kind::Wide: {
      auto bytes = readChunks(s, col, SQL_C_WCHAR, ok);
      if (!bytes) return std::monostate{};
      std::vector<SQLWCHAR> units(bytes->size() / sizeof(SQLWCHAR));
      std::copy_n(bytes->data(), units.size() * sizeof(SQLWCHAR),
                  reinterpret_cast<char*>(units.data()));
      return odbc::fromUtf16(units.data(), units.size());
    }
    default: break;
  }
  auto text = readChunks(s, col, kind == Kind::Binary ? SQL_C_BINARY : SQL_C_CHAR, ok);
  if (!text) return std::monostate{};
  if (kind == Kind::Integer) return integerOrText(*text);
  if (kind == Kind::BoolText) {
    if (*text == "1" || *text == "t" || *text == "true") return int64_t{1};
    if (*text == "0" || *text == "f" || *text == "false") return int64_t{0};
  }
  return toValidUtf8(*text);
}

// Name and kind of each result column; `ok` false on a driver error.
std::vector<ResultColumn> describeColumns(SQLHSTMT s, bool& ok) {
  SQLSMALLINT n = 0;
  if (!odbc::succeeded(SQLNumResultCols(s, &n))) ok = false;
  std::vector<ResultColumn> cols;
  for (SQLUSMALLINT c = 1; ok && c <= static_cast<SQLUSMALLINT>(std::max<SQLSMALLINT>(n, 0)); ++c) {
    std::vector<SQLCHAR> name(256);
    SQLSMALLINT len = 0, type = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    auto describe = [&] {
      return SQLDescribeCol(s, c, name.data(), static_cast<SQLSMALLINT>(name.size()), &len, &type,
                            &size, &digits, &nullable);
    };
    SQLRETURN rc = describe();
    if (odbc::succeeded(rc) && len >= static_cast<SQLSMALLINT>(name.size())) {
      name.resize(static_cast<size_t>(len) + 1);
      rc = describe();
    }
    if (!odbc::succeeded(rc)) {
      ok = false;
      break;
    }
    Kind kind = isInteger(type)    ? Kind::Integer
                : isFloating(type) ? Kind::Floating
                : type == SQL_BIT  ? Kind::Bit
                : isBinary(type)   ? Kind::Binary
                : isWide(type)     ? Kind::Wide
                                   : Kind::Text;
    if (kind == Kind::Text && (type == SQL_VARCHAR || type == SQL_CHAR)) {
      SQLCHAR tname[64] = {};
      SQLSMALLINT tlen = 0;
      if (odbc::succeeded(
              SQLColAttribute(s, c, SQL_DESC_TYPE_NAME, tname, sizeof tname, &tlen, nullptr))) {
        const std::string_view tn(reinterpret_cast<const char*>(tname));
        if (tn == "bool" || tn == "boolean") kind = Kind::BoolText;
      }
    }
    const size_t n_len =
        std::min(static_cast<size_t>(std::max<SQLSMALLINT>(len, 0)), name.size() - 1);
    cols.push_back(
        {toValidUtf8(std::string_view(reinterpret_cast<const char*>(name.data()), n_len)), kind});
  }
  return cols;
}

// Whole seconds, rounded up, at least 1.
SQLULEN ceilSeconds(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<SQLULEN>(std::max<int64_t>(1, (ms + 999) / 1000));
}

}  // namespace

OdbcSource::OdbcSource(std::string name, config::OdbcSourceConfig cfg, config::DialectId dialect,
                       int max_connections, Duration statement_timeout, const Clock& clock)
    : name_(std::move(name)),
      connection_string_(cfg.connection.empty() ? "DSN=" + odbcValue(cfg.dsn) : cfg.connection),
      redactor_(secretValues(connection_string_)),
      dialect_(dialectFor(dialect)),
      max_idle_(static_cast<size_t>(std::max(1, max_connections))),
      statement_timeout_(statement_timeout),
      clock_(clock),
      watcher_(clock) {
  auto env = OdbcEnvironment::create();
  if (env)
    env_ = std::move(env).value();
  else
    env_error_ = env.error();
}

OdbcSource::~OdbcSource() = default;

Status OdbcSource::setUpSession(OdbcConnection& conn, bool reset) const {
  std::vector<std::string> statements =
      reset ? dialect_.sessionReset() : std::vector<std::string>{};
  for (const auto& s : dialect_.sessionSetup()) statements.push_back(s);
  for (const std::string& sql : statements) {
    auto stmt = OdbcStmt::allocate(conn.dbc);
    if (!stmt) return stmt.status();
    SQLSetStmtAttr(stmt->get(), SQL_ATTR_QUERY_TIMEOUT,
                   reinterpret_cast<SQLPOINTER>(ceilSeconds(kLoginTimeout)), 0);
    std::string text = sql;
    const SQLRETURN rc = SQLExecDirect(stmt->get(), reinterpret_cast<SQLCHAR*>(text.data()),
                                       static_cast<SQLINTEGER>(text.size()));
    if (!odbc::succeeded(rc) && rc != SQL_NO_DATA)
      return Status::Error("session setup \"" + sql + "\" failed: " +
                           odbc::formatDiagnostics(stmt->diagnostics(), "no diagnostics"));
  }
  return Status::Ok();
}

Result<std::unique_ptr<OdbcConnection>> OdbcSource::connect() {
  using R = Result<std::unique_ptr<OdbcConnection>>;
  if (!env_) return R::Error("cannot connect (ODBC): " + env_error_);
  {
    MutexLock lock(mu_);
    const MonoTime now = clock_.monotonic();
    if (now < retry_after_) {
      return R::Error("cannot connect (ODBC; retrying in " +
                      humanDuration(std::chrono::duration_cast<Duration>(retry_after_ - now)) +
                      "): " + last_connect_error_);
    }
  }
  Status st = Status::Ok();
  auto dbc = OdbcDbc::allocate(*env_);
  std::unique_ptr<OdbcConnection> conn;
  if (!dbc) {
    st = dbc.status();
  } else {
    (void)dbc->setAttr(SQL_ATTR_LOGIN_TIMEOUT, ceilSeconds(kLoginTimeout));
    st = dbc->connect(connection_string_);
    if (st.ok()) {
      conn = std::make_unique<OdbcConnection>(std::move(dbc).value());
      // A hint most drivers ignore; the dialect's session setup is what holds.
      (void)conn->dbc.setAttr(SQL_ATTR_ACCESS_MODE, SQL_MODE_READ_ONLY);
      const std::string driver = conn->dbc.info(SQL_DRIVER_NAME);
      conn->doubles_as_decimal = startsWith(driver, "psqlodbc");
      if (startsWith(driver, "libmaodbc") || startsWith(driver, "libmyodbc"))
        conn->kill_id = sessionId(*conn);
      st = setUpSession(*conn);
    }
  }
  MutexLock lock(mu_);
  if (st.ok()) {
    backoff_ = Duration{0};
    retry_after_ = MonoTime{};
    return R(std::move(conn));
  }
  const std::string msg = redactor_.redact(st.message());
  backoff_ = std::clamp(backoff_ * 2, Duration(std::chrono::seconds(1)),
                        Duration(std::chrono::seconds(60)));
  retry_after_ = clock_.monotonic() + backoff_;
  last_connect_error_ = msg;
  return R::Error("cannot connect (ODBC): " + msg);
}

int64_t OdbcSource::sessionId(OdbcConnection& conn) const {
  auto stmt = OdbcStmt::allocate(conn.dbc);
  if (!stmt) return 0;
  SQLCHAR sql[] = "SELECT CONNECTION_ID()";
  int64_t id = 0;
  SQLLEN ind = 0;
  if (odbc::succeeded(SQLExecDirect(stmt->get(), sql, SQL_NTS)) &&
      odbc::succeeded(SQLFetch(stmt->get())) &&
      odbc::succeeded(SQLGetData(stmt->get(), 1, SQL_C_SBIGINT, &id, sizeof id, &ind)) &&
      ind != SQL_NULL_DATA)
    return id;
  return 0;
}

void OdbcSource::killQuery(int64_t id) const {
  auto dbc = OdbcDbc::allocate(*env_);
  if (!dbc) return;
  (void)dbc->setAttr(SQL_ATTR_LOGIN_TIMEOUT, ceilSeconds(kLoginTimeout));
  if (!dbc->connect(connection_string_).ok()) return;  // the statement ends at its timeout
  auto stmt = OdbcStmt::allocate(*dbc);
  if (!stmt) return;
  std::string sql = "KILL QUERY " + std::to_string(id);
  SQLExecDirect(stmt->get(), reinterpret_cast<SQLCHAR*>(sql.data()),
                static_cast<SQLINTEGER>(sql.size()));
}

void OdbcSource::release(std::unique_ptr<OdbcConnection> c) {
  MutexLock lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

std::unique_ptr<OdbcConnection> OdbcSource::takeIdle() {
  MutexLock lock(mu_);
  if (idle_.empty()) return nullptr;
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return conn;
}

Result<QueryResult> OdbcSource::query(const std::string& sql, const std::vector<SqlValue>& params,
                                      const QueryLimits& limits) {
  using R = Result<QueryResult>;
  if (limits.cancelled && limits.cancelled->load())
    return R::Error("query cancelled: the agent is shutting down");
  auto rewritten = rewritePlaceholders(sql, params.size(), dialect_.backslashEscapes());
  if (!rewritten) return rewritten.status();
  if (!limits.generated) {
    if (auto st = checkUserStatement(rewritten->sql); !st) return st;
  }
  // The statement may use what is left of the probe's time, within the source's limit.
  const MonoTime now = clock_.monotonic();
  MonoTime deadline = now + statement_timeout_;
  if (limits.deadline < deadline) {
    if (limits.deadline <= now)
      return R::Error("query timed out (deadline exceeded before it could start)");
    deadline = limits.deadline;
  }
  std::unique_ptr<OdbcConnection> conn = takeIdle();
  const bool pooled = conn != nullptr;
  if (!conn) {
    auto c = connect();
    if (!c) return c.status();
    conn = std::move(c).value();
  }
  QueryWatcher::Reason fired = QueryWatcher::Reason::None;
  Attempt attempt = runOnce(*conn, *rewritten, params, deadline, limits, fired);
  if (pooled && fired == QueryWatcher::Reason::None && attempt.lost_connection) {
    // The server closed the pooled connection while it was idle (wait_timeout,
    // a restart, an idle-session limit): the statement only reads, so it runs
    // once more on a new connection instead of failing the probe.
    auto c = connect();
    if (!c) return c.status();
    conn = std::move(c).value();
    attempt = runOnce(*conn, *rewritten, params, deadline, limits, fired);
  }
  if (fired != QueryWatcher::Reason::None) {
    // A cancel request may land on a later statement: never pool this connection.
    if (attempt.result.ok()) return std::move(attempt.result);
    return R::Error(fired == QueryWatcher::Reason::Cancelled
                        ? "query cancelled: the agent is shutting down"
                        : "query timed out (deadline exceeded) and was cancelled");
  }
  // User SQL may have changed the session (set_config, time zone): reset it and
  // set it up again before another probe gets the connection.
  if (attempt.reusable && !limits.generated && !setUpSession(*conn, true).ok())
    attempt.reusable = false;
  if (attempt.reusable) release(std::move(conn));
  return std::move(attempt.result);
}

OdbcSource::Attempt OdbcSource::runOnce(OdbcConnection& conn, const Rewritten& sql,
                                        const std::vector<SqlValue>& params, MonoTime deadline,
                                        const QueryLimits& limits, QueryWatcher::Reason& fired) {
  using R = Result<QueryResult>;
  Attempt attempt{R::Error("query not run"), false};
  fired = QueryWatcher::Reason::None;
  // Stopped while connecting: a cancel sent before the statement starts would be
  // lost (SQLCancel and KILL QUERY only stop a running statement).
  if (limits.cancelled && limits.cancelled->load())
    return {R::Error("query cancelled: the agent is shutting down"), true};
  if (clock_.monotonic() >= deadline)
    return {R::Error("query timed out (deadline exceeded while connecting)"), true};
  {  // the statement handle is freed before the connection can go back to the pool
    auto stmt = OdbcStmt::allocate(conn.dbc);
    if (!stmt) return {R::Error("query failed: " + redactor_.redact(stmt.error())), false};
    SQLSetStmtAttr(stmt->get(), SQL_ATTR_QUERY_TIMEOUT,
                   reinterpret_cast<SQLPOINTER>(ceilSeconds(
                       std::chrono::duration_cast<Duration>(deadline - clock_.monotonic()))),
                   0);
    // From the watcher thread, SQLCancel on this statement (or KILL QUERY) at
    // the deadline or on stop.
    SQLHSTMT h = stmt->get();
    const int64_t kill_id = conn.kill_id;
    auto watch = watcher_.watch(
        [this, h, kill_id] {
          if (kill_id > 0)
            killQuery(kill_id);
          else
            SQLCancel(h);
        },
        deadline, limits.cancelled);
    attempt = execute(conn, *stmt, sql, params);
    fired = watch.finish();  // no cancel can reach the statement after this
    SQLFreeStmt(stmt->get(), SQL_CLOSE);
  }
  return attempt;
}

OdbcSource::Attempt OdbcSource::failure(const OdbcStmt& stmt) const {
  using R = Result<QueryResult>;
  const auto diags = stmt.diagnostics();
  const odbc::Diagnostic d = primary(diags);
  const std::string detail = redactor_.redact(
      (d.sqlstate.empty() ? "" : "SQLSTATE " + d.sqlstate + ": ") + firstLine(d.message));
  switch (classify(d)) {
    case Failure::Connection:
      return {R::Error("lost the connection (ODBC): " + detail), false, true};
    case Failure::Timeout:
      return {R::Error("query timed out (statement timeout) and was cancelled: " + detail), false};
    case Failure::ReadOnly:
      return {R::Error("query refused: probes may only read (" + detail + ")"), true};
    case Failure::Permission: return {R::Error("permission denied: " + detail), true};
    case Failure::MissingTable:
      return {R::Error("query failed: table does not exist (" + detail + ")"), true};
    case Failure::MissingColumn:
      return {R::Error("query failed: column does not exist (" + detail + ")"), true};
    case Failure::Other: break;
  }
  return {R::Error("query failed: " +
                   (diags.empty() ? std::string("the driver gave no diagnostics") : detail)),
          true};
}

OdbcSource::Attempt OdbcSource::execute(OdbcConnection& conn, const OdbcStmt& stmt,
                                        const Rewritten& sql,
                                        const std::vector<SqlValue>& params) const {
  using R = Result<QueryResult>;
  const SQLHSTMT h = stmt.get();
  // Bound buffers live until the statement has run: one slot per "?".
  const size_t n = sql.order.size();
  std::vector<int64_t> ints(n);
  std::vector<double> doubles(n);
  std::vector<SQLLEN> ind(n);
  for (size_t k = 0; k < n; ++k) {
    const SqlValue& v = params[static_cast<size_t>(sql.order[k] - 1)];
    const auto pos = static_cast<SQLUSMALLINT>(k + 1);
    SQLRETURN rc = SQL_SUCCESS;
    if (const auto* i = std::get_if<int64_t>(&v)) {
      ints[k] = *i;
      rc = SQLBindParameter(h, pos, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &ints[k], 0,
                            &ind[k]);
    } else if (const auto* d = std::get_if<double>(&v)) {
      doubles[k] = *d;
      rc = SQLBindParameter(h, pos, SQL_PARAM_INPUT, SQL_C_DOUBLE,
                            conn.doubles_as_decimal ? SQL_DECIMAL : SQL_DOUBLE, 17, 0, &doubles[k],
                            0, &ind[k]);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      ind[k] = static_cast<SQLLEN>(s->size());
      rc = SQLBindParameter(h, pos, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                            std::max<SQLULEN>(1, s->size()), 0,
                            const_cast<char*>(s->data()),  // NOLINT: input only
                            static_cast<SQLLEN>(s->size()), &ind[k]);
    } else {
      ind[k] = SQL_NULL_DATA;
      rc = SQLBindParameter(h, pos, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 1, 0, nullptr, 0,
                            &ind[k]);
    }
    if (!odbc::succeeded(rc)) return failure(stmt);
  }
  std::string text = sql.sql;
  const SQLRETURN rc = SQLExecDirect(h, reinterpret_cast<SQLCHAR*>(text.data()),
                                     static_cast<SQLINTEGER>(text.size()));
  if (rc == SQL_NO_DATA) return {R(QueryResult{}), true};
  if (!odbc::succeeded(rc)) return failure(stmt);
  bool ok = true;
  const std::vector<ResultColumn> cols = describeColumns(h, ok);
  if (!ok) return failure(stmt);
  QueryResult out;
  for (const auto& c : cols) out.columns.push_back(c.name);
  if (cols.empty()) return {R(std::move(out)), true};
  for (;;) {
    const SQLRETURN f = SQLFetch(h);
    if (f == SQL_NO_DATA) break;
    if (!odbc::succeeded(f)) return failure(stmt);
    std::vector<SqlValue> row;
    row.reserve(cols.size());
    for (size_t c = 0; c < cols.size() && ok; ++c)
      row.push_back(fetchValue(h, static_cast<SQLUSMALLINT>(c + 1), cols[c].kind, ok));
    if (!ok) return failure(stmt);
    out.rows.push_back(std::move(row));
  }
  return {R(std::move(out)), true};
}

}  // namespace datawatch
