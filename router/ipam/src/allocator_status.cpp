// The allocator's status model (/report, /status, /status/ipam) and its invariant check.
#include <algorithm>
#include <map>
#include <set>

#include "weft/ipam/allocator.hpp"

namespace weft::ipam {

IpamStatus Allocator::status(const Cidr& default_subnet) const {
  IpamStatus s;
  s.self = self_;
  if (auto it = nicknames_.find(self_); it != nicknames_.end()) s.self_nickname = it->second;
  s.range = universe_;
  s.range_num_ips = universe_.size();
  s.active_ips = space_.num_owned();
  s.default_subnet = default_subnet;
  for (auto& ri : ring_.all_range_info()) {
    EntryStatus e;
    e.token = Ipv4(static_cast<std::uint32_t>(ri.range.start()));
    e.size = ri.range.size();
    e.peer = ri.peer;
    if (auto it = nicknames_.find(ri.peer); it != nicknames_.end()) e.nickname = it->second;
    e.is_known_peer = ri.peer == self_ || mesh_.is_known(ri.peer);
    e.reachable = reachable(ri.peer);
    e.version = ri.version;
    s.entries.push_back(std::move(e));
  }
  for (auto& op : pending_claims_) s.pending_claims.push_back(ClaimStatus{op.ident, op.cidr});
  for (auto& op : pending_allocates_)
    s.pending_allocates.push_back(fmt::format("{} {}", op.ident, op.cidr));

  std::map<PeerName, UnreachableOwner> unreachable;
  for (auto& e : s.entries) {
    if (e.reachable || e.size == 0) continue;
    auto& u = unreachable[e.peer];
    u.peer = e.peer;
    u.nickname = e.nickname;
    u.ranges.push_back(Ipv4Range(e.token.value(), std::uint64_t{e.token.value()} + e.size));
    u.size += e.size;
    u.reclaim_command = fmt::format("weave rmpeer {}", e.peer);
  }
  for (auto& [p, u] : unreachable) s.unreachable.push_back(std::move(u));

  if (!ring_.empty()) {
    bool any_reachable = std::any_of(s.entries.begin(), s.entries.end(),
                                     [](auto& e) { return e.size > 0 && e.reachable; });
    if (!any_reachable) {
      s.state = IpamState::all_owners_unreachable;
    } else if (!pending_allocates_.empty()) {
      s.state = IpamState::waiting_for_ips;
    } else {
      s.state = IpamState::ready;
    }
  } else if (awaiting_ && paxos_ && paxos_->is_elector()) {
    s.state = IpamState::awaiting_consensus;
    s.paxos = paxos_->status();
    std::set<PeerName> voted;
    for (auto& [id, c] : paxos_->knows()) voted.insert(id.name);
    auto peers = mesh_.peers();
    for (auto p : peers) {
      if (p == self_ || voted.count(p)) continue;
      s.consensus_waiting_for.push_back(p);
      auto it = nicknames_.find(p);
      s.waiting_for_nicknames.push_back(it == nicknames_.end() ? std::string() : it->second);
    }
    std::set<PeerName> all(peers.begin(), peers.end());
    all.insert(voted.begin(), voted.end());
    all.insert(self_);
    auto q = paxos_->quorum();
    s.peers_missing = all.size() >= q ? 0 : static_cast<std::uint32_t>(q - all.size());
  } else if (awaiting_) {
    s.state = IpamState::priming;
  } else {
    s.state = IpamState::idle;
  }
  return s;
}

Result<void> Allocator::check_invariants() const {
  if (auto r = ring_.check_invariants(); !r.ok()) return make_error("ring: {}", r.error().message);
  if (auto r = space_.check_invariants(); !r.ok()) return r;
  if (shutting_down_) return {};
  // The space must be exactly the ranges the ring gives us (joined where they touch).
  Space from_ring;
  for (auto& r : ring_.owned_ranges()) from_ring.add(r);
  if (from_ring.owned_ranges() != space_.owned_ranges()) {
    return make_error("space does not match the ranges the ring gives us");
  }
  // Every address is held by at most one ident; every allocated address by exactly one.
  std::map<std::uint32_t, const std::string*> holder;
  std::uint64_t held_in_space = 0;
  for (auto& [ident, d] : owned_) {
    for (auto& c : d.cidrs) {
      auto [it, fresh] = holder.emplace(c.addr().value(), &ident);
      if (!fresh)
        return make_error("address {} held by both {} and {}", c.addr(), *it->second, ident);
      if (space_.is_free(c.addr()))
        return make_error("address {} of {} is marked free", c.addr(), ident);
      if (space_.is_allocated(c.addr())) ++held_in_space;
    }
  }
  if (space_.num_owned() != held_in_space) {
    return make_error("{} allocated addresses but {} held by idents", space_.num_owned(),
                      held_in_space);
  }
  return {};
}

}  // namespace weft::ipam
