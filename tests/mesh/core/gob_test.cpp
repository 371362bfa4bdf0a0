// Golden tests: every gob vector before the capture sections is decoded to the expected values and
// re-encoded byte for byte (with the vector's type-id assignment); capture sections are decoded.
#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/mesh/features_codec.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/topology_codec.hpp"

namespace weft::mesh {
namespace {

using gob::Value;
using test::Vectors;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);

Value U(std::uint64_t v) { return Value::of_uint(v); }
Value I(std::int64_t v) { return Value::of_int(v); }
Value S(std::string v) { return Value::of_string(std::move(v)); }

Bytes encode_with_ids(const gob::TypePtr& t, const Value& v, std::vector<int> ids) {
  Bytes out;
  gob::Encoder enc(out);
  enc.assign_ids(std::move(ids));
  auto r = enc.encode(t, v);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return out;
}

// ---- primitives

TEST(GobPrimitives, UintExamplesFromSpec) {
  Bytes b;
  gob::put_uint(b, 300);
  EXPECT_EQ(to_hex(b), "fe012c");
  b.clear();
  gob::put_uint(b, kA.value());
  EXPECT_EQ(to_hex(b), "faaabbccddee01");
  b.clear();
  gob::put_uint(b, 1);
  EXPECT_EQ(to_hex(b), "01");
  b.clear();
  gob::put_int(b, -69);
  EXPECT_EQ(to_hex(b), "ff89");
}

TEST(GobPrimitives, IntRoundTripExtremes) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, INT64_MAX, INT64_MIN,
                         std::int64_t{1600000000}}) {
    Bytes b;
    gob::put_int(b, v);
    ByteReader r(b);
    EXPECT_EQ(gob::get_int(r), v);
    EXPECT_TRUE(r.empty());
  }
  Bytes b;
  gob::put_uint(b, UINT64_MAX);
  ByteReader r(b);
  EXPECT_EQ(gob::get_uint(r), UINT64_MAX);
}

TEST(GobPrimitives, RejectsOverlongUint) {
  Bytes b{0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // 9-byte length prefix is invalid
  ByteReader r(b);
  EXPECT_FALSE(gob::get_uint(r));
}

// ---- features & v1 stream

TEST(GobGolden, Features) {
  auto& want = Vectors::get().section("features(1 entry)");
  EXPECT_EQ(to_hex(encode_features({{"Name", "aa:bb:cc:dd:ee:01"}})), to_hex(want));
  auto f = decode_features(want);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (Features{{"Name", "aa:bb:cc:dd:ee:01"}}));
}

TEST(GobGolden, V1Stream) {
  auto& want = Vectors::get().section("v1 stream");
  Bytes out;
  gob::Encoder enc(out);
  auto m = Value::map();
  m.add_entry(S("Name"), S("aa:bb:cc:dd:ee:01"));
  ASSERT_TRUE(enc.encode(gob::map_type("", gob::string_type(), gob::string_type()), m).ok());
  ASSERT_TRUE(enc.encode(gob::bytes_type(), Value::of_bytes(Bytes{1, 2})).ok());
  ASSERT_TRUE(enc.encode(gob::bytes_type(), Value::of_bytes(Bytes{})).ok());
  EXPECT_EQ(to_hex(out), to_hex(want));
  auto vals = gob::decode_all(want);
  ASSERT_TRUE(vals.ok());
  ASSERT_EQ(vals->size(), 3u);
  EXPECT_EQ((*vals)[1].bytes(), (Bytes{1, 2}));
  EXPECT_TRUE((*vals)[2].bytes().empty());
}

// ---- topology

std::vector<PeerSummary> two_peers() {
  return {
      PeerSummary{kA, "host1", 0x1f71fb04cb, 5, 0x123, true, {{kB, "192.168.1.2:6783", true, true}}},
      PeerSummary{kB, "host2", 42, 3, 0x456, true, {{kA, "192.168.1.2:6783", false, true}}},
  };
}

TEST(GobGolden, TopologyTwoPeersDecodes) {
  auto got = decode_peer_updates(Vectors::get().section("topology 2 peers"));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].name, kA);
  EXPECT_EQ((*got)[0].nickname, "host1");
  EXPECT_EQ((*got)[0].version, 5u);
  EXPECT_EQ((*got)[0].short_id, 0x123);
  EXPECT_TRUE((*got)[0].has_short_id);
  ASSERT_EQ((*got)[0].connections.size(), 1u);
  EXPECT_EQ((*got)[0].connections[0].remote_tcp_addr, "192.168.1.2:6783");
  EXPECT_TRUE((*got)[0].connections[0].outbound);
  EXPECT_EQ((*got)[1].uid, 42u);
  EXPECT_FALSE((*got)[1].connections[0].outbound);
}

