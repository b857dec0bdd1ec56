#include "agent/process_tuning.hpp"

#include <malloc.h>
#include <sqlite3.h>

#include <cstdlib>
#include <mutex>
#include <string_view>

namespace datawatch {

void tuneProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    // NOLINTBEGIN(concurrency-mt-unsafe): before any thread exists.
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    const bool operator_set =
        std::getenv("MALLOC_ARENA_MAX") != nullptr ||
        (tunables != nullptr &&
         std::string_view(tunables).find("malloc.arena_max") != std::string_view::npos);
    // NOLINTEND(concurrency-mt-unsafe)
    if (!operator_set) mallopt(M_ARENA_MAX, kMallocArenas);
    // SQLITE_MISUSE when SQLite is already initialised: the default stays.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

}  // namespace datawatch
