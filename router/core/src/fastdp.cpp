#include "weft/router/fastdp.hpp"

#include <algorithm>

#include "weft/datapath/checksum.hpp"

namespace weft::router {

void append_vxlan_header(Bytes& out, std::uint32_t vni) {
  const std::uint8_t h[kVxlanHeaderLen] = {kVxlanFlagVni, 0, 0, 0, static_cast<std::uint8_t>(vni >> 16),
                                           static_cast<std::uint8_t>(vni >> 8), static_cast<std::uint8_t>(vni), 0};
  out.insert(out.end(), h, h + kVxlanHeaderLen);
}

Result<VxlanPacket> parse_vxlan(std::span<const std::uint8_t> p) {
  if (p.size() < kVxlanHeaderLen + 14) return make_error("VXLAN packet of {} bytes is too short", p.size());
  if ((p[0] & kVxlanFlagVni) == 0) return make_error("VXLAN packet without the VNI flag (flags {:#04x})", p[0]);
  VxlanPacket out;
  out.vni = (std::uint32_t{p[4]} << 16) | (std::uint32_t{p[5]} << 8) | p[6];
  out.frame = p.subspan(kVxlanHeaderLen);
  return out;
}

Bytes make_fastdp_heartbeat(std::uint64_t conn_uid, int mtu) {
  const std::size_t len = 14 + static_cast<std::size_t>(std::max(mtu, 10));
  Bytes f(len, 0);
  for (int i = 0; i < 8; ++i) f[14 + i] = static_cast<std::uint8_t>(conn_uid >> (56 - 8 * i));
  f[22] = static_cast<std::uint8_t>(len >> 8);
  f[23] = static_cast<std::uint8_t>(len);
  return f;
}

bool is_zero_mac_frame(std::span<const std::uint8_t> frame) {
  return frame.size() >= 14 && std::all_of(frame.begin(), frame.begin() + 14, [](std::uint8_t b) { return b == 0; });
}

Result<std::uint64_t> parse_fastdp_heartbeat(std::span<const std::uint8_t> f) {
  if (!is_zero_mac_frame(f)) return make_error("not a special frame");
  if (f.size() < kFastdpHeartbeatMin) return make_error("heartbeat of {} bytes is too short", f.size());
  ByteReader r(f.subspan(14));
  auto uid = *r.u64be();
  auto len = *r.u16be();
  if (len != f.size()) return make_error("heartbeat length field {} but {} bytes arrived", len, f.size());
  return uid;
}

std::optional<datapath::VnetHeader> punted_frame_header(std::span<const std::uint8_t> f, std::uint16_t gso_size) {
  constexpr std::size_t l3 = 14;
  if (f.size() < l3 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[l3] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = std::size_t{f[l3] & 0x0fu} * 4;
  const std::size_t tot = (std::size_t{f[l3 + 2]} << 8) | f[l3 + 3];
  const std::uint8_t proto = f[l3 + 9];
  const bool fragment = ((f[l3 + 6] & 0x3f) | f[l3 + 7]) != 0;  // MF or an offset
  if (ihl < 20 || tot < ihl || l3 + tot > f.size() || fragment) return std::nullopt;
  const std::size_t l4 = l3 + ihl;
  const std::size_t csum_offset = proto == 6 ? 16 : proto == 17 ? 6 : 0;
  if (csum_offset == 0 || tot < ihl + csum_offset + 2) return std::nullopt;
  const auto seg = f.subspan(l4, tot - ihl);
  const std::uint16_t field = static_cast<std::uint16_t>((f[l4 + csum_offset] << 8) | f[l4 + csum_offset + 1]);
  if (proto == 17 && field == 0) return std::nullopt;  // no UDP checksum
  datapath::VnetHeader h;
  h.flags = datapath::kVnetFlagNeedsCsum;
  h.csum_start = static_cast<std::uint16_t>(l4);
  h.csum_offset = static_cast<std::uint16_t>(csum_offset);
  if (gso_size > 0 && proto == 6 && seg.size() >= 20) {
    h.gso_type = datapath::kVnetGsoTcpv4;
    h.gso_size = gso_size;
    h.hdr_len = static_cast<std::uint16_t>(l4 + std::size_t{static_cast<std::uint8_t>(seg[12] >> 4)} * 4);
    return h;
  }
  const Ipv4 src((std::uint32_t{f[l3 + 12]} << 24) | (std::uint32_t{f[l3 + 13]} << 16) | (std::uint32_t{f[l3 + 14]} << 8) |
                 f[l3 + 15]);
  const Ipv4 dst((std::uint32_t{f[l3 + 16]} << 24) | (std::uint32_t{f[l3 + 17]} << 16) | (std::uint32_t{f[l3 + 18]} << 8) |
                 f[l3 + 19]);
  if (datapath::transport_checksum(src, dst, proto, seg) == 0) return std::nullopt;  // complete and valid
  // The folded pseudo-header sum, which is what a partial checksum leaves in the field.
  const std::uint8_t pseudo[12] = {f[l3 + 12], f[l3 + 13], f[l3 + 14], f[l3 + 15], f[l3 + 16], f[l3 + 17],
                                   f[l3 + 18], f[l3 + 19], 0, proto, static_cast<std::uint8_t>(seg.size() >> 8),
                                   static_cast<std::uint8_t>(seg.size())};
  const auto folded = static_cast<std::uint16_t>(~datapath::checksum_finish(datapath::checksum_add(pseudo)));
  if (field != folded) return std::nullopt;
  return h;
}

std::optional<std::uint8_t> OverlayChoice::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < common.size(); ++i) {
    if (common[i] == name) return static_cast<std::uint8_t>(i);
  }
  return std::nullopt;
}

Result<OverlayChoice> negotiate_overlays(std::span<const std::string> ours, const mesh::RemoteFeatures& remote) {
  OverlayChoice c;
  if (!remote.overlays) {
    // Compat overlay: sleeve with tags 1/2/3, whatever we offer.
    c.compat = true;
    c.common = {std::string(kOverlaySleeve)};
    return c;
  }
  const auto& theirs = *remote.overlays;
  for (const auto& o : ours) {
    if (std::find(theirs.begin(), theirs.end(), o) != theirs.end()) c.common.push_back(o);
  }
  if (c.common.empty()) {
    return make_error("no matching overlays: we offer {}, the peer offers {}", fmt::join(ours, " "),
                      theirs.empty() ? std::string("none") : fmt::format("{}", fmt::join(theirs, " ")));
  }
  return c;
}

}  // namespace weft::router
