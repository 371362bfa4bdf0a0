// The sleeve overlay core: golden datagrams against Weave's vectors, the heartbeat/establishment
// handshake between two cores, encryption with replay protection, DF handling (ICMP frag-needed,
// router-side fragmentation), PMTU feedback and timeouts.
#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/datapath/ipv4_header.hpp"
#include "weft/router/sleeve.hpp"

namespace weft::router {
namespace {

using datapath::UdpEndpoint;
using test::Vectors;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);
const UdpEndpoint kAddrA{Ipv4(0xc0a84d01), 6783};
const UdpEndpoint kAddrB{Ipv4(0xc0a84d02), 6783};
const TimePoint T0{std::chrono::hours(1)};

mesh::SessionKey key_0_to_31() {
  mesh::SessionKey k;
  for (int i = 0; i < 32; ++i) k.bytes[i] = static_cast<std::uint8_t>(i);
  return k;
}

SleeveConnection conn(PeerName remote, bool outbound, std::optional<UdpEndpoint> addr, std::uint64_t uid = 42,
                      std::optional<mesh::SessionKey> key = std::nullopt) {
  SleeveConnection c;
  c.conn = outbound ? 1 : 2;
  c.remote = remote;
  c.conn_uid = uid;
  c.outbound = outbound;
  c.remote_addr = addr;
  c.key = key;
  return c;
}

/// The records of "sleeve plain UDP payload": two ARP-typed frames A -> B.
std::vector<Bytes> vector_frames() {
  auto& plain = Vectors::get().section("sleeve plain UDP payload");
  bool malformed = false;
  auto recs = parse_frame_records(ByteSpan(plain).subspan(6), malformed);
  EXPECT_FALSE(malformed);
  std::vector<Bytes> out;
  for (auto& r : recs) out.emplace_back(r.frame.begin(), r.frame.end());
  return out;
}

TEST(Sleeve, PlainDatagramMatchesWeaveByteForByte) {
  Sleeve s(kA, 1438);
  SleeveEffects fx;
  s.add_connection(T0, conn(kB, true, kAddrB), fx);
  fx = {};
  for (auto& f : vector_frames()) s.send_frame(T0, kB, kA, kB, f, fx);
  s.flush(fx);
  ASSERT_EQ(fx.datagrams.size(), 1u);
  EXPECT_EQ(to_hex(fx.datagrams[0].data), to_hex(Vectors::get().section("sleeve plain UDP payload")));
  EXPECT_FALSE(fx.datagrams[0].df);  // ARP is not IPv4: the non-DF path
  EXPECT_EQ(fx.datagrams[0].to, kAddrB);
}

TEST(Sleeve, EncryptedDatagramMatchesWeaveByteForByte) {
  Sleeve s(kA, 1414);
  SleeveEffects fx;
  s.add_connection(T0, conn(kB, true, std::nullopt, 42, key_0_to_31()), fx);  // no addr: no heartbeat
  EXPECT_TRUE(fx.datagrams.empty());
  // Give it an address without sending a heartbeat first: a heartbeat from B teaches it.
  Sleeve b(kB, 1414);
  SleeveEffects fb;
  b.add_connection(T0, conn(kA, false, kAddrA, 42, key_0_to_31()), fb);
  ASSERT_EQ(fb.datagrams.size(), 1u);
  std::vector<FrameRecordView> frames;
  fx = {};
  s.on_datagram(T0, kAddrB, fb.datagrams[0].data, frames, fx);
  fx = {};
  // That taught A's non-DF encryptor nothing: its seq is still 0 for the data frame.
  s.send_frame(T0, kB, kA, kB, vector_frames()[0], fx);
  s.flush(fx);
  ASSERT_EQ(fx.datagrams.size(), 1u);
  EXPECT_EQ(to_hex(fx.datagrams[0].data), to_hex(Vectors::get().section("sleeve encrypted UDP payload")));
}

TEST(Sleeve, EncryptedHeartbeatMatchesWeaveByteForByte) {
  Sleeve s(kA, 1414);
  SleeveEffects fx;
  s.add_connection(T0, conn(kB, true, kAddrB, 42, key_0_to_31()), fx);
  ASSERT_EQ(fx.datagrams.size(), 1u);
  EXPECT_TRUE(fx.datagrams[0].df);
  EXPECT_EQ(to_hex(fx.datagrams[0].data), to_hex(Vectors::get().section("sleeve encrypted heartbeat")));
}

/// Two cores wired back to back.
struct Pair {
  Sleeve a{kA, 1438}, b{kB, 1438};
  std::vector<mesh::ConnId> a_est, b_est;
  std::vector<Bytes> a_frames, b_frames;
  std::vector<SleeveEffects::Control> a_ctl, b_ctl;
  std::optional<mesh::SessionKey> key;
  bool drop_fragments = false;  ///< an underlay that loses IP fragments: big datagrams vanish
  void start(TimePoint now) {
    SleeveEffects fa, fb;
    a.add_connection(now, conn(kB, true, kAddrB, 7, key), fa);
    b.add_connection(now, conn(kA, false, std::nullopt, 7, key), fb);
    pump(now, fa, fb);
  }
  void pump(TimePoint now, SleeveEffects fa, SleeveEffects fb) {
    for (int round = 0; round < 10; ++round) {
      SleeveEffects na, nb;
      for (auto& d : fa.datagrams) {
        if (!drop_fragments || d.data.size() <= 1472) deliver(now, b, kAddrA, d.data, nb, b_frames);
      }
      for (auto& d : fb.datagrams) {
        if (!drop_fragments || d.data.size() <= 1472) deliver(now, a, kAddrB, d.data, na, a_frames);
      }
      for (auto& c : fa.controls) {
        a_ctl.push_back(c);
        b.on_control(now, 2, c.tag, c.payload, nb);
      }
      for (auto& c : fb.controls) {
        b_ctl.push_back(c);
        a.on_control(now, 1, c.tag, c.payload, na);
      }
      a_est.insert(a_est.end(), fa.established.begin(), fa.established.end());
      b_est.insert(b_est.end(), fb.established.begin(), fb.established.end());
      fa = std::move(na);
      fb = std::move(nb);
    }
  }
  static void deliver(TimePoint now, Sleeve& s, UdpEndpoint from, const Bytes& d, SleeveEffects& fx,
                      std::vector<Bytes>& sink) {
    // Datagrams larger than a 1500-byte underlay would be dropped by the network.
    std::vector<FrameRecordView> frames;
    s.on_datagram(now, from, d, frames, fx);
    for (auto& f : frames) sink.emplace_back(f.frame.begin(), f.frame.end());
  }
};

TEST(Sleeve, HeartbeatsEstablishBothEnds) {
  Pair p;
  p.start(T0);
  EXPECT_EQ(p.a_est, std::vector<mesh::ConnId>{1});
  EXPECT_EQ(p.b_est, std::vector<mesh::ConnId>{2});
  ASSERT_FALSE(p.a_ctl.empty());
  // Tag 7 [index 0][sub-tag 1]: ConnectionEstablished, as in the capture ("07 00 01").
  EXPECT_EQ(p.a_ctl[0].tag, mesh::ProtocolTag::overlay_control);
  EXPECT_EQ(p.a_ctl[0].payload, (Bytes{0, 1}));
  auto st = p.b.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].established);
  EXPECT_EQ(st[0].remote_addr, kAddrA);  // learned from the heartbeat
}

