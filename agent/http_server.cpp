// HttpServer on Boost.Beast/Asio: one io_context on one thread; a Connection
// per accepted socket, reading a request (header, then body), answering it
// (http_routes.cpp) and waiting for the next. One steady_timer per connection
// bounds each phase (idle, request, answer, linger): when it fires it cancels
// the socket's operation, whose handler sees timed_out_.

#include "agent/http_server.hpp"

#include <fcntl.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "agent/http_routes.hpp"
#include "core/thread_name.hpp"

namespace datawatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

namespace {

constexpr int kBacklog = 128;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

std::string_view view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

void closeOnExec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

std::string tooLargeMessage() {
  return "request body too large: at most " + std::to_string(HttpServer::kMaxBody) +
         " bytes, with a Content-Length";
}

HttpReply headerTooLarge() {
  return jsonErrorReply(431, "request header too large: at most " +
                                 std::to_string(HttpServer::kMaxHeader) + " bytes");
}

bool isParseError(const ErrorCode& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

}  // namespace

namespace http_detail {
class Connection;
}
using http_detail::Connection;

class HttpServer::Core {
 public:
  Core(HttpApi& api, std::shared_ptr<spdlog::logger> log) : api_(api), log_(std::move(log)) {}

  Result<int> listen(const std::string& host, int port, const std::string& listen);
  void accept();
  void run();
  void shutdown();  // on the server thread

  HttpApi& api() { return api_; }
  spdlog::logger* log() { return log_.get(); }
  std::array<char, 16384>& drain() { return drain_; }
  void opened(Connection* c) { live_.insert(c); }
  void closed(Connection* c) { live_.erase(c); }
  asio::io_context& io() { return io_; }

 private:
  HttpApi& api_;
  std::shared_ptr<spdlog::logger> log_;
  std::array<char, 16384> drain_{};       // what lingering connections discard
  std::unordered_set<Connection*> live_;  // before io_: its handlers own connections
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
};

namespace http_detail {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Core& core, tcp::socket socket)
      : core_(core), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    core_.opened(this);
  }
  ~Connection() { core_.closed(this); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() { awaitRequest(); }

  // At once: the socket closed, what is pending cancelled.
  void abort() {
    ErrorCode ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

 private:
  using Parser = http::request_parser<http::string_body>;

  // Bounds the next operation to `d`; when it fires, the socket's operations
  // are cancelled and their handlers see timed_out_. A newer arm() supersedes.
  void arm(std::chrono::steady_clock::duration d) {
    timed_out_ = false;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen = ++timer_gen_](ErrorCode ec) {
      if (ec || gen != self->timer_gen_) return;
      self->timed_out_ = true;
      ErrorCode ignored;
      self->socket_.cancel(ignored);
    });
  }

  void awaitRequest() {
    if (buffer_.size() > 0) return readHeader();  // pipelined
    arm(HttpServer::kKeepAliveTimeout);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](ErrorCode ec) {
      if (ec) return self->abort();  // idle too long, or closed
      self->readHeader();
    });
  }

  void readHeader() {
    head_ = {};  // it viewed the previous request's parser
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(HttpServer::kMaxHeader));
    parser_->body_limit(HttpServer::kMaxBody);
    arm(HttpServer::kReadTimeout);  // the whole request, from its first byte
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](ErrorCode ec, size_t bytes) {
                              if (ec) return self->readFailed(ec);
                              // Beast limits the request line and the fields
                              // each: this, the two together.
                              if (bytes > HttpServer::kMaxHeader)
                                return self->answer(headerTooLarge(), false);
                              self->onHeader();
                            });
  }

  void onHeader() {
    auto& req = parser_->get();
    auto path = requestPath(view(req.target()));
    if (!path) return answer(jsonErrorReply(400, "bad escape in the request path"), false);
    head_ = {view(req.method_string()), std::move(*path), view(req[http::field::authorization])};
    if (req.find(http::field::transfer_encoding) != req.end() ||
        parser_->content_length().value_or(0) > HttpServer::kMaxBody)
      return refuse(jsonErrorReply(413, tooLargeMessage()));
    if (auto refusal = refuseUnauthorized(core_.api(), head_)) return refuse(std::move(*refusal));
    if (parser_->is_done()) return dispatch();
    if (!boost::beast::iequals(req[http::field::expect], "100-continue")) return readBody();
    asio::async_write(socket_, asio::buffer(kContinue, sizeof kContinue - 1),
                      [self = shared_from_this()](ErrorCode ec, size_t) {
                        if (ec) return self->readFailed(ec);
                        self->readBody();
                      });
  }

  // A request refused before its body was read: answered, then closed.
  void refuse(HttpReply reply) {
    // A body over the limit may fail the header read (Beast checks the
    // Content-Length there): the request line is parsed by then.
    const auto& req = parser_->get();
    const auto path = head_.path.empty() ? requestPath(view(req.target()))
                                         : std::optional<std::string>(head_.path);
    if (path && *path == kLineagePath && view(req.method_string()) == "POST")
      core_.api().lineageRefused();
    answer(std::move(reply), false);
  }

  void readBody() {
    http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](ErrorCode ec, size_t) {
      if (ec) return self->readFailed(ec);
      self->dispatch();
    });
  }

  void readFailed(const ErrorCode& ec) {
    if (timed_out_)
      return answer(jsonErrorReply(400, "request timeout: the request was not sent in time"),
                    false);
    if (ec == http::error::header_limit) return answer(headerTooLarge(), false);
    if (ec == http::error::body_limit || ec == http::error::bad_content_length)
      return refuse(jsonErrorReply(413, tooLargeMessage()));
    if (isParseError(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message)
      return answer(jsonErrorReply(400, "bad request"), false);
    abort();  // the client went away
  }

  void dispatch() {
    auto& req = parser_->get();
    HttpReply reply;
    try {
      reply = routeRequest(core_.api(), head_, req.body());
    } catch (const std::exception& ex) {
      logThrow(ex.what());
      reply = jsonErrorReply(500, "internal error");
    } catch (...) {
      logThrow("unknown exception");
      reply = jsonErrorReply(500, "internal error");
    }
    answer(std::move(reply), req.keep_alive(), head_.method == "HEAD");
  }

  void logThrow(const char* what) {
    if (core_.log())
      core_.log()->error("HTTP {} {}: the handler threw: {}", head_.method, head_.path, what);
  }

  void answer(HttpReply reply, bool keep_alive, bool head_only = false) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(reply.status));
    if (!reply.content_type.empty()) res_.set(http::field::content_type, reply.content_type);
    res_.body() = std::move(reply.body);
    res_.keep_alive(keep_alive);
    if (keep_alive) res_.set(http::field::keep_alive, "timeout=2");
    res_.prepare_payload();
    if (head_only) res_.body().clear();  // Content-Length stays the GET's
    arm(HttpServer::kReadTimeout);
    http::async_write(socket_, res_, [self = shared_from_this(), keep_alive](ErrorCode ec, size_t) {
      self->res_ = {};
      if (ec) return self->abort();
      if (keep_alive) return self->awaitRequest();
      self->linger();
    });
  }

  // Closes after the answer: no more sending; what the client still sends
  // (an unread body) is discarded until it closes, for at most kLinger and
  // kMaxBody bytes.
  void linger() {
    ErrorCode ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm(HttpServer::kLinger);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(core_.drain()),
                            [self = shared_from_this()](ErrorCode ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > HttpServer::kMaxBody) return self->abort();
                              self->drain();
                            });
  }

  HttpServer::Core& core_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  unsigned timer_gen_ = 0;
  bool timed_out_ = false;
  size_t drained_ = 0;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  HttpRequestHead head_;
  http::response<http::string_body> res_;
};

}  // namespace http_detail

