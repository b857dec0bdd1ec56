#include "probes/postgres_source.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>
#include <variant>

#include "core/duration.hpp"
#include "core/pg_text.hpp"
#include "core/redact.hpp"
#include "core/socket_cutter.hpp"
#include "core/utf8.hpp"

namespace datawatch {

// One libpq connection. Plain libpq, not libpqxx: libpqxx's transaction and exec
// wrappers read the socket for notifications before and after every statement
// (two recv() calls that return EAGAIN: 2 of a probe query's 5 system calls,
// issue 19). Used by one thread at a time (the pool hands it out); interrupt()
// may be called from any thread while a statement runs.
class PgConnection {
 public:
  // `socket_` holds a duplicate of libpq's socket for the connection's life
  // (core/socket_cutter.hpp).
  explicit PgConnection(PGconn* c) : c_(c), cancel_(PQgetCancel(c)), socket_(PQsocket(c)) {
    // Server notices (a RAISE NOTICE in a view's function) are not ours to print.
    PQsetNoticeProcessor(
        c_, [](void*, const char*) {}, nullptr);
  }
  ~PgConnection() {
    if (cancel_ != nullptr) PQfreeCancel(cancel_);
    PQfinish(c_);
  }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* get() const { return c_; }
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }
  // Connected, with no statement or transaction in progress: fit for the pool.
  bool idle() const { return !broken() && PQtransactionStatus(c_) == PQTRANS_IDLE; }
  // Stops the statement in flight, from another thread (the QueryWatcher's),
  // without waiting for the server: shuts the socket down, so the libpq call
  // blocked on it returns at once whatever the server does (frozen, gone, a
  // network that drops packets), and posts to `cancels` a cancel request that
  // stops the statement on the server too (PQcancel has no timeout: never on
  // the watcher's thread). Once per connection; unusable after: never pooled.
  // Never throws (the watcher's cancel functions must not): a cancel request
  // that cannot be posted is dropped.
  void interrupt(BackgroundQueue& cancels) noexcept {
    socket_.cut();
    if (cancel_ == nullptr) return;
    try {
      std::shared_ptr<PGcancel> cancel(std::exchange(cancel_, nullptr), PQfreeCancel);
      cancels.post([cancel] {
        char err[256];
        (void)PQcancel(cancel.get(), err, sizeof err);  // the statement ends at its timeout anyway
      });
    } catch (...) {
      // Out of memory or threads: the statement ends at the server's statement_timeout.
    }
  }

 private:
  PGconn* c_;
  PGcancel* cancel_;  // null once interrupt() handed it to the cancel queue
  SocketCutter socket_;
};

namespace {

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// A statement that failed: its SQLSTATE and libpq's message.
struct PgError {
  std::string sqlstate;
  std::string message;
};

// PostgreSQL type OIDs (pg_type.h) mapped to SqlValue alternatives.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700,
              kFloat8 = 701, kNumeric = 1700;

// A column's text as the SqlValue its type maps to; text that does not parse
// as that type (a numeric beyond a double's range) stays text.
SqlValue toSqlValue(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return std::monostate{};
  const std::string_view text(PQgetvalue(r, row, col),
                              static_cast<size_t>(PQgetlength(r, row, col)));
  const char* end = text.data() + text.size();
  switch (PQftype(r, col)) {
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (ec == std::errc() && ptr == end) return v;
      break;
    }
    case kFloat4:
    case kFloat8:
    case kNumeric: {  // NaN and ±Infinity are doubles, as PostgreSQL's own
      if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (text == "Infinity") return std::numeric_limits<double>::infinity();
      if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
      double v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (ec == std::errc() && ptr == end) return v;
      break;  // beyond a double's range: the digits as text
    }
    case kBool: return static_cast<int64_t>(text == "t" ? 1 : 0);
    default: break;
  }
  return toValidUtf8(text);
}

