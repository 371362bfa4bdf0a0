#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "weft/router/forwarder.hpp"

namespace weft::router {
namespace {

using mesh::RouteTable;
using mesh::TopologyView;

PeerName P(int i) { return PeerName(0x020000000000ull + static_cast<std::uint64_t>(i)); }

Bytes frame(Mac dst, Mac src, std::uint16_t type = 0x0800, std::size_t payload = 46) {
  Bytes f;
  f.insert(f.end(), dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), src.bytes().begin(), src.bytes().end());
  f.push_back(static_cast<std::uint8_t>(type >> 8));
  f.push_back(static_cast<std::uint8_t>(type));
  f.resize(f.size() + payload, 0xab);
  return f;
}

Mac M(int i) { return *Mac::parse(fmt::format("0a:00:00:00:00:{:02x}", i)); }
const Mac kBroadcast = *Mac::parse("ff:ff:ff:ff:ff:ff");

std::shared_ptr<TopologyView> line(int n) {
  auto v = std::make_shared<TopologyView>();
  for (int i = 1; i < n; ++i) {
    v->add_link(P(i), P(i + 1), true);
    v->add_link(P(i + 1), P(i), true);
  }
  return v;
}

const TimePoint T0{std::chrono::hours(1)};

TEST(Forwarder, LocalBroadcastFloodsAlongTheBroadcastTree) {
  auto view = line(3);  // 1 - 2 - 3
  RouteTable rt(view, P(2));
  Forwarder f(P(2));
  std::vector<OverlaySend> out;
  auto fr = frame(kBroadcast, M(1));
  f.on_local_frame(T0, fr, rt, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].next_hop, P(1));
  EXPECT_EQ(out[0].dst_peer, P(1));
  EXPECT_EQ(out[1].next_hop, P(3));
  EXPECT_EQ(out[0].src_peer, P(2));
}

TEST(Forwarder, LearnedRemoteMacIsUnicastViaTheRoute) {
  auto view = line(3);
  RouteTable rt1(view, P(1));
  Forwarder f(P(1));
  std::vector<OverlaySend> out;
  bool inject = false;
  // A frame from M(3) behind peer 3 arrives (relayed by 2): we learn M(3) -> P(3).
  auto from3 = frame(M(1), M(3));
  f.on_overlay_frame(T0, P(3), P(1), from3, rt1, inject, out);
  EXPECT_TRUE(inject);
  out.clear();
  auto to3 = frame(M(3), M(1));
  f.on_local_frame(T0, to3, rt1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].next_hop, P(2));  // relay through the middle
  EXPECT_EQ(out[0].dst_peer, P(3));
  EXPECT_EQ(f.stats().local_unicast, 1u);
}

TEST(Forwarder, RelaysFramesForOthersWithoutLearning) {
  auto view = line(3);
  RouteTable rt2(view, P(2));
  Forwarder f(P(2));
  std::vector<OverlaySend> out;
  bool inject = true;
  auto fr = frame(M(3), M(1));
  f.on_overlay_frame(T0, P(1), P(3), fr, rt2, inject, out);
  EXPECT_FALSE(inject);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].next_hop, P(3));
  EXPECT_EQ(out[0].src_peer, P(1));
  EXPECT_FALSE(f.macs().lookup(M(1)));
}

TEST(Forwarder, MacBoundToAnotherPeerIsDroppedOnCapture) {
  auto view = line(2);
  RouteTable rt(view, P(1));
  Forwarder f(P(1));
  std::vector<OverlaySend> out;
  bool inject;
  auto remote = frame(kBroadcast, M(9));
  f.on_overlay_frame(T0, P(2), P(1), remote, rt, inject, out);
  out.clear();
  auto spoof = frame(kBroadcast, M(9));
  f.on_local_frame(T0, spoof, rt, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f.stats().dropped_mac_conflict, 1u);
}

TEST(Forwarder, StpAndOwnLocalTrafficAreDropped) {
  auto view = line(2);
  RouteTable rt(view, P(1));
  Forwarder f(P(1));
  std::vector<OverlaySend> out;
  auto stp = frame(*Mac::parse("01:80:c2:00:00:00"), M(1));
  f.on_local_frame(T0, stp, rt, out);
  auto a = frame(M(2), M(1));
  f.on_local_frame(T0, a, rt, out);  // M(2) unknown -> flooded
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  auto b = frame(M(1), M(2));  // M(2) now local too; M(1) local -> nothing to send
  f.on_local_frame(T0, b, rt, out);
  EXPECT_TRUE(out.empty());
  Bytes runt(10, 1);
  f.on_local_frame(T0, runt, rt, out);
  EXPECT_TRUE(out.empty());
}

