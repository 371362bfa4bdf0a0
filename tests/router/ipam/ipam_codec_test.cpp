// Golden tests of the IPAM codec: every IPAM vector decodes to the expected values and re-encodes
// byte for byte (with the vector's type ids); the real capture's IPAM messages decode; hostile
// input is an error, never a crash.
#include "weft/ipam/ipam_codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "vectors.hpp"
#include "weft/mesh/gossip_codec.hpp"

namespace weft::ipam {
namespace {

using test::Vectors;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);
const std::vector<int> kGossipStateIds = {69, 70, 76, 71, 72, 73, 74, 75, 77, 79, 78, 80};

template <typename F>
Bytes with_ids(std::vector<int> ids, F&& f) {
  Bytes out;
  gob::Encoder enc(out);
  enc.assign_ids(std::move(ids));
  auto r = f(enc);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return out;
}

TEST(IpamCodecGolden, GossipStateWithRing) {
  auto& want = Vectors::get().section("ipam gossipState with ring");
  auto got = decode_gossip_state(want);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->now, 1600000000);
  EXPECT_EQ(got->nicknames, (std::map<PeerName, std::string>{{kA, "host1"}}));
  EXPECT_FALSE(got->paxos.has_value());
  ASSERT_TRUE(got->ring.has_value());
  EXPECT_EQ(got->ring->range, Ipv4Range(0x0a200000, 0x0a300000));
  EXPECT_EQ(got->ring->peer, kA);
  EXPECT_EQ(got->ring->entries, (std::vector<RingEntry>{{Ipv4(0x0a200000), kA, 0, 524288},
                                                        {Ipv4(0x0a280000), kB, 0, 524288}}));
  EXPECT_EQ(got->ring->seeds, (std::vector<PeerName>{kA, kB}));
  EXPECT_EQ(to_hex(with_ids(kGossipStateIds,
                            [&](gob::Encoder& e) { return encode_gossip_state(e, *got); })),
            to_hex(want));
}

TEST(IpamCodecGolden, GossipStateWithPaxos) {
  auto& want = Vectors::get().section("ipam gossipState with paxos");
  auto got = decode_gossip_state(want);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_FALSE(got->ring.has_value());
  ASSERT_TRUE(got->paxos.has_value());
  ASSERT_EQ(got->paxos->size(), 1u);
  NodeId node{kA, 77};
  ProposalId pid{1, node};
  auto& claims = got->paxos->at(node);
  EXPECT_EQ(claims.promise, pid);
  EXPECT_EQ(claims.accepted, pid);
  EXPECT_EQ(claims.accepted_val.value, std::vector<PeerName>{kA});
  EXPECT_EQ(claims.accepted_val.origin, pid);
  GossipState built;
  built.now = 1600000000;
  built.nicknames = {{kA, "host1"}};
  built.paxos = PaxosState{{node, NodeClaims{pid, pid, AcceptedValue{{kA}, pid}}}};
  EXPECT_EQ(*got, built);
  EXPECT_EQ(to_hex(with_ids(kGossipStateIds,
                            [&](gob::Encoder& e) { return encode_gossip_state(e, built); })),
            to_hex(want));
}

TEST(IpamCodecGolden, Range) {
  auto& want = Vectors::get().section("ipam Range 10.32.0.0/24");
  auto got = decode_range(want);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Ipv4Range(0x0a200000, 0x0a200100));
  EXPECT_EQ(to_hex(with_ids({81}, [&](gob::Encoder& e) { return encode_range(e, *got); })),
            to_hex(want));
}

TEST(IpamCodecGolden, OwnedMap) {
  auto& want = Vectors::get().section("ipam owned map");
  auto got = decode_owned(want);
  ASSERT_TRUE(got.ok()) << got.error().message;
  OwnedMap m{{"abc", OwnedData{true, {Cidr(Ipv4(0x0a200005), 12)}}}};
  EXPECT_EQ(*got, m);
  EXPECT_EQ(to_hex(with_ids({85, 82, 84, 83}, [&](gob::Encoder& e) { return encode_owned(e, m); })),
            to_hex(want));
}

