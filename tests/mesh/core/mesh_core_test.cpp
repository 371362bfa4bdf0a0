#include <gtest/gtest.h>

#include "mesh_sim.hpp"
#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/topology_codec.hpp"
#include "weft/mesh/topology_sync.hpp"

namespace weft::mesh {
namespace {

using test::MeshSim;

PeerName P(std::uint64_t v) { return PeerName(0x020000000000ull | v); }

/// A channel that records what it receives and relays broadcasts.
class RecordingChannel final : public GossipChannel {
 public:
  std::vector<Bytes> full_state(TimePoint) override { return {}; }
  Result<std::optional<Bytes>> on_gossip(TimePoint, PeerName, ByteSpan p, GossipSender&) override {
    gossip.emplace_back(p.begin(), p.end());
    return std::optional<Bytes>{};
  }
  Result<std::optional<Bytes>> on_broadcast(TimePoint, PeerName src, ByteSpan p, GossipSender&) override {
    broadcasts.emplace_back(src, Bytes(p.begin(), p.end()));
    return std::optional<Bytes>(Bytes(p.begin(), p.end()));
  }
  Result<void> on_unicast(TimePoint, PeerName src, ByteSpan p, GossipSender&) override {
    unicasts.emplace_back(src, Bytes(p.begin(), p.end()));
    if (fail_unicast) return make_error("bad unicast");
    return {};
  }
  std::vector<Bytes> gossip;
  std::vector<std::pair<PeerName, Bytes>> broadcasts, unicasts;
  bool fail_unicast = false;
};

TEST(MeshCore, LineOfThreeLearnsEveryPeerAndRoutesThroughTheMiddle) {
  MeshSim sim(1);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  ASSERT_TRUE(sim.connect(a, b));
  ASSERT_TRUE(sim.connect(c, b));
  sim.run(std::chrono::seconds(3));
  for (auto i : {a, b, c}) EXPECT_EQ(sim.core(i).topology().peers().size(), 3u) << i;
  auto& routes = sim.core(a).routes();
  EXPECT_EQ(routes.unicast(P(3)), P(2));
  EXPECT_EQ(routes.unicast(P(2)), P(2));
  EXPECT_EQ(sim.core(c).routes().unicast(P(1)), P(2));
  // Broadcast from A reaches C through B only.
  EXPECT_EQ(sim.core(b).routes().broadcast(P(1)), std::vector<PeerName>{P(3)});
  EXPECT_TRUE(sim.core(c).routes().broadcast(P(1)).empty());
}

TEST(MeshCore, PeerGoneAfterDisconnectIsGarbageCollected) {
  MeshSim sim(2);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  sim.connect(a, b);
  sim.connect(b, c);
  sim.run(std::chrono::seconds(3));
  ASSERT_NE(sim.core(a).topology().find(P(3)), nullptr);
  sim.disconnect(b, c);
  sim.run(std::chrono::seconds(3));
  EXPECT_EQ(sim.core(a).topology().find(P(3)), nullptr);
  EXPECT_EQ(sim.core(c).topology().find(P(1)), nullptr);
}

TEST(MeshCore, RefusesOurselvesAndNameCollisions) {
  MeshSim sim(3);
  auto a = sim.add_node(P(1), "a", 11), twin = sim.add_node(P(1), "twin", 12);
  EXPECT_FALSE(sim.connect(a, twin));
  Effects fx;
  ConnectionInfo self;
  self.remote.name = P(1);
  self.remote.uid = 11;
  auto r = sim.core(a).add_connection(sim.now(), 999, self, fx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefuseKind::ourself);
  self.remote.uid = 12;
  r = sim.core(a).add_connection(sim.now(), 999, self, fx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefuseKind::name_collision);
}

TEST(MeshCore, DuplicateConnectionKeepsLowerConnUid) {
  MeshSim sim(4);
  auto a = sim.add_node(P(1));
  auto& core = sim.core(a);
  Effects fx;
  ConnectionInfo i1;
  i1.remote = RemoteFeatures{P(2), "b", 5, 1, std::nullopt, false, std::nullopt, std::nullopt, std::nullopt};
  i1.conn_uid = 100;
  i1.outbound = true;
  EXPECT_FALSE(core.add_connection(sim.now(), 1, i1, fx));
  auto i2 = i1;
  i2.conn_uid = 200;  // higher: loses
  auto r = core.add_connection(sim.now(), 2, i2, fx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefuseKind::duplicate);
  auto i3 = i1;
  i3.conn_uid = 50;  // lower: wins, the old one is closed
  EXPECT_FALSE(core.add_connection(sim.now(), 3, i3, fx));
  ASSERT_EQ(fx.closes.size(), 1u);
  EXPECT_EQ(fx.closes[0].first, 1u);
  // The dropped connection is reported, so the shell releases its sleeve state: its own close
  // arrives later, when the core no longer knows it (issue 19: a stale forwarder spun a core).
  ASSERT_EQ(fx.removed.size(), 1u);
  EXPECT_EQ(fx.removed[0], std::make_pair(ConnId{1}, P(2)));
  EXPECT_EQ(core.connections().size(), 1u);
  EXPECT_TRUE(core.connections().count(3));
  auto i4 = i1;
  i4.conn_uid = 50;  // tie: both go
  fx = {};
  EXPECT_TRUE(core.add_connection(sim.now(), 4, i4, fx));
  EXPECT_TRUE(core.connections().empty());
  ASSERT_EQ(fx.removed.size(), 1u);
  EXPECT_EQ(fx.removed[0].first, 3u);
  // Removing a connection the core no longer has reports nothing (no double release).
  fx = {};
  core.remove_connection(sim.now(), 3, fx);
  EXPECT_TRUE(fx.removed.empty());
}

TEST(MeshCore, ConnectionLimit) {
  MeshSim sim(5);
  mesh::MeshConfig cfg;
  cfg.self = PeerIdentity{P(1), "a", 1, ShortID::from_uint(1)};
  cfg.conn_limit = 1;
  SeededRandom rng(1);
  MeshCore core(cfg, rng, null_logger());
  Effects fx;
  ConnectionInfo i;
  i.remote = RemoteFeatures{P(2), "b", 5, 1, std::nullopt, false, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_FALSE(core.add_connection(sim.now(), 1, i, fx));
  i.remote.name = P(3);
  auto r = core.add_connection(sim.now(), 2, i, fx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefuseKind::limit);
}

TEST(MeshCore, SurrogateRelaysBroadcastsOfChannelsItDoesNotImplement) {
  MeshSim sim(6);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  RecordingChannel ca, cc;
  sim.core(a).add_channel("IPallocation", ca);
  sim.core(c).add_channel("IPallocation", cc);  // b has no such channel
  sim.connect(a, b);
  sim.connect(b, c);
  sim.run(std::chrono::seconds(3));
  Effects fx;
  sim.core(a).sender("IPallocation", sim.now(), fx)->broadcast(Bytes{9, 9});
  ASSERT_FALSE(fx.sends.empty());
  EXPECT_EQ(fx.sends[0].tag, ProtocolTag::gossip_broadcast);
  // Inject a's effects into the sim by delivering through b manually.
  auto env = encode_gossip_envelope(GossipEnvelope{"IPallocation", P(1), {}, Bytes{9, 9}}, false);
  Effects fb;
  auto bconn = sim.core(b).connections().begin()->first;
  for (auto& [id, lc] : sim.core(b).connections()) {
    if (lc.info.remote.name == P(1)) bconn = id;
  }
  sim.core(b).on_message(sim.now(), bconn, ProtocolMessage{ProtocolTag::gossip_broadcast, env}, fb);
  ASSERT_EQ(fb.sends.size(), 1u);  // relayed on to c only
  EXPECT_EQ(sim.core(b).connections().at(fb.sends[0].conn).info.remote.name, P(3));
  auto relayed = decode_gossip_envelope(fb.sends[0].payload, false);
  ASSERT_TRUE(relayed.ok());
  EXPECT_EQ(relayed->src, P(1));  // original source kept
  EXPECT_EQ(relayed->payload, (Bytes{9, 9}));
}

/// Feeds tag-4 gossip on `channels` distinct unknown channels, then `payload` on one more, to the
/// middle node b of a-b-c from a; returns how many messages b sends for that last one.
std::size_t relays_past_surrogate_cap(std::uint64_t seed, const Bytes& payload) {
  MeshSim sim(seed);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  sim.connect(a, b);
  sim.connect(b, c);
  sim.run(std::chrono::seconds(3));
  mesh::ConnId from_a = 0;
  for (auto& [id, lc] : sim.core(b).connections()) {
    if (lc.info.remote.name == P(1)) from_a = id;
  }
  auto gossip = [&](const std::string& ch, const Bytes& p) {
    Effects fx;
    auto env = encode_gossip_envelope(GossipEnvelope{ch, P(1), {}, p}, false);
    sim.core(b).on_message(sim.now(), from_a, ProtocolMessage{ProtocolTag::gossip, env}, fx);
    return fx.sends.size();
  };
  for (int i = 0; i < 70; ++i) gossip("chan-" + std::to_string(i), Bytes{static_cast<std::uint8_t>(i)});
  return gossip("one-too-many", payload);
}

TEST(MeshCore, SurrogateBeyondTheCapBelongsToEachCore) {
  // Past 64 unknown channels the rest share one overflow surrogate, which drops tag-4 gossip it
  // saw within 30 s. It is per core: another core in the same process still relays the bytes.
  const Bytes payload{7, 7, 7};
  EXPECT_GT(relays_past_surrogate_cap(21, payload), 0u);
  EXPECT_GT(relays_past_surrogate_cap(21, payload), 0u);
}

TEST(MeshCore, UnicastIsRelayedAndDeliveredAndErrorsCloseTheConnection) {
  MeshSim sim(7);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  RecordingChannel ca, cc;
  sim.core(a).add_channel("IPallocation", ca);
  sim.core(c).add_channel("IPallocation", cc);
  sim.connect(a, b);
  sim.connect(b, c);
  sim.run(std::chrono::seconds(3));
  std::size_t relayed_by_b = 0;
  sim.on_deliver = [&](std::size_t from, std::size_t, const ProtocolMessage& m) {
    if (from == b && m.tag == ProtocolTag::gossip_unicast) ++relayed_by_b;
  };
  // a -> c unicast through the sim, via a's own Sender.
  {
    Effects fx;
    sim.core(a).sender("IPallocation", sim.now(), fx)->unicast(P(3), Bytes{1, 2, 3});
    ASSERT_EQ(fx.sends.size(), 1u);
    auto id = fx.sends[0].conn;
    EXPECT_EQ(sim.core(a).connections().at(id).info.remote.name, P(2));
  }
  // Drive it through the simulated network: call sender inside the sim by a tick hook is not
  // available, so re-send via a channel-less path: deliver to b as the sim would.
  auto env = encode_gossip_envelope(GossipEnvelope{"IPallocation", P(1), P(3), Bytes{1, 2, 3}}, true);
  Effects fb;
  ConnId b_from_a = 0;
  for (auto& [id, lc] : sim.core(b).connections()) {
    if (lc.info.remote.name == P(1)) b_from_a = id;
  }
  sim.core(b).on_message(sim.now(), b_from_a, ProtocolMessage{ProtocolTag::gossip_unicast, env}, fb);
  ASSERT_EQ(fb.sends.size(), 1u);
  EXPECT_EQ(fb.sends[0].payload, env);  // relayed byte for byte
  Effects fc;
  ConnId c_from_b = sim.core(c).connections().begin()->first;
  sim.core(c).on_message(sim.now(), c_from_b, ProtocolMessage{ProtocolTag::gossip_unicast, env}, fc);
  ASSERT_EQ(cc.unicasts.size(), 1u);
  EXPECT_EQ(cc.unicasts[0].first, P(1));
  EXPECT_TRUE(fc.closes.empty());
  cc.fail_unicast = true;
  sim.core(c).on_message(sim.now(), c_from_b, ProtocolMessage{ProtocolTag::gossip_unicast, env}, fc);
  EXPECT_EQ(fc.closes.size(), 1u);
  (void)relayed_by_b;
}

TEST(MeshCore, MalformedGossipAndTopologyUnicastCloseTheConnection) {
  MeshSim sim(8);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2));
  sim.connect(a, b);
  sim.run(std::chrono::seconds(2));
  auto id = sim.core(a).connections().begin()->first;
  auto before = sim.core(a).topology().peers();
  for (auto& msg : {ProtocolMessage{ProtocolTag::gossip, Bytes{1, 2, 3}},
                    ProtocolMessage{ProtocolTag::gossip_broadcast, Bytes{0xff}},
                    ProtocolMessage{ProtocolTag::gossip_unicast,
                                    encode_gossip_envelope(GossipEnvelope{"topology", P(2), P(1), Bytes{1}}, true)},
                    ProtocolMessage{ProtocolTag::gossip,
                                    encode_gossip_envelope(GossipEnvelope{"topology", P(2), {}, Bytes{1, 2}}, false)}}) {
    Effects fx;
    sim.core(a).on_message(sim.now(), id, msg, fx);
    EXPECT_EQ(fx.closes.size(), 1u);
  }
  EXPECT_EQ(sim.core(a).topology().peers().size(), before.size());
}

std::optional<ConnId> conn_of(MeshCore& core, PeerName remote) {
  for (auto& [id, c] : core.connections()) {
    if (c.info.remote.name == remote) return id;
  }
  return std::nullopt;
}

TEST(MeshCore, TopologySyncOnlyBetweenPeersThatNegotiatedItAndBadSyncClosesTheConnection) {
  MeshSim sim(11);
  sim.weft_gossip = true;
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2));
  sim.weft_gossip = false;
  auto c = sim.add_node(P(3));  // a Weave peer
  ASSERT_TRUE(sim.connect(a, b));
  ASSERT_TRUE(sim.connect(a, c));
  sim.run(std::chrono::seconds(2));
  auto sync = [&](PeerName src, Bytes payload) {
    return ProtocolMessage{
        ProtocolTag::gossip,
        encode_gossip_envelope(GossipEnvelope{std::string(kTopologySyncChannel), src, {}, std::move(payload)}, false)};
  };
  EXPECT_TRUE(sim.core(a).uses_digests(*conn_of(sim.core(a), P(2))));
  EXPECT_FALSE(sim.core(a).uses_digests(*conn_of(sim.core(a), P(3))));
  EXPECT_FALSE(sim.core(c).uses_digests(*conn_of(sim.core(c), P(1))));
  auto digest = encode_topology_sync(topology_digest(sim.core(b).topology()));
  {
    Effects fx;  // a well-formed digest from a weft peer: no close (and no answer: same table)
    sim.core(a).on_message(sim.now(), *conn_of(sim.core(a), P(2)), sync(P(2), digest), fx);
    EXPECT_TRUE(fx.closes.empty());
    EXPECT_TRUE(fx.sends.empty());
  }
  {
    Effects fx;  // a digest over a connection that did not negotiate it (a Weave peer's)
    sim.core(a).on_message(sim.now(), *conn_of(sim.core(a), P(3)), sync(P(3), digest), fx);
    EXPECT_EQ(fx.closes.size(), 1u);
  }
  for (auto& bad : {Bytes{}, Bytes{9}, Bytes{1, 0, 0}, Bytes{2, 0, 0, 0, 1}}) {
    Effects fx;
    sim.core(a).on_message(sim.now(), *conn_of(sim.core(a), P(2)), sync(P(2), bad), fx);
    EXPECT_EQ(fx.closes.size(), 1u) << to_hex(bad);
  }
  {
    Effects fx;  // sync messages are neighbour to neighbour: never as a broadcast
    auto m = sync(P(2), digest);
    m.tag = ProtocolTag::gossip_broadcast;
    sim.core(a).on_message(sim.now(), *conn_of(sim.core(a), P(2)), m, fx);
    EXPECT_EQ(fx.closes.size(), 1u);
  }
}

