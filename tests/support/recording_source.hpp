#pragma once
// RecordingSource: a SqlSource that runs nothing. It speaks a chosen Dialect
// with "$n" placeholders (as the PostgreSQL and ODBC sources take them), records
// every statement a probe sends with its parameters, and answers each from a
// script of canned steps, in order. A test picks the answers so that every
// code path of a probe runs (dialect_sql_test.cpp's golden files).
//
// Invariants:
// - Statement i is answered by step i; its label (the step's) names it in the
//   record. A statement beyond the script is recorded with the label
//   "(unexpected)" and answered with an error, so a probe that sends more than
//   the test expects fails loudly (answered() < sent()).
// - Never throws; single-threaded use (one probe run at a time).

#include <string>
#include <utility>
#include <vector>

#include "probes/dialect.hpp"
#include "probes/source.hpp"

namespace datawatch::testing {

// One expected statement: a label for the golden file and the rows it gets.
struct CannedStep {
  std::string label;
  QueryResult answer;
};

// One statement as the probe sent it.
struct RecordedStatement {
  std::string label;
  std::string sql;
  std::vector<SqlValue> params;
};

// Rows of one column each, or of several: rows({{1.5}}), rows({{"a", 3}, {"b", 1}}).
inline QueryResult rows(std::vector<std::vector<SqlValue>> r) {
  QueryResult q;
  q.rows = std::move(r);
  if (!q.rows.empty())
    for (size_t i = 0; i < q.rows[0].size(); ++i) q.columns.push_back("c" + std::to_string(i + 1));
  return q;
}

class RecordingSource final : public SqlSource {
 public:
  RecordingSource(DialectId dialect, std::vector<CannedStep> script)
      : dialect_(dialectFor(dialect)), script_(std::move(script)) {}

  const std::string& name() const override { return name_; }
  config::SourceType type() const override { return config::SourceType::Odbc; }
  const Dialect& dialect() const override { return dialect_; }
  std::string placeholder(int n) const override { return numberedMarker('$', n); }

  Result<QueryResult> query(const std::string& sql, const std::vector<SqlValue>& params,
                            const QueryLimits&) override {
    const size_t i = recorded_.size();
    if (i >= script_.size()) {
      recorded_.push_back({"(unexpected)", sql, params});
      return Result<QueryResult>::Error("no canned answer for statement " + std::to_string(i + 1) +
                                        ": " + sql);
    }
    recorded_.push_back({script_[i].label, sql, params});
    return script_[i].answer;
  }

  const std::vector<RecordedStatement>& recorded() const { return recorded_; }
  size_t scripted() const { return script_.size(); }
  // Statements answered from the script (all of it when the probe ran as expected).
  size_t answered() const { return std::min(recorded_.size(), script_.size()); }

 private:
  std::string name_ = "recorded";
  const Dialect& dialect_;
  std::vector<CannedStep> script_;
  std::vector<RecordedStatement> recorded_;
};

}  // namespace datawatch::testing
