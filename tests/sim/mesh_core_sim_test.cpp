// Deterministic simulation of >= 25 full mesh cores (handshake-less, over MeshSim) with seeded
// message loss, partitions and healing. After healing every peer must hold the same topology,
// unicast routes must be shortest-path next hops of the true graph, and broadcasts must reach
// every peer exactly once (no loops, no duplicates). Run three ways: a Weave mesh (periodic full
// state), weft peers with topology digests among Weave peers, and digests only.
#include <gtest/gtest.h>

#include <algorithm>
#include <queue>
#include <string_view>

#include "mesh_sim.hpp"
#include "weft/mesh/topology_sync.hpp"

namespace weft::mesh {
namespace {

using test::MeshSim;

constexpr std::size_t kPeers = 26;

PeerName P(std::size_t i) { return PeerName(0x020000000000ull + 0x10000 * (i % 7) + i); }

struct Graph {
  std::size_t n;
  std::vector<std::set<std::size_t>> adj;
  explicit Graph(std::size_t n_) : n(n_), adj(n_) {}
  std::vector<int> dist_from(std::size_t s) const {
    std::vector<int> d(n, -1);
    std::queue<std::size_t> q;
    d[s] = 0;
    q.push(s);
    while (!q.empty()) {
      auto u = q.front();
      q.pop();
      for (auto v : adj[u]) {
        if (d[v] < 0) {
          d[v] = d[u] + 1;
          q.push(v);
        }
      }
    }
    return d;
  }
};

Graph true_graph(MeshSim& sim) {
  Graph g(sim.size());
  for (std::size_t i = 0; i < sim.size(); ++i) {
    for (std::size_t j = 0; j < sim.size(); ++j) {
      if (i != j && sim.connected(i, j)) {
        g.adj[i].insert(j);
        g.adj[j].insert(i);
      }
    }
  }
  return g;
}

std::map<PeerName, std::size_t> index_of(MeshSim& sim) {
  std::map<PeerName, std::size_t> m;
  for (std::size_t i = 0; i < sim.size(); ++i) m[sim.core(i).self_name()] = i;
  return m;
}

void check_converged(MeshSim& sim, const std::string& ctx) {
  auto g = true_graph(sim);
  auto idx = index_of(sim);
  // Components of the true graph.
  for (std::size_t i = 0; i < sim.size(); ++i) {
    auto d = g.dist_from(i);
    auto& topo = sim.core(i).topology();
    std::size_t reachable = 0;
    for (std::size_t j = 0; j < sim.size(); ++j) {
      if (d[j] < 0) {
        EXPECT_EQ(topo.find(sim.core(j).self_name()), nullptr) << ctx << ": " << i << " still knows unreachable " << j;
        continue;
      }
      ++reachable;
      auto* e = topo.find(sim.core(j).self_name());
      ASSERT_NE(e, nullptr) << ctx << ": " << i << " does not know " << j;
      // Same view of j as j itself has.
      auto& truth = sim.core(j).topology().self();
      EXPECT_EQ(e->version, truth.version) << ctx << ": view of " << j << " at " << i;
      EXPECT_EQ(e->connections.size(), truth.connections.size()) << ctx;
    }
    EXPECT_EQ(topo.peers().size(), reachable) << ctx << " at " << i;
    ASSERT_TRUE(topo.check_invariants().ok()) << ctx;
    // Unicast: next hop is a neighbour on a shortest path.
    auto& rt = sim.core(i).routes();
    for (std::size_t j = 0; j < sim.size(); ++j) {
      if (j == i || d[j] < 0) continue;
      auto hop = rt.unicast(sim.core(j).self_name());
      ASSERT_TRUE(hop.has_value()) << ctx << ": " << i << " has no route to " << j;
      auto h = idx.at(*hop);
      EXPECT_TRUE(g.adj[i].count(h)) << ctx;
      EXPECT_EQ(g.dist_from(h)[j], d[j] - 1) << ctx << ": route " << i << "->" << j << " via " << h << " not shortest";
    }
  }
  // Broadcast: flood from every source along each node's own broadcast next hops.
  for (std::size_t s = 0; s < sim.size(); ++s) {
    auto d = g.dist_from(s);
    std::vector<int> received(sim.size(), 0);
    std::queue<std::size_t> q;
    q.push(s);
    received[s] = 1;
    while (!q.empty()) {
      auto u = q.front();
      q.pop();
      for (auto hop : sim.core(u).routes().broadcast(sim.core(s).self_name())) {
        auto v = idx.at(hop);
        ++received[v];
        if (received[v] == 1) q.push(v);
      }
    }
    for (std::size_t j = 0; j < sim.size(); ++j) {
      if (d[j] >= 0) {
        EXPECT_EQ(received[j], 1) << ctx << ": broadcast from " << s << " reached " << j << " " << received[j] << " times";
      } else {
        EXPECT_EQ(received[j], 0) << ctx;
      }
    }
  }
}

/// Which peers offer topology digests ("WeftGossip"): none (a Weave mesh), every peer but each
/// third (weft and Weave peers mixed), or all (only digests repair what loss dropped).
enum class Digests { none, mixed, all };

void scenario(std::uint64_t seed, Digests mode) {
  MeshSim sim(seed);
  SeededRandom rng(seed * 7919);
  std::vector<bool> weft(kPeers);
  for (std::size_t i = 0; i < kPeers; ++i) {
    weft[i] = mode == Digests::all || (mode == Digests::mixed && i % 3 != 0);
    sim.weft_gossip = weft[i];
    sim.add_node(P(i));
  }
  std::size_t sync_to_weave = 0;  // sync messages delivered to a peer that did not offer digests
  sim.on_deliver = [&](std::size_t, std::size_t to, const ProtocolMessage& m) {
    auto head =
        std::string_view(reinterpret_cast<const char*>(m.payload.data()), std::min<std::size_t>(m.payload.size(), 32));
    if (!weft[to] && head.find(kTopologySyncChannel) != std::string_view::npos) ++sync_to_weave;
  };
  // A random connected graph: a spanning tree plus extra edges.
  for (std::size_t i = 1; i < kPeers; ++i) sim.connect(i, rng.uniform(i));
  for (int k = 0; k < 15; ++k) {
    auto i = rng.uniform(kPeers), j = rng.uniform(kPeers);
    if (i != j && !sim.connected(i, j) && !sim.connected(j, i)) sim.connect(i, j);
  }
  sim.set_loss(0.05);
  sim.run(std::chrono::seconds(10));
  sim.set_loss(0);
  sim.run(std::chrono::seconds(65));  // periodic gossip repairs what loss dropped
  check_converged(sim, "initial");
  if (::testing::Test::HasFailure()) return;

  // Partition: cut every connection between the low and the high half.
  std::vector<std::pair<std::size_t, std::size_t>> cut;
  for (std::size_t i = 0; i < kPeers / 2; ++i) {
    for (std::size_t j = kPeers / 2; j < kPeers; ++j) {
      if (sim.connected(i, j)) cut.emplace_back(i, j);
      if (sim.connected(j, i)) cut.emplace_back(j, i);
    }
  }
  for (auto [i, j] : cut) sim.disconnect(i, j);
  sim.set_loss(0.05);
  sim.run(std::chrono::seconds(5));
  sim.set_loss(0);
  sim.run(std::chrono::seconds(65));
  check_converged(sim, "partitioned");
  if (::testing::Test::HasFailure()) return;

  // Heal.
  for (auto [i, j] : cut) sim.connect(i, j);
  sim.run(std::chrono::seconds(65));
  check_converged(sim, "healed");

  TopologySyncStats st;
  for (std::size_t i = 0; i < kPeers; ++i) {
    const auto& s = sim.core(i).sync_stats();
    st.full_sent += s.full_sent;
    st.digests_sent += s.digests_sent;
    st.digests_matched += s.digests_matched;
    st.versions_sent += s.versions_sent;
    st.unchanged_skipped += s.unchanged_skipped;
    if (!weft[i]) {
      EXPECT_EQ(s.digests_sent + s.digests_matched + s.versions_sent + s.wants_sent, 0u) << "Weave peer " << i;
    }
  }
  EXPECT_EQ(sync_to_weave, 0u) << "a Weave peer received weft topology sync messages";
  if (mode == Digests::none) {
    EXPECT_EQ(st.digests_sent, 0u);
    EXPECT_GT(st.full_sent, 0u);
    EXPECT_GT(st.unchanged_skipped, 0u) << "converged peers send byte-identical full states";
  } else {
    EXPECT_GT(st.digests_matched, 0u);
    EXPECT_GT(st.versions_sent, 0u) << "loss and partitions must have caused mismatches";
  }
  if (mode == Digests::all) {
    EXPECT_EQ(st.full_sent, 0u) << "no periodic full state between weft peers";
  }
  if (mode == Digests::mixed) {
    EXPECT_GT(st.full_sent, 0u) << "Weave neighbours still get the full state";
  }
}

class MeshCoreSim : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(MeshCoreSim, ConvergesThroughLossPartitionsAndHealing) { scenario(GetParam(), Digests::none); }
TEST_P(MeshCoreSim, ConvergesWithDigestsBetweenWeftPeersAndWeavePeersMixedIn) { scenario(GetParam(), Digests::mixed); }
TEST_P(MeshCoreSim, ConvergesWithDigestsOnly) { scenario(GetParam(), Digests::all); }

INSTANTIATE_TEST_SUITE_P(Seeds, MeshCoreSim, ::testing::Range<std::uint64_t>(1, 9));

}  // namespace
}  // namespace weft::mesh
