#pragma once
// Logging values that came from outside (issue 18, item 7): peer names, nicknames, fqdns,
// container IDs, error texts of remote peers. A hostile value must not make a huge log line or
// forge one, and one noisy source must not flood the log.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "weft/base/clock.hpp"

namespace weft {

inline constexpr std::size_t kLogValueMax = 256;   ///< bytes of one outside value in a log line
inline constexpr std::size_t kLogLineMax = 4096;   ///< bytes of one whole log message

/// `s` escaped (control bytes, DEL and non-ASCII as \xNN) and cut to `max` bytes of input, with
/// "...(N bytes)" when cut. Safe to put in a log line.
std::string log_safe(std::string_view s, std::size_t max = kLogValueMax);

/// The net under every log message: control bytes and DEL escaped as \xNN (so no value can end
/// the line or drive a terminal), and the message cut to kLogLineMax bytes.
std::string sanitize_log_message(std::string_view msg, std::size_t max = kLogLineMax);

/// Rate limit for repeated log lines per source: at most `burst` lines per `window` per key;
/// the rest are counted and reported on the next allowed line. Holds at most `max_keys` keys
/// (then it starts afresh), so a flood of sources cannot grow it.
class LogLimiter {
 public:
  explicit LogLimiter(int burst = 5, Duration window = std::chrono::seconds(60), std::size_t max_keys = 1024)
      : burst_(burst), window_(window), max_keys_(max_keys) {}
  /// Whether to log now for `key`; when true, `suppressed` is set to the number of lines
  /// dropped for this key since its last allowed line.
  bool allow(std::string_view key, TimePoint now, std::uint64_t* suppressed = nullptr);

 private:
  struct Entry {
    TimePoint start{};
    int count = 0;
    std::uint64_t dropped = 0;
  };
  int burst_;
  Duration window_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace weft
