#include "weft/datapath/ethernet.hpp"

namespace weft::datapath {

namespace {
std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
}  // namespace

std::optional<EthernetHeader> parse_ethernet(std::span<const std::uint8_t> frame) {
  if (frame.size() < kEthernetHeaderLen) {
    return std::nullopt;
  }
  EthernetHeader h;
  h.dst = Mac::from_bytes(frame.subspan(0, 6));
  h.src = Mac::from_bytes(frame.subspan(6, 6));
  h.ethertype = be16(frame, 12);
  if (h.ethertype == kEtherTypeVlan || h.ethertype == kEtherTypeQinQ) {
    if (frame.size() < kEthernetHeaderLen + kVlanTagLen) {
      return std::nullopt;
    }
    h.tag_type = h.ethertype;
    h.vlan_tci = be16(frame, 14);
    h.ethertype = be16(frame, 16);
    h.header_len = kEthernetHeaderLen + kVlanTagLen;
  }
  return h;
}

}  // namespace weft::datapath
