#include "probes/postgres_source.hpp"

#include <pqxx/pqxx>

#include "core/pg_text.hpp"

#include <algorithm>

#include "core/duration.hpp"
#include "core/redact.hpp"
#include "core/utf8.hpp"

namespace datawatch {

struct PgConnection {
  explicit PgConnection(const std::string& dsn) : c(dsn) {}
  pqxx::connection c;
};

namespace {

// PostgreSQL type OIDs (pg_type.h) mapped to SqlValue alternatives.
constexpr pqxx::oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700,
                    kFloat8 = 701, kNumeric = 1700;

SqlValue toSqlValue(const pqxx::field& f) {
  if (f.is_null()) return std::monostate{};
  switch (f.type()) {
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: return f.as<int64_t>();
    case kFloat4:
    case kFloat8:
    case kNumeric: {
      try {
        return f.as<double>();
      } catch (const std::exception&) {
        return toValidUtf8(f.c_str());  // NaN / Infinity spelled out
      }
    }
    case kBool: return static_cast<int64_t>(f.as<bool>() ? 1 : 0);
    default: return toValidUtf8(std::string_view(f.c_str(), f.size()));
  }
}

// A probe-facing message for a PostgreSQL error, by SQLSTATE class.
std::string describe(const pqxx::sql_error& e) {
  const std::string& st = e.sqlstate();
  const std::string msg = pgFirstLine(e.what());
  if (st == "57014") return "query timed out (statement_timeout) and was cancelled";
  if (st == "25006") return "query refused: probes may only read (" + msg + ")";
  if (st == "42501" || msg.rfind("permission denied", 0) == 0) {
    return msg.rfind("permission denied", 0) == 0 ? msg : "permission denied: " + msg;
  }
  return "query failed: " + msg + (st.empty() ? "" : " [SQLSTATE " + st + "]");
}

}  // namespace

std::string PostgresSource::effectiveDsn(const std::string& dsn) {
  return pgDsnWithDefaults(dsn, "datawatch", 10);
}

PostgresSource::PostgresSource(std::string name, config::PostgresSourceConfig cfg,
                               int max_connections, Duration statement_timeout, const Clock& clock,
                               config::DialectId dialect)
    : name_(std::move(name)),
      dialect_(dialectFor(dialect)),
      dsn_(effectiveDsn(cfg.dsn)),
      max_idle_(static_cast<size_t>(max_connections)),
      statement_timeout_(statement_timeout),
      clock_(clock),
      watcher_(clock) {}

PostgresSource::~PostgresSource() = default;

Result<std::unique_ptr<PgConnection>> PostgresSource::connect() {
  using R = Result<std::unique_ptr<PgConnection>>;
  {
    MutexLock lock(mu_);
    const MonoTime now = clock_.monotonic();
    if (now < retry_after_) {
      return R::Error("cannot connect to PostgreSQL (retrying in " +
                      humanDuration(std::chrono::duration_cast<Duration>(retry_after_ - now)) +
                      "): " + last_connect_error_);
    }
  }
  try {
    auto c = std::make_unique<PgConnection>(dsn_);
    pqxx::nontransaction setup(c->c);
    // Session defaults before any probe query: every transaction READ ONLY, whatever
    // the path (issue 15, defect 4); a query lowers the timeout with SET LOCAL only
    // when its probe has less time left than this.
    setup.exec0(sessionDefaults());
    setup.commit();
    try {
      // The server converts text to UTF-8 (a LATIN1 database). Not from SQL_ASCII:
      // it would refuse to send any non-UTF-8 byte; such bytes arrive as they are
      // and become U+FFFD in toSqlValue. Best effort: Redshift may refuse it.
      pqxx::nontransaction encoding(c->c);
      encoding.exec(
          "SELECT set_config('client_encoding', 'UTF8', false) "
          "WHERE current_setting('server_encoding') <> 'SQL_ASCII'");
      encoding.commit();
    } catch (const pqxx::sql_error&) {
    }
    MutexLock lock(mu_);
    backoff_ = Duration{0};
    retry_after_ = MonoTime{};
    return R(std::move(c));
  } catch (const std::exception& e) {
    const std::string msg = Redactor::redactDsn(pgFirstLine(e.what()));
    MutexLock lock(mu_);
    backoff_ = std::clamp(backoff_ * 2, Duration(std::chrono::seconds(1)),
                          Duration(std::chrono::seconds(60)));
    retry_after_ = clock_.monotonic() + backoff_;
    last_connect_error_ = msg;
    return R::Error("cannot connect to PostgreSQL: " + msg);
  }
}

std::string PostgresSource::sessionDefaults() const {
  return "SET default_transaction_read_only = on; SET TIME ZONE 'UTC'; SET statement_timeout = " +
         std::to_string(statement_timeout_.count());
}

void PostgresSource::release(std::unique_ptr<PgConnection> c) {
  MutexLock lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

std::unique_ptr<PgConnection> PostgresSource::takeIdle() {
  MutexLock lock(mu_);
  if (idle_.empty()) return nullptr;
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return conn;
}

Result<QueryResult> PostgresSource::query(const std::string& sql,
                                          const std::vector<SqlValue>& params,
                                          const QueryLimits& limits) {
  using R = Result<QueryResult>;
  if (limits.cancelled && limits.cancelled->load())
    return R::Error("query cancelled: the agent is shutting down");
  std::unique_ptr<PgConnection> conn = takeIdle();
  if (!conn) {
    auto c = connect();
    if (!c) return c.status();
    conn = std::move(c).value();
  }
  // The statement may use what is left of the probe's time, within the source's limit.
  auto timeout = statement_timeout_;
  if (limits.deadline != MonoTime::max()) {
    const auto left = std::chrono::duration_cast<Duration>(limits.deadline - clock_.monotonic());
    if (left <= Duration{0})
      return R::Error("query timed out (deadline exceeded before it could start)");
    timeout = std::min(timeout, left);
  }
  Attempt attempt{R::Error("query not run"), false};
  QueryWatcher::Reason fired = QueryWatcher::Reason::None;
  {
    // From another thread, PQcancel on this connection at the deadline or on stop.
    PgConnection* c = conn.get();
    auto watch = watcher_.watch(
        [c] {
          try {
            c->c.cancel_query();
          } catch (const std::exception&) {  // the statement ends at its timeout anyway
          }
        },
        limits.deadline, limits.cancelled);
    attempt = execute(*conn, sql, params, limits.generated, timeout);
    fired = watch.finish();  // no cancel can reach the connection after this
  }
  if (fired != QueryWatcher::Reason::None) {
    // A cancel request may land on a later statement: never pool this connection.
    if (attempt.result.ok()) return std::move(attempt.result);
    return R::Error(fired == QueryWatcher::Reason::Cancelled
                        ? "query cancelled: the agent is shutting down"
                        : "query timed out (deadline exceeded) and was cancelled");
  }
  if (attempt.reusable) release(std::move(conn));
  return std::move(attempt.result);
}

PostgresSource::Attempt PostgresSource::execute(PgConnection& conn, const std::string& sql,
                                                const std::vector<SqlValue>& params, bool generated,
                                                Duration timeout) {
  using R = Result<QueryResult>;
  // Text parameters; PostgreSQL infers each one's type from where it is used.
  std::vector<std::optional<std::string>> storage;
  storage.reserve(params.size());
  for (const auto& p : params) {
    if (std::holds_alternative<std::monostate>(p))
      storage.emplace_back(std::nullopt);
    else
      storage.emplace_back(sqlValueToString(p));
  }
  std::vector<const char*> raw;
  raw.reserve(storage.size());
  for (const auto& s : storage) raw.push_back(s ? s->c_str() : nullptr);
  try {
    QueryResult out;
    auto collect = [&](const pqxx::result& r) {
      for (pqxx::row_size_type c = 0; c < r.columns(); ++c)
        out.columns.push_back(toValidUtf8(r.column_name(c)));
      out.rows.reserve(r.size());
      for (const auto& row : r) {
        std::vector<SqlValue> values;
        values.reserve(row.size());
        for (const auto& f : row) values.push_back(toSqlValue(f));
        out.rows.push_back(std::move(values));
      }
    };
    pqxx::nontransaction tx(conn.c);
    const bool shorter = timeout + std::chrono::milliseconds(1000) < statement_timeout_;
    if (generated && !shorter) {
      // One round trip: a datawatch-built SELECT as a single statement, in a
      // session whose transactions default to READ ONLY with the statement timeout.
      // Without parameters, the simple protocol: one message each way, as psql does.
      collect(raw.empty() ? tx.exec(sql)
                          : tx.exec_params(sql, pqxx::prepare::make_dynamic_params(raw)));
    } else {
      // Three: BEGIN READ ONLY (+ SET LOCAL when the deadline is nearer), the query,
      // COMMIT. The explicit READ ONLY cannot be lifted by the statement; the session
      // defaults are restored after it in case it changed them (set_config).
      std::string begin = "BEGIN READ ONLY";
      if (shorter)
        begin += "; SET LOCAL statement_timeout = " +
                 std::to_string(std::max<int64_t>(1, timeout.count()));
      tx.exec(begin);
      try {
        collect(tx.exec_params(sql, pqxx::prepare::make_dynamic_params(raw)));
        tx.exec("COMMIT; " + sessionDefaults());
      } catch (const pqxx::sql_error&) {
        tx.exec("ROLLBACK");
        throw;
      }
    }
    return {R(std::move(out)), true};
  } catch (const pqxx::broken_connection& e) {
    return {R::Error("lost the connection to PostgreSQL: " +
                     toValidUtf8(Redactor::redactDsn(pgFirstLine(e.what())))),
            false};
  } catch (const pqxx::sql_error& e) {
    // The transaction was rolled back; the connection is still good.
    return {R::Error(toValidUtf8(Redactor::redactDsn(describe(e)))), conn.c.is_open()};
  } catch (const std::exception& e) {
    return {R::Error("query failed: " + toValidUtf8(Redactor::redactDsn(pgFirstLine(e.what())))),
            false};
  }
}

}  // namespace datawatch
