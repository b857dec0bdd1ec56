#pragma once
// Logging with spdlog: readable lines on a terminal, or JSON lines. Every message
// passes through the current Redactor before it is written, so secrets of the
// loaded config never reach the log.

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "core/mutex.hpp"
#include "core/redact.hpp"

namespace datawatch {

enum class LogFormat { Text, Json };

// Holds the Redactor of the config in force; swapped on reload. Thread-safe.
class RedactorHolder {
 public:
  void set(std::shared_ptr<const Redactor> r) {
    MutexLock lock(mu_);
    r_ = std::move(r);
  }
  std::shared_ptr<const Redactor> get() const {
    MutexLock lock(mu_);
    return r_;
  }
  std::string redact(std::string_view s) const {
    auto r = get();
    return r ? r->redact(s) : Redactor::redactDsn(s);
  }
  // A copy of `j` with every string (keys stay) redacted: for API and CLI output.
  nlohmann::json redactJson(const nlohmann::json& j) const {
    if (j.is_string()) return redact(j.get_ref<const std::string&>());
    if (!j.is_structured()) return j;
    nlohmann::json out = j;
    for (auto& [key, value] : out.items()) value = redactJson(value);
    return out;
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const Redactor> r_ GUARDED_BY(mu_);
};

// A logger writing to stderr. `name` appears in JSON lines as "logger".
std::shared_ptr<spdlog::logger> makeLogger(LogFormat format, spdlog::level::level_enum level,
                                           std::shared_ptr<RedactorHolder> redactor);

}  // namespace datawatch