Result<int> HttpServer::Core::listen(const std::string& host, int port, const std::string& listen) {
  ErrorCode ec;
  tcp::resolver resolver(io_);
  const auto found = resolver.resolve(host, std::to_string(port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return Result<int>::Error("cannot listen on " + listen + ": " + ec.message());
  for (const auto& entry : found) {
    acceptor_.open(entry.endpoint().protocol(), ec);
    if (ec) continue;
    closeOnExec(acceptor_.native_handle());
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(entry.endpoint(), ec);
    if (!ec) acceptor_.listen(kBacklog, ec);
    if (!ec) return static_cast<int>(acceptor_.local_endpoint().port());
    ErrorCode ignored;
    acceptor_.close(ignored);
  }
  if (port == 0) return Result<int>::Error("cannot listen on " + listen);
  return Result<int>::Error("cannot listen on " + listen + " (address in use or not available)");
}

void HttpServer::Core::accept() {
  acceptor_.async_accept([this](ErrorCode ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;  // stopped
    if (ec) {  // out of descriptors, say: try again shortly rather than spin
      if (log_) log_->warn("HTTP: accepting a connection failed: {}", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](ErrorCode e) {
        if (!e) accept();
      });
      return;
    }
    closeOnExec(socket.native_handle());
    if (live_.size() >= kMaxConnections) {
      ErrorCode ignored;
      socket.close(ignored);  // over the bound: closed at once
    } else {
      std::make_shared<Connection>(*this, std::move(socket))->start();
    }
    accept();
  });
}

void HttpServer::Core::run() {
  while (true) {
    try {
      io_.run();
      return;
    } catch (const std::exception& ex) {
      if (log_) log_->error("HTTP server: {}", ex.what());
    } catch (...) {
      if (log_) log_->error("HTTP server: unknown exception");
    }
  }
}

void HttpServer::Core::shutdown() {
  ErrorCode ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  for (auto* c : live_) c->abort();
  io_.stop();  // handlers still queued are destroyed with io_
}

HttpServer::HttpServer(HttpApi& api, std::shared_ptr<spdlog::logger> log)
    : core_(std::make_unique<Core>(api, std::move(log))) {}

HttpServer::~HttpServer() {
  stop();
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
  std::lock_guard lock(stop_mu_);
  if (thread_.joinable() || core_->io().stopped())
    return Result<int>::Error("the HTTP server was already started");
  auto bound = core_->listen(host, port, listen);
  if (!bound) return bound;
  core_->accept();
  thread_ = startNamedThread("dw-http", [this] { core_->run(); });
  return bound;
}

void HttpServer::stop() {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return;
  asio::post(core_->io(), [this] { core_->shutdown(); });
  thread_.join();
}

}  // namespace datawatch
