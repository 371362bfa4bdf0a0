// weft's extended overlay (router/core superframe.hpp): negotiation, the fragment format (golden
// header bytes), sealing with both AEADs, replay and tamper refusal, reassembly under reordering,
// loss and conflicts, the fallback to complete frames for offload-less peers, and two Sleeve
// cores carrying a TSO superframe whole (plain and sealed) while a Weave-format peer gets none.
#include "weft/router/superframe.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "packet_builder.hpp"
#include "weft/base/strings.hpp"
#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ipv4_header.hpp"
#include "weft/router/sleeve.hpp"

namespace weft::router {
namespace {

using datapath::UdpEndpoint;
using datapath::VnetHeader;
namespace test = datapath::test;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);
const UdpEndpoint kAddrA{Ipv4(0xc0a84d01), 6783};
const UdpEndpoint kAddrB{Ipv4(0xc0a84d02), 6783};
const TimePoint T0{std::chrono::hours(1)};

std::vector<std::string> words(std::string_view s) {
  auto w = split(s, ' ');
  return {w.begin(), w.end()};
}

mesh::SessionKey key() {
  mesh::SessionKey k;
  for (int i = 0; i < 32; ++i) k.bytes[i] = static_cast<std::uint8_t>(0x40 + i);
  return k;
}

/// A TCP/IPv4 superframe of `payload` bytes as a container with TSO leaves it: IP total length
/// of the whole, TCP checksum field = the pseudo-header seed (partial).
Bytes tso_frame(std::size_t payload) {
  Bytes l4(20, 0);
  l4[0] = 0x1f, l4[1] = 0x90, l4[2] = 0xc3, l4[3] = 0x50;  // 8080 -> 50000
  l4[7] = 1;                                                // seq 1
  l4[12] = 5 << 4;
  l4[13] = 0x18;  // ACK|PSH
  l4[14] = 0xff;
  auto body = test::pattern(payload);
  l4.insert(l4.end(), body.begin(), body.end());
  const Ipv4 src = test::ip("10.32.0.1"), dst = test::ip("10.32.0.2");
  std::uint32_t s = (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) + (dst.value() & 0xffff) +
                    6 + static_cast<std::uint32_t>(l4.size());
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  l4[16] = static_cast<std::uint8_t>(s >> 8);
  l4[17] = static_cast<std::uint8_t>(s);
  return test::PacketBuilder().ipv4(src, dst, 6).df().payload(l4).build();
}

VnetHeader tso_header(std::uint16_t mss) {
  VnetHeader h;
  h.flags = datapath::kVnetFlagNeedsCsum;
  h.gso_type = datapath::kVnetGsoTcpv4;
  h.hdr_len = 54;
  h.gso_size = mss;
  h.csum_start = 34;
  h.csum_offset = 16;
  return h;
}

std::vector<std::span<const std::uint8_t>> split_train(const Bytes& data, const std::vector<std::size_t>& sizes) {
  std::vector<std::span<const std::uint8_t>> out;
  std::size_t off = 0;
  for (auto n : sizes) {
    out.emplace_back(data.data() + off, n);
    off += n;
  }
  return out;
}

TEST(Superframe, NegotiatesVersionAndAead) {
  auto ours = words("1 aes256gcm chacha20poly1305");
  EXPECT_EQ(negotiate_extended(ours, words("1 aes256gcm chacha20poly1305")), Aead::aes256gcm);
  EXPECT_EQ(negotiate_extended(ours, words("1 chacha20poly1305")), Aead::chacha20poly1305);
  EXPECT_EQ(negotiate_extended(words("1 chacha20poly1305"), words("1 aes256gcm chacha20poly1305")),
            Aead::chacha20poly1305);
  EXPECT_FALSE(negotiate_extended(ours, std::nullopt));  // a Weave peer
  EXPECT_FALSE(negotiate_extended(ours, words("2 aes256gcm")));
  EXPECT_FALSE(negotiate_extended(ours, words("1")));
  EXPECT_FALSE(negotiate_extended({}, words("1 chacha20poly1305")));
  auto offer = words(extended_overlay_offer());
  ASSERT_GE(offer.size(), 2u);
  EXPECT_EQ(offer[0], "1");
  EXPECT_EQ(offer.back(), "chacha20poly1305");
}

TEST(Superframe, FragmentHeaderGoldenBytes) {
  Bytes frame = test::pattern(100);
  VnetHeader vh = tso_header(1448);
  Bytes out;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(build_extended_fragments(out, sizes, kA, kA, kB, 0x0102030405060708u, vh, frame, 56 + 60, nullptr));
  ASSERT_EQ(sizes, (std::vector<std::size_t>{116, 96}));
  const Bytes want_header = {
      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01,              // sender
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x57, 0x58,  // marker
      0x10, 0x00, 0x01, 0x02,                          // v1 plain, no AEAD, fragment 1 of 2
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // id
      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01,              // src
      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02,              // dst
      0x00, 0x00, 0x00, 0x64,                          // total 100
      0x00, 0x00, 0x00, 0x3c,                          // offset 60
      0x01, 0x01, 0x36, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00,  // virtio_net_hdr
  };
  auto second = split_train(out, sizes)[1];
  EXPECT_EQ(Bytes(second.begin(), second.begin() + 56), want_header);
  EXPECT_EQ(Bytes(second.begin() + 56, second.end()), Bytes(frame.begin() + 60, frame.end()));
  auto f = parse_extended_fragment(second);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->index, 1);
  EXPECT_EQ(f->count, 2);
  EXPECT_EQ(f->offset, 60u);
  EXPECT_EQ(f->vnet, vh);
  EXPECT_FALSE(f->sealed);
}