TEST(MeshCore, ARepeatOfAnUpdateThatChangedNothingIsSkippedUntilTheTableChanges) {
  MeshSim sim(12);
  constexpr std::size_t kLine = 30;  // a full state well over kNoopCacheMinBytes
  for (std::size_t i = 0; i < kLine; ++i) sim.add_node(P(i + 1));
  for (std::size_t i = 1; i < kLine; ++i) ASSERT_TRUE(sim.connect(i - 1, i));
  sim.run(std::chrono::seconds(5));
  ASSERT_EQ(sim.core(1).topology().peers().size(), kLine);
  auto full = encode_peer_updates(sim.core(0).topology().all_summaries());
  ASSERT_GE(full.size(), kNoopCacheMinBytes);
  auto msg =
      ProtocolMessage{ProtocolTag::gossip, encode_gossip_envelope(GossipEnvelope{"topology", P(1), {}, full}, false)};
  auto id = *conn_of(sim.core(1), P(1));
  auto feed = [&] {
    Effects fx;
    sim.core(1).on_message(sim.now(), id, msg, fx);
    EXPECT_TRUE(fx.closes.empty());
    EXPECT_TRUE(fx.sends.empty()) << "nothing new: nothing to relay";
  };
  auto skipped = [&] { return sim.core(1).sync_stats().unchanged_skipped; };
  feed();
  auto s0 = skipped();
  feed();
  EXPECT_EQ(skipped(), s0 + 1) << "the same bytes, the table unchanged: skipped unread";
  // The table changes (a new peer joins at the far end): the same bytes are merged again.
  sim.add_node(P(100));
  ASSERT_TRUE(sim.connect(kLine - 1, kLine));
  sim.run(std::chrono::seconds(3));
  ASSERT_NE(sim.core(1).topology().find(P(100)), nullptr);
  feed();
  EXPECT_EQ(skipped(), s0 + 1);
  feed();
  EXPECT_EQ(skipped(), s0 + 2);
  EXPECT_NE(sim.core(1).topology().find(P(100)), nullptr) << "skipping never loses what the table holds";
}

