#include "weft/ipam/allocator.hpp"

#include <algorithm>

#include "check.hpp"
#include "text.hpp"

namespace weft::ipam {

using detail::range_text;

namespace {

constexpr std::size_t kMaxNicknames = 8192;  // bound what gossip can make us remember

std::string addr_text(Ipv4 a) { return a.str(); }

}  // namespace

// ---- construction

class Allocator::Scope {
 public:
  Scope(Allocator& a, mesh::GossipSender& out) : a_(a), prev_(a.out_) { a_.out_ = &out; }
  ~Scope() { a_.out_ = prev_; }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Allocator& a_;
  mesh::GossipSender* prev_;
};

Allocator::Allocator(AllocatorConfig config, const MeshView& mesh, Random& rng, Logger log)
    : self_(config.self),
      uid_(config.uid),
      universe_(config.universe),
      init_(std::move(config.init)),
      mesh_(mesh),
      rng_(rng),
      log_(std::move(log)),
      wall_seconds_(std::move(config.wall_seconds)),
      ring_(Ipv4Range::of(config.universe), config.self) {
  nicknames_[self_] = config.nickname;
  if (init_.mode == IpallocInit::Mode::observer) {
    paxos_ = Paxos::observer();
  } else {
    paxos_ = Paxos::elector(NodeId{self_, uid_});
  }
  for (auto& c : config.pre_claims) {
    Op op;
    op.kind = OpKind::claim;
    op.ident = c.ident;
    op.cidr = c.cidr;
    op.is_container = c.is_container;
    pending_claims_.push_back(std::move(op));
  }
}

Result<std::unique_ptr<Allocator>> Allocator::create(AllocatorConfig config, const MeshView& mesh,
                                                     Random& rng, Logger log) {
  // Like Weave's ParseCIDR, the range is its network: 10.32.0.1/12 means 10.32.0.0/12.
  config.universe = config.universe.network();
  if (config.universe.size() < kMinSubnetSize) {
    return make_error("invalid --ipalloc-range {}: smaller than minimum size {}", config.universe,
                      kMinSubnetSize);
  }
  if (Ipv4Range::of(config.universe).end() > 0xFFFF'FFFFull) {
    return make_error("invalid --ipalloc-range {}: must not include 255.255.255.255",
                      config.universe);
  }
  if (config.init.mode == IpallocInit::Mode::seed && config.init.seeds.empty()) {
    return make_error("invalid --ipalloc-init: seed= needs at least one peer name");
  }
  auto persisted = std::move(config.persisted);
  std::unique_ptr<Allocator> a(new Allocator(std::move(config), mesh, rng, std::move(log)));
  if (persisted) {
    WEFT_TRY_VOID(a->restore(*persisted));
  } else {
    a->log_.info("No valid persisted data");
    a->dirty_ = Dirty{true, true, false};
  }
  return a;
}

Result<void> Allocator::restore(const PersistedState& p) {
  auto overwrite = [&](std::string why) {
    log_.info("{}", why);
    dirty_ = Dirty{true, true, false};
    return Result<void>{};
  };
  if (!p.peer_name || !p.ring || p.ring->entries.empty())
    return overwrite("No valid persisted data");
  if (*p.peer_name != self_)
    return overwrite(fmt::format("Deleting persisted data for peername {}", *p.peer_name));
  if (p.ring->range != ring_.range()) {
    return overwrite(fmt::format("Deleting persisted data for IPAM range {}; our range is {}",
                                 p.ring->range, universe_));
  }
  if (auto r = ring_.restore(*p.ring); !r.ok()) {
    return make_error(
        "persisted IPAM ring is invalid ({}); run 'weave reset' to discard the IPAM state",
        r.error().message);
  }
  space_.update_ranges(ring_.owned_ranges());
  if (p.owned) {
    owned_ = *p.owned;
    for (auto& [ident, d] : owned_) {
      for (auto& c : d.cidrs) {
        if (ring_.contains(c.addr()) && space_.is_free(c.addr())) (void)space_.claim(c.addr());
      }
    }
  }
  restored_ = true;
  log_.info("Initialising with persisted data");
  return {};
}

void Allocator::start(TimePoint now, mesh::GossipSender& out) {
  Scope scope(*this, out);
  next_tick_ = now + kTickInterval;
  if (restored_) {
    if (init_.mode == IpallocInit::Mode::seed)
      log_.info("Found persisted IPAM data, ignoring supplied IPAM seed");
    try_ops(pending_claims_);
  } else if (init_.mode == IpallocInit::Mode::seed) {
    log_.info("Initialising with supplied IPAM seed");
    create_ring(init_.seeds);
  } else if (init_.mode == IpallocInit::Mode::consensus) {
    log_.info("Initialising via deferred consensus");
  } else {
    log_.info("Initialising as observer - awaiting IPAM data from another peer");
  }
  finish_step();
}

// ---- operations

RequestId Allocator::submit(Op op, std::vector<Op>& queue) {
  op.id = next_id_++;
  auto id = op.id;
  if (shutting_down_) {
    report(op, std::nullopt, std::nullopt, true);
    return id;
  }
  if (!try_op(op)) queue.push_back(std::move(op));
  finish_step();
  return id;
}

RequestId Allocator::allocate(TimePoint, std::string ident, Cidr subnet, bool is_container,
                              mesh::GossipSender& out) {
  Scope scope(*this, out);
  Op op;
  op.kind = OpKind::allocate;
  op.ident = std::move(ident);
  op.cidr = subnet;
  op.is_container = is_container;
  return submit(std::move(op), pending_allocates_);
}

RequestId Allocator::claim(TimePoint, std::string ident, Cidr cidr, bool is_container,
                           bool no_error_on_unknown, mesh::GossipSender& out) {
  Scope scope(*this, out);
  Op op;
  op.kind = OpKind::claim;
  op.ident = std::move(ident);
  op.cidr = cidr;
  op.is_container = is_container;
  op.no_error_on_unknown = no_error_on_unknown;
  return submit(std::move(op), pending_claims_);
}

RequestId Allocator::prime(TimePoint, mesh::GossipSender& out) {
  Scope scope(*this, out);
  Op op;
  op.kind = OpKind::prime;
  return submit(std::move(op), pending_primes_);
}

void Allocator::cancel(RequestId id) {
  for (auto* q : {&pending_primes_, &pending_claims_, &pending_allocates_}) {
    for (auto it = q->begin(); it != q->end(); ++it) {
      if (it->id == id) {
        auto op = std::move(*it);
        q->erase(it);
        report(op, std::nullopt, std::nullopt, true);
        return;
      }
    }
  }
}

std::vector<Completion> Allocator::take_completions() {
  std::vector<Completion> out;
  out.swap(completions_);
  return out;
}

void Allocator::report(Op& op, std::optional<Cidr> address, std::optional<Error> error,
                       bool cancelled) {
  if (op.id == 0 || op.reported) {
    // Pre-claims, and claims that already answered (noErrorOnUnknown): nobody is listening.
    if (error)
      log_.warn("{} for {}: {}", op.kind == OpKind::claim ? "claim" : "allocation", op.ident,
                error->message);
    return;
  }
  op.reported = true;
  Completion c;
  c.id = op.id;
  c.kind = op.kind;
  c.address = address;
  c.error = std::move(error);
  c.cancelled = cancelled;
  completions_.push_back(std::move(c));
}

bool Allocator::try_op(Op& op) {
  switch (op.kind) {
    case OpKind::allocate:
      return try_allocate(op);
    case OpKind::claim:
      return try_claim(op);
    case OpKind::prime:
      return try_prime(op);
  }
  return true;
}

void Allocator::try_ops(std::vector<Op>& ops) {
  for (std::size_t i = 0; i < ops.size();) {
    if (try_op(ops[i])) {
      ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void Allocator::try_pending_ops() {
  // Primes first; then claims, so existing addresses are settled before new ones are handed out.
  try_ops(pending_primes_);
  try_ops(pending_claims_);
  try_ops(pending_allocates_);
}

bool Allocator::try_allocate(Op& op) {
  auto subnet_range = Ipv4Range::of(op.cidr);
  if (auto have = owned_in_range(op.ident, subnet_range); !have.empty()) {
    dead_.erase(op.ident);  // it was said to be dead, but is asking again: resurrect it
    report(op, Cidr(have.front().addr(), op.cidr.prefix()), std::nullopt);
    return true;
  }
  if (!Ipv4Range::of(universe_).overlaps(subnet_range)) {
    report(op, std::nullopt, make_error("range {} out of bounds: {}", op.cidr, universe_));
    return true;
  }
  establish_ring();
  if (auto addr = space_.allocate(host_range(op.cidr))) {
    // Without an ident the address is filed under its own text, so DELETE /ip/<addr> frees it.
    auto ident = op.ident == kNoContainerId ? addr_text(*addr) : op.ident;
    log_.debug("Allocated {} for {} in {}", *addr, ident, op.cidr);
    add_owned(ident, Cidr(*addr, op.cidr.prefix()), op.is_container);
    report(op, Cidr(*addr, op.cidr.prefix()), std::nullopt);
    return true;
  }
  // Out of space: ask the first peer, in weighted random order, that we can reach.
  op.waiting_for_route = true;
  for (auto donor : ring_.choose_peers_to_ask_for_space(subnet_range, rng_)) {
    if (!mesh_.has_route(donor)) continue;
    log_.debug("Decided to ask peer {} for space in range {}", donor, op.cidr);
    out_->unicast(donor, encode_space_request(subnet_range));
    op.waiting_for_route = false;
    break;
  }
  return false;
}

bool Allocator::try_claim(Op& op) {
  const Ipv4 addr = op.cidr.addr();
  if (!ring_.contains(addr)) {
    // Not ours to manage; assume the user knows what they are doing.
    log_.info("Address {} claimed by {} - not in our range", op.cidr, op.ident);
    add_owned(op.ident, op.cidr, op.is_container);
    report(op, std::nullopt, std::nullopt);
    return true;
  }
  establish_ring();
  dead_.erase(op.ident);
  auto owner = ring_.owner(addr);
  if (owner.is_unknown()) {
    log_.info(
        "Claim {} for {}: is in the range {}, but the allocator is not initialized yet; will try "
        "later.",
        op.cidr, op.ident, universe_);
    if (op.no_error_on_unknown) report(op, std::nullopt, std::nullopt);
    return false;
  }
  if (owner != self_) {
    op.waiting_for_route = !mesh_.has_route(owner);
    if (mesh_.has_route(owner)) {
      op.unreachable_tries = 0;
      log_.debug("requesting address {} from other peer {}", op.cidr, owner);
      out_->unicast(owner,
                    encode_space_request(Ipv4Range(addr.value(), std::uint64_t{addr.value()} + 1)));
      return false;
    }
    ++op.unreachable_tries;
    if (op.no_error_on_unknown) {
      log_.info("Claim {} for {}: owner {} unreachable; will try later.", op.cidr, op.ident,
                annotate(owner));
      report(op, std::nullopt, std::nullopt);
      return false;
    }
    if (op.unreachable_tries >= kClaimUnreachableTries) {
      denied_by(op, owner);
      return true;
    }
    return false;
  }
  // We own it: check no other ident has it.
  auto existing = find_owner(addr);
  const bool anonymous = op.ident == kNoContainerId;
  if (existing.empty()) {
    if (auto r = space_.claim(addr); !r.ok()) {
      report(op, std::nullopt, r.error());
      return true;
    }
    log_.debug("Claimed {} for {}", op.cidr, op.ident);
    add_owned(anonymous ? addr_text(addr) : op.ident, op.cidr, op.is_container);
    report(op, std::nullopt, std::nullopt);
  } else if (existing == op.ident || (anonymous && existing == addr_text(addr))) {
    report(op, std::nullopt, std::nullopt);  // the same ident claiming the same address again
  } else if (existing == addr_text(addr)) {
    report(op, std::nullopt, make_error("address {} already in use", op.cidr));
  } else if (anonymous) {
    // Cannot prove it is another container: let it have the address it already has.
    report(op, std::nullopt, std::nullopt);
  } else {
    report(op, std::nullopt, make_error("address {} is already owned by {}", op.cidr, existing));
  }
  return true;
}

bool Allocator::try_prime(Op& op) {
  if (!ring_.empty()) {
    report(op, std::nullopt, std::nullopt);
    return true;
  }
  establish_ring();
  if (!ring_.empty()) {
    report(op, std::nullopt, std::nullopt);
    return true;
  }
  return false;
}

void Allocator::denied_by(Op& op, PeerName owner) {
  auto nick = nicknames_.find(owner);
  auto name = nick == nicknames_.end() ? std::string() : fmt::format(" ({})", nick->second);
  report(op, std::nullopt,
         make_error("address {} is owned by other peer {}{}", op.cidr, owner, name));
}

void Allocator::cancel_ops(std::vector<Op>& ops) {
  for (auto& op : ops) report(op, std::nullopt, std::nullopt, true);
  ops.clear();
}

bool Allocator::cancel_ops_for(std::vector<Op>& ops, std::string_view ident) {
  bool found = false;
  for (std::size_t i = 0; i < ops.size();) {
    if (ops[i].ident == ident) {
      found = true;
      report(ops[i], std::nullopt, std::nullopt, true);
      ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return found;
}

std::vector<Cidr> Allocator::lookup(std::string_view ident, Ipv4Range r) const {
  return owned_in_range(ident, r);
}

Result<void> Allocator::free(std::string_view ident, Ipv4 addr) {
  if (!remove_owned(ident, addr))
    return make_error("Free: address {} not found for {}", addr, ident);
  log_.debug("Freed {} for {}", addr, ident);
  (void)space_.free(addr);  // not ours (any more), or outside the range: nothing to return
  finish_step();
  return {};
}

Result<void> Allocator::remove_ident(std::string_view ident) {
  auto cidrs = remove_all_owned(ident);
  bool found = !cidrs.empty();
  found = cancel_ops_for(pending_allocates_, ident) || found;
  found = cancel_ops_for(pending_claims_, ident) || found;
  for (auto& c : cidrs) (void)space_.free(c.addr());
  if (!found) return make_error("Delete: no addresses for {}", ident);
  return {};
}

Result<void> Allocator::remove(std::string_view ident) {
  auto r = remove_ident(ident);
  finish_step();
  return r;
}

// ---- container lifecycle

void Allocator::container_died(TimePoint now, std::string_view ident) {
  if (has_owned_by_container(ident)) {
    log_.debug("Container {} died; noting to remove later", ident);
    dead_[std::string(ident)] = now;
  }
  cancel_ops_for(pending_allocates_, ident);
  cancel_ops_for(pending_claims_, ident);
  finish_step();
}

void Allocator::container_started(std::string_view ident) {
  if (auto it = dead_.find(ident); it != dead_.end()) dead_.erase(it);
}

void Allocator::container_destroyed(std::string_view ident) {
  if (has_owned_by_container(ident)) {
    log_.debug("Container {} destroyed; removing addresses", ident);
    (void)remove_ident(ident);
    if (auto it = dead_.find(ident); it != dead_.end()) dead_.erase(it);
  }
  finish_step();
}

void Allocator::prune_owned(const std::set<std::string>& running) {
  bool changed = false;
  for (auto it = owned_.begin(); it != owned_.end();) {
    if (!it->second.is_container || running.count(it->first)) {
      ++it;
      continue;
    }
    for (auto& c : it->second.cidrs) (void)space_.free(c.addr());
    log_.debug("Deleting old entry {}", it->first);
    it = owned_.erase(it);
    changed = true;
  }
  if (changed) dirty_.owned = true;
  finish_step();
}

void Allocator::remove_dead_containers(TimePoint now) {
  for (auto it = dead_.begin(); it != dead_.end();) {
    if (now - it->second > kContainerDiedTimeout) {
      if (remove_ident(it->first).ok()) log_.debug("Removed addresses for container {}", it->first);
      it = dead_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- administration

std::optional<PeerName> Allocator::lookup_peername(std::string_view name) const {
  for (auto& [p, nick] : nicknames_) {
    if (nick == name) return p;
  }
  return PeerName::parse(name);
}

std::uint64_t Allocator::admin_takeover(TimePoint, std::string_view name, mesh::GossipSender& out) {
  Scope scope(*this, out);
  auto peer = lookup_peername(name);
  if (!peer) {
    log_.warn("attempt to take over range from unknown peer '{}'", name);
    return 0;
  }
  if (*peer == self_) {
    log_.warn("attempt to take over range from ourself");
    return 0;
  }
  auto moved = ring_.transfer(*peer, self_);
  if (moved.empty()) return 0;
  // NB: Weave reports the growth of our free space around ringUpdated(), which undercounts when a
  // waiting allocation takes one of the new addresses at once; count what moved instead.
  std::uint64_t gained = 0;
  for (auto& r : moved) gained += r.size();
  ring_updated();
  broadcast_state();
  finish_step();
  log_.info("took over {} IPs from {}", gained, annotate(*peer));
  return gained;
}

PeerName Allocator::pick_peer_for_transfer() const {
  auto known = [&](PeerName p) { return mesh_.is_known(p); };
  auto any = [](PeerName) { return true; };
  auto from_nicknames = [&](const std::function<bool(PeerName)>& valid) {
    for (auto& [p, nick] : nicknames_) {
      if (p != self_ && !p.is_unknown() && valid(p)) return p;
    }
    return PeerName{};
  };
  // Live peers taking part in IPAM, then live peers with IPAM, then vanished ones, in that order.
  if (auto h = ring_.pick_peer_for_transfer(known); !h.is_unknown()) return h;
  if (auto h = from_nicknames(known); !h.is_unknown()) return h;
  if (auto h = ring_.pick_peer_for_transfer(any); !h.is_unknown()) return h;
  return from_nicknames(any);
}

void Allocator::shutdown(TimePoint, mesh::GossipSender& out) {
  Scope scope(*this, out);
  log_.info("Shutdown");
  shutting_down_ = true;
  cancel_ops(pending_claims_);
  cancel_ops(pending_allocates_);
  cancel_ops(pending_primes_);
  auto heir = pick_peer_for_transfer();
  space_.clear();
  if (!heir.is_unknown()) {
    ring_.transfer(self_, heir);
    dirty_.ring = true;
    broadcast_state();
  }
}

void Allocator::peer_gone(PeerName peer) {
  if (!ring_.peer_names().count(peer) && peer != self_) nicknames_.erase(peer);
}

void Allocator::prune_nicknames() {
  auto in_ring = ring_.peer_names();
  for (auto it = nicknames_.begin(); it != nicknames_.end();) {
    if (it->first != self_ && !in_ring.count(it->first) && !mesh_.is_known(it->first)) {
      it = nicknames_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- timers

TimePoint Allocator::on_tick(TimePoint now, mesh::GossipSender& out) {
  Scope scope(*this, out);
  if (!shutting_down_) {
    if (awaiting_) {
      propose();
    } else if (have_pending_ops()) {
      if (ring_.empty()) {
        establish_ring();
      } else {
        try_pending_ops();
      }
    }
    remove_dead_containers(now);
  }
  finish_step();
  next_tick_ = now + kTickInterval;
  return next_tick_;
}

void Allocator::on_routes_changed(TimePoint, mesh::GossipSender& out) {
  if (shutting_down_ || awaiting_ || ring_.empty()) return;
  // NB: a claim retried while its owner is still unreachable would count a try towards failing
  // it; retry claims only once their owner can be reached. An allocation retry costs nothing.
  auto unblocked = [&](const Op& op) {
    if (!op.waiting_for_route) return false;
    return op.kind != OpKind::claim || mesh_.has_route(ring_.owner(op.cidr.addr()));
  };
  auto any = [&](const std::vector<Op>& ops) { return std::any_of(ops.begin(), ops.end(), unblocked); };
  if (!any(pending_claims_) && !any(pending_allocates_)) return;
  Scope scope(*this, out);
  for (auto* q : {&pending_claims_, &pending_allocates_}) {
    for (std::size_t i = 0; i < q->size();) {
      if (unblocked((*q)[i]) && try_op((*q)[i])) {
        q->erase(q->begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  finish_step();
}

// ---- ring life cycle

std::uint32_t Allocator::quorum() const {
  if (init_.consensus_peers) return *init_.consensus_peers / 2 + 1;
  return static_cast<std::uint32_t>((mesh_.direct_peer_count() + 1) / 2 + 1);
}

void Allocator::establish_ring() {
  if (!ring_.empty() || awaiting_ || !paxos_ || shutting_down_) return;
  awaiting_ = true;
  paxos_->set_quorum(quorum());
  propose();
  if (auto c = paxos_->consensus()) create_ring(c->value);
}

void Allocator::propose() {
  if (!paxos_) return;
  log_.debug("Paxos proposing");
  paxos_->propose();
  broadcast_state();
}

void Allocator::create_ring(const std::vector<PeerName>& peers) {
  auto normal = normalize_peers(peers);
  if (normal.empty()) {
    log_.warn("ignoring a consensus on no peers");
    return;
  }
  log_.info("Creating the IP allocation ring for {}", annotate(normal));
  ring_.claim_for_peers(normal);
  ring_updated();
  broadcast_state();
}

void Allocator::ring_updated() {
  if (awaiting_) {
    // With a ring we have no more use for paxos.
    awaiting_ = false;
    paxos_.reset();
  }
  dirty_.ring = true;
  auto dropped = space_.update_ranges(ring_.owned_ranges());
  for (auto a : dropped) log_.error("lost allocated address {} to a ring update", a);
  // Space we gain may hold addresses an ident already has (say, recorded before an rmpeer gave
  // us the range back): keep them out of the free pool.
  for (auto& [ident, d] : owned_) {
    for (auto& c : d.cidrs) {
      if (space_.is_free(c.addr())) (void)space_.claim(c.addr());
    }
  }
  if (!shutting_down_) try_pending_ops();
}

Result<void> Allocator::update(PeerName sender, ByteSpan payload) {
  WEFT_TRY(st, decode_gossip_state(payload));
  return apply_state(sender, st);
}

Result<void> Allocator::apply_state(PeerName sender, const GossipState& st) {
  // An unknown sender (tag 4, or ourselves) gets no direct answer.
  if (sender == self_) sender = PeerName{};
  const bool known_sender = !sender.is_unknown();
  // Both maps are ordered: one merging walk (a message names every peer, so at 1,000 peers a
  // lookup per name showed).
  auto it = nicknames_.begin();
  for (auto& [p, nick] : st.nicknames) {
    if (p == self_) continue;  // our own nickname is ours to say
    while (it != nicknames_.end() && it->first < p) ++it;
    if (it != nicknames_.end() && it->first == p) {
      if (it->second != nick) it->second = nick;
    } else if (nicknames_.size() < kMaxNicknames) {
      nicknames_.emplace_hint(it, p, nick);  // `it` stays the first name after p
    }
  }

  if (st.ring) {
    const auto& theirs = *st.ring;
    if (!theirs.seeds.empty() && !ring_.seeds().empty() && theirs.seeds != ring_.seeds()) {
      return make_error("IP allocation was seeded by different peers (received: {}, ours: {})",
                        annotate(theirs.seeds), annotate(ring_.seeds()));
    }
    if (theirs.range != ring_.range()) {
      return make_error("Incompatible IP allocation ranges (received: {}, ours: {})",
                        range_text(theirs.range), range_text(ring_.range()));
    }
    auto has_alloc = [this](const std::vector<Ipv4Range>& rs) {
      return space_.has_allocations(rs);
    };
    WEFT_TRY(updated, ring_.merge(theirs, has_alloc));
    if (updated) {
      prune_nicknames();
      ring_updated();
    }
  } else if (!ring_.empty()) {
    // An elector proposing or an observer asking: either way, tell them the ring.
    if (known_sender && !shutting_down_) send_ring_update(sender);
  } else if (st.paxos) {
    if (paxos_ && paxos_->is_elector()) {
      // NB: Weave thinks with quorum 0 until it starts consensus itself, which lets an idle peer
      // take the first accepted value it hears of; use our own quorum estimate instead.
      if (!awaiting_) paxos_->set_quorum(quorum());
      if (paxos_->update(*st.paxos)) {
        if (paxos_->think()) broadcast_state();
        if (auto c = paxos_->consensus()) create_ring(c->value);
      }
    }
  } else if (paxos_ && paxos_->is_elector() && known_sender) {
    // An observer asking for a ring that nobody has: start consensus on its behalf.
    establish_ring();
  }
  return {};
}

void Allocator::donate_space(Ipv4Range r, PeerName to) {
  if (auto chunk = space_.donate(r)) {
    log_.debug("Giving range {} to {}", *chunk, to);
    ring_.grant_range_to_host(*chunk, to);
    dirty_.ring = true;
    dirty_.before_sends = true;  // the broadcast below and the ring update leave after the write
    broadcast_state();
  } else {
    log_.debug("No space to give to peer {}", to);
    // A separate message: down-level peers ignore it and still get the ring update.
    out_->unicast(to, encode_space_request_denied(r));
  }
  // Always: it tells the requester what we gave it, or where else it might find space.
  send_ring_update(to);
}

void Allocator::space_request_denied(PeerName sender, Ipv4Range r) {
  for (std::size_t i = 0; i < pending_claims_.size();) {
    if (r.contains(pending_claims_[i].cidr.addr())) {
      denied_by(pending_claims_[i], sender);
      pending_claims_.erase(pending_claims_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void Allocator::report_free_space() {
  auto ranges = ring_.owned_ranges();
  if (ranges.empty()) return;
  std::map<std::uint64_t, std::uint32_t> free;
  for (auto& r : ranges) free[r.start()] = static_cast<std::uint32_t>(space_.num_free_in(r));
  if (ring_.report_free(std::move(free))) dirty_.ring = true;
}

void Allocator::finish_step() {
  if (!shutting_down_) report_free_space();
#ifndef NDEBUG
  auto r = check_invariants();
  WEFT_IPAM_CHECK(r.ok(), "allocator invariant: {}", r.ok() ? "" : r.error().message);
#endif
}

// ---- gossip

Bytes Allocator::encode_state(bool as_ring_update) const {
  // By reference: at 1,000 peers, copying every nickname for each message showed (issue 19).
  GossipStateRef s;
  s.now = wall_seconds_ ? wall_seconds_() : 0;
  s.nicknames = &nicknames_;
  std::optional<PaxosState> paxos;
  std::optional<WireRing> ring;
  if (ring_.empty()) {
    // Only electors gossip paxos (an empty map included); observers send nil to ask for a ring.
    if (paxos_) paxos = paxos_->gossip_state();
    if (paxos) s.paxos = &*paxos;
  } else {
    s.ring = &ring.emplace(ring_.to_wire());
  }
  return as_ring_update ? encode_ring_update(s) : encode_gossip_state(s);
}

void Allocator::broadcast_state() {
  WEFT_IPAM_CHECK(out_ != nullptr, "broadcast outside a call with a sender");
  out_->broadcast(encode_state(false));
}

void Allocator::send_ring_update(PeerName to) {
  WEFT_IPAM_CHECK(out_ != nullptr, "unicast outside a call with a sender");
  out_->unicast(to, encode_state(true));
}

std::vector<Bytes> Allocator::full_state(TimePoint) { return {encode_state(false)}; }

Result<std::optional<Bytes>> Allocator::on_gossip(TimePoint, PeerName, ByteSpan payload,
                                                  mesh::GossipSender& out) {
  Scope scope(*this, out);
  auto r = update(PeerName{}, payload);  // tag 4: the sender is treated as unknown
  finish_step();
  if (!r.ok()) return r.error();
  return std::optional<Bytes>{};
}

Result<std::optional<Bytes>> Allocator::on_broadcast(TimePoint, PeerName src, ByteSpan payload,
                                                     mesh::GossipSender& out) {
  Scope scope(*this, out);
  auto r = update(src, payload);
  finish_step();
  if (!r.ok()) return r.error();
  return std::optional<Bytes>(encode_state(false));
}

Result<void> Allocator::on_unicast(TimePoint, PeerName src, ByteSpan payload,
                                   mesh::GossipSender& out) {
  Scope scope(*this, out);
  auto msg = decode_unicast(payload);
  Result<void> r;
  if (!msg.ok()) {
    r = msg.error();
  } else {
    switch (msg->type) {
      case UnicastType::space_request:
        log_.debug("Peer {} asked me for space", src);
        // Without a ring, ignore it: they will ask again.
        if (!ring_.empty() && !shutting_down_ && src != self_ && !src.is_unknown())
          donate_space(msg->range, src);
        break;
      case UnicastType::space_request_denied:
        space_request_denied(src, msg->range);
        break;
      case UnicastType::ring_update:
        r = apply_state(src, msg->state);
        break;
    }
  }
  finish_step();
  return r;
}

// ---- persistence

void Allocator::clear_dirty(Dirty written) {
  if (written.ring) dirty_.ring = dirty_.before_sends = false;
  if (written.owned) dirty_.owned = false;
}

// ---- owned addresses

bool Allocator::has_owned_by_container(std::string_view ident) const {
  auto it = owned_.find(std::string(ident));
  return it != owned_.end() && it->second.is_container;
}

void Allocator::add_owned(const std::string& ident, Cidr cidr, bool is_container) {
  auto& d = owned_[ident];
  d.is_container = is_container;
  d.cidrs.push_back(cidr);
  dirty_.owned = true;
}

std::vector<Cidr> Allocator::remove_all_owned(std::string_view ident) {
  auto it = owned_.find(std::string(ident));
  if (it == owned_.end()) return {};
  auto cidrs = std::move(it->second.cidrs);
  owned_.erase(it);
  dirty_.owned = true;
  return cidrs;
}

bool Allocator::remove_owned(std::string_view ident, Ipv4 addr) {
  auto it = owned_.find(std::string(ident));
  if (it == owned_.end()) return false;
  auto& cs = it->second.cidrs;
  for (auto c = cs.begin(); c != cs.end(); ++c) {
    if (c->addr() == addr) {
      cs.erase(c);
      if (cs.empty()) owned_.erase(it);
      dirty_.owned = true;
      return true;
    }
  }
  return false;
}

std::string Allocator::find_owner(Ipv4 addr) const {
  for (auto& [ident, d] : owned_) {
    for (auto& c : d.cidrs) {
      if (c.addr() == addr) return ident;
    }
  }
  return {};
}

std::vector<Cidr> Allocator::owned_in_range(std::string_view ident, Ipv4Range r) const {
  std::vector<Cidr> out;
  auto it = owned_.find(std::string(ident));
  if (it == owned_.end()) return out;
  for (auto& c : it->second.cidrs) {
    if (r.contains(c.addr())) out.push_back(c);
  }
  return out;
}

// ---- naming

std::string Allocator::annotate(PeerName p) const {
  auto it = nicknames_.find(p);
  return it == nicknames_.end() ? p.str() : fmt::format("{}({})", p, it->second);
}

std::string Allocator::annotate(const std::vector<PeerName>& ps) const {
  std::string out = "[";
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (i) out += " ";
    out += annotate(ps[i]);
  }
  return out + "]";
}

bool Allocator::reachable(PeerName p) const {
  return p == self_ || (mesh_.is_known(p) && mesh_.has_route(p));
}

}  // namespace weft::ipam
