// OdbcSource::rewritePlaceholders: "$n" markers -> "?" (see odbc_source.hpp).

#include <algorithm>
#include <cctype>
#include <vector>

#include "probes/odbc_source.hpp"

namespace datawatch {

namespace {

bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The index just past a run quoted by `close` that starts after its opening
// character at `i`; a doubled closing character is an escaped one, and with
// `backslash` so is any character after a backslash. s.size() when it never closes.
size_t skipQuoted(const std::string& s, size_t i, char close, bool backslash = false) {
  while (i < s.size()) {
    if (backslash && s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] == close) {
      if (i + 1 < s.size() && s[i + 1] == close) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return s.size();
}

// A dollar-quote tag at `i` ("$$", "$tag$"): its length, or 0 when there is none.
size_t dollarTag(const std::string& s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) != 0)) return 0;
  while (j < s.size() && isIdentChar(s[j])) ++j;
  return j < s.size() && s[j] == '$' ? j - i + 1 : 0;
}

// The index just past whitespace and comments from `i`.
size_t skipBlank(const std::string& s, size_t i) {
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (s.compare(i, 2, "--") == 0) {
      i = s.find('\n', i);
      if (i == std::string::npos) return s.size();
    } else if (s.compare(i, 2, "/*") == 0) {
      const size_t end = s.find("*/", i + 2);
      if (end == std::string::npos) return s.size();
      i = end + 2;
    } else {
      return i;
    }
  }
}

}  // namespace

Result<OdbcSource::Rewritten> OdbcSource::rewritePlaceholders(const std::string& sql,
                                                              size_t param_count,
                                                              BackslashEscapes escapes) {
  using R = Result<Rewritten>;
  Rewritten out;
  out.sql.reserve(sql.size());
  size_t i = 0;
  auto copyTo = [&](size_t end) {
    out.sql.append(sql, i, end - i);
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    const char prev = i > 0 ? sql[i - 1] : ' ';
    if (c == '\'' || c == '"' || c == '`') {
      copyTo(std::min(sql.size(),
                      skipQuoted(sql, i + 1, c, c == '`' ? escapes.names : escapes.strings)));
    } else if (c == '[' && !isIdentChar(prev) && prev != ')' && prev != ']') {
      copyTo(skipQuoted(sql, i + 1, ']'));
    } else if (sql.compare(i, 2, "--") == 0 || sql.compare(i, 2, "/*") == 0) {
      copyTo(skipBlank(sql, i));
    } else if (c == ';') {
      if (skipBlank(sql, i + 1) < sql.size())
        return R::Error("only one statement may run per query: a ';' is followed by more SQL");
      copyTo(i + 1);
    } else if (c == '$' && !isIdentChar(prev) && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1])) != 0) {
      size_t j = i + 1;
      size_t n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])) != 0) {
        n = std::min<size_t>(n * 10 + static_cast<size_t>(sql[j] - '0'), 1000000);
        ++j;
      }
      if (n == 0 || n > param_count)
        return R::Error("parameter marker " + sql.substr(i, j - i) + " has no value (" +
                        std::to_string(param_count) + " given)");
      out.sql += '?';
      out.order.push_back(static_cast<int>(n));
      i = j;
    } else if (c == '$' && !isIdentChar(prev) && dollarTag(sql, i) > 0) {
      const size_t tag = dollarTag(sql, i);
      const size_t close = sql.find(sql.substr(i, tag), i + tag);
      copyTo(close == std::string::npos ? sql.size() : close + tag);
    } else {
      copyTo(i + 1);
    }
  }
  return R(std::move(out));
}

Status OdbcSource::checkUserStatement(const std::string& sql) {
  static const std::vector<std::string> kQueries{"SELECT", "WITH",    "VALUES",   "TABLE",
                                                 "SHOW",   "EXPLAIN", "DESCRIBE", "DESC"};
  std::vector<std::string> words;  // bare words, upper-cased, outside quotes and comments
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      i = skipQuoted(sql, i + 1, c, true);
    } else if (c == '[') {
      i = skipQuoted(sql, i + 1, ']');
    } else if (sql.compare(i, 2, "--") == 0 || sql.compare(i, 2, "/*") == 0) {
      i = skipBlank(sql, i);
    } else if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
      std::string w;
      while (i < sql.size() && isIdentChar(sql[i]))
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
      words.push_back(std::move(w));
    } else {
      ++i;
    }
  }
  if (words.empty() || std::find(kQueries.begin(), kQueries.end(), words[0]) == kQueries.end())
    return Status::Error(
        "query refused: probes may only read; a sql probe's query must start "
        "with SELECT or WITH (this one starts with " +
        (words.empty() ? std::string("nothing") : words[0]) + ")");
  if (std::find(words.begin(), words.end(), "INTO") != words.end())
    return Status::Error(
        "query refused: probes may only read; SELECT ... INTO writes a table, "
        "a file or a variable");
  return Status::Ok();
}

}  // namespace datawatch
