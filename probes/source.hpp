#pragma once
// Source: a connection to where data lives (a database, a Kafka cluster).
// SqlSource: a source that answers read-only SQL with bound parameters.
//
// Contract for every implementation:
// - Thread-safe: query() may be called from several workers at once (up to the
//   source's max_connections, which the scheduler enforces).
// - Read-only: every query runs in a read-only transaction.
// - Never throws for runtime failures (connection refused, timeout, missing
//   table): they come back as a Status error with a clear, redacted message.
// - Valid UTF-8 out: every string a query returns (column names, text values) is
//   valid UTF-8, each invalid sequence in the data replaced by U+FFFD (toValidUtf8,
//   core/utf8.hpp). Probes may put source text in results as it comes.
// - Limits honoured: a statement still running at QueryLimits::deadline is
//   interrupted (PostgreSQL: at once, whatever the server's state, and a cancel
//   request sent to the server), and QueryLimits::cancelled is honoured within
//   ~100 ms; either way query() returns a Status error saying
//   "timed out" or "cancelled", and the source stays usable (the connection is
//   reset or discarded).

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/types.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "probes/dialect.hpp"
#include "probes/sql_value.hpp"

namespace datawatch {

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
};

// Limits of one query: a deadline on the source's clock, and a flag the agent
// sets to abandon in-flight work on shutdown (honoured within ~100 ms).
struct QueryLimits {
  MonoTime deadline = MonoTime::max();
  const std::atomic<bool>* cancelled = nullptr;
  // True for a SELECT built wholly by datawatch (quoted identifiers, bound values,
  // no user-written SQL such as a `filter` or a sql probe's query). A source may
  // then skip the explicit transaction around it (PostgreSQL: one round trip in a
  // session whose default is read-only). User SQL always gets the full treatment.
  bool generated = false;
};

// `limits` for a query datawatch built; `with_user_sql` when a user fragment
// (a `filter`) is part of it.
inline QueryLimits builtQuery(QueryLimits limits, bool with_user_sql = false) {
  limits.generated = !with_user_sql;
  return limits;
}

// One query of a batch (SqlSource::queryBatch); the pointers outlive the call.
struct BatchQuery {
  const std::string* sql;
  const std::vector<SqlValue>* params;
  QueryLimits limits;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  virtual config::SourceType type() const = 0;
};

class SqlSource : public Source {
 public:
  // Runs one read-only statement with positional parameters (see placeholder()).
  virtual Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                                    const QueryLimits& limits) = 0;
  // The SQL this source speaks: every statement a probe builds goes through it.
  virtual const Dialect& dialect() const = 0;
  // The n-th (1-based) parameter marker: "?1" (SQLite), "$1" (PostgreSQL). A
  // marker may appear in any order and more than once; ODBC sources, whose
  // driver takes plain positional "?", rewrite them (odbc_source.hpp).
  virtual std::string placeholder(int n) const = 0;
  Placeholder placeholders() const {
    return [this](int n) { return placeholder(n); };
  }
  // Several queries sent together, answered in order. An answer given is the
  // one query() would give that query with its limits; an empty one was not
  // answered in the batch (not sendable together, aborted after another's
  // error, cut short): ask it on its own. The default answers each with
  // query(). A source that sends them together says so with batchesQueries()
  // (PostgreSQL: libpq's pipeline mode, one round trip and one wake-up for the
  // lot instead of one each; issue 19).
  using BatchAnswers = std::vector<std::optional<Result<QueryResult>>>;
  virtual BatchAnswers queryBatch(const std::vector<BatchQuery>& batch);
  virtual bool batchesQueries() const { return false; }
};

// "$3", "?3": a numbered parameter marker (out of line: GCC 12's -O2 reports a
// false -Wstringop-overflow for "$" + std::to_string(n) inlined into callers).
std::string numberedMarker(char prefix, int n);

// Quotes one identifier in standard SQL: foo -> "foo", a"b -> "a""b" (PostgreSQL,
// SQLite; the state stores use it). Probes quote through their source's Dialect.
std::string quoteIdentifier(std::string_view name);
// Quotes a dotted name part by part: shop.orders -> "shop"."orders".
std::string quoteQualified(std::string_view dotted);

// Renders a SqlValue for messages and details.
std::string sqlValueToString(const SqlValue& v);
std::optional<double> sqlValueToDouble(const SqlValue& v);

}  // namespace datawatch
