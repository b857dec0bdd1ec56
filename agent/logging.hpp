#pragma once
// Logging with spdlog: readable lines on a terminal, or JSON lines. Every message
// passes through the current Redactor before it is written, so secrets of the
// loaded config never reach the log.

#include <spdlog/logger.h>

#include <memory>
#include <mutex>

#include "core/redact.hpp"

namespace datawatch {

enum class LogFormat { Text, Json };

// Holds the Redactor of the config in force; swapped on reload. Thread-safe.
class RedactorHolder {
 public:
  void set(std::shared_ptr<const Redactor> r) {
    std::lock_guard lock(mu_);
    r_ = std::move(r);
  }
  std::shared_ptr<const Redactor> get() const {
    std::lock_guard lock(mu_);
    return r_;
  }
  std::string redact(std::string_view s) const {
    auto r = get();
    return r ? r->redact(s) : Redactor::redactDsn(s);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Redactor> r_;
};

// A logger writing to stderr. `name` appears in JSON lines as "logger".
std::shared_ptr<spdlog::logger> makeLogger(LogFormat format, spdlog::level::level_enum level,
                                           std::shared_ptr<RedactorHolder> redactor);

}  // namespace datawatch
