#pragma once
// Forwarding decisions (spec §4.5): where a frame captured on the local bridge goes, and what to
// do with a frame that arrived from the overlay. Pure: routes and time are inputs, decisions are
// outputs; the shell moves the bytes.
#include <cstdint>
#include <span>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/mesh/routes.hpp"
#include "weft/router/mac_cache.hpp"

namespace weft::router {

/// Send `frame` to neighbour `next_hop`, framed as (src_peer, dst_peer).
struct OverlaySend {
  PeerName next_hop;
  PeerName src_peer;
  PeerName dst_peer;
  std::span<const std::uint8_t> frame;
};

struct ForwardStats {
  std::uint64_t local_unicast = 0;
  std::uint64_t local_flooded = 0;
  std::uint64_t relayed = 0;
  std::uint64_t injected = 0;
  std::uint64_t dropped_mac_conflict = 0;
  std::uint64_t dropped_no_route = 0;
  std::uint64_t dropped_other = 0;
};

class Forwarder {
 public:
  explicit Forwarder(PeerName self) : self_(self) {}

  /// A frame captured from the local bridge.
  void on_local_frame(TimePoint now, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
                      std::vector<OverlaySend>& out);
  /// A frame that arrived over the overlay. `inject` is set when it must go onto the local bridge.
  void on_overlay_frame(TimePoint now, PeerName src_peer, PeerName dst_peer, std::span<const std::uint8_t> frame,
                        const mesh::RouteTable& routes, bool& inject, std::vector<OverlaySend>& out);
  void peer_gone(PeerName p) { macs_.delete_peer(p); }
  void expire(TimePoint now) { macs_.expire(now); }

  const MacCache& macs() const { return macs_; }
  const ForwardStats& stats() const { return stats_; }

 private:
  void flood(PeerName src, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
             std::vector<OverlaySend>& out);

  PeerName self_;
  MacCache macs_;
  ForwardStats stats_;
};

}  // namespace weft::router
