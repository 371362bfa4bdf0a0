#pragma once
// PcapDatapath: captures and injects frames on a local interface with libpcap, as Weave's
// router did on vethwe-pcap (router/pcap.go): promiscuous, snaplen 65535, immediate mode,
// inbound direction only (so frames we inject are never captured back), non-blocking, with the
// selectable fd as wait_fd().
//
// receive() drains up to a batch with pcap_dispatch, copying each frame into a preallocated arena
// (libpcap's own buffer is only valid inside the callback); views stay valid until the next
// receive(). Frames cut short by the snaplen are counted as rx_dropped, never returned.
//
// NB: wait_fd() is pcap's selectable fd. That is exact only because immediate mode makes libpcap
// use a TPACKET_V2 ring, which releases each frame as the callback returns and whose fd polls
// readable while any frame is ready. (With TPACKET_V3, libpcap's choice without immediate mode,
// a batch that stops inside a ring block would leave frames no wakeup announces.)
// NB: with offloads on the interface (veth, bridges) libpcap sizes every ring slot for the full
// snaplen, so the kernel buffer holds about bufsz_mb * 16 frames of any size; overflow shows up
// as rx_dropped. Weave's default of 8 MiB gives ~128 frames.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "weft/base/result.hpp"
#include "weft/datapath/datapath.hpp"

using pcap_t = struct pcap;
struct pcap_pkthdr;

namespace weft::datapath {

class PcapDatapath final : public Datapath {
 public:
  static constexpr std::size_t kMaxBatch = 64;  ///< frames per receive()
  static constexpr int kSnapLen = 65535;

  /// Opens and activates capture on `ifname` with a kernel buffer of `bufsz_mb` MiB (Weave's
  /// --pcap-buffer-size style; <= 0 keeps libpcap's default). Errors carry libpcap's message.
  static Result<std::unique_ptr<PcapDatapath>> open(std::string ifname, int bufsz_mb);

  ~PcapDatapath() override;
  PcapDatapath(const PcapDatapath&) = delete;
  PcapDatapath& operator=(const PcapDatapath&) = delete;

  // Datapath. Router strand only; no heap allocation per frame.
  std::size_t receive(std::span<FrameView> out) override;
  /// pcap_inject per frame. A frame the kernel refuses counts as tx_dropped; once the socket is
  /// full (EAGAIN/ENOBUFS) the rest of the batch is dropped too rather than retried.
  std::size_t send(std::span<const FrameView> frames) override;
  int wait_fd() const override { return fd_; }
  /// rx_dropped = kernel drops (pcap_stats ps_drop + ps_ifdrop) + frames cut by the snaplen.
  DatapathStats stats() const override;
  std::string describe() const override { return ifname_ + " (via pcap)"; }

 private:
  PcapDatapath(std::string ifname, pcap_t* p, int fd, int tx_fd);
  static void on_packet(unsigned char* user, const pcap_pkthdr* h, const unsigned char* bytes);

  std::string ifname_;
  pcap_t* pcap_ = nullptr;
  int fd_ = -1;
  /// AF_PACKET socket bound to the interface for batched injection with sendmmsg (one syscall
  /// per burst instead of pcap_inject's one per frame); -1 falls back to pcap_inject.
  int tx_fd_ = -1;
  std::unique_ptr<std::uint8_t[]> arena_;  ///< kMaxBatch * kSnapLen bytes, pages touched lazily
  // State of the receive() in progress, read by on_packet.
  std::span<FrameView> out_;
  std::size_t count_ = 0;
  std::size_t arena_used_ = 0;
  std::uint64_t truncated_ = 0;
  DatapathStats stats_;
};

}  // namespace weft::datapath
