#pragma once
// The data-plane shell: moves frames between the local bridge (a Datapath backend) and peers (an
// Underlay), driving the Forwarder and Sleeve cores. Single-threaded on the router's io_context;
// both fds are watched with stream_descriptor::async_wait and drained in bursts.
#include <boost/asio.hpp>
#include <memory>
#include <optional>

#include "weft/base/logger.hpp"
#include "weft/datapath/datapath.hpp"
#include "weft/datapath/underlay.hpp"
#include "weft/mesh_net/mesh_node.hpp"
#include "weft/router/forwarder.hpp"
#include "weft/router/sleeve.hpp"
#include "weft/router_net/fastdp_shell.hpp"

namespace weft::router_net {

namespace asio = boost::asio;

/// A datapath with no bridge behind it (mesh-only mode): captures nothing, drops what it is given.
class NullDatapath final : public datapath::Datapath {
 public:
  std::size_t receive(std::span<datapath::FrameView>) override { return 0; }
  std::size_t send(std::span<const datapath::FrameView> f) override {
    stats_.tx_dropped += f.size();
    return 0;
  }
  int wait_fd() const override { return -1; }
  datapath::DatapathStats stats() const override { return stats_; }
  std::string describe() const override { return "none"; }

 private:
  datapath::DatapathStats stats_;
};

class OverlayShell {
 public:
  static constexpr std::size_t kBurst = 64;

  OverlayShell(asio::io_context& io, mesh_net::MeshNode& node, std::unique_ptr<datapath::Datapath> dp,
               std::unique_ptr<datapath::Underlay> underlay, int mtu, Logger log);
  /// Installs the node hooks and starts watching both fds.
  void start();
  void stop();

  const router::Sleeve& sleeve() const { return sleeve_; }
  const router::Forwarder& forwarder() const { return fwd_; }
  const datapath::Datapath& datapath() const { return *dp_; }
  const datapath::Underlay& underlay() const { return *underlay_; }
  int mtu() const { return mtu_; }
  /// The kernel fast path, when weaver runs it (before start()): connections offer fastdp
  /// beside the sleeve, and frames to a neighbour whose fastdp forwarder is usable go as VXLAN.
  void set_fastdp(FastdpShell* f) { fastdp_ = f; }
  /// A frame that arrived over fastdp and that the kernel left to weaver: learn, inject, relay.
  void deliver_fastdp_frame(TimePoint now, PeerName src, PeerName dst, std::span<const std::uint8_t> frame,
                            const datapath::VnetHeader* vh, std::optional<PeerName> from = std::nullopt);

 private:
  void watch_datapath();
  void watch_underlay();
  void drain_datapath();
  void drain_underlay();
  /// Sends the sleeve's replies (ICMP for relayed frames) back over the overlay, routed like
  /// relayed frames.
  void route_replies(TimePoint now, router::SleeveEffects& fx);
  void apply(router::SleeveEffects& fx);
  /// One forwarding decision for a frame (with its virtio_net_hdr if the capture gave one): the
  /// extended overlay where negotiated, else complete frames on the sleeve.
  void send_out(TimePoint now, const router::OverlaySend& s, const datapath::VnetHeader* vh,
                router::SleeveEffects& fx);
  /// Puts a frame from the overlay onto the local bridge (whole with its header if the backend
  /// takes one, else as complete frames).
  void inject(std::span<const std::uint8_t> frame, const datapath::VnetHeader* vh);
  /// send_out's fastdp branch; false = not taken (the frame goes on the sleeve).
  bool send_fastdp(const router::OverlaySend& s, const datapath::VnetHeader* vh, router::SleeveEffects& fx);
  void flush_inject();
  void rearm_tick();

  asio::io_context& io_;
  mesh_net::MeshNode& node_;
  std::unique_ptr<datapath::Datapath> dp_;
  std::unique_ptr<datapath::Underlay> underlay_;
  int mtu_;
  Logger log_;
  router::Sleeve sleeve_;
  router::Forwarder fwd_;
  std::optional<asio::posix::stream_descriptor> dp_fd_;
  std::optional<asio::posix::stream_descriptor> ul_fd_;
  asio::steady_timer tick_;
  std::optional<TimePoint> tick_armed_;  ///< what tick_ waits for, while it waits
  asio::steady_timer expire_;
  std::vector<router::OverlaySend> sends_;
  std::vector<router::FrameRecordView> records_;
  std::vector<datapath::FrameView> inject_;
  std::vector<datapath::VnetHeader> inject_vh_;
  datapath::VnetDatapath* vnet_ = nullptr;  ///< dp_'s offload capability, if it has one
  Bytes arena_;                              ///< segments of one superframe for an offload-less peer
  std::vector<std::span<const std::uint8_t>> plain_;
  std::vector<datapath::DatagramOut> out_;
  std::vector<std::size_t> owner_;  ///< out_[i] belongs to fx.datagrams[owner_[i]]
  std::uint64_t unsendable_ = 0;    ///< frames with offload headers we could not segment
  bool stopped_ = false;
  FastdpShell* fastdp_ = nullptr;
};

}  // namespace weft::router_net
