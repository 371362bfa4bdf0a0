// Deterministic simulation of many Topology cores gossiping over an in-memory network with seeded
// message loss, link flaps, peer restarts and partitions (house style R10). After healing, every
// peer must hold the same topology view, and the routes each peer computes from it must agree
// with a slow, independent reference model: shortest paths from Floyd–Warshall for unicast, and
// exactly-once delivery when a broadcast is flooded along everyone's broadcast next hops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/mesh/routes.hpp"
#include "weft/mesh/topology.hpp"

namespace weft::mesh {
namespace {

struct SimParams {
  int peers = 25;
  int extra_links = 20;  ///< chords added to a ring
  int chaos_steps = 60;
  int max_heal_steps = 300;
  double loss_chaos = 0.2;  ///< message loss while the network misbehaves
  double loss_heal = 0.1;
  double flap_prob = 0.3;        ///< per step: one link goes down for a few steps
  double restart_prob = 0.04;    ///< per step: one peer restarts (new UID, version 0)
  double partition_prob = 0.05;  ///< per step, when none active: split the network in two
  int short_id_range = 8;        ///< initial ShortIDs come from [0, range): force collisions
};

struct SimStats {
  std::uint64_t messages = 0;
  std::uint64_t gc_removed = 0;
  std::uint64_t restarts = 0;
  std::uint64_t partitions = 0;
  std::uint64_t self_bumps_from_gossip = 0;
  int heal_steps = 0;
};

enum class LinkKind { full, never, half };

struct SimLink {
  int a = 0;  ///< a < b, indices into peers
  int b = 0;
  LinkKind kind = LinkKind::full;
  bool half_side_a = true;  ///< for `half`: the side that marks the connection established
  bool up = false;
  std::uint64_t epoch = 0;  ///< bumped on every up: messages of a dead connection are dropped
  int outage_until = -1;
  int est_at_a = -1;  ///< step at which a marks established; -1: not scheduled
  int est_at_b = -1;
  bool est_a = false;  ///< ground truth of each side's established flag
  bool est_b = false;
};

struct SimPeer {
  PeerIdentity id;
  std::unique_ptr<SeededRandom> rng;  ///< outlives topo (Topology keeps a reference)
  std::unique_ptr<Topology> topo;
  std::optional<RouteTable> routes;
  bool routes_dirty = true;
  bool self_dirty = false;
  int down_until = -1;  ///< restarting: all links down until this step
};

struct Msg {
  int from = 0;
  int to = 0;
  int link = 0;
  std::uint64_t epoch = 0;
  std::shared_ptr<const std::vector<PeerSummary>> update;  ///< shared by all copies of one send
};

using Update = std::shared_ptr<const std::vector<PeerSummary>>;
Update share(std::vector<PeerSummary> v) {
  return std::make_shared<const std::vector<PeerSummary>>(std::move(v));
}

class Sim {
 public:
  Sim(std::uint64_t seed, SimParams p) : p_(p), rng_(seed) {
    std::set<std::uint64_t> used;
    for (int i = 0; i < p_.peers; ++i) {
      SimPeer peer;
      std::uint64_t name;
      do {
        name = PeerName::random(rng_).value();
      } while (!used.insert(name).second);
      peer.id.name = PeerName(name);
      peer.id.nickname = "host" + std::to_string(i);
      peer.rng = std::make_unique<SeededRandom>(rng_.next_u64());
      index_[peer.id.name] = i;
      peers_.push_back(std::move(peer));
      incarnate(i);
    }
    // A ring keeps the base graph connected; chords add alternative paths and ties.
    std::set<std::pair<int, int>> edges;
    for (int i = 0; i < p_.peers; ++i) {
      edges.insert(std::minmax(i, (i + 1) % p_.peers));
    }
    for (int k = 0; k < p_.extra_links; ++k) {
      int a = static_cast<int>(rng_.uniform(p_.peers));
      int b = static_cast<int>(rng_.uniform(p_.peers));
      if (a != b) {
        edges.insert(std::minmax(a, b));
      }
    }
    for (auto [a, b] : edges) {
      SimLink l;
      l.a = a;
      l.b = b;
      auto r = rng_.uniform(20);
      l.kind = r < 15 ? LinkKind::full : (r < 17 ? LinkKind::never : LinkKind::half);
      l.half_side_a = rng_.uniform(2) == 0;
      links_.push_back(l);
    }
    for (std::size_t i = 0; i < links_.size(); ++i) {
      link_index_[{links_[i].a, links_[i].b}] = static_cast<int>(i);
    }
  }

