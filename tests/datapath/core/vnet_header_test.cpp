// Unit tests of the pure virtio_net_hdr functions: header decoding, checksum
// completion and GSO segmentation. Expected bytes are built with the test
// PacketBuilder and its own reference checksum, so the library is not checked
// against itself; the segments are then also verified with datapath/core's
// checksum helpers.
#include "weft/datapath/vnet_header.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "packet_builder.hpp"
#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath {
namespace {

using test::PacketBuilder;
using test::ref_checksum;

constexpr std::uint8_t kAck = 0x10, kPsh = 0x08, kFin = 0x01, kCwr = 0x80;

Bytes tcp_header(std::uint32_t seq, std::uint8_t flags, std::size_t options = 0) {
  Bytes t(20 + options, 0);
  t[0] = 0x1f;  // sport 8080
  t[1] = 0x90;
  t[2] = 0xc3;  // dport 50000
  t[3] = 0x50;
  t[4] = static_cast<std::uint8_t>(seq >> 24);
  t[5] = static_cast<std::uint8_t>(seq >> 16);
  t[6] = static_cast<std::uint8_t>(seq >> 8);
  t[7] = static_cast<std::uint8_t>(seq);
  t[11] = 7;  // ack 7
  t[12] = static_cast<std::uint8_t>(((20 + options) / 4) << 4);
  t[13] = flags;
  t[14] = 0xff;  // window
  for (std::size_t i = 0; i < options; ++i) {
    t[20 + i] = 1;  // NOP
  }
  return t;
}

/// The pseudo-header sum (folded, not complemented) of a TCP/UDP segment: what
/// a sender with a partial checksum leaves in the checksum field.
std::uint16_t pseudo_seed(Ipv4 src, Ipv4 dst, std::uint8_t proto, std::size_t len) {
  std::uint32_t s = (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) +
                    (dst.value() & 0xffff) + proto + static_cast<std::uint32_t>(len);
  while ((s >> 16) != 0) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<std::uint16_t>(s);
}

/// A TCP/IPv4 frame whose L4 checksum is filled in (full = true) or partial
/// (the seed).
Bytes tcp_frame(const Bytes& payload, std::uint32_t seq, std::uint8_t flags, bool full,
                std::uint16_t id = 0x1234, bool vlan = false) {
  Bytes l4 = tcp_header(seq, flags);
  l4.insert(l4.end(), payload.begin(), payload.end());
  const Ipv4 src = test::ip("10.32.0.1"), dst = test::ip("10.32.0.2");
  const std::uint16_t seed = pseudo_seed(src, dst, 6, l4.size());
  const std::uint16_t c = full ? ref_checksum(l4, seed) : seed;
  l4[16] = static_cast<std::uint8_t>(c >> 8);
  l4[17] = static_cast<std::uint8_t>(c);
  PacketBuilder b;
  b.ipv4(src, dst, 6).id(id).df().payload(l4);
  if (vlan) {
    b.vlan(42);
  }
  return b.build();
}

VnetHeader tso(std::uint16_t mss, std::size_t l2 = 14) {
  VnetHeader h;
  h.flags = kVnetFlagNeedsCsum;
  h.gso_type = kVnetGsoTcpv4;
  h.hdr_len = static_cast<std::uint16_t>(l2 + 40);
  h.gso_size = mss;
  h.csum_start = static_cast<std::uint16_t>(l2 + 20);
  h.csum_offset = 16;
  return h;
}

std::vector<Bytes> segment_all(const Bytes& frame, const GsoPlan& plan) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < plan.segments; ++i) {
    Bytes s(plan.max_segment_len());
    const std::size_t n = write_gso_segment(frame, plan, i, s);
    EXPECT_EQ(n, plan.segment_len(i));
    s.resize(n);
    out.push_back(std::move(s));
  }
  return out;
}

TEST(VnetHeader, ParsesGoldenBytes) {
  // NB: legacy virtio headers are host-order; these tests assume a
  // little-endian host.
  const Bytes raw = {0x01, 0x01, 0x36, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00, 0xee};
  auto h = parse_vnet_header(raw);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flags, 1);
  EXPECT_TRUE(h->needs_csum());
  EXPECT_EQ(h->gso_type, kVnetGsoTcpv4);
  EXPECT_EQ(h->hdr_len, 54);
  EXPECT_EQ(h->gso_size, 1448);
  EXPECT_EQ(h->csum_start, 34);
  EXPECT_EQ(h->csum_offset, 16);
  Bytes back(10);
  ASSERT_TRUE(write_vnet_header(*h, back));
  EXPECT_EQ(back, Bytes(raw.begin(), raw.begin() + 10));
  EXPECT_FALSE(parse_vnet_header(std::span(raw).first(9)));
  EXPECT_FALSE(write_vnet_header(*h, std::span(back).first(9)));
  VnetHeader ecn;
  ecn.gso_type = kVnetGsoTcpv4 | kVnetGsoEcn;
  EXPECT_EQ(ecn.gso_kind(), kVnetGsoTcpv4);
  EXPECT_TRUE(ecn.is_gso());
}

