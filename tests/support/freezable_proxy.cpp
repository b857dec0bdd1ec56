#include "tests/support/freezable_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "tests/support/tcp.hpp"

namespace datawatch::testing {

namespace {
constexpr int kPollMs = 10;  // how soon a relay or the acceptor sees a freeze or the close
}  // namespace

int FreezableProxy::dsnPort(const std::string& dsn) {
  std::smatch m;
  REQUIRE(std::regex_search(dsn, m, std::regex(R"(@([^:/@]+):(\d+)/)")));
  REQUIRE(m[1] == "127.0.0.1");  // the proxy connects there
  return std::stoi(m[2]);
}

std::string FreezableProxy::dsnThrough(const std::string& dsn) const {
  std::smatch m;
  REQUIRE(std::regex_search(dsn, m, std::regex(R"(@[^:/@]+:(\d+)/)")));
  std::string out = m.prefix().str() + m.str().substr(0, m.str().size() - m[1].length() - 1) +
                    std::to_string(port_) + "/" + m.suffix().str();
  return out + (out.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=2";
}

FreezableProxy::FreezableProxy(int target_port) : target_port_(target_port) {
  const Listener listener = listenOnLoopback(64);
  listen_fd_ = listener.fd;
  port_ = listener.port;
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FreezableProxy::~FreezableProxy() {
  std::vector<std::thread> relays;
  {
    MutexLock lock(mu_);
    closing_ = true;
    frozen_ = false;
    for (const auto& [a, b] : open_) {
      ::shutdown(a, SHUT_RDWR);
      ::shutdown(b, SHUT_RDWR);
    }
    cv_.notifyAll();
  }
  acceptor_.join();  // no relay starts after this
  {
    MutexLock lock(mu_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  ::close(listen_fd_);
}

void FreezableProxy::freeze() {
  MutexLock lock(mu_);
  frozen_ = true;
}

void FreezableProxy::thaw() {
  MutexLock lock(mu_);
  frozen_ = false;
  cv_.notifyAll();
}

void FreezableProxy::freezeAtNextQuery(std::string text) {
  MutexLock lock(mu_);
  at_query_ = true;
  at_text_ = std::move(text);
}

bool FreezableProxy::freezesAt(const char* chunk, ssize_t n) {
  MutexLock lock(mu_);
  if (!at_query_ || n <= 0 || chunk[0] != 'Q') return false;
  if (std::string_view(chunk, static_cast<size_t>(n)).find(at_text_) == std::string_view::npos)
    return false;
  at_query_ = false;
  frozen_ = true;
  return true;
}

bool FreezableProxy::waitThawed() {
  MutexLock lock(mu_);
  cv_.wait(lock, [&]() REQUIRES(mu_) { return closing_ || !frozen_; });
  return !closing_;
}

void FreezableProxy::acceptLoop() {
  while (waitThawed()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    {
      MutexLock lock(mu_);
      if (frozen_) continue;  // frozen while polling: the connection waits in the backlog
    }
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = connectTo(target_port_);
    if (server < 0) {
      ::close(client);
      continue;
    }
    ++accepted_;
    MutexLock lock(mu_);
    open_.emplace_back(client, server);
    relays_.emplace_back([this, client, server] { relay(client, server); });
  }
}

void FreezableProxy::relay(int client, int server) {
  char buf[16384];
  std::string held;  // read from the client as it froze the proxy: sent at the thaw
  bool ended = false;
  while (!ended && waitThawed()) {
    if (!held.empty()) {
      ended = ::send(server, held.data(), held.size(), MSG_NOSIGNAL) !=
              static_cast<ssize_t>(held.size());
      held.clear();
      continue;
    }
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(p, 2, kPollMs) <= 0) continue;
    {
      MutexLock lock(mu_);
      if (frozen_) continue;  // what arrived waits for the thaw
    }
    for (int k = 0; k < 2 && !ended && held.empty(); ++k) {
      if (p[k].revents == 0) continue;
      const ssize_t n = ::read(p[k].fd, buf, sizeof buf);
      if (k == 0 && freezesAt(buf, n)) {
        held.assign(buf, static_cast<size_t>(n));
        continue;
      }
      const int to = k == 0 ? server : client;
      ended = n <= 0 || ::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n;
    }
  }
  MutexLock lock(mu_);
  open_.erase(std::find(open_.begin(), open_.end(), std::make_pair(client, server)));
  ::close(client);
  ::close(server);
}

}  // namespace datawatch::testing