TEST(Forwarder, MacCacheExpiresAndForgetsGonePeers) {
  MacCache c;
  EXPECT_EQ(c.add(M(1), P(1), T0), MacCache::AddResult::added);
  EXPECT_EQ(c.add(M(1), P(1), T0 + std::chrono::seconds(5)), MacCache::AddResult::unchanged);
  EXPECT_EQ(c.add(M(1), P(2), T0), MacCache::AddResult::conflict);
  EXPECT_TRUE(c.add_forced(M(1), P(2), T0));
  EXPECT_EQ(c.lookup(M(1)), P(2));
  c.add(M(2), P(3), T0);
  EXPECT_EQ(c.delete_peer(P(3)), 1u);
  EXPECT_EQ(c.expire(T0 + MacCache::kMaxAge + std::chrono::seconds(1)), 1u);
  EXPECT_EQ(c.size(), 0u);
}

// Floods a broadcast from every peer of random meshes through per-peer forwarders and checks every
// peer's bridge gets it exactly once: no loops, no duplicates, no gaps.
TEST(Forwarder, BroadcastReachesEveryPeerExactlyOnceOnRandomMeshes) {
  SeededRandom rng(42);
  for (int trial = 0; trial < 30; ++trial) {
    int n = 3 + static_cast<int>(rng.uniform(12));
    auto view = std::make_shared<TopologyView>();
    for (int i = 2; i <= n; ++i) {
      int j = 1 + static_cast<int>(rng.uniform(static_cast<std::uint64_t>(i - 1)));
      view->add_link(P(i), P(j), true);
      view->add_link(P(j), P(i), true);
    }
    for (int k = 0; k < n; ++k) {
      int a = 1 + static_cast<int>(rng.uniform(n)), b = 1 + static_cast<int>(rng.uniform(n));
      if (a != b) {
        view->add_link(P(a), P(b), true);
        view->add_link(P(b), P(a), true);
      }
    }
    std::map<PeerName, std::unique_ptr<Forwarder>> fw;
    std::map<PeerName, std::unique_ptr<RouteTable>> rts;
    for (int i = 1; i <= n; ++i) {
      fw[P(i)] = std::make_unique<Forwarder>(P(i));
      rts[P(i)] = std::make_unique<RouteTable>(view, P(i));
    }
    for (int s = 1; s <= n; ++s) {
      std::map<PeerName, int> injected, received;
      auto fr = frame(kBroadcast, M(s));
      std::vector<OverlaySend> out;
      fw[P(s)]->on_local_frame(T0, fr, *rts[P(s)], out);
      std::deque<OverlaySend> q(out.begin(), out.end());
      int steps = 0;
      while (!q.empty() && ++steps < 10000) {
        auto m = q.front();
        q.pop_front();
        bool inject = false;
        std::vector<OverlaySend> next;
        received[m.next_hop]++;
        fw[m.next_hop]->on_overlay_frame(T0, m.src_peer, m.dst_peer, m.frame, *rts[m.next_hop], inject, next);
        if (inject) injected[m.next_hop]++;
        q.insert(q.end(), next.begin(), next.end());
      }
      for (int i = 1; i <= n; ++i) {
        if (i == s) continue;
        EXPECT_EQ(injected[P(i)], 1) << "trial " << trial << " src " << s << " peer " << i;
        // Received once too: a tree, not a mesh whose duplicates the duplicate filter hides.
        EXPECT_EQ(received[P(i)], 1) << "trial " << trial << " src " << s << " peer " << i;
      }
      EXPECT_EQ(injected[P(s)], 0);
    }
  }
}

