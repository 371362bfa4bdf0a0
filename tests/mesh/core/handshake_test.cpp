// The v2 intro state machine and the message layer: in-memory pairs, chunked delivery, every
// failure path, and a replay of the real two-peer capture.
#include "weft/mesh/handshake.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "vectors.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/features_codec.hpp"

namespace weft::mesh {
namespace {

using test::Vectors;

const Vectors& vec() { return Vectors::get(); }

constexpr std::uint64_t kUidA = 0x0101010101010101;
constexpr std::uint64_t kUidB = 0x0202020202020202;

LocalFeatures local_a() {
  LocalFeatures f;
  f.name = *PeerName::parse("aa:bb:cc:dd:ee:01");
  f.nickname = "hostA";
  f.uid = kUidA;
  f.conn_id = kUidA;
  f.short_id = *ShortID::from_uint(257);
  return f;
}

LocalFeatures local_b() {
  LocalFeatures f;
  f.name = *PeerName::parse("aa:bb:cc:dd:ee:02");
  f.nickname = "hostB";
  f.uid = kUidB;
  f.conn_id = kUidB;
  f.short_id = *ShortID::from_uint(514);
  return f;
}

HandshakeParams params(Side side, const LocalFeatures& f, std::optional<std::string> pw) {
  HandshakeParams p;
  p.side = side;
  if (pw) p.password = to_bytes(*pw);
  p.features = make_features(f);
  return p;
}

std::optional<KeyPair> key(std::uint8_t fill) {
  std::array<std::uint8_t, kKeySize> s{};
  s.fill(fill);
  return KeyPair::from_secret(s);
}

/// Chunking policy: returns the size of the next chunk to deliver out of `left` bytes.
using Chunker = std::function<std::size_t(std::size_t left)>;

struct PumpOutcome {
  Result<void> a = ok_result();
  Result<void> b = ok_result();
};

/// Runs two handshakes against each other until both finish or one fails. Each side's output is
/// delivered to the other in chunks chosen by `chunk`, interleaved.
PumpOutcome pump(Handshake& a, Handshake& b, const Chunker& chunk, Bytes extra_a_to_b = {}) {
  PumpOutcome o;
  Bytes a_to_b = a.start(), b_to_a = b.start();
  bool extra_sent = false;
  for (int guard = 0; guard < 100000; ++guard) {
    bool progressed = false;
    if (!a_to_b.empty() && !b.failed()) {
      auto n = std::min(a_to_b.size(), chunk(a_to_b.size()));
      auto r = b.feed(ByteSpan(a_to_b).first(n));
      a_to_b.erase(a_to_b.begin(), a_to_b.begin() + static_cast<std::ptrdiff_t>(n));
      if (!r) {
        o.b = r.error();
      } else {
        b_to_a.insert(b_to_a.end(), r->begin(), r->end());
      }
      progressed = true;
    }
    if (!b_to_a.empty() && !a.failed()) {
      auto n = std::min(b_to_a.size(), chunk(b_to_a.size()));
      auto r = a.feed(ByteSpan(b_to_a).first(n));
      b_to_a.erase(b_to_a.begin(), b_to_a.begin() + static_cast<std::ptrdiff_t>(n));
      if (!r) {
        o.a = r.error();
      } else {
        a_to_b.insert(a_to_b.end(), r->begin(), r->end());
        // Once A is done, whatever A sends next travels right behind its features message.
        if (a.done() && !extra_sent) {
          a_to_b.insert(a_to_b.end(), extra_a_to_b.begin(), extra_a_to_b.end());
          extra_sent = true;
        }
      }
      progressed = true;
    }
    if (!progressed) break;
  }
  return o;
}

Chunker whole() {
  return [](std::size_t left) { return left; };
}
Chunker single() {
  return [](std::size_t) { return std::size_t{1}; };
}
Chunker random_chunks(std::uint64_t seed) {
  auto rng = std::make_shared<SeededRandom>(seed);
  return [rng](std::size_t) { return static_cast<std::size_t>(1 + rng->uniform(9)); };
}

// ---- features

TEST(Features, MakeFeaturesHasAllEightKeys) {
  auto f = local_a();
  f.overlays = {"fastdp", "sleeve"};
  f.trusted = true;
  auto m = make_features(f);
  EXPECT_EQ(m.size(), 8u);
  EXPECT_EQ(m["PeerNameFlavour"], "mac");
  EXPECT_EQ(m["Name"], "aa:bb:cc:dd:ee:01");
  EXPECT_EQ(m["NickName"], "hostA");
  EXPECT_EQ(m["UID"], "72340172838076673");
  EXPECT_EQ(m["ConnID"], "72340172838076673");
  EXPECT_EQ(m["ShortID"], "257");
  EXPECT_EQ(m["Trusted"], "true");
  EXPECT_EQ(m["Overlays"], "fastdp sleeve");
}

TEST(Features, RoundTripThroughParse) {
  auto r = parse_remote_features(make_features(local_b()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, local_b().name);
  EXPECT_EQ(r->nickname, "hostB");
  EXPECT_EQ(r->uid, kUidB);
  EXPECT_EQ(r->conn_id, kUidB);
  ASSERT_TRUE(r->short_id.has_value());
  EXPECT_EQ(r->short_id->value(), 514);
  EXPECT_FALSE(r->trusted);
  ASSERT_TRUE(r->overlays.has_value());
  EXPECT_EQ(*r->overlays, std::vector<std::string>{"sleeve"});
}

TEST(Features, RequiredKeys) {
  for (const char* key : {"PeerNameFlavour", "Name", "NickName", "UID", "ConnID"}) {
    auto m = make_features(local_a());
    m.erase(key);
    auto r = parse_remote_features(m);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.error().message, std::string("field ") + key + " is missing");
  }
}

TEST(Features, OptionalKeysAbsent) {
  auto m = make_features(local_a());
  m.erase("ShortID");
  m.erase("Trusted");
  m.erase("Overlays");
  m["SomethingNew"] = "ignored";
  auto r = parse_remote_features(m);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->short_id.has_value());
  EXPECT_FALSE(r->trusted);
  EXPECT_FALSE(r->overlays.has_value());
}

TEST(Features, Validation) {
  auto with = [](const char* k, const char* v) {
    auto m = make_features(local_a());
    m[k] = v;
    return parse_remote_features(m);
  };
  EXPECT_FALSE(with("PeerNameFlavour", "hash").ok());
  EXPECT_FALSE(with("Name", "not-a-name").ok());
  EXPECT_TRUE(with("Name", "::1").ok());  // abbreviated names are accepted
  EXPECT_FALSE(with("UID", "").ok());
  EXPECT_FALSE(with("UID", "-1").ok());
  EXPECT_FALSE(with("UID", "+1").ok());
  EXPECT_FALSE(with("UID", "12a").ok());
  EXPECT_FALSE(with("UID", "18446744073709551616").ok());
  EXPECT_EQ(with("UID", "18446744073709551615")->uid, ~std::uint64_t{0});
  EXPECT_FALSE(with("ConnID", " 1").ok());
  EXPECT_EQ(with("ShortID", "4095")->short_id->value(), 4095);
  EXPECT_EQ(with("ShortID", "0")->short_id->value(), 0);
  EXPECT_FALSE(with("ShortID", "4096").ok());
  EXPECT_FALSE(with("ShortID", "").ok());
  EXPECT_TRUE(with("Trusted", "true")->trusted);
  EXPECT_TRUE(with("Trusted", "1")->trusted);  // Go ParseBool
  EXPECT_FALSE(with("Trusted", "False")->trusted);
  EXPECT_FALSE(with("Trusted", "yes").ok());
  EXPECT_EQ(*with("Overlays", "fastdp sleeve")->overlays,
            (std::vector<std::string>{"fastdp", "sleeve"}));
  EXPECT_TRUE(with("Overlays", "")->overlays->empty());
  EXPECT_EQ(with("NickName", "")->nickname, "");
}

TEST(Features, ConnectionUid) {
  EXPECT_EQ(connection_uid(kUidA, kUidB), 0x0303030303030303u);
  EXPECT_EQ(connection_uid(kUidB, kUidA), 0x0303030303030303u);
}

// ---- in-memory pairs

void expect_completed(Handshake& a, Handshake& b, bool encrypted) {
  ASSERT_TRUE(a.done());
  ASSERT_TRUE(b.done());
  auto ra = a.take_result();
  auto rb = b.take_result();
  EXPECT_EQ(ra.version, 2);
  EXPECT_EQ(rb.version, 2);
  EXPECT_EQ(ra.features, make_features(local_b()));
  EXPECT_EQ(rb.features, make_features(local_a()));
  EXPECT_EQ(ra.session_key.has_value(), encrypted);
  EXPECT_EQ(ra.sealer.has_value(), encrypted);
  EXPECT_EQ(rb.opener.has_value(), encrypted);
  if (encrypted) {
    EXPECT_EQ(*ra.session_key, *rb.session_key);
    EXPECT_EQ(ra.sealer->next_seq(), 1u);
    EXPECT_EQ(ra.opener->next_seq(), 1u);
  }
  EXPECT_TRUE(ra.leftover.empty());
  EXPECT_TRUE(rb.leftover.empty());

  // The message layer continues where the handshake left off, both ways.
  auto wa = MessageWriter::from_handshake(ra);
  auto wb = MessageWriter::from_handshake(rb);
  auto rda = MessageReader::from_handshake(ra);
  auto rdb = MessageReader::from_handshake(rb);
  auto m1 = wa.encode(ProtocolTag::gossip, Bytes{1, 2, 3});
  auto m2 = wb.encode(ProtocolTag::heartbeat, Bytes{});
  ASSERT_TRUE(m1.ok() && m2.ok());
  rdb.feed(*m1);
  rda.feed(*m2);
  auto x = rdb.next();
  auto y = rda.next();
  ASSERT_TRUE(x.ok() && x->has_value()) << (x.ok() ? "" : x.error().message);
  ASSERT_TRUE(y.ok() && y->has_value());
  EXPECT_EQ(**x, (ProtocolMessage{ProtocolTag::gossip, Bytes{1, 2, 3}}));
  EXPECT_EQ(**y, (ProtocolMessage{ProtocolTag::heartbeat, Bytes{}}));
}

TEST(Handshake, PlainPair) {
  for (const auto& chunker : {whole(), single(), random_chunks(3)}) {
    Handshake a(params(Side::outbound, local_a(), std::nullopt), std::nullopt);
    Handshake b(params(Side::inbound, local_b(), std::nullopt), std::nullopt);
    auto o = pump(a, b, chunker);
    ASSERT_TRUE(o.a.ok()) << o.a.error().message;
    ASSERT_TRUE(o.b.ok()) << o.b.error().message;
    expect_completed(a, b, false);
  }
}

TEST(Handshake, EncryptedPair) {
  for (const auto& chunker : {whole(), single(), random_chunks(4)}) {
    SeededRandom rng(99);
    auto a = Handshake::create(params(Side::outbound, local_a(), "secret"), rng);
    auto b = Handshake::create(params(Side::inbound, local_b(), "secret"), rng);
    auto o = pump(a, b, chunker);
    ASSERT_TRUE(o.a.ok()) << o.a.error().message;
    ASSERT_TRUE(o.b.ok()) << o.b.error().message;
    expect_completed(a, b, true);
  }
}

TEST(Handshake, EmptyPasswordStillEncrypts) {
  Handshake a(params(Side::outbound, local_a(), ""), key(1));
  Handshake b(params(Side::inbound, local_b(), ""), key(2));
  auto o = pump(a, b, whole());
  ASSERT_TRUE(o.a.ok() && o.b.ok());
  expect_completed(a, b, true);
}

TEST(Handshake, LeftoverBytesFeedTheMessageReader) {
  for (const auto& chunker : {whole(), single()}) {
    Handshake a(params(Side::outbound, local_a(), "pw"), key(1));
    Handshake b(params(Side::inbound, local_b(), "pw"), key(2));
    // A's first two messages after the features, sealed at seq 1 and 2 under the session key
    // both sides derive from keys 01×32 / 02×32.
    auto kb = *key(2);
    auto session = form_session_key(key(1)->public_key(), kb, to_bytes("pw"));
    ASSERT_TRUE(session.ok());
    TcpSealer s(*session, Side::outbound);
    s.set_next_seq_for_test(1);
    MessageWriter w(s);
    Bytes extra;
    ASSERT_TRUE(w.append(extra, ProtocolTag::heartbeat, {}).ok());
    ASSERT_TRUE(w.append(extra, ProtocolTag::gossip_broadcast, Bytes{7, 7}).ok());
    extra.push_back(0);  // and the first byte of a third frame

    auto o = pump(a, b, chunker, extra);
    ASSERT_TRUE(o.a.ok() && o.b.ok());
    ASSERT_TRUE(b.done());
    auto rb = b.take_result();
    EXPECT_FALSE(rb.leftover.empty());
    auto reader = MessageReader::from_handshake(rb);
    auto m1 = reader.next();
    auto m2 = reader.next();
    auto m3 = reader.next();
    ASSERT_TRUE(m1.ok() && m1->has_value());
    ASSERT_TRUE(m2.ok() && m2->has_value());
    ASSERT_TRUE(m3.ok());
    EXPECT_EQ((*m1)->tag, ProtocolTag::heartbeat);
    EXPECT_EQ(**m2, (ProtocolMessage{ProtocolTag::gossip_broadcast, Bytes{7, 7}}));
    EXPECT_FALSE(m3->has_value());
  }
}

TEST(Handshake, BytesAfterDoneGoToLeftover) {
  Handshake a(params(Side::outbound, local_a(), std::nullopt), std::nullopt);
  Handshake b(params(Side::inbound, local_b(), std::nullopt), std::nullopt);
  ASSERT_TRUE(pump(a, b, whole()).a.ok());
  ASSERT_TRUE(a.done());
  auto r = a.feed(Bytes{9, 8});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(a.take_result().leftover, (Bytes{9, 8}));
}

// ---- failures

/// Feeds `input` to a fresh handshake (one byte at a time and all at once) and expects an error
/// containing `needle` in both cases.
void expect_failure(const HandshakeParams& p, std::optional<KeyPair> k, const Bytes& input,
                    const std::string& needle) {
  for (bool bytewise : {false, true}) {
    Handshake h(p, k);
    Result<Bytes> r = h.feed({});
    if (bytewise) {
      for (auto c : input) {
        r = h.feed(ByteSpan(&c, 1));
        if (!r) break;
      }
    } else {
      r = h.feed(input);
    }
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_TRUE(h.failed());
    EXPECT_FALSE(h.feed(Bytes{0}).ok());  // sticky
  }
}

Bytes header(std::uint8_t lo, std::uint8_t hi) {
  Bytes b = to_bytes("weave");
  b.push_back(lo);
  b.push_back(hi);
  return b;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Handshake, StartSendsVersionTwoOnly) {
  Handshake h(params(Side::outbound, local_a(), std::nullopt), std::nullopt);
  EXPECT_EQ(h.start(), header(2, 2));
  EXPECT_TRUE(h.start().empty());
  // Go peers send min 1 max 2: negotiated 2, and our intro (flag 0) follows.
  auto r = h.feed(header(1, 2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Bytes{0});
}

TEST(Handshake, VersionMismatch) {
  auto p = params(Side::outbound, local_a(), std::nullopt);
  expect_failure(p, std::nullopt, header(1, 1),
                 "peer only supports protocol version 1, which weft does not implement");
  expect_failure(p, std::nullopt, header(3, 4), "incompatible");
  expect_failure(p, std::nullopt, header(0, 0), "incompatible");
  expect_failure(p, std::nullopt, cat(to_bytes("weavf"), Bytes{1, 2}), "not recognised");
  expect_failure(p, std::nullopt, to_bytes("GET / HTTP/1.1\r\n"), "not recognised");
}

TEST(Handshake, NewerPeerNegotiatesDown) {
  Handshake h(params(Side::inbound, local_a(), std::nullopt), std::nullopt);
  auto r = h.feed(header(1, 9));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, cat(header(2, 2), Bytes{0}));
}

TEST(Handshake, EncryptionFlagMismatch) {
  expect_failure(params(Side::outbound, local_a(), "secret"), key(1), cat(header(1, 2), {0}),
                 "password specified, but peer requested an unencrypted connection");
  Bytes enc = cat(header(1, 2), {1});
  enc.resize(enc.size() + 32, 0x42);
  expect_failure(params(Side::outbound, local_a(), std::nullopt), std::nullopt, enc,
                 "no password specified, but peer requested an encrypted connection");
  expect_failure(params(Side::outbound, local_a(), std::nullopt), std::nullopt,
                 cat(header(1, 2), {2}), "bad encryption flag 2");
  expect_failure(params(Side::outbound, local_a(), "x"), key(1), cat(header(1, 2), {0xff}),
                 "bad encryption flag 255");
}

TEST(Handshake, PasswordWithoutKeyPairIsAnError) {
  Handshake h(params(Side::outbound, local_a(), "secret"), std::nullopt);
  EXPECT_TRUE(h.failed());
  EXPECT_FALSE(h.feed(header(1, 2)).ok());
}

TEST(Handshake, WrongPassword) {
  Handshake a(params(Side::outbound, local_a(), "secret"), key(1));
  Handshake b(params(Side::inbound, local_b(), "Secret"), key(2));
  auto o = pump(a, b, whole());
  // B reads A's features first and fails; an error discards what that feed() would have
  // written (the connection closes), so A never completes either.
  ASSERT_FALSE(o.b.ok());
  EXPECT_NE(o.b.error().message.find("wrong password"), std::string::npos) << o.b.error().message;
  EXPECT_TRUE(b.failed());
  EXPECT_FALSE(a.done());

  // Driven by hand so that A gets B's features: A fails the same way.
  Handshake a2(params(Side::outbound, local_a(), "secret"), key(1));
  Handshake b2(params(Side::inbound, local_b(), "Secret"), key(2));
  auto hdr_b = b2.start();
  auto intro_b = b2.feed(a2.start());
  ASSERT_TRUE(intro_b.ok());
  auto from_a = a2.feed(cat(hdr_b, *intro_b));  // A's flag + key + sealed features
  ASSERT_TRUE(from_a.ok());
  ASSERT_GT(from_a->size(), 33u);
  auto features_b = b2.feed(ByteSpan(*from_a).first(33));  // just A's flag and key
  ASSERT_TRUE(features_b.ok());
  auto ra = a2.feed(*features_b);
  ASSERT_FALSE(ra.ok());
  EXPECT_NE(ra.error().message.find("wrong password"), std::string::npos);
  EXPECT_TRUE(a2.failed());
  EXPECT_FALSE(b2.feed(ByteSpan(*from_a).subspan(33)).ok());
}

TEST(Handshake, MalformedFeatures) {
  auto p = params(Side::outbound, local_a(), std::nullopt);
  Bytes intro = cat(header(1, 2), {0});
  // Not gob at all.
  Bytes garbage;
  ASSERT_TRUE(append_frame(garbage, to_bytes("definitely not gob")).ok());
  expect_failure(p, std::nullopt, cat(intro, garbage), "bad features message");
  // An empty first message.
  expect_failure(p, std::nullopt, cat(intro, {0, 0, 0, 0}), "bad features message");
  // A truncated gob map (the capture's plaintext minus its last byte).
  auto trunc = vec().section("capture A->B seq0: features message, plaintext");
  trunc.pop_back();
  Bytes framed;
  ASSERT_TRUE(append_frame(framed, trunc).ok());
  expect_failure(p, std::nullopt, cat(intro, framed), "bad features message");
}

TEST(Handshake, ValidGobButBadFeaturesFailsValidation) {
  Handshake h(params(Side::outbound, local_a(), std::nullopt), std::nullopt);
  auto m = make_features(local_b());
  m["ShortID"] = "4096";
  Bytes framed;
  ASSERT_TRUE(append_frame(framed, encode_features(m)).ok());
  auto r = h.feed(cat(cat(header(1, 2), {0}), framed));
  ASSERT_TRUE(r.ok());  // the intro itself is fine...
  ASSERT_TRUE(h.done());
  EXPECT_FALSE(parse_remote_features(h.take_result().features).ok());  // ...validation is not
}

TEST(Handshake, OversizeLength) {
  auto p = params(Side::outbound, local_a(), std::nullopt);
  expect_failure(p, std::nullopt, cat(cat(header(1, 2), {0}), {0x00, 0xa0, 0x00, 0x01}),
                 "exceeds maximum size");
  expect_failure(p, std::nullopt, cat(cat(header(1, 2), {0}), {0xff, 0xff, 0xff, 0xff}),
                 "exceeds maximum size");
}

// Issue 18, item 3: a features message announced at 10 MiB (the general message cap) made the
// router buffer it all before any authentication. The handshake budget is far below that.
TEST(Handshake, FeaturesMessageOverHandshakeBudgetIsRefusedAtOnce) {
  auto p = params(Side::outbound, local_a(), std::nullopt);
  const std::uint32_t ten_mib = 10 * 1024 * 1024;
  Bytes len = {static_cast<std::uint8_t>(ten_mib >> 24), static_cast<std::uint8_t>(ten_mib >> 16),
               static_cast<std::uint8_t>(ten_mib >> 8), static_cast<std::uint8_t>(ten_mib)};
  expect_failure(p, std::nullopt, cat(cat(header(1, 2), {0}), len), "exceeds maximum size");
  const std::uint32_t just_over = kMaxFeaturesMessageSize + 1;
  Bytes len2 = {0, static_cast<std::uint8_t>(just_over >> 16), static_cast<std::uint8_t>(just_over >> 8),
                static_cast<std::uint8_t>(just_over)};
  expect_failure(p, std::nullopt, cat(cat(header(1, 2), {0}), len2), "exceeds maximum size");
  static_assert(kMaxFeaturesMessageSize <= 64 * 1024);
}

TEST(Handshake, WeakPeerKeyRejected) {
  Bytes intro = cat(header(1, 2), {1});
  intro.resize(intro.size() + 32, 0);  // the all-zero point
  expect_failure(params(Side::outbound, local_a(), "secret"), key(1), intro, "public key");
}

// ---- the real capture

TEST(HandshakeCapture, OutboundAReadsB) {
  const auto& b_intro = vec().section("capture B->A: protocol header + encryption flag");
  const auto& b_features = vec().section("capture B->A seq0: features message, framed");
  const auto& a_intro = vec().section("capture A->B: protocol header + encryption flag");
  for (bool bytewise : {false, true}) {
    Handshake a(params(Side::outbound, local_a(), "secret"), key(1));
    Bytes written = a.start();
    auto input = cat(b_intro, b_features);
    if (bytewise) {
      for (auto c : input) {
        auto r = a.feed(ByteSpan(&c, 1));
        ASSERT_TRUE(r.ok()) << r.error().message;
        written.insert(written.end(), r->begin(), r->end());
      }
    } else {
      auto r = a.feed(input);
      ASSERT_TRUE(r.ok()) << r.error().message;
      written.insert(written.end(), r->begin(), r->end());
    }
    ASSERT_TRUE(a.done());
    // Our header says min 2 (the capture's says 1); the flag and key are byte-identical.
    ASSERT_GE(written.size(), 40u);
    EXPECT_EQ(to_hex(ByteSpan(written).subspan(7, 33)), to_hex(ByteSpan(a_intro).subspan(7)));

    auto res = a.take_result();
    EXPECT_EQ(res.version, 2);
    ASSERT_TRUE(res.session_key.has_value());
    EXPECT_EQ(to_hex(res.session_key->bytes), vec().value("sessionKey(A side)"));
    EXPECT_TRUE(res.leftover.empty());
    auto f = parse_remote_features(res.features);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->name.str(), "aa:bb:cc:dd:ee:02");
    EXPECT_EQ(f->nickname, "hostB");
    EXPECT_EQ(f->uid, kUidB);
    EXPECT_EQ(f->conn_id, kUidB);
    ASSERT_TRUE(f->short_id.has_value());
    EXPECT_EQ(f->short_id->value(), 514);
    EXPECT_FALSE(f->trusted);
    EXPECT_EQ(f->overlays, std::optional<std::vector<std::string>>({"sleeve"}));
    EXPECT_EQ(connection_uid(kUidA, f->conn_id), 0x0303030303030303u);

    // What A wrote after its intro is its own features message, sealed at A->B seq 0: B opens it.
    FrameReader fr;
    fr.feed(ByteSpan(written).subspan(40));
    auto frame = fr.next();
    ASSERT_TRUE(frame.ok() && frame->has_value());
    TcpOpener b(*res.session_key, Side::inbound);
    auto plain = b.open(**frame);
    ASSERT_TRUE(plain.ok());
    auto mine = decode_features(*plain);
    ASSERT_TRUE(mine.ok());
    EXPECT_EQ(*mine, make_features(local_a()));

    EXPECT_EQ(res.opener->next_seq(), 1u);
    EXPECT_EQ(res.sealer->next_seq(), 1u);
  }
}

