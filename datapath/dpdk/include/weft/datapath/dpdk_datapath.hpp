#pragma once
// DpdkDatapath: the weave bridge's frames through DPDK (issue 8, `--datapath-backend dpdk`).
//
// weaver initialises the EAL once per process with, on machines like the CI ones,
//   -l 0 --no-pci --no-shconf --file-prefix weft-<pid> -m 256 [--no-huge]
// (--no-huge unless the host has free hugepages; never --in-memory together with --no-huge) and a
// vdev on the bridge-side veth: `net_af_packet0,iface=vethwe-pcap` by default, or `net_af_xdp` /
// any vdev string given with --dpdk-vdev. On a real NIC, drop --no-pci, bind the NIC to vfio-pci,
// and give its PCI address instead of a vdev (see README "DPDK").
//
// RX: rte_eth_rx_burst; receive() hands out views into the mbufs and frees them at the start of
// the next receive(). TX: frames are copied into mbufs from a preallocated pool and sent with
// rte_eth_tx_burst (what the PMD does not take is freed and counted as dropped). No allocation on
// the hot path beyond mbufs from the pool.
//
// Waking up: DPDK polls, and none of these vdevs offers Rx interrupts. Rather than spin a core,
// wait_fd() is an epoll fd over (a) a "doorbell": an AF_PACKET socket on the same interface whose
// BPF filter keeps 1 byte of each incoming frame in a tiny receive buffer, so the first frame
// after a quiet spell wakes the router at once (later ones overflow it for free), and (b) a
// timerfd that re-polls every 50 us while frames flow and every 1 ms otherwise (which also
// covers a frame whose doorbell rang before the PMD's ring had it).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "weft/base/result.hpp"
#include "weft/datapath/datapath.hpp"

namespace weft::datapath {

struct DpdkOptions {
  std::string ifname = "vethwe-pcap";
  /// Full vdev string; "" = net_af_packet on ifname.
  std::string vdev;
  /// Extra EAL arguments (appended).
  std::vector<std::string> eal_args;
  unsigned pool_size = 8191;
  unsigned burst = 64;
};

class DpdkDatapath final : public Datapath {
 public:
  /// Initialises the EAL (first call in the process only) and starts the port.
  static Result<std::unique_ptr<DpdkDatapath>> open(const DpdkOptions& opts);
  ~DpdkDatapath() override;
  DpdkDatapath(const DpdkDatapath&) = delete;
  DpdkDatapath& operator=(const DpdkDatapath&) = delete;

  std::size_t receive(std::span<FrameView> out) override;
  std::size_t send(std::span<const FrameView> frames) override;
  int wait_fd() const override { return epoll_fd_; }
  DatapathStats stats() const override { return stats_; }
  std::string describe() const override;
  /// The EAL arguments used (for logs and tests).
  static const std::vector<std::string>& eal_args_used();

 private:
  struct Impl;
  explicit DpdkDatapath(std::unique_ptr<Impl> impl, int timer_fd, int bell_fd, int epoll_fd, std::string ifname);
  void arm_timer(bool busy);

  std::unique_ptr<Impl> impl_;
  int timer_fd_ = -1;
  int bell_fd_ = -1;
  int epoll_fd_ = -1;
  std::string ifname_;
  bool busy_ = false;
  bool draining_ = false;  ///< the last burst was full: the caller is still draining
  int idle_polls_ = 0;
  DatapathStats stats_;
};

}  // namespace weft::datapath
