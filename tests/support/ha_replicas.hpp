#pragma once
// Replicas of the built `datawatch run` sharing one PostgreSQL state store, for
// the HA process tests: start them with their own replica id (env REPLICA),
// read their status, metrics and logs, and look at the fleet's tables.

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace datawatch::testing {

// Rows of a query (psql unaligned, tuples only: columns joined by '|'); throws
// when psql fails.
inline std::vector<std::string> pgRows(const std::string& dsn, const std::string& sql) {
  auto r = runCommand({"/usr/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql},
                      {}, std::chrono::seconds(20));
  if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err + " in: " + sql);
  std::vector<std::string> rows;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(line);
  return rows;
}

inline std::vector<std::string> splitRow(const std::string& row) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(row);
  while (std::getline(in, cell, '|')) out.push_back(cell);
  if (!row.empty() && row.back() == '|') out.emplace_back();
  return out;
}

// dw_leader as the database sees it.
struct LeaderRow {
  std::string owner;  // "" when the lease has expired
  int64_t epoch = 0;
};
inline LeaderRow leaderRow(const std::string& dsn) {
  const auto rows = pgRows(
      dsn, "SELECT CASE WHEN lease_until > now() THEN owner ELSE '' END, epoch FROM dw_leader");
  if (rows.empty()) return {};
  const auto cells = splitRow(rows[0]);
  return {cells.at(0), std::stoll(cells.at(1))};
}

// One `datawatch run --listen 127.0.0.1:0` with env REPLICA=<id>; killed on
// destruction (SIGKILL, also when stopped).
class Replica {
 public:
  Replica(const std::string& binary, const std::string& id, const std::filesystem::path& config,
          const std::filesystem::path& dir, std::map<std::string, std::string> env)
      : id_(id), err_(dir / (id + ".err")) {
    env["REPLICA"] = id;
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{binary, "run", "-c", config.string(), "--listen", "127.0.0.1:0"},
        dir / (id + ".out"), err_, env);
  }
  const std::string& id() const { return id_; }
  Process& process() { return *proc_; }
  std::string log() const { return readFile(err_); }
  bool logHas(const std::string& text) const { return log().find(text) != std::string::npos; }

  // The port it listens on, 0 until it logged it.
  int port() {
    if (port_ == 0) port_ = listenPort(err_);
    return port_;
  }
  bool waitListening(std::chrono::milliseconds timeout) {
    return eventually([&] { return port() > 0; }, timeout);
  }
  // The body of GET `path`, nullopt when it does not answer (stopped, not up).
  std::optional<std::string> get(const std::string& path) {
    if (port() == 0) return std::nullopt;
    httplib::Client http("127.0.0.1", port_);
    http.set_connection_timeout(1, 0);
    http.set_read_timeout(2, 0);
    auto res = http.Get(path.c_str());
    if (!res || res->status != 200) return std::nullopt;
    return res->body;
  }
  nlohmann::json status() {
    auto body = get("/api/v1/status");
    return body ? nlohmann::json::parse(*body) : nlohmann::json();
  }
  // A sample of /metrics, nullopt when absent or not answering.
  std::optional<double> metric(const std::string& series) {
    auto body = get("/metrics");
    if (!body) return std::nullopt;
    return promSample(*body, series);
  }

 private:
  std::string id_;
  std::filesystem::path err_;
  std::unique_ptr<Process> proc_;
  int port_ = 0;
};

}  // namespace datawatch::testing
