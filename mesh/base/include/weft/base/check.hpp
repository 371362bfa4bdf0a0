#pragma once
// Programmer-invariant checks (house style R8b): always on, log and abort. Never used for anything
// a peer or a user can cause; those are Result errors. The message goes out through the logging
// sink (logger.cpp), so the cores that use this write nothing to stderr themselves.
#include <fmt/format.h>

#include <string_view>

namespace weft {

/// Logs "check failed: <cond>: <msg>" with its place as an error line and aborts.
[[noreturn]] void check_failed(const char* file, int line, const char* cond, std::string_view msg);

}  // namespace weft

#define WEFT_CHECK(cond, ...)                                                               \
  do {                                                                                      \
    if (!(cond)) ::weft::check_failed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)
