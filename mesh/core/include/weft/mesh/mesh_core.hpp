#pragma once
// The mesh router core (spec §2–3): local connections, the topology channel, named gossip
// channels with their relay rules, and the timers of gossip (30 s), topology batching (1 s) and
// peer GC (1 s). Pure: the shell feeds it `(now, input)` and applies the Effects it returns.
//
// Single-threaded: owned by one actor. Channels registered with add_channel() must outlive it.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/mesh/gossip_channel.hpp"
#include "weft/mesh/handshake.hpp"
#include "weft/mesh/routes.hpp"
#include "weft/mesh/topology.hpp"

namespace weft::mesh {

using ConnId = std::uint64_t;

inline constexpr std::string_view kTopologyChannel = "topology";
inline constexpr Duration kGossipInterval = std::chrono::seconds(30);
inline constexpr Duration kTopologyBatchDelay = std::chrono::seconds(1);
inline constexpr Duration kGcDelay = std::chrono::seconds(1);
/// Gossip relays pick their random neighbours from a route table at most this old (Weave
/// coalesces route recalculation for 100 ms too): each improving topology message would otherwise
/// cost a full route computation, O(peers x connections), at every peer.
inline constexpr Duration kRelayRoutesMaxAge = std::chrono::milliseconds(100);
/// Received topology updates at least this big are hashed, so that a repeat of one that changed
/// nothing is skipped unread (see MeshCore::topology_on_gossip).
inline constexpr std::size_t kNoopCacheMinBytes = 1024;

struct OutMessage {
  ConnId conn = 0;
  ProtocolTag tag = ProtocolTag::heartbeat;
  Bytes payload;
};

/// Overlay control traffic (tags 1, 2, 3, 7) for the datapath.
struct OverlayMessage {
  ConnId conn = 0;
  PeerName peer;
  ProtocolTag tag = ProtocolTag::overlay_control;
  Bytes payload;
};

struct Effects {
  std::vector<OutMessage> sends;
  std::vector<std::pair<ConnId, std::string>> closes;  ///< shut these down, with the reason logged
  std::vector<PeerSummary> peers_gone;                 ///< garbage-collected peers
  /// Connections the core dropped (remove_connection, or the loser of a duplicate tie-break):
  /// the shell releases what it keeps per connection (sleeve forwarder) for each, exactly once.
  std::vector<std::pair<ConnId, PeerName>> removed;
  std::vector<OverlayMessage> overlay;
  bool topology_changed = false;  ///< routes were invalidated: kick the connection maker
};

/// What the shell knows of a connection once its handshake completed.
struct ConnectionInfo {
  RemoteFeatures remote;
  bool outbound = false;
  std::string remote_tcp_addr;  ///< outbound: the target dialled; inbound: remote ip:ephemeral
  std::uint64_t conn_uid = 0;   ///< our ConnID ^ theirs
  bool encrypted = false;
  bool accept_new_peer = true;  ///< false for discovered targets: the remote must already be known
  bool trusted_by_us = false;   ///< the remote's IP is in our --trusted-subnets
  std::string remote_ip;        ///< the TCP peer's IP (the sleeve's UDP peer on outbound connections)
  std::uint16_t remote_port = 0;
};

struct MeshConfig {
  PeerIdentity self;
  std::size_t conn_limit = 200;  ///< 0 = unlimited
  /// Use topology digests (weft/mesh/topology_sync.hpp) with neighbours that offered the
  /// "WeftGossip" feature; the shell offers it iff this is set. Weave peers get the full state.
  bool weft_gossip = false;
};

/// Periodic topology gossip by kind, and the digest exchanges (for tests, the scale simulation
/// and status).
struct TopologySyncStats {
  std::uint64_t full_sent = 0;        ///< periodic rounds' full-state messages (Weave's way)
  std::uint64_t digests_sent = 0;     ///< periodic rounds' digests (weft neighbours)
  std::uint64_t digests_matched = 0;  ///< digests received that matched ours
  std::uint64_t versions_sent = 0;    ///< version lists sent after a mismatch
  std::uint64_t updates_pushed = 0;   ///< topology updates sent to a neighbour in a sync
  std::uint64_t wants_sent = 0;       ///< want lists sent
  /// Received topology updates skipped unread: the same bytes as the last update that changed
  /// nothing, with the table unchanged since (in a converged Weave mesh every periodic full state
  /// is byte-identical).
  std::uint64_t unchanged_skipped = 0;
};

/// Why an add_connection was refused, for the connection maker (never retry some of these).
enum class RefuseKind { ourself, name_collision, duplicate, limit, unknown_peer };
struct Refused {
  RefuseKind kind;
  std::string message;
};

/// A received topology update whose merge changed nothing: the table's epoch then and a
/// BLAKE2b-128 hash of its bytes.
struct NoopUpdate {
  std::uint64_t epoch = 0;
  std::array<std::uint8_t, 16> hash{};
};

class MeshCore {
 public:
  MeshCore(MeshConfig config, Random& rng, Logger log);

