// Not a test: default ThreadSanitizer options for the unit-test binary (TSAN_OPTIONS still
// overrides them). The largest history lets TSan restore the earlier stack of a report, which it
// needs to match the oneTBB suppressions in cmake/suppressions/tsan.supp; without it, a recycled
// TBB task object can be reported with "[failed to restore the stack]" and go unsuppressed.
// g++ defines __SANITIZE_THREAD__ under -fsanitize=thread; clang (before 16) only answers
// __has_feature(thread_sanitizer).

#if defined(__SANITIZE_THREAD__)
#define MQB_UNIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MQB_UNIT_TSAN 1
#endif
#endif

#if defined(MQB_UNIT_TSAN)
extern "C" const char* __tsan_default_options() { return "history_size=7"; }
#endif