TEST(Superframe, ParserRefusesBadFragments) {
  Bytes frame = test::pattern(300);
  Bytes out;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(build_extended_fragments(out, sizes, kA, kA, kB, 9, {}, frame, 200, nullptr));
  Bytes good(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(sizes[0]));
  ASSERT_TRUE(parse_extended_fragment(good));
  auto bad = [&](std::size_t at, std::uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return parse_extended_fragment(b).has_value();
  };
  EXPECT_FALSE(bad(7, 0xfe));   // marker
  EXPECT_FALSE(bad(14, 0x20));  // version 2
  EXPECT_FALSE(bad(14, 0x11));  // sealed without an AEAD
  EXPECT_FALSE(bad(15, 1));     // an AEAD but not sealed
  EXPECT_FALSE(bad(15, 7));     // unknown AEAD
  EXPECT_FALSE(bad(17, 0));     // count 0
  EXPECT_FALSE(bad(16, 3));     // index == count
  EXPECT_FALSE(bad(40, 0));     // total 44 < offset + chunk
  EXPECT_FALSE(bad(38, 0x10));  // total > kExtMaxTotal
  EXPECT_FALSE(bad(45, 200));   // offset past total
  EXPECT_FALSE(parse_extended_fragment(std::span(good).first(56)));  // no chunk
  EXPECT_FALSE(parse_extended_fragment(std::span(good).first(20)));
  EXPECT_FALSE(parse_extended_fragment({}));
}

class SealedRoundTrip : public ::testing::TestWithParam<Aead> {};