  /// Registers an application channel. Unknown channels get a SurrogateChannel on first use.
  void add_channel(std::string name, GossipChannel& channel);

  /// After a successful handshake. On refusal the shell closes the connection; a duplicate that
  /// wins the tie-break closes the older one through `fx.closes`.
  std::optional<Refused> add_connection(TimePoint now, ConnId id, const ConnectionInfo& info, Effects& fx);
  /// The connection's overlay is up (sleeve heartbeats, or at once without a datapath).
  void connection_established(TimePoint now, ConnId id, Effects& fx);
  void remove_connection(TimePoint now, ConnId id, Effects& fx);
  /// A message read from connection `id` (tag 0 heartbeats need no call).
  void on_message(TimePoint now, ConnId id, const ProtocolMessage& msg, Effects& fx);
  /// Runs due timers. Returns when to call again.
  TimePoint on_tick(TimePoint now, Effects& fx);
  /// When on_tick() is next due. Any call may arm an earlier timer: shells re-arm after each one.
  TimePoint next_wake() const;

  /// A sender for a channel acting on its own initiative (e.g. an IPAM allocation).
  class Sender;
  std::unique_ptr<GossipSender> sender(std::string channel, TimePoint now, Effects& fx);

  // ---- state for status and the connection maker
  const Topology& topology() const { return topology_; }
  /// Up to date with the topology (computed on demand after a change).
  const RouteTable& routes();
  /// Route computations so far (for tests and the scale simulation).
  std::uint64_t route_computations() const { return route_computations_; }
  PeerName self_name() const { return topology_.self_name(); }
  struct LocalConn {
    ConnId id = 0;
    ConnectionInfo info;
    bool established = false;
    TimePoint added;
  };
  const std::map<ConnId, LocalConn>& connections() const { return conns_; }
  std::uint64_t termination_count() const { return terminations_; }
  const TopologySyncStats& sync_stats() const { return sync_stats_; }
  /// Whether connection `id` uses topology digests (both ends offered "WeftGossip: 1").
  bool uses_digests(ConnId id) const;

 private:
  friend class Sender;
  void dispatch_gossip(TimePoint now, ConnId id, const ProtocolMessage& msg, Effects& fx);
  void topology_changed(TimePoint now, const ChangeOutcome& c, Effects& fx);
  Result<std::optional<Bytes>> topology_on_gossip(TimePoint now, ByteSpan payload, bool broadcast, Effects& fx);
  GossipChannel& channel(const std::string& name);
  std::vector<Bytes> channel_full_state(TimePoint now, const std::string& name);
  void send_to_peers(const std::vector<PeerName>& peers, ProtocolTag tag, const Bytes& body, Effects& fx);
  /// The table gossip relays use: routes() if current, else the previous one while it is younger
  /// than kRelayRoutesMaxAge (a neighbour it names that is gone is simply skipped).
  const RouteTable& relay_routes(TimePoint now);
  /// The topology changed: routes() recomputes on next use; the old table serves relays briefly.
  void invalidate_routes();
  void relay_gossip(TimePoint now, const std::string& channel, PeerName except, const Bytes& payload, Effects& fx);
  void relay_broadcast(const std::string& channel, PeerName src, const Bytes& payload, Effects& fx);
  bool relay_unicast(PeerName dst, const Bytes& body, Effects& fx);
  void send_all_gossip_down(TimePoint now, ConnId id, Effects& fx);
  Bytes encode_topology(const std::vector<PeerSummary>& peers) const;
  std::optional<ConnId> conn_to(PeerName p) const;
  /// The periodic topology round: the full state to Weave neighbours, a digest to weft ones.
  void periodic_topology_gossip(TimePoint now, Effects& fx);
  Result<void> on_topology_sync(ConnId id, ByteSpan payload, Effects& fx);
  void send_direct(ConnId id, std::string_view channel, Bytes payload, Effects& fx);

  MeshConfig config_;
  Random& rng_;
  Logger log_;
  Topology topology_;
  std::optional<RouteTable> routes_;
  std::optional<RouteTable> stale_routes_;  ///< the table before the last change
  TimePoint stale_routes_at_{};             ///< when stale_routes_ was computed
  std::uint64_t route_computations_ = 0;
  std::map<ConnId, LocalConn> conns_;
  std::map<std::string, GossipChannel*> channels_;
  std::map<std::string, std::unique_ptr<SurrogateChannel>> surrogates_;
  /// Relays every channel beyond the surrogate cap; this core's own, never shared with another.
  SurrogateChannel overflow_;
  std::set<PeerName> pending_update_;  ///< peers to include in the next batched topology gossip
  std::optional<TimePoint> update_at_;
  std::optional<TimePoint> gc_at_;
  std::optional<TimePoint> gossip_at_;
  std::uint64_t terminations_ = 0;
  TopologySyncStats sync_stats_;
  std::uint64_t topology_epoch_ = 0;  ///< bumped by invalidate_routes(), i.e. on every table change
  /// The last received update (at least kNoopCacheMinBytes) whose merge changed nothing.
  std::optional<NoopUpdate> noop_update_;
};

}  // namespace weft::mesh
