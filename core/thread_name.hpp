#pragma once
// Names the calling thread, so `top -H`, `ps -L`, perf and gdb tell the
// agent's threads apart (all were "datawatch"). Linux allows 15 bytes: longer
// names are cut. Best effort: a failure keeps the previous name.

#include <pthread.h>

#include <string>

namespace datawatch {

inline void nameThisThread(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace datawatch
