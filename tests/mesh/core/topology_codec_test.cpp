// The topology update decoder's fast path (issue 19) against the generic gob decoder: on Weave's
// golden bytes, on updates of every size weft encodes, and on every truncation and single-byte
// change of them, the fast path either declines (nullopt) or yields exactly what the generic
// decoder yields; decode_peer_updates always returns the generic decoder's result or error.
#include "weft/mesh/topology_codec.hpp"

#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/gob.hpp"

namespace weft::mesh {
namespace {

using test::Vectors;

std::vector<PeerSummary> random_update(SeededRandom& rng, std::size_t peers) {
  std::vector<PeerSummary> out;
  for (std::size_t i = 0; i < peers; ++i) {
    PeerSummary p;
    p.name = PeerName(0x020000000000ull + rng.uniform(1u << 20));
    p.nickname = rng.uniform(4) == 0 ? "" : fmt::format("host-{}", rng.uniform(100000));
    p.uid = rng.uniform(3) == 0 ? 0 : rng.next_u64();
    p.version = rng.uniform(2) == 0 ? rng.uniform(200) : rng.next_u64();
    p.short_id = static_cast<std::uint16_t>(rng.uniform(4096));
    p.has_short_id = rng.uniform(5) != 0;
    auto n = rng.uniform(6);
    for (std::uint64_t c = 0; c < n; ++c) {
      p.connections.push_back(ConnectionSummary{PeerName(0x020000000000ull + rng.uniform(1u << 20)),
                                                rng.uniform(3) == 0 ? "" : fmt::format("10.0.0.{}:6783", c),
                                                rng.uniform(2) == 0, rng.uniform(2) == 0});
    }
    out.push_back(std::move(p));
  }
  return out;
}

// The property every input must satisfy.
void expect_agrees(ByteSpan in, const char* what) {
  auto generic = decode_peer_updates_generic(in);
  auto fast = decode_peer_updates_fast(in);
  if (fast) {
    ASSERT_TRUE(generic.ok()) << what << ": the fast path accepted what the generic decoder refuses ("
                              << generic.error().message << ")";
    ASSERT_EQ(*fast, *generic) << what;
  }
  auto both = decode_peer_updates(in);
  ASSERT_EQ(both.ok(), generic.ok()) << what;
  if (both.ok()) {
    ASSERT_EQ(*both, *generic) << what;
  } else {
    ASSERT_EQ(both.error().message, generic.error().message) << what;
  }
}

TEST(TopologyCodecFast, DecodesWeaveGoldenBytes) {
  for (auto* section : {"topology 2 peers"}) {
    const auto& b = Vectors::get().section(section);
    auto fast = decode_peer_updates_fast(b);
    ASSERT_TRUE(fast.has_value()) << section;
    auto generic = decode_peer_updates_generic(b);
    ASSERT_TRUE(generic.ok());
    EXPECT_EQ(*fast, *generic);
    EXPECT_EQ(fast->size(), 2u);
  }
}

TEST(TopologyCodecFast, DecodesWhatWeftEncodes) {
  SeededRandom rng(1919);
  for (std::size_t n : {0u, 1u, 2u, 7u, 50u, 300u}) {
    auto peers = random_update(rng, n);
    auto bytes = encode_peer_updates(peers);
    auto fast = decode_peer_updates_fast(bytes);
    ASSERT_TRUE(fast.has_value()) << n;
    EXPECT_EQ(*fast, peers) << n;
    expect_agrees(bytes, "encoded");
  }
}

TEST(TopologyCodecFast, AgreesWithGenericOnEveryTruncationAndByteChange) {
  SeededRandom rng(7);
  std::vector<Bytes> inputs{Vectors::get().section("topology 2 peers"), encode_peer_updates(random_update(rng, 3))};
  std::size_t declined = 0;
  for (const auto& base : inputs) {
    for (std::size_t len = 0; len < base.size(); ++len) {
      expect_agrees(ByteSpan(base).first(len), "truncated");
    }
    for (std::size_t i = 0; i < base.size(); ++i) {
      for (int v : {0x00, 0x01, 0x02, 0x05, 0x06, 0x7f, 0x80, 0xfe, 0xff}) {
        auto m = base;
        if (m[i] == v) continue;
        m[i] = static_cast<std::uint8_t>(v);
        expect_agrees(m, "changed byte");
        declined += decode_peer_updates_fast(m).has_value() ? 0 : 1;
      }
    }
  }
  EXPECT_GT(declined, 0u);
}

TEST(TopologyCodecFast, DeclinesOtherShapesTheGenericDecoderAccepts) {
  // A peerSummary without HasShortID: valid gob, and the generic decoder takes it (zero value).
  auto ps = gob::struct_type("peerSummary", {{"NameByte", gob::bytes_type()},
                                             {"NickName", gob::string_type()},
                                             {"UID", gob::uint_type()},
                                             {"Version", gob::uint_type()},
                                             {"ShortID", gob::uint_type()}});
  auto& t = TopologyTypes::get();
  Bytes out;
  gob::Encoder enc(out);
  auto v = gob::Value::structure();
  v.set("NameByte", gob::Value::of_bytes(PeerName(0x0a0000000001ull).to_bytes())).set("UID", gob::Value::of_uint(9));
  ASSERT_TRUE(enc.encode(ps, v).ok());
  ASSERT_TRUE(enc.encode(t.connections, gob::Value::slice()).ok());
  EXPECT_FALSE(decode_peer_updates_fast(out).has_value());
  auto got = decode_peer_updates(out);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].uid, 9u);
  expect_agrees(out, "other shape");
}

}  // namespace
}  // namespace weft::mesh
