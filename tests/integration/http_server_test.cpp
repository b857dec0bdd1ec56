// HttpServer (Boost.Beast) on its own, with a fake Api: the connection bound,
// the header limit, many concurrent keep-alive clients, and the routes' edges
// (HEAD, query strings, 404, 500, refusals). The limits on bodies, stalls and
// authorisation are tested on the agent binary in agent_stop_test.cpp.

#include "agent/http_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tests/support/tcp.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;

namespace {

const std::string kMetrics = "datawatch_up 1\n";

class FakeApi : public HttpApi {
 public:
  std::string metricsText() override {
    ++metrics_calls;
    return kMetrics;
  }
  nlohmann::json status() override {
    ++status_calls;
    if (throw_status) throw std::runtime_error("status broke");
    return {{"probes", 3}};
  }
  Status ready() override { return Status::Ok(); }
  Status reload() override { return Status::Ok(); }
  std::optional<std::string> apiToken() override { return token; }
  nlohmann::json silences() override { return nlohmann::json::array(); }
  Result<nlohmann::json> addSilence(const nlohmann::json&) override {
    return Result<nlohmann::json>::Error("no matchers");
  }
  Status deleteSilence(const std::string& id) override { return Status::Error("no silence " + id); }
  nlohmann::json incidents() override { return nlohmann::json::array(); }
  std::optional<nlohmann::json> incident(const std::string&) override { return std::nullopt; }

