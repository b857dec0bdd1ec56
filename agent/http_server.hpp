#pragma once
// The agent's HTTP endpoints (SPEC §7) on cpp-httplib: /metrics, /healthz,
// /readyz, /-/reload, /api/v1/status, /api/v1/silences and the status page at /.
// Handlers run on httplib's threads and call the Api, which must be thread-safe.

#include <nlohmann/json.hpp>

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
  explicit HttpServer(HttpApi& api);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds HOST:PORT (port 0 picks a free one) and serves on a background thread.
  // Returns the bound port.
  Result<int> start(const std::string& listen);
  void stop();

 private:
  void routes();
  HttpApi& api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Constant-time comparison for bearer tokens.
bool tokensEqual(const std::string& a, const std::string& b);

}  // namespace datawatch
