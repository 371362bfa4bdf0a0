#pragma once
// Batch-shaped I/O interfaces of the datapath (house style R5, after wireguard's tun.Device and
// DPDK bursts). Backends: PcapDatapath (datapath/pcap), FakeDatapath (datapath/fake), and later
// AF_PACKET and DPDK ones; the forwarding code sees only these interfaces.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "weft/datapath/vnet_header.hpp"

namespace weft::datapath {

/// One Ethernet frame (no FCS). Views returned by receive() stay valid until the next receive()
/// on the same object.
struct FrameView {
  std::span<const std::uint8_t> data;
};

struct DatapathStats {
  std::uint64_t rx_frames = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_frames = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_dropped = 0;  ///< dropped by the kernel or the backend before we saw them
  std::uint64_t tx_dropped = 0;  ///< frames send() could not hand to the kernel
};

/// Captures and injects L2 frames on the local bridge. Single-threaded: the router strand only.
class Datapath {
 public:
  virtual ~Datapath() = default;
  /// Non-blocking: fills up to out.size() frames captured *from* the bridge (never frames this
  /// object injected), returns the count. 0 = nothing ready now.
  virtual std::size_t receive(std::span<FrameView> out) = 0;
  /// Injects frames into the bridge; returns how many were accepted (the rest are counted as
  /// tx_dropped).
  virtual std::size_t send(std::span<const FrameView> frames) = 0;
  /// An fd that becomes readable when receive() may return frames; -1 means busy-poll.
  virtual int wait_fd() const = 0;
  virtual DatapathStats stats() const = 0;
  /// Human-readable interface description for status ("vethwe-pcap (via pcap)").
  virtual std::string describe() const = 0;
};

/// An optional capability of a Datapath backend (found with dynamic_cast): frames travel with
/// their virtio_net_hdr, so TSO/GSO superframes and partial checksums pass whole (AF_PACKET with
/// PACKET_VNET_HDR). The extended overlay is offered only when the backend has it.
class VnetDatapath {
 public:
  virtual ~VnetDatapath() = default;
  /// The header of each frame the last receive() returned, in the same order.
  virtual std::span<const VnetHeader> rx_vnet_headers() const = 0;
  /// Injects frames with their headers (same length); returns how many were accepted.
  virtual std::size_t send_vnet(std::span<const FrameView> frames, std::span<const VnetHeader> headers) = 0;
};

}  // namespace weft::datapath