// A probe-facing message for a PostgreSQL error, by SQLSTATE class.
std::string describe(const PgError& e) {
  const std::string& st = e.sqlstate;
  const std::string msg = pgFirstLine(e.message);
  if (st == "57014") return "query timed out (statement_timeout) and was cancelled";
  if (st == "25006") return "query refused: probes may only read (" + msg + ")";
  if (st == "42501" || msg.rfind("permission denied", 0) == 0) {
    return msg.rfind("permission denied", 0) == 0 ? msg : "permission denied: " + msg;
  }
  return "query failed: " + msg + (st.empty() ? "" : " [SQLSTATE " + st + "]");
}

// Parameters as libpq takes them: text, null for SQL NULL (PostgreSQL infers
// each one's type from where it is used). `raw` points into `storage`.
struct TextParams {
  explicit TextParams(const std::vector<SqlValue>& params) {
    storage.reserve(params.size());
    for (const auto& p : params) {
      if (std::holds_alternative<std::monostate>(p))
        storage.emplace_back(std::nullopt);
      else
        storage.emplace_back(sqlValueToString(p));
    }
    raw.reserve(storage.size());
    for (const auto& s : storage) raw.push_back(s ? s->c_str() : nullptr);
  }
  TextParams(const TextParams&) = delete;
  TextParams& operator=(const TextParams&) = delete;
  std::vector<std::optional<std::string>> storage;
  std::vector<const char*> raw;
};

QueryResult collectRows(const PGresult* r) {
  QueryResult out;
  const int cols = PQnfields(r);
  const int rows = PQntuples(r);
  for (int c = 0; c < cols; ++c) out.columns.push_back(toValidUtf8(PQfname(r, c)));
  out.rows.reserve(static_cast<size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    std::vector<SqlValue> values;
    values.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) values.push_back(toSqlValue(r, row, c));
    out.rows.push_back(std::move(values));
  }
  return out;
}

// A failed statement's message for the probe; the password never in it.
// `lost`: the connection is gone with it.
std::string failureText(const PgError& e, bool lost) {
  if (lost)
    return "lost the connection to PostgreSQL: " +
           toValidUtf8(Redactor::redactDsn(pgFirstLine(e.message)));
  return toValidUtf8(Redactor::redactDsn(describe(e)));
}

// An error of the connection rather than of the statement (none, class 08
// connection exception, 57P operator intervention).
bool connectionError(const PgError& e) {
  return e.sqlstate.empty() || e.sqlstate.rfind("08", 0) == 0 || e.sqlstate.rfind("57P", 0) == 0;
}

constexpr const char* kTimedOut = "query timed out (deadline exceeded) and was cancelled";
constexpr const char* kStopped = "query cancelled: the agent is shutting down";

// A result's error, or none for a statement that succeeded.
std::optional<PgError> errorOf(PGconn* c, const PGresult* r) {
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY)
    return std::nullopt;
  if (!r) return PgError{"", PQerrorMessage(c)};
  if (st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR)  // COPY, pipeline states
    return PgError{"", std::string("unsupported result: ") + PQresStatus(st)};
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return PgError{state != nullptr ? state : "", PQresultErrorMessage(r)};
}

// Runs `sql` (PQexec: the simple protocol, several statements allowed) or, with
// `params`, PQexecParams (text parameters, text results). The result, or the error.
std::variant<PgResult, PgError> run(PGconn* c, const std::string& sql,
                                    const std::vector<const char*>* params = nullptr) {
  PgResult r(params == nullptr ? PQexec(c, sql.c_str())
                               : PQexecParams(c, sql.c_str(), static_cast<int>(params->size()),
                                              nullptr, params->data(), nullptr, nullptr, 0),
             &PQclear);
  if (auto e = errorOf(c, r.get())) return std::move(*e);
  return r;
}

