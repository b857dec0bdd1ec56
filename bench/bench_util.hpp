#pragma once
// What the benchmarks share: their config, and the process figures they print
// (CPU time, resident memory).

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "config/loader.hpp"

namespace datawatch::bench {

// User + system CPU seconds of the whole process so far.
inline double processCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A /proc/PID/status field in kB ("VmHWM:" peak RSS, "VmRSS:" current) of this
// process (pid 0) or another, or -1.
inline long statusKb(const std::string& field, pid_t pid = 0) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

// The benchmark's config from YAML, `${NAME}` expanding from `env` only. An
// invalid config prints its diagnostics and exits with 2.
inline std::shared_ptr<config::Config> loadConfigOrExit(
    const std::string& yaml, const std::string& file,
    const std::map<std::string, std::string>& env = {}) {
  auto r = config::loadConfigFromString(yaml, file, "",
                                        [&](const std::string& name) -> std::optional<std::string> {
                                          auto it = env.find(name);
                                          if (it == env.end()) return std::nullopt;
                                          return it->second;
                                        });
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::exit(2);
  }
  return std::make_shared<config::Config>(std::move(*r.config));
}

inline long peakRssKb() {
  return statusKb("VmHWM:");
}

}  // namespace datawatch::bench