TEST(IpamCodec, FreshEncodingsRoundTrip) {
  GossipState s;
  s.now = -5;
  s.nicknames = {{kA, "a"}, {kB, ""}};
  s.paxos = PaxosState{};  // present and empty
  auto back = decode_gossip_state(encode_gossip_state(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
  ASSERT_TRUE(back->paxos.has_value());  // count 00 kept apart from nil

  s.paxos.reset();
  s.ring = WireRing{Ipv4Range(0x0a000000, 0x0a000100), kB, {{Ipv4(0x0a000000), kB, 7, 250}}, {kB}};
  back = decode_gossip_state(encode_gossip_state(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);

  auto ring = decode_ring(encode_ring(*s.ring));
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(*ring, *s.ring);
  auto name = decode_peer_name(encode_peer_name(kA));
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, kA);
}

TEST(IpamCodec, UnicastTypes) {
  auto r = Ipv4Range(0x0a200100, 0x0a200200);
  auto sr = decode_unicast(encode_space_request(r));
  ASSERT_TRUE(sr.ok());
  EXPECT_EQ(sr->type, UnicastType::space_request);
  EXPECT_EQ(sr->range, r);
  auto dn = decode_unicast(encode_space_request_denied(r));
  ASSERT_TRUE(dn.ok());
  EXPECT_EQ(dn->type, UnicastType::space_request_denied);
  GossipState s;
  s.nicknames = {{kA, "x"}};
  auto ru = decode_unicast(encode_ring_update(s));
  ASSERT_TRUE(ru.ok());
  EXPECT_EQ(ru->type, UnicastType::ring_update);
  EXPECT_EQ(ru->state, s);
  EXPECT_EQ(encode_space_request(r)[0], 0);
  EXPECT_EQ(encode_ring_update(s)[0], 1);
  EXPECT_EQ(encode_space_request_denied(r)[0], 2);
}

TEST(IpamCodecHostile, UnicastEmptyAndUnknownType) {
  EXPECT_FALSE(decode_unicast(Bytes{}).ok());
  auto body = encode_range(Ipv4Range(1, 2));
  for (std::uint8_t t : {3, 4, 0x7f, 0xff}) {
    Bytes m{t};
    m.insert(m.end(), body.begin(), body.end());
    EXPECT_FALSE(decode_unicast(m).ok()) << int(t);
  }
  EXPECT_FALSE(decode_unicast(Bytes{0}).ok());  // type byte, no body
  EXPECT_FALSE(decode_unicast(Bytes{1, 0xff}).ok());
}

TEST(IpamCodecHostile, WrongShapesAreErrors) {
  // A Range where a gossipState is expected and vice versa: the field names do not line up with
  // the kinds we need (Start/End uint vs Now int ...), or the top-level kind is wrong.
  EXPECT_FALSE(decode_owned(encode_range(Ipv4Range(1, 2))).ok());
  EXPECT_FALSE(decode_peer_name(encode_range(Ipv4Range(1, 2))).ok());
  EXPECT_FALSE(decode_range(encode_peer_name(kA)).ok());
  // Token that does not fit Go's uint32 Address.
  auto v = gob::Value::structure();
  v.set("Start", gob::Value::of_uint(0x1'0000'0000ull)).set("End", gob::Value::of_uint(1));
  Bytes out;
  gob::Encoder enc(out);
  ASSERT_TRUE(enc.encode(IpamGobTypes::get().range, v).ok());
  EXPECT_FALSE(decode_range(out).ok());
  // A 64-bit peer name.
  EXPECT_FALSE(decode_peer_name([] {
                 Bytes b;
                 gob::Encoder e(b);
                 (void)e.encode(gob::uint_type(), gob::Value::of_uint(0x1'0000'0000'0000ull));
                 return b;
               }())
                   .ok());
}

TEST(IpamCodecHostile, TruncationsOfEveryVector) {
  for (auto sec : {"ipam gossipState with ring", "ipam gossipState with paxos",
                   "ipam Range 10.32.0.0/24", "ipam owned map"}) {
    auto& v = Vectors::get().section(sec);
    for (std::size_t n = 0; n < v.size(); ++n) {
      auto part = ByteSpan(v).first(n);
      (void)decode_gossip_state(part);
      (void)decode_range(part);
      (void)decode_owned(part);
      (void)decode_ring(part);
      (void)decode_peer_name(part);
    }
  }
}

/// Strips the tag byte and the envelope; returns the channel payload.
Bytes capture_payload(std::string_view section, std::uint8_t tag) {
  auto& b = Vectors::get().section(section);
  EXPECT_EQ(b.at(0), tag);
  auto e = mesh::decode_gossip_envelope(ByteSpan(b).subspan(1), tag == 5);
  EXPECT_TRUE(e.ok()) << section;
  if (!e.ok()) return {};
  EXPECT_EQ(e->channel, "IPallocation");
  return e->payload;
}

TEST(IpamCodecCapture, Seq2ElectorSendsEmptyNonNilPaxos) {
  auto s = decode_gossip_state(capture_payload("capture A->B seq2:", 4));
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(s->paxos.has_value());
  EXPECT_TRUE(s->paxos->empty());
  EXPECT_FALSE(s->ring.has_value());
  EXPECT_EQ(s->nicknames.at(kA), "hostA");
  // Re-encoding keeps the empty map on the wire.
  auto again = decode_gossip_state(encode_gossip_state(*s));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->paxos.has_value());
}

TEST(IpamCodecCapture, Seq8PaxosProposal) {
  auto s = decode_gossip_state(capture_payload("capture A->B seq8:", 6));
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(s->paxos.has_value());
  ASSERT_FALSE(s->paxos->empty());
  bool saw_a = false;
  for (auto& [id, c] : *s->paxos) {
    if (id.name == kA) {
      saw_a = true;
      EXPECT_EQ(id.uid, 0x0101010101010101u);
      EXPECT_GE(c.promise.round, 1u);
      EXPECT_EQ(c.promise.proposer.name, kA);
    }
  }
  EXPECT_TRUE(saw_a);
  EXPECT_EQ(decode_gossip_state(encode_gossip_state(*s)).value(), *s);
}

TEST(IpamCodecCapture, Seq10RingAfterConsensus) {
  auto s = decode_gossip_state(capture_payload("capture A->B seq10:", 6));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->paxos.has_value());
  ASSERT_TRUE(s->ring.has_value());
  EXPECT_EQ(s->ring->range, Ipv4Range(0x0a200000, 0x0a300000));
  EXPECT_EQ(s->ring->seeds, (std::vector<PeerName>{kA, kB}));
  ASSERT_GE(s->ring->entries.size(), 2u);
  EXPECT_EQ(s->ring->entries[0].token, Ipv4(0x0a200000));
  EXPECT_EQ(s->ring->entries[0].peer, kA);
  EXPECT_EQ(s->ring->entries[1].token, Ipv4(0x0a280000));
  EXPECT_EQ(s->ring->entries[1].peer, kB);
  EXPECT_EQ(decode_gossip_state(encode_gossip_state(*s)).value(), *s);
}

TEST(IpamCodecCapture, BToASeq10SpaceRequest) {
  auto m = decode_unicast(capture_payload("capture B->A seq10:", 5));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type, UnicastType::space_request);
  EXPECT_EQ(m->range, Ipv4Range(0x0a200100, 0x0a200200));
}

// ---- the typed paths (issue 19): the fast decoder yields exactly what the generic one yields or
// declines, and the typed encoder writes exactly the Value encoder's bytes.

/// Fast and generic agree: the fast path never accepts what the generic refuses, and never
/// decodes differently.
void expect_fast_agrees(ByteSpan in, const std::string& what) {
  auto generic = decode_gossip_state_generic(in);
  auto fast = decode_gossip_state_fast(in);
  if (fast) {
    ASSERT_TRUE(generic.ok()) << what << ": fast accepted what the generic decoder refuses";
    EXPECT_EQ(*fast, *generic) << what;
  }
  auto both = decode_gossip_state(in);
  ASSERT_EQ(both.ok(), generic.ok()) << what;
  if (both.ok()) EXPECT_EQ(*both, *generic) << what;
}

GossipState random_state(std::mt19937_64& rng, std::size_t peers) {
  auto pick = [&](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); };
  GossipState s;
  s.now = pick(3) == 0 ? 0 : static_cast<std::int64_t>(pick(1ull << 40)) - (1ll << 39);
  WireRing r;
  r.range = Ipv4Range(pick(3) == 0 ? 0 : 0x0a200000, 0x0a300000);
  r.peer = PeerName(pick(2) ? pick(1ull << 48) : 0);
  for (std::size_t i = 0; i < peers; ++i) {
    PeerName p(pick(4) == 0 ? i : pick(1ull << 48));
    s.nicknames[p] = pick(5) == 0 ? std::string() : "host-" + std::to_string(pick(100000));
    r.entries.push_back(RingEntry{Ipv4(static_cast<std::uint32_t>(0x0a200000 + i * 16)), p,
                                  static_cast<std::uint32_t>(pick(3) ? pick(1ull << 32) : 0),
                                  static_cast<std::uint32_t>(pick(3) ? pick(200) : 0)});
    if (pick(4) == 0) r.seeds.push_back(p);
  }
  if (pick(5) != 0) s.ring = std::move(r);
  return s;
}

