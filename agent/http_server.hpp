#pragma once
// The agent's HTTP endpoints (SPEC §7) on Boost.Beast/Asio (header-only):
// /metrics, /healthz, /readyz, /-/reload, /api/v1/status, /api/v1/incidents,
// /api/v1/silences and the status page at /. HTTP/1.1 with keep-alive; HEAD is
// answered for every GET route (no body, the GET's Content-Length); the query
// string is ignored and the path percent-decoded; an unknown path or method on
// a known path answers 404 {"error": ...}, an unknown method 400.
//
// Threads: one io_context on ONE thread (the server thread, started by
// start()): accepting, reading, the handlers and writing all run there, so a
// slow handler delays the others. Handlers call the Api synchronously (it must
// be thread-safe: other threads change what it reports). The slowest are
// /-/reload (loads the configuration; waits for a reload or a stop in
// progress: up to the drain grace while the agent stops) and /api/v1/status
// and / (a snapshot of every probe); the rest take microseconds to
// milliseconds (/metrics renders the metrics' rows). No exception leaves the thread
// (it is logged at error level).
//
// Limits (an unauthenticated client must not be able to exhaust the agent):
// - at most kMaxConnections connections at once: beyond it, a new connection
//   is closed as soon as it is accepted;
// - the request line and headers are at most kMaxHeader bytes together (431,
//   closed; never more than 2 x kMaxHeader of them is read);
// - a request body is at most kMaxBody and must come with a Content-Length;
//   larger or chunked bodies are refused with 413 before any of it is read;
// - mutations (POST, PUT, PATCH, DELETE) are authorised from the headers,
//   before the body is read (401/403);
// - a refused request closes its connection (its body is never read: after
//   the answer, what the client still sends is discarded, for at most
//   kLinger and kMaxBody bytes, so that it can read the answer; then the
//   connection is closed);
// - a request must arrive whole within kReadTimeout of its first byte: a
//   client that stops sending mid-request is answered 400 and disconnected;
// - a connection must start its next request (its first, too) within
//   kKeepAliveTimeout, or it is closed; an answer must be written within
//   kReadTimeout, or the connection is closed;
// - a handler that throws answers 500 and is logged at error level.
// stop() closes the listener and every connection and joins the thread; it is
// idempotent and the destructor calls it.

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "core/result.hpp"

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
  // OpenLineage (docs/lineage.md), POST and GET /api/v1/lineage: the bearer
  // token a POST needs (nullopt: none); a body received -> the HTTP status and
  // JSON answer; the graph (nullopt: not served, 404); a request refused before
  // its body was read (401, 413), for the rejected-events counter.
  virtual std::optional<std::string> lineageToken() { return std::nullopt; }
  virtual std::pair<int, nlohmann::json> receiveLineage(const std::string& body) {
    (void)body;
    return {404, {{"error", "OpenLineage events are not received here"}}};
  }
  virtual std::optional<nlohmann::json> lineage() { return std::nullopt; }
  virtual void lineageRefused() {}
};

// The path OpenLineage's HTTP transport posts to (as Marquez receives it).
inline constexpr const char* kLineagePath = "/api/v1/lineage";

class HttpServer {
 public:
  static constexpr size_t kMaxBody = 1024 * 1024;
  static constexpr std::chrono::seconds kReadTimeout{5};
  static constexpr std::chrono::seconds kKeepAliveTimeout{2};
  static constexpr size_t kMaxHeader = 16 * 1024;
  static constexpr size_t kMaxConnections = 64;
  static constexpr std::chrono::seconds kLinger{1};

  // `log` (may be null) receives the handlers' exceptions.
  explicit HttpServer(HttpApi& api, std::shared_ptr<spdlog::logger> log = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds HOST:PORT (port 0 picks a free one) and serves on a background thread.
  // Returns the bound port. Once per server.
  Result<int> start(const std::string& listen);
  void stop();

  class Core;  // the io_context, the listener and the connections (http_server.cpp)

 private:
  std::unique_ptr<Core> core_;
  std::mutex stop_mu_;
  std::thread thread_;
};

// Constant-time comparison for bearer tokens.
bool tokensEqual(const std::string& a, const std::string& b);

}  // namespace datawatch