TEST(GobGolden, TopologyTwoPeersEncodesByteForByte) {
  auto peers = decode_peer_updates(Vectors::get().section("topology 2 peers"));
  ASSERT_TRUE(peers.ok());
  Bytes out;
  gob::Encoder enc(out);
  enc.assign_ids({66, 68, 67});
  ASSERT_TRUE(encode_peer_updates(enc, *peers).ok());
  EXPECT_EQ(to_hex(out), to_hex(Vectors::get().section("topology 2 peers")));
}

TEST(GobGolden, TopologyPeerWithoutShortIdAndEmptyConnections) {
  auto& want = Vectors::get().section("topology peer w/o shortid");
  auto got = decode_peer_updates(want);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0], (PeerSummary{kA, "", 1, 1, 0, false, {}}));
  Bytes out;
  gob::Encoder enc(out);
  enc.assign_ids({66, 68, 67});
  ASSERT_TRUE(encode_peer_updates(enc, *got).ok());
  EXPECT_EQ(to_hex(out), to_hex(want));
}

TEST(GobGolden, TopologyFreshIdsRoundTrip) {
  auto bytes = encode_peer_updates(two_peers());
  auto back = decode_peer_updates(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, two_peers());
}

// ---- envelopes

TEST(GobGolden, GossipEnvelope) {
  auto& want = Vectors::get().section("gossip envelope (gossip/broadcast)");
  GossipEnvelope e{"topology", kA, {}, Bytes{1, 2, 3}};
  EXPECT_EQ(to_hex(encode_gossip_envelope(e, false)), to_hex(want));
  auto d = decode_gossip_envelope(want, false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, e);
}

TEST(GobGolden, GossipUnicastEnvelope) {
  auto& want = Vectors::get().section("gossip envelope (unicast)");
  GossipEnvelope e{"IPallocation", kA, kB, Bytes{1, 2, 3}};
  EXPECT_EQ(to_hex(encode_gossip_envelope(e, true)), to_hex(want));
  auto d = decode_gossip_envelope(want, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, e);
  EXPECT_FALSE(decode_gossip_envelope(want, false).ok());  // trailing value is not []byte
}

// ---- IPAM (types as Weave declares them; the IPAM codec issue reuses the same shapes)

struct IpamTypes {
  gob::TypePtr node_id = gob::struct_type("", {{"Name", gob::uint_type()}, {"UID", gob::uint_type()}});
  gob::TypePtr proposal_id =
      gob::struct_type("ProposalID", {{"Round", gob::uint_type()}, {"Proposer", node_id}});
  gob::TypePtr value_slice = gob::slice_type("Value", gob::uint_type());
  gob::TypePtr accepted_value =
      gob::struct_type("AcceptedValue", {{"Value", value_slice}, {"Origin", proposal_id}});
  gob::TypePtr node_claims = gob::struct_type(
      "", {{"Promise", proposal_id}, {"Accepted", proposal_id}, {"AcceptedVal", accepted_value}});
  gob::TypePtr paxos = gob::map_type("GossipState", node_id, node_claims);
  gob::TypePtr nicknames = gob::map_type("map[mesh.PeerName]string", gob::uint_type(), gob::string_type());
  gob::TypePtr entry = gob::struct_type("", {{"Token", gob::uint_type()},
                                             {"Peer", gob::uint_type()},
                                             {"Version", gob::uint_type()},
                                             {"Free", gob::uint_type()}});
  gob::TypePtr entries = gob::slice_type("entries", entry);
  gob::TypePtr seeds = gob::slice_type("[]mesh.PeerName", gob::uint_type());
  gob::TypePtr ring = gob::struct_type("Ring", {{"Start", gob::uint_type()},
                                                {"End", gob::uint_type()},
                                                {"Peer", gob::uint_type()},
                                                {"Entries", entries},
                                                {"Seeds", seeds}});
  gob::TypePtr gossip_state = gob::struct_type(
      "gossipState", {{"Now", gob::int_type()}, {"Nicknames", nicknames}, {"Paxos", paxos}, {"Ring", ring}});
  gob::TypePtr range = gob::struct_type("Range", {{"Start", gob::uint_type()}, {"End", gob::uint_type()}});
  gob::TypePtr cidr = gob::struct_type("CIDR", {{"Addr", gob::uint_type()}, {"PrefixLen", gob::int_type()}});
  gob::TypePtr owned = gob::struct_type(
      "", {{"IsContainer", gob::bool_type()}, {"Cidrs", gob::slice_type("[]address.CIDR", cidr)}});
  gob::TypePtr owned_map = gob::map_type("", gob::string_type(), owned);
};

