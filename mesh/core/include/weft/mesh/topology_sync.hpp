#pragma once
// weft-to-weft topology anti-entropy by digest (issue 19): a bound on Weave's periodic topology
// gossip, used only on connections where both ends offered the handshake feature
// "WeftGossip: 1". Weave peers never see any of it and keep getting the full state.
//
// Weave sends its *whole* topology (every peer with its connection list, O(peers x links) bytes)
// to up to 2 log2(n) neighbours every 30 s. Between weft peers the periodic round sends a digest
// instead, and the pair exchanges only what differs:
//
//   S -> R   digest     [u8 1][u32 count][u64 hash]            13 bytes, every round
//   R -> S   versions   [u8 2][u32 n][n x (name6, uid8, ver8)]  only when the digest differs
//   S -> R   update     a normal topology update (gob peerSummary list) with S's newer entries
//   S -> R   want       [u8 3][u32 n][n x name6]                names where R is newer
//   R -> S   update     a normal topology update with those entries
//
// The messages travel as gossip (tag 4) on the channel kTopologySyncChannel, to the neighbour
// only (never relayed). The updates are ordinary topology gossip: the receiver merges them and
// relays what improved exactly as it does for Weave's messages. A round between neighbours that
// agree costs 13 bytes instead of the whole table; one that disagrees costs O(peers) for the
// version list plus the entries that differ, which is never more than the full table.
//
// Pure: no clocks, no sockets.
#include <cstdint>
#include <variant>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/result.hpp"
#include "weft/mesh/topology.hpp"

namespace weft::mesh {

inline constexpr std::string_view kTopologySyncChannel = "weft-topology-sync";
/// The handshake feature key and the version we speak.
inline constexpr std::string_view kWeftGossipFeature = "WeftGossip";
inline constexpr std::string_view kWeftGossipVersion = "1";

/// Hash over the (name, uid, version) of every non-placeholder peer, in name order.
struct TopologyDigest {
  std::uint32_t count = 0;
  std::uint64_t hash = 0;
  bool operator==(const TopologyDigest&) const = default;
};

struct PeerVersion {
  PeerName name;
  std::uint64_t uid = 0;
  std::uint64_t version = 0;
  bool operator==(const PeerVersion&) const = default;
};

struct SyncWant {
  std::vector<PeerName> names;
  bool operator==(const SyncWant&) const = default;
};

using TopologySyncMessage = std::variant<TopologyDigest, std::vector<PeerVersion>, SyncWant>;

TopologyDigest topology_digest(const Topology& t);
/// (name, uid, version) of every non-placeholder peer, ascending by name.
std::vector<PeerVersion> topology_versions(const Topology& t);

/// What to do with a neighbour's version list: `push` = our entries that are newer than theirs
/// or that they lack (ascending); `want` = names whose entry they hold newer or that we lack.
/// "Newer" is the merge order of Topology::apply_update: higher version, then higher uid.
struct SyncPlan {
  std::vector<PeerName> push;
  std::vector<PeerName> want;
};
SyncPlan plan_sync(const Topology& ours, const std::vector<PeerVersion>& theirs);

Bytes encode_topology_sync(const TopologySyncMessage& m);
/// Refuses truncated or trailing bytes, unknown kinds, lists over Topology::kMaxUpdatePeers,
/// the unknown peer name, placeholders (uid 0), versions >= 2^63 and repeated names.
Result<TopologySyncMessage> decode_topology_sync(ByteSpan in);

}  // namespace weft::mesh
