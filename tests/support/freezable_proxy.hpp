#pragma once
// A TCP relay on 127.0.0.1 in front of a real server (the test PostgreSQL)
// that can freeze: a stand-in for a server that stops answering without
// closing anything (a SIGSTOPped or swapped-out process, a paused VM, a
// network that drops packets). Frozen, it relays no byte either way and
// accepts no connection (the kernel still completes new handshakes: they wait
// in the backlog, as a frozen server's would); thawed, it carries on. A side
// that closes ends its connection (once thawed).

#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/mutex.hpp"

namespace datawatch::testing {

class FreezableProxy {
 public:
  explicit FreezableProxy(int target_port);
  // Thaws, closes every connection and joins its threads.
  ~FreezableProxy();
  FreezableProxy(const FreezableProxy&) = delete;
  FreezableProxy& operator=(const FreezableProxy&) = delete;

  int port() const { return port_; }
  // The test PostgreSQL's port in its DSN (postgresql://user:pw@127.0.0.1:port/db).
  static int dsnPort(const std::string& dsn);
  // `dsn` through this proxy instead, with connect_timeout=2.
  std::string dsnThrough(const std::string& dsn) const;
  void freeze();
  void thaw();
  // Freezes as a client sends its next simple Query message (PostgreSQL's
  // 'Q': after the handshake, a session's first statement) that contains
  // `text` ("COMMIT"; empty: any); the message reaches the server at the thaw.
  void freezeAtNextQuery(std::string text = "");
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  void acceptLoop();
  void relay(int client, int server);
  // Waits while frozen; false once the proxy is closing.
  bool waitThawed();
  // Whether this chunk from a client freezes the proxy (freezeAtNextQuery).
  bool freezesAt(const char* chunk, ssize_t n);

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  Mutex mu_;
  CondVar cv_;
  bool frozen_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  bool at_query_ GUARDED_BY(mu_) = false;                  // freezeAtNextQuery() armed
  std::string at_text_ GUARDED_BY(mu_);                    // ... for a query containing this
  std::vector<std::pair<int, int>> open_ GUARDED_BY(mu_);  // relayed pairs, to shut down
  std::vector<std::thread> relays_ GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace datawatch::testing
