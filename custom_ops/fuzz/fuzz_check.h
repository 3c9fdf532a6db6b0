// The invariant check shared by the fuzzers: prints the failed condition and
// a printf-style explanation, then traps so libFuzzer saves the input.
#ifndef PQRNN_FUZZ_FUZZ_CHECK_H_
#define PQRNN_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%d: %s\n  ", __FILE__, \
                   __LINE__, #cond);                                       \
      std::fprintf(stderr, __VA_ARGS__);                                   \
      std::fprintf(stderr, "\n");                                          \
      __builtin_trap();                                                    \
    }                                                                      \
  } while (0)

#endif  // PQRNN_FUZZ_FUZZ_CHECK_H_
