#pragma once
// Process-wide settings of the C libraries underneath the agent, made once at
// the start of main() (and of the benchmarks that measure the agent's
// footprint), before any thread or SQLite connection exists: both settings are
// process-global by nature and must not change while other threads use them.
//
// - glibc malloc: at most kMallocArenas arenas. glibc gives each thread that
//   allocates its own arena (up to 8 per core), and freed memory stays in the
//   arena that served it; the agent's ~15 threads (workers, writer, HTTP,
//   outbox) then hold several MB each has freed. scheduler_bench 1000 probes
//   (MALLOC_ARENA_MAX=1/2 against the default, one binary): peak RSS 37.9 ->
//   34.4-34.5 MB, agent CPU per run within the run-to-run noise (77 -> 65 us).
//   An operator's MALLOC_ARENA_MAX, or glibc.malloc.arena_max in
//   GLIBC_TUNABLES, wins (we leave malloc alone then).
// - SQLite: no memory statistics (SQLITE_CONFIG_MEMSTATUS off). With them on,
//   every sqlite3_malloc/free of every connection takes one process-wide
//   mutex; the agent never reads them (sqlite3_memory_used and friends).

namespace datawatch {

inline constexpr int kMallocArenas = 2;

// Idempotent; returns nothing because nothing here may fail the start (a
// setting that cannot be applied leaves the library's default).
void tuneProcess();

}  // namespace datawatch
