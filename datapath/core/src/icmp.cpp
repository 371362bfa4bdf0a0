#include "weft/datapath/icmp.hpp"

#include <algorithm>

#include "weft/datapath/ipv4_header.hpp"
#include "wire.hpp"

namespace weft::datapath {

namespace {

constexpr std::size_t kIcmpHeaderLen = 8;
constexpr std::size_t kQuotedPayload = 8;

bool is_icmp_error(std::uint8_t type) {
  // Destination unreachable, source quench, redirect, time exceeded, parameter problem.
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

bool may_reply_to(const Ipv4Frame& f) {
  if (f.ip.frag_offset != 0) {
    return false;
  }
  const std::uint32_t src = f.ip.src.value();
  if (src == 0 || src == 0xffffffffu || (src >> 28) == 0xe) {
    return false;
  }
  if (f.ip.protocol == kIpProtoIcmp && (f.payload.empty() || is_icmp_error(f.payload[0]))) {
    // NB: an ICMP packet too short to show its type is treated as an error message: when in
    // doubt, stay quiet.
    return false;
  }
  return true;
}

}  // namespace

Bytes make_icmp_frag_needed(const FrameView& orig, std::uint16_t mtu) {
  auto f = parse_ipv4_frame(orig);
  if (!f || !may_reply_to(*f)) {
    return {};
  }
  const std::size_t quoted = f->ip.header_len() + std::min(kQuotedPayload, f->payload.size());
  const std::size_t l2 = f->eth.header_len;
  const std::size_t ip_len = kIpv4MinHeaderLen + kIcmpHeaderLen + quoted;
  Bytes out(l2 + ip_len, 0);
  std::span<std::uint8_t> b(out);

  // Ethernet: swap the MACs, keep the tag and ethertype bytes as they were.
  detail::put_mac(b, 0, f->eth.src);
  detail::put_mac(b, 6, f->eth.dst);
  std::copy(f->l2.begin() + 12, f->l2.end(), out.begin() + 12);

  auto ip = b.subspan(l2);
  ip[0] = 0x45;
  ip[1] = f->ip.tos;
  detail::put16(ip, 2, static_cast<std::uint16_t>(ip_len));
  // ID 0, flags 0, offset 0 (bytes 4..7 already zero), as Weave sends it.
  ip[8] = kIcmpFragNeededTtl;
  ip[9] = kIpProtoIcmp;
  detail::put_ip(ip, 12, f->ip.dst);
  detail::put_ip(ip, 16, f->ip.src);
  detail::fix_ipv4_checksum(ip);

  auto icmp = ip.subspan(kIpv4MinHeaderLen);
  icmp[0] = kIcmpDestUnreachable;
  icmp[1] = kIcmpFragNeeded;
  detail::put16(icmp, 6, mtu);
  std::copy_n(f->packet.begin(), quoted, icmp.begin() + kIcmpHeaderLen);
  detail::put16(icmp, 2, internet_checksum(icmp));
  return out;
}

}  // namespace weft::datapath
