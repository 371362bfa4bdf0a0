#pragma once
// Injectable logging via fmt (house style R11). No per-packet logging: counters go to /metrics.
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "weft/base/log_safe.hpp"

namespace weft {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };
std::optional<LogLevel> parse_log_level(std::string_view s);

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write(LogLevel level, std::string_view component, std::string_view msg) = 0;
};

/// Writes "INFO: 2026/11/28 03:40:00.123456 component: msg" to stderr, like weave's logger.
class StderrSink final : public LogSink {
 public:
  void write(LogLevel level, std::string_view component, std::string_view msg) override;
};

/// Drops everything (tests).
class NullSink final : public LogSink {
 public:
  void write(LogLevel, std::string_view, std::string_view) override {}
};

class Logger {
 public:
  Logger(std::string component, std::shared_ptr<LogSink> sink, LogLevel level = LogLevel::info)
      : component_(std::move(component)), sink_(std::move(sink)), level_(level) {}
  /// A logger for a sub-component sharing sink and level.
  Logger child(std::string component) const { return Logger(std::move(component), sink_, level_); }
  void set_level(LogLevel l) { level_ = l; }
  bool enabled(LogLevel l) const { return l >= level_; }

  template <typename... Args>
  void debug(fmt::format_string<Args...> f, Args&&... a) const { log(LogLevel::debug, f, std::forward<Args>(a)...); }
  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... a) const { log(LogLevel::info, f, std::forward<Args>(a)...); }
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... a) const { log(LogLevel::warn, f, std::forward<Args>(a)...); }
  template <typename... Args>
  void error(fmt::format_string<Args...> f, Args&&... a) const { log(LogLevel::error, f, std::forward<Args>(a)...); }

 private:
  template <typename... Args>
  void log(LogLevel l, fmt::format_string<Args...> f, Args&&... a) const {
    if (!enabled(l) || !sink_) return;
    // Every message is escaped and bounded here, whatever its values (see log_safe.hpp).
    sink_->write(l, component_, sanitize_log_message(fmt::format(f, std::forward<Args>(a)...)));
  }
  std::string component_;
  std::shared_ptr<LogSink> sink_;
  LogLevel level_;
};

/// A logger that discards everything, for tests and cores built without a sink.
inline Logger null_logger() { return Logger("null", std::make_shared<NullSink>()); }

}  // namespace weft