TEST(Sleeve, CompatPeersGetRawTags) {
  Sleeve s(kA, 1438);
  SleeveEffects fx;
  auto c = conn(kB, false, std::nullopt);
  c.compat = true;
  s.add_connection(T0, c, fx);
  // A heartbeat from B: first one triggers ConnectionEstablished as raw tag 1.
  Sleeve b(kB, 1438);
  SleeveEffects fb;
  b.add_connection(T0, conn(kA, true, kAddrA), fb);
  std::vector<FrameRecordView> frames;
  s.on_datagram(T0, kAddrB, fb.datagrams.at(0).data, frames, fx);
  ASSERT_EQ(fx.controls.size(), 1u);
  EXPECT_EQ(fx.controls[0].tag, mesh::ProtocolTag::connection_established);
  EXPECT_TRUE(fx.controls[0].payload.empty());
}

TEST(Sleeve, NegotiatesSleeveOrFails) {
  mesh::RemoteFeatures f;
  EXPECT_FALSE(Sleeve::negotiate(f)->has_value());  // no Overlays: compat
  f.overlays = std::vector<std::string>{"fastdp", "sleeve"};
  EXPECT_EQ(Sleeve::negotiate(f)->value(), 0);
  f.overlays = std::vector<std::string>{"fastdp"};
  EXPECT_FALSE(Sleeve::negotiate(f).ok());
  f.overlays = std::vector<std::string>{};
  EXPECT_FALSE(Sleeve::negotiate(f).ok());
}

