#pragma once
// Private helpers for the packet builders in this library.
#include <cstddef>
#include <cstdint>
#include <span>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/datapath/checksum.hpp"

namespace weft::datapath::detail {

/// NB: callers size their buffers first; these only write inside them.
inline void put16(std::span<std::uint8_t> b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<std::uint16_t>(v));
}
inline void put_mac(std::span<std::uint8_t> b, std::size_t at, const Mac& m) {
  for (std::size_t i = 0; i < 6; ++i) {
    b[at + i] = m.bytes()[i];
  }
}
inline void put_ip(std::span<std::uint8_t> b, std::size_t at, Ipv4 a) {
  put32(b, at, a.value());
}

/// Recomputes the header checksum of the IPv4 header at the start of `hdr` (IHL*4 bytes).
inline void fix_ipv4_checksum(std::span<std::uint8_t> hdr) {
  const std::size_t len = std::size_t{hdr[0] & 0x0fu} * 4;
  put16(hdr, 10, 0);
  put16(hdr, 10, internet_checksum(hdr.first(len)));
}

}  // namespace weft::datapath::detail