TEST(IpamCodecFast, WeaveShapesTakeTheFastPath) {
  for (auto* sec : {"ipam gossipState with ring"}) {
    auto& v = Vectors::get().section(sec);
    auto fast = decode_gossip_state_fast(v);
    ASSERT_TRUE(fast.has_value()) << sec;
    EXPECT_EQ(*fast, decode_gossip_state_generic(v).value());
  }
  auto seq10 = capture_payload("capture A->B seq10:", 6);  // a real Weave 2.8.1 router's ring
  auto fast = decode_gossip_state_fast(seq10);
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(*fast, decode_gossip_state_generic(seq10).value());
  // Paxos claims, even an empty map, are the generic decoder's.
  EXPECT_FALSE(decode_gossip_state_fast(Vectors::get().section("ipam gossipState with paxos")));
  EXPECT_FALSE(decode_gossip_state_fast(capture_payload("capture A->B seq2:", 4)));
  // Not a gossipState at all.
  EXPECT_FALSE(decode_gossip_state_fast(encode_range(Ipv4Range(1, 2))));
}

TEST(IpamCodecFast, TypedEncoderWritesTheValueEncodersBytes) {
  std::mt19937_64 rng(19);
  for (int round = 0; round < 200; ++round) {
    auto s = random_state(rng, static_cast<std::size_t>(round % 23));
    auto typed = with_ids(kGossipStateIds, [&](gob::Encoder& e) { return encode_gossip_state(e, s); });
    auto generic = with_ids(kGossipStateIds, [&](gob::Encoder& e) { return encode_gossip_state_generic(e, s); });
    ASSERT_EQ(to_hex(typed), to_hex(generic)) << "round " << round;
    EXPECT_EQ(decode_gossip_state(typed).value(), s) << "round " << round;
    if (s.ring) {
      Bytes want;
      gob::Encoder enc(want);
      ASSERT_TRUE(enc.encode(IpamGobTypes::get().ring, *gossip_state_to_value(s).field("Ring")).ok());
      EXPECT_EQ(to_hex(encode_ring(*s.ring)), to_hex(want)) << "round " << round;
      EXPECT_TRUE(decode_gossip_state_fast(typed).has_value()) << "round " << round;
    }
  }
}

