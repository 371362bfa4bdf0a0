#pragma once
// The fastdp forwarder of each mesh connection (spec §5.2, §5.3): heartbeats over VXLAN, the
// HeartbeatAck control message, health after 60 s of silence, and the remote address learned
// from heartbeats. Pure: the shell feeds it control messages, heartbeat frames and time; it
// returns heartbeat frames to send, control messages and established connections. Data frames
// do not pass through it: usable() tells the shell (and the kernel tables) where VXLAN may go.
#include <map>
#include <optional>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/datapath/underlay.hpp"
#include "weft/mesh/mesh_core.hpp"
#include "weft/router/fastdp.hpp"

namespace weft::router {

struct FastdpConnection {
  mesh::ConnId conn = 0;
  PeerName remote;
  std::uint64_t conn_uid = 0;
  std::uint8_t index = 0;                            ///< fastdp's index in the common overlays
  std::optional<datapath::UdpEndpoint> remote_addr;  ///< outbound: TCP peer's ip, port + 1
};

struct FastdpEffects {
  /// A frame to send as VXLAN from us to `dst` (a neighbour): the shell adds the VNI.
  struct Send {
    datapath::UdpEndpoint to;
    PeerName dst;
    Bytes frame;
  };
  std::vector<Send> sends;
  struct Control {
    mesh::ConnId conn;
    Bytes payload;  ///< for TCP tag 7
  };
  std::vector<Control> controls;
  std::vector<mesh::ConnId> established;
};

class FastdpForwarders {
 public:
  static constexpr Duration kFastHeartbeat = std::chrono::milliseconds(500);
  static constexpr Duration kSlowHeartbeat = std::chrono::seconds(10);
  static constexpr Duration kHeartbeatTimeout = std::chrono::seconds(60);

  /// `mtu` = the datapath MTU (heartbeats are 14 + mtu bytes); `vxlan_port` = our own VXLAN port,
  /// assumed for inbound connections (spec §5.1).
  FastdpForwarders(int mtu, std::uint16_t vxlan_port) : mtu_(mtu), vxlan_port_(vxlan_port) {}

  void add_connection(TimePoint now, const FastdpConnection& c, FastdpEffects& fx);
  void remove_connection(mesh::ConnId conn);
  /// A tag-7 control message; ignored unless payload[0] is this connection's fastdp index.
  void on_control(TimePoint now, mesh::ConnId conn, std::span<const std::uint8_t> payload, FastdpEffects& fx);
  /// A zero-MAC frame arrived over VXLAN from `src` (by VNI) at `from_ip`. Returns why it was
  /// refused, if it was.
  Result<void> on_heartbeat(TimePoint now, PeerName src, Ipv4 from_ip, std::span<const std::uint8_t> frame,
                            FastdpEffects& fx);
  /// Heartbeats due and health; returns the next deadline.
  TimePoint on_tick(TimePoint now, FastdpEffects& fx);

  /// The neighbour whose fastdp forwarder sends from `ip`, if any (where a punted frame came from).
  std::optional<PeerName> neighbour_at(Ipv4 ip) const;
  /// Where VXLAN to neighbour `peer` goes, if its forwarder is established and healthy.
  std::optional<datapath::UdpEndpoint> usable(PeerName peer) const;

  struct Status {
    mesh::ConnId conn;
    PeerName remote;
    bool established;
    bool healthy;
    std::optional<datapath::UdpEndpoint> remote_addr;
  };
  std::vector<Status> status() const;
  std::optional<Status> status_of(mesh::ConnId conn) const;
  int mtu() const { return mtu_; }
  /// Changes whenever the answer of usable() may have changed (for table resyncs).
  std::uint64_t generation() const { return generation_; }

 private:
  struct Fwd {
    FastdpConnection c;
    bool heard = false;        ///< a valid heartbeat arrived (we sent our HeartbeatAck)
    bool established = false;  ///< the remote acknowledged ours
    bool healthy = true;
    TimePoint last_rx{};
    TimePoint next_hb{};
  };
  void heartbeat(Fwd& f, FastdpEffects& fx);
  Duration interval(const Fwd& f) const;

  int mtu_;
  std::uint16_t vxlan_port_;
  std::map<mesh::ConnId, Fwd> fwds_;
  std::map<PeerName, mesh::ConnId> by_peer_;
  std::uint64_t generation_ = 0;
};

}  // namespace weft::router
