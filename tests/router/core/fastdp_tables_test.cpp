#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "weft/router/fastdp_tables.hpp"

namespace weft::router {
namespace {

const PeerName kA(0xaa0000000001u), kB(0xaa0000000002u), kC(0xaa0000000003u), kD(0xaa0000000004u);
const TimePoint T0{std::chrono::hours(1)};
const Ipv4 kIpB(0x0a000002), kIpD(0x0a000004);

Mac mac(int n) { return *Mac::parse(fmt::format("02:00:00:00:00:{:02x}", n)); }

void link(mesh::TopologyView& v, PeerName a, PeerName b) {
  v.add_link(a, b, true);
  v.add_link(b, a, true);
}

/// A - B - C, and A - D: we are A; B and D are neighbours, C is behind B.
struct World {
  mesh::RouteTable routes;
  MacCache macs;
  std::map<PeerName, ShortID> ids{{kA, *ShortID::from_uint(1)},
                                  {kB, *ShortID::from_uint(2)},
                                  {kC, *ShortID::from_uint(3)},
                                  {kD, *ShortID::from_uint(4)}};
  World() : routes(make()) {
    macs.add(mac(1), kA, T0);
    macs.add_forced(mac(2), kB, T0);
    macs.add_forced(mac(3), kC, T0);
    macs.add_forced(mac(4), kD, T0);
  }
  static mesh::RouteTable make() {
    auto v = std::make_shared<mesh::TopologyView>();
    link(*v, kA, kB);
    link(*v, kB, kC);
    link(*v, kA, kD);
    return mesh::compute_routes(v, kA);
  }
  FastdpTablesInput input(std::set<PeerName> fast) {
    FastdpTablesInput in;
    in.self = kA;
    in.macs = &macs;
    in.routes = &routes;
    in.short_ids = ids;
    in.fast_neighbour = [fast](PeerName p) -> std::optional<Ipv4> {
      if (!fast.contains(p)) return std::nullopt;
      return p == kB ? kIpB : kIpD;
    };
    return in;
  }
};

TEST(FastdpTables, FollowTheMacCacheAndTheRoutes) {
  World w;
  auto t = derive_fastdp_tables(w.input({kB, kD}));
  using E = FastdpTables::MacEntry;
  EXPECT_EQ(t.macs, (std::map<Mac, E>{{mac(1), E{1, true}}, {mac(2), E{2, false}}, {mac(3), E{3, false}},
                                      {mac(4), E{4, false}}}));
  using H = FastdpTables::Hop;
  // C is reached through B: its VXLAN goes to B's address (B relays in its kernel).
  EXPECT_EQ(t.hops, (std::map<std::uint16_t, H>{{2, H{kIpB, true}}, {3, H{kIpB, true}}, {4, H{kIpD, true}}}));
  // Our broadcasts: one copy to each neighbour, addressed to it.
  ASSERT_TRUE(t.floods.contains(1));
  EXPECT_TRUE(t.floods[1].kernel);
  EXPECT_EQ(t.floods[1].hops,
            (std::vector<FastdpTables::FloodHop>{{kIpB, 2}, {kIpD, 4}}));
  // C's broadcasts reach us through B; we pass them on to D only.
  EXPECT_EQ(t.floods[3].hops, (std::vector<FastdpTables::FloodHop>{{kIpD, 4}}));
  EXPECT_TRUE(t.floods[3].kernel);
  // D's broadcasts: we pass them to B.
  EXPECT_EQ(t.floods[4].hops, (std::vector<FastdpTables::FloodHop>{{kIpB, 2}}));
}

TEST(FastdpTables, SleeveNeighboursStayWithWeaver) {
  World w;
  auto t = derive_fastdp_tables(w.input({kD}));  // B is on the sleeve (e.g. --no-fastdp)
  EXPECT_FALSE(t.hops[2].vxlan);
  EXPECT_FALSE(t.hops[3].vxlan);  // C is behind B
  EXPECT_TRUE(t.hops[4].vxlan);
  EXPECT_FALSE(t.floods[1].kernel);  // one next hop is sleeve: weaver floods
  EXPECT_TRUE(t.floods[1].hops.empty());
  EXPECT_TRUE(t.floods[3].kernel);  // C's broadcasts only go on to D
}

TEST(FastdpTables, CollidingShortIdsAreLeftOut) {
  World w;
  w.ids[kC] = *ShortID::from_uint(2);  // B and C both claim 2
  auto t = derive_fastdp_tables(w.input({kB, kD}));
  EXPECT_FALSE(t.macs.contains(mac(2)));
  EXPECT_FALSE(t.macs.contains(mac(3)));
  EXPECT_FALSE(t.hops.contains(2));
  EXPECT_FALSE(t.floods[1].kernel);  // B cannot be named on the wire
  EXPECT_TRUE(t.hops[4].vxlan);
  // Without a ShortID of our own nothing goes to the kernel.
  w.ids[kA] = *ShortID::from_uint(4);
  auto none = derive_fastdp_tables(w.input({kB, kD}));
  EXPECT_TRUE(none.macs.empty() && none.hops.empty() && none.floods.empty());
}

TEST(FastdpTables, DiffWritesOnlyChanges) {
  World w;
  auto a = derive_fastdp_tables(w.input({kB, kD}));
  EXPECT_TRUE(diff_fastdp_tables(a, a).empty());
  w.macs.add_forced(mac(2), kD, T0);  // the MAC moved from B to D
  w.macs.delete_peer(kC);
  auto b = derive_fastdp_tables(w.input({kD}));
  auto d = diff_fastdp_tables(a, b);
  EXPECT_EQ(d.mac_set, (std::vector<std::pair<Mac, FastdpTables::MacEntry>>{{mac(2), {4, false}}}));
  EXPECT_EQ(d.mac_del, std::vector<Mac>{mac(3)});
  EXPECT_EQ(d.hop_set.size(), 2u);  // B and C are no longer VXLAN
  EXPECT_TRUE(d.hop_del.empty());
  auto back = diff_fastdp_tables(b, FastdpTables{});
  EXPECT_EQ(back.mac_del.size(), b.macs.size());
  EXPECT_EQ(back.hop_del.size(), b.hops.size());
  EXPECT_EQ(back.flood_del.size(), b.floods.size());
}

TEST(FastdpTables, DirectPortsOnlyForLocalMacs) {
  World w;
  w.macs.add(mac(5), kA, T0);  // a second local container, its port not (yet) in the bridge's table
  // The bridge has mac(1) on port 7; a stale entry names B's mac(2), which lives behind B now.
  const std::map<Mac, std::uint32_t> ports{{mac(1), 7}, {mac(2), 9}};
  auto in = w.input({kB, kD});
  in.direct_ports = &ports;
  auto t = derive_fastdp_tables(in);
  using E = FastdpTables::MacEntry;
  EXPECT_EQ(t.macs.at(mac(1)), (E{1, true, 7}));
  EXPECT_EQ(t.macs.at(mac(5)), (E{1, true, 0}));   // through the bridge
  EXPECT_EQ(t.macs.at(mac(2)), (E{2, false, 0}));  // remote: the port means nothing
  // The port going away (container gone, or direct delivery turned off) is a map write.
  auto before = derive_fastdp_tables(in);
  in.direct_ports = nullptr;
  auto d = diff_fastdp_tables(before, derive_fastdp_tables(in));
  EXPECT_EQ(d.mac_set, (std::vector<std::pair<Mac, E>>{{mac(1), E{1, true, 0}}}));
  EXPECT_TRUE(d.mac_del.empty());
}

}  // namespace
}  // namespace weft::router
