// The scale simulation (issue 19): up to 1,000 real MeshCores, each with a real IPAM Allocator on
// its "IPallocation" channel, over MeshSim's in-memory connections. Deterministic for a seed.
//
//   * partial meshes: each joining peer connects to 3 random live peers with fewer than
//     kConnLimit connections (a --conn-limit-style mesh; discovery is not simulated);
//   * joins in waves, then churn (5% leave, 10% join) under 2% message loss, then a partition of
//     the live peers into two halves, which heals;
//   * after each phase: every live peer knows exactly the peers of its component at the versions
//     they hold themselves, unicast next hops lie on shortest paths of the true graph, and
//     broadcasts from sampled sources reach every peer of the component exactly once;
//   * IPAM: 20 seeds own the ring; peers allocate during the run (both sides of the partition
//     too); no address is ever handed out twice, every address lies in a range its peer owns,
//     and after healing every live ring is identical and valid;
//   * measured and bounded: gossip bytes per peer per minute in steady state (by channel) and
//     memory per peer (heap bytes held by the cores, measured with the allocator's counters).
//
// Peer count: WEFT_SCALE_PEERS, default 1,000, or 100 in sanitizer builds (the CI build: ASan
// makes each core several times slower and heavier). Gossip: WEFT_SCALE_GOSSIP = weave (no peer
// offers topology digests: Weave's periodic full state everywhere), weft (every peer does) or
// mixed (the default: every fifth peer is a Weave peer). scripts/bench-scale runs the release
// build at 100, 250, 500 and 1,000 peers, weave and weft, and prints the growth. One line
// "SCALE key=value ..." goes to stdout.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <queue>
#include <string_view>

