#include "weft/npc/blocked.hpp"

#include <fmt/format.h>

namespace weft::npc {

namespace {

constexpr std::uint16_t kNflogPacket = 0x0400;  // NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET
constexpr std::uint16_t kNlaPayload = 9;        // NFULA_PAYLOAD
constexpr std::size_t kNlmsgHdr = 16, kNfgenmsg = 4;

std::uint16_t host16(const std::uint8_t* p) {
  std::uint16_t v = 0;
  __builtin_memcpy(&v, p, 2);
  return v;
}
std::uint32_t host32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  __builtin_memcpy(&v, p, 4);
  return v;
}
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace

std::vector<std::span<const std::uint8_t>> nflog_payloads(std::span<const std::uint8_t> d) {
  std::vector<std::span<const std::uint8_t>> out;
  std::size_t off = 0;
  while (d.size() - off >= kNlmsgHdr) {
    const std::uint32_t len = host32(d.data() + off);
    if (len < kNlmsgHdr || len > d.size() - off) break;
    const std::uint16_t type = host16(d.data() + off + 4);
    if (type == kNflogPacket && len >= kNlmsgHdr + kNfgenmsg) {
      std::size_t a = off + kNlmsgHdr + kNfgenmsg;
      const std::size_t end = off + len;
      while (end - a >= 4) {
        const std::uint16_t alen = host16(d.data() + a);
        const std::uint16_t atype = host16(d.data() + a + 2) & 0x3fff;  // strip NLA_F_NESTED/BYTEORDER
        if (alen < 4 || alen > end - a) break;
        if (atype == kNlaPayload) out.push_back(d.subspan(a + 4, alen - 4u));
        a += align4(alen);
        if (a > end) break;
      }
    }
    off += align4(len);
    if (off > d.size()) break;
  }
  return out;
}

std::optional<BlockedPacket> decode_blocked(std::span<const std::uint8_t> p) {
  if (p.size() < 20 || (p[0] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
  if (ihl < 20 || p.size() < ihl + 4) return std::nullopt;
  // A non-first fragment carries no transport header.
  if ((be16(p.data() + 6) & 0x1fff) != 0) return std::nullopt;
  BlockedPacket b;
  b.src = Ipv4(be32(p.data() + 12));
  b.dst = Ipv4(be32(p.data() + 16));
  b.sport = be16(p.data() + ihl);
  b.dport = be16(p.data() + ihl + 2);
  if (p[9] == 6) {
    if (p.size() < ihl + 14) return std::nullopt;
    const std::uint8_t flags = p[ihl + 13];
    const bool syn = (flags & 0x02) != 0, ack = (flags & 0x10) != 0;
    if (!syn || ack) return std::nullopt;
    b.proto = BlockedPacket::Proto::tcp;
    return b;
  }
  if (p[9] == 17) {
    b.proto = BlockedPacket::Proto::udp;
    return b;
  }
  return std::nullopt;
}

std::string blocked_line(const BlockedPacket& p, const std::string& src_pod, const std::string& dst_pod) {
  return fmt::format("{} connection from {}:{} to {}:{} blocked by Weave NPC. (from {} to {})",
                     p.proto == BlockedPacket::Proto::tcp ? "TCP" : "UDP", p.src, p.sport, p.dst, p.dport,
                     src_pod.empty() ? "?" : src_pod, dst_pod.empty() ? "?" : dst_pod);
}

}  // namespace weft::npc
