#include "core/redact.hpp"

#include <algorithm>
#include <cctype>

namespace datawatch {

Redactor::Redactor(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
  // Very short values ("1", "on") would mask ordinary words; they are not secrets worth hiding.
  std::erase_if(secrets_, [](const std::string& s) { return s.size() < 4; });
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
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
  // key=value form and query parameters: password=..., passwd=..., token=..., secret=...
  for (std::string_view key : {"password=", "passwd=", "token=", "secret=", "sasl.password="}) {
    size_t pos = 0;
    while ((pos = out.find(key, pos)) != std::string::npos) {
      const bool boundary = pos == 0 || !std::isalnum(static_cast<unsigned char>(out[pos - 1]));
      size_t start = pos + key.size();
      if (!boundary) {
        pos = start;
        continue;
      }
      size_t end = start;
      if (end < out.size() && out[end] == '\'') {
        end = out.find('\'', end + 1);
        end = end == std::string::npos ? out.size() : end + 1;
      } else {
        while (end < out.size() && !std::isspace(static_cast<unsigned char>(out[end])) &&
               out[end] != '&' && out[end] != '"' && out[end] != ',')
          ++end;
      }
      out.replace(start, end - start, kMask);
      pos = start + kMask.size();
    }
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