#include "mesh_sim.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/ipam/mesh_view.hpp"
#include "weft/mesh/topology_sync.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_SCALE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WEFT_SCALE_ASAN 1
#endif
#ifdef WEFT_SCALE_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace weft::mesh {
namespace {

using test::MeshSim;
using namespace std::chrono_literals;

constexpr std::size_t kConnLimit = 8;
constexpr std::size_t kDialsPerJoin = 3;
constexpr std::size_t kSeeds = 20;
const Cidr kUniverse = *Cidr::parse("10.32.0.0/12");

std::size_t heap_bytes() {
#ifdef WEFT_SCALE_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

std::size_t peer_count() {
  if (const char* e = std::getenv("WEFT_SCALE_PEERS")) return std::max<std::size_t>(20, std::strtoul(e, nullptr, 10));
#ifdef WEFT_SCALE_ASAN
  return 100;
#else
  return 1000;
#endif
}

enum class Gossip { weave, weft, mixed };

Gossip gossip_mode() {
  std::string_view e = std::getenv("WEFT_SCALE_GOSSIP") ? std::getenv("WEFT_SCALE_GOSSIP") : "mixed";
  if (e == "weave") return Gossip::weave;
  if (e == "weft") return Gossip::weft;
  return Gossip::mixed;
}
const char* gossip_name(Gossip g) { return g == Gossip::weave ? "weave" : g == Gossip::weft ? "weft" : "mixed"; }

PeerName P(std::size_t i) { return PeerName(0x020000000000ull + 0x1000000ull * (i % 5) + i); }

enum class Chan { topology, ipam, other };

std::string_view head_of(const ProtocolMessage& m) {
  // The envelope is gob: the channel name is the first value, within the first bytes.
  return {reinterpret_cast<const char*>(m.payload.data()), std::min<std::size_t>(m.payload.size(), 32)};
}

Chan channel_of(const ProtocolMessage& m) {
  auto head = head_of(m);  // NB: the weft sync channel's name contains "topology" too
  if (head.find("topology") != std::string_view::npos) return Chan::topology;
  if (head.find("IPallocation") != std::string_view::npos) return Chan::ipam;
  return Chan::other;
}

class ScaleSim {
 public:
  ScaleSim(std::uint64_t seed, Gossip mode) : mode_(mode), sim_(seed), rng_(seed * 31 + 7) {
    sim_.on_deliver = [this](std::size_t, std::size_t to, const ProtocolMessage& m) {
      auto b = m.payload.size() + 1;
      if (!weft_[to] && head_of(m).find(kTopologySyncChannel) != std::string_view::npos) ++sync_to_weave_;
      auto c = static_cast<int>(channel_of(m));
      rx_bytes_[to][c] += b;
      msgs_[c][static_cast<int>(m.tag)]++;
    };
  }

  std::size_t add_peer() {
    sim_.weft_gossip = mode_ == Gossip::weft || (mode_ == Gossip::mixed && sim_.size() % 5 != 4);
    weft_.push_back(sim_.weft_gossip);
    auto i = sim_.add_node(P(sim_.size()));
    rx_bytes_.emplace_back();
    views_.push_back(std::make_unique<ipam::MeshCoreView>(sim_.core(i), [] { return std::size_t{1}; }));
    rngs_.push_back(std::make_unique<SeededRandom>(rng_.next_u64()));
    ipam::AllocatorConfig cfg;
    cfg.self = sim_.core(i).self_name();
    cfg.uid = sim_.core(i).topology().self().uid;
    cfg.nickname = sim_.core(i).topology().self().nickname;
    cfg.universe = kUniverse;
    cfg.init.mode = ipam::IpallocInit::Mode::seed;
    for (std::size_t s = 0; s < kSeeds; ++s) cfg.init.seeds.push_back(P(s * 10));
    auto a = ipam::Allocator::create(cfg, *views_[i], *rngs_[i], null_logger());
    EXPECT_TRUE(a.ok());
    allocs_.push_back(std::move(a).value());
    done_.emplace_back();
    sim_.core(i).add_channel(std::string(ipam::kChannelName), *allocs_[i]);
    call(i, [&](ipam::Allocator& al, GossipSender& s) { al.start(sim_.now(), s); });
    adj_.emplace_back();
    return i;
  }

  /// Connects i to up to `n` random live peers that have room (partial mesh).
  void join(std::size_t i, std::size_t n) {
    std::vector<std::size_t> cands;
    for (std::size_t j = 0; j < sim_.size(); ++j) {
      if (j != i && sim_.alive(j) && adj_[j].size() < kConnLimit && !adj_[i].count(j)) cands.push_back(j);
    }
    for (std::size_t k = 0; k < n && !cands.empty() && adj_[i].size() < kConnLimit; ++k) {
      auto pick = rng_.uniform(cands.size());
      auto j = cands[pick];
      cands.erase(cands.begin() + static_cast<std::ptrdiff_t>(pick));
      if (sim_.connect(i, j)) link(i, j);
    }
  }
  void link(std::size_t i, std::size_t j) {
    adj_[i].insert(j);
    adj_[j].insert(i);
  }
  void unlink(std::size_t i, std::size_t j) {
    sim_.disconnect(i, j);
    adj_[i].erase(j);
    adj_[j].erase(i);
  }
  void leave(std::size_t i) {
    for (auto j : std::set<std::size_t>(adj_[i])) {
      adj_[j].erase(i);
    }
    adj_[i].clear();
    sim_.kill(i);
  }

  template <typename F>
  void call(std::size_t i, F&& f) {
    sim_.with_effects(i, [&](Effects& fx) {
      auto s = sim_.core(i).sender(std::string(ipam::kChannelName), sim_.now(), fx);
      f(*allocs_[i], *s);
    });
    drain(i);
  }
  void drain(std::size_t i) {
    for (auto& c : allocs_[i]->take_completions()) done_[i][c.id] = c;
  }

  /// Runs `d` of simulated time in 1 s steps: messages, mesh timers, allocator ticks.
  void run(Duration d) {
    for (auto end = sim_.now() + d; sim_.now() < end;) {
      sim_.run(1s, 100ms);
      for (std::size_t i = 0; i < sim_.size(); ++i) {
        if (!sim_.alive(i)) continue;
        if (allocs_[i]->next_wake() <= sim_.now()) {
          call(i, [&](ipam::Allocator& al, GossipSender& s) { al.on_tick(sim_.now(), s); });
        }
        drain(i);
      }
    }
  }

  // ---- the true graph
  std::vector<int> dist_from(std::size_t s) const {
    std::vector<int> d(sim_.size(), -1);
    std::queue<std::size_t> q;
    d[s] = 0;
    q.push(s);
    while (!q.empty()) {
      auto u = q.front();
      q.pop();
      for (auto v : adj_[u]) {
        if (d[v] < 0) {
          d[v] = d[u] + 1;
          q.push(v);
        }
      }
    }
    return d;
  }

  /// Cheap: every live peer knows exactly its component, at the versions the peers hold.
  bool topology_converged() {
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (!sim_.alive(i)) continue;
      auto d = dist_from(i);
      auto& topo = sim_.core(i).topology();
      std::size_t reachable = 0;
      for (std::size_t j = 0; j < sim_.size(); ++j) {
        if (d[j] < 0) continue;
        ++reachable;
        auto* e = topo.find(sim_.core(j).self_name());
        if (e == nullptr || e->version != sim_.core(j).topology().version()) return false;
      }
      if (topo.peers().size() != reachable) return false;
    }
    return true;
  }

  /// Runs until `done()` holds (checked every 5 s, up to `limit`); the time it took.
  template <class Done>
  std::optional<Duration> run_until(Duration limit, Done&& done) {
    auto start = sim_.now();
    while (sim_.now() - start < limit) {
      run(5s);
      if (done()) return sim_.now() - start;
    }
    return std::nullopt;
  }
  std::optional<Duration> converge(Duration limit) {
    return run_until(limit, [&] { return topology_converged(); });
  }
  /// Until every live peer holds the same IPAM ring. After a heal, ring changes travel only by
  /// periodic gossip, one hop per gossip interval (Weave's allocator never relays what it merges
  /// from gossip), so this takes about the mesh's diameter times 30 s.
  std::optional<Duration> converge_rings(Duration limit) {
    return run_until(limit, [&] { return rings_equal(); });
  }
  bool rings_equal() const {
    const std::vector<ipam::RingEntry>* ring0 = nullptr;
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (!sim_.alive(i)) continue;
      auto& r = allocs_[i]->ring().entries();
      if (!ring0) ring0 = &r;
      if (r != *ring0) return false;
    }
    return true;
  }

