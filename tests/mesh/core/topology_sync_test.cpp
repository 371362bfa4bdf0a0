// The weft-to-weft topology digest exchange (weft/mesh/topology_sync.hpp): wire bytes, refusals
// of bad input, the digest, and the plan that makes two tables equal.
#include "weft/mesh/topology_sync.hpp"

#include <gtest/gtest.h>

namespace weft::mesh {
namespace {

PeerName N(std::uint64_t v) { return PeerName(v); }

PeerSummary peer(std::uint64_t name, std::uint64_t uid, std::uint64_t version, std::vector<std::uint64_t> conns = {}) {
  PeerSummary p;
  p.name = N(name);
  p.nickname = "nick-" + std::to_string(name);
  p.uid = uid;
  p.version = version;
  p.short_id = static_cast<std::uint16_t>(name & 0xfff);
  p.has_short_id = true;
  for (auto c : conns) p.connections.push_back(ConnectionSummary{N(c), "10.0.0.1:6783", true, true});
  return p;
}

PeerIdentity ident(std::uint64_t name, std::uint64_t uid) {
  return PeerIdentity{N(name), "nick-" + std::to_string(name), uid, ShortID::from_uint(name & 0xfff)};
}

void merge(Topology& t, const std::vector<PeerSummary>& u) {
  auto r = t.apply_update(u);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

Bytes hex(std::string_view s) { return *from_hex(s); }

TEST(TopologySyncCodec, GoldenBytesAndRoundTrips) {
  TopologySyncMessage d = TopologyDigest{3, 0x0102030405060708ull};
  EXPECT_EQ(to_hex(encode_topology_sync(d)), "01000000030102030405060708");
  TopologySyncMessage v = std::vector<PeerVersion>{{N(0x0a0b0c0d0e0f), 7, 9}};
  EXPECT_EQ(to_hex(encode_topology_sync(v)), "02000000010a0b0c0d0e0f00000000000000070000000000000009");
  TopologySyncMessage w = SyncWant{{N(0x0a0b0c0d0e0f), N(1)}};
  EXPECT_EQ(to_hex(encode_topology_sync(w)), "03000000020a0b0c0d0e0f000000000001");
  for (const auto& m : {d, v, w}) {
    auto back = decode_topology_sync(encode_topology_sync(m));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, m);
  }
  // Empty lists are valid (a peer that knows nothing yet).
  auto empty = decode_topology_sync(hex("0200000000"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(std::get<std::vector<PeerVersion>>(*empty).empty());
}

TEST(TopologySyncCodec, RefusesBadInput) {
  const char* bad[] = {
      "",                                                        // empty
      "09",                                                      // unknown kind
      "010000000301020304050607",                                // digest short by one byte
      "0100000003010203040506070800",                            // digest with a trailing byte
      "02000000",                                                // truncated count
      "02000000010a0b0c0d0e0f000000000000000700000000000000",    // entry short by one byte
      "02000000020a0b0c0d0e0f00000000000000070000000000000009",  // count says 2, one entry
      "0200010001",                                              // count over the limit, no data
      "020000000100000000000000000000000000070000000000000009",  // the unknown peer name
      "02000000010a0b0c0d0e0f00000000000000000000000000000009",  // uid 0 (a placeholder)
      "02000000010a0b0c0d0e0f00000000000000078000000000000000",  // version >= 2^63
      "02000000020a0b0c0d0e0f000000000000000700000000000000090a0b0c0d0e0f00000000000000080000000000000001",  // twice
      "03000000010a0b0c0d0e",                // want entry short
      "0300000001000000000000",              // want names the unknown peer
      "03000000020a0b0c0d0e0f0a0b0c0d0e0f",  // want names a peer twice
  };
  for (const char* h : bad) {
    auto r = decode_topology_sync(hex(h));
    EXPECT_FALSE(r.ok()) << h;
  }
}

TEST(TopologySync, DigestCoversNamesUidsAndVersionsButNotPlaceholders) {
  SeededRandom rng(1);
  Topology a(ident(0x500, 77), rng), b(ident(0x500, 77), rng);
  merge(a, {peer(0x100, 10, 2, {0x700})});  // 0x700 becomes a placeholder in a only
  merge(b, {peer(0x100, 10, 2)});
  EXPECT_EQ(topology_digest(a), topology_digest(b));
  EXPECT_EQ(topology_digest(a).count, 2u);
  EXPECT_EQ(topology_versions(a), topology_versions(b));

  merge(b, {peer(0x100, 10, 3)});
  EXPECT_NE(topology_digest(a), topology_digest(b)) << "version";
  Topology c(ident(0x500, 77), rng);
  merge(c, {peer(0x100, 11, 2)});
  EXPECT_NE(topology_digest(a), topology_digest(c)) << "uid";
  Topology d(ident(0x500, 77), rng);
  merge(d, {peer(0x101, 10, 2)});
  EXPECT_NE(topology_digest(a), topology_digest(d)) << "name";
}

TEST(TopologySync, PlanPushesOursThatAreNewerAndWantsTheirs) {
  SeededRandom rng(2);
  Topology t(ident(0x500, 777), rng);
  merge(t, {peer(0x100, 10, 2, {0x700}), peer(0x200, 20, 1), peer(0x300, 7, 5), peer(0x400, 40, 1)});
  std::vector<PeerVersion> theirs{
      {N(0x500), 777, 0},  // us, as we are: nothing
      {N(0x100), 10, 1},   // older there: push
      {N(0x200), 20, 3},   // newer there: want
      {N(0x300), 9, 5},    // same version, higher uid there: want (apply_update's order)
      {N(0x600), 60, 1},   // unknown here: want
  };                       // 0x400 they lack: push; placeholder 0x700: neither
  auto plan = plan_sync(t, theirs);
  EXPECT_EQ(plan.push, (std::vector<PeerName>{N(0x100), N(0x400)}));
  EXPECT_EQ(plan.want, (std::vector<PeerName>{N(0x200), N(0x300), N(0x600)}));

  auto same = plan_sync(t, topology_versions(t));
  EXPECT_TRUE(same.push.empty());
  EXPECT_TRUE(same.want.empty());
}

TEST(TopologySync, OneExchangeMakesTwoTablesEqual) {
  SeededRandom rng(3);
  Topology a(ident(0x500, 5), rng), b(ident(0x600, 6), rng);
  merge(a, {peer(0x100, 10, 2), peer(0x200, 20, 1)});
  merge(b, {peer(0x100, 10, 1), peer(0x200, 20, 3), peer(0x300, 30, 1)});
  ASSERT_NE(topology_digest(a), topology_digest(b));
  // a sent its digest; b answered with its version list; a pushes and asks; b answers.
  auto plan = plan_sync(a, topology_versions(b));
  merge(b, a.summaries(plan.push, false));
  merge(a, b.summaries(plan.want, false));
  EXPECT_EQ(topology_digest(a), topology_digest(b));
  EXPECT_EQ(a.find(N(0x200))->version, 3u);
  EXPECT_EQ(b.find(N(0x100))->version, 2u);
  EXPECT_NE(a.find(N(0x600)), nullptr);
  EXPECT_NE(b.find(N(0x500)), nullptr);
}

}  // namespace
}  // namespace weft::mesh