  const SimStats& stats() const { return stats_; }
  const std::vector<SimPeer>& peers() const { return peers_; }
  const std::vector<SimLink>& links() const { return links_; }

  /// Network misbehaviour, then healing until every view agrees. Returns false (with gtest
  /// failures recorded) if the views never converge.
  bool run() {
    for (int s = 0; s < p_.chaos_steps; ++s) {
      chaos();
      step(p_.loss_chaos);
      if (::testing::Test::HasFatalFailure()) {
        return false;
      }
    }
    heal();
    for (int s = 0; s < p_.max_heal_steps; ++s) {
      step(p_.loss_heal);
      if (::testing::Test::HasFatalFailure()) {
        return false;
      }
      if (settled() && converged()) {
        stats_.heal_steps = s + 1;
        return true;
      }
    }
    ADD_FAILURE() << "no convergence after " << p_.max_heal_steps << " healing steps";
    return false;
  }

  /// A few quiet steps more: a converged mesh must not churn.
  void run_quiet(int steps) {
    for (int s = 0; s < steps; ++s) {
      step(0.0);
    }
  }

  bool settled() const {
    if (!pending_restart_.empty()) {
      return false;
    }
    for (const auto& l : links_) {
      if (!l.up || l.est_at_a >= 0 || l.est_at_b >= 0) {
        return false;
      }
    }
    return true;
  }

  bool converged() const {
    const auto reference = peers_[0].topo->all_summaries();
    for (const auto& p : peers_) {
      if (p.topo->all_summaries() != reference) {
        return false;
      }
    }
    return true;
  }

 private:
  void incarnate(int i) {
    auto& p = peers_[i];
    std::uint64_t uid;
    do {
      uid = rng_.next_u64();
    } while (uid == 0);
    p.id.uid = uid;
    p.id.short_id = ShortID::from_uint(rng_.uniform(p_.short_id_range));
    p.topo = std::make_unique<Topology>(p.id, *p.rng);
    p.routes.reset();
    p.routes_dirty = true;
    p.self_dirty = false;
  }

  bool link_allowed(const SimLink& l) const {
    if (l.outage_until > now_ || peers_[l.a].down_until > now_ || peers_[l.b].down_until > now_) {
      return false;
    }
    return !(partition_until_ > now_ && side_[l.a] != side_[l.b]);
  }

  void chaos() {
    if (rng_.unit() < p_.flap_prob) {
      auto& l = links_[rng_.uniform(links_.size())];
      l.outage_until = now_ + 1 + static_cast<int>(rng_.uniform(6));
    }
    if (rng_.unit() < p_.restart_prob) {
      auto i = static_cast<int>(rng_.uniform(peers_.size()));
      if (peers_[i].down_until <= now_) {
        peers_[i].down_until = now_ + 2;
        pending_restart_.push_back({now_ + 1, i});
        ++stats_.restarts;
      }
    }
    if (partition_until_ <= now_ && rng_.unit() < p_.partition_prob) {
      side_.assign(peers_.size(), 0);
      for (auto& s : side_) {
        s = static_cast<int>(rng_.uniform(2));
      }
      side_[0] = 0;
      side_[1] = 1;  // both sides non-empty
      partition_until_ = now_ + 8 + static_cast<int>(rng_.uniform(13));
      ++stats_.partitions;
    }
  }

