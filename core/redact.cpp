#include "core/redact.hpp"

#include <algorithm>
#include <cctype>

namespace datawatch {

namespace {

bool isKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Keys whose value is a secret, case-insensitively: PWD, Password, passwd,
// sasl.password, and any key naming a token or a secret (AccessToken,
// client_secret...).

// Where the value starting at `start` ends. {braced} (ODBC, "}}" escapes a brace)
// and 'quoted' (libpq) values end at their closing character; in a line that
// holds a ';' (an ODBC connection string) a value runs to the next ';' or the end
// of the line, spaces included; otherwise it ends at a space, '&', '"' or ','.
size_t valueEnd(const std::string& s, size_t start) {
  if (start < s.size() && s[start] == '{') {
    for (size_t i = start + 1; i < s.size(); ++i) {
      if (s[i] != '}') continue;
      if (i + 1 < s.size() && s[i + 1] == '}') {
        ++i;
        continue;
      }
      return i + 1;
    }
    return s.size();
  }
  if (start < s.size() && s[start] == '\'') {
    const size_t close = s.find('\'', start + 1);
    return close == std::string::npos ? s.size() : close + 1;
  }
  const size_t line_begin = s.rfind('\n', start) == std::string::npos ? 0 : s.rfind('\n', start);
  const size_t line_end = std::min(s.find('\n', start), s.size());
  const size_t semi = s.find(';', line_begin);
  if (semi != std::string::npos && semi < line_end) {
    const size_t next = s.find(';', start);
    return std::min(next == std::string::npos ? s.size() : next, line_end);
  }
  size_t end = start;
  while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end])) && s[end] != '&' &&
         s[end] != '"' && s[end] != ',')
    ++end;
  return end;
}

}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
  // Very short values ("1", "on") would mask ordinary words; they are not secrets worth hiding.
  std::erase_if(secrets_, [](const std::string& s) { return s.size() < 4; });
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

bool Redactor::isSecretKey(std::string_view key) {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view part : {"pwd", "passw", "token", "secret", "key", "credential"})
    if (k.find(part) != std::string::npos) return true;
  return false;
}

std::string Redactor::redactDsn(std::string_view dsn) {
  std::string out(dsn);
  // URL form: scheme://user:password@host
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    // The userinfo ends at the LAST '@': a password that is not percent-encoded
    // may hold '@', '/' or '#', and none of it may leak past the mask (an '@'
    // later in the URL only masks more).
    const auto at = out.rfind('@');
    if (at != std::string::npos && at > scheme + 3) {
      auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, kMask);
      }
    }
  }
  // key=value forms: libpq (password=... dbname=x), URL query (&token=...) and
  // ODBC connection strings (Driver=...;PWD=...;Server=...).
  size_t eq = 0;
  while ((eq = out.find('=', eq)) != std::string::npos) {
    size_t key = eq;
    while (key > 0 && isKeyChar(out[key - 1])) --key;
    const size_t start = eq + 1;
    if (key == eq || !isSecretKey(std::string_view(out).substr(key, eq - key))) {
      eq = start;
      continue;
    }
    const size_t end = valueEnd(out, start);
    out.replace(start, end - start, kMask);
    eq = start + kMask.size();
  }
  return out;
}

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return redactDsn(out);
}

}  // namespace datawatch
