#include "weft/router/fastdp.hpp"

#include <algorithm>

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