  void heal() {
    partition_until_ = -1;
    for (auto& l : links_) {
      l.outage_until = -1;
    }
    // NB: a restart already under way completes by itself within two steps.
  }

  RouteTable& routes_of(int i) {
    auto& p = peers_[i];
    if (p.routes_dirty || !p.routes) {
      p.routes.emplace(compute_routes(*p.topo, p.id.name));
      p.routes_dirty = false;
    }
    return *p.routes;
  }

  int index_of(PeerName name) const {
    auto it = index_.find(name);
    return it == index_.end() ? -1 : it->second;
  }

  void send(int from, int to, Update update) {
    auto it = link_index_.find(std::minmax(from, to));
    if (it == link_index_.end() || !links_[it->second].up) {
      return;  // no such connection (stale route): the shell would find no connection either
    }
    next_.push_back(Msg{from, to, it->second, links_[it->second].epoch, std::move(update)});
  }

  void gossip_to_neighbours(int from, PeerName except, const Update& update) {
    auto& p = peers_[from];
    for (auto n : routes_of(from).random_neighbours(except, *p.rng)) {
      auto to = index_of(n);
      ASSERT_GE(to, 0) << "gossip neighbour " << n.str() << " is not a sim peer";
      send(from, to, update);
    }
  }

  void check(const Topology& t) {
    auto r = t.check_invariants();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  void link_up(SimLink& l) {
    l.up = true;
    ++l.epoch;
    l.est_a = l.est_b = false;
    auto delay = [&] { return now_ + 1 + static_cast<int>(rng_.uniform(3)); };
    l.est_at_a =
        (l.kind == LinkKind::full || (l.kind == LinkKind::half && l.half_side_a)) ? delay() : -1;
    l.est_at_b =
        (l.kind == LinkKind::full || (l.kind == LinkKind::half && !l.half_side_a)) ? delay() : -1;
    auto& a = peers_[l.a];
    auto& b = peers_[l.b];
    auto ident = [](const SimPeer& p) {
      return PeerIdentity{p.id.name, p.id.nickname, p.id.uid,
                          ShortID::from_uint(p.topo->self().short_id)};
    };
    auto ra = a.topo->add_connection(ident(b), "10.0.0." + std::to_string(l.b) + ":6783", true);
    auto rb = b.topo->add_connection(ident(a), "10.0.0." + std::to_string(l.a) + ":41000", false);
    ASSERT_TRUE(ra.ok()) << ra.error().message;
    ASSERT_TRUE(rb.ok()) << rb.error().message;
    for (auto* p : {&a, &b}) {
      p->routes_dirty = true;
      p->self_dirty = true;
      check(*p->topo);
    }
    // Complete state goes down every new connection (§2.6), both ways.
    send(l.a, l.b, share(a.topo->all_summaries()));
    send(l.b, l.a, share(b.topo->all_summaries()));
  }

  void link_down(SimLink& l) {
    l.up = false;
    l.est_at_a = l.est_at_b = -1;
    l.est_a = l.est_b = false;
    for (auto [self, other] : {std::pair{l.a, l.b}, std::pair{l.b, l.a}}) {
      auto& p = peers_[self];
      auto r = p.topo->remove_connection(peers_[other].id.name);
      ASSERT_TRUE(r.ok()) << r.error().message;
      p.routes_dirty = true;
      p.self_dirty = true;
    }
  }

  void step(double loss) {
    ++now_;
    // Restarts: a fresh incarnation with the same name, new UID, version 0.
    for (auto it = pending_restart_.begin(); it != pending_restart_.end();) {
      if (it->first <= now_ && std::none_of(links_.begin(), links_.end(), [&](const SimLink& l) {
            return l.up && (l.a == it->second || l.b == it->second);
          })) {
        incarnate(it->second);
        it = pending_restart_.erase(it);
      } else {
        ++it;
      }
    }
    // Connections follow the network.
    for (auto& l : links_) {
      bool allowed = link_allowed(l);
      bool restarting = std::any_of(pending_restart_.begin(), pending_restart_.end(),
                                    [&](auto& r) { return r.second == l.a || r.second == l.b; });
      if (l.up && (!allowed || restarting)) {
        link_down(l);
      } else if (!l.up && allowed && !restarting) {
        link_up(l);
      }
      if (::testing::Test::HasFatalFailure()) {
        return;
      }
    }
    // Overlay heartbeats complete.
    for (auto& l : links_) {
      for (auto [at, self, other, flag] : {std::tuple{&l.est_at_a, l.a, l.b, &l.est_a},
                                           std::tuple{&l.est_at_b, l.b, l.a, &l.est_b}}) {
        if (l.up && *at >= 0 && *at <= now_) {
          *at = -1;
          *flag = true;
          auto& p = peers_[self];
          auto r = p.topo->mark_established(peers_[other].id.name);
          ASSERT_TRUE(r.ok()) << r.error().message;
          p.routes_dirty = true;
          p.self_dirty = p.self_dirty || r->local_version_bumped;
        }
      }
    }
    // Deliver what was sent last step.
    inflight_.swap(next_);
    next_.clear();
    for (auto& m : inflight_) {
      const auto& l = links_[m.link];
      if (!l.up || l.epoch != m.epoch || rng_.unit() < loss) {
        continue;
      }
      ++stats_.messages;
      auto& p = peers_[m.to];
      auto r = p.topo->apply_update(*m.update);
      ASSERT_TRUE(r.ok()) << r.error().message;
      check(*p.topo);
      if (r->local_version_bumped) {
        p.self_dirty = true;
        ++stats_.self_bumps_from_gossip;
      }
      if (!r->improved.empty()) {
        p.routes_dirty = true;
        // Relay only what was new to us, to random neighbours other than the sender.
        gossip_to_neighbours(m.to, peers_[m.from].id.name,
                             share(p.topo->summaries(r->improved, false)));
      }
    }
    inflight_.clear();
    // The GC timer fires, local changes are announced, periodic gossip goes out.
    for (int i = 0; i < static_cast<int>(peers_.size()); ++i) {
      auto& p = peers_[i];
      auto gc = p.topo->garbage_collect();
      check(*p.topo);
      stats_.gc_removed += gc.removed.size();
      if (!gc.removed.empty()) {
        p.routes_dirty = true;
      }
      if (gc.local_version_bumped) {
        p.self_dirty = true;
      }
      if (p.self_dirty) {
        p.self_dirty = false;
        gossip_to_neighbours(i, PeerName{}, share(p.topo->summaries({})));
      }
      gossip_to_neighbours(i, PeerName{}, share(p.topo->all_summaries()));
    }
  }

  SimParams p_;
  SeededRandom rng_;
  std::vector<SimPeer> peers_;
  std::vector<SimLink> links_;
  std::map<std::pair<int, int>, int> link_index_;
  std::map<PeerName, int> index_;
  std::vector<Msg> inflight_;
  std::vector<Msg> next_;
  std::vector<std::pair<int, int>> pending_restart_;  ///< (step, peer)
  std::vector<int> side_;
  int partition_until_ = -1;
  int now_ = 0;
  SimStats stats_;
};

// ---- the reference model: adjacency matrices, Floyd–Warshall, flooding ----

constexpr int kInf = 1 << 20;

struct Reference {
  int n = 0;
  std::vector<std::vector<bool>> adj;
  std::vector<std::vector<int>> dist;