Bytes ipv4_frame(std::size_t total, bool df, Mac dst = *Mac::parse("0a:00:00:00:00:02")) {
  Bytes f;
  auto d = dst.bytes();
  f.insert(f.end(), d.begin(), d.end());
  auto s = Mac::parse("0a:00:00:00:00:01")->bytes();
  f.insert(f.end(), s.begin(), s.end());
  f.push_back(0x08);
  f.push_back(0x00);
  Bytes ip(total, 0x5a);
  ip[0] = 0x45;
  ip[1] = 0;
  ip[2] = static_cast<std::uint8_t>(total >> 8);
  ip[3] = static_cast<std::uint8_t>(total);
  ip[4] = 0x12;
  ip[5] = 0x34;
  ip[6] = df ? 0x40 : 0;
  ip[7] = 0;
  ip[8] = 64;
  ip[9] = 17;
  ip[10] = ip[11] = 0;
  std::uint8_t addrs[8] = {10, 2, 1, 1, 10, 2, 1, 2};
  std::copy(addrs, addrs + 8, ip.begin() + 12);
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<std::uint8_t>(~sum >> 8);
  ip[11] = static_cast<std::uint8_t>(~sum);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

TEST(Sleeve, DataFramesCrossAndBigDfFramesBounceAsIcmp) {
  Pair p;
  p.start(T0);
  SleeveEffects fa;
  auto small = ipv4_frame(1000, true);
  p.a.send_frame(T0, kB, kA, kB, small, fa);
  auto big = ipv4_frame(1438 + 1, true);  // > mtu + 14 with DF
  p.a.send_frame(T0, kB, kA, kB, big, fa);
  p.a.flush(fa);
  ASSERT_EQ(fa.datagrams.size(), 1u);
  EXPECT_TRUE(fa.datagrams[0].df);
  ASSERT_EQ(fa.inject.size(), 1u);  // ICMP frag-needed back to the sender
  auto icmp = datapath::parse_ipv4_frame(fa.inject[0]);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->ip.protocol, 1);
  EXPECT_EQ(p.a.stats().tx_icmp_frag_needed, 1u);
  p.pump(T0, std::move(fa), {});
  ASSERT_EQ(p.b_frames.size(), 1u);
  EXPECT_EQ(p.b_frames[0], small);
}

