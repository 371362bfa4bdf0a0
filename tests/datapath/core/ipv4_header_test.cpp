#include "weft/datapath/ipv4_header.hpp"

#include <gtest/gtest.h>

#include "packet_builder.hpp"
#include "weft/datapath/ethernet.hpp"

namespace weft::datapath {
namespace {

using test::ip;
using test::mac;
using test::PacketBuilder;

TEST(Ethernet, Untagged) {
  const Bytes f = *from_hex("ffffffffffff0242ac110002 0806 0001");
  auto h = parse_ethernet(f);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->dst.is_broadcast());
  EXPECT_EQ(h->src.str(), "02:42:ac:11:00:02");
  EXPECT_EQ(h->ethertype, kEtherTypeArp);
  EXPECT_FALSE(h->tagged());
  EXPECT_EQ(h->header_len, 14u);
}

TEST(Ethernet, OneVlanTag) {
  const Bytes f = *from_hex("020000000002 020000000001 8100 a07b 0800 45");
  auto h = parse_ethernet(f);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->tagged());
  EXPECT_EQ(h->tag_type, kEtherTypeVlan);
  EXPECT_EQ(h->vlan_tci, 0xa07b);
  EXPECT_EQ(h->vlan_id(), 0x07b);
  EXPECT_EQ(h->ethertype, kEtherTypeIpv4);
  EXPECT_EQ(h->header_len, 18u);
  // 802.1ad outer tag is decoded the same way; the inner tag is not.
  const Bytes q = *from_hex("020000000002 020000000001 88a8 0064 8100 0065 0800");
  auto hq = parse_ethernet(q);
  ASSERT_TRUE(hq);
  EXPECT_EQ(hq->tag_type, kEtherTypeQinQ);
  EXPECT_EQ(hq->vlan_id(), 100);
  EXPECT_EQ(hq->ethertype, kEtherTypeVlan);
  EXPECT_FALSE(parse_ipv4_frame(q));
}

TEST(Ethernet, Truncated) {
  const Bytes f = *from_hex("020000000002 020000000001 8100 a07b 0800");
  for (std::size_t n = 0; n < f.size(); ++n) {
    EXPECT_FALSE(parse_ethernet(std::span(f).first(n))) << n;  // a tagged header needs 18 bytes
  }
  EXPECT_TRUE(parse_ethernet(f));
  EXPECT_TRUE(parse_ethernet(*from_hex("020000000002 020000000001 0800")));
}

TEST(Ipv4, GoldenHeaderFields) {
  // Real-style frame: TCP SYN 10.32.0.1 -> 10.32.0.2, DF, TTL 63, ID 0x1234 (checksum 153e).
  const Bytes f = *from_hex(
      "020000000002020000000001080045000044123440003f06153e0a2000010a200002c0de0050000003e8000000"
      "00a00272100000000002040b4c0402080a000102030405060708090a0b0c0d0e0f10111213");
  auto p = parse_ipv4_frame(FrameView{f});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, mac(2));
  EXPECT_EQ(p->eth.src, mac(1));
  EXPECT_EQ(p->ip.ihl, 5);
  EXPECT_EQ(p->ip.header_len(), 20u);
  EXPECT_EQ(p->ip.total_length, 0x44);
  EXPECT_EQ(p->ip.id, 0x1234);
  EXPECT_TRUE(p->ip.df);
  EXPECT_FALSE(p->ip.mf);
  EXPECT_FALSE(p->ip.reserved_flag);
  EXPECT_EQ(p->ip.frag_offset, 0);
  EXPECT_FALSE(p->ip.is_fragment());
  EXPECT_EQ(p->ip.ttl, 63);
  EXPECT_EQ(p->ip.protocol, kIpProtoTcp);
  EXPECT_EQ(p->ip.checksum, 0x153e);
  EXPECT_TRUE(p->ip.checksum_ok);
  EXPECT_EQ(p->ip.src, ip("10.32.0.1"));
  EXPECT_EQ(p->ip.dst, ip("10.32.0.2"));
  EXPECT_EQ(p->l2.size(), 14u);
  EXPECT_EQ(p->packet.size(), 0x44u);
  EXPECT_TRUE(p->options.empty());
  EXPECT_EQ(p->payload.size(), 0x44u - 20);
  EXPECT_EQ(p->payload[0], 0xc0);
}

