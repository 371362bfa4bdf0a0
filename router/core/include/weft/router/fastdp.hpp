#pragma once
// Weave's fast datapath on the wire (spec §5): VXLAN on UDP port+1 whose VNI names the (source,
// destination) peer pair by ShortID, the all-zero-MAC heartbeat frame, and the per-connection
// overlay negotiation of the `Overlays` handshake feature.
//
//   outer    = IPv4 (DF, TTL 64) | UDP (dst port = weave port + 1, checksum 0) | VXLAN | frame
//   VXLAN    = <[1] flags 0x08> <[3] reserved 0> <[3] VNI BE> <[1] reserved 0>    (RFC 7348)
//   VNI      = src ShortID | dst ShortID << 12   (OVS tunnel id (dst << 12) | src; low 24 bits)
//   heartbeat= inner frame of 14 + datapath MTU bytes: <[14] zero> <[8] connUID BE>
//              <[2] total frame length BE> <zeros>
//   control  = TCP tag 7: <[1] overlay index> <[1] sub-tag: 0 HeartbeatAck, 1 CryptoInitSARemote>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"
#include "weft/base/short_id.hpp"
#include "weft/datapath/vnet_header.hpp"
#include "weft/mesh/handshake.hpp"

namespace weft::router {

inline std::uint64_t fastdp_tunnel_id(ShortID src, ShortID dst) {
  return (std::uint64_t{dst.value()} << 12) | src.value();
}
inline std::uint32_t fastdp_vni(ShortID src, ShortID dst) {
  return static_cast<std::uint32_t>(fastdp_tunnel_id(src, dst) & 0xFFFFFF);
}
/// The (src, dst) ShortIDs of a tunnel id (or VNI).
inline std::pair<std::uint16_t, std::uint16_t> fastdp_peers(std::uint64_t tunnel_id) {
  return {static_cast<std::uint16_t>(tunnel_id & 0xFFF), static_cast<std::uint16_t>((tunnel_id >> 12) & 0xFFF)};
}

inline constexpr std::size_t kVxlanHeaderLen = 8;
inline constexpr std::uint8_t kVxlanFlagVni = 0x08;
/// Bytes fastdp adds to an IP packet on the underlay: IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
inline constexpr int kFastdpOverhead = 50;
/// Smallest valid heartbeat frame: 14 zero bytes, connUID, length.
inline constexpr std::size_t kFastdpHeartbeatMin = 24;

inline constexpr std::uint8_t kFastdpSubHeartbeatAck = 0;
inline constexpr std::uint8_t kFastdpSubCryptoInitSARemote = 1;

inline constexpr std::string_view kOverlayFastdp = "fastdp";
inline constexpr std::string_view kOverlaySleeve = "sleeve";

/// Appends the 8-byte VXLAN header for `vni` (only its low 24 bits are used).
void append_vxlan_header(Bytes& out, std::uint32_t vni);

struct VxlanPacket {
  std::uint32_t vni = 0;
  std::span<const std::uint8_t> frame;  ///< the inner Ethernet frame (a view into the input)
};
/// Decodes a VXLAN UDP payload: the I flag must be set and the inner frame at least an Ethernet
/// header; reserved bits are ignored on receive as RFC 7348 says.
Result<VxlanPacket> parse_vxlan(std::span<const std::uint8_t> udp_payload);

/// The heartbeat frame for a connection: 14 + `mtu` bytes.
Bytes make_fastdp_heartbeat(std::uint64_t conn_uid, int mtu);
/// True if the frame's Ethernet header is all zero (a fastdp or sleeve special frame).
bool is_zero_mac_frame(std::span<const std::uint8_t> frame);
/// The connUID of a valid heartbeat (zero header, at least 24 bytes, length field = actual
/// length), else an error naming what is wrong.
Result<std::uint64_t> parse_fastdp_heartbeat(std::span<const std::uint8_t> frame);

/// The virtio_net_hdr a frame the kernel handed to weaver needs, since its skb state did not come
/// with it: an IPv4 TCP/UDP frame whose checksum field holds the folded pseudo-header sum (a
/// partial checksum, as an skb that never left the machine carries it) gets NEEDS_CSUM; one the
/// kernel merged (GRO, `gso_size` > 0, IPv4 TCP) also gets TCPV4 GSO. nullopt = a complete frame
/// (or one whose checksum is simply wrong: left for the receiver to drop).
std::optional<datapath::VnetHeader> punted_frame_header(std::span<const std::uint8_t> frame, std::uint16_t gso_size);

/// The overlays one connection runs (spec §5.3): the intersection of both advertisements in
/// *our* order (the index of each is its forwarder index in tag-7 control messages), or compat
/// sleeve when the remote sent no `Overlays` key.
struct OverlayChoice {
  bool compat = false;
  std::vector<std::string> common;
  std::optional<std::uint8_t> index_of(std::string_view name) const;
};
Result<OverlayChoice> negotiate_overlays(std::span<const std::string> ours, const mesh::RemoteFeatures& remote);

}  // namespace weft::router
