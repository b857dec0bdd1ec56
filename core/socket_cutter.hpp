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
// runCutAt(watcher, fd, deadline, fn) runs a blocking call under a
// QueryWatcher: its socket is cut if the call has not returned by `deadline`,
// and then SocketCut is thrown once the call is over, whatever it returned or
// threw (a call that swallowed the error would otherwise look answered).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

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

 private:
  const int fd_;
};

// Thrown by runCutAt when the call's socket was cut at its deadline.
struct SocketCut : std::runtime_error {
  SocketCut() : std::runtime_error("the server answered nothing in time: the connection was cut") {}
};

template <class Fn>
void runCutAt(QueryWatcher& watcher, int fd, MonoTime deadline, Fn&& fn) {
  SocketCutter cutter(fd);
  auto watch = watcher.watch([&cutter] { cutter.cut(); }, deadline, nullptr);
  try {
    fn();
  } catch (...) {
    if (watch.finish() != QueryWatcher::Reason::None) throw SocketCut();
    throw;
  }
  if (watch.finish() != QueryWatcher::Reason::None) throw SocketCut();
}

}  // namespace datawatch