const std::vector<int> kGossipStateIds = {69, 70, 76, 71, 72, 73, 74, 75, 77, 79, 78, 80};

Value entry(std::uint64_t token, PeerName peer, std::uint64_t version, std::uint64_t free) {
  auto e = Value::structure();
  e.set("Token", U(token)).set("Peer", U(peer.value())).set("Version", U(version)).set("Free", U(free));
  return e;
}

TEST(GobGolden, IpamGossipStateWithRing) {
  IpamTypes t;
  auto& want = Vectors::get().section("ipam gossipState with ring");
  auto ring = Value::structure();
  ring.set("Start", U(0x0a200000))
      .set("End", U(0x0a300000))
      .set("Peer", U(kA.value()))
      .set("Entries", Value::slice({entry(0x0a200000, kA, 0, 524288), entry(0x0a280000, kB, 0, 524288)}))
      .set("Seeds", Value::slice({U(kA.value()), U(kB.value())}));
  auto nick = Value::map();
  nick.add_entry(U(kA.value()), S("host1"));
  auto gs = Value::structure();
  gs.set("Now", I(1600000000)).set("Nicknames", nick).set("Ring", ring);
  EXPECT_EQ(to_hex(encode_with_ids(t.gossip_state, gs, kGossipStateIds)), to_hex(want));

  auto d = gob::decode_all(want);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->size(), 1u);
  // Decoding drops zero fields; re-encoding the decoded tree must give the same bytes.
  EXPECT_EQ(to_hex(encode_with_ids(t.gossip_state, (*d)[0], kGossipStateIds)), to_hex(want));
}

TEST(GobGolden, IpamGossipStateWithPaxos) {
  IpamTypes t;
  auto& want = Vectors::get().section("ipam gossipState with paxos");
  auto node = [&] {
    auto n = Value::structure();
    n.set("Name", U(kA.value())).set("UID", U(77));
    return n;
  };
  auto pid = [&] {
    auto p = Value::structure();
    p.set("Round", U(1)).set("Proposer", node());
    return p;
  };
  auto av = Value::structure();
  av.set("Value", Value::slice({U(kA.value())})).set("Origin", pid());
  auto claims = Value::structure();
  claims.set("Promise", pid()).set("Accepted", pid()).set("AcceptedVal", av);
  auto paxos = Value::map();
  paxos.add_entry(node(), claims);
  auto nick = Value::map();
  nick.add_entry(U(kA.value()), S("host1"));
  auto gs = Value::structure();
  gs.set("Now", I(1600000000)).set("Nicknames", nick).set("Paxos", paxos);
  EXPECT_EQ(to_hex(encode_with_ids(t.gossip_state, gs, kGossipStateIds)), to_hex(want));
  auto d = gob::decode_all(want);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(to_hex(encode_with_ids(t.gossip_state, (*d)[0], kGossipStateIds)), to_hex(want));
}

TEST(GobGolden, IpamRange) {
  IpamTypes t;
  auto& want = Vectors::get().section("ipam Range 10.32.0.0/24");
  auto r = Value::structure();
  r.set("Start", U(0x0a200000)).set("End", U(0x0a200100));
  EXPECT_EQ(to_hex(encode_with_ids(t.range, r, {81})), to_hex(want));
  auto d = gob::decode_all(want);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0], r);
}

TEST(GobGolden, IpamOwnedMap) {
  IpamTypes t;
  auto& want = Vectors::get().section("ipam owned map");
  auto c = Value::structure();
  c.set("Addr", U(0x0a200005)).set("PrefixLen", I(12));
  auto od = Value::structure();
  od.set("IsContainer", Value::of_bool(true)).set("Cidrs", Value::slice({c}));
  auto m = Value::map();
  m.add_entry(S("abc"), od);
  EXPECT_EQ(to_hex(encode_with_ids(t.owned_map, m, {85, 82, 84, 83})), to_hex(want));
  auto d = gob::decode_all(want);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0], m);
}

// ---- DNS

