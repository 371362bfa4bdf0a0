#pragma once
// Programmer-invariant checks for the IPAM library (house style R8b): always on, log and abort.
// Never used for anything a peer or a user can cause; those are Result errors.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#define WEFT_IPAM_CHECK(cond, ...)                                                            \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "FATAL: %s:%d: check failed: %s: %s\n", __FILE__, __LINE__, #cond, \
                   fmt::format(__VA_ARGS__).c_str());                                         \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)