TEST(MeshCore, OverlayMessagesAreHandedToTheDatapathButEmptyTag7IsDropped) {
  MeshSim sim(9);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2));
  sim.connect(a, b);
  auto id = sim.core(a).connections().begin()->first;
  Effects fx;
  sim.core(a).on_message(sim.now(), id, ProtocolMessage{ProtocolTag::overlay_control, Bytes{}}, fx);
  EXPECT_TRUE(fx.overlay.empty());
  sim.core(a).on_message(sim.now(), id, ProtocolMessage{ProtocolTag::overlay_control, Bytes{0, 1}}, fx);
  ASSERT_EQ(fx.overlay.size(), 1u);
  EXPECT_EQ(fx.overlay[0].peer, P(2));
}

TEST(MeshCore, RestartedPeerGetsFullGossipAndIsLearnedAgain) {
  MeshSim sim(10);
  auto a = sim.add_node(P(1)), b = sim.add_node(P(2)), c = sim.add_node(P(3));
  sim.connect(a, b);
  sim.connect(b, c);
  sim.run(std::chrono::seconds(3));
  sim.disconnect(b, c);
  // "restart" c: a fresh core with the same name and a new UID.
  auto c2 = sim.add_node(P(3), "c-again", 0xdead);
  ASSERT_TRUE(sim.connect(c2, b));
  sim.run(std::chrono::seconds(3));
  auto* seen = sim.core(a).topology().find(P(3));
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->uid, 0xdeadu);
  EXPECT_EQ(sim.core(a).routes().unicast(P(3)), P(2));
  (void)c;
}

}  // namespace
}  // namespace weft::mesh
