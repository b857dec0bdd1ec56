#pragma once
// Named threads, so `top -H`, `ps -L`, perf and gdb tell the agent's threads
// apart (all were "datawatch"). Linux allows 15 bytes: longer names are cut.
//
// Invariant: a thread started with startNamedThread carries its name when the
// call returns. The creator names it (pthread_setname_np on the new handle),
// not the thread itself at its start: a name set from inside the thread is
// there only once the thread has been scheduled, and whoever looks right
// after start() (a test, an operator's `top -H`) would see "datawatch".
// Best effort: a failure (the thread already gone) keeps the previous name.

#include <pthread.h>

#include <string>
#include <thread>
#include <utility>

namespace datawatch {

template <class Fn>
std::thread startNamedThread(std::string name, Fn&& fn) {
  std::thread thread(std::forward<Fn>(fn));
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(thread.native_handle(), name.c_str());
  return thread;
}

}  // namespace datawatch
