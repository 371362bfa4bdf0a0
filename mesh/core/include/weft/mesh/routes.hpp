#pragma once
// Route computation (spec §2.4) as pure functions over an immutable snapshot of the topology.
//
// Broadcast correctness depends on every peer computing *exactly* the same breadth-first search as
// weave's mesh (levels visited in ascending PeerName order, next hop inherited from the parent), so
// routes() follows mesh's Peer.routes line by line. The 100 ms recalculation coalescing of weave
// lives in the shell: it calls compute_routes() when the topology changed and swaps tables.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/topology.hpp"

namespace weft::mesh {

/// Who is connected to whom, and whether each connection is established: all that route
/// computation reads from a Topology. Immutable once built; cheap to share.
class TopologyView {
 public:
  struct Link {
    PeerName remote;
    bool established = false;
  };

  TopologyView() = default;
  /// Snapshot of every peer in the table (placeholders included) and its connection list.
  explicit TopologyView(const Topology& topology);
  /// Builder for tests and simulations: adds `from` and `to` as known peers and the directed
  /// connection from -> to (replacing an existing one).
  void add_link(PeerName from, PeerName to, bool established);
  void add_peer(PeerName name);

  bool contains(PeerName name) const { return links_.contains(name); }
  /// Connections of `name`, ascending by remote; empty for unknown peers.
  std::span<const Link> links(PeerName name) const;
  /// The connection from -> to, if any.
  const Link* link(PeerName from, PeerName to) const;
  std::size_t size() const { return links_.size(); }

 private:
  std::unordered_map<PeerName, std::vector<Link>> links_;
};

/// next_hop[dst] = the neighbour of `from` to send to for dst; next_hop[from] = PeerName{}
/// (unknown).
struct BfsRoutes {
  bool found = false;  ///< stop_at was reached (it may be absent from next_hop only if == from)
  std::unordered_map<PeerName, PeerName> next_hop;
};

/// mesh's Peer.routes: breadth-first widening from `from`, each level visited in ascending name
/// order; with `est_sym` only connections that are established on both ends are used. Stops (found
/// = true) when `stop_at` is dequeued, returning what was reached up to that point.
BfsRoutes routes(const TopologyView& view, PeerName from, std::optional<PeerName> stop_at,
                 bool est_sym);

/// Neighbours of `self` to forward a broadcast from `src` to: our (filtered) neighbours not reached
/// by routes(src, stop_at = self) when it reaches us; empty if it never does. Ascending by name.
std::vector<PeerName> broadcast_next_hops(const TopologyView& view, PeerName self, PeerName src,
                                          bool est_sym);

/// The routing state of one peer. Broadcast hops are computed on first use per source and cached;
/// the cache lives and dies with the table (a recalculation builds a new RouteTable). Owned by one
/// actor: the cache is not thread-safe.
class RouteTable {
 public:
  RouteTable(std::shared_ptr<const TopologyView> view, PeerName self);

  PeerName self() const { return self_; }
  const TopologyView& view() const { return *view_; }

  /// Next hop to `dst` over established, symmetric connections (data plane). PeerName{} for
  /// ourself; nullopt when unreachable.
  std::optional<PeerName> unicast(PeerName dst) const;
  /// Next hop to `dst` over any connection (gossip unicast relaying).
  std::optional<PeerName> unicast_all(PeerName dst) const;
  const std::unordered_map<PeerName, PeerName>& unicast_table() const { return unicast_; }
  const std::unordered_map<PeerName, PeerName>& unicast_all_table() const { return unicast_all_; }

  /// Where to forward a data-plane broadcast that originated at `src` (est+sym connections).
  std::vector<PeerName> broadcast(PeerName src) const;
  /// Where to forward a gossip broadcast (tag 6) that originated at `src` (all connections).
  std::vector<PeerName> broadcast_all(PeerName src) const;

  /// Gossip fan-out: min(floor(2·log2(|unicast_all|)), #distinct next hops) neighbours, drawn
  /// without replacement with weight = number of destinations routed via that neighbour; `except`
  /// (the sender of what we relay) is never chosen. Ascending by name.
  std::vector<PeerName> random_neighbours(PeerName except, Random& rng) const;

 private:
  std::shared_ptr<const TopologyView> view_;
  PeerName self_;
  std::unordered_map<PeerName, PeerName> unicast_;
  std::unordered_map<PeerName, PeerName> unicast_all_;
  mutable std::unordered_map<PeerName, std::vector<PeerName>> broadcast_;
  mutable std::unordered_map<PeerName, std::vector<PeerName>> broadcast_all_;
  /// random_neighbours' weights (destinations per next hop, ascending by name), computed on
  /// first use: every gossip relay draws from them, and a table serves many relays.
  mutable std::optional<std::vector<std::pair<PeerName, std::uint64_t>>> weights_;
};

/// Recomputes everything derived from the topology for `self` (normally topology.self_name()).
RouteTable compute_routes(const Topology& topology, PeerName self);
RouteTable compute_routes(std::shared_ptr<const TopologyView> view, PeerName self);

}  // namespace weft::mesh
