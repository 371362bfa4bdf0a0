#pragma once
// Single-value Paxos over gossip broadcast, used once to agree on the peers that split the ring
// (spec §6.4; Weave's ipam/paxos). Every node gossips the claims of every node it knows of; there
// are no direct messages. An elector takes part in the vote; an observer only waits for a ring.
//
//   propose():   round = 1 + highest round seen; our Promise = (round, us)
//   think():     adopt the highest Promise seen; if our Promise is our own proposal and a quorum
//                has promised it, accept it with the best previously accepted value (or, if none,
//                every node name we know); accept any proposal equal to our Promise that someone
//                else accepted
//   update():    merge received claims (Promise / Accepted taken when newer)
//   consensus(): a quorum accepted values of the same origin
#include <cstdint>
#include <optional>
#include <vector>

#include "weft/base/peer_name.hpp"
#include "weft/ipam/ipam_codec.hpp"

namespace weft::ipam {

struct PaxosStatus {
  bool elector = false;
  std::size_t known_nodes = 0;
  std::uint32_t quorum = 0;
  bool operator==(const PaxosStatus&) const = default;
};

class Paxos {
 public:
  static Paxos elector(NodeId self, std::uint32_t quorum = 0) { return Paxos(true, self, quorum); }
  static Paxos observer() { return Paxos(false, NodeId{}, 0); }

  bool is_elector() const { return elector_; }
  /// What we gossip: every node's claims as we know them (possibly empty); nullopt for an
  /// observer, which makes electors that have a ring answer it with a RingUpdate.
  std::optional<PaxosState> gossip_state() const;
  /// Merges received claims. True if we learned something new. No-op for an observer.
  bool update(const PaxosState& from);
  void set_quorum(std::uint32_t q);
  std::uint32_t quorum() const { return quorum_; }
  void propose();
  /// True if our own claims changed (then they should be broadcast).
  bool think();
  std::optional<AcceptedValue> consensus() const;
  PaxosStatus status() const { return PaxosStatus{elector_, knows_.size(), quorum_}; }
  const PaxosState& knows() const { return knows_; }
  NodeId self() const { return self_; }

 private:
  Paxos(bool elector, NodeId self, std::uint32_t quorum)
      : elector_(elector), self_(self), quorum_(quorum) {}
  std::vector<PeerName> pick_value() const;

  bool elector_;
  NodeId self_;
  std::uint32_t quorum_;
  PaxosState knows_;
};

/// Sorts and de-duplicates a consensus value (the seed list of ClaimForPeers).
std::vector<PeerName> normalize_peers(std::vector<PeerName> peers);

}  // namespace weft::ipam
