#include "agent/http_routes.hpp"

#include "agent/status_page.hpp"
#include "core/ascii.hpp"
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

HttpReply jsonErrorReply(int status, const std::string& message) {
  return {status, "application/json", dumpJson(nlohmann::json{{"error", message}})};
}

namespace {

constexpr const char* kJson = "application/json";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `Authorization: Bearer <token>` (the scheme in any case, RFC 7235).
bool bearerMatches(std::string_view auth, const std::string& token) {
  constexpr std::string_view kScheme = "bearer ";
  if (auth.size() < kScheme.size() || asciiLower(auth.substr(0, kScheme.size())) != kScheme)
    return false;
  return tokensEqual(std::string(auth.substr(kScheme.size())), token);
}

bool isMutation(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// The methods cpp-httplib (this server's predecessor) parsed; others answer 400.
bool knownMethod(std::string_view m) {
  for (const char* k :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI"})
    if (m == k) return true;
  return false;
}

// The id after `prefix` in `path` when it is [A-Za-z0-9_-]+, else nullopt.
std::optional<std::string> idAfter(const std::string& path, std::string_view prefix) {
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  std::string id = path.substr(prefix.size());
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return std::nullopt;
  }
  return id;
}

HttpReply json(int status, const nlohmann::json& j) {
  return {status, kJson, dumpJson(j, 2)};
}

std::optional<HttpReply> routeGet(HttpApi& api, const std::string& path) {
  if (path == "/metrics")
    return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", api.metricsText()};
  if (path == "/healthz") return HttpReply{200, "text/plain", "ok\n"};
  if (path == "/readyz") {
    auto st = api.ready();
    if (st) return HttpReply{200, "text/plain", "ready\n"};
    return HttpReply{503, "text/plain", "not ready: " + st.message() + "\n"};
  }
  if (path == "/api/v1/status") return json(200, api.status());
  if (path == "/api/v1/incidents") return json(200, api.incidents());
  if (auto id = idAfter(path, "/api/v1/incidents/")) {
    auto inc = api.incident(*id);
    if (!inc) return jsonErrorReply(404, "no incident " + *id);
    return json(200, *inc);
  }
  if (path == "/api/v1/silences") return json(200, api.silences());
  if (path == kLineagePath) {
    auto graph = api.lineage();
    if (!graph) return std::nullopt;
    return json(200, *graph);
  }
  if (path == "/")
    return HttpReply{200, "text/html; charset=utf-8", renderStatusPage(api.status())};
  return std::nullopt;
}

std::optional<HttpReply> routePost(HttpApi& api, const std::string& path, const std::string& body) {
  if (path == "/-/reload") {
    auto st = api.reload();
    if (!st) return jsonErrorReply(400, st.message());
    return HttpReply{200, kJson, dumpJson(nlohmann::json{{"status", "reloaded"}})};
  }
  if (path == "/api/v1/silences") {
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded()) return jsonErrorReply(400, "the body is not valid JSON");
    auto created = api.addSilence(parsed);
    if (!created) return jsonErrorReply(400, created.error());
    return json(201, *created);
  }
  if (path == kLineagePath) {
    auto [status, answer] = api.receiveLineage(body);
    return json(status, answer);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> requestPath(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '%') {
      out += target[i];
      continue;
    }
    const int hi = i + 2 < target.size() ? hexDigit(target[i + 1]) : -1;
    const int lo = hi >= 0 ? hexDigit(target[i + 2]) : -1;
    if (lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<HttpReply> refuseUnauthorized(HttpApi& api, const HttpRequestHead& head) {
  if (!isMutation(head.method)) return std::nullopt;
  if (head.method == "POST" && head.path == kLineagePath) {
    // OpenLineage's own token (its transport's api_key), or none when unset.
    auto token = api.lineageToken();
    if (token && !bearerMatches(head.authorization, *token))
      return jsonErrorReply(401, "missing or wrong bearer token (agent.lineage_token)");
    return std::nullopt;
  }
  auto token = api.apiToken();
  if (!token) {
    const bool reload = head.path == "/-/reload";
    return jsonErrorReply(403, std::string(reload ? "reload" : "changing silences") +
                                   " over HTTP is disabled: set agent.api_token");
  }
  if (!bearerMatches(head.authorization, *token))
    return jsonErrorReply(401, "missing or wrong bearer token");
  return std::nullopt;
}

HttpReply routeRequest(HttpApi& api, const HttpRequestHead& head, const std::string& body) {
  if (!knownMethod(head.method)) return jsonErrorReply(400, "unsupported method");
  std::optional<HttpReply> reply;
  if (head.method == "GET" || head.method == "HEAD") {
    reply = routeGet(api, head.path);
  } else if (head.method == "POST") {
    reply = routePost(api, head.path, body);
  } else if (head.method == "DELETE") {
    if (auto id = idAfter(head.path, "/api/v1/silences/")) {
      auto st = api.deleteSilence(*id);
      reply = st ? HttpReply{204, "", ""} : jsonErrorReply(404, st.message());
    }
  }
  return reply ? std::move(*reply) : jsonErrorReply(404, "not found");
}

}  // namespace datawatch
