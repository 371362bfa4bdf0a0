// Golden tests for session crypto against the bytes the real Weave/mesh Go code produced
// (tests/fixtures/weave-wire-vectors.txt), plus replay/forgery behaviour.
#include "weft/mesh/session_crypto.hpp"

#include <gtest/gtest.h>

#include <string_view>

#include "vectors.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"

namespace weft::mesh {
namespace {

using test::Vectors;

const Vectors& vec() { return Vectors::get(); }

KeyPair key_a() { return *KeyPair::from_secret(vec().hex_value("privA")); }
KeyPair key_b() { return *KeyPair::from_secret(vec().hex_value("privB")); }

PublicKey pub(const Bytes& b) {
  PublicKey p{};
  EXPECT_EQ(b.size(), p.size());
  std::copy(b.begin(), b.end(), p.begin());
  return p;
}

SessionKey capture_key() {
  SessionKey k;
  auto b = vec().hex_value("sessionKey(A side)");
  std::copy(b.begin(), b.end(), k.bytes.begin());
  return k;
}

SessionKey key_00_1f() {
  SessionKey k;
  for (std::size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(i);
  return k;
}

ByteSpan password() {
  static const Bytes pw = to_bytes("secret");
  return pw;
}

/// Strips the 4-byte length prefix of a single framed message, checking it.
ByteSpan unframe(const Bytes& framed) {
  FrameReader r;
  r.feed(framed);
  auto f = r.next();
  EXPECT_TRUE(f.ok());
  EXPECT_TRUE(f->has_value());
  EXPECT_EQ(r.buffered(), 0u);
  // The reader's buffer dies with it, so point into the caller's copy instead.
  return ByteSpan(framed).subspan(kFrameHeaderSize);
}

Bytes open_at(Side sender, std::uint64_t seq, ByteSpan sealed) {
  Bytes out;
  EXPECT_TRUE(secretbox_open_into(out, sealed, make_nonce(sender, Transport::tcp, seq),
                                  capture_key()))
      << "seq " << seq;
  return out;
}

// ---- keys

TEST(SessionCrypto, PublicKeysMatchGo) {
  EXPECT_EQ(to_hex(key_a().public_key()), vec().value("pubA"));
  EXPECT_EQ(to_hex(key_b().public_key()), vec().value("pubB"));
}

TEST(SessionCrypto, SessionKeyBothSides) {
  auto ka = form_session_key(pub(vec().hex_value("pubB")), key_a(), password());
  auto kb = form_session_key(pub(vec().hex_value("pubA")), key_b(), password());
  ASSERT_TRUE(ka.ok());
  ASSERT_TRUE(kb.ok());
  EXPECT_EQ(to_hex(ka->bytes), vec().value("sessionKey(A side)"));
  EXPECT_EQ(to_hex(kb->bytes), vec().value("sessionKey(B side)"));
}

TEST(SessionCrypto, PasswordChangesKey) {
  auto k1 = form_session_key(key_b().public_key(), key_a(), password());
  auto k2 = form_session_key(key_b().public_key(), key_a(), to_bytes("secreT"));
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_NE(*k1, *k2);
}

TEST(SessionCrypto, LowOrderPublicKeyRejected) {
  PublicKey zero{};
  EXPECT_FALSE(form_session_key(zero, key_a(), password()).ok());
}

TEST(SessionCrypto, GenerateIsDeterministicWithSeededRandom) {
  SeededRandom r1(7), r2(7), r3(8);
  auto a = KeyPair::generate(r1);
  auto b = KeyPair::generate(r2);
  auto c = KeyPair::generate(r3);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  EXPECT_FALSE(KeyPair::from_secret(Bytes(31, 1)).has_value());
}

// ---- nonces

TEST(SessionCrypto, TcpNonces) {
  EXPECT_EQ(to_hex(make_nonce(Side::outbound, Transport::tcp, 0)),
            vec().value("nonce A->B seq0"));
  EXPECT_EQ(to_hex(make_nonce(Side::outbound, Transport::tcp, 1)),
            vec().value("nonce A->B seq1"));
  EXPECT_EQ(to_hex(make_nonce(Side::inbound, Transport::tcp, 0)),
            vec().value("nonce B->A seq0"));
}

TEST(SessionCrypto, UdpNonces) {
  auto n = make_nonce(Side::outbound, Transport::udp, kSleeveDfBit | 5);
  EXPECT_EQ(to_hex(n), "800000000000000000000000000000008000000000000005");
  EXPECT_EQ(to_hex(make_nonce(Side::inbound, Transport::udp, 0)), std::string(48, '0'));
}

// ---- TCP sealing and framing

TEST(SessionCrypto, TwoHeartbeatsFramedAndSealed) {
  TcpSealer a(capture_key(), Side::outbound);
  Bytes wire;
  const Bytes heartbeat{0x00};
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(append_frame(wire, a.seal(heartbeat)).ok());
  EXPECT_EQ(to_hex(wire), to_hex(vec().section("A->B two heartbeats, framed+sealed")));

  TcpOpener b(capture_key(), Side::inbound);
  FrameReader r;
  r.feed(wire);
  for (int i = 0; i < 2; ++i) {
    auto f = r.next();
    ASSERT_TRUE(f.ok() && f->has_value());
    auto pt = b.open(**f);
    ASSERT_TRUE(pt.ok()) << pt.error().message;
    EXPECT_EQ(*pt, heartbeat);
  }
  EXPECT_EQ(b.next_seq(), 2u);
}

TEST(SessionCrypto, SealerOpenerRoundTripBothDirections) {
  auto k = capture_key();
  TcpSealer a_send(k, Side::outbound), b_send(k, Side::inbound);
  TcpOpener a_recv(k, Side::outbound), b_recv(k, Side::inbound);
  for (int i = 0; i < 5; ++i) {
    Bytes m(static_cast<std::size_t>(i) * 7, static_cast<std::uint8_t>(i));
    auto x = b_recv.open(a_send.seal(m));
    auto y = a_recv.open(b_send.seal(m));
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(*x, m);
    EXPECT_EQ(*y, m);
  }
  // Polarity matters: a message A sealed does not open as if B had sealed it.
  TcpOpener wrong(k, Side::outbound);
  EXPECT_FALSE(wrong.open(TcpSealer(k, Side::outbound).seal(Bytes{1})).ok());
}

TEST(SessionCrypto, OpenerRejectsTamperedReorderedAndShort) {
  auto k = capture_key();
  TcpSealer s(k, Side::outbound);
  auto m0 = s.seal(to_bytes("zero"));
  auto m1 = s.seal(to_bytes("one"));
  {
    TcpOpener o(k, Side::inbound);
    auto bad = m0;
    bad[5] ^= 1;
    EXPECT_FALSE(o.open(bad).ok());
    EXPECT_EQ(o.next_seq(), 0u);  // failure does not advance
    EXPECT_TRUE(o.open(m0).ok());
  }
  {
    TcpOpener o(k, Side::inbound);
    EXPECT_FALSE(o.open(m1).ok());  // out of order
  }
  {
    TcpOpener o(k, Side::inbound);
    EXPECT_FALSE(o.open(Bytes(15, 0)).ok());
    EXPECT_FALSE(o.open(Bytes{}).ok());
  }
  {
    TcpOpener o(k, Side::inbound);
    ASSERT_TRUE(o.open(m0).ok());
    EXPECT_FALSE(o.open(m0).ok());  // replayed
  }
}

TEST(SessionCrypto, EmptyMessageSealsToTagOnly) {
  TcpSealer s(capture_key(), Side::inbound);
  auto sealed = s.seal(Bytes{});
  EXPECT_EQ(sealed.size(), kSecretboxOverhead);
  TcpOpener o(capture_key(), Side::outbound);
  auto pt = o.open(sealed);
  ASSERT_TRUE(pt.ok());
  EXPECT_TRUE(pt->empty());
}

TEST(FrameReader, IncrementalByteByByte) {
  Bytes wire;
  const Bytes a = to_bytes("hello"), b, c(1000, 0x5a);
  ASSERT_TRUE(append_frame(wire, a).ok());
  ASSERT_TRUE(append_frame(wire, b).ok());
  ASSERT_TRUE(append_frame(wire, c).ok());
  FrameReader r;
  std::vector<Bytes> got;
  for (auto byte : wire) {
    r.feed(ByteSpan(&byte, 1));
    for (;;) {
      auto f = r.next();
      ASSERT_TRUE(f.ok());
      if (!f->has_value()) break;
      got.emplace_back((*f)->begin(), (*f)->end());
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(got[2], c);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, ArbitraryChunksAndLeftover) {
  Bytes wire;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(append_frame(wire, Bytes(static_cast<std::size_t>(i), 0x11)).ok());
  }
  wire.push_back(0);  // start of a partial next frame
  wire.push_back(0);
  SeededRandom rng(1);
  FrameReader r;
  std::size_t pos = 0, frames = 0;
  while (pos < wire.size()) {
    auto n = std::min<std::size_t>(wire.size() - pos, 1 + rng.uniform(40));
    r.feed(ByteSpan(wire).subspan(pos, n));
    pos += n;
    for (;;) {
      auto f = r.next();
      ASSERT_TRUE(f.ok());
      if (!f->has_value()) break;
      EXPECT_EQ((*f)->size(), frames);
      ++frames;
    }
  }
  EXPECT_EQ(frames, 50u);
  EXPECT_EQ(r.take_buffered(), (Bytes{0, 0}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, LengthLimit) {
  {
    FrameReader r;
    // exactly 10 MiB is allowed: the reader waits for the body
    r.feed(Bytes{0x00, 0xa0, 0x00, 0x00});
    auto f = r.next();
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(f->has_value());
  }
  {
    FrameReader r;
    r.feed(Bytes{0x00, 0xa0, 0x00});
    ASSERT_TRUE(r.next().ok());
    r.feed(Bytes{0x01});  // 10 MiB + 1: rejected as soon as the length is known
    auto f = r.next();
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("exceeds maximum size"), std::string::npos);
    r.feed(Bytes{0, 0, 0, 0});
    EXPECT_FALSE(r.next().ok());  // sticky
  }
  {
    FrameReader r;
    r.feed(Bytes{0xff, 0xff, 0xff, 0xff});
    EXPECT_FALSE(r.next().ok());
  }
  Bytes big(kMaxTcpMessageSize + 1);
  Bytes out;
  EXPECT_FALSE(append_frame(out, big).ok());
  EXPECT_TRUE(out.empty());
  big.pop_back();
  EXPECT_TRUE(append_frame(out, big).ok());
  EXPECT_EQ(out.size(), kMaxTcpMessageSize + kFrameHeaderSize);
}

// ---- the real capture (TCP)

TEST(SessionCryptoCapture, FeaturesMessagesBothDirections) {
  const auto& a_framed = vec().section("capture A->B seq0: features message, framed");
  const auto& a_plain = vec().section("capture A->B seq0: features message, plaintext");
  TcpOpener b(capture_key(), Side::inbound);
  auto pa = b.open(unframe(a_framed));
  ASSERT_TRUE(pa.ok()) << pa.error().message;
  EXPECT_EQ(to_hex(*pa), to_hex(a_plain));

  const auto& b_framed = vec().section("capture B->A seq0: features message, framed");
  const auto& b_plain = vec().section("capture B->A seq0: features message, plaintext");
  TcpOpener a(capture_key(), Side::outbound);
  auto pb = a.open(unframe(b_framed));
  ASSERT_TRUE(pb.ok()) << pb.error().message;
  EXPECT_EQ(to_hex(*pb), to_hex(b_plain));

  // Re-sealing the plaintext at seq 0 reproduces the captured bytes exactly.
  TcpSealer sa(capture_key(), Side::outbound);
  EXPECT_EQ(to_hex(*encode_frame(sa.seal(a_plain))), to_hex(a_framed));
  TcpSealer sb(capture_key(), Side::inbound);
  EXPECT_EQ(to_hex(*encode_frame(sb.seal(b_plain))), to_hex(b_framed));
}

TEST(SessionCryptoCapture, OverlayControlMessages) {
  const auto& seq4 = vec().section("capture A->B seq4: sleeve ConnectionEstablished");
  const auto& seq5 = vec().section("capture A->B seq5: sleeve FragmentationReceived");
  const auto& seq6 = vec().section("capture A->B seq6: sleeve PMTUVerified");
  EXPECT_EQ(open_at(Side::outbound, 4, unframe(seq4)),
            vec().section("capture A->B seq4: plaintext"));
  // seq5 has no plaintext section: tag 7, forwarder index 0, sub-tag 2 (FragmentationReceived).
  EXPECT_EQ(open_at(Side::outbound, 5, unframe(seq5)), (Bytes{0x07, 0x00, 0x02}));
  EXPECT_EQ(open_at(Side::outbound, 6, unframe(seq6)),
            vec().section("capture A->B seq6: plaintext"));

  // And through a TcpOpener positioned at seq 4, consecutively.
  TcpOpener b(capture_key(), Side::inbound);
  b.set_next_seq_for_test(4);
  EXPECT_TRUE(b.open(unframe(seq4)).ok());
  EXPECT_TRUE(b.open(unframe(seq5)).ok());
  EXPECT_TRUE(b.open(unframe(seq6)).ok());
  EXPECT_EQ(b.next_seq(), 7u);
}

TEST(SessionCryptoCapture, HeartbeatAtSeq18) {
  const auto& framed = vec().section("capture A->B seq18: TCP heartbeat");
  EXPECT_EQ(open_at(Side::outbound, 18, unframe(framed)), Bytes{0x00});
  TcpSealer a(capture_key(), Side::outbound);
  a.set_next_seq_for_test(18);
  EXPECT_EQ(to_hex(*encode_frame(a.seal(Bytes{0x00}))), to_hex(framed));
  // At any other sequence number it does not open.
  Bytes out;
  EXPECT_FALSE(secretbox_open_into(out, unframe(framed),
                                   make_nonce(Side::outbound, Transport::tcp, 17), capture_key()));
}

// ---- sleeve

Bytes heartbeat_record(std::uint64_t src, std::uint64_t dst, std::uint64_t conn_uid) {
  Bytes r;
  ByteWriter w(r);
  for (int s = 40; s >= 0; s -= 8) w.u8(static_cast<std::uint8_t>(src >> s));
  for (int s = 40; s >= 0; s -= 8) w.u8(static_cast<std::uint8_t>(dst >> s));
  w.u16be(22);
  for (int i = 0; i < 14; ++i) w.u8(0);
  w.u64be(conn_uid);
  return r;
}

constexpr std::uint64_t kNameA = 0xaabbccddee01;
constexpr std::uint64_t kNameB = 0xaabbccddee02;

TEST(SleeveCrypto, EncryptedUdpPayloadVector) {
  const auto& enc = vec().section("sleeve encrypted UDP payload");
  const auto& plain = vec().section("sleeve plain UDP payload");
  ASSERT_GE(enc.size(), 6u + kSleeveCryptoOverhead);
  EXPECT_EQ(Bytes(enc.begin(), enc.begin() + 6), Bytes(plain.begin(), plain.begin() + 6));

  SleeveDecryptor b(key_00_1f(), Side::inbound);
  auto pt = b.open(ByteSpan(enc).subspan(6));
  ASSERT_TRUE(pt.ok()) << pt.error().message;
  ASSERT_TRUE(pt->has_value());
  // The encrypted vector carries the first frame record of the plain payload (one 16-byte frame).
  const auto& records = **pt;
  ASSERT_EQ(records.size(), 14u + 16u);
  EXPECT_EQ(to_hex(records), to_hex(ByteSpan(plain).subspan(6, records.size())));

  // Encrypting reproduces the vector byte for byte.
  SleeveEncryptors a(key_00_1f(), Side::outbound);
  Bytes out(plain.begin(), plain.begin() + 6);
  a.for_path(false).seal_append(out, records);
  EXPECT_EQ(to_hex(out), to_hex(enc));
  EXPECT_EQ(a.non_df.next_seq(), 1u);
  EXPECT_EQ(a.df.next_seq(), 0u);
}

TEST(SleeveCrypto, EncryptedHeartbeatVectorDf) {
  const auto& enc = vec().section("sleeve encrypted heartbeat (A outbound, DF, seq0, connUID=42)");
  ASSERT_EQ(enc.size(), 66u);
  const auto record = heartbeat_record(kNameA, kNameB, 42);
  SleeveEncryptors a(key_00_1f(), Side::outbound);
  Bytes out = PeerName(kNameA).to_bytes();
  a.df.seal_append(out, record);
  EXPECT_EQ(to_hex(out), to_hex(enc));

  SleeveDecryptor b(key_00_1f(), Side::inbound);
  auto pt = b.open(ByteSpan(enc).subspan(6));
  ASSERT_TRUE(pt.ok() && pt->has_value());
  EXPECT_EQ(**pt, record);
}

TEST(SleeveCryptoCapture, UdpHeartbeatsBothDirections) {
  const auto& ab = vec().section("capture UDP A->B: encrypted sleeve heartbeat");
  const auto& ab_plain = vec().section("capture UDP A->B: decrypted frame record");
  const auto& ba = vec().section("capture UDP B->A: encrypted sleeve heartbeat");
  ASSERT_EQ(ab.size(), 66u);
  ASSERT_EQ(ba.size(), 66u);

  SleeveDecryptor b(capture_key(), Side::inbound);
  auto p1 = b.open(ByteSpan(ab).subspan(6));
  ASSERT_TRUE(p1.ok()) << p1.error().message;
  ASSERT_TRUE(p1->has_value());
  EXPECT_EQ(to_hex(**p1), to_hex(ab_plain));
  EXPECT_EQ(**p1, heartbeat_record(kNameA, kNameB, 0x0303030303030303));

  SleeveDecryptor a(capture_key(), Side::outbound);
  auto p2 = a.open(ByteSpan(ba).subspan(6));
  ASSERT_TRUE(p2.ok()) << p2.error().message;
  ASSERT_TRUE(p2->has_value());
  EXPECT_EQ(**p2, heartbeat_record(kNameB, kNameA, 0x0303030303030303));

  // Both were the first datagram of the DF encryptor, so re-encrypting reproduces them.
  SleeveEncryptors ea(capture_key(), Side::outbound);
  Bytes out = PeerName(kNameA).to_bytes();
  ea.df.seal_append(out, ab_plain);
  EXPECT_EQ(to_hex(out), to_hex(ab));
  SleeveEncryptors eb(capture_key(), Side::inbound);
  Bytes out2 = PeerName(kNameB).to_bytes();
  eb.df.seal_append(out2, **p2);
  EXPECT_EQ(to_hex(out2), to_hex(ba));

  // A second delivery of the same datagram is a duplicate: dropped, not an error.
  auto again = b.open(ByteSpan(ab).subspan(6));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

struct SleevePair {
  SleeveEncryptors tx{key_00_1f(), Side::outbound};
  SleeveDecryptor rx{key_00_1f(), Side::inbound};
  Bytes seal(bool df, std::uint64_t seq, ByteSpan pt) {
    tx.for_path(df).set_next_seq_for_test(seq);
    Bytes out;
    tx.for_path(df).seal_append(out, pt);
    return out;
  }
};

TEST(SleeveCrypto, TamperedDatagramFailsAndDoesNotAdvance) {
  SleevePair p;
  const Bytes pt = to_bytes("frame records");
  auto pkt = p.seal(false, 0, pt);
  for (std::size_t i = 0; i < pkt.size(); ++i) {
    auto bad = pkt;
    bad[i] ^= 0x01;
    auto r = p.rx.open(bad);
    EXPECT_FALSE(r.ok()) << "byte " << i;  // seqNoAndDF is authenticated through the nonce
  }
  auto ok = p.rx.open(pkt);
  ASSERT_TRUE(ok.ok() && ok->has_value());
  EXPECT_EQ(**ok, pt);
  EXPECT_FALSE(p.rx.open(Bytes(7, 0)).ok());
  EXPECT_FALSE(p.rx.open(Bytes(8 + 15, 0)).ok());
  EXPECT_FALSE(p.rx.open(Bytes{}).ok());
}

TEST(SleeveCrypto, ForgedHighSequenceCannotMoveWindow) {
  SleevePair p;
  const Bytes pt{1, 2, 3};
  // A forged datagram claiming seq 2^62: fails authentication, window stays put.
  auto forged = p.seal(false, std::uint64_t{1} << 62, pt);
  forged.back() ^= 0x80;
  EXPECT_FALSE(p.rx.open(forged).ok());
  auto r = p.rx.open(p.seal(false, 0, pt));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
}

TEST(SleeveCrypto, ReplayDroppedAndPathsIndependent) {
  SleevePair p;
  const Bytes pt{9};
  auto n0 = p.seal(false, 0, pt);
  auto d0 = p.seal(true, 0, pt);
  EXPECT_NE(n0, d0);
  for (const auto* pkt : {&n0, &d0}) {
    auto r = p.rx.open(*pkt);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->has_value());
  }
  for (const auto* pkt : {&n0, &d0}) {
    auto r = p.rx.open(*pkt);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
  // Out-of-order within the window is fine.
  auto n5 = p.seal(false, 5, pt), n3 = p.seal(false, 3, pt);
  EXPECT_TRUE(p.rx.open(n5)->has_value());
  EXPECT_TRUE(p.rx.open(n3)->has_value());
  EXPECT_FALSE(p.rx.open(n3)->has_value());
}

TEST(SleeveCrypto, DecryptorUsesSenderPolarity) {
  SleeveEncryptors b_tx(key_00_1f(), Side::inbound);
  Bytes pkt;
  b_tx.non_df.seal_append(pkt, Bytes{1});
  SleeveDecryptor wrong(key_00_1f(), Side::inbound);  // thinks the sender was outbound
  EXPECT_FALSE(wrong.open(pkt).ok());
  SleeveDecryptor right(key_00_1f(), Side::outbound);
  EXPECT_TRUE(right.open(pkt).ok());
}

TEST(ReplayWindow, SlideAndReset) {
  constexpr std::uint64_t W = std::uint64_t{1} << ReplayWindow::kWindowBits;
  ReplayWindow w;
  EXPECT_TRUE(w.accept(0));
  EXPECT_FALSE(w.accept(0));
  EXPECT_TRUE(w.accept(W - 1));
  EXPECT_EQ(w.current_window(), 0u);

  // Next window: slides; the old window becomes "previous" and still rejects duplicates.
  EXPECT_TRUE(w.accept(W + 7));
  EXPECT_EQ(w.current_window(), 1u);
  EXPECT_FALSE(w.accept(0));
  EXPECT_FALSE(w.accept(W - 1));
  EXPECT_TRUE(w.accept(5));  // late but unseen, in the previous window
  EXPECT_FALSE(w.accept(5));
  EXPECT_FALSE(w.accept(W + 7));

  // Slide again: window 0 is now below the window and everything in it is dropped.
  EXPECT_TRUE(w.accept(2 * W));
  EXPECT_EQ(w.current_window(), 2u);
  EXPECT_FALSE(w.accept(6));
  EXPECT_TRUE(w.accept(W + 8));  // previous window (1), unseen
  EXPECT_FALSE(w.accept(W + 7));  // previous window, seen

  // A jump of more than one window resets both sets.
  EXPECT_TRUE(w.accept(10 * W + 3));
  EXPECT_EQ(w.current_window(), 10u);
  EXPECT_TRUE(w.accept(9 * W + 3));  // previous window, empty after the reset
  EXPECT_FALSE(w.accept(8 * W));     // below
  EXPECT_FALSE(w.accept(2 * W));
  EXPECT_FALSE(w.accept(10 * W + 3));
}

TEST(ReplayWindow, FullWindowEveryOffset) {
  constexpr std::uint64_t W = std::uint64_t{1} << ReplayWindow::kWindowBits;
  ReplayWindow w;
  for (std::uint64_t s = 0; s < W; s += 997) EXPECT_TRUE(w.accept(s));
  for (std::uint64_t s = 0; s < W; s += 997) EXPECT_FALSE(w.accept(s));
  EXPECT_TRUE(w.accept(W - 1));
  EXPECT_FALSE(w.accept(W - 1));
}

TEST(SleeveCrypto, WindowSlideThroughDecryptor) {
  SleevePair p;
  constexpr std::uint64_t W = std::uint64_t{1} << ReplayWindow::kWindowBits;
  const Bytes pt{4, 2};
  auto early = p.seal(false, 1, pt);
  EXPECT_TRUE(p.rx.open(p.seal(false, W + 1, pt))->has_value());
  EXPECT_TRUE(p.rx.open(early)->has_value());  // previous window, unseen
  EXPECT_TRUE(p.rx.open(p.seal(false, 3 * W, pt))->has_value());
  EXPECT_FALSE(p.rx.open(p.seal(false, 2, pt))->has_value());  // too old now
  // The DF path has its own window, still at 0.
  EXPECT_TRUE(p.rx.open(p.seal(true, 2, pt))->has_value());
}

}  // namespace
}  // namespace weft::mesh
