#include "weft/base/logger.hpp"

#include <sys/time.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "weft/base/check.hpp"

namespace weft {

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warning" || s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return std::nullopt;
}

void StderrSink::write(LogLevel level, std::string_view component, std::string_view msg) {
  static constexpr const char* kNames[] = {"DEBU", "INFO", "WARN", "ERRO"};
  timeval tv{};
  gettimeofday(&tv, nullptr);
  std::tm tm{};
  gmtime_r(&tv.tv_sec, &tm);
  auto line = fmt::format("{}: {:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06} {}: {}\n", kNames[static_cast<int>(level)],
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          static_cast<long>(tv.tv_usec), component, msg);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void check_failed(const char* file, int line, const char* cond, std::string_view msg) {
  StderrSink().write(LogLevel::error, "check",
                     fmt::format("FATAL: {}:{}: check failed: {}: {}", file, line, cond, msg));
  std::abort();
}

}  // namespace weft