TEST_P(SealedRoundTrip, SealsOpensAndRefusesTampering) {
  ExtSealer a(key(), GetParam(), true), b(key(), GetParam(), false);
  Bytes frame = tso_frame(60000);
  VnetHeader vh = tso_header(1448);
  Bytes out;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(build_extended_fragments(out, sizes, kA, kA, kB, 5, vh, frame, 1472, &a));
  EXPECT_EQ(sizes.size(), (frame.size() + 16 + 1415) / 1416);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 1472u);
  Reassembler r;
  Reassembler::Done done;
  auto frags = split_train(out, sizes);
  std::reverse(frags.begin(), frags.end());  // any order
  Reassembler::Outcome last{};
  for (auto d : frags) {
    auto f = parse_extended_fragment(d);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->sealed);
    EXPECT_EQ(f->aead, GetParam());
    last = r.add(*f, done);
  }
  ASSERT_EQ(last, Reassembler::Outcome::complete);
  ASSERT_EQ(done.payload.size(), frame.size() + 16);
  // The ciphertext does not show the frame.
  EXPECT_FALSE(std::equal(frame.begin() + 100, frame.begin() + 200, done.payload.begin() + 100));
  auto ad = extended_ad(true, GetParam(), kA, kB, static_cast<std::uint32_t>(done.payload.size()), vh);
  Bytes copy(done.payload.begin(), done.payload.end());
  // Wrong id (nonce), wrong direction, changed header or payload: refused.
  Bytes t = copy;
  EXPECT_FALSE(b.open(t, ad, 6));
  t = copy;
  EXPECT_FALSE(a.open(t, ad, 5));
  t = copy;
  auto ad2 = extended_ad(true, GetParam(), kA, kB, static_cast<std::uint32_t>(copy.size()), tso_header(1000));
  EXPECT_FALSE(b.open(t, ad2, 5));
  t = copy;
  t[3000] ^= 1;
  EXPECT_FALSE(b.open(t, ad, 5));
  t = copy;
  ASSERT_TRUE(b.open(t, ad, 5));
  EXPECT_EQ(Bytes(t.begin(), t.end() - 16), frame);
}

INSTANTIATE_TEST_SUITE_P(Aeads, SealedRoundTrip, ::testing::Values(Aead::chacha20poly1305, Aead::aes256gcm),
                         [](const auto& info) { return std::string(aead_name(info.param)); });

TEST(Superframe, ReplayWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.check(0));
  w.accept(0);
  EXPECT_FALSE(w.check(0));
  w.accept(5);
  EXPECT_TRUE(w.check(3));
  w.accept(3);
  EXPECT_FALSE(w.check(3));
  w.accept(5000);
  EXPECT_FALSE(w.check(5));                    // fell out of the window
  EXPECT_TRUE(w.check(5000 - 1000));           // inside, unseen
  EXPECT_FALSE(w.check(5000 - 1024));          // just outside
  EXPECT_FALSE(w.check(5000));
  EXPECT_TRUE(w.check(5001));
}

TEST(Superframe, ReassemblerDropsLostAndConflictingFrames) {
  Bytes frame = test::pattern(5000);
  Reassembler r;
  Reassembler::Done done;
  auto frags_of = [&](std::uint64_t id, Bytes& out, std::vector<std::size_t>& sizes) {
    EXPECT_TRUE(build_extended_fragments(out, sizes, kA, kA, kB, id, {}, frame, 1000, nullptr));
    return split_train(out, sizes);
  };
  // Frame 1 misses a fragment while frames 2..6 complete; its late fragment still completes it.
  Bytes o1;
  std::vector<std::size_t> s1;
  auto f1 = frags_of(1, o1, s1);
  for (std::size_t i = 0; i < f1.size(); ++i) {
    if (i != 2) EXPECT_EQ(r.add(*parse_extended_fragment(f1[i]), done), Reassembler::Outcome::partial);
  }
  for (std::uint64_t id = 2; id <= 6; ++id) {
    Bytes o;
    std::vector<std::size_t> s;
    auto fr = frags_of(id, o, s);
    Reassembler::Outcome last{};
    for (auto d : fr) last = r.add(*parse_extended_fragment(d), done);
    ASSERT_EQ(last, Reassembler::Outcome::complete);
    EXPECT_EQ(done.id, id);
    EXPECT_EQ(Bytes(done.payload.begin(), done.payload.end()), frame);
  }
  EXPECT_EQ(r.add(*parse_extended_fragment(f1[2]), done), Reassembler::Outcome::complete);
  EXPECT_EQ(done.id, 1u);
  EXPECT_EQ(Bytes(done.payload.begin(), done.payload.end()), frame);
  // Lost fragments: five frames in progress at once evict the oldest, which never completes.
  std::vector<Bytes> keep(5);
  std::vector<std::vector<std::span<const std::uint8_t>>> parts(5);
  for (std::uint64_t id = 10; id < 15; ++id) {
    std::vector<std::size_t> s;
    parts[id - 10] = frags_of(id, keep[id - 10], s);
    EXPECT_EQ(r.add(*parse_extended_fragment(parts[id - 10][0]), done), Reassembler::Outcome::partial);
  }
  EXPECT_EQ(r.evicted(), 1u);
  Reassembler::Outcome last{};
  for (std::size_t i = 1; i < parts[0].size(); ++i) last = r.add(*parse_extended_fragment(parts[0][i]), done);
  EXPECT_EQ(last, Reassembler::Outcome::partial);  // frame 10 restarted without its first fragment
  // Duplicates are ignored; a fragment disagreeing with the frame's header drops the frame.
  Bytes o7;
  std::vector<std::size_t> s7;
  auto f7 = frags_of(7, o7, s7);
  EXPECT_EQ(r.add(*parse_extended_fragment(f7[0]), done), Reassembler::Outcome::partial);
  EXPECT_EQ(r.add(*parse_extended_fragment(f7[0]), done), Reassembler::Outcome::partial);
  auto odd = parse_extended_fragment(f7[1]);
  odd->dst = kA;
  EXPECT_EQ(r.add(*odd, done), Reassembler::Outcome::dropped);
}

