#include "agent/process_tuning.hpp"

#include <malloc.h>
#include <sqlite3.h>

#include <cstdlib>
#include <mutex>

namespace datawatch {

void tuneProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread exists.
    if (std::getenv("MALLOC_ARENA_MAX") == nullptr && std::getenv("GLIBC_TUNABLES") == nullptr)
      mallopt(M_ARENA_MAX, kMallocArenas);
    // SQLITE_MISUSE when SQLite is already initialised: the default stays.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

}  // namespace datawatch
