#pragma once
// Process figures the benchmarks print: CPU time and resident memory.

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace datawatch::bench {

// User + system CPU seconds of the whole process so far.
inline double processCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A /proc/self/status field in kB ("VmHWM:" peak RSS, "VmRSS:" current), or -1.
inline long statusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

inline long peakRssKb() {
  return statusKb("VmHWM:");
}

}  // namespace datawatch::bench
