#pragma once
// The mesh shell: listener (rate-limited accept), dialling for the connection maker, and the
// application of MeshCore effects. Everything runs on one io_context thread; MeshCore and
// ConnectionMaker are owned here and touched nowhere else.
#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/cidr_list.hpp"
#include "weft/base/logger.hpp"
#include "weft/mesh/connection_maker.hpp"
#include "weft/mesh/dial_log.hpp"
#include "weft/mesh/mesh_core.hpp"
#include "weft/mesh_net/tcp_connection.hpp"

namespace weft::mesh_net {

struct NodeConfig {
  mesh::PeerIdentity self;
  std::string host;  ///< listen host ("" = all)
  std::uint16_t port = 6783;
  std::optional<Bytes> password;
  std::size_t conn_limit = 200;
  bool discovery = true;
  std::vector<Cidr> trusted_subnets;
  std::vector<std::string> overlays{"sleeve"};
  std::string weft_overlay;  ///< the "WeftOverlay" feature to offer ("" = none)
  bool weft_gossip = false;  ///< offer and use topology digests ("WeftGossip: 1") with weft peers
};

/// Hooks for the layers above (datapath, IPAM, DNS), all called on the io_context thread.
struct NodeHooks {
  /// A connection joined the mesh (after tie-breaks). Return false to keep it "pending" until
  /// the overlay calls MeshNode::connection_established(); true marks it established at once.
  std::function<bool(const mesh::MeshCore::LocalConn&, const mesh::HandshakeResult&)> on_connection_added;
  std::function<void(mesh::ConnId, PeerName)> on_connection_removed;
  std::function<void(const mesh::OverlayMessage&)> on_overlay_message;
  std::function<void(const std::vector<mesh::PeerSummary>&)> on_peers_gone;
  std::function<void()> on_topology_changed;
};

class MeshNode final : public ConnectionOwner {
 public:
  static constexpr int kAcceptBurst = 20;
  static constexpr Duration kAcceptRefill = std::chrono::milliseconds(50);
  /// Inbound connections still in their handshake (issue 18, item 3): at most this many from
  /// sources we do not know, at most kMaxPendingPerSource from one address, and kKnownPeerReserve
  /// more kept for addresses of peers we know (direct peers, targets, connected peers).
  static constexpr std::size_t kMaxPendingHandshakes = 32;
  static constexpr std::size_t kMaxPendingPerSource = 4;
  static constexpr std::size_t kKnownPeerReserve = 32;
  /// Descriptors kept free for DNS, HTTP and the datapath: no dial or accept eats into them.
  static constexpr int kFdHeadroom = 128;

  MeshNode(asio::io_context& io, NodeConfig config, Random& rng, Logger log);
  ~MeshNode() override;

  /// Binds the listener. Errors read like Go's ("listen tcp 0.0.0.0:6783: bind: address already
  /// in use").
  Result<void> listen();
  std::uint16_t bound_port() const { return bound_port_; }
  void set_hooks(NodeHooks h) { hooks_ = std::move(h); }
  /// More listeners for garbage-collected peers (IPAM, DNS), besides hooks_.on_peers_gone.
  void on_peers_gone(std::function<void(const std::vector<mesh::PeerSummary>&)> f) {
    peers_gone_listeners_.push_back(std::move(f));
  }
  /// More listeners for topology (route) changes, besides hooks_.on_topology_changed.
  void on_topology_changed(std::function<void()> f) { topology_listeners_.push_back(std::move(f)); }
  void start();
  void stop();

  mesh::MeshCore& core() { return core_; }
  mesh::ConnectionMaker& connection_maker() { return maker_; }
  /// Dial attempts and failures per target (logged rate-limited; shown in `weave status targets`).
  const mesh::DialLog& dial_log() const { return dial_log_; }
  /// How often the core's tick timer was armed (it is re-armed only when its deadline moves).
  std::uint64_t tick_arms() const { return tick_arms_; }
  const NodeConfig& config() const { return config_; }
  /// Runs `f` with an Effects to fill, then applies it (used by channels acting on their own).
  void with_effects(const std::function<void(mesh::Effects&)>& f);

  /// POST /connect and /forget.
  std::vector<std::string> connect(const std::vector<std::string>& peers, bool replace);
  void forget(const std::vector<std::string>& peers);
  void connection_established(mesh::ConnId id);
  void send_overlay(mesh::ConnId id, mesh::ProtocolTag tag, ByteSpan payload);
  void close_connection(mesh::ConnId id, const std::string& reason);
  /// Connections still in their handshake (for status: "connecting").
  std::vector<std::string> handshaking() const;
  std::uint64_t gossip_bytes_sent() const { return gossip_sent_; }
  std::uint64_t gossip_bytes_received() const { return gossip_received_; }
  /// Inbound connections refused before their handshake (pending caps, descriptor headroom).
  std::uint64_t refused_pending() const { return refused_pending_; }

  // ConnectionOwner
  Result<void> on_handshake_done(TcpConnection& c, const mesh::HandshakeResult& hs,
                                 const mesh::RemoteFeatures& remote) override;
  void on_message(TcpConnection& c, const mesh::ProtocolMessage& m) override;
  void on_closed(TcpConnection& c, const std::string& reason) override;

 private:
  void accept();
  void dial(const mesh::ConnectionMaker::Dial& d);
  void dial_failed(const std::string& address, std::string error);
  void log_lines(const std::vector<std::string>& lines);
  void add_connection(tcp::socket s, bool outbound, std::string target, bool accept_new_peer);
  void apply(mesh::Effects& fx);
  void rearm_tick();
  void refresh_targets();
  bool is_trusted(const std::string& ip) const;
  /// Whether an inbound connection from `ip` may start a handshake now (see kMaxPendingHandshakes).
  bool admit_pending(const std::string& ip) const;
  bool is_known_ip(const std::string& ip) const;
  /// Starts connecting; false (the dial already reported failed) if no socket could be opened.
  bool connect_to(const mesh::ConnectionMaker::Dial& d, const tcp::endpoint& ep);

  asio::io_context& io_;
  NodeConfig config_;
  Random& rng_;
  Logger log_;
  mesh::MeshCore core_;
  mesh::ConnectionMaker maker_;
  mesh::DialLog dial_log_;
  NodeHooks hooks_;
  std::vector<std::function<void(const std::vector<mesh::PeerSummary>&)>> peers_gone_listeners_;
  std::vector<std::function<void()>> topology_listeners_;
  std::optional<tcp::acceptor> acceptor_;
  std::uint16_t bound_port_ = 0;
  asio::steady_timer tick_timer_;
  std::optional<TimePoint> tick_armed_;  ///< what tick_timer_ waits for, while it waits
  std::uint64_t tick_arms_ = 0;
  asio::steady_timer maker_timer_;
  asio::steady_timer accept_timer_;
  int accept_tokens_ = kAcceptBurst;
  TimePoint accept_refilled_{};
  std::map<mesh::ConnId, std::shared_ptr<TcpConnection>> conns_;
  std::map<mesh::ConnId, TimePoint> joined_at_;
  mesh::ConnId next_id_ = 1;
  bool refresh_posted_ = false;
  std::uint64_t gossip_sent_ = 0;
  std::uint64_t gossip_received_ = 0;
  bool stopped_ = false;
  std::uint64_t refused_pending_ = 0;
  TimePoint refusal_logged_{};
  LogLimiter handshake_log_;
};

}  // namespace weft::mesh_net
