#pragma once
// A real HTTP server on 127.0.0.1 (cpp-httplib) that plays Slack, a webhook
// receiver, PagerDuty or Alertmanager in tests: it records every request and
// answers as told — 200, 500, 429 with Retry-After, a reply held past the
// client's timeout — or is stopped so connections are refused.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mutex.hpp"

namespace httplib {
class Server;
}

namespace datawatch::testing {

class Receiver {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
    nlohmann::json json() const { return nlohmann::json::parse(body); }
    std::string header(const std::string& lower_name) const {
      auto it = headers.find(lower_name);
      return it == headers.end() ? "" : it->second;
    }
  };
  struct Reply {
    int status = 200;
    std::string body = "ok";
    std::map<std::string, std::string> headers;
    std::chrono::milliseconds hold{0};  // wait this long before answering
  };
  using Responder = std::function<Reply(const Request&)>;

  Receiver();  // starts on a free port, answering 200
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "") const;
  void respond(Responder r);
  void respondWith(int status, std::string body = "",
                   std::map<std::string, std::string> headers = {});
  // Every request received (answered or not), in order.
  std::vector<Request> requests() const;
  // Requests answered with a 2xx.
  std::vector<Request> accepted() const;
  // Waits (real time) until at least `n` requests were accepted.
  bool waitAccepted(size_t n, std::chrono::milliseconds timeout) const;
  bool waitRequests(size_t n, std::chrono::milliseconds timeout) const;
  // Closes the port (connections refused) / opens it again on the same port.
  void stop();
  void start();

 private:
  void serve();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable Mutex mu_;
  mutable CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;  // releases held replies
  Responder responder_ GUARDED_BY(mu_);
  std::vector<Request> requests_ GUARDED_BY(mu_);
  std::vector<bool> accepted_ GUARDED_BY(mu_);
};

}  // namespace datawatch::testing
