#include "probes/sqlite_source.hpp"

#include <sqlite3.h>

#include <limits>
#include <optional>
#include <regex>
#include <string_view>

#include "core/duration.hpp"
#include "core/utf8.hpp"

namespace datawatch {

namespace {

struct ProgressState {
  const Clock* clock;
  MonoTime deadline;
  const std::atomic<bool>* cancelled;
  bool timed_out = false;
  bool was_cancelled = false;
};

int progressHandler(void* arg) {
  auto* st = static_cast<ProgressState*>(arg);
  if (st->cancelled && st->cancelled->load(std::memory_order_relaxed)) {
    st->was_cancelled = true;
    return 1;
  }
  if (st->clock->monotonic() >= st->deadline) {
    st->timed_out = true;
    return 1;
  }
  return 0;
}

// Resets the progress handler when a query ends, however it ends.
class ProgressGuard {
 public:
  ProgressGuard(sqlite3* db, ProgressState* st) : db_(db) {
    sqlite3_progress_handler(db_, 1000, progressHandler, st);
  }
  ProgressGuard(const ProgressGuard&) = delete;
  ProgressGuard& operator=(const ProgressGuard&) = delete;
  ~ProgressGuard() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

 private:
  sqlite3* db_;
};

// regexp(pattern, value), what `value REGEXP pattern` calls (Dialect::regexMatch):
// an ECMAScript std::wregex search over code points; NULL when either is NULL. The user data is
// the connection's cache of the last pattern compiled (a connection runs one
// statement at a time, so it needs no lock).
//
// std::regex's default (backtracking) executor recurses once or more per
// character (~1 KB per character with nested groups: a 40 KB value overflows
// an 8 MB thread stack and kills the agent) and takes exponential time on
// patterns such as "^(a+)+$", which the statement timeout cannot interrupt
// (the progress handler runs between VDBE steps). On libstdc++ the pattern is
// compiled __polynomial: the Thompson (breadth-first) executor, whose stack
// depth is bounded by the pattern, not the value, and whose time is linear in
// the value (a back-reference is then refused as an invalid pattern). Other
// standard libraries have no such mode: there a value over
// kMaxRegexpValueBytes is an SQL error ("too long"), never a crash.
#if defined(__GLIBCXX__)
constexpr auto kRegexFlags = std::wregex::ECMAScript | std::regex_constants::__polynomial;
constexpr size_t kMaxRegexpValueBytes = std::numeric_limits<size_t>::max();
#else
constexpr auto kRegexFlags = std::wregex::ECMAScript;
constexpr size_t kMaxRegexpValueBytes = 1000;
#endif

struct RegexCache {
  std::string pattern;
  std::optional<std::wregex> re;
};

// UTF-8 as code points, so that "." and "[é]" match characters as they do in
// the other databases (std::regex on bytes saw "é" as two); an ill-formed
// byte is U+FFFD.
std::wstring codePoints(std::string_view s) {
  std::wstring out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80           ? 1
                       : (c >> 5) == 0x6  ? 2
                       : (c >> 4) == 0xE  ? 3
                       : (c >> 3) == 0x1E ? 4
                                          : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    out += static_cast<wchar_t>(ok ? cp : 0xFFFDu);
    i += ok ? len : 1;
  }
  return out;
}

void regexpFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 2 || sqlite3_value_type(argv[0]) == SQLITE_NULL ||
      sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  auto* cache = static_cast<RegexCache*>(sqlite3_user_data(ctx));
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const std::string_view pattern(p ? p : "", static_cast<size_t>(sqlite3_value_bytes(argv[0])));
  const auto* v = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const std::string_view value(v ? v : "", static_cast<size_t>(sqlite3_value_bytes(argv[1])));
  if (value.size() > kMaxRegexpValueBytes) {
    const std::string msg = "REGEXP: a value of " + std::to_string(value.size()) +
                            " bytes is longer than the " + std::to_string(kMaxRegexpValueBytes) +
                            " bytes SQLite's regexp() matches";
    sqlite3_result_error(ctx, msg.c_str(), static_cast<int>(msg.size()));
    return;
  }
  try {
    if (!cache->re || cache->pattern != pattern) {
      cache->re.reset();
      cache->pattern = std::string(pattern);
      cache->re.emplace(codePoints(cache->pattern), kRegexFlags);
    }
    sqlite3_result_int(ctx, std::regex_search(codePoints(value), *cache->re) ? 1 : 0);
  } catch (const std::exception& e) {  // a bad pattern, or one too complex to run
    cache->re.reset();
    const std::string msg =
        "REGEXP: invalid regular expression \"" + std::string(pattern) + "\": " + e.what();
    sqlite3_result_error(ctx, msg.c_str(), static_cast<int>(msg.size()));
  }
}

void deleteRegexCache(void* p) {
  delete static_cast<RegexCache*>(p);
}

}  // namespace

SqliteSource::SqliteSource(std::string name, config::SqliteSourceConfig cfg, int max_connections,
                           const Clock& clock)
    : name_(std::move(name)),
      cfg_(std::move(cfg)),
      max_idle_(static_cast<size_t>(max_connections)),
      clock_(clock) {}

