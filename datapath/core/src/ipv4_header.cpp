#include "weft/datapath/ipv4_header.hpp"

#include "weft/datapath/checksum.hpp"

namespace weft::datapath {

namespace {
std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}
}  // namespace

std::optional<Ipv4Header> parse_ipv4(std::span<const std::uint8_t> packet) {
  if (packet.size() < kIpv4MinHeaderLen || (packet[0] >> 4) != 4) {
    return std::nullopt;
  }
  Ipv4Header h;
  h.ihl = packet[0] & 0x0f;
  h.tos = packet[1];
  h.total_length = be16(packet, 2);
  if (h.ihl < 5 || h.total_length < h.header_len() || packet.size() < h.total_length) {
    return std::nullopt;
  }
  h.id = be16(packet, 4);
  const std::uint16_t flags_offset = be16(packet, 6);
  h.reserved_flag = (flags_offset & 0x8000) != 0;
  h.df = (flags_offset & 0x4000) != 0;
  h.mf = (flags_offset & 0x2000) != 0;
  h.frag_offset = flags_offset & 0x1fff;
  h.ttl = packet[8];
  h.protocol = packet[9];
  h.checksum = be16(packet, 10);
  h.src = Ipv4(be32(packet, 12));
  h.dst = Ipv4(be32(packet, 16));
  h.checksum_ok = internet_checksum(packet.subspan(0, h.header_len())) == 0;
  return h;
}

std::optional<Ipv4Frame> parse_ipv4_frame(std::span<const std::uint8_t> frame) {
  auto eth = parse_ethernet(frame);
  if (!eth || eth->ethertype != kEtherTypeIpv4) {
    return std::nullopt;
  }
  auto l3 = frame.subspan(eth->header_len);
  auto ip = parse_ipv4(l3);
  if (!ip) {
    return std::nullopt;
  }
  Ipv4Frame f;
  f.eth = *eth;
  f.ip = *ip;
  f.l2 = frame.first(eth->header_len);
  f.packet = l3.first(ip->total_length);
  f.options = f.packet.subspan(kIpv4MinHeaderLen, ip->header_len() - kIpv4MinHeaderLen);
  f.payload = f.packet.subspan(ip->header_len());
  return f;
}

}  // namespace weft::datapath