TEST(HandshakeCapture, InboundBReadsA) {
  const auto& a_intro = vec().section("capture A->B: protocol header + encryption flag");
  const auto& a_features = vec().section("capture A->B seq0: features message, framed");
  Handshake b(params(Side::inbound, local_b(), "secret"), key(2));
  auto r = b.feed(cat(a_intro, a_features));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(b.done());
  auto res = b.take_result();
  auto f = parse_remote_features(res.features);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->name.str(), "aa:bb:cc:dd:ee:01");
  EXPECT_EQ(f->nickname, "hostA");
  EXPECT_EQ(f->short_id->value(), 257);
  EXPECT_EQ(to_hex(res.session_key->bytes), vec().value("sessionKey(B side)"));
}

TEST(HandshakeCapture, WrongPasswordAgainstCapture) {
  const auto& b_intro = vec().section("capture B->A: protocol header + encryption flag");
  const auto& b_features = vec().section("capture B->A seq0: features message, framed");
  Handshake a(params(Side::outbound, local_a(), "not the secret"), key(1));
  auto r = a.feed(cat(b_intro, b_features));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(a.failed());
}

TEST(MessageReaderCapture, OverlayControlSequence) {
  SessionKey k;
  auto kb = vec().hex_value("sessionKey(A side)");
  std::copy(kb.begin(), kb.end(), k.bytes.begin());
  TcpOpener o(k, Side::inbound);
  o.set_next_seq_for_test(4);
  MessageReader r(o);
  r.feed(vec().section("capture A->B seq4: sleeve ConnectionEstablished"));
  r.feed(vec().section("capture A->B seq5: sleeve FragmentationReceived"));
  r.feed(vec().section("capture A->B seq6: sleeve PMTUVerified"));
  std::vector<ProtocolMessage> got;
  for (;;) {
    auto m = r.next();
    ASSERT_TRUE(m.ok()) << m.error().message;
    if (!m->has_value()) break;
    got.push_back(**m);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (ProtocolMessage{ProtocolTag::overlay_control, Bytes{0x00, 0x01}}));
  EXPECT_EQ(got[1], (ProtocolMessage{ProtocolTag::overlay_control, Bytes{0x00, 0x02}}));
  EXPECT_EQ(got[2], (ProtocolMessage{ProtocolTag::overlay_control, Bytes{0x00, 0x03, 0xea, 0x52}}));

  // The heartbeat at seq 18, after skipping ahead.
  TcpOpener o18(k, Side::inbound);
  o18.set_next_seq_for_test(18);
  MessageReader r18(o18);
  r18.feed(vec().section("capture A->B seq18: TCP heartbeat"));
  auto hb = r18.next();
  ASSERT_TRUE(hb.ok() && hb->has_value());
  EXPECT_EQ(**hb, (ProtocolMessage{ProtocolTag::heartbeat, {}}));
}