// Reads a pipeline of `sent` statements (`chunk`'s first) and its Sync: the
// rows of those that succeeded into `answers`, the errors into `errors`; a
// statement aborted after another's error is left unanswered. False when the
// results stop short (a lost connection).
bool readPipeline(PGconn* pc, const std::vector<size_t>& chunk, size_t sent,
                  std::vector<std::optional<Result<QueryResult>>>& answers,
                  std::vector<std::pair<size_t, PgError>>& errors) {
  for (size_t j = 0; j < sent; ++j) {
    PgResult r(PQgetResult(pc), &PQclear);
    if (!r) return false;
    if (PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
      if (auto e = errorOf(pc, r.get()))
        errors.emplace_back(chunk[j], std::move(*e));
      else
        answers[chunk[j]] = collectRows(r.get());
    }
    for (PGresult* more; (more = PQgetResult(pc)) != nullptr;) PQclear(more);  // a null ends each
  }
  PgResult sync(PQgetResult(pc), &PQclear);
  return sync && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
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

Result<std::unique_ptr<PgConnection>> PostgresSource::connect(MonoTime deadline,
                                                              const std::atomic<bool>* cancelled) {
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
  if (clock_.monotonic() >= deadline)
    return R::Error("query timed out (deadline exceeded before connecting)");
  auto c = std::make_unique<PgConnection>(PQconnectdb(dsn_.c_str()));  // connect_timeout bounds it
  std::optional<std::string> failure;
  if (c->broken()) {
    failure = PQerrorMessage(c->get());
  } else {
    // Watched as a query is: a server that froze after the handshake holds no run.
    PgConnection* pc = c.get();
    auto watch = watcher_.watch([this, pc] { pc->interrupt(cancels_); }, deadline, cancelled);
    failure = setUpSession(*c);
    // Cut by the run's own limits: not the server's failure, no backoff.
    const auto fired = watch.finish();
    if (fired == QueryWatcher::Reason::Cancelled) return R::Error(kStopped);
    if (fired == QueryWatcher::Reason::Deadline)
      return R::Error("query timed out (deadline exceeded while connecting)");
  }
  if (!failure) {
    MutexLock lock(mu_);
    backoff_ = Duration{0};
    retry_after_ = MonoTime{};
    return R(std::move(c));
  }
  const std::string msg = Redactor::redactDsn(pgFirstLine(*failure));
  MutexLock lock(mu_);
  backoff_ = std::clamp(backoff_ * 2, Duration(std::chrono::seconds(1)),
                        Duration(std::chrono::seconds(60)));
  retry_after_ = clock_.monotonic() + backoff_;
  last_connect_error_ = msg;
  return R::Error("cannot connect to PostgreSQL: " + msg);
}

std::optional<std::string> PostgresSource::setUpSession(PgConnection& c) const {
  // Session defaults before any probe query: every transaction READ ONLY, whatever
  // the path (issue 15, defect 4); a query lowers the timeout with SET LOCAL only
  // when its probe has less time left than this.
  if (auto setup = run(c.get(), sessionDefaults()); const auto* e = std::get_if<PgError>(&setup))
    return e->message;
  // The server converts text to UTF-8 (a LATIN1 database). Not from SQL_ASCII:
  // it would refuse to send any non-UTF-8 byte; such bytes arrive as they are
  // and become U+FFFD in toSqlValue. Best effort: Redshift may refuse it, but
  // a connection it broke is not one to keep.
  (void)run(c.get(),
            "SELECT set_config('client_encoding', 'UTF8', false) "
            "WHERE current_setting('server_encoding') <> 'SQL_ASCII'");
  if (c.broken()) return std::string(PQerrorMessage(c.get()));
  return std::nullopt;
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
  if (limits.cancelled && limits.cancelled->load()) return R::Error(kStopped);
  auto acquired = acquire(limits.deadline, limits.cancelled);
  if (!acquired) return acquired.status();
  std::unique_ptr<PgConnection> conn = std::move(acquired).value();
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
    // From the watcher's thread, at the deadline or on stop.
    PgConnection* c = conn.get();
    auto watch =
        watcher_.watch([this, c] { c->interrupt(cancels_); }, limits.deadline, limits.cancelled);
    attempt = execute(*conn, sql, params, limits.generated, timeout);
    fired = watch.finish();  // no cancel can reach the connection after this
  }
  if (fired != QueryWatcher::Reason::None) {
    // A cancel request may land on a later statement: never pool this connection.
    if (attempt.result.ok()) return std::move(attempt.result);
    return R::Error(fired == QueryWatcher::Reason::Cancelled ? kStopped : kTimedOut);
  }
  if (attempt.reusable) release(std::move(conn));
  return std::move(attempt.result);
}

