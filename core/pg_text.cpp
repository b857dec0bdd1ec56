#include "core/pg_text.hpp"

namespace datawatch {

std::string pgFirstLine(const std::string& message) {
  std::string out = message.substr(0, message.find('\n'));
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (out.rfind(prefix, 0) == 0) out = out.substr(std::string(prefix).size());
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string pgDsnWithDefaults(const std::string& dsn, const std::string& application_name,
                              int connect_timeout_seconds) {
  const bool url = dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
  std::string out = dsn;
  auto add = [&](const std::string& key, const std::string& value) {
    if (out.find(key + "=") != std::string::npos) return;
    if (url) {
      out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    } else {
      out += (out.empty() ? "" : " ") + key + "=" + value;
    }
  };
  add("application_name", application_name);
  add("connect_timeout", std::to_string(connect_timeout_seconds));
  return out;
}

}  // namespace datawatch