TEST(GobGolden, DnsGossipData) {
  auto e = gob::struct_type("Entry", {{"ContainerID", gob::string_type()},
                                      {"Origin", gob::uint_type()},
                                      {"Addr", gob::uint_type()},
                                      {"Hostname", gob::string_type()},
                                      {"Version", gob::int_type()},
                                      {"Tombstone", gob::int_type()}});
  auto gd = gob::struct_type("GossipData",
                             {{"Timestamp", gob::int_type()}, {"Entries", gob::slice_type("Entries", e)}});
  auto mk = [](std::string cid, std::uint32_t addr, std::string host, std::int64_t ver, std::int64_t tomb) {
    auto v = Value::structure();
    v.set("ContainerID", S(std::move(cid)))
        .set("Origin", U(kA.value()))
        .set("Addr", U(addr))
        .set("Hostname", S(std::move(host)))
        .set("Version", I(ver))
        .set("Tombstone", I(tomb));
    return v;
  };
  auto v = Value::structure();
  v.set("Timestamp", I(1600000000))
      .set("Entries", Value::slice({mk("c2", 0x0a200002, "db.weave.local.", 2, 1600000001),
                                    mk("c1", 0x0a200001, "web.weave.local.", 0, 0)}));
  auto& want = Vectors::get().section("dns GossipData");
  EXPECT_EQ(to_hex(encode_with_ids(gd, v, {86, 88, 87})), to_hex(want));
  auto d = gob::decode_all(want);
  ASSERT_TRUE(d.ok());
  // Decoding omits zero fields, so compare field by field rather than whole trees.
  auto& entries = (*d)[0].field("Entries")->elems;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(*entries[0].get_string("Hostname"), "db.weave.local.");
  EXPECT_EQ(*entries[0].get_int("Tombstone"), 1600000001);
  EXPECT_EQ(*entries[1].get_int("Version"), 0);
  EXPECT_EQ(*entries[1].get_uint("Addr"), 0x0a200001u);
}

// ---- capture sections: decode only (Go map order and process-wide ids)

TEST(GobCapture, FeaturesPlaintextBothDirections) {
  for (auto [sec, name, nick] : {std::tuple{"capture A->B seq0: features message, plaintext", "aa:bb:cc:dd:ee:01", "hostA"},
                                 std::tuple{"capture B->A seq0: features message, plaintext", "aa:bb:cc:dd:ee:02", "hostB"}}) {
    auto f = decode_features(Vectors::get().section(sec));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->at("Name"), name);
    EXPECT_EQ(f->at("NickName"), nick);
    EXPECT_EQ(f->at("PeerNameFlavour"), "mac");
    EXPECT_TRUE(f->count("UID") && f->count("ConnID") && f->count("ShortID") && f->count("Overlays"));
  }
}

/// Strips the tag byte and decodes the envelope; returns the payload.
Bytes capture_payload(std::string_view section, std::uint8_t tag, const char* channel) {
  auto& b = Vectors::get().section(section);
  EXPECT_EQ(b.at(0), tag);
  auto e = decode_gossip_envelope(ByteSpan(b).subspan(1), tag == 5);
  EXPECT_TRUE(e.ok()) << section;
  if (!e.ok()) return {};
  EXPECT_EQ(e->channel, channel);
  return e->payload;
}

TEST(GobCapture, TopologyGossip) {
  auto payload = capture_payload("capture A->B seq1:", 4, "topology");
  auto peers = decode_peer_updates(payload);
  ASSERT_TRUE(peers.ok()) << peers.error().message;
  ASSERT_FALSE(peers->empty());
  bool saw_a = false;
  for (auto& p : *peers) saw_a |= p.name == kA && p.nickname == "hostA";
  EXPECT_TRUE(saw_a);
}

