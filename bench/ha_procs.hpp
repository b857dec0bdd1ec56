#pragma once
// The benchmarks' child processes: CPU seconds from /proc; spawning a program
// with extra environment and its output in a log file, stopping it, polling its
// HTTP port; and ha_bench's `datawatch run` replicas (spawned with their own
// replica id, state DSN and HTTP port; asked for /api/v1/status).

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace datawatch::bench {

using Steady = std::chrono::steady_clock;

inline double since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

inline void sleepFor(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// --- CPU from /proc ---------------------------------------------------------

// utime+stime (and cutime+cstime with `children`) of a pid, in seconds; -1 if gone.
inline double procCpu(pid_t pid, bool children = false) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return -1;
  std::istringstream f(s.substr(s.rfind(')') + 2));
  std::vector<std::string> v{std::istream_iterator<std::string>(f), {}};
  if (v.size() < 15) return -1;
  // after "pid (comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
  double t = std::stod(v[11]) + std::stod(v[12]);
  if (children) t += std::stod(v[13]) + std::stod(v[14]);
  return t / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds all processes on the host have used (user+nice+system+irq+softirq+steal).
inline double hostBusy() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + sys + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline pid_t parentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return -1;
  std::istringstream f(s.substr(s.rfind(')') + 2));
  std::string state;
  pid_t ppid = -1;
  f >> state >> ppid;
  return ppid;
}

// The whole server: the postmaster with its reaped children, plus live backends.
inline double serverCpu(pid_t postmaster) {
  if (postmaster <= 0) return -1;
  double t = procCpu(postmaster, true);
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t p = std::stoi(name);
    if (parentOf(p) == postmaster) t += std::max(0.0, procCpu(p));
  }
  return t;
}

// --- replicas ---------------------------------------------------------------

struct Replica {
  std::string id;
  int port = 0;
  pid_t pid = -1;
};

// A port free on 127.0.0.1 now (the kernel's pick for port 0).
inline int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// --- child processes --------------------------------------------------------

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Forks and execs argv[0] (a path) with `env` added to ours, stdout and stderr
// into `log`. The child starts with no signal blocked (the mask survives exec)
// and gets SIGTERM when the benchmark dies, so none outlives it. Returns its pid.
inline pid_t spawnProcess(const std::vector<std::string>& argv, const EnvList& env,
                          const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  FILE* f = std::freopen(log.c_str(), "w", stdout);
  if (f) dup2(fileno(stdout), STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Reaps pid, waiting up to `timeout` seconds before SIGKILL.
inline void reapOrKill(pid_t pid, double timeout = 15) {
  const auto t0 = Steady::now();
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (since(t0) > timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    sleepFor(0.05);
  }
}

// SIGTERM, then reapOrKill; pid becomes -1.
inline void stopProcess(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  reapOrKill(pid);
  pid = -1;
}

// A spawned process (spawnProcess), stopped (stopProcess) when this goes.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const EnvList& env, const std::string& log)
      : pid_(spawnProcess(argv, env, log)) {}
  ~ChildProcess() { stopProcess(pid_); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }
  // False once it has exited (it is reaped then).
  bool alive() {
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) != 0) pid_ = -1;
    return pid_ > 0;
  }

 private:
  pid_t pid_;
};

// GET http://127.0.0.1:port/path: the body of a 200, or nothing.
inline std::optional<std::string> httpGet(int port, const std::string& path,
                                          int read_timeout_s = 2) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  c.set_read_timeout(read_timeout_s, 0);
  auto res = c.Get(path);
  if (!res || res->status != 200) return std::nullopt;
  return res->body;
}

// Until pid answers 200 on path within `timeout` s; false if it exits first.
inline bool waitHttp(pid_t pid, int port, const std::string& path, double timeout) {
  const auto t0 = Steady::now();
  while (since(t0) < timeout) {
    if (waitpid(pid, nullptr, WNOHANG) != 0) return false;
    if (httpGet(port, path)) return true;
    sleepFor(0.1);
  }
  return false;
}

// --- replicas (continued) ----------------------------------------------------

inline Replica spawn(const std::string& binary, const std::string& config, const std::string& id,
                     const std::string& state_dsn, const std::string& logdir,
                     const std::string& log_level = "warn") {
  Replica r{id, freePort(), -1};
  r.pid = spawnProcess({binary, "run", "-c", config, "--listen",
                        "127.0.0.1:" + std::to_string(r.port), "--log-level", log_level},
                       {{"DW_BENCH_REPLICA", id}, {"DW_BENCH_STATE", state_dsn}},
                       logdir + "/" + id + ".log");
  return r;
}

inline void stopAll(std::vector<Replica>& rs) {
  for (auto& r : rs)
    if (r.pid > 0) kill(r.pid, SIGTERM);
  for (auto& r : rs) {
    if (r.pid > 0) reapOrKill(r.pid);
    r.pid = -1;
  }
}

// The replica's /api/v1/status, or null.
inline nlohmann::json status(const Replica& r) {
  const auto body = httpGet(r.port, "/api/v1/status");
  if (!body) return nullptr;
  return nlohmann::json::parse(*body, nullptr, false);
}

inline bool waitUp(const Replica& r, double timeout) {
  return waitHttp(r.pid, r.port, "/api/v1/status", timeout);
}

}  // namespace datawatch::bench
