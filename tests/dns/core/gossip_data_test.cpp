#include "weft/dns/gossip_data.hpp"

#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/mesh/gossip_codec.hpp"

namespace weft::dns {
namespace {

using weft::test::Vectors;
const PeerName kA(0xaabbccddee01);

/// The payload of a captured tag-6 nameserver message.
Bytes capture_payload(std::string_view section) {
  auto& b = Vectors::get().section(section);
  EXPECT_EQ(b.at(0), 6);
  auto e = mesh::decode_gossip_envelope(ByteSpan(b).subspan(1), false);
  EXPECT_TRUE(e.ok());
  if (!e.ok()) return {};
  EXPECT_EQ(e->channel, "nameserver");
  return e->payload;
}

TEST(DnsGossipGolden, EncodesTheGoVectorByteForByte) {
  GossipData g;
  g.timestamp = 1600000000;
  // Deliberately out of order: the encoder sorts.
  g.entries = {Entry{"c1", kA, Ipv4(0x0a200001), "web.weave.local.", 0, 0},
               Entry{"c2", kA, Ipv4(0x0a200002), "db.weave.local.", 2, 1600000001}};
  EXPECT_EQ(to_hex(encode_gossip_data(g, {86, 88, 87})), to_hex(Vectors::get().section("dns GossipData")));
}

TEST(DnsGossipGolden, DecodesTheGoVector) {
  auto g = decode_gossip_data(Vectors::get().section("dns GossipData"));
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->timestamp, 1600000000);
  ASSERT_EQ(g->entries.size(), 2u);
  EXPECT_EQ(g->entries[0], (Entry{"c2", kA, Ipv4(0x0a200002), "db.weave.local.", 2, 1600000001}));
  EXPECT_EQ(g->entries[1], (Entry{"c1", kA, Ipv4(0x0a200001), "web.weave.local.", 0, 0}));
}

TEST(DnsGossipGolden, CaptureAddAndTombstoneRoundTripExactly) {
  struct Case {
    const char* section;
    std::int64_t version;
    bool tombstoned;
  };
  for (auto c : {Case{"capture A->B seq11:", 0, false}, Case{"capture A->B seq12:", 1, true}}) {
    auto payload = capture_payload(c.section);
    auto g = decode_gossip_data(payload);
    ASSERT_TRUE(g.ok()) << c.section << ": " << g.error().message;
    ASSERT_EQ(g->entries.size(), 1u);
    const auto& e = g->entries[0];
    EXPECT_EQ(e.container_id, "containerA");
    EXPECT_EQ(e.origin, kA);
    EXPECT_EQ(e.addr, Ipv4(0x0a200001));
    EXPECT_EQ(e.hostname, "web.weave.local.");
    EXPECT_EQ(e.version, c.version);
    EXPECT_EQ(!e.live(), c.tombstoned);
    if (c.tombstoned) {
      EXPECT_EQ(e.tombstone, g->timestamp);
    }
    // The real peer numbered its types 85 (GossipData), 87 (Entries), 86 (Entry).
    EXPECT_EQ(to_hex(encode_gossip_data(*g, {85, 87, 86})), to_hex(payload)) << c.section;
  }
}

TEST(DnsGossip, RoundTripAndEmpty) {
  GossipData g{42, {Entry{"x", PeerName(7), Ipv4(9), "Mixed.Case.weave.local.", 5, -3}}};
  auto d = decode_gossip_data(encode_gossip_data(g));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, g);
  auto e = decode_gossip_data(encode_gossip_data(GossipData{-5, {}}));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->timestamp, -5);
  EXPECT_TRUE(e->entries.empty());
}

TEST(DnsGossip, NeverEncodesDuplicateIdentities) {
  Entry a{"c", PeerName(1), Ipv4(1), "a.weave.local.", 1, 0};
  Entry b = a;
  b.version = 2;
  b.tombstone = 50;
  auto bytes = encode_gossip_data(GossipData{1, {a, b, a}});
  // Decode generically so normalize() cannot hide a duplicate.
  auto v = gob::decode_all(bytes);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ((*v)[0].field("Entries")->elems.size(), 1u);
  EXPECT_EQ(*(*v)[0].field("Entries")->elems[0].get_int("Version"), 2);
}

/// Encodes a GossipData-shaped value with caller-chosen field types (hostile peers).
Bytes encode_custom(const gob::TypePtr& entry_type, gob::Value entry) {
  auto gd = gob::struct_type("GossipData",
                             {{"Timestamp", gob::int_type()}, {"Entries", gob::slice_type("Entries", entry_type)}});
  auto v = gob::Value::structure();
  v.set("Timestamp", gob::Value::of_int(1)).set("Entries", gob::Value::slice({std::move(entry)}));
  Bytes out;
  gob::Encoder enc(out);
  EXPECT_TRUE(enc.encode(gd, v).ok());
  return out;
}

TEST(DnsGossipHostile, RejectsWrongKindsAndOverflows) {
  // Hostname sent as an int.
  auto t1 = gob::struct_type("Entry", {{"Hostname", gob::int_type()}});
  auto v1 = gob::Value::structure();
  v1.set("Hostname", gob::Value::of_int(5));
  EXPECT_FALSE(decode_gossip_data(encode_custom(t1, v1)).ok());
  // Addr wider than 32 bits.
  auto t2 = gob::struct_type("Entry", {{"Addr", gob::uint_type()}});
  auto v2 = gob::Value::structure();
  v2.set("Addr", gob::Value::of_uint(0x1'0000'0000ull));
  EXPECT_FALSE(decode_gossip_data(encode_custom(t2, v2)).ok());
  // Origin wider than 48 bits.
  auto t3 = gob::struct_type("Entry", {{"Origin", gob::uint_type()}});
  auto v3 = gob::Value::structure();
  v3.set("Origin", gob::Value::of_uint(1ull << 50));
  EXPECT_FALSE(decode_gossip_data(encode_custom(t3, v3)).ok());
  // Entries as a slice of uints.
  auto t4 = gob::uint_type();
  EXPECT_FALSE(decode_gossip_data(encode_custom(t4, gob::Value::of_uint(3))).ok());
  // Unknown extra fields are ignored, as Go does.
  auto t5 = gob::struct_type("Entry", {{"Hostname", gob::string_type()}, {"Extra", gob::bool_type()}});
  auto v5 = gob::Value::structure();
  v5.set("Hostname", gob::Value::of_string("x.")).set("Extra", gob::Value::of_bool(true));
  auto ok = decode_gossip_data(encode_custom(t5, v5));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->entries.at(0).hostname, "x.");
}

TEST(DnsGossipHostile, TruncationsAndMutationsNeverCrash) {
  const auto& good = Vectors::get().section("dns GossipData");
  EXPECT_FALSE(decode_gossip_data({}).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decode_gossip_data(ByteSpan(good).first(n)).ok()) << n;
  }
  SeededRandom rng(7);
  for (int i = 0; i < 20000; ++i) {
    Bytes m = good;
    for (int k = 0, flips = 1 + static_cast<int>(rng.uniform(4)); k < flips; ++k) {
      m[rng.uniform(m.size())] = static_cast<std::uint8_t>(rng.next_u64());
    }
    auto r = decode_gossip_data(m);
    if (r.ok()) (void)encode_gossip_data(*r);
  }
}

}  // namespace
}  // namespace weft::dns