TEST(Ipv4, FragmentFieldsOptionsAndTag) {
  const Bytes f = PacketBuilder()
                      .vlan(0x0005)
                      .ipv4(ip("1.2.3.4"), ip("5.6.7.8"), kIpProtoUdp)
                      .mf()
                      .evil()
                      .frag_offset(0x1abc)
                      .tos(0xb8)
                      .ttl(1)
                      .options(*from_hex("9404000001010100"))
                      .payload(test::pattern(16))
                      .build();
  auto p = parse_ipv4_frame(FrameView{f});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.vlan_id(), 5);
  EXPECT_EQ(p->ip.ihl, 7);
  EXPECT_EQ(p->ip.tos, 0xb8);
  EXPECT_TRUE(p->ip.mf);
  EXPECT_TRUE(p->ip.reserved_flag);
  EXPECT_FALSE(p->ip.df);
  EXPECT_EQ(p->ip.frag_offset, 0x1abc);
  EXPECT_EQ(p->ip.frag_offset_bytes(), 0x1abcu * 8);
  EXPECT_TRUE(p->ip.is_fragment());
  EXPECT_TRUE(p->ip.checksum_ok);
  EXPECT_EQ(p->options.size(), 8u);
  EXPECT_EQ(p->options[0], 0x94);
  EXPECT_EQ(p->payload.size(), 16u);
  EXPECT_EQ(p->l2.size(), 18u);
}

TEST(Ipv4, PaddingIsNotPayload) {
  const Bytes f = PacketBuilder().payload(test::pattern(4)).pad_to(60).build();
  ASSERT_EQ(f.size(), 60u);
  auto p = parse_ipv4_frame(FrameView{f});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->packet.size(), 24u);
  EXPECT_EQ(p->payload.size(), 4u);
}

TEST(Ipv4, BadChecksumIsReportedNotRejected) {
  const Bytes f = PacketBuilder().bad_checksum().payload(test::pattern(8)).build();
  auto p = parse_ipv4_frame(FrameView{f});
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->ip.checksum_ok);
}

TEST(Ipv4, Malformed) {
  const Bytes good =
      PacketBuilder().options(*from_hex("01010100")).payload(test::pattern(8)).build();
  ASSERT_TRUE(parse_ipv4_frame(FrameView{good}));
  // Every truncation fails (total length says 32 bytes of IP).
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(parse_ipv4_frame(std::span(good).first(n))) << n;
  }
  auto mutate = [&](std::size_t at, std::uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return b;
  };
  EXPECT_FALSE(parse_ipv4_frame(mutate(14, 0x65)));  // version 6
  EXPECT_FALSE(parse_ipv4_frame(mutate(14, 0x44)));  // IHL 4
  EXPECT_FALSE(parse_ipv4_frame(mutate(14, 0x4f)));  // IHL 15 > total length 32
  EXPECT_FALSE(parse_ipv4_frame(mutate(17, 23)));    // total length < IHL*4 (24)
  EXPECT_FALSE(parse_ipv4_frame(mutate(17, 33)));    // total length > bytes present
  EXPECT_TRUE(parse_ipv4_frame(mutate(17, 24)));     // header only
  EXPECT_FALSE(parse_ipv4_frame(mutate(13, 0x06)));  // ARP, not IPv4
  // parse_ipv4 on its own, without L2.
  auto h = parse_ipv4(std::span(good).subspan(14));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ihl, 6);
}

}  // namespace
}  // namespace weft::datapath
