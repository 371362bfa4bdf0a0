#pragma once
// AfPacketDatapath: captures and injects frames on a local interface (weaver:
// vethwe-pcap) with AF_PACKET sockets directly, without libpcap's copy.
//
// RX: an mmap ring. receive() hands out views straight into the ring and gives
// the slots (V2) or blocks (V3) back to the kernel at the start of the *next*
// receive(), so views stay valid until then without a copy.
// PACKET_IGNORE_OUTGOING (and a PACKET_OUTGOING check for older kernels) keeps
// frames this object injected out of the capture.
//
// Ring choice (measured by the integration test, which prints both):
//   * TPACKET_V2 (default): one slot per frame; the kernel marks each slot
//   ready and wakes the
//     poller as the frame lands, so one ping is delivered in microseconds.
//     Batching still happens whenever frames accumulate between wakeups:
//     receive() walks every ready slot. Cost: each slot is sized for the
//     largest frame, so with vnet_hdr (64 KiB superframes) the ring holds few
//     frames per MiB.
//   * TPACKET_V3: variable-size frames packed into blocks, memory-efficient,
//   but the kernel only
//     wakes the poller when a block fills or its retire timer (>= 1 ms) fires,
//     and user space cannot safely read a block the kernel is still filling. A
//     lone ping therefore waits ~1 ms (and more on HZ-granular kernels): 4x a
//     250 us RTT target. Kept for bulk capture.
//
// TX: sendmmsg in bursts of up to 64 on a second, send-only packet socket with
// PACKET_QDISC_BYPASS (frames go straight to the driver: no qdisc lock, no
// taps).
//
// vnet_hdr: both sockets use PACKET_VNET_HDR. Received TSO/GSO superframes
// arrive whole with their virtio_net_hdr; receive() either segments them
// (TCPv4, UDP_L4) into MTU-sized frames in an internal, fixed arena and
// completes partial checksums in place, or, with keep_superframes, returns them
// whole and reports their headers through rx_vnet_headers(). send_vnet()
// injects superframes whole; plain send() prepends an all-zero header.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "weft/base/result.hpp"
#include "weft/datapath/datapath.hpp"
#include "weft/datapath/vnet_header.hpp"

namespace weft::datapath {

struct AfPacketOptions {
  enum class Ring { v2, v3 };
  Ring ring = Ring::v2;
  /// Ring block size: a power-of-two multiple of the page size. Frames never
  /// span blocks.
  std::uint32_t block_size = 1u << 20;
  /// 0 = auto: 4 blocks (4 MiB), or 16 with vnet_hdr under V2 (64 KiB slots).
  std::uint32_t block_count = 0;
  /// V2 only. 0 = the ring keeps its size. Otherwise the ring starts with
  /// block_count blocks and grows once to grow_block_count blocks when it comes
  /// under pressure: a receive() finds half of its slots or more ready, or the
  /// kernel reports a frame dropped for want of a slot. The switch happens at
  /// the start of a receive() that finds the ring empty (frames arriving while
  /// the ring is swapped are counted in rx_dropped). For a capture that mostly
  /// idles (the kernel fast path forwards the traffic) while keeping the full
  /// ring for the first bulk flow through userspace.
  std::uint32_t grow_block_count = 0;
  /// V2 slot size (multiple of 16, includes ~100 bytes of kernel header). 0 =
  /// auto: the largest frame (interface MTU + 18, or 64 KiB with vnet_hdr) plus
  /// headers. Larger frames are dropped and counted in rx_dropped.
  std::uint32_t frame_size = 0;
  /// V3 block retire timeout.
  std::uint32_t block_timeout_ms = 1;
  bool vnet_hdr = false;
  /// With vnet_hdr: return superframes whole (see rx_vnet_headers()) instead of
  /// segmenting.
  bool keep_superframes = false;
  /// IP MTU for TCP segments cut from superframes; 0 = the interface MTU.
  std::uint32_t segment_mtu = 0;
  bool qdisc_bypass = true;
  bool promiscuous = true;
};

class AfPacketDatapath final : public Datapath, public VnetDatapath {
 public:
  static constexpr std::size_t kMaxBatch = 64;           ///< frames per receive()
  static constexpr std::size_t kArenaBytes = 256 << 10;  ///< segments of one receive()

  /// Opens both sockets on `ifname` and maps the ring. Errors name the
  /// interface and the step.
  static Result<std::unique_ptr<AfPacketDatapath>> open(std::string ifname, AfPacketOptions opts);

  ~AfPacketDatapath() override;
  AfPacketDatapath(const AfPacketDatapath&) = delete;
  AfPacketDatapath& operator=(const AfPacketDatapath&) = delete;

  // Datapath. Router strand only; no heap allocation after open().
  /// Releases what the previous call returned, then walks ready frames. Frames
  /// truncated by the slot size, superframes that cannot be segmented (or whose
  /// checksum cannot be completed), and frames this host sent are not returned
  /// (the first two count as rx_dropped).
  std::size_t receive(std::span<FrameView> out) override;
  /// sendmmsg bursts. A frame the kernel refuses counts as tx_dropped; on
  /// EAGAIN/ENOBUFS the rest of the batch is dropped rather than retried.
  std::size_t send(std::span<const FrameView> frames) override;
  /// The ring socket; polls readable while any ready frame has not been
  /// returned.
  /// NB: it also polls readable while the slots/blocks of the last receive() are still held (the
  /// kernel judges readiness by the newest filled slot), so after a batch the caller sees one
  /// more wakeup, whose receive() releases them and returns 0 if nothing new arrived. No wakeup
  /// is ever missed: frames left in the ring by a full `out` keep the fd readable.
  int wait_fd() const override { return rx_fd_; }
  /// rx_dropped = kernel ring drops (PACKET_STATISTICS tp_drops) + frames
  /// refused in receive().
  DatapathStats stats() const override;
  std::string describe() const override { return ifname_ + " (via afpacket)"; }