  /// The full check: topology, shortest-path unicast routes, exactly-once broadcast.
  void check_routes(const std::string& ctx, std::size_t broadcast_sources) {
    std::map<PeerName, std::size_t> idx;
    for (std::size_t i = 0; i < sim_.size(); ++i) idx[sim_.core(i).self_name()] = i;
    std::vector<std::vector<int>> dist(sim_.size());
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (sim_.alive(i)) dist[i] = dist_from(i);
    }
    std::size_t bad_routes = 0;
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (!sim_.alive(i)) continue;
      ASSERT_TRUE(sim_.core(i).topology().check_invariants().ok()) << ctx;
      auto& rt = sim_.core(i).routes();
      for (std::size_t j = 0; j < sim_.size(); ++j) {
        if (j == i || dist[i][j] < 0) continue;
        auto hop = rt.unicast(sim_.core(j).self_name());
        if (!hop || !idx.count(*hop)) {
          ++bad_routes;
          continue;
        }
        auto h = idx.at(*hop);
        if (!adj_[i].count(h) || dist[h][j] != dist[i][j] - 1) ++bad_routes;
      }
    }
    EXPECT_EQ(bad_routes, 0u) << ctx << ": unicast next hops not on a shortest path";
    std::size_t sampled = 0;
    for (std::size_t s = 0; s < sim_.size() && sampled < broadcast_sources; s += 1 + sim_.size() / broadcast_sources) {
      if (!sim_.alive(s)) continue;
      ++sampled;
      std::vector<int> received(sim_.size(), 0);
      std::queue<std::size_t> q;
      q.push(s);
      received[s] = 1;
      while (!q.empty()) {
        auto u = q.front();
        q.pop();
        for (auto hop : sim_.core(u).routes().broadcast(sim_.core(s).self_name())) {
          auto v = idx.at(hop);
          if (++received[v] == 1) q.push(v);
        }
      }
      std::size_t wrong = 0;
      for (std::size_t j = 0; j < sim_.size(); ++j) {
        if (!sim_.alive(j)) continue;
        wrong += received[j] != (dist[s][j] >= 0 ? 1 : 0);
      }
      EXPECT_EQ(wrong, 0u) << ctx << ": broadcast from " << s << " not exactly once everywhere";
    }
  }

  // ---- IPAM
  struct Request {
    std::size_t peer;
    ipam::RequestId id;
  };
  void allocate_at(std::size_t i) {
    auto id = std::uint64_t{0};
    call(i, [&](ipam::Allocator& al, GossipSender& s) {
      id = al.allocate(sim_.now(), fmt::format("c{}", requests_.size()), kUniverse, true, s);
    });
    requests_.push_back({i, id});
  }
  std::size_t completed() const {
    std::size_t n = 0;
    for (auto& r : requests_) n += done_[r.peer].count(r.id);
    return n;
  }
  void check_ipam(const std::string& ctx, bool rings_equal) {
    std::map<std::uint32_t, std::size_t> holder;
    const std::vector<ipam::RingEntry>* ring0 = nullptr;
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (!sim_.alive(i)) continue;
      auto& a = *allocs_[i];
      EXPECT_TRUE(a.check_invariants().ok()) << ctx << " at " << i;
      for (auto& [ident, d] : a.owned()) {
        for (auto& c : d.cidrs) {
          auto [it, fresh] = holder.emplace(c.addr().value(), i);
          EXPECT_TRUE(fresh) << ctx << ": " << c.str() << " handed out by " << it->second << " and " << i;
          EXPECT_EQ(a.ring().owner(c.addr()), a.self()) << ctx << ": " << c.str() << " outside " << i << "'s ranges";
        }
      }
      if (rings_equal) {
        if (!ring0) ring0 = &a.ring().entries();
        EXPECT_EQ(a.ring().entries(), *ring0) << ctx << ": ring at " << i << " differs";
      }
    }
    for (auto& r : requests_) {
      auto it = done_[r.peer].find(r.id);
      if (it != done_[r.peer].end() && it->second.ok()) {
        ASSERT_TRUE(it->second.address);
        auto h = holder.find(it->second.address->addr().value());
        if (sim_.alive(r.peer)) EXPECT_TRUE(h != holder.end() && h->second == r.peer) << ctx;
      }
    }
  }

  /// Bytes received per live peer per minute, by channel, over `window` of quiet running.
  std::array<double, 3> gossip_rate(Duration window) {
    for (auto& r : rx_bytes_) r = {};
    run(window);
    std::array<double, 3> total{};
    std::size_t live = 0;
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      if (!sim_.alive(i)) continue;
      ++live;
      for (int c = 0; c < 3; ++c) total[c] += static_cast<double>(rx_bytes_[i][c]);
    }
    auto minutes = std::chrono::duration<double>(window).count() / 60;
    for (auto& t : total) t /= static_cast<double>(live) * minutes;
    return total;
  }

  MeshSim& sim() { return sim_; }
  std::size_t sync_to_weave() const { return sync_to_weave_; }
  TopologySyncStats sync_stats() {
    TopologySyncStats t;
    for (std::size_t i = 0; i < sim_.size(); ++i) {
      const auto& s = sim_.core(i).sync_stats();
      t.full_sent += s.full_sent;
      t.digests_sent += s.digests_sent;
      t.digests_matched += s.digests_matched;
      t.versions_sent += s.versions_sent;
      t.updates_pushed += s.updates_pushed;
      t.wants_sent += s.wants_sent;
      t.unchanged_skipped += s.unchanged_skipped;
    }
    return t;
  }
  std::size_t live() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < sim_.size(); ++i) n += sim_.alive(i);
    return n;
  }
  std::size_t links() const {
    std::size_t n = 0;
    for (auto& a : adj_) n += a.size();
    return n / 2;
  }
  const std::set<std::size_t>& adj(std::size_t i) const { return adj_[i]; }
  SeededRandom& rng() { return rng_; }
  std::size_t requests() const { return requests_.size(); }

 private:
  Gossip mode_;
  MeshSim sim_;
  SeededRandom rng_;
  std::vector<bool> weft_;  ///< offers topology digests, by index
  std::size_t sync_to_weave_ = 0;
  std::vector<std::array<std::uint64_t, 3>> rx_bytes_;

 public:
  std::array<std::array<std::uint64_t, 8>, 3> msgs_{};  ///< delivered, by channel and tag

 private:
  std::vector<std::unique_ptr<ipam::MeshCoreView>> views_;
  std::vector<std::unique_ptr<SeededRandom>> rngs_;
  std::vector<std::unique_ptr<ipam::Allocator>> allocs_;
  std::vector<std::map<ipam::RequestId, ipam::Completion>> done_;
  std::vector<std::set<std::size_t>> adj_;
  std::vector<Request> requests_;
};

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