// Two routers whose views disagree about where 1 sits each think the other is its child in 1's
// broadcast tree. Without split horizon and the duplicate filter one broadcast bounced between
// them for ever (seen on 50 release routers: a storm that starved their event loops).
TEST(Forwarder, DisagreeingViewsDoNotBounceABroadcast) {
  auto v2 = std::make_shared<TopologyView>();  // 2 sees 1 - 2 - 3
  v2->add_link(P(1), P(2), true);
  v2->add_link(P(2), P(1), true);
  v2->add_link(P(2), P(3), true);
  v2->add_link(P(3), P(2), true);
  auto v3 = std::make_shared<TopologyView>();  // 3 sees 1 - 3 - 2
  v3->add_link(P(1), P(3), true);
  v3->add_link(P(3), P(1), true);
  v3->add_link(P(3), P(2), true);
  v3->add_link(P(2), P(3), true);
  RouteTable rt2(v2, P(2)), rt3(v3, P(3));
  for (bool split_horizon : {true, false}) {
    Forwarder f2(P(2)), f3(P(3));
    auto fr = frame(kBroadcast, M(1));
    std::deque<OverlaySend> q{OverlaySend{P(2), P(1), P(2), fr}};
    PeerName prev = P(1);
    int steps = 0, injected = 0;
    while (!q.empty() && ++steps < 100) {
      auto m = q.front();
      q.pop_front();
      bool inject = false;
      std::vector<OverlaySend> next;
      auto& f = m.next_hop == P(2) ? f2 : f3;
      auto& rt = m.next_hop == P(2) ? rt2 : rt3;
      f.on_overlay_frame(T0 + std::chrono::milliseconds(steps), m.src_peer, m.dst_peer, m.frame, rt, inject, next,
                         split_horizon ? std::optional<PeerName>(prev) : std::nullopt);
      injected += inject ? 1 : 0;
      prev = m.next_hop;
      for (auto& n : next) {
        if (n.next_hop == P(2) || n.next_hop == P(3)) q.push_back(n);
      }
    }
    EXPECT_LT(steps, 5) << (split_horizon ? "split horizon" : "duplicate filter");
    EXPECT_EQ(injected, 2);  // each bridge once
    EXPECT_EQ(
        f2.stats().dropped_loop + f3.stats().dropped_loop + f2.stats().dropped_duplicate + f3.stats().dropped_duplicate,
        1u);
  }
}

TEST(Forwarder, FloodedFrameSeenAgainWithinTheWindowIsDropped) {
  auto view = line(3);
  RouteTable rt2(view, P(2));
  Forwarder f(P(2));
  auto fr = frame(kBroadcast, M(1));
  std::vector<OverlaySend> out;
  bool inject = false;
  f.on_overlay_frame(T0, P(1), P(2), fr, rt2, inject, out);
  EXPECT_TRUE(inject);
  ASSERT_EQ(out.size(), 1u);  // on to 3
  out.clear();
  f.on_overlay_frame(T0 + std::chrono::milliseconds(50), P(1), P(2), fr, rt2, inject, out);
  EXPECT_FALSE(inject);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f.stats().dropped_duplicate, 1u);
  // The same bytes from another source, or after the window, are a new frame.
  f.on_overlay_frame(T0 + std::chrono::milliseconds(60), P(3), P(2), fr, rt2, inject, out);
  EXPECT_TRUE(inject);
  f.on_overlay_frame(T0 + Forwarder::kDuplicateWindow + std::chrono::milliseconds(1), P(1), P(2), fr, rt2, inject, out);
  EXPECT_TRUE(inject);
  EXPECT_EQ(f.stats().dropped_duplicate, 1u);
  // Unicast for a local MAC is never filtered (TCP retransmits are identical).
  out.clear();
  bool local = false;
  f.on_local_frame(T0, frame(M(1), M(7)), rt2, out);  // M(7) is ours
  for (int i = 0; i < 3; ++i) {
    f.on_overlay_frame(T0 + std::chrono::milliseconds(200), P(1), P(2), frame(M(7), M(1)), rt2, local, out);
    EXPECT_TRUE(local);
  }
}

TEST(Forwarder, UnicastRelayNeverGoesBackWhereItCameFrom) {
  auto view = line(3);
  RouteTable rt2(view, P(2));
  Forwarder f(P(2));
  std::vector<OverlaySend> out;
  bool inject = false;
  auto fr = frame(M(3), M(1));
  f.on_overlay_frame(T0, P(1), P(3), fr, rt2, inject, out, P(3));  // from 3, for 3: a loop
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f.stats().dropped_loop, 1u);
  f.on_overlay_frame(T0, P(1), P(3), fr, rt2, inject, out, P(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].next_hop, P(3));
}

}  // namespace
}  // namespace weft::router
