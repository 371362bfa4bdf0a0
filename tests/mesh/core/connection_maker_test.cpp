#include <gtest/gtest.h>

#include "weft/mesh/connection_maker.hpp"

namespace weft::mesh {
namespace {

const TimePoint T0{std::chrono::hours(10)};

TEST(PeerAddress, ParsesLikeGo) {
  EXPECT_EQ(*PeerAddress::parse("10.0.0.1"), (PeerAddress{"10.0.0.1", 0}));
  EXPECT_EQ(*PeerAddress::parse("10.0.0.1:7000"), (PeerAddress{"10.0.0.1", 7000}));
  EXPECT_EQ(*PeerAddress::parse("[::1]:6783"), (PeerAddress{"::1", 6783}));
  EXPECT_EQ(PeerAddress::parse("x:y:z:0").error().message, "address x:y:z:0: too many colons in address");
  EXPECT_FALSE(PeerAddress::parse("host:http"));
  EXPECT_FALSE(PeerAddress::parse("host:70000"));
  EXPECT_FALSE(PeerAddress::parse(""));
  EXPECT_EQ((PeerAddress{"10.0.0.1", 0}.with_port(6783)), "10.0.0.1:6783");
}

struct Fixture {
  SeededRandom rng{1};
  Topology topo{PeerIdentity{PeerName(1), "me", 1, ShortID::from_uint(1)}, rng};
  std::map<ConnId, MeshCore::LocalConn> conns;
  ConnectionMaker cm{6783, true, rng};
};

TEST(ConnectionMaker, DialsDirectPeersAtOnceAndBacksOffOnFailure) {
  Fixture f;
  std::vector<std::string> peers{"10.0.0.2", "10.0.0.3:7000", "bad:a:b"};
  auto errors = f.cm.initiate(peers, false);
  ASSERT_EQ(errors.size(), 1u);
  auto dials = f.cm.refresh(T0, f.topo, f.conns);
  ASSERT_EQ(dials.size(), 2u);
  EXPECT_EQ(dials[0].address, "10.0.0.2:6783");
  EXPECT_TRUE(dials[0].accept_new_peer);
  EXPECT_EQ(dials[1].address, "10.0.0.3:7000");
  // Nothing more while attempts are in flight.
  EXPECT_TRUE(f.cm.refresh(T0, f.topo, f.conns).empty());
  f.cm.on_dial_failed(T0, "10.0.0.2:6783", "connection refused");
  auto& t = f.cm.targets().at("10.0.0.2:6783");
  EXPECT_EQ(t.state, ConnectionMaker::State::waiting);
  // delay = interval/2 + rand[0, interval) with interval 2 s
  EXPECT_GE(t.try_after - T0, std::chrono::seconds(1));
  EXPECT_LT(t.try_after - T0, std::chrono::seconds(3));
  EXPECT_TRUE(f.cm.refresh(T0 + std::chrono::milliseconds(999), f.topo, f.conns).empty());
  EXPECT_EQ(f.cm.refresh(T0 + std::chrono::seconds(3), f.topo, f.conns).size(), 1u);
  // Intervals grow by 1.5x and cap at 6 minutes.
  auto now = T0 + std::chrono::seconds(3);
  for (int i = 0; i < 30; ++i) {
    f.cm.on_dial_failed(now, "10.0.0.2:6783", "refused");
    now = f.cm.targets().at("10.0.0.2:6783").try_after;
    f.cm.refresh(now, f.topo, f.conns);
  }
  EXPECT_EQ(f.cm.targets().at("10.0.0.2:6783").try_interval, ConnectionMaker::kMaxInterval);
}

TEST(ConnectionMaker, LongLivedConnectionResetsBackoff) {
  Fixture f;
  std::vector<std::string> peers{"10.0.0.2"};
  f.cm.initiate(peers, false);
  f.cm.refresh(T0, f.topo, f.conns);
  f.cm.on_connected("10.0.0.2:6783");
  f.cm.on_terminated(T0 + std::chrono::minutes(5), "10.0.0.2:6783", T0, "EOF");
  EXPECT_EQ(f.cm.targets().at("10.0.0.2:6783").try_after, T0 + std::chrono::minutes(5));
  f.cm.refresh(T0 + std::chrono::minutes(5), f.topo, f.conns);
  f.cm.on_connected("10.0.0.2:6783");
  f.cm.on_terminated(T0 + std::chrono::minutes(5) + std::chrono::seconds(1), "10.0.0.2:6783",
                     T0 + std::chrono::minutes(5), "EOF");
  EXPECT_GT(f.cm.targets().at("10.0.0.2:6783").try_after, T0 + std::chrono::minutes(5) + std::chrono::seconds(1));
}

TEST(ConnectionMaker, ForgetAndReplaceAndNeverRetry) {
  Fixture f;
  std::vector<std::string> peers{"10.0.0.2", "10.0.0.3"};
  f.cm.initiate(peers, false);
  std::vector<std::string> forget{"10.0.0.2"};
  f.cm.forget(forget);
  EXPECT_EQ(f.cm.direct_peers(), std::vector<std::string>{"10.0.0.3"});
  std::vector<std::string> repl{"10.0.0.9"};
  f.cm.initiate(repl, true);
  EXPECT_EQ(f.cm.direct_peers(), std::vector<std::string>{"10.0.0.9"});
  f.cm.never_retry("10.0.0.9:6783");
  EXPECT_TRUE(f.cm.refresh(T0, f.topo, f.conns).empty());
}

TEST(ConnectionMaker, DiscoversPeersOfPeers) {
  Fixture f;
  // Peer 2 (connected to us) has an outbound connection to peer 3 and an inbound one from 4.
  PeerSummary p2{PeerName(2), "b", 22, 1, 2, true,
                 {{PeerName(1), "10.0.0.1:6783", false, true},
                  {PeerName(3), "10.0.0.3:6783", true, true},
                  {PeerName(4), "10.0.0.4:41234", false, true}}};
  ASSERT_TRUE(f.topo.apply_update({p2}).ok());
  MeshCore::LocalConn lc;
  lc.info.remote.name = PeerName(2);
  lc.info.outbound = true;
  lc.info.remote_tcp_addr = "10.0.0.2:6783";
  f.conns[1] = lc;
  auto dials = f.cm.refresh(T0, f.topo, f.conns);
  std::set<std::string> addrs;
  for (auto& d : dials) {
    addrs.insert(d.address);
    EXPECT_FALSE(d.accept_new_peer);
  }
  EXPECT_EQ(addrs, (std::set<std::string>{"10.0.0.3:6783", "10.0.0.4:6783"}));
  ConnectionMaker off(6783, false, f.rng);
  EXPECT_TRUE(off.refresh(T0, f.topo, f.conns).empty());
}

// Issue 18, item 2: a peer that gossips thousands of fake peers, each "connected" to an address
// of its choosing, made every router dial all of them at once, and recompute every target after
// each failed dial.
struct FakePeers {
  Fixture f;
  explicit FakePeers(int n) {
    PeerSummary rogue{PeerName(2), "rogue", 22, 1, 2, true, {{PeerName(1), "10.0.0.1:6783", false, true}}};
    std::vector<PeerSummary> update;
    for (int i = 0; i < n; ++i) {
      PeerName fake(0x100000 + static_cast<std::uint64_t>(i));
      rogue.connections.push_back({fake, "10.9.0.1:6783", true, true});
      update.push_back(PeerSummary{fake, "fake", static_cast<std::uint64_t>(i) + 9, 1, 0, false,
                                   {{PeerName(2), "10.0.0.2:6783", false, true},
                                    {PeerName(0x900000 + static_cast<std::uint64_t>(i)),
                                     fmt::format("10.{}.{}.{}:6783", 100 + i / 65536, (i / 256) % 256, i % 256), true, true}}});
    }
    update.insert(update.begin(), rogue);
    EXPECT_TRUE(f.topo.apply_update(update).ok());
    MeshCore::LocalConn lc;
    lc.info.remote.name = PeerName(2);
    lc.info.outbound = false;
    lc.info.remote_tcp_addr = "10.0.0.2:40000";
    f.conns[1] = lc;
  }
};

TEST(ConnectionMaker, TargetsLearnedFromGossipAreBounded) {
  FakePeers p(3000);
  std::vector<std::string> direct{"10.0.0.3"};
  p.f.cm.initiate(direct, false);
  auto dials = p.f.cm.refresh(T0, p.f.topo, p.f.conns);
  EXPECT_LE(p.f.cm.targets().size(), ConnectionMaker::kMaxDiscoveredTargets + 1);
  // The budget: a burst at once, the direct peer first.
  ASSERT_EQ(dials.size(), static_cast<std::size_t>(ConnectionMaker::kDialBurst));
  EXPECT_EQ(dials[0].address, "10.0.0.3:6783");
  EXPECT_TRUE(dials[0].accept_new_peer);
  // Then one more per kDialRefill, however many targets are due.
  auto now = T0;
  std::size_t total = dials.size();
  for (int i = 0; i < 10; ++i) {
    now += ConnectionMaker::kDialRefill;
    total += p.f.cm.refresh(now, p.f.topo, p.f.conns).size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(ConnectionMaker::kDialBurst) + 10);
  ASSERT_TRUE(p.f.cm.next_wake());
  EXPECT_LE(*p.f.cm.next_wake(), now + ConnectionMaker::kDialRefill);
}

TEST(ConnectionMaker, AttemptsInFlightAreBounded) {
  FakePeers p(1000);
  auto now = T0;
  std::size_t in_flight = 0;
  for (int i = 0; i < 200; ++i) {
    now += std::chrono::seconds(1);
    in_flight += p.f.cm.refresh(now, p.f.topo, p.f.conns).size();
  }
  EXPECT_EQ(in_flight, ConnectionMaker::kMaxAttempting);
}

TEST(ConnectionMaker, AFailedDialDoesNotRecomputeTargets) {
  FakePeers p(3000);
  auto dials = p.f.cm.refresh(T0, p.f.topo, p.f.conns);
  ASSERT_FALSE(dials.empty());
  // Without invalidate(), refresh works from the target table: a topology change is not seen...
  Topology empty{PeerIdentity{PeerName(1), "me", 1, ShortID::from_uint(1)}, p.f.rng};
  p.f.cm.on_dial_failed(T0, dials[0].address, "refused");
  p.f.cm.refresh(T0, empty, p.f.conns);
  EXPECT_GT(p.f.cm.targets().size(), 100u);
  // ...until the shell says the topology changed.
  p.f.cm.invalidate();
  p.f.cm.refresh(T0, empty, p.f.conns);
  for (auto& [addr, t] : p.f.cm.targets()) EXPECT_NE(t.state, ConnectionMaker::State::waiting) << addr;
}

}  // namespace
}  // namespace weft::mesh