  std::atomic<int> metrics_calls{0};
  std::atomic<int> status_calls{0};
  std::atomic<bool> throw_status{false};
  std::optional<std::string> token = std::string("tok-1");
};

bool sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// What the server sends on `fd` until it closes the connection or `quiet`
// passes without a byte; `closed` tells which.
std::string readUntilClosed(int fd, std::chrono::milliseconds quiet, bool& closed) {
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  closed = false;
  while (!closed && ::poll(&p, 1, static_cast<int>(quiet.count())) == 1) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    closed = n <= 0;
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// One request on a new connection that asks to be closed: the whole answer.
std::string roundTrip(int port, const std::string& request) {
  const int fd = connectTo(port);
  if (fd < 0) return "";
  bool closed = false;
  std::string answer = sendAll(fd, request) ? readUntilClosed(fd, 3000ms, closed) : "";
  ::close(fd);
  return answer;
}

struct Served {
  FakeApi api;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>(
      "http", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  HttpServer server{api, log};
  int port = 0;
  Served() {
    auto bound = server.start("127.0.0.1:0");
    if (!bound) throw std::runtime_error(bound.error());
    port = *bound;
  }
};

}  // namespace

TEST_CASE("the HTTP server closes connections beyond 64 at once and serves again once they go",
          "[integration][http][threads]") {
  Served s;
  REQUIRE(HttpServer::kMaxConnections == 64);
  std::vector<int> idle;
  for (int i = 0; i < 64; ++i) {
    idle.push_back(connectTo(s.port));
    REQUIRE(idle.back() >= 0);
  }
  // The 65th is accepted (by the kernel) and closed by the server at once,
  // well before the 2 s keep-alive timeout would close an idle one.
  const int extra = connectTo(s.port);
  REQUIRE(extra >= 0);
  bool closed = false;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(readUntilClosed(extra, 1500ms, closed).empty());
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
  ::close(extra);
  // The first 64 are served: the first of them answers.
  REQUIRE(sendAll(idle.front(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string first = readUntilClosed(idle.front(), 1500ms, closed);
  CHECK(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(closed);
  for (int fd : idle) ::close(fd);
  // Once they are gone, new connections are served again.
  CHECK(eventually(
      [&] {
        return roundTrip(s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                   .rfind("HTTP/1.1 200 OK\r\n", 0) == 0;
      },
      2s));
}

TEST_CASE("request headers over 16 KiB are refused with 431 and the connection closed",
          "[integration][http][threads]") {
  Served s;
  const std::string line = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const std::string end = "\r\nConnection: close\r\n\r\n";
  // Exactly the limit (request line and headers): served.
  const std::string fits = line + std::string(16384 - line.size() - end.size(), 'a') + end;
  REQUIRE(fits.size() == 16384);
  CHECK(roundTrip(s.port, fits).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  // One byte more: refused, closed, the handler never called.
  const std::string over = line + std::string(16385 - line.size() - end.size(), 'a') + end;
  const int fd = connectTo(s.port);
  REQUIRE(fd >= 0);
  REQUIRE(sendAll(fd, over));
  bool closed = false;
  const std::string answer = readUntilClosed(fd, 3000ms, closed);
  ::close(fd);
  CHECK(answer.rfind("HTTP/1.1 431 ", 0) == 0);
  CHECK(answer.find("Connection: close\r\n") != std::string::npos);
  CHECK(answer.find("request header too large: at most 16384 bytes") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("50 concurrent keep-alive clients each make 20 metrics and status requests",
          "[integration][http][threads]") {
  Served s;
  constexpr int kClients = 50;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      httplib::Client http("127.0.0.1", s.port);
      http.set_keep_alive(true);
      http.set_read_timeout(5, 0);
      for (int i = 0; i < kRequests; ++i) {
        const bool metrics = i % 2 == 0;
        auto res = http.Get(metrics ? "/metrics" : "/api/v1/status");
        const std::string expected = metrics ? kMetrics : "{\n  \"probes\": 3\n}";
        if (res && res->status == 200 && res->body == expected)
          ++ok;
        else
          ++wrong;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(wrong == 0);
  CHECK(ok == kClients * kRequests);
  CHECK(s.api.metrics_calls == kClients * kRequests / 2);
  CHECK(s.api.status_calls == kClients * kRequests / 2);
}

TEST_CASE("the HTTP routes answer HEAD, query strings, 404, 400, 500 and refusals",
          "[integration][http][threads]") {
  Served s;
  const std::string tail = "Host: x\r\nConnection: close\r\n\r\n";
  // HEAD: the GET's headers, no body.
  const std::string head = roundTrip(s.port, "HEAD /healthz HTTP/1.1\r\n" + tail);
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find("Content-Length: 3\r\n") != std::string::npos);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  // The query string is ignored, the path percent-decoded.
  CHECK(roundTrip(s.port, "GET /healthz?a=1&b=%zz HTTP/1.1\r\n" + tail)
            .rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  const std::string decoded = roundTrip(s.port, "GET /%68ealthz HTTP/1.1\r\n" + tail);
  CHECK(decoded.substr(decoded.size() - 3) == "ok\n");
  const std::string missing = roundTrip(s.port, "GET /nope HTTP/1.1\r\n" + tail);
  CHECK(missing.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(missing.find("\r\n\r\n{\"error\":\"not found\"}") != std::string::npos);
  CHECK(roundTrip(s.port, "GET /api/v1/incidents/a%2Fb HTTP/1.1\r\n" + tail)
            .rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(roundTrip(s.port, "BREW /metrics HTTP/1.1\r\n" + tail).rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(roundTrip(s.port, "garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  // Mutations: 401 without the token, 404 on an unknown path with it.
  const std::string unauth = roundTrip(s.port, "POST /metrics HTTP/1.1\r\n" + tail);
  CHECK(unauth.rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(unauth.find("missing or wrong bearer token") != std::string::npos);
  const std::string authorised = "Authorization: Bearer tok-1\r\nContent-Length: 0\r\n" + tail;
  CHECK(roundTrip(s.port, "POST /metrics HTTP/1.1\r\n" + authorised).rfind("HTTP/1.1 404 ", 0) ==
        0);
  CHECK(roundTrip(s.port, "DELETE /api/v1/silences/s1 HTTP/1.1\r\n" + authorised)
            .find("\r\n\r\n{\"error\":\"no silence s1\"}") != std::string::npos);
  // A handler that throws: 500, logged, and the server goes on.
  s.api.throw_status = true;
  const std::string broke = roundTrip(s.port, "GET /api/v1/status HTTP/1.1\r\n" + tail);
  CHECK(broke.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
  CHECK(broke.find("{\"error\":\"internal error\"}") != std::string::npos);
  CHECK(roundTrip(s.port, "GET /healthz HTTP/1.1\r\n" + tail).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  s.server.stop();  // the log is read once the server thread is joined
  CHECK(s.log_text.str().find("HTTP GET /api/v1/status: the handler threw: status broke") !=
        std::string::npos);
}

TEST_CASE("HttpServer stops idempotently, with connections open, and refuses a second start",
          "[integration][http][threads]") {
  auto s = std::make_unique<Served>();
  const int fd = connectTo(s->port);
  REQUIRE(fd >= 0);
  REQUIRE(sendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: "));  // mid-request
  const auto t0 = std::chrono::steady_clock::now();
  s->server.stop();
  s->server.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
  bool closed = false;
  CHECK(readUntilClosed(fd, 1000ms, closed).empty());
  CHECK(closed);
  ::close(fd);
  CHECK(connectTo(s->port) < 0);  // no longer listening
  auto again = s->server.start("127.0.0.1:0");
  CHECK(!again.ok());
  s.reset();  // the destructor stops again
}
