#pragma once
#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace weft {

/// A peer's 12-bit short id (0..4095), used as fastdp VNI halves and carried in topology.
class ShortID {
 public:
  static constexpr std::uint16_t kMax = 4095;
  constexpr ShortID() = default;
  /// nullopt when v > 4095 (the handshake fails on such a value).
  static std::optional<ShortID> from_uint(std::uint64_t v);
  /// Decimal text, as in the handshake features map.
  static std::optional<ShortID> parse(std::string_view s);
  std::uint16_t value() const { return v_; }
  auto operator<=>(const ShortID&) const = default;

 private:
  constexpr explicit ShortID(std::uint16_t v) : v_(v) {}
  std::uint16_t v_ = 0;
};

}  // namespace weft

template <>
struct std::hash<weft::ShortID> {
  std::size_t operator()(const weft::ShortID& s) const noexcept { return s.value(); }
};
template <>
struct fmt::formatter<weft::ShortID> : fmt::formatter<std::uint16_t> {
  auto format(const weft::ShortID& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::uint16_t>::format(s.value(), ctx);
  }
};
