#pragma once
// Forwarding decisions (spec §4.5): where a frame captured on the local bridge goes, and what to
// do with a frame that arrived from the overlay. Pure: routes and time are inputs, decisions are
// outputs; the shell moves the bytes.
#include <array>
#include <cstdint>
#include <optional>
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
  std::uint64_t dropped_loop = 0;       ///< would have gone back to the neighbour it came from
  std::uint64_t dropped_duplicate = 0;  ///< a flooded frame seen again within kDuplicateWindow
};

class Forwarder {
 public:
  explicit Forwarder(PeerName self) : self_(self) {}

  /// A frame captured from the local bridge.
  void on_local_frame(TimePoint now, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
                      std::vector<OverlaySend>& out);
  /// A frame that arrived over the overlay. `inject` is set when it must go onto the local bridge.
  /// `from` is the neighbour it arrived from, when known: nothing is ever sent back to it (split
  /// horizon), so two routers whose views of the topology disagree cannot bounce a frame between
  /// them. A flooded frame (broadcast, multicast or unknown unicast) seen again from the same
  /// source within kDuplicateWindow is dropped: with views that disagree, broadcast trees can
  /// form a cycle, and without this a single broadcast multiplies at every turn of it (a storm
  /// that starved 50 routers' event loops, so their views never converged).
  void on_overlay_frame(TimePoint now, PeerName src_peer, PeerName dst_peer, std::span<const std::uint8_t> frame,
                        const mesh::RouteTable& routes, bool& inject, std::vector<OverlaySend>& out,
                        std::optional<PeerName> from = std::nullopt);
  static constexpr Duration kDuplicateWindow = std::chrono::milliseconds(100);

  void peer_gone(PeerName p) { macs_.delete_peer(p); }
  void expire(TimePoint now) { macs_.expire(now); }

  const MacCache& macs() const { return macs_; }
  const ForwardStats& stats() const { return stats_; }

 private:
  void flood(PeerName src, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
             std::vector<OverlaySend>& out);

  /// True when (src, frame) was flooded less than kDuplicateWindow ago; records it otherwise.
  bool seen_recently(TimePoint now, PeerName src, std::span<const std::uint8_t> frame);

  struct Seen {
    std::uint64_t key = 0;
    TimePoint at{};
  };
  static constexpr std::size_t kSeenSlots = 1024;  // direct-mapped: a collision only forgets

  PeerName self_;
  MacCache macs_;
  ForwardStats stats_;
  std::array<Seen, kSeenSlots> seen_{};
};

}  // namespace weft::router
