#include "weft/mesh/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <deque>
#include <unordered_set>
#include <utility>

#include "weft/base/check.hpp"

namespace weft::mesh {

namespace {

constexpr std::uint32_t kShortIdSpace = std::uint32_t{ShortID::kMax} + 1;  // 4096
// NB: no honest peer makes 2^62 topology changes. Versions from 2^63 up are refused outright, and
// a stale incarnation of us may only push our own counter up to 2^62: a hostile update can then
// never bring our version near a value the rest of the mesh refuses (or near wrapping to 0),
// after which every peer would ignore our updates.
constexpr std::uint64_t kVersionLimit = std::uint64_t{1} << 63;
constexpr std::uint64_t kSelfJumpLimit = std::uint64_t{1} << 62;

PeerEntry entry_from_summary(const PeerSummary& s) {
  PeerEntry e;
  e.name = s.name;
  e.nickname = s.nickname;
  e.uid = s.uid;
  e.version = s.version;
  e.short_id = s.short_id;
  e.has_short_id = s.has_short_id;
  return e;
}

std::map<PeerName, ConnectionSummary> connections_from(const std::vector<ConnectionSummary>& cs) {
  std::map<PeerName, ConnectionSummary> out;
  for (const auto& c : cs) {
    out.emplace(c.name, c);
  }
  return out;
}

}  // namespace

PeerSummary PeerEntry::summary() const {
  PeerSummary s;
  s.name = name;
  s.nickname = nickname;
  s.uid = uid;
  s.version = version;
  s.short_id = short_id;
  s.has_short_id = has_short_id;
  s.connections.reserve(connections.size());
  for (const auto& [remote, c] : connections) {
    s.connections.push_back(c);
  }
  return s;
}

Topology::Topology(PeerIdentity self, Random& rng) : self_(self.name), rng_(&rng) {
  assert(self.uid != 0 && !self.name.is_unknown());
  PeerEntry e;
  e.name = self.name;
  e.nickname = std::move(self.nickname);
  e.uid = self.uid;
  e.version = 0;
  e.short_id = self.short_id ? self.short_id->value()
                             : static_cast<std::uint16_t>(rng.uniform(kShortIdSpace));
  e.has_short_id = true;
  auto& ours = emplace_peer(self_, std::move(e));
  self_entry_ = &ours;
  Pending unused;
  add_by_short_id(ours, unused);
}

const PeerEntry* Topology::find(PeerName name) const { return index_.find(name); }

PeerEntry& Topology::emplace_peer(PeerName name, PeerEntry e) {
  auto& added = peers_.emplace(name, std::move(e)).first->second;
  index_.insert(name, &added);
  return added;
}

std::optional<PeerName> Topology::peer_by_short_id(ShortID id) const {
  auto it = by_short_id_.find(id.value());
  if (it == by_short_id_.end()) {
    return std::nullopt;
  }
  return it->second.principal;
}

// ---- ShortID index (§2.7), following mesh's addByShortID / deleteByShortID ----

void Topology::add_by_short_id(const PeerEntry& peer, Pending& pending) {
  if (!peer.has_short_id) {
    return;
  }
  auto [it, inserted] = by_short_id_.try_emplace(peer.short_id);
  auto& slot = it->second;
  if (inserted) {
    slot.principal = peer.name;
  } else if (!slot.principal) {
    // Free but used before: re-using an id is an invalidation event.
    slot.principal = peer.name;
    pending.out.short_ids_invalidated = true;
  } else if (peer.name < *slot.principal) {
    // Collision: the lower name becomes principal and bumps the previous one into others.
    if (*slot.principal == self_) {
      pending.reassign_local_short_id = true;
    }
    slot.others.push_back(*slot.principal);
    slot.principal = peer.name;
    pending.out.short_ids_invalidated = true;
  } else {
    slot.others.push_back(peer.name);
  }
}

void Topology::delete_by_short_id(const PeerEntry& peer, Pending& pending) {
  if (!peer.has_short_id) {
    return;
  }
  auto it = by_short_id_.find(peer.short_id);
  if (it == by_short_id_.end()) {
    return;
  }
  auto& slot = it->second;
  if (slot.principal != peer.name) {
    auto pos = std::find(slot.others.begin(), slot.others.end(), peer.name);
    if (pos != slot.others.end()) {
      slot.others.erase(pos);
    }
    return;
  }
  if (slot.others.empty()) {
    slot.principal.reset();  // keep the slot to detect re-use
    return;
  }
  auto lowest = std::min_element(slot.others.begin(), slot.others.end());
  slot.principal = *lowest;
  slot.others.erase(lowest);
  pending.out.short_ids_invalidated = true;
}

std::optional<std::uint16_t> Topology::choose_short_id() {
  auto is_free = [this](std::uint16_t id) {
    auto it = by_short_id_.find(id);
    return it == by_short_id_.end() || !it->second.principal;
  };
  // First a few random picks: cheap while the id space is sparse.
  for (int i = 0; i < 10; ++i) {
    auto id = static_cast<std::uint16_t>(rng_->uniform(kShortIdSpace));
    if (is_free(id)) {
      return id;
    }
  }
  // Mostly used: count the free ids and pick one uniformly.
  std::uint32_t available = kShortIdSpace;
  for (const auto& [id, slot] : by_short_id_) {
    if (slot.principal) {
      --available;
    }
  }
  if (available == 0) {
    return std::nullopt;
  }
  auto n = rng_->uniform(available);
  for (std::uint32_t id = 0; id < kShortIdSpace; ++id) {
    if (is_free(static_cast<std::uint16_t>(id))) {
      if (n == 0) {
        return static_cast<std::uint16_t>(id);
      }
      --n;
    }
  }
  return std::nullopt;  // unreachable: `available` free ids exist
}

void Topology::set_local_short_id(std::uint16_t id, Pending& pending) {
  auto& me = self_mut();
  delete_by_short_id(me, pending);
  me.short_id = id;
  me.has_short_id = true;
  ++me.version;
  pending.out.local_version_bumped = true;
  add_by_short_id(me, pending);
}

bool Topology::reassign_local_short_id(Pending& pending) {
  auto id = choose_short_id();
  if (!id) {
    return false;  // all taken: garbage_collect() retries once something is freed
  }
  set_local_short_id(*id, pending);
  return true;
}

void Topology::finish(Pending& pending) {
  if (pending.reassign_local_short_id) {
    pending.reassign_local_short_id = false;
    reassign_local_short_id(pending);
  }
}

void Topology::debug_check() const {
#ifndef NDEBUG
  auto r = check_invariants();
  WEFT_CHECK(r.ok(), "topology invariant violated: {}", r.ok() ? "" : r.error().message);
#endif
}

ChangeOutcome Topology::set_short_id_for_test(ShortID id) {
  Pending pending;
  set_local_short_id(id.value(), pending);
  finish(pending);
  return pending.out;
}

// ---- local connections ----

PeerEntry& Topology::fetch_with_default(const PeerIdentity& remote, Pending& pending) {
  if (auto* known = find_mut(remote.name)) {
    return *known;
  }
  PeerEntry e;
  e.name = remote.name;
  e.nickname = remote.nickname;
  e.uid = remote.uid;
  e.version = 0;
  // NB: like mesh's handshake, a peer that sent no ShortID is entered as holding id 0.
  e.short_id = remote.short_id ? remote.short_id->value() : 0;
  e.has_short_id = true;
  auto& added = emplace_peer(remote.name, std::move(e));
  add_by_short_id(added, pending);
  return added;
}

Result<ChangeOutcome> Topology::add_connection(const PeerIdentity& remote,
                                               std::string remote_tcp_addr, bool outbound,
                                               bool established) {
  if (remote.name == self_) {
    return make_error("cannot connect to ourself ({})", remote.name);
  }
  if (remote.name.is_unknown()) {
    return make_error("connection to the unknown peer name");
  }
  if (remote.uid == 0) {
    return make_error("peer {} has uid 0", remote.name);
  }
  if (self().connections.contains(remote.name)) {
    return make_error("multiple connections to {} added to {}", remote.name, self_);
  }
  Pending pending;
  fetch_with_default(remote, pending);
  auto& me = self_mut();
  me.connections.emplace(remote.name, ConnectionSummary{remote.name, std::move(remote_tcp_addr),
                                                        outbound, established});
  ++me.version;
  pending.out.local_version_bumped = true;
  finish(pending);
  debug_check();
  return pending.out;
}

Result<ChangeOutcome> Topology::remove_connection(PeerName remote) {
  auto& me = self_mut();
  if (me.connections.erase(remote) == 0) {
    return make_error("no connection to {} to delete", remote);
  }
  ++me.version;
  ChangeOutcome out;
  out.local_version_bumped = true;
  return out;
}

Result<ChangeOutcome> Topology::mark_established(PeerName remote) {
  auto& me = self_mut();
  auto it = me.connections.find(remote);
  if (it == me.connections.end()) {
    return make_error("cannot set unknown connection to {} established", remote);
  }
  ChangeOutcome out;
  if (!it->second.established) {
    it->second.established = true;
    ++me.version;
    out.local_version_bumped = true;
  }
  return out;
}

ChangeOutcome Topology::add_local_ref(const PeerIdentity& remote) {
  Pending pending;
  if (remote.name.is_unknown() || (remote.name != self_ && remote.uid == 0)) {
    return pending.out;
  }
  auto& p = fetch_with_default(remote, pending);
  ++p.local_refs;
  finish(pending);
  return pending.out;
}

void Topology::release_local_ref(PeerName name) {
  auto* p = find_mut(name);
  if (p != nullptr && p->local_refs > 0) {
    --p->local_refs;
  }
}

// ---- gossip ----

Result<void> Topology::validate_update(const std::vector<PeerSummary>& update) const {
  if (update.size() > kMaxUpdatePeers) {
    return make_error("topology update with {} peers exceeds the limit of {}", update.size(),
                      kMaxUpdatePeers);
  }
  // Sorted vectors rather than hash sets: one allocation each, reused across peers.
  std::vector<PeerName> seen;
  seen.reserve(update.size());
  std::vector<PeerName> conns;
  for (const auto& p : update) {
    if (p.name.is_unknown()) {
      return make_error("topology update names the unknown peer 00:00:00:00:00:00");
    }
    if (p.short_id > ShortID::kMax) {
      return make_error("peer {} claims short id {} (> {})", p.name, p.short_id, ShortID::kMax);
    }
    if (p.version >= kVersionLimit) {
      return make_error("peer {} claims version {} (>= 2^63)", p.name, p.version);
    }
    if (p.name == self_ && p.uid != self().uid && p.version >= kSelfJumpLimit) {
      return make_error("an incarnation of us claims version {} (>= 2^62)", p.version);
    }
    if (p.uid == 0 && (p.version != 0 || p.has_short_id || !p.connections.empty())) {
      // Only placeholders carry uid 0, and a placeholder never has a version, id or connections.
      return make_error("peer {} has uid 0 but is not a placeholder", p.name);
    }
    seen.push_back(p.name);
    conns.clear();
    for (const auto& c : p.connections) {
      if (c.name.is_unknown()) {
        return make_error("peer {} lists a connection to the unknown peer name", p.name);
      }
      if (c.name == p.name) {
        return make_error("peer {} lists a connection to itself", p.name);
      }
      conns.push_back(c.name);
    }
    std::sort(conns.begin(), conns.end());
    if (auto dup = std::adjacent_find(conns.begin(), conns.end()); dup != conns.end()) {
      return make_error("peer {} lists two connections to {}", p.name, *dup);
    }
  }
  std::sort(seen.begin(), seen.end());
  if (auto dup = std::adjacent_find(seen.begin(), seen.end()); dup != seen.end()) {
    return make_error("topology update lists peer {} twice", *dup);
  }
  return ok_result();
}

Result<UpdateOutcome> Topology::apply_update(const std::vector<PeerSummary>& update) {
  WEFT_TRY_VOID(validate_update(update));

  Pending pending;
  UpdateOutcome out;
  out.received.reserve(update.size());

  // Rule 1: enter peers we did not know, then placeholders for names seen only in connections.
  // NB: validated above: names are unique, so "fresh" can be tracked per position.
  // The entry of each received peer, kept for rule 2 (std::map nodes do not move).
  std::vector<bool> fresh(update.size(), false);
  std::vector<PeerEntry*> entries(update.size(), nullptr);
  for (std::size_t i = 0; i < update.size(); ++i) {
    const auto& p = update[i];
    out.received.push_back(p.name);
    entries[i] = find_mut(p.name);
    if (entries[i] == nullptr) {
      fresh[i] = true;
      entries[i] = &emplace_peer(p.name, entry_from_summary(p));
      add_by_short_id(*entries[i], pending);
    }
  }
  for (const auto& p : update) {
    for (const auto& c : p.connections) {
      if (!index_.contains(c.name)) {
        PeerEntry placeholder;
        placeholder.name = c.name;
        emplace_peer(c.name, std::move(placeholder));
        out.placeholders.push_back(c.name);
      }
    }
  }

  // Rule 2: merge each received peer.
  for (std::size_t i = 0; i < update.size(); ++i) {
    const auto& p = update[i];
    auto& cur = *entries[i];
    if (p.name == self_) {
      // Our own entry is never taken from gossip. A stale incarnation of us (another UID) at a
      // version we have not passed yet must be superseded, so we jump past it.
      if (p.uid != cur.uid && p.version >= cur.version) {
        cur.version = p.version + 1;
        pending.out.local_version_bumped = true;
      }
      continue;
    }
    if (fresh[i]) {
      cur.connections = connections_from(p.connections);
      out.improved.push_back(p.name);
      continue;
    }
    if (p.version < cur.version ||
        (p.version == cur.version &&
         (p.uid < cur.uid || (p.uid == cur.uid && (!p.has_short_id || cur.has_short_id))))) {
      continue;
    }
    cur.version = p.version;
    cur.uid = p.uid;
    cur.nickname = p.nickname;
    cur.connections = connections_from(p.connections);
    if (p.short_id != cur.short_id || p.has_short_id != cur.has_short_id) {
      delete_by_short_id(cur, pending);
      cur.short_id = p.short_id;
      cur.has_short_id = p.has_short_id;
      add_by_short_id(cur, pending);
    }
    out.improved.push_back(p.name);
  }

  std::sort(out.improved.begin(), out.improved.end());
  std::sort(out.placeholders.begin(), out.placeholders.end());
  finish(pending);
  static_cast<ChangeOutcome&>(out) = pending.out;
  debug_check();
  return out;
}

GcOutcome Topology::garbage_collect() {
  // Reachability from us over every connection, established or not. Order is irrelevant here;
  // a connection to a name no longer in the table is a dead end.
  std::unordered_set<PeerName> reached{self_};
  std::deque<PeerName> work{self_};
  while (!work.empty()) {
    auto cur = work.front();
    work.pop_front();
    const auto* entry = find_mut(cur);
    if (entry == nullptr) {
      continue;
    }
    for (const auto& [remote, conn] : entry->connections) {
      if (reached.insert(remote).second) {
        work.push_back(remote);
      }
    }
  }

  Pending pending;
  GcOutcome out;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (!reached.contains(it->first) && it->second.local_refs == 0) {
      delete_by_short_id(it->second, pending);
      out.removed.push_back(it->second.summary());
      index_.erase(it->first);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  if (!out.removed.empty()) {
    auto slot = by_short_id_.find(self().short_id);
    if (slot == by_short_id_.end() || slot->second.principal != self_) {
      // We gave our id up earlier and found none free; GC may have freed one.
      pending.reassign_local_short_id = true;
    }
  }
  finish(pending);
  static_cast<ChangeOutcome&>(out) = pending.out;
  debug_check();
  return out;
}

std::vector<PeerSummary> Topology::summaries(std::span<const PeerName> names,
                                             bool include_self) const {
  std::vector<PeerSummary> out;
  std::unordered_set<PeerName> done;
  if (include_self) {
    out.push_back(self().summary());
    done.insert(self_);
  }
  for (auto name : names) {
    const auto* p = find_mut(name);
    if (p != nullptr && done.insert(name).second) {
      out.push_back(p->summary());
    }
  }
  return out;
}

std::vector<PeerSummary> Topology::all_summaries() const {
  std::vector<PeerSummary> out;
  out.reserve(peers_.size());
  for (const auto& [name, p] : peers_) {
    out.push_back(p.summary());
  }
  return out;
}

Result<void> Topology::check_invariants() const {
  auto self_it = peers_.find(self_);
  if (self_it == peers_.end()) {
    return make_error("our own entry {} is missing", self_);
  }
  const auto& me = self_it->second;
  if (self_entry_ != &me) {
    return make_error("the pointer to our own entry is stale");
  }
  if (index_.size() != peers_.size()) {
    return make_error("the peer index holds {} names for {} peers", index_.size(), peers_.size());
  }
  for (const auto& [name, p] : peers_) {
    if (index_.find(name) != &p) {
      return make_error("the peer index does not point at the entry of {}", name);
    }
  }
  if (me.uid == 0 || !me.has_short_id) {
    return make_error("our own entry lost its uid or short id");
  }

  // Each holder must carry the slot's id and appear once in it; as a peer has a single id, it can
  // then be in no other slot, so equal counts mean every peer with an id is indexed exactly once.
  std::size_t indexed = 0;
  std::vector<PeerName> holders;
  for (const auto& [id, slot] : by_short_id_) {
    if (id > ShortID::kMax) {
      return make_error("short id index holds {}", id);
    }
    if (!slot.principal && !slot.others.empty()) {
      return make_error("short id {} has others but no principal", id);
    }
    holders.assign(slot.others.begin(), slot.others.end());
    if (slot.principal) {
      holders.push_back(*slot.principal);
    }
    for (auto name : holders) {
      auto it = peers_.find(name);
      if (it == peers_.end()) {
        return make_error("short id {} is held by unknown peer {}", id, name);
      }
      if (!it->second.has_short_id || it->second.short_id != id) {
        return make_error("short id {} lists {} which holds another id", id, name);
      }
      if (slot.principal && name < *slot.principal) {
        return make_error("short id {}: principal {} is not the lowest name", id, *slot.principal);
      }
    }
    std::sort(holders.begin(), holders.end());
    if (auto dup = std::adjacent_find(holders.begin(), holders.end()); dup != holders.end()) {
      return make_error("peer {} is indexed twice under short id {}", *dup, id);
    }
    indexed += holders.size();
  }

  std::size_t with_short_id = 0;
  for (const auto& [name, p] : peers_) {
    if (p.name != name || name.is_unknown()) {
      return make_error("table key {} holds entry {}", name, p.name);
    }
    if (p.short_id > ShortID::kMax) {
      return make_error("peer {} holds short id {}", name, p.short_id);
    }
    with_short_id += p.has_short_id ? 1 : 0;
    if (p.is_placeholder() && name != self_ &&
        (p.version != 0 || p.has_short_id || !p.connections.empty())) {
      return make_error("placeholder {} carries state", name);
    }
    for (const auto& [remote, c] : p.connections) {
      if (c.name != remote || remote == name || remote.is_unknown()) {
        return make_error("peer {} has a malformed connection to {}", name, remote);
      }
    }
  }
  if (with_short_id != indexed) {
    return make_error("{} peers hold a short id but {} are indexed", with_short_id, indexed);
  }

  // Every connection of a peer reachable from us points at a known peer: placeholders are
  // created on merge, and GC only deletes peers that nothing reachable points at.
  std::unordered_set<PeerName> reached;
  reached.reserve(peers_.size());
  reached.insert(self_);
  std::deque<PeerName> work{self_};
  while (!work.empty()) {
    auto cur = work.front();
    work.pop_front();
    const auto& entry = peers_.at(cur);
    for (const auto& [remote, c] : entry.connections) {
      if (!peers_.contains(remote)) {
        return make_error("reachable peer {} is connected to unknown peer {}", cur, remote);
      }
      if (reached.insert(remote).second) {
        work.push_back(remote);
      }
    }
  }
  return ok_result();
}

}  // namespace weft::mesh
