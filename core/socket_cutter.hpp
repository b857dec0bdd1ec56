#pragma once
// SocketCutter: ends, from another thread, every blocking read and write on a
// connection's socket, whatever the server does (frozen, gone, a network that
// drops packets): the way a watcher stops a libpq / libpqxx call that waits for
// an answer that may never come (postgres_source.cpp, store/pg_pool.cpp,
// ha/pg_link.cpp).
//
// Invariants:
// - It holds a duplicate of the socket (close-on-exec), taken at construction
//   and closed at destruction: the library may close its own descriptor (a
//   lost connection) while a watch is alive, and that number could then name
//   another socket; the duplicate always names the socket it was made for.
// - cut() is shutdown(SHUT_RDWR): the blocked call returns at once with an
//   error and the connection is unusable after (its owner must drop it). It
//   may be called from any thread, any number of times, and never throws.
// - An invalid descriptor (< 0, or a failed dup) makes cut() do nothing.
//
// CutWatch watches a blocking call on a socket: it cuts the socket once no
// data has gone either way for `quiet` while the call waits (the kernel's
// TCP_INFO last_data_recv and last_data_sent: a call that runs many
// statements, each answered, is never cut, however long it takes, nor one
// still sending a large statement). Its limits:
// - the client's own pauses count as silence (a caller that computes for
//   `quiet` between two statements would be cut; ours only run SQL);
// - a socket without TCP_INFO (a Unix socket: host=/var/run/postgresql) is
//   cut `quiet` after the watch began, answered or not;
// - a CutWatch whose socket could not be duplicated (no descriptor left) is
//   not armed(): it could cut nothing, and its owner must not start the call.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "core/query_watcher.hpp"

namespace datawatch {

class SocketCutter {
 public:
  explicit SocketCutter(int fd) : fd_(fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1) {}
  ~SocketCutter() {
    if (fd_ >= 0) close(fd_);
  }
  SocketCutter(const SocketCutter&) = delete;
  SocketCutter& operator=(const SocketCutter&) = delete;

  void cut() const noexcept {
    if (fd_ >= 0) (void)shutdown(fd_, SHUT_RDWR);
  }
  bool valid() const { return fd_ >= 0; }
  // How long no data has gone either way (TCP_INFO), or nullopt when the
  // socket does not say (not TCP, invalid).
  std::optional<Duration> quietFor() const noexcept {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (fd_ < 0 || getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
    return std::chrono::milliseconds(std::min(info.tcpi_last_data_recv, info.tcpi_last_data_sent));
  }

 private:
  const int fd_;
};

class CutWatch {
 public:
  // `watcher` measures real time (a SystemClock); `now` is its current time.
  CutWatch(QueryWatcher& watcher, int fd, MonoTime now, Duration quiet)
      : cutter_(fd),
        quiet_(quiet),
        watch_(watcher.watch([this] { cutter_.cut(); }, now + quiet, nullptr,
                             [this](MonoTime at) { return renewAt(at); })) {}
  CutWatch(const CutWatch&) = delete;
  CutWatch& operator=(const CutWatch&) = delete;

  // Whether it can cut the socket (see the top of this file).
  bool armed() const { return cutter_.valid(); }
  // Ends the watch (waiting for a cut in progress) and says whether the socket
  // was cut: then the connection is unusable and its owner drops it. A call
  // that returned before the cut keeps its result. Idempotent.
  bool finish() {
    if (!cut_) cut_ = watch_.finish() != QueryWatcher::Reason::None;
    return *cut_;
  }

 private:
  // At the deadline: later when the server sent data less than quiet_ ago.
  MonoTime renewAt(MonoTime now) const {
    const std::optional<Duration> quiet = cutter_.quietFor();
    if (!quiet || *quiet >= quiet_) return now;
    return now + (quiet_ - *quiet);
  }

  const SocketCutter cutter_;  // outlives watch_: declared first
  const Duration quiet_;
  QueryWatcher::Watch watch_;
  std::optional<bool> cut_;
};

}  // namespace datawatch
