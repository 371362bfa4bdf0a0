// The data-plane shell end to end inside one process: three real MeshNodes on 127.0.0.1 (A-B-C,
// A and C not connected), each with an OverlayShell over a FakeDatapath and a LoopbackNet
// underlay. Checks that connections establish through sleeve heartbeats, that a broadcast from
// A's bridge reaches B's and C's bridges exactly once, and that unicast to a learned MAC is
// relayed A -> B -> C and never reaches B's bridge.
#include <gtest/gtest.h>

#include <deque>

#include "weft/datapath/fake_datapath.hpp"
#include "weft/datapath/loopback_underlay.hpp"
#include "weft/router_net/overlay_shell.hpp"

namespace weft::router_net {
namespace {

struct Node {
  std::unique_ptr<mesh_net::MeshNode> mesh;
  std::unique_ptr<OverlayShell> shell;
  datapath::FakeDatapath* dp = nullptr;
};

Bytes frame(Mac dst, Mac src, std::size_t payload = 100) {
  Bytes f;
  f.insert(f.end(), dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), src.bytes().begin(), src.bytes().end());
  f.push_back(0x88);  // a local-experimental ethertype: not IPv4, so no DF rules apply
  f.push_back(0xb5);
  f.resize(f.size() + payload, 0x42);
  return f;
}

class OverlayShellTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  datapath::LoopbackNet net{7};
  SeededRandom rng{3};
  std::deque<Node> nodes;  // NB: references to nodes stay valid as more are added

  Node& add(std::uint64_t name) {
    mesh_net::NodeConfig cfg;
    cfg.self = mesh::PeerIdentity{PeerName(name), fmt::format("n{}", name), name * 1000 + 1, ShortID::from_uint(name)};
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.discovery = false;
    Node n;
    n.mesh = std::make_unique<mesh_net::MeshNode>(io, cfg, rng, null_logger());
    EXPECT_TRUE(n.mesh->listen().ok());
    auto dp = std::make_unique<datapath::FakeDatapath>();
    n.dp = dp.get();
    auto ul = net.bind(datapath::UdpEndpoint{*Ipv4::parse("127.0.0.1"), n.mesh->bound_port()});
    n.shell = std::make_unique<OverlayShell>(io, *n.mesh, std::move(dp), std::move(ul), 1438, null_logger());
    n.shell->start();
    n.mesh->start();
    nodes.push_back(std::move(n));
    return nodes.back();
  }
  template <typename F>
  bool run_until(F done, std::chrono::seconds limit = std::chrono::seconds(10)) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      io.run_for(std::chrono::milliseconds(20));
      if (done()) return true;
    }
    return false;
  }
  void TearDown() override {
    for (auto& n : nodes) {
      n.shell->stop();
      n.mesh->stop();
    }
    io.run_for(std::chrono::milliseconds(50));
  }
};

TEST_F(OverlayShellTest, BroadcastAndRelayedUnicastAcrossThreePeers) {
  auto& a = add(0x0a0000000001);
  auto& b = add(0x0a0000000002);
  auto& c = add(0x0a0000000003);
  std::vector<std::string> to_b{fmt::format("127.0.0.1:{}", b.mesh->bound_port())};
  a.mesh->connect(to_b, false);
  c.mesh->connect(to_b, false);
  auto established = [&](Node& n, std::size_t want) {
    std::size_t k = 0;
    for (auto& [id, conn] : n.mesh->core().connections()) k += conn.established ? 1 : 0;
    return k == want;
  };
  auto all_routes = [&] {
    return established(a, 1) && established(b, 2) && established(c, 1) &&
           a.mesh->core().routes().unicast(PeerName(0x0a0000000003)).has_value() &&
           c.mesh->core().routes().unicast(PeerName(0x0a0000000001)).has_value();
  };
  ASSERT_TRUE(run_until(all_routes)) << "mesh did not establish";

  const Mac ma = *Mac::parse("02:aa:00:00:00:01"), mc = *Mac::parse("02:cc:00:00:00:03");
  const Mac bcast = *Mac::parse("ff:ff:ff:ff:ff:ff");
  a.dp->inject_from_bridge(frame(bcast, ma));
  ASSERT_TRUE(run_until([&] { return b.dp->sent().size() == 1 && c.dp->sent().size() == 1; }));
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b.dp->sent().size(), 1u);  // exactly once: no loops, no duplicates
  EXPECT_EQ(c.dp->sent().size(), 1u);
  EXPECT_EQ(a.dp->sent().size(), 0u);  // never back to the sender's bridge
  EXPECT_EQ(c.dp->sent()[0], frame(bcast, ma));

  // C answers A: C learned ma -> A from the broadcast, so this is unicast, relayed by B.
  b.dp->take_sent();
  c.dp->inject_from_bridge(frame(ma, mc));
  ASSERT_TRUE(run_until([&] { return a.dp->sent().size() == 1; }));
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(b.dp->sent().empty()) << "B's bridge saw a unicast it only relays";
  EXPECT_EQ(b.shell->forwarder().stats().relayed, 1u);
  // And now A knows mc: its reply is unicast too.
  a.dp->inject_from_bridge(frame(mc, ma));
  ASSERT_TRUE(run_until([&] { return c.dp->sent().size() == 2; }));
  EXPECT_EQ(a.shell->forwarder().stats().local_unicast, 1u);
  EXPECT_EQ(b.shell->forwarder().stats().relayed, 2u);
}

