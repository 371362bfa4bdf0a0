#pragma once
// Ethernet II header decoding (no FCS), with at most one 802.1Q / 802.1ad tag:
//
//   <[6] dst MAC> <[6] src MAC> <[2] ethertype>                                  14 bytes
//   <[6] dst MAC> <[6] src MAC> <[2] 0x8100|0x88a8> <[2] TCI> <[2] ethertype>     18 bytes
//
// A second (inner) tag is not decoded: ethertype() then reports 0x8100 and the frame is not IPv4
// as far as this library is concerned.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "weft/base/mac.hpp"

namespace weft::datapath {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;  ///< 802.1Q C-tag
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;  ///< 802.1ad S-tag
inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kVlanTagLen = 4;

struct EthernetHeader {
  Mac dst;
  Mac src;
  std::uint16_t ethertype = 0;                  ///< after the tag, if there is one
  std::uint16_t tag_type = 0;                   ///< 0 (untagged), 0x8100 or 0x88a8
  std::uint16_t vlan_tci = 0;                   ///< PCP/DEI/VID; meaningful only when tagged()
  std::size_t header_len = kEthernetHeaderLen;  ///< 14, or 18 when tagged: where L3 starts

  bool tagged() const { return tag_type != 0; }
  std::uint16_t vlan_id() const { return vlan_tci & 0x0fff; }
};

/// Decodes the L2 header of `frame`; nullopt if it is too short for the header it announces.
std::optional<EthernetHeader> parse_ethernet(std::span<const std::uint8_t> frame);

}  // namespace weft::datapath