  // Offload capability (vnet_hdr only; not part of Datapath, see house-style
  // R5).
  /// With keep_superframes: the virtio_net_hdr of each frame the last receive()
  /// returned, in the same order; valid until the next receive(). Empty
  /// otherwise.
  std::span<const VnetHeader> rx_vnet_headers() const override {
    return {vnet_out_.data(), vnet_out_count_};
  }
  /// Injects frames with the given headers (same length as frames), e.g.
  /// superframes whole. Returns frames accepted; fails all of them when the
  /// sockets were opened without vnet_hdr.
  std::size_t send_vnet(std::span<const FrameView> frames, std::span<const VnetHeader> headers) override;

  const AfPacketOptions& options() const { return opts_; }
  std::size_t ring_slots_for_test() const { return slot_count_; }
  /// Zeroes the counters stats() reports (the kernel's are read, and so reset, first).
  void reset_stats_for_test() {
    (void)stats();
    stats_ = {};
    kernel_drops_ = 0;
    refused_ = 0;
  }
  /// Bytes of the mapped capture ring (block size x blocks).
  std::size_t ring_bytes() const { return ring_bytes_; }

 private:
  AfPacketDatapath() = default;
  Result<void> setup(std::string ifname, AfPacketOptions opts);
  void release_previous();
  /// Maps the V2 ring of block_count_ blocks on rx_fd_ (PACKET_RX_RING + mmap).
  Result<void> map_ring();
  /// Replaces the ring by one of opts_.grow_block_count blocks (see
  /// AfPacketOptions::grow_block_count). Only with no slot held.
  void grow_ring();
  /// The V2 ring slot `i` (slots fill each block, then the next).
  std::uint8_t* slot_at(std::size_t i) const {
    return ring_ + (i / frames_per_block_) * block_size_ + (i % frames_per_block_) * frame_size_;
  }
  /// Reads off (and counts as dropped) frames queued on the socket while it had no ring.
  void drain_queue();
  std::size_t receive_v2(std::span<FrameView> out);
  std::size_t receive_v3(std::span<FrameView> out);
  /// What became of one captured frame: handed out (whole or as segments,
  /// possibly paused mid-superframe), dropped (and the slot consumed), or not
  /// taken because `out` is full.
  enum class Take { taken, dropped, full };
  /// `base` is the ring header of the frame, `hdr_len` its size, `room` the
  /// bytes from `base` to the end of its slot/block; the rest are the ring
  /// header's fields.
  Take take_frame(std::uint8_t* base, std::size_t hdr_len, std::size_t room, std::size_t mac_off,
                  std::size_t snaplen, std::size_t len, std::uint32_t status,
                  std::uint16_t vlan_tci, std::uint16_t vlan_tpid, std::uint8_t pkttype,
                  std::span<FrameView> out);
  /// Writes further segments of gso_frame_ into the arena while `out` and the
  /// arena have room; clears gso_frame_ when the superframe is done (or turns
  /// out bad).
  void continue_gso(std::span<FrameView> out);
  void emit(std::span<const std::uint8_t> frame, const VnetHeader& vh);
  std::size_t send_impl(std::span<const FrameView> frames, std::span<const VnetHeader> headers);

  std::string ifname_;
  AfPacketOptions opts_;
  int rx_fd_ = -1;
  int tx_fd_ = -1;
  std::uint8_t* ring_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::size_t block_size_ = 0;
  std::size_t block_count_ = 0;
  std::size_t frame_size_ = 0;
  std::size_t frames_per_block_ = 0;
  std::size_t slot_count_ = 0;
  std::size_t mtu_ = 1500;
  /// The ring came under pressure: grow it at the next receive() that finds it empty.
  mutable bool grow_pending_ = false;

  // V2: the held_count_ slots before next_slot_ are ours until the next
  // receive().
  std::size_t next_slot_ = 0;
  std::size_t held_count_ = 0;
  // V3: the block being read, and where in it; blocks before it that we
  // finished are released at the next receive().
  std::size_t cur_block_ = 0;
  std::size_t cur_pkt_ = 0;      ///< packets of cur_block_ already consumed
  std::size_t cur_offset_ = 0;   ///< offset of the next packet in cur_block_
  std::size_t done_blocks_ = 0;  ///< finished blocks (ending just before cur_block_) to release

  // A superframe being segmented across receive() calls.
  std::uint8_t* gso_frame_ = nullptr;
  std::size_t gso_frame_len_ = 0;
  GsoPlan gso_plan_;
  std::size_t gso_next_ = 0;  ///< next segment index

  std::vector<std::uint8_t> arena_;  ///< kArenaBytes, allocated once
  std::size_t arena_used_ = 0;
  std::vector<VnetHeader> vnet_out_;  ///< kMaxBatch, allocated once
  std::size_t vnet_out_count_ = 0;
  std::span<FrameView> out_;  ///< the receive() in progress
  std::size_t out_count_ = 0;

  DatapathStats stats_;
  std::uint64_t refused_ = 0;
  mutable std::uint64_t kernel_drops_ = 0;  ///< PACKET_STATISTICS resets on read: accumulate
};

}  // namespace weft::datapath