// Issue 18, item 4: two fragments at the same offset used to add up to `total` and complete a
// frame whose other half was still the previous superframe's bytes in the reused buffer.
TEST(Superframe, ReassemblerNeverDeliversStaleBytes) {
  Reassembler r;
  Reassembler::Done done;
  Bytes secret(2000, 0x5a);  // an earlier frame (another container's traffic) fills the buffer
  Bytes o;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(build_extended_fragments(o, sizes, kA, kA, kB, 1, {}, secret, kExtHeaderLen + 1000, nullptr));
  Reassembler::Outcome last{};
  for (auto d : split_train(o, sizes)) last = r.add(*parse_extended_fragment(d), done);
  ASSERT_EQ(last, Reassembler::Outcome::complete);

  Bytes mine(1000, 0x11), other(1000, 0x22);
  ExtFragment f = *parse_extended_fragment(split_train(o, sizes)[0]);
  f.id = 2;
  f.count = 2;
  f.total = 2000;
  f.offset = 0;
  f.index = 0;
  f.chunk = mine;
  EXPECT_EQ(r.add(f, done), Reassembler::Outcome::partial);
  // The same bytes again under another index: ignored, and the frame never completes.
  f.index = 1;
  EXPECT_EQ(r.add(f, done), Reassembler::Outcome::partial);
  // Different bytes over the same range: the frame is refused.
  f.chunk = other;
  EXPECT_EQ(r.add(f, done), Reassembler::Outcome::dropped);
  // A partial overlap is refused too.
  f.id = 3;
  f.index = 0;
  f.offset = 0;
  f.chunk = mine;
  EXPECT_EQ(r.add(f, done), Reassembler::Outcome::partial);
  f.index = 1;
  f.offset = 500;
  EXPECT_EQ(r.add(f, done), Reassembler::Outcome::dropped);
  // The honest frame 4, in order or not, still completes with exactly its own bytes.
  Bytes fresh = test::pattern(2000);
  Bytes o4;
  ASSERT_TRUE(build_extended_fragments(o4, sizes, kA, kA, kB, 4, {}, fresh, kExtHeaderLen + 1000, nullptr));
  auto parts = split_train(o4, sizes);
  EXPECT_EQ(r.add(*parse_extended_fragment(parts[1]), done), Reassembler::Outcome::partial);
  ASSERT_EQ(r.add(*parse_extended_fragment(parts[0]), done), Reassembler::Outcome::complete);
  EXPECT_EQ(Bytes(done.payload.begin(), done.payload.end()), fresh);
}

