#include "tests/support/receiver.hpp"

#include <httplib.h>

#include <algorithm>
#include <stdexcept>

namespace datawatch::testing {

Receiver::Receiver() {
  respondWith(200, "ok");
  start();
}

Receiver::~Receiver() {
  stop();
}

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Receiver::respond(Responder r) {
  MutexLock lock(mu_);
  responder_ = std::move(r);
}

void Receiver::respondWith(int status, std::string body,
                           std::map<std::string, std::string> headers) {
  respond([=](const Request&) { return Reply{status, body, headers, {}}; });
}

std::vector<Receiver::Request> Receiver::requests() const {
  MutexLock lock(mu_);
  return requests_;
}

std::vector<Receiver::Request> Receiver::accepted() const {
  MutexLock lock(mu_);
  std::vector<Request> out;
  for (size_t i = 0; i < requests_.size(); ++i)
    if (accepted_[i]) out.push_back(requests_[i]);
  return out;
}

bool Receiver::waitAccepted(size_t n, std::chrono::milliseconds timeout) const {
  MutexLock lock(mu_);
  return cv_.waitFor(lock, timeout, [&]() REQUIRES(mu_) {
    return static_cast<size_t>(std::count(accepted_.begin(), accepted_.end(), true)) >= n;
  });
}

bool Receiver::waitRequests(size_t n, std::chrono::milliseconds timeout) const {
  MutexLock lock(mu_);
  return cv_.waitFor(lock, timeout, [&]() REQUIRES(mu_) { return requests_.size() >= n; });
}

void Receiver::start() {
  {
    MutexLock lock(mu_);
    stopping_ = false;
  }
  server_ = std::make_unique<httplib::Server>();
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Request r{req.method, req.path, {}, req.body};
    for (const auto& [k, v] : req.headers) {
      std::string name = k;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers[name] = v;
    }
    Reply reply;
    size_t index;
    {
      MutexLock lock(mu_);
      reply = responder_(r);
      index = requests_.size();
      requests_.push_back(r);
      accepted_.push_back(false);
      cv_.notifyAll();
      if (reply.hold.count() > 0)
        cv_.waitFor(lock, reply.hold, [&]() REQUIRES(mu_) { return stopping_; });
      accepted_[index] = reply.status >= 200 && reply.status < 300;
      cv_.notifyAll();
    }
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    res.set_content(reply.body, "text/plain");
  };
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  if (port_ == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else if (!server_->bind_to_port("127.0.0.1", port_)) {
    throw std::runtime_error("receiver: cannot listen again on port " + std::to_string(port_));
  }
  if (port_ <= 0) throw std::runtime_error("receiver: cannot listen");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::yield();
}

void Receiver::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notifyAll();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace datawatch::testing