// ---- message layer

TEST(MessageLayer, SkipsEmptyAndEmptyOverlayControl) {
  Bytes wire;
  ASSERT_TRUE(append_frame(wire, Bytes{}).ok());
  ASSERT_TRUE(append_frame(wire, Bytes{7}).ok());
  ASSERT_TRUE(append_frame(wire, Bytes{42, 1}).ok());  // unknown tag: passed up
  ASSERT_TRUE(append_frame(wire, Bytes{7, 0}).ok());
  MessageReader r(std::nullopt);
  r.feed(wire);
  auto m1 = r.next();
  ASSERT_TRUE(m1.ok() && m1->has_value());
  EXPECT_EQ(static_cast<int>((*m1)->tag), 42);
  EXPECT_FALSE(is_known_tag((*m1)->tag));
  auto m2 = r.next();
  ASSERT_TRUE(m2.ok() && m2->has_value());
  EXPECT_EQ(**m2, (ProtocolMessage{ProtocolTag::overlay_control, Bytes{0}}));
  EXPECT_EQ(r.skipped_for_test(), 2u);
  auto m3 = r.next();
  ASSERT_TRUE(m3.ok());
  EXPECT_FALSE(m3->has_value());
}

TEST(MessageLayer, SealedEmptyMessagesStillAdvanceSequence) {
  SessionKey k;
  k.bytes.fill(3);
  TcpSealer s(k, Side::inbound);
  Bytes wire;
  ASSERT_TRUE(append_frame(wire, s.seal(Bytes{})).ok());  // empty: skipped, seq 0 consumed
  MessageWriter w(s);
  ASSERT_TRUE(w.append(wire, ProtocolTag::gossip_unicast, Bytes{5}).ok());
  MessageReader r(TcpOpener(k, Side::outbound));
  r.feed(wire);
  auto m = r.next();
  ASSERT_TRUE(m.ok() && m->has_value()) << (m.ok() ? "" : m.error().message);
  EXPECT_EQ(**m, (ProtocolMessage{ProtocolTag::gossip_unicast, Bytes{5}}));
}

