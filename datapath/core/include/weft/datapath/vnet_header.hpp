#pragma once
// The virtio_net_hdr that PACKET_VNET_HDR puts in front of every frame on an
// AF_PACKET socket, and the pure functions that act on it: checksum completion
// and GSO segmentation. No I/O, no allocation, never throw; every field is
// treated as untrusted (it comes from whichever process or guest sent the
// frame), so each function checks it against the frame before use.
//
// Wire format (10 bytes, legacy virtio: host byte order, i.e. little-endian on
// x86/arm64):
//
//   <[1] flags> <[1] gso_type> <[2] hdr_len> <[2] gso_size> <[2] csum_start>
//   <[2] csum_offset>
//
//   flags       bit 0 NEEDS_CSUM: the L4 checksum is partial. The field at
//   csum_start +
//                     csum_offset holds the folded pseudo-header sum; the
//                     sender must add the one's-complement sum of bytes
//                     [csum_start, end) and store its complement.
//               bit 1 DATA_VALID (rx only): checksum already verified.
//   gso_type    0 NONE, 1 TCPV4, 3 UDP (UFO), 4 TCPV6, 5 UDP_L4 (USO); bit 7
//   ECN. hdr_len     length of the headers (a hint; not used here). gso_size
//   payload bytes per segment (the MSS for TCP, the datagram size for USO).
//   csum_start  offset of the L4 header from the start of the Ethernet frame.
//   csum_offset offset of the checksum field within the L4 header (16 TCP, 6
//   UDP).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace weft::datapath {

inline constexpr std::size_t kVnetHeaderLen = 10;
inline constexpr std::uint8_t kVnetFlagNeedsCsum = 1;
inline constexpr std::uint8_t kVnetFlagDataValid = 2;
inline constexpr std::uint8_t kVnetGsoNone = 0;
inline constexpr std::uint8_t kVnetGsoTcpv4 = 1;
inline constexpr std::uint8_t kVnetGsoUdp = 3;
inline constexpr std::uint8_t kVnetGsoTcpv6 = 4;
inline constexpr std::uint8_t kVnetGsoUdpL4 = 5;
inline constexpr std::uint8_t kVnetGsoEcn = 0x80;
/// Superframes that would need more segments than this are refused (a hostile
/// gso_size of 1 would otherwise ask for 65k segments per frame).
inline constexpr std::size_t kMaxGsoSegments = 512;

struct VnetHeader {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;  ///< including the ECN bit
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;

  bool needs_csum() const { return (flags & kVnetFlagNeedsCsum) != 0; }
  std::uint8_t gso_kind() const { return gso_type & static_cast<std::uint8_t>(~kVnetGsoEcn); }
  bool is_gso() const { return gso_kind() != kVnetGsoNone; }
  bool operator==(const VnetHeader&) const = default;
};

/// Decodes the first kVnetHeaderLen bytes of `bytes`; nullopt if there are
/// fewer. Decoding checks nothing else: the consumers below validate the fields
/// against the frame.
std::optional<VnetHeader> parse_vnet_header(std::span<const std::uint8_t> bytes);
/// Encodes `h` into out[0..10); false if `out` is shorter.
bool write_vnet_header(const VnetHeader& h, std::span<std::uint8_t> out);

/// Completes a partial checksum (NEEDS_CSUM) in place over the whole `frame`
/// (the Ethernet frame the header came with). True if the frame needed nothing
/// or was completed; false (frame untouched) if csum_start/csum_offset do not
/// lie inside the frame. A result of 0 is written as 0xffff, as the kernel does
/// (valid for TCP, and 0 would mean "no checksum" for UDP).
bool complete_checksum(std::span<std::uint8_t> frame, const VnetHeader& h);

/// How a GSO superframe splits into segments. Offsets are from the start of the
/// Ethernet frame.
struct GsoPlan {
  std::uint8_t l4_protocol = 0;    ///< 6 (TCP) or 17 (UDP)
  std::size_t l3_offset = 0;       ///< the IPv4 header (after Ethernet and an optional tag)
  std::size_t l4_offset = 0;       ///< the TCP/UDP header
  std::size_t payload_offset = 0;  ///< end of the TCP/UDP header: headers copied into each segment
  std::size_t payload_len = 0;     ///< L4 payload bytes of the superframe
  std::size_t mss = 0;             ///< payload bytes per segment (the last may carry fewer)
  std::size_t segments = 0;

  std::size_t segment_payload(std::size_t i) const {
    return i + 1 < segments ? mss : payload_len - mss * (segments - 1);
  }
  std::size_t segment_len(std::size_t i) const { return payload_offset + segment_payload(i); }
  std::size_t max_segment_len() const { return payload_offset + mss; }
};

/// Validates a GSO superframe and plans its segmentation: IPv4 TCP (TCPV4,
/// optionally with ECN) or IPv4 UDP (UDP_L4); Ethernet with at most one VLAN
/// tag; not an IP fragment; IP total length within the frame (bytes past it are
/// ignored). Offsets come from the headers themselves, never from
/// hdr_len/csum_start. For TCP, `max_ip_len` > 0 lowers the MSS so each
/// segment's IP packet fits it (e.g. the bridge MTU); UDP datagram boundaries
/// are never moved. nullopt if the frame is not a superframe this can segment,
/// gso_size is 0, or more than kMaxGsoSegments are needed.
std::optional<GsoPlan> plan_gso(std::span<const std::uint8_t> frame, const VnetHeader& h,
                                std::size_t max_ip_len = 0);

/// Writes segment `index` of `plan` (made by plan_gso for this `frame`) into
/// `out`: the headers, its slice of the payload, then per segment the IPv4
/// total length, id (+index, as Linux does without FIXEDID) and header
/// checksum; for TCP the sequence number (+index*mss), FIN/PSH only on the last
/// segment, CWR only on the first, and a full checksum; for UDP the length and
/// a full checksum. Returns the segment's length, or 0 if `index` is out of
/// range, `out` is too small, or `plan` does not fit `frame`.
std::size_t write_gso_segment(std::span<const std::uint8_t> frame, const GsoPlan& plan,
                              std::size_t index, std::span<std::uint8_t> out);

}  // namespace weft::datapath