TEST(VnetHeader, CompletesPartialTcpChecksum) {
  const Bytes payload = test::pattern(333, 5);  // odd length
  const Bytes want = tcp_frame(payload, 1000, kAck | kPsh, true);
  Bytes f = tcp_frame(payload, 1000, kAck | kPsh, false);
  ASSERT_NE(f, want);
  VnetHeader h = tso(0);
  h.gso_type = kVnetGsoNone;
  ASSERT_TRUE(complete_checksum(f, h));
  EXPECT_EQ(f, want);
  auto p = parse_ipv4_frame(f);
  ASSERT_TRUE(p);
  EXPECT_EQ(transport_checksum(p->ip.src, p->ip.dst, 6, p->payload), 0);
}

TEST(VnetHeader, ChecksumCompletionRefusesOutOfBoundsFields) {
  const Bytes orig = tcp_frame(test::pattern(10), 1, kAck, false);
  Bytes f = orig;
  VnetHeader h;
  h.flags = kVnetFlagNeedsCsum;
  h.csum_start = static_cast<std::uint16_t>(f.size());
  EXPECT_FALSE(complete_checksum(f, h));
  h.csum_start = 34;
  h.csum_offset = static_cast<std::uint16_t>(f.size() - 34 - 1);  // field straddles the end
  EXPECT_FALSE(complete_checksum(f, h));
  h.csum_start = 0xffff;
  h.csum_offset = 0xffff;
  EXPECT_FALSE(complete_checksum(f, h));
  EXPECT_EQ(f, orig);
  h.flags = 0;  // nothing to do: fine, untouched
  EXPECT_TRUE(complete_checksum(f, h));
  EXPECT_EQ(f, orig);
  Bytes empty;
  h.flags = kVnetFlagNeedsCsum;
  h.csum_start = 0;
  h.csum_offset = 0;
  EXPECT_FALSE(complete_checksum(empty, h));
}

TEST(VnetHeader, SegmentsTcpSuperframe) {
  const Bytes payload = test::pattern(5000, 9);
  // seq and IP id chosen to wrap inside the superframe.
  const std::uint32_t seq = 0xfffff000;
  const Bytes frame = tcp_frame(payload, seq, kAck | kPsh | kFin | kCwr, false, 0xfffe);
  auto plan = plan_gso(frame, tso(1448));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->l4_protocol, 6);
  EXPECT_EQ(plan->l3_offset, 14u);
  EXPECT_EQ(plan->l4_offset, 34u);
  EXPECT_EQ(plan->payload_offset, 54u);
  EXPECT_EQ(plan->payload_len, 5000u);
  EXPECT_EQ(plan->mss, 1448u);
  EXPECT_EQ(plan->segments, 4u);  // 1448 * 3 + 656
  const auto segs = segment_all(frame, *plan);
  Bytes joined;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::size_t n = i < 3 ? 1448 : 656;
    // Golden: the frame an independent sender would emit for this slice.
    std::uint8_t flags = kAck;
    if (i == 0) {
      flags |= kCwr;
    }
    if (i == 3) {
      flags |= kPsh | kFin;
    }
    const Bytes slice(payload.begin() + static_cast<std::ptrdiff_t>(i * 1448),
                      payload.begin() + static_cast<std::ptrdiff_t>(i * 1448 + n));
    const Bytes want = tcp_frame(slice, seq + static_cast<std::uint32_t>(i * 1448), flags, true,
                                 static_cast<std::uint16_t>(0xfffe + i));
    EXPECT_EQ(segs[i], want) << "segment " << i;
    // And with datapath/core's helpers.
    auto p = parse_ipv4_frame(segs[i]);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->ip.checksum_ok);
    EXPECT_EQ(p->ip.total_length, 40 + n);
    EXPECT_EQ(transport_checksum(p->ip.src, p->ip.dst, 6, p->payload), 0);
    joined.insert(joined.end(), p->payload.begin() + 20, p->payload.end());
  }
  EXPECT_EQ(joined, payload);
}

TEST(VnetHeader, SegmentsVlanTaggedSuperframeAndCapsMssToMtu) {
  const Bytes payload = test::pattern(4000, 1);
  const Bytes frame = tcp_frame(payload, 77, kAck, false, 1, /*vlan=*/true);
  auto plan = plan_gso(frame, tso(1448, 18), /*max_ip_len=*/1000);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->l3_offset, 18u);
  EXPECT_EQ(plan->mss, 960u);  // 1000 - 20 (IP) - 20 (TCP)
  EXPECT_EQ(plan->segments, 5u);
  Bytes joined;
  for (const Bytes& s : segment_all(frame, *plan)) {
    auto p = parse_ipv4_frame(s);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->eth.tagged());
    EXPECT_LE(p->ip.total_length, 1000);
    EXPECT_TRUE(p->ip.checksum_ok);
    EXPECT_EQ(transport_checksum(p->ip.src, p->ip.dst, 6, p->payload), 0);
    joined.insert(joined.end(), p->payload.begin() + 20, p->payload.end());
  }
  EXPECT_EQ(joined, payload);
}

