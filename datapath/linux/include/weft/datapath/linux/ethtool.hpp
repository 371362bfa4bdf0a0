#pragma once
// Transmit offloads via the SIOCETHTOOL ioctl (what `ethtool -K IF tx off tso off gso off` does).
//
// Why: weft's datapath is userspace (pcap/AF_PACKET/DPDK). A container veth with TX checksum
// offload hands the bridge frames with partial checksums (CHECKSUM_PARTIAL), and one with
// TSO/GSO hands it 64 KiB TCP "superframes"; captured and sent over the overlay, peers receive
// corrupt or oversized frames. With these offloads off the kernel finishes every frame in
// software before it leaves the container.
//
// Acts in the calling thread's network namespace (wrap in in_netns() for another one).
#include <string_view>

#include "weft/base/result.hpp"

namespace weft::datapath::host {

struct OffloadState {
  bool tx_checksum = false;  ///< any NETIF_F_CSUM_MASK feature ("tx-checksumming")
  bool tso = false;          ///< "tcp-segmentation-offload"
  bool gso = false;          ///< "generic-segmentation-offload"
  bool ufo = false;          ///< "udp-fragmentation-offload" (gone since Linux 4.16: false there)
};

/// Turns off every changeable transmit checksum, segmentation and fragmentation feature of IFNAME
/// ("tx-checksum-*", "tx-*-segmentation", "tx-udp-fragmentation", "tx-gso-partial", ...), using
/// ETHTOOL_SFEATURES by feature name, or the legacy ETHTOOL_STXCSUM/STSO/SGSO/SUFO commands when
/// the driver has no feature strings. Features that are fixed on (rare; not the case for veth
/// or bridge) are left alone and make this fail only if TX checksumming stays on.
Result<void> disable_tx_offloads(std::string_view ifname);

/// The offloads for a backend that takes superframes with their virtio_net_hdr (AF_PACKET with
/// PACKET_VNET_HDR): TX checksumming, IPv4 TSO and GSO on; every other changeable TX offload off
/// (TCPv6/UDP segmentation, which weft cannot cut for a Weave peer; tunnel, SCTP and FCoE
/// offloads; GSO-partial and fraglist, which have no virtio_net_hdr form). Fails if TX
/// checksumming or TSO stays off.
Result<void> set_superframe_offloads(std::string_view ifname);

/// Whether containers attached to BRIDGE get set_superframe_offloads (weaver left the bridge's
/// TSO on: its backend takes superframes) rather than disable_tx_offloads. False if unknown.
bool bridge_takes_superframes(std::string_view bridge);

/// The current state (ETHTOOL_GTXCSUM/GTSO/GGSO/GUFO).
Result<OffloadState> offload_state(std::string_view ifname);

}  // namespace weft::datapath::host