Result<std::unique_ptr<PgConnection>> PostgresSource::acquire(MonoTime deadline,
                                                              const std::atomic<bool>* cancelled) {
  if (auto conn = takeIdle()) return Result<std::unique_ptr<PgConnection>>(std::move(conn));
  return connect(deadline, cancelled);
}

bool PostgresSource::batchesQueries() const {
  return dialect_.id() == config::DialectId::Postgres;
}

bool PostgresSource::needsShorterTimeout(Duration timeout) const {
  return timeout + std::chrono::milliseconds(1000) < statement_timeout_;
}

bool PostgresSource::pipelinable(const QueryLimits& limits) const {
  // No SET LOCAL statement_timeout in a pipeline: the watch ends it at the
  // earliest deadline (kPipelineBudget at most) whatever the server's limit.
  if (!limits.generated || (limits.cancelled && limits.cancelled->load())) return false;
  return limits.deadline > clock_.monotonic();
}

SqlSource::BatchAnswers PostgresSource::queryBatch(const std::vector<BatchQuery>& batch) {
  BatchAnswers answers(batch.size());
  std::vector<size_t> piped;
  for (size_t k = 0; k < batch.size(); ++k)
    if (pipelinable(batch[k].limits)) piped.push_back(k);
  for (size_t from = 0; from + 1 < piped.size(); from += kMaxPipeline) {
    const size_t to = std::min(piped.size(), from + kMaxPipeline);
    pipeline(batch, std::vector<size_t>(piped.begin() + from, piped.begin() + to), answers);
  }
  return answers;
}

void PostgresSource::pipeline(const std::vector<BatchQuery>& batch,
                              const std::vector<size_t>& chunk, BatchAnswers& answers) {
  MonoTime earliest = MonoTime::max();
  const std::atomic<bool>* cancelled = nullptr;
  for (size_t k : chunk) {
    earliest = std::min(earliest, batch[k].limits.deadline);
    if (cancelled == nullptr) cancelled = batch[k].limits.cancelled;
  }
  // Connecting is the probes' time, not the pipeline's budget.
  auto acquired = acquire(earliest, cancelled);
  if (!acquired) return;  // each query then tries on its own, and says why it failed
  std::unique_ptr<PgConnection> conn = std::move(acquired).value();
  const MonoTime cut = std::min(earliest, clock_.monotonic() + kPipelineBudget);
  bool clean = false;
  QueryWatcher::Reason fired = QueryWatcher::Reason::None;
  {
    PgConnection* c = conn.get();
    auto watch = watcher_.watch([this, c] { c->interrupt(cancels_); }, cut, cancelled);
    clean = exchange(*conn, batch, chunk, answers);
    fired = watch.finish();  // no cancel can reach the connection after this
  }
  if (fired != QueryWatcher::Reason::None) {
    // Cut short: an error now may not be that statement's own; it is left to
    // be asked on its own. The connection is dropped.
    for (size_t k : chunk)
      if (answers[k] && !answers[k]->ok()) answers[k].reset();
    return;
  }
  if (clean) release(std::move(conn));
}

