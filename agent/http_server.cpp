#include "agent/http_server.hpp"

#include "agent/status_page.hpp"

#include <httplib.h>

#include <cstdio>

#include <charconv>

#include "core/markup.hpp"
#include "core/utf8.hpp"

namespace datawatch {

bool tokensEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

void jsonError(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(dumpJson(nlohmann::json{{"error", message}}), "application/json");
}

// Mutations need `Authorization: Bearer <agent.api_token>`; false (and the
// response set) when the request may not go on.
bool authorized(HttpApi& api, const httplib::Request& req, httplib::Response& res) {
  auto token = api.apiToken();
  if (!token) {
    const bool reload = req.path == "/-/reload";
    jsonError(res, 403,
              std::string(reload ? "reload" : "changing silences") +
                  " over HTTP is disabled: set agent.api_token");
    return false;
  }
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) != 0 || !tokensEqual(auth.substr(7), *token)) {
    jsonError(res, 401, "missing or wrong bearer token");
    return false;
  }
  return true;
}

bool mutation(const httplib::Request& req) {
  return req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
         req.method == "DELETE";
}

// A body this server will not read: chunked (its size unknown until read) or
// declared larger than `max`.
bool bodyTooLarge(const httplib::Request& req, size_t max) {
  if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) return true;
  if (!req.has_header("Content-Length")) return false;
  const std::string len = req.get_header_value("Content-Length");
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  return ec != std::errc() || p != len.data() + len.size() || n > max;
}

}  // namespace

HttpServer::HttpServer(HttpApi& api, std::shared_ptr<spdlog::logger> log)
    : api_(api), log_(std::move(log)), server_(std::make_unique<httplib::Server>()) {
  limits();
  routes();
}

void HttpServer::limits() {
  auto& s = *server_;
  s.set_payload_max_length(kMaxBody);
  s.set_read_timeout(kReadTimeout);
  s.set_write_timeout(kReadTimeout);
  s.set_keep_alive_timeout(kKeepAliveTimeout.count());
  // Runs once the headers are in, before any of the body is read.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool refuse = bodyTooLarge(req, kMaxBody);
    if (refuse) {
      jsonError(res, 413,
                "request body too large: at most " + std::to_string(kMaxBody) +
                    " bytes, with a Content-Length");
    }
    if (!refuse && (!mutation(req) || authorized(api_, req, res)))
      return httplib::Server::HandlerResponse::Unhandled;
    // Its body is never read: the answer says "Connection: close" (httplib
    // takes that from the request, here a mutable local of its own).
    const_cast<httplib::Request&>(req).set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        if (log_) log_->error("HTTP {} {}: the handler threw: {}", req.method, req.path, what);
        jsonError(res, 500, "internal error");
      });
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::routes() {
  auto& s = *server_;
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(api_.metricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto st = api_.ready();
    if (st) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + st.message() + "\n", "text/plain");
    }
  });
  // Mutations were authorised before routing (limits()).
  s.Post("/-/reload", [this](const httplib::Request&, httplib::Response& res) {
    auto st = api_.reload();
    if (!st) return jsonError(res, 400, st.message());
    res.set_content(dumpJson(nlohmann::json{{"status", "reloaded"}}), "application/json");
  });
  s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dumpJson(api_.status(), 2), "application/json");
  });
  s.Get("/api/v1/incidents", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dumpJson(api_.incidents(), 2), "application/json");
  });
  s.Get(R"(/api/v1/incidents/([A-Za-z0-9_-]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          auto inc = api_.incident(req.matches[1]);
          if (!inc) return jsonError(res, 404, "no incident " + std::string(req.matches[1]));
          res.set_content(dumpJson(*inc, 2), "application/json");
        });
  s.Get("/api/v1/silences", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dumpJson(api_.silences(), 2), "application/json");
  });
  s.Post("/api/v1/silences", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return jsonError(res, 400, "the body is not valid JSON");
    auto created = api_.addSilence(body);
    if (!created) return jsonError(res, 400, created.error());
    res.status = 201;
    res.set_content(dumpJson(*created, 2), "application/json");
  });
  s.Delete(R"(/api/v1/silences/([A-Za-z0-9_-]+))",
           [this](const httplib::Request& req, httplib::Response& res) {
             auto st = api_.deleteSilence(req.matches[1]);
             if (!st) return jsonError(res, 404, st.message());
             res.status = 204;
           });
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(renderStatusPage(api_.status()), "text/html; charset=utf-8");
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) jsonError(res, 404, "not found");
  });
}

Result<int> HttpServer::start(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return Result<int>::Error("listen address must be HOST:PORT, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  const std::string ps = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port < 0 || port > 65535) {
    return Result<int>::Error("listen address must be HOST:PORT, got \"" + listen + "\"");
  }
  if (port == 0) {
    port = server_->bind_to_any_port(host);
    if (port < 0) return Result<int>::Error("cannot listen on " + listen);
  } else if (!server_->bind_to_port(host, port)) {
    return Result<int>::Error("cannot listen on " + listen + " (address in use or not available)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port;
}

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace datawatch