TEST(Sleeve, BigDfFramesThisPeerRelaysBounceBackToTheirSender) {
  // a relays a frame from peer kE to kB: the ICMP must go back to kE over the overlay (from kB,
  // whose container the frame was for), not onto a's bridge, where it would die.
  const PeerName kE(0xaabbccddee05u);
  Pair p;
  p.start(T0);
  SleeveEffects fa;
  auto big = ipv4_frame(1438 + 1, true);
  p.a.send_frame(T0, kB, kE, kB, big, fa);
  p.a.flush(fa);
  EXPECT_TRUE(fa.inject.empty());
  EXPECT_TRUE(fa.datagrams.empty());
  ASSERT_EQ(fa.replies.size(), 1u);
  EXPECT_EQ(fa.replies[0].src, kB);
  EXPECT_EQ(fa.replies[0].dst, kE);
  auto icmp = datapath::parse_ipv4_frame(fa.replies[0].frame);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->ip.protocol, 1);
  EXPECT_EQ(icmp->ip.dst, *Ipv4::parse("10.2.1.1"));  // the sender's address
  ASSERT_GE(icmp->payload.size(), 8u);
  EXPECT_EQ(icmp->payload[0], 3);  // destination unreachable
  EXPECT_EQ(icmp->payload[1], 4);  // fragmentation needed
  EXPECT_EQ((icmp->payload[6] << 8) | icmp->payload[7], 1438);
  EXPECT_EQ(p.a.stats().tx_icmp_frag_needed, 1u);
}

TEST(Sleeve, BigNonDfFramesAreFragmentedByTheRouter) {
  Pair p;
  p.drop_fragments = true;  // the fragmentation test never arrives: the router must split
  p.start(T0);
  p.a.on_emsgsize(kB, 1500);  // the PMTU trigger's EMSGSIZE on a 1500-byte underlay
  SleeveEffects fa;
  auto big = ipv4_frame(4000, false);
  p.a.send_frame(T0, kB, kA, kB, big, fa);
  p.a.flush(fa);
  EXPECT_EQ(p.a.stats().tx_fragmented, 1u);
  std::size_t total = 0;
  for (auto& d : fa.datagrams) total += d.data.size();
  EXPECT_GT(total, 4000u);
  p.pump(T0, std::move(fa), {});
  EXPECT_GE(p.b_frames.size(), 3u);
  for (auto& f : p.b_frames) EXPECT_LE(f.size(), 1438u + 14);
}

TEST(Sleeve, FragmentationTestEnablesTheStackFragmentationPath) {
  Pair p;
  p.start(T0);  // the 60001-byte frag test crossed (no MTU in this fake network)
  SleeveEffects fa;
  auto big = ipv4_frame(4000, false);
  p.a.send_frame(T0, kB, kA, kB, big, fa);
  p.a.flush(fa);
  // After FragmentationReceived the whole frame goes on the non-DF path for the kernel to split.
  // (the fixture pumps control messages both ways, so A got B's FragmentationReceived)
  ASSERT_EQ(fa.datagrams.size(), 1u);
  EXPECT_FALSE(fa.datagrams[0].df);
}

TEST(Sleeve, EncryptedTrafficRejectsReplaysAndForgeries) {
  Pair p;
  p.key = key_0_to_31();
  p.start(T0);
  ASSERT_EQ(p.b_est.size(), 1u);
  SleeveEffects fa;
  auto f = ipv4_frame(200, true);
  p.a.send_frame(T0, kB, kA, kB, f, fa);
  p.a.flush(fa);
  ASSERT_EQ(fa.datagrams.size(), 1u);
  auto d = fa.datagrams[0].data;
  std::vector<FrameRecordView> frames;
  SleeveEffects fb;
  p.b.on_datagram(T0, kAddrA, d, frames, fb);
  EXPECT_EQ(frames.size(), 1u);
  frames.clear();
  p.b.on_datagram(T0, kAddrA, d, frames, fb);  // replay
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(p.b.stats().rx_replayed, 1u);
  auto forged = d;
  forged[forged.size() - 1] ^= 1;
  p.b.on_datagram(T0, kAddrA, forged, frames, fb);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(p.b.stats().rx_decrypt_errors, 1u);
  // Unknown sender and runts are counted, never crash.
  Bytes runt{1, 2, 3};
  p.b.on_datagram(T0, kAddrA, runt, frames, fb);
  Bytes stranger = d;
  stranger[5] ^= 0xff;
  p.b.on_datagram(T0, kAddrA, stranger, frames, fb);
  EXPECT_EQ(p.b.stats().rx_unknown_sender, 1u);
  EXPECT_EQ(p.b.stats().rx_malformed, 1u);
}

