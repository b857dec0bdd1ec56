// CutWatch on a real loopback TCP connection: a call whose peer keeps sending
// is never cut, however long it waits in all; a call whose peer sends nothing
// for `quiet` is cut then (the blocked recv returns). The measure is the
// kernel's (TCP_INFO), so these waits are real time, not a simulated clock.

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/socket_cutter.hpp"
#include "tests/support/tcp.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

using Steady = std::chrono::steady_clock;

// A connected pair of TCP sockets on 127.0.0.1, closed at the end.
struct TcpPair {
  TcpPair() {
    const testing::Listener l = testing::listenOnLoopback(1);
    listener = l.fd;
    client = testing::connectTo(l.port);
    REQUIRE(client >= 0);
    server = ::accept(listener, nullptr, nullptr);
    REQUIRE(server >= 0);
  }
  ~TcpPair() {
    for (int fd : {client, server, listener}) ::close(fd);
  }
  int listener = -1, client = -1, server = -1;
};

}  // namespace

TEST_CASE("CutWatch: a peer that keeps sending is never cut, a silent one is cut after quiet",
          "[threads][socket_cutter]") {
  TcpPair tcp;
  SystemClock clock;
  QueryWatcher watcher(clock, 0, "dw-test-watch", std::chrono::hours(1));
  char byte = 0;
  {
    // 12 bytes 150 ms apart: 1.8 s of waiting in all, three times `quiet`.
    CutWatch watch(watcher, tcp.client, clock.monotonic(), 600ms);
    std::thread peer([&] {
      for (int i = 0; i < 12; ++i) {
        std::this_thread::sleep_for(150ms);  // real time: the kernel measures the silence
        (void)::send(tcp.server, "x", 1, MSG_NOSIGNAL);
      }
    });
    int got = 0;
    while (got < 12 && ::recv(tcp.client, &byte, 1, 0) == 1) ++got;
    peer.join();
    CHECK(got == 12);
    CHECK_FALSE(watch.finish());
  }
  {
    CutWatch watch(watcher, tcp.client, clock.monotonic(), 600ms);
    const auto start = Steady::now();
    const ssize_t n = ::recv(tcp.client, &byte, 1, 0);  // the peer sends nothing
    const auto took = Steady::now() - start;
    CHECK(n <= 0);
    CHECK(watch.finish());
    CHECK(took >= 550ms);
    CHECK(took < 2s);
  }
}

TEST_CASE("SocketCutter: an invalid descriptor is never cut, and says nothing of its silence",
          "[socket_cutter]") {
  SocketCutter none(-1);
  none.cut();  // does nothing, does not throw
  CHECK_FALSE(none.quietFor().has_value());
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  {
    SocketCutter not_tcp(pipe_fds[0]);
    CHECK_FALSE(not_tcp.quietFor().has_value());  // a CutWatch then cuts at its first deadline
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}
