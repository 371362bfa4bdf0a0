#pragma once
// ICMP "fragmentation needed and DF set" (type 3 code 4, RFC 792/1191) synthesis, as Weave's
// sleeve does when a DF frame is larger than the overlay MTU (wire spec §4.4): the reply is
// injected locally, towards the sender, so its TCP lowers its MSS.
//
//   Ethernet: dst = orig src MAC, src = orig dst MAC, same tag (if any) and ethertype
//   IPv4:     IHL 5, TOS = orig TOS, ID 0, no flags, TTL 64, proto 1, src = orig dst, dst = orig
//   src ICMP:     <[1] 3> <[1] 4> <[2] checksum> <[2] 0 unused> <[2] next-hop MTU>
//             <orig IP header incl. options> <first 8 bytes of the orig IP payload>
#include <cstdint>

#include "weft/base/bytes.hpp"
#include "weft/datapath/datapath.hpp"

namespace weft::datapath {

inline constexpr std::uint8_t kIcmpDestUnreachable = 3;
inline constexpr std::uint8_t kIcmpFragNeeded = 4;  ///< code under kIcmpDestUnreachable
inline constexpr std::uint8_t kIcmpFragNeededTtl = 64;

/// Builds the ICMP 3/4 reply to `orig` (an IPv4-over-Ethernet frame) with next-hop MTU `mtu`.
/// If the original payload is shorter than 8 bytes, what there is is quoted.
/// Returns an empty buffer, instead of a reply, when `orig` is not a well-formed IPv4 frame or
/// when RFC 1122 3.2.2 / RFC 1812 4.3.2.7 forbid an ICMP error: the original is itself an ICMP
/// error message, a non-initial fragment, or comes from 0.0.0.0, a multicast (224/4) or the
/// limited broadcast address. (Weave 2.8 did not make these checks; they only suppress replies
/// that no host could use.)
Bytes make_icmp_frag_needed(const FrameView& orig, std::uint16_t mtu);

}  // namespace weft::datapath
