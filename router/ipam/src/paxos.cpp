#include "weft/ipam/paxos.hpp"

#include <algorithm>
#include <map>

namespace weft::ipam {

std::optional<PaxosState> Paxos::gossip_state() const {
  if (!elector_) return std::nullopt;
  return knows_;
}

bool Paxos::update(const PaxosState& from) {
  if (!elector_) return false;
  bool changed = false;
  for (auto& [id, theirs] : from) {
    auto it = knows_.find(id);
    if (it == knows_.end()) {
      knows_.emplace(id, theirs);
      changed = true;
      continue;
    }
    auto& claims = it->second;
    if (claims.promise < theirs.promise) {
      claims.promise = theirs.promise;
      changed = true;
    }
    if (claims.accepted < theirs.accepted) {
      claims.accepted = theirs.accepted;
      claims.accepted_val = theirs.accepted_val;
      changed = true;
    }
  }
  return changed;
}

void Paxos::set_quorum(std::uint32_t q) {
  if (elector_) quorum_ = q;
}

void Paxos::propose() {
  if (!elector_) return;
  std::uint64_t round = 0;
  for (auto& [id, c] : knows_) round = std::max({round, c.promise.round, c.accepted.round});
  auto& ours = knows_[self_];
  // NB: a hostile peer could gossip round 2^64-1; saturate rather than wrap to an invalid round.
  ours.promise = ProposalId{round == UINT64_MAX ? round : round + 1, self_};
  // With a quorum of one, we can accept our own proposal at once.
  if (quorum_ == 1) think();
}

bool Paxos::think() {
  if (!elector_) return false;
  auto ours = knows_[self_];
  // "Promise": copy the highest promise known.
  for (auto& [id, c] : knows_) {
    if (ours.promise < c.promise) ours.promise = c.promise;
  }
  // "Accept request": our proposal is in the running only while it is also our promise.
  if (ours.promise.proposer == self_) {
    std::uint32_t count = 0;
    ProposalId accepted;
    AcceptedValue accepted_val;
    for (auto& [id, c] : knows_) {
      if (c.promise == ours.promise) {
        ++count;
        if (accepted < c.accepted) {
          accepted = c.accepted;
          accepted_val = c.accepted_val;
        }
      }
    }
    if (count >= quorum_) {
      if (!accepted.valid()) {
        accepted_val.value = pick_value();
        accepted_val.origin = ours.promise;
      }
      ours.accepted = ours.promise;
      ours.accepted_val = accepted_val;
    }
  }
  // "Accepted": if the proposal we promised was accepted by someone, accept it too.
  for (auto& [id, c] : knows_) {
    if (c.accepted == ours.promise) {
      ours.accepted = c.accepted;
      ours.accepted_val = c.accepted_val;
      break;
    }
  }
  auto& cur = knows_[self_];
  // Weave compares promise, accepted and the accepted value's origin.
  if (cur.promise == ours.promise && cur.accepted == ours.accepted &&
      cur.accepted_val.origin == ours.accepted_val.origin) {
    return false;
  }
  cur = ours;
  return true;
}

std::vector<PeerName> Paxos::pick_value() const {
  std::vector<PeerName> v;
  v.reserve(knows_.size());
  for (auto& [id, c] : knows_) v.push_back(id.name);
  return v;
}

std::optional<AcceptedValue> Paxos::consensus() const {
  if (!elector_) return std::nullopt;
  std::map<ProposalId, std::uint32_t> counts;
  for (auto& [id, c] : knows_) {
    if (c.accepted.valid()) {
      auto n = ++counts[c.accepted_val.origin];
      if (n >= quorum_) return c.accepted_val;
    }
  }
  return std::nullopt;
}

std::vector<PeerName> normalize_peers(std::vector<PeerName> peers) {
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return peers;
}

}  // namespace weft::ipam
