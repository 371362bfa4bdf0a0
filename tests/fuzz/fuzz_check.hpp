#pragma once
// FUZZ_CHECK: a model check inside a libFuzzer target. A failed check aborts, which libFuzzer
// reports as a crash with the input that caused it (assert would vanish under NDEBUG).
#include <cstdlib>

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) {       \
      std::abort();      \
    }                    \
  } while (0)