// Issue 19: two routers dialling each other at once make duplicate connections; the one that
// loses the tie-break must leave no sleeve forwarder behind (an address-less stale forwarder made
// the shell re-arm its timer in the past, spinning a core for 60 s).
TEST_F(OverlayShellTest, TieBreakLeavesNoStaleSleeveForwarder) {
  std::vector<std::pair<Node*, Node*>> pairs;
  for (std::uint64_t k = 0; k < 4; ++k) {
    auto& a = add(0x0b0000000001 + 2 * k);
    auto& b = add(0x0b0000000002 + 2 * k);
    a.mesh->connect({fmt::format("127.0.0.1:{}", b.mesh->bound_port())}, false);
    b.mesh->connect({fmt::format("127.0.0.1:{}", a.mesh->bound_port())}, false);
    pairs.emplace_back(&a, &b);
  }
  auto settled = [&](Node& n) {
    auto& conns = n.mesh->core().connections();
    return conns.size() == 1 && conns.begin()->second.established && n.mesh->handshaking().empty();
  };
  ASSERT_TRUE(run_until([&] {
    for (auto [a, b] : pairs) {
      if (!settled(*a) || !settled(*b)) return false;
    }
    return true;
  }));
  io.run_for(std::chrono::milliseconds(200));  // let the losing connections finish closing
  for (auto [a, b] : pairs) {
    for (Node* n : {a, b}) {
      auto st = n->shell->sleeve().status();
      ASSERT_EQ(st.size(), 1u) << "stale sleeve forwarder left by the tie-break";
      EXPECT_TRUE(n->mesh->core().connections().count(st[0].conn));
      EXPECT_TRUE(st[0].remote_addr.has_value());
    }
  }
}

// Issue 19: the core's tick timer is re-armed only when its deadline moves, not on every message.
TEST_F(OverlayShellTest, MessagesDoNotReArmTheTickTimer) {
  auto& a = add(0x0c0000000001);
  auto& b = add(0x0c0000000002);
  a.mesh->connect({fmt::format("127.0.0.1:{}", b.mesh->bound_port())}, false);
  ASSERT_TRUE(run_until([&] {
    auto& c = b.mesh->core().connections();
    return c.size() == 1 && c.begin()->second.established;
  }));
  io.run_for(std::chrono::milliseconds(1500));  // past the 1 s topology batching and GC timers
  const auto arms = b.mesh->tick_arms();
  const auto received = b.mesh->gossip_bytes_received();
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) {
    a.mesh->with_effects([&](mesh::Effects& fx) {
      a.mesh->core().sender("weft-test", Clock::now(), fx)->broadcast(Bytes{1, 2, 3, static_cast<std::uint8_t>(i)});
    });
  }
  ASSERT_TRUE(run_until([&] { return b.mesh->gossip_bytes_received() >= received + kMessages * 4; }));
  EXPECT_LT(b.mesh->tick_arms() - arms, 10u) << "the tick timer was re-armed per message";
}

}  // namespace
}  // namespace weft::router_net