bool PostgresSource::exchange(PgConnection& conn, const std::vector<BatchQuery>& batch,
                              const std::vector<size_t>& chunk, BatchAnswers& answers) {
  PGconn* pc = conn.get();
  if (PQenterPipelineMode(pc) != 1) return false;
  size_t sent = 0;
  for (size_t k : chunk) {
    const TextParams text(*batch[k].params);  // libpq copies them into its buffer
    if (PQsendQueryParams(pc, batch[k].sql->c_str(), static_cast<int>(text.raw.size()), nullptr,
                          text.raw.data(), nullptr, nullptr, 0) != 1)
      break;
    ++sent;
  }
  // One Sync after the last: one implicit transaction (read-only, the
  // session's default) in which an error aborts the statements after it.
  if (sent == 0 || PQpipelineSync(pc) != 1) return false;
  std::vector<std::pair<size_t, PgError>> errors;  // in the order read
  const bool synced = readPipeline(pc, chunk, sent, answers, errors);
  // Messages last: libpq may notice that the server closed the connection
  // only after its error. Then, as with one query() after another, the first
  // error is "lost the connection" and the later ones are asked again.
  for (size_t e = 0; e < errors.size(); ++e) {
    auto& answer = answers[errors[e].first];
    const PgError& err = errors[e].second;
    if (e > 0 && conn.broken())
      answer.reset();
    else
      answer = Result<QueryResult>::Error(failureText(err, conn.broken() && connectionError(err)));
  }
  return synced && PQexitPipelineMode(pc) == 1 && conn.idle();
}

PostgresSource::Attempt PostgresSource::execute(PgConnection& conn, const std::string& sql,
                                                const std::vector<SqlValue>& params, bool generated,
                                                Duration timeout) {
  using R = Result<QueryResult>;
  const TextParams text(params);
  const auto& raw = text.raw;
  PGconn* pc = conn.get();
  // A failed statement leaves the connection poolable only when it is idle
  // again (any transaction rolled back, no COPY in progress); a lost one is
  // dropped.
  auto failed = [&](const PgError& e) -> Attempt {
    return {R::Error(failureText(e, conn.broken())), conn.idle()};
  };
  const bool shorter = needsShorterTimeout(timeout);
  if (generated && !shorter) {
    // One round trip: a datawatch-built SELECT as a single statement, in a
    // session whose transactions default to READ ONLY with the statement timeout.
    // Without parameters, the simple protocol: one message each way, as psql does.
    auto r = raw.empty() ? run(pc, sql) : run(pc, sql, &raw);
    if (const auto* e = std::get_if<PgError>(&r)) return failed(*e);
    return {R(collectRows(std::get<PgResult>(r).get())), conn.idle()};
  }
  // Three: BEGIN READ ONLY (+ SET LOCAL when the deadline is nearer), the query
  // (the extended protocol: one statement only), COMMIT. The explicit READ ONLY
  // cannot be lifted by the statement; the session defaults are restored after
  // it in case it changed them (set_config).
  std::string begin = "BEGIN READ ONLY";
  if (shorter)
    begin +=
        "; SET LOCAL statement_timeout = " + std::to_string(std::max<int64_t>(1, timeout.count()));
  if (auto b = run(pc, begin); std::holds_alternative<PgError>(b)) {
    (void)run(pc, "ROLLBACK");
    return failed(std::get<PgError>(b));
  }
  auto r = run(pc, sql, &raw);
  if (auto* e = std::get_if<PgError>(&r)) {
    (void)run(pc, "ROLLBACK");
    return failed(*e);
  }
  if (auto c = run(pc, "COMMIT; " + sessionDefaults()); std::holds_alternative<PgError>(c)) {
    (void)run(pc, "ROLLBACK");
    return failed(std::get<PgError>(c));
  }
  return {R(collectRows(std::get<PgResult>(r).get())), conn.idle()};
}

}  // namespace datawatch
