#pragma once
// What the kernel fast path needs to know, derived from the router's state by pure functions:
// which peer each MAC lives behind (the MAC cache), how to reach each peer (unicast routes and the
// fastdp forwarders that are usable), and where a broadcast from each source goes (broadcast
// routes). The shell writes the difference between two derivations into the eBPF maps
// (datapath/ebpf/include/weft/datapath/fastdp_maps.h). Anything missing here makes the kernel
// hand the frame to weaver, which is always correct, only slower.
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/short_id.hpp"
#include "weft/mesh/routes.hpp"
#include "weft/router/mac_cache.hpp"

namespace weft::router {

/// Most next hops one broadcast may take in the kernel (FDP_MAX_FLOOD).
inline constexpr std::size_t kFastdpMaxFlood = 16;

struct FastdpTables {
  struct MacEntry {
    std::uint16_t peer = 0;  ///< ShortID
    bool local = false;      ///< behind our bridge
    /// Local only: the ifindex of the container's bridge port, for delivery straight into the
    /// container's namespace; 0 = through the bridge.
    std::uint32_t port = 0;
    auto operator<=>(const MacEntry&) const = default;
  };
  struct Hop {
    Ipv4 ip;             ///< next hop's address (vxlan only)
    bool vxlan = false;  ///< the next hop is a usable fastdp neighbour
    auto operator<=>(const Hop&) const = default;
  };
  struct FloodHop {
    Ipv4 ip;
    std::uint16_t dst = 0;  ///< the neighbour's ShortID: each copy is addressed to it
    auto operator<=>(const FloodHop&) const = default;
  };
  struct Flood {
    bool kernel = false;  ///< every next hop is fastdp and there are at most kFastdpMaxFlood
    std::vector<FloodHop> hops;
    auto operator<=>(const Flood&) const = default;
  };
  std::map<Mac, MacEntry> macs;
  std::map<std::uint16_t, Hop> hops;      ///< by destination ShortID; only peers with a unique one
  std::map<std::uint16_t, Flood> floods;  ///< by source ShortID
  bool operator==(const FastdpTables&) const = default;
};

struct FastdpTablesInput {
  PeerName self;
  const MacCache* macs = nullptr;
  const mesh::RouteTable* routes = nullptr;
  /// Every known peer (ourself included) with its ShortID; peers sharing one are left out.
  std::map<PeerName, ShortID> short_ids;
  /// The fastdp address of a neighbour whose forwarder is usable, else nullopt.
  std::function<std::optional<Ipv4>(PeerName)> fast_neighbour;
  /// Bridge ports that frames may skip the bridge into, by the MAC the bridge learned on them
  /// (container veths whose peer is in another namespace); null = none (always the bridge).
  const std::map<Mac, std::uint32_t>* direct_ports = nullptr;
};

FastdpTables derive_fastdp_tables(const FastdpTablesInput& in);

/// The map writes that turn `from` into `to`.
struct FastdpTablesDiff {
  std::vector<std::pair<Mac, FastdpTables::MacEntry>> mac_set;
  std::vector<Mac> mac_del;
  std::vector<std::pair<std::uint16_t, FastdpTables::Hop>> hop_set;
  std::vector<std::uint16_t> hop_del;
  std::vector<std::pair<std::uint16_t, FastdpTables::Flood>> flood_set;
  std::vector<std::uint16_t> flood_del;
  bool empty() const {
    return mac_set.empty() && mac_del.empty() && hop_set.empty() && hop_del.empty() && flood_set.empty() &&
           flood_del.empty();
  }
};
FastdpTablesDiff diff_fastdp_tables(const FastdpTables& from, const FastdpTables& to);

}  // namespace weft::router