TEST(MessageLayer, WriterRefusesEmptyOverlayControlAndOversize) {
  MessageWriter w(std::nullopt);
  Bytes out;
  EXPECT_FALSE(w.append(out, ProtocolTag::overlay_control, {}).ok());
  EXPECT_TRUE(out.empty());
  Bytes big(kMaxTcpMessageSize, 0);
  EXPECT_FALSE(w.append(out, ProtocolTag::gossip, big).ok());
  big.pop_back();
  EXPECT_TRUE(w.append(out, ProtocolTag::gossip, big).ok());

  SessionKey k;
  TcpSealer s(k, Side::outbound);
  MessageWriter ws(s);
  Bytes out2;
  big.resize(kMaxTcpMessageSize - 16);  // tag + payload + 16 > limit
  EXPECT_FALSE(ws.append(out2, ProtocolTag::gossip, big).ok());
  EXPECT_TRUE(out2.empty());
  big.pop_back();
  EXPECT_TRUE(ws.append(out2, ProtocolTag::gossip, big).ok());
  EXPECT_EQ(out2.size(), 4 + kMaxTcpMessageSize);
}

TEST(MessageLayer, ChunkedRoundTripEncrypted) {
  SessionKey k;
  k.bytes.fill(9);
  MessageWriter w(TcpSealer(k, Side::outbound));
  Bytes wire;
  std::vector<ProtocolMessage> sent;
  for (std::uint8_t i = 0; i < 30; ++i) {
    ProtocolMessage m{static_cast<ProtocolTag>(i % 8), Bytes(i * 3u + 1, i)};
    ASSERT_TRUE(w.append(wire, m.tag, m.payload).ok());
    sent.push_back(m);
  }
  MessageReader r(TcpOpener(k, Side::inbound));
  SeededRandom rng(5);
  std::vector<ProtocolMessage> got;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    auto n = std::min<std::size_t>(wire.size() - pos, 1 + rng.uniform(50));
    r.feed(ByteSpan(wire).subspan(pos, n));
    pos += n;
    for (;;) {
      auto m = r.next();
      ASSERT_TRUE(m.ok());
      if (!m->has_value()) break;
      got.push_back(**m);
    }
  }
  EXPECT_EQ(got, sent);
}

TEST(MessageLayer, TamperedOrOversizeIsFatal) {
  SessionKey k;
  MessageWriter w(TcpSealer(k, Side::outbound));
  auto bytes = *w.encode(ProtocolTag::gossip, Bytes{1, 2, 3});
  bytes.back() ^= 1;
  MessageReader r(TcpOpener(k, Side::inbound));
  r.feed(bytes);
  EXPECT_FALSE(r.next().ok());
  EXPECT_FALSE(r.next().ok());  // sticky

  MessageReader plain(std::nullopt);
  plain.feed(Bytes{0x00, 0xa0, 0x00, 0x01});
  EXPECT_FALSE(plain.next().ok());
}

}  // namespace
}  // namespace weft::mesh