  Reference(int peers, const std::vector<SimLink>& links, bool est_sym) : n(peers) {
    adj.assign(n, std::vector<bool>(n, false));
    for (const auto& l : links) {
      if (l.up && (!est_sym || (l.est_a && l.est_b))) {
        adj[l.a][l.b] = adj[l.b][l.a] = true;
      }
    }
    dist.assign(n, std::vector<int>(n, kInf));
    for (int i = 0; i < n; ++i) {
      dist[i][i] = 0;
      for (int j = 0; j < n; ++j) {
        if (adj[i][j]) {
          dist[i][j] = 1;
        }
      }
    }
    for (int k = 0; k < n; ++k) {
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          dist[i][j] = std::min(dist[i][j], dist[i][k] + dist[k][j]);
        }
      }
    }
  }
  bool reachable(int i, int j) const { return dist[i][j] < kInf; }
};

void check_routes_against_reference(const Sim& sim) {
  const auto& peers = sim.peers();
  const int n = static_cast<int>(peers.size());
  std::map<PeerName, int> index;
  for (int i = 0; i < n; ++i) {
    index[peers[i].id.name] = i;
  }
  std::vector<RouteTable> tables;
  for (const auto& p : peers) {
    tables.push_back(compute_routes(*p.topo, p.id.name));
  }

  for (bool est_sym : {true, false}) {
    SCOPED_TRACE(est_sym ? "established+symmetric" : "all connections");
    Reference ref(n, sim.links(), est_sym);

    // Unicast: reachability agrees and every next hop is a neighbour one step closer.
    for (int i = 0; i < n; ++i) {
      const auto& table = est_sym ? tables[i].unicast_table() : tables[i].unicast_all_table();
      for (int j = 0; j < n; ++j) {
        auto hop =
            est_sym ? tables[i].unicast(peers[j].id.name) : tables[i].unicast_all(peers[j].id.name);
        ASSERT_EQ(hop.has_value(), ref.reachable(i, j)) << i << " -> " << j;
        if (!hop || i == j) {
          if (i == j) {
            EXPECT_EQ(*hop, PeerName{});
          }
          continue;
        }
        ASSERT_TRUE(index.contains(*hop));
        int h = index.at(*hop);
        EXPECT_TRUE(ref.adj[i][h]) << i << " -> " << j << " via non-neighbour " << h;
        EXPECT_EQ(ref.dist[h][j], ref.dist[i][j] - 1) << i << " -> " << j << " via " << h;
      }
      EXPECT_LE(table.size(), static_cast<std::size_t>(n));
    }

    // Broadcast: flood from every source along each peer's own next hops.
    for (int s = 0; s < n; ++s) {
      std::vector<int> copies(n, 0);
      std::deque<int> holders{s};
      int sends = 0;
      while (!holders.empty()) {
        int x = holders.front();
        holders.pop_front();
        auto hops = est_sym ? tables[x].broadcast(peers[s].id.name)
                            : tables[x].broadcast_all(peers[s].id.name);
        for (auto h : hops) {
          ASSERT_TRUE(index.contains(h));
          int y = index.at(h);
          ASSERT_TRUE(ref.adj[x][y])
              << "broadcast from " << s << ": " << x << " -> " << y << " is not a usable link";
          ASSERT_LT(++sends, n * n) << "broadcast from " << s << " loops";
          if (++copies[y] == 1) {
            holders.push_back(y);
          }
        }
      }
      for (int q = 0; q < n; ++q) {
        int expected = (q != s && ref.reachable(s, q)) ? 1 : 0;
        EXPECT_EQ(copies[q], expected) << "broadcast from " << s << " delivered to " << q;
      }
    }

    // Gossip fan-out stays within our neighbours.
    if (!est_sym) {
      SeededRandom rng(1);
      for (int i = 0; i < n; ++i) {
        auto picks = tables[i].random_neighbours(PeerName{}, rng);
        int degree = 0;
        for (int j = 0; j < n; ++j) {
          degree += ref.adj[i][j] ? 1 : 0;
        }
        EXPECT_LE(picks.size(), static_cast<std::size_t>(degree));
        EXPECT_EQ(picks.empty(), degree == 0);
        for (auto pk : picks) {
          EXPECT_TRUE(ref.adj[i][index.at(pk)]);
        }
      }
    }
  }
}

void check_converged_view(const Sim& sim) {
  const auto& peers = sim.peers();
  const auto view = peers[0].topo->all_summaries();
  // Exactly the live peers, no placeholders or stale names left.
  ASSERT_EQ(view.size(), peers.size());
  std::set<std::uint16_t> short_ids;
  for (const auto& s : view) {
    auto it = std::find_if(peers.begin(), peers.end(),
                           [&](const SimPeer& p) { return p.id.name == s.name; });
    ASSERT_NE(it, peers.end());
    EXPECT_EQ(s.uid, it->id.uid) << "a stale incarnation of " << s.name.str() << " survived";
    EXPECT_TRUE(s.has_short_id);
    short_ids.insert(s.short_id);
  }
  // Collisions were all resolved (lower names keep their id, the others moved).
  EXPECT_EQ(short_ids.size(), peers.size());
  // Each peer's gossiped connections are the ground truth.
  for (const auto& l : sim.links()) {
    for (auto [self, other, est] : {std::tuple{l.a, l.b, l.est_a}, std::tuple{l.b, l.a, l.est_b}}) {
      const PeerName self_name = peers[self].id.name;
      const PeerName other_name = peers[other].id.name;
      auto it = std::find_if(view.begin(), view.end(),
                             [&](const PeerSummary& s) { return s.name == self_name; });
      auto c = std::find_if(it->connections.begin(), it->connections.end(),
                            [&](const ConnectionSummary& cs) { return cs.name == other_name; });
      ASSERT_NE(c, it->connections.end());
      EXPECT_EQ(c->established, est);
      EXPECT_EQ(c->outbound, self == l.a);
    }
  }
}

TEST(MeshTopologySim, ConvergesAndRoutesMatchReferenceAfterHealing) {
  constexpr int kSeeds = 20;
  SimStats total;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimParams p;
    p.peers = 25 + seed % 6;
    Sim sim(static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ull, p);
    ASSERT_TRUE(sim.run());
    check_converged_view(sim);
    check_routes_against_reference(sim);
    sim.run_quiet(3);
    EXPECT_TRUE(sim.converged()) << "views diverged again without any change";
    const auto& s = sim.stats();
    total.messages += s.messages;
    total.gc_removed += s.gc_removed;
    total.restarts += s.restarts;
    total.partitions += s.partitions;
    total.self_bumps_from_gossip += s.self_bumps_from_gossip;
    total.heal_steps = std::max(total.heal_steps, s.heal_steps);
  }
  // The scenarios did exercise what they are meant to.
  EXPECT_GT(total.partitions, 0u);
  EXPECT_GT(total.restarts, 0u);
  EXPECT_GT(total.gc_removed, 0u);
  EXPECT_GT(total.self_bumps_from_gossip, 0u);
  std::printf(
      "sim: %llu messages, %llu partitions, %llu restarts, %llu GC removals, %llu self "
      "bumps from gossip, worst healing %d steps\n",
      static_cast<unsigned long long>(total.messages),
      static_cast<unsigned long long>(total.partitions),
      static_cast<unsigned long long>(total.restarts),
      static_cast<unsigned long long>(total.gc_removed),
      static_cast<unsigned long long>(total.self_bumps_from_gossip), total.heal_steps);
}

TEST(MeshTopologySim, SameSeedSameOutcome) {
  SimParams p;
  p.chaos_steps = 30;
  Sim a(77, p);
  Sim b(77, p);
  ASSERT_TRUE(a.run());
  ASSERT_TRUE(b.run());
  EXPECT_EQ(a.peers()[0].topo->all_summaries(), b.peers()[0].topo->all_summaries());
  EXPECT_EQ(a.stats().messages, b.stats().messages);
  EXPECT_EQ(a.stats().heal_steps, b.stats().heal_steps);
}

}  // namespace
}  // namespace weft::mesh
