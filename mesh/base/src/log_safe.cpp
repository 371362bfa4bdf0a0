#include "weft/base/log_safe.hpp"

#include <fmt/format.h>

namespace weft {

std::string log_safe(std::string_view s, std::size_t max) {
  std::string out;
  auto n = std::min(s.size(), max);
  out.reserve(n + 16);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += fmt::format("...({} bytes)", s.size());
  return out;
}

std::string sanitize_log_message(std::string_view msg, std::size_t max) {
  std::string out;
  auto n = std::min(msg.size(), max);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(msg[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (msg.size() > max) out += fmt::format("...(cut: {} bytes)", msg.size());
  return out;
}

bool LogLimiter::allow(std::string_view key, TimePoint now, std::uint64_t* suppressed) {
  if (entries_.size() >= max_keys_ && !entries_.count(std::string(key))) entries_.clear();
  auto& e = entries_[std::string(key)];
  if (e.count == 0 || now - e.start >= window_) {
    e.start = now;
    e.count = 0;
  }
  if (e.count >= burst_) {
    ++e.dropped;
    return false;
  }
  ++e.count;
  if (suppressed) *suppressed = e.dropped;
  e.dropped = 0;
  return true;
}

}  // namespace weft
