#pragma once
// The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header checksum (RFC 768/793). Pure
// functions over byte spans; no allocation, never throw.
#include <cstdint>
#include <span>

#include "weft/base/ipv4.hpp"

namespace weft::datapath {

/// Adds `data` to a running one's-complement sum (not yet folded or complemented). Spans may be
/// fed in pieces, but every piece except the last must have an even length.
std::uint32_t checksum_add(std::span<const std::uint8_t> data, std::uint32_t sum = 0);

/// Folds a running sum to 16 bits and complements it: the value to write into a header.
std::uint16_t checksum_finish(std::uint32_t sum);

/// The Internet checksum of `data`. Computing it over a header that already carries its checksum
/// yields 0 when that checksum is correct.
std::uint16_t internet_checksum(std::span<const std::uint8_t> data);

/// The TCP/UDP checksum of `segment` (transport header + payload, with the checksum field either
/// zeroed, to compute it, or filled in, to verify it: 0 = valid) under the IPv4 pseudo-header
/// <src, dst, 0, protocol, segment length>.
/// NB: a UDP sender that computes 0 must transmit 0xffff instead (0 means "no checksum").
std::uint16_t transport_checksum(Ipv4 src, Ipv4 dst, std::uint8_t protocol,
                                 std::span<const std::uint8_t> segment);

}  // namespace weft::datapath
