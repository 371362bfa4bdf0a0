// Interop: replays what a real Weave 2.8 router (peer A in the capture of
// tests/fixtures/weave-wire-vectors.txt) sent over its mesh connection into weft's cores playing
// peer B, with weft's IPAM allocator and weaveDNS nameserver registered as channels. Weft must
// accept every message (no connection closed), learn A from its topology gossip, follow A's paxos
// proposal to the same ring A built after consensus, and apply A's DNS add and tombstone.
#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/dns/gossip_data.hpp"
#include "weft/dns/nameserver.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/ipam/mesh_view.hpp"
#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/handshake.hpp"
#include "weft/mesh/mesh_core.hpp"

namespace weft {
namespace {

using test::Vectors;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);

mesh::ProtocolMessage message(std::string_view section) {
  auto& b = Vectors::get().section(section);
  return mesh::ProtocolMessage{static_cast<mesh::ProtocolTag>(b.at(0)), Bytes(b.begin() + 1, b.end())};
}

/// The Timestamp of A's DNS broadcast: weft's clock-skew guard must see a time close to it.
std::int64_t capture_dns_time() {
  auto m = message("capture A->B seq11:");
  auto env = mesh::decode_gossip_envelope(m.payload, false);
  EXPECT_TRUE(env.ok());
  auto gd = dns::decode_gossip_data(env->payload);
  EXPECT_TRUE(gd.ok());
  return gd.ok() ? gd->timestamp : 0;
}

TEST(WeaveInterop, RealWeaveRoutersTrafficIsAcceptedAndApplied) {
  SeededRandom rng(1);
  mesh::MeshConfig cfg;
  cfg.self = mesh::PeerIdentity{kB, "hostB", 0x0202020202020202u, ShortID::from_uint(514)};
  mesh::MeshCore core(cfg, rng, null_logger());

  // weft's channels, as weaver registers them.
  ipam::AllocatorConfig ac;
  ac.self = kB;
  ac.uid = cfg.self.uid;
  ac.nickname = "hostB";
  ac.universe = *Cidr::parse("10.32.0.0/12");
  ac.init = *ipam::IpallocInit::parse("consensus=2");
  ipam::MeshCoreView view(core, [] { return std::size_t{1}; });
  auto alloc = ipam::Allocator::create(ac, view, rng, null_logger());
  ASSERT_TRUE(alloc.ok()) << alloc.error().message;
  core.add_channel("IPallocation", **alloc);
  const auto dns_now = capture_dns_time();
  dns::NameserverConfig nc;
  nc.self = kB;
  nc.is_known_peer = [&](PeerName p) { return core.topology().find(p) != nullptr; };
  nc.wall_clock = [&](TimePoint) { return dns_now; };
  dns::Nameserver ns(nc);
  core.add_channel("nameserver", ns);

  // The connection from A, with A's real features.
  auto features = mesh::decode_features(Vectors::get().section("capture A->B seq0: features message, plaintext"));
  ASSERT_TRUE(features.ok());
  auto remote = mesh::parse_remote_features(*features);
  ASSERT_TRUE(remote.ok()) << remote.error().message;
  EXPECT_EQ(remote->name, kA);
  mesh::ConnectionInfo info;
  info.remote = *remote;
  info.outbound = false;
  info.remote_tcp_addr = "127.0.0.1:54381";
  info.conn_uid = 0x0303030303030303u;
  info.encrypted = true;
  TimePoint now{std::chrono::hours(1)};
  mesh::Effects fx;
  ASSERT_FALSE(core.add_connection(now, 1, info, fx));
  core.connection_established(now, 1, fx);
  {
    mesh::Effects sfx;
    auto out = core.sender("IPallocation", now, sfx);
    (*alloc)->start(now, *out);
  }

  auto feed = [&](std::string_view section) {
    mesh::Effects e;
    core.on_message(now, 1, message(section), e);
    EXPECT_TRUE(e.closes.empty()) << section << ": weft closed the connection: "
                                  << (e.closes.empty() ? "" : e.closes[0].second);
    return e;
  };
  feed("capture A->B seq1:");  // topology
  ASSERT_NE(core.topology().find(kA), nullptr);
  EXPECT_EQ(core.topology().find(kA)->nickname, "hostA");
  feed("capture A->B seq2:");  // IPAM gossip, empty paxos
  feed("capture A->B seq8:");  // paxos proposal
  feed("capture A->B seq10:");  // the ring after consensus
  auto st = (*alloc)->status(*Cidr::parse("10.32.0.0/12"));
  EXPECT_EQ(st.state, ipam::IpamState::ready);
  std::uint64_t total = 0;
  for (auto& e : st.entries) total += e.size;
  EXPECT_EQ(total, 1u << 20);  // the whole /12 is covered by A's ring
  EXPECT_TRUE((*alloc)->check_invariants().ok());

  feed("capture A->B seq11:");  // DNS entry added
  auto live = ns.entries();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].origin, kA);
  EXPECT_TRUE(live[0].live());
  EXPECT_FALSE(ns.lookup(live[0].hostname).empty());
  feed("capture A->B seq12:");  // tombstoned
  EXPECT_TRUE(ns.lookup(live[0].hostname).empty());

  // Overlay control messages go to the datapath, nothing closes.
  auto e4 = feed("capture A->B seq4: plaintext");
  EXPECT_EQ(e4.overlay.size(), 1u);
}

}  // namespace
}  // namespace weft
