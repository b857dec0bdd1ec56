#pragma once
// A real Alertmanager (Debian's prometheus-alertmanager, installed by
// scripts/install-deps.sh --test) on 127.0.0.1 for the alertmanager notifier's
// tests: its own config and storage in a temp dir, no cluster, optional basic
// auth (--web.config.file). stop()/start() keep the port and the storage
// (silences survive, alerts do not: Alertmanager keeps them in memory).

#include <httplib.h>
#include <signal.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/tcp.hpp"
#include "tests/support/test_support.hpp"

namespace datawatch::testing {

class Alertmanager {
 public:
  struct User {
    std::string name;
    std::string password;
    std::string bcrypt;  // the password's bcrypt hash, as Alertmanager's web config wants it
  };
  // `config`: alertmanager.yml. With `user`, every request needs its basic auth.
  Alertmanager(const TempDir& dir, const std::string& name, const std::string& config,
               std::optional<User> user = std::nullopt)
      : dir_(dir / name), port_(freePort()), user_(std::move(user)) {
    std::filesystem::create_directories(dir_);
    writeFile(dir_ / "alertmanager.yml", config);
    if (user_)
      writeFile(dir_ / "web.yml",
                "basic_auth_users:\n  " + user_->name + ": " + user_->bcrypt + "\n");
    start();
  }
  ~Alertmanager() { stop(); }
  std::string log() const { return readFile(dir_ / "am.err"); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void start() {
    std::vector<std::string> argv{requiredTool(DATAWATCH_ALERTMANAGER, "prometheus-alertmanager"),
                                  "--config.file=" + (dir_ / "alertmanager.yml").string(),
                                  "--storage.path=" + (dir_ / "data").string(),
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                  "--cluster.listen-address=",
                                  "--log.level=info"};
    if (user_) argv.push_back("--web.config.file=" + (dir_ / "web.yml").string());
    proc_ = std::make_unique<Process>(argv, dir_ / "am.out", dir_ / "am.err");
    if (!eventually([&] { return get("/-/ready").first == 200; }, std::chrono::seconds(30)))
      throw std::runtime_error("alertmanager did not start: " + readFile(dir_ / "am.err"));
  }
  // Stops it cleanly (it snapshots its silences); connections are refused after.
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds(10));
    proc_.reset();
  }
  // GET with this Alertmanager's credentials (when `auth`): status and body.
  std::pair<int, std::string> get(const std::string& path, bool auth = true) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5, 0);
    if (user_ && auth) c.set_basic_auth(user_->name, user_->password);
    auto res = c.Get(path);
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  }
  // GET /api/v2/alerts: what Alertmanager holds (active, silenced, inhibited).
  nlohmann::json alerts() const {
    const auto [status, body] = get("/api/v2/alerts");
    return status == 200 ? nlohmann::json::parse(body) : nlohmann::json::array();
  }
  // POST /api/v2/silences; the new silence's id ("" on failure).
  std::string silence(const nlohmann::json& silence) const {
    httplib::Client c("127.0.0.1", port_);
    if (user_) c.set_basic_auth(user_->name, user_->password);
    auto res = c.Post("/api/v2/silences", silence.dump(), "application/json");
    if (!res || res->status != 200) return "";
    return nlohmann::json::parse(res->body).value("silenceID", "");
  }

 private:
  std::filesystem::path dir_;
  int port_;
  std::optional<User> user_;
  std::unique_ptr<Process> proc_;
};

}  // namespace datawatch::testing
