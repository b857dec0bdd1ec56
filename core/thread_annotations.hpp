#pragma once
// Clang's thread-safety attributes (as LevelDB's port/thread_annotations.h and
// Abseil's GUARDED_BY). Under clang with -Wthread-safety the compiler checks
// that every member marked GUARDED_BY(mu) is touched only with `mu` held and
// that functions marked REQUIRES(mu) are called with it; under GCC they expand
// to nothing. Use them with datawatch::Mutex (core/mutex.hpp): libstdc++'s
// std::mutex carries no capability attribute.

#if defined(__clang__)
#define DW_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define DW_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) DW_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY DW_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) DW_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) DW_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) DW_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) DW_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) DW_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) DW_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) DW_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) DW_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) DW_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) DW_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) DW_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS DW_THREAD_ANNOTATION(no_thread_safety_analysis)