TEST(IpamCodecFast, AgreesWithTheGenericDecoderOnDamage) {
  std::mt19937_64 rng(7);
  auto s = random_state(rng, 5);
  s.ring = WireRing{Ipv4Range(0x0a200000, 0x0a300000), kA, {{Ipv4(0x0a200000), kA, 3, 9}}, {kA}};
  auto good = encode_gossip_state(s);
  expect_fast_agrees(good, "intact");
  for (std::size_t n = 0; n < good.size(); ++n) {
    expect_fast_agrees(ByteSpan(good).first(n), "truncated to " + std::to_string(n));
    for (std::uint8_t x : {0x01, 0x80, 0xff}) {
      auto bad = good;
      bad[n] ^= x;
      expect_fast_agrees(bad, "byte " + std::to_string(n) + " ^ " + std::to_string(x));
    }
  }
}

TEST(IpamCodecFast, UnorderedAndDuplicateNicknamesDecodeAsGenerically) {
  // Go iterates maps in random order, and a hostile peer may repeat a key.
  auto v = gossip_state_to_value(GossipState{});
  auto nick = gob::Value::map();
  for (std::uint64_t k : {5, 3, 9, 3, 1})
    nick.add_entry(gob::Value::of_uint(k), gob::Value::of_string("n" + std::to_string(k * 10 + nick.entries.size())));
  v.fields[1].second = nick;
  Bytes b;
  gob::Encoder enc(b);
  ASSERT_TRUE(enc.encode(IpamGobTypes::get().gossip_state, v).ok());
  ASSERT_TRUE(decode_gossip_state_fast(b).has_value());
  expect_fast_agrees(b, "unordered");
  EXPECT_EQ(decode_gossip_state(b)->nicknames.at(PeerName(3)), "n33");  // the last one wins
}

