#pragma once
// Gratuitous ARP: announces "IP is at MAC" to the whole L2 segment so neighbours (and weft peers'
// MAC caches) update at once when an address appears or moves. Acts in the calling thread's
// network namespace.
#include <array>
#include <cstdint>
#include <string_view>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"

namespace weft::datapath::host {

/// Sends one broadcast ARP request for IP with sender = target = IP and the sender MAC of
/// IFNAME (like `arping -U -c 1 -I IFNAME IP` and Weave's arping.GratuitousArpOverIface), over
/// an AF_PACKET socket. IFNAME must be up.
Result<void> send_gratuitous_arp(std::string_view ifname, Ipv4 ip);

/// The ARP payload (28 bytes, without the Ethernet header) send_gratuitous_arp sends; exposed for
/// tests.
std::array<std::uint8_t, 28> gratuitous_arp_payload(const Mac& mac, Ipv4 ip);

}  // namespace weft::datapath::host