TEST(Superframe, PlainFramesSegmentsAndCompletes) {
  Bytes frame = tso_frame(10000);
  Bytes arena;
  std::vector<std::span<const std::uint8_t>> out;
  ASSERT_TRUE(plain_frames(frame, tso_header(1448), 1400, arena, out));
  ASSERT_EQ(out.size(), (10000 + 1359) / 1360);  // MSS lowered to fit 1400-byte IP packets
  std::size_t total = 0;
  for (auto seg : out) {
    auto p = datapath::parse_ipv4_frame(seg);
    ASSERT_TRUE(p);
    EXPECT_LE(p->ip.total_length, 1400);
    EXPECT_EQ(datapath::transport_checksum(p->ip.src, p->ip.dst, 6, p->payload), 0) << "segment checksum";
    total += p->payload.size() - 20;
  }
  EXPECT_EQ(total, 10000u);
  // A partial checksum alone is completed; a complete frame passes untouched.
  Bytes small = tso_frame(100);
  VnetHeader csum = tso_header(0);
  csum.gso_type = 0;
  out.clear();
  ASSERT_TRUE(plain_frames(small, csum, 0, arena, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(datapath::transport_checksum(test::ip("10.32.0.1"), test::ip("10.32.0.2"), 6, out[0].subspan(34)), 0);
  out.clear();
  ASSERT_TRUE(plain_frames(small, VnetHeader{}, 0, arena, out));
  EXPECT_EQ(out[0].data(), small.data());
  // Offsets outside the frame: refused, for sending and for injecting.
  VnetHeader bad = csum;
  bad.csum_start = 4000;
  out.clear();
  EXPECT_FALSE(plain_frames(small, bad, 0, arena, out));
  EXPECT_FALSE(vnet_header_fits(small, bad));
  EXPECT_TRUE(vnet_header_fits(frame, tso_header(1448)));
}

/// Two Sleeve cores wired back to back (heartbeats delivered, establishment done).
struct Pair {
  Sleeve a{kA, 1438}, b{kB, 1438};
  std::vector<FrameRecordView> b_frames;
  std::vector<Bytes> b_copies;
  void start(bool a_ext, bool b_ext, std::optional<mesh::SessionKey> k, Aead aead = Aead::chacha20poly1305) {
    SleeveConnection ca, cb;
    ca.conn = 1, cb.conn = 2;
    ca.remote = kB, cb.remote = kA;
    ca.conn_uid = cb.conn_uid = 7;
    ca.outbound = true;
    ca.remote_addr = kAddrB;
    ca.key = cb.key = k;
    ca.extended = a_ext, cb.extended = b_ext;
    ca.ext_aead = cb.ext_aead = aead;
    SleeveEffects fa, fb;
    a.add_connection(T0, ca, fa);
    b.add_connection(T0, cb, fb);
    for (int round = 0; round < 4; ++round) {
      SleeveEffects na, nb;
      for (auto& d : fa.datagrams) deliver_to_b(d, nb);
      for (auto& d : fb.datagrams) {
        std::vector<FrameRecordView> ignore;
        a.on_datagram(T0, kAddrB, d.data, ignore, na);
      }
      fa = std::move(na);
      fb = std::move(nb);
    }
  }
  void deliver_to_b(const SleeveEffects::Datagram& d, SleeveEffects& fx) {
    std::vector<std::span<const std::uint8_t>> parts;
    if (d.train.empty()) {
      parts.emplace_back(d.data);
    } else {
      parts = split_train(d.data, d.train);
    }
    for (auto p : parts) {
      std::vector<FrameRecordView> frames;
      b.on_datagram(T0, kAddrA, p, frames, fx);
      for (auto& f : frames) {
        b_frames.push_back(f);
        b_copies.emplace_back(f.frame.begin(), f.frame.end());  // views die with the next datagram
      }
    }
  }
};

class SleevePair : public ::testing::TestWithParam<bool> {};

TEST_P(SleevePair, CarriesASuperframeWhole) {
  const bool sealed = GetParam();
  Pair p;
  std::optional<mesh::SessionKey> k;
  if (sealed) k = key();
  p.start(true, true, k);
  ASSERT_TRUE(p.a.extended_to(kB));
  Bytes frame = tso_frame(64000);
  SleeveEffects fx;
  p.a.send_frame(T0, kB, kA, kB, test::pattern(60, 1), fx);  // a small sleeve frame first: order kept
  p.a.send_superframe(T0, kB, kA, kB, frame, tso_header(1448), fx);
  ASSERT_EQ(fx.datagrams.size(), 2u);
  EXPECT_TRUE(fx.datagrams[0].train.empty());
  ASSERT_GT(fx.datagrams[1].train.size(), 40u);
  for (std::size_t i = 0; i + 1 < fx.datagrams[1].train.size(); ++i) {
    EXPECT_EQ(fx.datagrams[1].train[i], 1438u + overhead_df(sealed) - 28);
  }
  SleeveEffects nb;
  for (auto& d : fx.datagrams) p.deliver_to_b(d, nb);
  ASSERT_EQ(p.b_copies.size(), 2u);
  EXPECT_EQ(p.b_copies[0], test::pattern(60, 1));
  EXPECT_FALSE(p.b_frames[0].vnet);
  EXPECT_EQ(p.b_copies[1], frame);
  ASSERT_TRUE(p.b_frames[1].vnet);
  EXPECT_EQ(*p.b_frames[1].vnet, tso_header(1448));
  EXPECT_EQ(p.b.stats().rx_ext_frames, 1u);
  auto st = p.b.status();
  ASSERT_EQ(st.size(), 1u);
  ASSERT_TRUE(st[0].extended);
  EXPECT_EQ(*st[0].extended, sealed ? Aead::chacha20poly1305 : Aead::none);
  if (sealed) {
    // The same datagrams again: replayed, nothing delivered.
    for (auto& d : fx.datagrams) p.deliver_to_b(d, nb);
    EXPECT_EQ(p.b_copies.size(), 2u);
    EXPECT_GE(p.b.stats().rx_replayed, 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndSealed, SleevePair, ::testing::Bool());

TEST(SleeveExtended, NotNegotiatedMeansSleeveOnly) {
  Pair p;
  p.start(false, false, std::nullopt);
  EXPECT_FALSE(p.a.extended_to(kB));
  SleeveEffects fx;
  p.a.send_superframe(T0, kB, kA, kB, tso_frame(1000), tso_header(1448), fx);
  EXPECT_TRUE(fx.datagrams.empty());
  EXPECT_EQ(p.a.stats().tx_dropped, 1u);
  // A fragment reaching a forwarder that did not negotiate is read as a sleeve datagram, whose
  // first record (src ff:ff:ff:ff:ff:ff) is not a frame anybody accepts: no frame comes out.
  Pair q;
  q.start(true, false, std::nullopt);
  SleeveEffects fq;
  q.a.send_superframe(T0, kB, kA, kB, tso_frame(1000), tso_header(1448), fq);
  ASSERT_EQ(fq.datagrams.size(), 1u);
  SleeveEffects nb;
  q.deliver_to_b(fq.datagrams[0], nb);
  for (auto& f : q.b_frames) EXPECT_NE(f.src, kA);
  EXPECT_EQ(q.b.stats().rx_ext_frames, 0u);
}

// Sleeve::send is the forwarding decision for one frame (issue 17: it used to live in the shell).
TEST(SleeveSend, DecidesSleeveSuperframeOrSegments) {
  const VnetHeader tso = tso_header(1448);
  VnetHeader csum = tso_header(0);
  csum.gso_type = 0;
  const Bytes small = tso_frame(100);
  const Bytes super = tso_frame(64000);
  // To a weft peer with the extended overlay.
  Pair p;
  p.start(true, true, std::nullopt);
  SleeveEffects fx;
  p.a.send(T0, kB, kA, kB, test::pattern(60, 1), nullptr, fx);  // complete: the sleeve's batch
  p.a.send(T0, kB, kA, kB, small, &csum, fx);                   // one MTU, partial checksum: completed, batched
  EXPECT_TRUE(fx.datagrams.empty());
  p.a.flush(fx);
  ASSERT_EQ(fx.datagrams.size(), 2u);  // the DF and the non-DF batch
  for (auto& d : fx.datagrams) EXPECT_TRUE(d.train.empty());
  SleeveEffects nb;
  for (auto& d : fx.datagrams) p.deliver_to_b(d, nb);
  ASSERT_EQ(p.b_copies.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(p.b_frames[i].vnet);
    if (p.b_copies[i].size() != small.size()) continue;
    EXPECT_EQ(datapath::transport_checksum(test::ip("10.32.0.1"), test::ip("10.32.0.2"), 6,
                                           std::span<const std::uint8_t>(p.b_copies[i]).subspan(34)),
              0);
  }
  fx = {};
  p.a.send(T0, kB, kA, kB, super, &tso, fx);  // a superframe: whole, at once
  ASSERT_EQ(fx.datagrams.size(), 1u);
  EXPECT_GT(fx.datagrams[0].train.size(), 40u);
  EXPECT_EQ(p.a.stats().tx_ext_frames, 1u);
  p.deliver_to_b(fx.datagrams[0], nb);
  ASSERT_EQ(p.b_copies.size(), 3u);
  EXPECT_EQ(p.b_copies[2], super);
  ASSERT_TRUE(p.b_frames[2].vnet);
  // To a peer without it: the superframe is cut into complete frames of at most the MTU.
  Pair q;
  q.start(false, false, std::nullopt);
  SleeveEffects fq;
  q.a.send(T0, kB, kA, kB, tso_frame(10000), &tso, fq);
  q.a.flush(fq);
  EXPECT_EQ(q.a.stats().tx_ext_frames, 0u);
  SleeveEffects nq;
  for (auto& d : fq.datagrams) q.deliver_to_b(d, nq);
  ASSERT_GT(q.b_copies.size(), 1u);
  std::size_t total = 0;
  for (auto& c : q.b_copies) {
    EXPECT_LE(c.size(), 1438u + 14);
    auto seg = datapath::parse_ipv4_frame(std::span<const std::uint8_t>(c));
    ASSERT_TRUE(seg);
    EXPECT_EQ(datapath::transport_checksum(seg->ip.src, seg->ip.dst, 6, seg->payload), 0) << "segment checksum";
    total += seg->payload.size() - 20;
  }
  EXPECT_EQ(total, 10000u);
  // A frame whose offload header cannot be honoured is counted and dropped.
  VnetHeader bad = csum;
  bad.csum_start = 4000;
  fq = {};
  q.a.send(T0, kB, kA, kB, small, &bad, fq);
  q.a.flush(fq);
  EXPECT_TRUE(fq.datagrams.empty());
  EXPECT_EQ(q.a.stats().tx_unsendable, 1u);
}

// The plain path builds each datagram in place and, with recycle(), reuses the buffers: over many
// bursts only a couple of buffers ever hold datagrams (no heap buffer per datagram). NB: the
// sanitizer build quarantines freed memory, so fresh buffers would show as fresh addresses.
TEST(SleeveSend, RecycledBuffersCarryEveryBurst) {
  Pair p;
  p.start(false, false, std::nullopt);
  SleeveEffects fx;
  std::set<const std::uint8_t*> buffers;
  const Bytes frame = test::pattern(200, 3);
  for (int burst = 0; burst < 50; ++burst) {
    for (int i = 0; i < 3; ++i) p.a.send(T0, kB, kA, kB, frame, nullptr, fx);
    p.a.flush(fx);
    ASSERT_EQ(fx.datagrams.size(), 1u);
    // Byte for byte Weave's sleeve format: our name, then the records.
    bool malformed = false;
    auto recs = parse_frame_records(std::span<const std::uint8_t>(fx.datagrams[0].data).subspan(6), malformed);
    EXPECT_FALSE(malformed);
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_TRUE(std::equal(recs[2].frame.begin(), recs[2].frame.end(), frame.begin(), frame.end()));
    buffers.insert(fx.datagrams[0].data.data());
    p.a.recycle(fx);
    EXPECT_TRUE(fx.datagrams.empty());
  }
  EXPECT_LE(buffers.size(), 3u);
}

TEST(SleeveExtended, SealedPeerRefusesPlainFragments) {
  Pair p;
  p.start(true, true, key());
  // A forged unsealed fragment from A's name: refused as a decryption error.
  Bytes out;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(build_extended_fragments(out, sizes, kA, kA, kB, 0, {}, test::pattern(100), 1472, nullptr));
  std::vector<FrameRecordView> frames;
  SleeveEffects fx;
  p.b.on_datagram(T0, kAddrA, out, frames, fx);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(p.b.stats().rx_decrypt_errors, 1u);
}

}  // namespace
}  // namespace weft::router