TEST(Sleeve, MalformedRecordsKeepTheFramesBeforeThem) {
  Bytes body;
  append_frame_record(body, kA, kB, Bytes(20, 1));
  append_frame_record(body, kA, kB, Bytes(30, 2));
  body.push_back(0xff);  // trailing garbage
  bool malformed = false;
  auto recs = parse_frame_records(body, malformed);
  EXPECT_EQ(recs.size(), 2u);
  EXPECT_TRUE(malformed);
  body.resize(body.size() - 10);  // truncate the second record
  recs = parse_frame_records(body, malformed);
  EXPECT_EQ(recs.size(), 1u);
  EXPECT_TRUE(malformed);
}

TEST(Sleeve, EmsgsizeLowersTheMtuAndTimeoutsFailTheForwarder) {
  Pair p;
  p.start(T0);
  p.a.on_emsgsize(kB, 1400);
  EXPECT_EQ(p.a.mtu_to(kB), 1400 - static_cast<int>(overhead_df(false)));
  SleeveEffects fx;
  p.a.on_tick(T0 + std::chrono::seconds(30), fx);
  EXPECT_TRUE(fx.failed.empty());
  fx = {};
  p.a.on_tick(T0 + std::chrono::seconds(61), fx);
  ASSERT_EQ(fx.failed.size(), 1u);
  EXPECT_EQ(fx.failed[0].first, 1u);
  // The failed forwarder is gone: it is reported once, not on every later tick.
  EXPECT_TRUE(p.a.status().empty());
  fx = {};
  p.a.on_tick(T0 + std::chrono::seconds(62), fx);
  EXPECT_TRUE(fx.failed.empty());
}

// Issue 19: an inbound forwarder that never heard a heartbeat has no address, sends nothing and
// never advanced its heartbeat time; on_tick returned that past time, and the shell re-armed its
// timer in the past, in a loop, for the 60 s until the heartbeat timeout.
TEST(Sleeve, TickNeverReturnsAPastDeadlineForAnEntryWithoutAddress) {
  Sleeve s{kA, 1438};
  SleeveEffects fx;
  s.add_connection(T0, conn(kB, false, std::nullopt, 7, std::nullopt), fx);
  EXPECT_TRUE(fx.datagrams.empty());
  for (auto t = T0; t < T0 + std::chrono::seconds(59); t += std::chrono::milliseconds(700)) {
    fx = {};
    auto next = s.on_tick(t, fx);
    EXPECT_GT(next, t) << "deadline in the past at +" << (t - T0).count();
    EXPECT_TRUE(fx.datagrams.empty());
    EXPECT_TRUE(fx.failed.empty());
  }
  // Its timeout still applies.
  fx = {};
  auto next = s.on_tick(T0 + std::chrono::seconds(61), fx);
  EXPECT_GT(next, T0 + std::chrono::seconds(61));
  ASSERT_EQ(fx.failed.size(), 1u);
}

TEST(Sleeve, BatchesManySmallFramesIntoOneDatagramUpToTheLimit) {
  Pair p;
  p.start(T0);
  SleeveEffects fa;
  Bytes arp(60, 0x11);
  arp[12] = 0x08;
  arp[13] = 0x06;
  for (int i = 0; i < 150; ++i) p.a.send_frame(T0, kB, kA, kB, arp, fa);
  p.a.flush(fa);
  ASSERT_EQ(fa.datagrams.size(), 2u);  // at most 100 frames per datagram
  p.pump(T0, std::move(fa), {});
  EXPECT_EQ(p.b_frames.size(), 150u);
}

}  // namespace
}  // namespace weft::router
