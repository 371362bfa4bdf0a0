#include "ipam_net.hpp"

#include <gtest/gtest.h>

#include "weft/ipam/ipam_codec.hpp"

namespace weft::test {

using ipam::Allocator;

std::optional<std::size_t> IpamNet::index_of(PeerName p) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->name == p) return i;
  }
  return std::nullopt;
}

bool IpamNet::connected(std::size_t i, std::size_t j) const {
  auto& a = *nodes_.at(i);
  auto& b = *nodes_.at(j);
  return i != j && a.alive && b.alive && a.group == b.group;
}

void IpamNet::heal() {
  for (auto& n : nodes_) n->group = 0;
}

bool IpamNet::View::is_known(PeerName p) const {
  auto j = net_.index_of(p);
  return j && net_.connected(self_, *j);
}
bool IpamNet::View::has_route(PeerName p) const { return is_known(p); }
std::vector<PeerName> IpamNet::View::peers() const {
  std::vector<PeerName> out;
  for (std::size_t j = 0; j < net_.nodes_.size(); ++j) {
    if (net_.connected(self_, j)) out.push_back(net_.nodes_[j]->name);
  }
  return out;
}

void IpamNet::Sender::unicast(PeerName dst, Bytes payload) {
  if (auto j = net_.index_of(dst)) net_.send(from_, *j, Tag::unicast, std::move(payload));
}
void IpamNet::Sender::broadcast(Bytes payload) {
  for (std::size_t j = 0; j < net_.nodes_.size(); ++j) {
    if (net_.connected(from_, j)) net_.send(from_, j, Tag::broadcast, payload);
  }
}
void IpamNet::Sender::gossip(Bytes payload) {
  for (std::size_t j = 0; j < net_.nodes_.size(); ++j) {
    if (net_.connected(from_, j)) net_.send(from_, j, Tag::gossip, payload);
  }
}

void IpamNet::send(std::size_t from, std::size_t to, Tag tag, Bytes payload) {
  if (!connected(from, to)) return;
  if (loss_ > 0 && rng_.unit() < loss_) return;
  queue_.push_back(Msg{from, to, tag, std::move(payload)});
}

std::size_t IpamNet::add(PeerName name, std::string nickname, Options opt) {
  auto n = std::make_unique<Node>();
  n->name = name;
  n->nickname = std::move(nickname);
  n->opt = std::move(opt);
  nodes_.push_back(std::move(n));
  start(nodes_.size() - 1);
  deliver();
  return nodes_.size() - 1;
}

void IpamNet::start(std::size_t i) {
  auto& n = *nodes_[i];
  n.rng = std::make_unique<SeededRandom>(rng_.next_u64());
  n.view = std::make_unique<View>(*this, i, n.opt.direct_peers);
  ipam::AllocatorConfig cfg;
  cfg.self = n.name;
  cfg.uid = rng_.next_u64() | 1;
  cfg.nickname = n.nickname;
  cfg.universe = universe_;
  cfg.init = n.opt.init;
  if (n.opt.restore && disk.count(n.name)) {
    auto& d = disk[n.name];
    ipam::PersistedState p;
    if (d.count("peername")) p.peer_name = ipam::decode_peer_name(d["peername"]).value();
    if (d.count("ring")) p.ring = ipam::decode_ring(d["ring"]).value();
    if (d.count("ownedAddresses")) p.owned = ipam::decode_owned(d["ownedAddresses"]).value();
    cfg.persisted = std::move(p);
  }
  auto a = Allocator::create(std::move(cfg), *n.view, *n.rng, null_logger());
  ASSERT_TRUE(a.ok()) << a.error().message;
  n.alloc = std::move(a).value();
  n.alive = true;
  call(i, [&](Allocator& al, mesh::GossipSender& s) { al.start(now_, s); });
}

void IpamNet::restart(std::size_t i) {
  auto& n = *nodes_.at(i);
  n.done.clear();
  n.opt.restore = true;
  // Messages to or from the old process are lost with its connections.
  std::erase_if(queue_, [&](const Msg& m) { return m.from == i || m.to == i; });
  start(i);
}

void IpamNet::kill(std::size_t i) {
  nodes_.at(i)->alive = false;
  std::erase_if(queue_, [&](const Msg& m) { return m.from == i || m.to == i; });
}

