#pragma once
// The HTTP routes of HttpServer (http_server.hpp), independent of the
// transport: a parsed request in, the answer out. Messages and status codes are
// the API's (SPEC §7); errors are JSON {"error": "..."}.

#include <optional>
#include <string>
#include <string_view>

#include "agent/http_server.hpp"

namespace datawatch {

struct HttpRequestHead {
  std::string_view method;         // as sent ("GET", "HEAD", ...)
  std::string path;                // percent-decoded, without the query string
  std::string_view authorization;  // the Authorization header, "" when absent
};

struct HttpReply {
  int status = 200;
  std::string content_type;  // "" with no body (204)
  std::string body;
};

HttpReply jsonErrorReply(int status, const std::string& message);

// The path of a request target: up to the '?', %XX decoded ('+' stays '+').
// nullopt for a bad escape.
std::optional<std::string> requestPath(std::string_view target);

// A refusal of a request from its headers alone, before its body is read: a
// mutation (POST, PUT, PATCH, DELETE) without the API token (403 when none is
// configured, 401 when missing or wrong); nullopt when it may go on.
std::optional<HttpReply> refuseUnauthorized(HttpApi& api, const HttpRequestHead& head);

// The answer to a request the server accepted (authorised, body read). HEAD is
// routed as GET (the server drops the body). Throws what the Api throws.
HttpReply routeRequest(HttpApi& api, const HttpRequestHead& head, const std::string& body);

}  // namespace datawatch
