#pragma once
// The IPAM status model: what `/report` shows under "IPAM" (Weave's ipam.Status, field for
// field), the `Status:` line of `/status`, and the `/status/ipam` page.
//
// Beyond Weave, the model says which peers consensus is waiting for and which unreachable peers
// own ranges, with the command that reclaims them: the two things Weave users most often could
// not find out (spec §12).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/ipam/paxos.hpp"

namespace weft::ipam {

enum class IpamState {
  idle,                ///< no allocation asked for yet; consensus deferred until then
  priming,             ///< observer waiting for a ring from another peer
  awaiting_consensus,  ///< paxos running
  ready,
  waiting_for_ips,         ///< allocations pending until a donation arrives
  all_owners_unreachable,  ///< every range is owned by peers we cannot reach
};

/// `/report` IPAM.Entries: one per ring range piece.
struct EntryStatus {
  Ipv4 token;
  std::uint64_t size = 0;
  PeerName peer;
  std::string nickname;
  bool is_known_peer = false;  ///< in the topology peer table (Weave's IsKnownPeer)
  bool reachable = false;      ///< ourselves, or a unicast route exists
  std::uint32_t version = 0;
};

struct ClaimStatus {
  std::string ident;
  Cidr cidr;
};

/// Ranges owned by one peer we cannot reach, and how to take them over if it is dead.
struct UnreachableOwner {
  PeerName peer;
  std::string nickname;
  std::vector<Ipv4Range> ranges;
  std::uint64_t size = 0;
  std::string reclaim_command;  ///< `weave rmpeer <name>`
};

struct IpamStatus {
  IpamState state = IpamState::idle;
  std::optional<PaxosStatus> paxos;             ///< set while awaiting consensus (electors)
  std::vector<PeerName> consensus_waiting_for;  ///< mesh peers that have not voted yet
  std::vector<std::string>
      waiting_for_nicknames;        ///< parallel to consensus_waiting_for ("" if unknown)
  std::uint32_t peers_missing = 0;  ///< more peers must connect before a quorum can exist
  PeerName self;
  std::string self_nickname;
  Cidr range;
  std::uint64_t range_num_ips = 0;
  std::uint64_t active_ips = 0;
  Cidr default_subnet;
  std::vector<EntryStatus> entries;
  std::vector<ClaimStatus> pending_claims;
  std::vector<std::string> pending_allocates;  ///< "ident cidr", as Weave
  std::vector<UnreachableOwner> unreachable;
};

/// The value of the `Status:` line (`ready`, `awaiting consensus (quorum: 2, known: 1)`, ...).
std::string status_line(const IpamStatus& s);

/// `/status/ipam`. With a ring: Weave's table, `%-37s %8d IPs (%04.1f%% of total) %s`, our line
/// first with `(N active)`, other peers by name with `- unreachable!` when we cannot reach them;
/// then, if any are unreachable, the ranges they own and the rmpeer command for each. Without a
/// ring: the state, and while awaiting consensus the peers it is waiting for.
std::string format_status_ipam(const IpamStatus& s);

}  // namespace weft::ipam
