#pragma once
// The kernel fast path's Linux side: loads the eBPF programs (bpf/fastdp.bpf.c, built into
// weaver), creates the external VXLAN device, attaches the programs (TC egress of the bridge's
// veth end, TC ingress of the VXLAN device), writes the maps and reads the frames the programs
// hand back. Everything it creates is removed by detach() and by the destructor; a stale set left
// by a killed weaver is replaced at attach().
//
// Built only when clang and libbpf are found (WEFT_HAVE_EBPF); otherwise load() says so and
// weaver runs the userspace path.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/fastdp_maps.h"

namespace weft::datapath {

struct KernelFastdpAttach {
  std::string bridge_port;  ///< the bridge's end of the capture veth (vethwe-bridge)
  std::string vxlan_name;   ///< the device to create (vxlan-6784)
  std::uint16_t vxlan_port = 6784;
  std::uint32_t self_short_id = 0;
  std::uint32_t max_frame = 0;  ///< MTU + 14
};

/// One frame the ingress program handed to weaver: its VNI, outer source and bytes.
struct KernelPunt {
  std::uint32_t vni = 0;
  Ipv4 remote;
  std::uint16_t gso_size = 0;  ///< the kernel merged segments of this size (GRO)
  std::span<const std::uint8_t> frame;
};

struct KernelFastdpStats {
  std::uint64_t counters[FDP_STAT_COUNT] = {};
  std::uint64_t lost = 0;  ///< perf samples lost (buffer full)
};

class KernelFastdp {
 public:
  virtual ~KernelFastdp() = default;
  /// Verifies and loads the programs and creates the maps (touches no interface). `refuse`
  /// behaves as a kernel that rejects them (for tests of the fallback).
  static Result<std::unique_ptr<KernelFastdp>> load(bool refuse, Logger log);
  /// Removes a VXLAN device and the clsact qdiscs of the bridge port and of the bridge's other
  /// ports that a previous weaver left behind (nothing happens when there are none). Used by
  /// `weaver util` on reset.
  static Result<void> cleanup(const std::string& bridge_port, const std::string& vxlan_name);

  virtual Result<void> attach(const KernelFastdpAttach& a) = 0;
  virtual void detach() = 0;
  virtual void set_self_short_id(std::uint32_t id) = 0;

  virtual Result<void> set_mac(const Mac& mac, const fdp_mac_val& v) = 0;
  virtual void del_mac(const Mac& mac) = 0;
  virtual Result<void> set_hop(std::uint32_t short_id, const fdp_hop& h) = 0;
  virtual Result<void> set_flood(std::uint32_t short_id, const fdp_flood& f) = 0;
  /// The bridge ports frames may be put straight into (fdp_mac_val::port), by the MAC the bridge
  /// learned on each: ports of the bridge that are veths whose peer is in another namespace (the
  /// kernel's condition for bpf_redirect_peer), not the router's own port.
  virtual Result<std::map<Mac, std::uint32_t>> direct_ports() = 0;
  /// Puts the send-side program (fdp_port) on the TC ingress of exactly these bridge ports: added
  /// to new ones, removed (clsact and all) from ports no longer named. A port that cannot take it
  /// (gone meanwhile) is skipped: its frames go through the bridge. Returns how many carry it.
  virtual std::size_t set_direct_ports(const std::set<std::uint32_t>& ports) = 0;

  /// The fd to watch for punted frames, and the call that hands them over.
  virtual int punt_fd() const = 0;
  virtual void consume(const std::function<void(const KernelPunt&)>& f) = 0;

  virtual KernelFastdpStats stats() const = 0;
  virtual fdp_traffic traffic(std::uint32_t short_id) const = 0;
};

}  // namespace weft::datapath
