#pragma once
#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "weft/base/bytes.hpp"

namespace weft {

/// An Ethernet MAC address.
class Mac {
 public:
  constexpr Mac() = default;
  constexpr explicit Mac(std::array<std::uint8_t, 6> b) : b_(b) {}
  static Mac from_bytes(ByteSpan six);  ///< NB: caller guarantees six.size() >= 6
  /// "aa:bb:cc:dd:ee:ff" (case-insensitive, '-' also accepted as separator).
  static std::optional<Mac> parse(std::string_view s);
  const std::array<std::uint8_t, 6>& bytes() const { return b_; }
  std::uint64_t as_u64() const;
  bool is_multicast() const { return (b_[0] & 1) != 0; }  ///< includes broadcast
  bool is_broadcast() const;
  bool is_zero() const;
  std::string str() const;
  auto operator<=>(const Mac&) const = default;

 private:
  std::array<std::uint8_t, 6> b_{};
};

}  // namespace weft

template <>
struct std::hash<weft::Mac> {
  std::size_t operator()(const weft::Mac& m) const noexcept { return std::hash<std::uint64_t>{}(m.as_u64()); }
};
template <>
struct fmt::formatter<weft::Mac> : fmt::formatter<std::string_view> {
  auto format(const weft::Mac& m, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(m.str(), ctx);
  }
};
