#include "weft/mesh/routes.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace weft::mesh {

// ---- TopologyView ----

TopologyView::TopologyView(const Topology& topology) {
  links_.reserve(topology.peers().size());
  for (const auto& [name, peer] : topology.peers()) {
    auto& out = links_[name];
    out.reserve(peer.connections.size());
    // NB: PeerEntry::connections is a std::map, so `out` comes out sorted by remote.
    for (const auto& [remote, conn] : peer.connections) {
      out.push_back(Link{remote, conn.established});
    }
  }
}

void TopologyView::add_peer(PeerName name) { links_.try_emplace(name); }

void TopologyView::add_link(PeerName from, PeerName to, bool established) {
  add_peer(to);
  auto& v = links_[from];
  auto it = std::lower_bound(v.begin(), v.end(), to,
                             [](const Link& l, PeerName n) { return l.remote < n; });
  if (it != v.end() && it->remote == to) {
    it->established = established;
  } else {
    v.insert(it, Link{to, established});
  }
}

std::span<const TopologyView::Link> TopologyView::links(PeerName name) const {
  auto it = links_.find(name);
  if (it == links_.end()) {
    return {};
  }
  return it->second;
}

const TopologyView::Link* TopologyView::link(PeerName from, PeerName to) const {
  auto ls = links(from);
  auto it = std::lower_bound(ls.begin(), ls.end(), to,
                             [](const Link& l, PeerName n) { return l.remote < n; });
  if (it == ls.end() || it->remote != to) {
    return nullptr;
  }
  return &*it;
}

// ---- BFS ----

namespace {

/// mesh's forEachConnectedPeer: the remotes of `peer` usable under `est_sym`, not in `exclude`.
template <typename F>
void for_each_connected_peer(const TopologyView& view, PeerName peer, bool est_sym,
                             const std::unordered_map<PeerName, PeerName>& exclude, F&& f) {
  for (const auto& l : view.links(peer)) {
    if (est_sym && !l.established) {
      continue;
    }
    if (exclude.contains(l.remote)) {
      continue;
    }
    if (est_sym) {
      const auto* back = view.link(l.remote, peer);
      if (back == nullptr || !back->established) {
        continue;
      }
    }
    f(l.remote);
  }
}

}  // namespace

BfsRoutes routes(const TopologyView& view, PeerName from, std::optional<PeerName> stop_at,
                 bool est_sym) {
  BfsRoutes out;
  auto& hops = out.next_hop;
  hops.emplace(from, PeerName{});
  std::vector<PeerName> next{from};
  std::vector<PeerName> work;
  while (!next.empty()) {
    work.swap(next);
    next.clear();
    std::sort(work.begin(), work.end());
    for (auto cur : work) {
      if (stop_at && cur == *stop_at) {
        out.found = true;
        return out;
      }
      // Every remote first reached from `cur` is routed the way `cur` is, or directly when `cur`
      // is the origin.
      for_each_connected_peer(view, cur, est_sym, hops, [&](PeerName remote) {
        next.push_back(remote);
        hops.emplace(remote, cur == from ? remote : hops.at(cur));
      });
    }
  }
  return out;
}

std::vector<PeerName> broadcast_next_hops(const TopologyView& view, PeerName self, PeerName src,
                                          bool est_sym) {
  std::vector<PeerName> out;
  if (!view.contains(src)) {
    return out;
  }
  auto r = routes(view, src, self, est_sym);
  if (!r.found) {
    return out;
  }
  for_each_connected_peer(view, self, est_sym, r.next_hop,
                          [&](PeerName remote) { out.push_back(remote); });
  // links() is ascending, so `out` already is.
  return out;
}

// ---- RouteTable ----

RouteTable::RouteTable(std::shared_ptr<const TopologyView> view, PeerName self)
    : view_(std::move(view)), self_(self) {
  unicast_ = routes(*view_, self_, std::nullopt, true).next_hop;
  unicast_all_ = routes(*view_, self_, std::nullopt, false).next_hop;
}

std::optional<PeerName> RouteTable::unicast(PeerName dst) const {
  auto it = unicast_.find(dst);
  if (it == unicast_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<PeerName> RouteTable::unicast_all(PeerName dst) const {
  auto it = unicast_all_.find(dst);
  if (it == unicast_all_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<PeerName> RouteTable::broadcast(PeerName src) const {
  auto it = broadcast_.find(src);
  if (it == broadcast_.end()) {
    it = broadcast_.emplace(src, broadcast_next_hops(*view_, self_, src, true)).first;
  }
  return it->second;
}

std::vector<PeerName> RouteTable::broadcast_all(PeerName src) const {
  auto it = broadcast_all_.find(src);
  if (it == broadcast_all_.end()) {
    it = broadcast_all_.emplace(src, broadcast_next_hops(*view_, self_, src, false)).first;
  }
  return it->second;
}

std::vector<PeerName> RouteTable::random_neighbours(PeerName except, Random& rng) const {
  // Weight of a neighbour = how many destinations we reach through it; ordered for determinism.
  if (!weights_) {
    std::map<PeerName, std::uint64_t> w;
    for (const auto& [dst, hop] : unicast_all_) {
      if (!hop.is_unknown()) {
        ++w[hop];
      }
    }
    weights_.emplace(w.begin(), w.end());
  }
  std::vector<std::pair<PeerName, std::uint64_t>> pool;
  pool.reserve(weights_->size());
  for (const auto& e : *weights_) {
    if (e.first != except) {
      pool.push_back(e);
    }
  }
  // floor(2·log2(n)) computed exactly as floor(log2(n²)).
  const std::uint64_t n = unicast_all_.size();
  std::uint64_t count = 0;
  if (n > 1) {
    const std::uint64_t sq = n < (std::uint64_t{1} << 32) ? n * n : ~std::uint64_t{0};
    count = static_cast<std::uint64_t>(std::bit_width(sq)) - 1;
  }
  count = std::min<std::uint64_t>(count, pool.size());

  std::uint64_t total = 0;
  for (const auto& [name, w] : pool) {
    total += w;
  }
  std::vector<PeerName> out;
  out.reserve(count);
  while (out.size() < count) {
    auto pick = rng.uniform(total);
    std::size_t i = 0;
    while (pick >= pool[i].second) {
      pick -= pool[i].second;
      ++i;
    }
    out.push_back(pool[i].first);
    total -= pool[i].second;
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
  }
  std::sort(out.begin(), out.end());
  return out;
}

RouteTable compute_routes(std::shared_ptr<const TopologyView> view, PeerName self) {
  return RouteTable(std::move(view), self);
}

RouteTable compute_routes(const Topology& topology, PeerName self) {
  return RouteTable(std::make_shared<const TopologyView>(topology), self);
}

}  // namespace weft::mesh