TEST(GobCapture, IpamAndDnsGossipDecode) {
  struct C {
    const char* sec;
    std::uint8_t tag;
    const char* chan;
    std::size_t skip;  // IPAM unicast has a type byte before the gob
  };
  for (auto c : {C{"capture A->B seq2:", 4, "IPallocation", 0}, C{"capture A->B seq8:", 6, "IPallocation", 0},
                 C{"capture A->B seq10:", 6, "IPallocation", 0}, C{"capture B->A seq10:", 5, "IPallocation", 1},
                 C{"capture A->B seq11:", 6, "nameserver", 0}, C{"capture A->B seq12:", 6, "nameserver", 0}}) {
    auto payload = capture_payload(c.sec, c.tag, c.chan);
    ASSERT_GT(payload.size(), c.skip) << c.sec;
    auto d = gob::decode_all(ByteSpan(payload).subspan(c.skip));
    ASSERT_TRUE(d.ok()) << c.sec << ": " << d.error().message;
    ASSERT_EQ(d->size(), 1u) << c.sec;
  }
  // seq2: an elector with no claims sends Paxos present and empty.
  auto seq2 = gob::decode_all(capture_payload("capture A->B seq2:", 4, "IPallocation"));
  ASSERT_TRUE(seq2.ok());
  auto* paxos = (*seq2)[0].field("Paxos");
  ASSERT_NE(paxos, nullptr);
  EXPECT_TRUE(paxos->entries.empty());
  // B->A seq10: SpaceRequest for 10.32.1.0/24.
  auto sr = capture_payload("capture B->A seq10:", 5, "IPallocation");
  EXPECT_EQ(sr[0], 0);
  auto range = gob::decode_all(ByteSpan(sr).subspan(1));
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*(*range)[0].get_uint("Start"), 0x0a200100u);
  EXPECT_EQ(*(*range)[0].get_uint("End"), 0x0a200200u);
  // seq11: DNS entry added.
  auto dns = gob::decode_all(capture_payload("capture A->B seq11:", 6, "nameserver"));
  ASSERT_TRUE(dns.ok());
  auto* entries = (*dns)[0].field("Entries");
  ASSERT_NE(entries, nullptr);
  ASSERT_EQ(entries->elems.size(), 1u);
  EXPECT_EQ(*entries->elems[0].get_uint("Origin"), kA.value());
}

// ---- hostile input

TEST(GobHostile, HugeCountsAreRejectedWithoutAllocating) {
  // def: id65 = []uint; value: count 2^60.
  Bytes s;
  gob::Encoder enc(s);
  ASSERT_TRUE(enc.encode(gob::slice_type("", gob::uint_type()), Value::slice({U(1)})).ok());
  // Patch the count (last-but-one byte pattern "01 01") into a huge number.
  Bytes hostile(s.begin(), s.end() - 5);
  Bytes tail;
  gob::put_int(tail, 65);
  tail.push_back(0);
  gob::put_uint(tail, std::uint64_t{1} << 60);
  tail.push_back(1);
  gob::put_uint(hostile, tail.size());
  hostile.insert(hostile.end(), tail.begin(), tail.end());
  auto d = gob::decode_all(hostile);
  EXPECT_FALSE(d.ok());
}

TEST(GobHostile, TruncationsNeverSucceedSilentlyOrCrash) {
  auto& v = Vectors::get().section("ipam gossipState with ring");
  for (std::size_t n = 0; n < v.size(); ++n) {
    auto d = gob::decode_all(ByteSpan(v).first(n));
    // Cutting at a message boundary yields fewer values; anywhere else must be an error.
    if (d.ok()) {
      for (auto& val : *d) EXPECT_EQ(val.kind, gob::Kind::Struct);
    }
  }
}

TEST(GobHostile, Errors) {
  EXPECT_FALSE(gob::decode_all(*from_hex("03ff8200")).ok());        // unknown type id 65
  EXPECT_FALSE(gob::decode_all(*from_hex("0408000000")).ok());      // interface
  EXPECT_FALSE(gob::decode_all(*from_hex("0506010000")).ok());      // string: non-zero singleton marker
  EXPECT_FALSE(gob::decode_all(*from_hex("05060003616263")).ok());  // length says 5 but 7 follow... bad framing
  EXPECT_FALSE(gob::decode_all(*from_hex("ff")).ok());
  EXPECT_FALSE(decode_features(*from_hex("0306000161")).ok());  // a string, not a map
  // Duplicate definition.
  Bytes feat = encode_features({{"a", "b"}});
  Bytes dup(feat.begin(), feat.begin() + 15);
  dup.insert(dup.end(), feat.begin(), feat.end());
  EXPECT_FALSE(gob::decode_all(dup).ok());
}

TEST(GobHostile, StructFieldOutOfRange) {
  // Definition of a 1-field struct, then a value using field delta 2.
  Bytes s;
  gob::Encoder enc(s);
  auto t = gob::struct_type("T", {{"A", gob::uint_type()}});
  auto v = Value::structure();
  v.set("A", U(5));
  ASSERT_TRUE(enc.encode(t, v).ok());
  // value message is the last 5 bytes: 04 ff82 01 05 00 -> change delta 01 to 02
  ASSERT_GE(s.size(), 5u);
  s[s.size() - 3] = 0x02;
  EXPECT_FALSE(gob::decode_all(s).ok());
}

}  // namespace
}  // namespace weft::mesh
