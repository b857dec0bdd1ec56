#pragma once
// The agent's HTTP endpoints (SPEC §7) on cpp-httplib: /metrics, /healthz,
// /readyz, /-/reload, /api/v1/status, /api/v1/silences and the status page at /.
// Handlers run on httplib's threads and call the Api, which must be thread-safe.
//
// Limits (an unauthenticated client must not be able to exhaust the agent):
// - a request body is at most kMaxBody and must come with a Content-Length;
//   larger or chunked bodies are refused with 413 before any of it is read;
// - mutations (POST, PUT, PATCH, DELETE) are authorised from the headers,
//   before the body is read (401/403);
// - a refused request closes its connection (its body is never read);
// - a client that stops sending mid-request is disconnected after
//   kReadTimeout (answered 400), and its connection closed kKeepAliveTimeout
//   later; an idle keep-alive connection is closed after kKeepAliveTimeout;
// - a handler that throws answers 500 and is logged at error level.

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/result.hpp"

namespace httplib {
class Server;
}

namespace datawatch {

class HttpApi {
 public:
  virtual ~HttpApi() = default;
  virtual std::string metricsText() = 0;
  virtual nlohmann::json status() = 0;
  virtual Status ready() = 0;   // config loaded and state store reachable
  virtual Status reload() = 0;  // same as SIGHUP
  virtual std::optional<std::string> apiToken() = 0;
  // Silences (SPEC §7): the list; a new API silence from a request body (the
  // error explains a bad body); removal (an error when there is no such API
  // silence).
  virtual nlohmann::json silences() = 0;
  virtual Result<nlohmann::json> addSilence(const nlohmann::json& body) = 0;
  virtual Status deleteSilence(const std::string& id) = 0;
  // Incidents (SPEC §6, §7): newest first; one with its timeline, or nullopt.
  virtual nlohmann::json incidents() = 0;
  virtual std::optional<nlohmann::json> incident(const std::string& id) = 0;
};

class HttpServer {
 public:
  static constexpr size_t kMaxBody = 1024 * 1024;
  static constexpr std::chrono::seconds kReadTimeout{5};
  static constexpr std::chrono::seconds kKeepAliveTimeout{2};

  // `log` (may be null) receives the handlers' exceptions.
  explicit HttpServer(HttpApi& api, std::shared_ptr<spdlog::logger> log = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds HOST:PORT (port 0 picks a free one) and serves on a background thread.
  // Returns the bound port.
  Result<int> start(const std::string& listen);
  void stop();

 private:
  void routes();
  void limits();
  HttpApi& api_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Constant-time comparison for bearer tokens.
bool tokensEqual(const std::string& a, const std::string& b);

}  // namespace datawatch
