#pragma once
// The contract between the mesh and the applications that gossip over it (house style R3; mesh's
// Gossiper/GossipData). IPAM (channel "IPallocation") and weaveDNS ("nameserver") implement it; a
// SurrogateChannel stands in for channels this peer does not implement (spec §2.8), so it relays
// them faithfully when it is a hop between two peers that do.
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/clock.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/result.hpp"

namespace weft::mesh {

/// Lets a channel send while it handles a message, or on its own initiative (through
/// MeshCore::sender()). Sends are queued as effects of the current MeshCore call.
class GossipSender {
 public:
  virtual ~GossipSender() = default;
  /// Tag 5 to `dst`, relayed along unicast-all routes.
  virtual void unicast(PeerName dst, Bytes payload) = 0;
  /// Tag 6 from us along our broadcast-all tree.
  virtual void broadcast(Bytes payload) = 0;
  /// Tag 4 to random neighbours.
  virtual void gossip(Bytes payload) = 0;
};

class GossipChannel {
 public:
  virtual ~GossipChannel() = default;
  /// Complete state, sent every 30 s to random neighbours and down every connection to a new or
  /// restarted peer. Each element is one message; empty = nothing to send.
  virtual std::vector<Bytes> full_state(TimePoint now) = 0;
  /// Tag 4 from neighbour `sender`. Returns what was new to us, to relay to random neighbours.
  /// An error closes the connection it came from (as in Weave).
  virtual Result<std::optional<Bytes>> on_gossip(TimePoint now, PeerName sender, ByteSpan payload,
                                                 GossipSender& out) = 0;
  /// Tag 6 originated by `src`. Returns what to relay along src's broadcast tree.
  virtual Result<std::optional<Bytes>> on_broadcast(TimePoint now, PeerName src, ByteSpan payload,
                                                    GossipSender& out) = 0;
  /// Tag 5 addressed to us from `src`.
  virtual Result<void> on_unicast(TimePoint now, PeerName src, ByteSpan payload, GossipSender& out) = 0;
};

/// Relays a channel this peer does not implement: broadcasts unchanged; tag-4 gossip unless the
/// identical bytes were seen within the last gossip interval; unicasts to us are ignored.
class SurrogateChannel final : public GossipChannel {
 public:
  static constexpr Duration kDedupWindow = std::chrono::seconds(30);
  std::vector<Bytes> full_state(TimePoint) override { return {}; }
  Result<std::optional<Bytes>> on_gossip(TimePoint now, PeerName, ByteSpan payload, GossipSender&) override;
  Result<std::optional<Bytes>> on_broadcast(TimePoint, PeerName, ByteSpan payload, GossipSender&) override {
    return std::optional<Bytes>(Bytes(payload.begin(), payload.end()));
  }
  Result<void> on_unicast(TimePoint, PeerName, ByteSpan, GossipSender&) override { return {}; }

 private:
  struct Seen {
    TimePoint at;
    std::uint64_t hash;
    Bytes bytes;
  };
  std::deque<Seen> seen_;
};

/// FNV-64a, as mesh's surrogate uses for its duplicate check.
std::uint64_t fnv64a(ByteSpan b);

}  // namespace weft::mesh