TEST(VnetHeader, SegmentsUdpL4Superframe) {
  const Bytes data = test::pattern(2500, 3);
  Bytes frame = PacketBuilder().udp(5000, 6000, data).build();
  VnetHeader h;
  h.flags = kVnetFlagNeedsCsum;
  h.gso_type = kVnetGsoUdpL4;
  h.gso_size = 1000;
  h.csum_start = 34;
  h.csum_offset = 6;
  auto plan = plan_gso(frame, h, /*max_ip_len=*/500);  // never moves UDP datagram boundaries
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->mss, 1000u);
  EXPECT_EQ(plan->segments, 3u);
  const auto segs = segment_all(frame, *plan);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::size_t n = i < 2 ? 1000 : 500;
    const Bytes slice(data.begin() + static_cast<std::ptrdiff_t>(i * 1000),
                      data.begin() + static_cast<std::ptrdiff_t>(i * 1000 + n));
    const Bytes want =
        PacketBuilder().id(static_cast<std::uint16_t>(0x1234 + i)).udp(5000, 6000, slice).build();
    EXPECT_EQ(segs[i], want) << "datagram " << i;
  }
}

TEST(VnetHeader, RefusesWhatItCannotSegment) {
  const Bytes frame = tcp_frame(test::pattern(3000), 1, kAck, false);
  VnetHeader h = tso(1448);
  EXPECT_TRUE(plan_gso(frame, h));
  h.gso_size = 0;
  EXPECT_FALSE(plan_gso(frame, h));
  h = tso(1448);
  h.gso_type = kVnetGsoTcpv6;
  EXPECT_FALSE(plan_gso(frame, h));
  h.gso_type = kVnetGsoUdp;  // UFO: IP fragmentation, not segmentation
  EXPECT_FALSE(plan_gso(frame, h));
  h.gso_type = kVnetGsoUdpL4;  // protocol mismatch
  EXPECT_FALSE(plan_gso(frame, h));
  h = tso(5);  // 600 segments > kMaxGsoSegments
  EXPECT_FALSE(plan_gso(frame, h));
  EXPECT_FALSE(plan_gso(frame, tso(1448), /*max_ip_len=*/40));  // no room for payload
  // Truncated: the IP total length runs past the frame.
  EXPECT_FALSE(plan_gso(std::span(frame).first(frame.size() - 1), tso(1448)));
  // A TCP header with data offset < 5, and a fragment.
  Bytes bad = frame;
  bad[14 + 20 + 12] = 0x40;
  EXPECT_FALSE(plan_gso(bad, tso(1448)));
  Bytes frag = PacketBuilder()
                   .ipv4(test::ip("1.1.1.1"), test::ip("2.2.2.2"), 6)
                   .mf()
                   .payload(tcp_header(1, kAck))
                   .build();
  EXPECT_FALSE(plan_gso(frag, tso(1448)));
  // No payload at all.
  Bytes bare = PacketBuilder()
                   .ipv4(test::ip("1.1.1.1"), test::ip("2.2.2.2"), 6)
                   .payload(tcp_header(1, kAck))
                   .build();
  EXPECT_FALSE(plan_gso(bare, tso(1448)));
  // Not IPv4.
  Bytes arp = PacketBuilder().ethertype(0x0806).payload(test::pattern(100)).build();
  EXPECT_FALSE(plan_gso(arp, tso(1448)));
}

TEST(VnetHeader, WriteSegmentChecksItsArguments) {
  const Bytes frame = tcp_frame(test::pattern(3000), 1, kAck, false);
  auto plan = plan_gso(frame, tso(1448));
  ASSERT_TRUE(plan);
  Bytes out(plan->max_segment_len());
  EXPECT_EQ(write_gso_segment(frame, *plan, plan->segments, out), 0u);
  EXPECT_EQ(write_gso_segment(frame, *plan, 0, std::span(out).first(100)), 0u);
  GsoPlan bogus = *plan;
  bogus.payload_len = frame.size();  // runs past the frame
  EXPECT_EQ(write_gso_segment(frame, bogus, 0, out), 0u);
  bogus = *plan;
  bogus.l3_offset = ~std::size_t{0};
  EXPECT_EQ(write_gso_segment(frame, bogus, 0, out), 0u);
  bogus = *plan;
  bogus.segments = 1;  // inconsistent with payload_len / mss
  EXPECT_EQ(write_gso_segment(frame, bogus, 0, out), 0u);
  EXPECT_EQ(write_gso_segment(std::span(frame).first(40), *plan, 0, out), 0u);
}

}  // namespace
}  // namespace weft::datapath