TEST(MeshScaleSim, ConvergesWithBoundedGossipAndMemory) {
  const std::size_t n = peer_count();
  const std::size_t initial = n - n / 10;
  const auto mode = gossip_mode();
  const auto heap0 = heap_bytes();
  ScaleSim s(19, mode);
  auto& sim = s.sim();

  // ---- joins, in waves of 100 a second
  for (std::size_t i = 0; i < initial; ++i) {
    s.add_peer();
    if (i > 0) s.join(i, kDialsPerJoin);
    if (i % 100 == 99) s.run(1s);
  }
  auto t_join = s.converge(600s);
  ASSERT_TRUE(t_join) << "no convergence after the joins";
  s.check_routes("joined", 12);
  if (HasFailure()) return;

  // ---- steady state: gossip volume and memory
  auto rate = s.gossip_rate(120s);
  const double mem_per_peer = static_cast<double>(heap_bytes() - std::min(heap_bytes(), heap0)) / static_cast<double>(s.live());
  const double links_per_peer = 2.0 * static_cast<double>(s.links()) / static_cast<double>(s.live());

  // ---- allocations everywhere
  for (int k = 0; k < 40; ++k) s.allocate_at(s.rng().uniform(sim.size()));
  s.run(20s);
  EXPECT_EQ(s.completed(), s.requests()) << "allocations left waiting in a connected mesh";
  s.check_ipam("allocated", false);

  // ---- churn under loss: 5% leave, 10% join
  sim.set_loss(0.02);
  for (std::size_t k = 0; k < n / 20; ++k) {
    auto i = s.rng().uniform(sim.size());
    if (sim.alive(i) && i % 10 != 0) s.leave(i);  // seeds stay (their ranges would need rmpeer)
  }
  for (std::size_t k = initial; k < n; ++k) {
    auto i = s.add_peer();
    s.join(i, kDialsPerJoin);
  }
  s.run(10s);
  sim.set_loss(0);
  auto t_churn = s.converge(600s);
  ASSERT_TRUE(t_churn) << "no convergence after churn";
  s.check_routes("churned", 12);
  if (HasFailure()) return;

  // ---- a partition into two halves, allocations on both sides, then healing
  std::vector<std::pair<std::size_t, std::size_t>> cut;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    for (auto j : s.adj(i)) {
      if (i < j && (i < sim.size() / 2) != (j < sim.size() / 2)) cut.emplace_back(i, j);
    }
  }
  for (auto [i, j] : cut) s.unlink(i, j);
  auto t_part = s.converge(600s);
  ASSERT_TRUE(t_part) << "no convergence in the partition";
  s.check_routes("partitioned", 12);
  for (int k = 0; k < 20; ++k) {
    auto i = s.rng().uniform(sim.size());
    if (sim.alive(i)) s.allocate_at(i);
  }
  s.run(20s);
  s.check_ipam("partitioned", false);
  for (auto [i, j] : cut) {
    if (sim.alive(i) && sim.alive(j) && sim.connect(i, j)) s.link(i, j);
  }
  auto t_heal = s.converge(600s);
  ASSERT_TRUE(t_heal) << "no convergence after healing";
  s.check_routes("healed", 12);
  // Periodic gossip (30 s, one hop a round) settles the rings; waiting requests find donors.
  s.run(95s);
  auto t_rings = s.converge_rings(900s);
  EXPECT_TRUE(t_rings) << "IPAM rings still differ 995 s after the heal";
  if (t_rings) *t_rings += *t_heal + 95s;  // from the heal
  std::size_t waiting = s.requests() - s.completed();
  s.check_ipam("healed", true);

  // Bounds. Gossip per peer grows linearly with the mesh (topology gossip carries every peer's
  // connection list), so the bound scales with n; memory per peer likewise (every peer holds the
  // whole topology). See the README's Scale section for the model.
  const double nd = static_cast<double>(n);
  // Steady state is the periodic round: every 30 s each peer sends the whole table (n entries of
  // ~40 + 35 x links bytes) to at most links_per_peer neighbours, so a peer receives about
  // 2 x links x n x 250 bytes a minute at 6 links; the bounds allow twice that.
  EXPECT_LT(rate[0], 2 * links_per_peer * nd * 400) << "topology gossip per peer per minute";
  EXPECT_LT(rate[0] + rate[1] + rate[2], 2 * links_per_peer * nd * 500) << "gossip per peer per minute";
  EXPECT_LT(mem_per_peer, 3000.0 * nd + 200000) << "memory per peer";
  EXPECT_EQ(waiting, 0u) << "allocations still waiting after the partition healed";
  EXPECT_EQ(s.sync_to_weave(), 0u) << "a Weave peer received weft topology sync messages";
  const auto st = s.sync_stats();
  if (mode == Gossip::weft) {
    // Steady state between weft peers: a 13-byte digest (~60 bytes with its envelope) from each
    // neighbour twice a minute, whatever the size of the mesh.
    EXPECT_LT(rate[0], 500 * links_per_peer) << "topology gossip per peer per minute with digests";
    EXPECT_EQ(st.full_sent, 0u) << "periodic full state between weft peers";
  } else {
    EXPECT_GT(st.full_sent, 0u) << "Weave peers get the full state";
  }
  if (mode != Gossip::weave) {
    EXPECT_GT(st.digests_matched, 0u);
  }

  if (std::getenv("WEFT_SCALE_DEBUG")) {
    for (int c = 0; c < 3; ++c) {
      for (int t = 0; t < 8; ++t) {
        if (s.msgs_[c][t]) std::printf("msgs channel=%d tag=%d: %llu\n", c, t, static_cast<unsigned long long>(s.msgs_[c][t]));
      }
    }
  }
  std::printf(
      "SCALE gossip=%s peers=%zu links_per_peer=%.1f converge_join_s=%.0f converge_churn_s=%.0f "
      "converge_partition_s=%.0f "
      "converge_heal_s=%.0f rings_heal_s=%.0f gossip_topology_B_per_peer_min=%.0f gossip_ipam_B_per_peer_min=%.0f "
      "gossip_total_B_per_peer_min=%.0f mem_B_per_peer=%.0f allocations=%zu waiting=%zu messages=%llu "
      "full_states=%llu digests=%llu digests_matched=%llu version_lists=%llu unchanged_skipped=%llu\n",
      gossip_name(mode), n, links_per_peer, secs(*t_join), secs(*t_churn), secs(*t_part), secs(*t_heal),
      t_rings ? secs(*t_rings) : -1.0, rate[0], rate[1], rate[0] + rate[1] + rate[2], mem_per_peer, s.requests(),
      waiting, static_cast<unsigned long long>(sim.delivered()), static_cast<unsigned long long>(st.full_sent),
      static_cast<unsigned long long>(st.digests_sent), static_cast<unsigned long long>(st.digests_matched),
      static_cast<unsigned long long>(st.versions_sent), static_cast<unsigned long long>(st.unchanged_skipped));
}

}  // namespace
}  // namespace weft::mesh
