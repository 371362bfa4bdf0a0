#include "weft/mesh/routes.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace weft::mesh {
namespace {

PeerName N(std::uint64_t v) { return PeerName(v); }

std::vector<PeerName> names(std::initializer_list<std::uint64_t> vs) {
  std::vector<PeerName> out;
  for (auto v : vs) {
    out.push_back(N(v));
  }
  return out;
}

/// Undirected, established-on-both-ends links.
std::shared_ptr<TopologyView> graph(
    std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> edges) {
  auto v = std::make_shared<TopologyView>();
  for (auto [a, b] : edges) {
    v->add_link(N(a), N(b), true);
    v->add_link(N(b), N(a), true);
  }
  return v;
}

std::map<PeerName, PeerName> sorted(const std::unordered_map<PeerName, PeerName>& m) {
  return {m.begin(), m.end()};
}

// ---- TopologyView ----

TEST(TopologyView, BuildsSortedLinksFromBuilderAndTopology) {
  TopologyView v;
  v.add_link(N(1), N(9), false);
  v.add_link(N(1), N(3), true);
  v.add_link(N(1), N(5), true);
  v.add_link(N(1), N(3), false);  // replaces
  ASSERT_EQ(v.links(N(1)).size(), 3u);
  EXPECT_EQ(v.links(N(1))[0].remote, N(3));
  EXPECT_FALSE(v.links(N(1))[0].established);
  EXPECT_EQ(v.links(N(1))[2].remote, N(9));
  EXPECT_TRUE(v.contains(N(9)));
  EXPECT_TRUE(v.links(N(9)).empty());
  EXPECT_FALSE(v.contains(N(2)));
  EXPECT_NE(v.link(N(1), N(5)), nullptr);
  EXPECT_EQ(v.link(N(5), N(1)), nullptr);

  SeededRandom rng(1);
  Topology t(PeerIdentity{N(1), "a", 11, ShortID::from_uint(1)}, rng);
  ASSERT_TRUE(t.add_connection({N(2), "b", 22, ShortID::from_uint(2)}, "x", true, true).ok());
  PeerSummary p2{N(2), "b", 22, 3, 2, true, {{N(1), "y", false, true}, {N(3), "z", true, false}}};
  ASSERT_TRUE(t.apply_update({p2}).ok());
  TopologyView tv(t);
  EXPECT_EQ(tv.size(), 3u);  // us, 2 and the placeholder 3
  ASSERT_NE(tv.link(N(2), N(3)), nullptr);
  EXPECT_FALSE(tv.link(N(2), N(3))->established);
  EXPECT_TRUE(tv.link(N(1), N(2))->established);
}

// ---- BFS ----

TEST(Routes, LineAndUnknownOrigin) {
  auto v = graph({{1, 2}, {2, 3}, {3, 4}});
  auto r = routes(*v, N(1), std::nullopt, true);
  EXPECT_FALSE(r.found);
  EXPECT_EQ(sorted(r.next_hop),
            (std::map<PeerName, PeerName>{{N(1), N(0)}, {N(2), N(2)}, {N(3), N(2)}, {N(4), N(2)}}));
  auto u = routes(*v, N(77), std::nullopt, false);
  EXPECT_EQ(sorted(u.next_hop), (std::map<PeerName, PeerName>{{N(77), N(0)}}));
}

TEST(Routes, TiesGoToTheLowerNamedParent) {
  // 1 -> {5, 3}; both reach 9. Level {3, 5} is visited in name order, so 9 goes via 3.
  auto v = graph({{1, 5}, {1, 3}, {5, 9}, {3, 9}});
  EXPECT_EQ(routes(*v, N(1), std::nullopt, true).next_hop.at(N(9)), N(3));
  // Rename 3 -> 7 so that 5 is now the lower one.
  auto w = graph({{1, 5}, {1, 7}, {5, 9}, {7, 9}});
  EXPECT_EQ(routes(*w, N(1), std::nullopt, true).next_hop.at(N(9)), N(5));
}

TEST(Routes, EachLevelIsSortedNotVisitedInDiscoveryOrder) {
  // Level 1 = {10, 20}; 10 discovers 40, 20 discovers 30. A FIFO queue would visit 40 first and
  // route 99 via 10; mesh sorts level 2 = {30, 40}, so 99 is routed like 30, i.e. via 20.
  auto v = graph({{1, 10}, {1, 20}, {10, 40}, {20, 30}, {30, 99}, {40, 99}});
  auto r = routes(*v, N(1), std::nullopt, false);
  EXPECT_EQ(r.next_hop.at(N(40)), N(10));
  EXPECT_EQ(r.next_hop.at(N(30)), N(20));
  EXPECT_EQ(r.next_hop.at(N(99)), N(20));
}

TEST(Routes, StopAtReturnsWhatWasReachedSoFar) {
  // Level 1 = {2, 3, 4}: stopping at 3 happens after 2 was expanded (adding 5) but before 3 and
  // 4 were (so 6, a child of 4, is not reached).
  auto v = graph({{1, 2}, {1, 3}, {1, 4}, {2, 5}, {3, 5}, {4, 6}});
  auto r = routes(*v, N(1), N(3), false);
  EXPECT_TRUE(r.found);
  EXPECT_EQ(sorted(r.next_hop),
            (std::map<PeerName, PeerName>{
                {N(1), N(0)}, {N(2), N(2)}, {N(3), N(3)}, {N(4), N(4)}, {N(5), N(2)}}));
  auto self = routes(*v, N(1), N(1), false);
  EXPECT_TRUE(self.found);
  EXPECT_EQ(self.next_hop.size(), 1u);
  auto missing = routes(*v, N(1), N(42), false);
  EXPECT_FALSE(missing.found);
  EXPECT_EQ(missing.next_hop.size(), 6u);
}

TEST(Routes, EstablishedAndSymmetricFiltering) {
  TopologyView v;
  auto both = [&](std::uint64_t a, std::uint64_t b, bool ea, bool eb) {
    v.add_link(N(a), N(b), ea);
    v.add_link(N(b), N(a), eb);
  };
  both(1, 2, true, true);        // usable
  both(1, 3, false, false);      // never established
  both(1, 4, true, false);       // established on our side only
  both(1, 5, false, true);       // established on their side only
  v.add_link(N(1), N(6), true);  // one-sided: 6 does not list us
  v.add_link(N(7), N(1), true);  // one-sided the other way
  both(2, 8, true, true);
  auto es = routes(v, N(1), std::nullopt, true);
  EXPECT_EQ(sorted(es.next_hop),
            (std::map<PeerName, PeerName>{{N(1), N(0)}, {N(2), N(2)}, {N(8), N(2)}}));
  auto all = routes(v, N(1), std::nullopt, false);
  EXPECT_EQ(sorted(all.next_hop), (std::map<PeerName, PeerName>{{N(1), N(0)},
                                                                {N(2), N(2)},
                                                                {N(3), N(3)},
                                                                {N(4), N(4)},
                                                                {N(5), N(5)},
                                                                {N(6), N(6)},
                                                                {N(8), N(2)}}));
  // 7 -> 1 exists but 1 does not list 7: not reachable from 1 even over all connections.
  EXPECT_FALSE(all.next_hop.contains(N(7)));
  // ... but 1 is reachable from 7 over all connections, not over est+sym ones.
  EXPECT_TRUE(routes(v, N(7), std::nullopt, false).next_hop.contains(N(1)));
  EXPECT_FALSE(routes(v, N(7), std::nullopt, true).next_hop.contains(N(1)));
}

TEST(Routes, DanglingAndPlaceholderRemotesAreLeaves) {
  TopologyView v;
  v.add_link(N(1), N(2), true);  // 2 is known (a placeholder) but has no links
  auto r = routes(v, N(1), std::nullopt, false);
  EXPECT_TRUE(r.next_hop.contains(N(2)));
  EXPECT_FALSE(routes(v, N(1), std::nullopt, true).next_hop.contains(N(2)));
}

// ---- RouteTable ----

TEST(RouteTable, UnicastAndUnicastAll) {
  auto v = std::make_shared<TopologyView>(*graph({{1, 2}, {2, 3}}));
  v->add_link(N(1), N(4), false);
  v->add_link(N(4), N(1), true);
  v->add_link(N(4), N(5), true);
  v->add_link(N(5), N(4), true);
  auto rt = compute_routes(v, N(1));
  EXPECT_EQ(rt.self(), N(1));
  EXPECT_EQ(rt.unicast(N(1)), N(0));
  EXPECT_EQ(rt.unicast(N(3)), N(2));
  EXPECT_EQ(rt.unicast(N(5)), std::nullopt);
  EXPECT_EQ(rt.unicast_all(N(5)), N(4));
  EXPECT_EQ(rt.unicast_all(N(99)), std::nullopt);
  EXPECT_EQ(rt.unicast_table().size(), 3u);
  EXPECT_EQ(rt.unicast_all_table().size(), 5u);
}

TEST(RouteTable, BroadcastOnATriangleGoesOutOnlyFromTheSource) {
  auto v = graph({{1, 2}, {1, 3}, {2, 3}});
  EXPECT_EQ(compute_routes(v, N(1)).broadcast(N(1)), names({2, 3}));
  EXPECT_TRUE(compute_routes(v, N(2)).broadcast(N(1)).empty());
  EXPECT_TRUE(compute_routes(v, N(3)).broadcast(N(1)).empty());
}

TEST(RouteTable, BroadcastOnASquareIsForwardedByTheLowerNamedPeer) {
  // 1-2-4-3-1: the far corner 4 is reached via 2, not 3.
  auto v = graph({{1, 2}, {2, 4}, {4, 3}, {3, 1}});
  EXPECT_EQ(compute_routes(v, N(1)).broadcast(N(1)), names({2, 3}));
  EXPECT_EQ(compute_routes(v, N(2)).broadcast(N(1)), names({4}));
  EXPECT_TRUE(compute_routes(v, N(3)).broadcast(N(1)).empty());
  EXPECT_TRUE(compute_routes(v, N(4)).broadcast(N(1)).empty());
  // From 4 the mirror image: 1 is reached via 2.
  EXPECT_EQ(compute_routes(v, N(4)).broadcast(N(4)), names({2, 3}));
  EXPECT_EQ(compute_routes(v, N(2)).broadcast(N(4)), names({1}));
  EXPECT_TRUE(compute_routes(v, N(3)).broadcast(N(4)).empty());
}

TEST(RouteTable, BroadcastFromUnknownOrUnreachableSourceGoesNowhere) {
  auto v = graph({{1, 2}, {3, 4}});
  auto rt = compute_routes(v, N(1));
  EXPECT_TRUE(rt.broadcast(N(99)).empty());
  EXPECT_TRUE(rt.broadcast(N(3)).empty());
  EXPECT_TRUE(rt.broadcast_all(N(3)).empty());
  EXPECT_EQ(rt.broadcast(N(1)), names({2}));
}

TEST(RouteTable, BroadcastVersusBroadcastAll) {
  // 1 - 2 established; 1 - 3 not established; 2 - 3 established.
  auto v = std::make_shared<TopologyView>(*graph({{1, 2}, {2, 3}}));
  v->add_link(N(1), N(3), false);
  v->add_link(N(3), N(1), false);
  auto r1 = compute_routes(v, N(1));
  EXPECT_EQ(r1.broadcast(N(1)), names({2}));
  EXPECT_EQ(r1.broadcast_all(N(1)), names({2, 3}));
  auto r2 = compute_routes(v, N(2));
  EXPECT_EQ(r2.broadcast(N(1)), names({3}));
  EXPECT_TRUE(r2.broadcast_all(N(1)).empty());
  // Cached answers are stable.
  EXPECT_EQ(r2.broadcast(N(1)), names({3}));
  EXPECT_TRUE(r2.broadcast_all(N(1)).empty());
}

TEST(RouteTable, ComputeFromTopology) {
  SeededRandom rng(1);
  Topology t(PeerIdentity{N(1), "a", 11, ShortID::from_uint(1)}, rng);
  ASSERT_TRUE(t.add_connection({N(2), "b", 22, ShortID::from_uint(2)}, "x", true, true).ok());
  PeerSummary p2{N(2), "b", 22, 3, 2, true, {{N(1), "y", false, true}, {N(3), "z", true, true}}};
  PeerSummary p3{N(3), "c", 33, 3, 3, true, {{N(2), "w", false, true}}};
  ASSERT_TRUE(t.apply_update({p2, p3}).ok());
  auto rt = compute_routes(t, t.self_name());
  EXPECT_EQ(rt.unicast(N(3)), N(2));
  EXPECT_EQ(rt.broadcast(N(1)), names({2}));
  EXPECT_EQ(compute_routes(t, N(2)).broadcast(N(1)), names({3}));
}

// ---- random neighbours ----

std::shared_ptr<TopologyView> star(std::uint64_t centre, int leaves, std::uint64_t first_leaf) {
  auto v = std::make_shared<TopologyView>();
  for (int i = 0; i < leaves; ++i) {
    v->add_link(N(centre), N(first_leaf + i), true);
    v->add_link(N(first_leaf + i), N(centre), true);
  }
  return v;
}

TEST(RandomNeighbours, AloneOrSingleNeighbour) {
  SeededRandom rng(1);
  auto alone = std::make_shared<TopologyView>();
  alone->add_peer(N(1));
  EXPECT_TRUE(compute_routes(alone, N(1)).random_neighbours(N(0), rng).empty());
  auto pair = graph({{1, 2}});
  EXPECT_EQ(compute_routes(pair, N(1)).random_neighbours(N(0), rng), names({2}));
  EXPECT_TRUE(compute_routes(pair, N(1)).random_neighbours(N(2), rng).empty());
}

TEST(RandomNeighbours, CountIsTwiceLog2OfPeersCappedByNeighbours) {
  SeededRandom rng(2);
  // (leaves, expected): n = leaves + 1 entries, floor(2*log2(n)) vs #neighbours.
  for (auto [leaves, expected] : std::vector<std::pair<int, std::size_t>>{
           {1, 1}, {2, 2}, {3, 3}, {4, 4}, {7, 6}, {10, 6}, {14, 7}, {15, 8}, {40, 10}, {63, 12}}) {
    auto rt = compute_routes(star(1, leaves, 100), N(1));
    for (int rep = 0; rep < 20; ++rep) {
      auto got = rt.random_neighbours(N(0), rng);
      ASSERT_EQ(got.size(), expected) << leaves;
      std::set<PeerName> distinct(got.begin(), got.end());
      EXPECT_EQ(distinct.size(), got.size());
      for (auto n : got) {
        EXPECT_GE(n.value(), 100u);
        EXPECT_LT(n.value(), 100u + static_cast<unsigned>(leaves));
      }
    }
  }
}

TEST(RandomNeighbours, ExceptIsNeverChosenAndReducesTheCandidates) {
  SeededRandom rng(3);
  auto rt = compute_routes(star(1, 3, 100), N(1));  // n = 4: up to 4, but only 2 candidates left
  for (int rep = 0; rep < 50; ++rep) {
    EXPECT_EQ(rt.random_neighbours(N(101), rng), names({100, 102}));
  }
}

TEST(RandomNeighbours, FavoursNeighboursThatLeadToMorePeers) {
  // 20 leaves; leaf 100 also leads to a chain of 20 more peers. n = 41 -> 10 picks out of 20.
  auto v = star(1, 20, 100);
  std::uint64_t prev = 100;
  for (std::uint64_t i = 0; i < 20; ++i) {
    v->add_link(N(prev), N(500 + i), true);
    v->add_link(N(500 + i), N(prev), true);
    prev = 500 + i;
  }
  auto rt = compute_routes(v, N(1));
  SeededRandom rng(4);
  std::map<PeerName, int> hits;
  constexpr int kTrials = 2000;
  for (int rep = 0; rep < kTrials; ++rep) {
    auto got = rt.random_neighbours(N(0), rng);
    ASSERT_EQ(got.size(), 10u);
    for (auto n : got) {
      ++hits[n];
    }
  }
  // Weight 21 of 40: picked nearly always. Each light leaf (weight 1) roughly 9/19 of the time.
  EXPECT_GT(hits[N(100)], kTrials * 98 / 100);
  for (std::uint64_t leaf = 101; leaf < 120; ++leaf) {
    EXPECT_GT(hits[N(leaf)], kTrials * 35 / 100) << leaf;
    EXPECT_LT(hits[N(leaf)], kTrials * 60 / 100) << leaf;
  }
}

TEST(RandomNeighbours, DeterministicForASeed) {
  auto rt = compute_routes(star(1, 30, 100), N(1));
  SeededRandom a(9);
  SeededRandom b(9);
  for (int rep = 0; rep < 10; ++rep) {
    EXPECT_EQ(rt.random_neighbours(N(0), a), rt.random_neighbours(N(0), b));
  }
}

}  // namespace
}  // namespace weft::mesh