void IpamNet::after_call(std::size_t i) {
  if (group_commit && !nodes_[i]->alloc->dirty().before_sends) return;
  persist(i);
}

void IpamNet::persist(std::size_t i) {
  auto& n = *nodes_[i];
  auto d = n.alloc->dirty();
  auto& file = disk[n.name];
  if (d.ring) {
    file["peername"] = ipam::encode_peer_name(n.name);
    file["ring"] = n.alloc->encoded_ring();
  }
  if (d.owned) file["ownedAddresses"] = n.alloc->encoded_owned();
  n.alloc->clear_dirty(d);
  for (auto& c : n.alloc->take_completions()) n.done[c.id] = c;
}

ipam::RequestId IpamNet::allocate(std::size_t i, std::string ident, std::optional<Cidr> subnet) {
  return call(i, [&](Allocator& a, mesh::GossipSender& s) {
    return a.allocate(now_, std::move(ident), subnet.value_or(universe_), true, s);
  });
}

ipam::RequestId IpamNet::claim(std::size_t i, std::string ident, Cidr cidr,
                               bool no_error_on_unknown) {
  return call(i, [&](Allocator& a, mesh::GossipSender& s) {
    return a.claim(now_, std::move(ident), cidr, true, no_error_on_unknown, s);
  });
}

ipam::RequestId IpamNet::prime(std::size_t i) {
  return call(i, [&](Allocator& a, mesh::GossipSender& s) { return a.prime(now_, s); });
}

std::uint64_t IpamNet::rmpeer(std::size_t i, std::string_view who) {
  return call(i,
              [&](Allocator& a, mesh::GossipSender& s) { return a.admin_takeover(now_, who, s); });
}

void IpamNet::reset(std::size_t i) {
  call(i, [&](Allocator& a, mesh::GossipSender& s) { a.shutdown(now_, s); });
}

const ipam::Completion* IpamNet::completion(std::size_t i, ipam::RequestId id) const {
  auto& d = nodes_.at(i)->done;
  auto it = d.find(id);
  return it == d.end() ? nullptr : &it->second;
}

void IpamNet::deliver() {
  std::size_t budget = 2'000'000;
  while (!queue_.empty() && budget--) {
    auto m = std::move(queue_.front());
    queue_.pop_front();
    if (!connected(m.from, m.to)) continue;
    ++messages_delivered;
    auto src = nodes_[m.from]->name;
    Result<void> r;
    call(m.to, [&](Allocator& a, mesh::GossipSender& s) {
      switch (m.tag) {
        case Tag::gossip: {
          auto g = a.on_gossip(now_, src, m.payload, s);
          if (!g.ok()) r = g.error();
          break;
        }
        case Tag::broadcast: {
          auto b = a.on_broadcast(now_, src, m.payload, s);
          if (!b.ok()) r = b.error();
          break;
        }
        case Tag::unicast:
          r = a.on_unicast(now_, src, m.payload, s);
          break;
      }
    });
    if (!r.ok()) errors.emplace_back(m.to, r.error().message);
  }
  EXPECT_TRUE(queue_.empty()) << "message storm";
}

void IpamNet::gossip_round(std::size_t fanout) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->alive) continue;
    std::vector<std::size_t> peers;
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (connected(i, j)) peers.push_back(j);
    }
    for (std::size_t k = 0; k < fanout && !peers.empty(); ++k) {
      auto pick = rng_.uniform(peers.size());
      for (auto& payload : nodes_[i]->alloc->full_state(now_))
        send(i, peers[pick], Tag::gossip, payload);
      peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(pick));
    }
  }
  deliver();
}

void IpamNet::advance(Duration d) {
  auto end = now_ + d;
  while (now_ < end) {
    now_ += std::chrono::seconds(1);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i]->alive) continue;
      if (nodes_[i]->alloc->next_wake() <= now_) {
        call(i, [&](Allocator& a, mesh::GossipSender& s) { a.on_tick(now_, s); });
      }
    }
    deliver();
    if (now_ >= next_gossip_) {
      gossip_round();
      next_gossip_ = now_ + std::chrono::seconds(30);
    }
  }
}

}  // namespace weft::test