TEST(IpamCodecFast, OutOfRangeNumbersAreTheGenericDecodersErrors) {
  auto v = gossip_state_to_value(GossipState{});
  auto nick = gob::Value::map();
  nick.add_entry(gob::Value::of_uint(1ull << 48), gob::Value::of_string("wide"));  // not a peer name
  v.fields[1].second = nick;
  Bytes b;
  gob::Encoder enc(b);
  ASSERT_TRUE(enc.encode(IpamGobTypes::get().gossip_state, v).ok());
  EXPECT_FALSE(decode_gossip_state_fast(b));
  EXPECT_FALSE(decode_gossip_state(b).ok());
  // A ring token beyond Go's uint32 Address.
  GossipState s;
  s.ring = WireRing{Ipv4Range(0x0a200000, 0x0a300000), kA, {{Ipv4(1), kA, 0, 0}}, {}};
  auto rv = gossip_state_to_value(s);
  auto* ring = const_cast<gob::Value*>(rv.field("Ring"));
  const_cast<gob::Value*>(ring->field("Entries"))->elems[0].fields[0].second = gob::Value::of_uint(1ull << 32);
  Bytes b2;
  gob::Encoder enc2(b2);
  ASSERT_TRUE(enc2.encode(IpamGobTypes::get().gossip_state, rv).ok());
  EXPECT_FALSE(decode_gossip_state_fast(b2));
  EXPECT_FALSE(decode_gossip_state(b2).ok());
}

TEST(IpamCodecFast, TheNodeBudgetRefusesTheSameMessages) {
  // 2^19 nicknames are 2^20 nodes plus the struct and the map: one over the budget.
  GossipState s;
  for (std::uint64_t k = 1; k <= (1u << 19); ++k)
    s.nicknames.emplace_hint(s.nicknames.end(), PeerName(k), std::string());
  auto b = encode_gossip_state(s);
  EXPECT_FALSE(decode_gossip_state_generic(b).ok());
  EXPECT_FALSE(decode_gossip_state_fast(b));
  EXPECT_FALSE(decode_gossip_state(b).ok());
  s.nicknames.erase(s.nicknames.begin());  // one entry (two nodes) fewer fits
  b = encode_gossip_state(s);
  EXPECT_TRUE(decode_gossip_state_fast(b).has_value());
  EXPECT_TRUE(decode_gossip_state(b).ok());
}

}  // namespace
}  // namespace weft::ipam
