#pragma once
// IPv4 fragmentation done by the router itself (wire spec §4.4): when a non-DF IPv4 frame is
// larger than the sleeve's DF-path MTU and the stack cannot be trusted to fragment UDP, Weave
// splits the inner packet and sends the pieces on the DF path.
#include <cstdint>
#include <span>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/datapath/datapath.hpp"

namespace weft::datapath {

/// Splits the IPv4-over-Ethernet `frame` into fragments of at most `mtu` bytes of IP packet,
/// each a complete Ethernet frame (the original L2 header, tag included), and *appends* them to
/// `out` in offset order.
///
/// * Every fragment carries `(mtu - IHL*4) & ~7` payload bytes, the last one what remains
///   (Weave's rule: the original IHL is used even where a later header is shorter).
/// * The first fragment keeps all options; later ones only the options with the copied flag
///   (RFC 791), padded with End-of-Options to a 4-byte boundary.
/// * Re-fragmenting a fragment keeps its offset as the base, and MF stays set on the last piece
///   when it was set on the input. ID, TOS, TTL and protocol are preserved, the header checksum
///   recomputed. Ethernet padding after the IP total length is dropped.
/// * A packet that already fits is appended as one (unpadded) copy.
///
/// Returns false, appending nothing, when the frame is not well-formed IPv4, has DF set, has a
/// malformed option list, or when `mtu` leaves less than 8 payload bytes per fragment.
/// Allocates one Bytes per fragment; never throws on bad input.
bool fragment_ipv4(const FrameView& frame, std::uint16_t mtu, std::vector<Bytes>& out);

/// The same fragments written back to back into `arena` (resized: no allocation once it has
/// grown), with a view of each in `out` (cleared first; valid until `arena` is next changed).
/// The packet path uses this one.
bool fragment_ipv4(const FrameView& frame, std::uint16_t mtu, Bytes& arena,
                   std::vector<std::span<const std::uint8_t>>& out);

}  // namespace weft::datapath
