#pragma once
#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "weft/base/bytes.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/random.hpp"

namespace weft {

/// A mesh peer's 48-bit name (mesh's "mac" flavour), stored as uint64 like mesh. Text form is
/// `aa:bb:cc:dd:ee:ff`; parse also accepts the `::`-abbreviated forms (`::1`, `aa::1`).
class PeerName {
 public:
  constexpr PeerName() = default;
  constexpr explicit PeerName(std::uint64_t v) : v_(v & 0xFFFF'FFFF'FFFFull) {}
  static std::optional<PeerName> parse(std::string_view s);
  static PeerName from_mac(const Mac& m) { return PeerName(m.as_u64()); }
  /// From 6 big-endian bytes (topology NameByte). nullopt unless exactly 6 bytes.
  static std::optional<PeerName> from_bytes(ByteSpan b);
  /// Weave's MACfromUUID: first 6 bytes of SHA256("9oBJ0Jmip-" ‖ id), locally administered unicast.
  static PeerName from_system_id(ByteSpan id);
  /// A random locally administered unicast name.
  static PeerName random(Random& rng);
  std::uint64_t value() const { return v_; }
  Mac mac() const;
  Bytes to_bytes() const;
  std::string str() const;
  bool is_unknown() const { return v_ == 0; }
  auto operator<=>(const PeerName&) const = default;

 private:
  std::uint64_t v_ = 0;
};

}  // namespace weft

template <>
struct std::hash<weft::PeerName> {
  std::size_t operator()(const weft::PeerName& p) const noexcept { return std::hash<std::uint64_t>{}(p.value()); }
};
template <>
struct fmt::formatter<weft::PeerName> : fmt::formatter<std::string_view> {
  auto format(const weft::PeerName& p, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(p.str(), ctx);
  }
};