Result<SqliteConnection> SqliteSource::open() {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(cfg_.path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteConnection conn(raw);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Result<SqliteConnection>::Error("cannot open SQLite database " + cfg_.path.string() +
                                           ": " + msg);
  }
  sqlite3_busy_timeout(raw, static_cast<int>(cfg_.busy_timeout.count()));
  // A double-quoted identifier must never fall back to a string literal: a missing
  // column would otherwise be read as the text "name" instead of an error.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  sqlite3_create_function_v2(raw, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, new RegexCache(),
                             regexpFunction, nullptr, nullptr, deleteRegexCache);
  std::string err;
  if (!sqliteExec(raw, "PRAGMA query_only = 1", err)) {
    return Result<SqliteConnection>::Error("cannot configure SQLite database " +
                                           cfg_.path.string() + ": " + err);
  }
  return conn;
}

namespace {

Status bindAll(sqlite3* db, sqlite3_stmt* raw, const std::vector<SqlValue>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    const auto& p = params[i];
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(p))
      rc = sqlite3_bind_null(raw, idx);
    else if (const auto* iv = std::get_if<int64_t>(&p))
      rc = sqlite3_bind_int64(raw, idx, *iv);
    else if (const auto* dv = std::get_if<double>(&p))
      rc = sqlite3_bind_double(raw, idx, *dv);
    else {
      const auto& s = std::get<std::string>(p);
      rc = sqlite3_bind_text(raw, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK)
      return Status::Error(std::string("cannot bind parameter: ") + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

// One column of the current row; text (and blobs) as valid UTF-8.
SqlValue columnValue(sqlite3_stmt* raw, int c) {
  switch (sqlite3_column_type(raw, c)) {
    case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(raw, c));
    case SQLITE_FLOAT: return sqlite3_column_double(raw, c);
    case SQLITE_NULL: return std::monostate{};
    default: {
      const auto* txt = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
      return toValidUtf8(
          std::string_view(txt ? txt : "", static_cast<size_t>(sqlite3_column_bytes(raw, c))));
    }
  }
}

}  // namespace

SqliteConnection SqliteSource::takeIdle() {
  MutexLock lock(mu_);
  if (idle_.empty()) return SqliteConnection();
  SqliteConnection conn = std::move(idle_.back());
  idle_.pop_back();
  return conn;
}

void SqliteSource::giveBack(SqliteConnection conn) {
  MutexLock lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

Result<QueryResult> SqliteSource::query(const std::string& sql, const std::vector<SqlValue>& params,
                                        const QueryLimits& limits) {
  SqliteConnection conn = takeIdle();
  if (!conn.get()) {
    auto opened = open();
    if (!opened) return opened.status();
    conn = std::move(opened).value();
  }
  // run() has finalized its statement and cleared its progress handler when it
  // returns: only then may another worker have the connection.
  auto result = run(conn.get(), sql, params, limits);
  if (result.ok()) giveBack(std::move(conn));
  return result;
}

Result<QueryResult> SqliteSource::run(sqlite3* db, const std::string& sql,
                                      const std::vector<SqlValue>& params,
                                      const QueryLimits& limits) {
  ProgressState st{&clock_, limits.deadline, limits.cancelled};
  ProgressGuard guard(db, &st);
  auto fail = [&](const std::string& what) -> Result<QueryResult> {
    std::string msg;
    if (st.timed_out)
      msg = "query timed out (deadline exceeded) and was interrupted";
    else if (st.was_cancelled)
      msg = "query cancelled: the agent is shutting down";
    else
      msg = toValidUtf8(what);
    return Result<QueryResult>::Error(msg);
  };
  // One statement in autocommit mode: SQLite runs it in its own read
  // transaction, one consistent snapshot from the first step to the finalize
  // (an explicit BEGIN/COMMIT around it cost two more statements to parse per
  // run, issue 19).
  QueryResult out;
  {
    SqliteStatement stmt(db, sql);
    if (!stmt.ok()) return fail(std::string("query failed: ") + sqlite3_errmsg(db));
    sqlite3_stmt* raw = stmt.get();
    if (!sqlite3_stmt_readonly(raw))
      return fail("query refused: probes may only read (the statement would write)");
    if (auto st_bind = bindAll(db, raw, params); !st_bind) return fail(st_bind.message());
    const int ncol = sqlite3_column_count(raw);
    for (int c = 0; c < ncol; ++c) out.columns.push_back(toValidUtf8(sqlite3_column_name(raw, c)));
    while (true) {
      const int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        std::string msg = sqlite3_errmsg(db);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
          msg = "database is locked (waited " + formatDuration(cfg_.busy_timeout) + ")";
        return fail("query failed: " + msg);
      }
      std::vector<SqlValue> row;
      row.reserve(static_cast<size_t>(ncol));
      for (int c = 0; c < ncol; ++c) row.push_back(columnValue(raw, c));
      out.rows.push_back(std::move(row));
    }
  }  // finalized here: its read transaction ends
  // BEGIN and SAVEPOINT are "read-only" to sqlite3_stmt_readonly, yet leave a
  // transaction open: a pooled connection would then read one frozen snapshot
  // (and hold the database's read lock) for every later probe. Refused, and the
  // connection is closed, as after any error.
  if (sqlite3_get_autocommit(db) == 0) {
    std::string ignored;
    sqliteExec(db, "ROLLBACK", ignored);
    return fail("query refused: probes may only read; this statement opens a transaction");
  }
  return out;
}

}  // namespace datawatch
