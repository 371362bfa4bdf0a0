#pragma once
// The kernel fast path's shell: owns the eBPF programs and maps (datapath::KernelFastdp), the
// fastdp forwarders of every connection (router::FastdpForwarders), a UDP socket for the VXLAN
// frames weaver itself sends (heartbeats, and frames the kernel left to weaver), and the sync of
// the router's state into the maps (router::derive_fastdp_tables, written as differences).
// OverlayShell calls it for the overlay switch (spec §5.3): connections, control messages, and a
// send() that takes a frame when the next hop's fastdp forwarder is usable.
#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "weft/base/logger.hpp"
#include "weft/datapath/kernel_fastdp.hpp"
#include "weft/mesh_net/mesh_node.hpp"
#include "weft/router/fastdp_forwarder.hpp"
#include "weft/router/fastdp_tables.hpp"
#include "weft/router/forwarder.hpp"

namespace weft::router_net {

namespace asio = boost::asio;

struct FastdpShellStats {
  std::uint64_t tx_frames = 0;      ///< VXLAN frames weaver sent itself
  std::uint64_t tx_errors = 0;
  std::uint64_t rx_punted = 0;      ///< frames the kernel handed to weaver
  std::uint64_t rx_punt_shed = 0;   ///< punts beyond kPuntBudget in one wake-up, dropped
  std::uint64_t rx_heartbeats = 0;
  std::uint64_t rx_bad = 0;         ///< unknown VNI peers, bad heartbeats
  std::uint64_t tx_icmp_frag_needed = 0;
  std::uint64_t table_syncs = 0;
  std::uint64_t map_errors = 0;
  std::uint64_t direct_ports = 0;   ///< container MACs the kernel may deliver straight to (last read)
  std::uint64_t sending_ports = 0;  ///< container ports whose frames the kernel may send straight
};

class FastdpShell {
 public:
  /// Receives a frame that arrived over VXLAN and that the kernel left to weaver.
  /// `from` is the neighbour it came from, when weaver knows it (nothing goes back there).
  using Deliver = std::function<void(TimePoint, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                                     const datapath::VnetHeader* vh, std::optional<PeerName> from)>;
  /// Punted frames handled per wake-up; the rest of a burst is shed (counted), so a storm of
  /// punts cannot starve gossip, DNS and HTTP on the same event loop.
  static constexpr std::uint32_t kPuntBudget = 2048;

  FastdpShell(asio::io_context& io, mesh_net::MeshNode& node, std::unique_ptr<datapath::KernelFastdp> kernel, int mtu,
              std::uint16_t vxlan_port, Logger log);
  ~FastdpShell();
  /// Attaches the programs and opens the socket; `macs` is the router's MAC cache. `direct`:
  /// unicast for a local container may skip the bridge (only when nothing filters bridged frames,
  /// i.e. not with weave-npc, whose rules sit on the bridge).
  Result<void> start(const datapath::KernelFastdpAttach& a, const router::MacCache* macs, Deliver deliver, bool direct);
  /// Detaches everything (programs, qdiscs, the VXLAN device).
  void stop();

  void add_connection(TimePoint now, const router::FastdpConnection& c);
  void remove_connection(mesh::ConnId conn);
  void on_control(TimePoint now, mesh::ConnId conn, std::span<const std::uint8_t> payload);

  bool usable(PeerName next_hop) const { return fwds_.usable(next_hop).has_value(); }
  /// Sends a complete frame to neighbour `next_hop` as VXLAN (VNI from src/dst). Returns false
  /// when it must go on the sleeve instead (no usable forwarder, or too big without DF: the sleeve
  /// fragments). A too-big DF frame gets ICMP "fragmentation needed" in `inject`.
  bool send(PeerName next_hop, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
            std::vector<Bytes>& inject);
  /// The router's MACs or routes changed: write the maps soon.
  void tables_dirty();

  const router::FastdpForwarders& forwarders() const { return fwds_; }
  const datapath::KernelFastdp& kernel() const { return *kernel_; }
  const FastdpShellStats& stats() const { return stats_; }
  int mtu() const { return mtu_; }
  std::optional<std::uint16_t> short_id_of(PeerName p) const;

 private:
  void apply(router::FastdpEffects& fx);
  void send_vxlan(const datapath::UdpEndpoint& to, std::uint32_t vni, std::span<const std::uint8_t> frame);
  void on_punt(const datapath::KernelPunt& p);
  void watch_punts();
  void rearm_tick();
  void sync();
  /// The bridge ports for direct delivery, read from the kernel at most once a second.
  const std::map<Mac, std::uint32_t>& direct_ports();

  asio::io_context& io_;
  mesh_net::MeshNode& node_;
  std::unique_ptr<datapath::KernelFastdp> kernel_;
  int mtu_;
  Logger log_;
  router::FastdpForwarders fwds_;
  const router::MacCache* macs_ = nullptr;
  Deliver deliver_;
  int sock_ = -1;
  Bytes buf_;
  std::optional<asio::posix::stream_descriptor> punt_fd_;
  asio::steady_timer tick_;
  asio::steady_timer sync_timer_;
  bool sync_pending_ = false;
  std::uint32_t punt_budget_ = kPuntBudget;
  router::FastdpTables applied_;
  std::uint32_t applied_self_ = 0xFFFFFFFF;
  FastdpShellStats stats_;
  bool stopped_ = true;
  bool direct_ = false;
  bool direct_error_logged_ = false;
  std::map<Mac, std::uint32_t> ports_;
  TimePoint ports_read_{};
};

}  // namespace weft::router_net
