#pragma once
// IPv4 header decoding (RFC 791):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-------+-------+---------------+-------------------------------+
//   |Version|  IHL  |      TOS      |         Total Length          |
//   +-------+-------+---------------+-----+-------------------------+
//   |        Identification         |R|D|M|    Fragment Offset      |
//   +---------------+---------------+-----+-------------------------+
//   |      TTL      |   Protocol    |        Header Checksum        |
//   +---------------+---------------+-------------------------------+
//   |                        Source Address                         |
//   |                      Destination Address                      |
//   |                 Options (IHL*4 - 20 bytes)                    |
//   +---------------------------------------------------------------+
//
// Malformed = version != 4, IHL < 5, total length < IHL*4, or fewer bytes than total length. A bad
// header checksum is reported (checksum_ok) but is not malformed: the router bridges frames and
// leaves that verdict to the receiving host. Bytes after total length (Ethernet padding) are not
// part of the packet.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "weft/base/ipv4.hpp"
#include "weft/datapath/datapath.hpp"
#include "weft/datapath/ethernet.hpp"

namespace weft::datapath {

inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;

struct Ipv4Header {
  std::uint8_t ihl = 5;  ///< header length in 32-bit words (5..15)
  std::uint8_t tos = 0;
  std::uint16_t total_length = 0;  ///< header + payload, bytes
  std::uint16_t id = 0;
  bool reserved_flag = false;  ///< the "evil bit"; preserved, never interpreted
  bool df = false;
  bool mf = false;
  std::uint16_t frag_offset = 0;  ///< in 8-byte units
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::uint16_t checksum = 0;  ///< as found on the wire
  bool checksum_ok = false;
  Ipv4 src;
  Ipv4 dst;

  std::size_t header_len() const { return std::size_t{ihl} * 4; }
  std::size_t payload_len() const { return total_length - header_len(); }
  std::size_t frag_offset_bytes() const { return std::size_t{frag_offset} * 8; }
  /// True for any fragment of a fragmented datagram (first, middle or last).
  bool is_fragment() const { return mf || frag_offset != 0; }
};

/// Decodes the IPv4 header at the start of `packet`; nullopt if malformed (see above).
std::optional<Ipv4Header> parse_ipv4(std::span<const std::uint8_t> packet);

/// An IPv4-over-Ethernet frame, decoded. The spans point into the frame that was parsed.
struct Ipv4Frame {
  EthernetHeader eth;
  Ipv4Header ip;
  std::span<const std::uint8_t> l2;       ///< Ethernet header incl. the tag
  std::span<const std::uint8_t> packet;   ///< IP header + payload (total_length bytes, no padding)
  std::span<const std::uint8_t> options;  ///< IP options (header bytes 20..IHL*4)
  std::span<const std::uint8_t> payload;  ///< IP payload
};

/// Decodes an Ethernet frame carrying IPv4 (ethertype 0x0800, optionally behind one tag);
/// nullopt for other ethertypes and for malformed frames.
std::optional<Ipv4Frame> parse_ipv4_frame(std::span<const std::uint8_t> frame);
inline std::optional<Ipv4Frame> parse_ipv4_frame(const FrameView& frame) {
  return parse_ipv4_frame(frame.data);
}

}  // namespace weft::datapath
