#include "weft/datapath/icmp.hpp"

#include <gtest/gtest.h>

#include "packet_builder.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath {
namespace {

using test::ip;
using test::PacketBuilder;
using test::ref_checksum;

// katran-style fixture rows: input frame, description, next-hop MTU, expected output bytes.
// The expected bytes were computed by an independent Python implementation of Weave's
// sendICMPFragNeeded (gopacket layers: Ethernet swapped, IPv4 TOS copied / ID 0 / TTL 64,
// ICMPv4 TypeCode 0x0304 with Seq = mtu, payload = IP header + 8 bytes).
struct Row {
  const char* description;
  const char* in;
  std::uint16_t mtu;
  const char* out;
};

const Row kRows[] = {
    {"TCP SYN with DF, untagged, sleeve mtu 1438",
     "020000000002020000000001080045000044123440003f06153e0a2000010a200002c0de0050000003e8000000"
     "00a00272100000000002040b4c0402080a000102030405060708090a0b0c0d0e0f10111213",
     1438,
     "02000000000102000000000208004500003800000000400166830a2000020a200001030432470000059e450000"
     "44123440003f06153e0a2000010a200002c0de0050000003e8"},
    {"UDP with a router-alert option and TOS 0x10: options are quoted, TOS kept",
     "020000000002020000000001080046100034123440003f11802e0a2000010a2000029404000030390035001c00"
     "0068656c6c6f2c2077656176652121212121212121",
     1414,
     "02000000000102000000000208004510003c000000004001666f0a2000020a2000010304c6eb00000586461000"
     "34123440003f11802e0a2000010a2000029404000030390035001c0000"},
    {"802.1Q-tagged TCP: the tag is kept",
     "02000000000202000000000181002005080045000044123440003f06153e0a2000010a200002c0de0050000003"
     "e800000000a00272100000000002040b4c0402080a000102030405060708090a0b0c0d0e0f10111213",
     1376,
     "0200000000010200000000028100200508004500003800000000400166830a2000020a20000103043285000005"
     "6045000044123440003f06153e0a2000010a200002c0de0050000003e8"},
    {"payload shorter than 8 bytes: quote what there is",
     "020000000002020000000001080045000018123440003f115dbec0a8010a0a28000961626364", 576,
     "020000000001020000000002080045000034000000004001aee60a280009c0a8010a030435f5000002404500"
     "0018123440003f115dbec0a8010a0a28000961626364"},
    {"ICMP echo request is not an error message: answered",
     "020000000002020000000001080045000044123440003f0115430a2000010a20000208004d2a0001000170696e"
     "6770696e6770696e6770696e6770696e6770696e6770696e6770696e6770696e6770696e67",
     1438,
     "02000000000102000000000208004500003800000000400166830a2000020a2000010304a2310000059e450000"
     "44123440003f0115430a2000010a20000208004d2a00010001"},
};

TEST(IcmpFragNeeded, GoldenRows) {
  for (const auto& row : kRows) {
    SCOPED_TRACE(row.description);
    const Bytes in = *from_hex(row.in);
    const Bytes out = make_icmp_frag_needed(FrameView{in}, row.mtu);
    EXPECT_EQ(to_hex(out), to_hex(*from_hex(row.out)));
  }
}

TEST(IcmpFragNeeded, StructureAndChecksums) {
  for (bool tagged : {false, true}) {
    PacketBuilder b;
    if (tagged) {
      b.vlan(0x0123);
    }
    const Bytes in = b.ipv4(ip("10.32.1.5"), ip("10.40.7.9"), kIpProtoTcp)
                         .df()
                         .tos(0x28)
                         .ttl(17)
                         .id(0xbeef)
                         .options(*from_hex("01010100"))
                         .payload(test::pattern(1600))
                         .build();
    const Bytes out = make_icmp_frag_needed(FrameView{in}, 1376);
    auto p = parse_ipv4_frame(FrameView{out});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->eth.dst, test::mac(1));
    EXPECT_EQ(p->eth.src, test::mac(2));
    EXPECT_EQ(p->eth.tagged(), tagged);
    EXPECT_EQ(p->ip.src, ip("10.40.7.9"));
    EXPECT_EQ(p->ip.dst, ip("10.32.1.5"));
    EXPECT_EQ(p->ip.ttl, 64);
    EXPECT_EQ(p->ip.tos, 0x28);
    EXPECT_EQ(p->ip.id, 0);
    EXPECT_FALSE(p->ip.df);
    EXPECT_EQ(p->ip.protocol, kIpProtoIcmp);
    EXPECT_TRUE(p->ip.checksum_ok);
    EXPECT_EQ(ref_checksum(p->packet.first(20)), 0);
    ASSERT_EQ(p->payload.size(), 8u + 24 + 8);
    EXPECT_EQ(ref_checksum(p->payload), 0);  // ICMP checksum verifies
    EXPECT_EQ(p->payload[0], 3);
    EXPECT_EQ(p->payload[1], 4);
    EXPECT_EQ((p->payload[6] << 8) | p->payload[7], 1376);
    // The quote is the original IP header (with options) and the first 8 payload bytes.
    auto orig = parse_ipv4_frame(FrameView{in});
    ASSERT_TRUE(orig);
    EXPECT_TRUE(
        std::equal(orig->packet.begin(), orig->packet.begin() + 32, p->payload.begin() + 8));
    EXPECT_EQ(out.size(), p->eth.header_len + p->packet.size());
  }
}

TEST(IcmpFragNeeded, Refusals) {
  auto refused = [](const Bytes& f) { return make_icmp_frag_needed(FrameView{f}, 1400).empty(); };
  const Bytes tcp = PacketBuilder().df().payload(test::pattern(40)).build();
  EXPECT_FALSE(refused(tcp));
  EXPECT_TRUE(refused(PacketBuilder().ethertype(0x0806).payload(test::pattern(28)).build()));
  EXPECT_TRUE(refused(Bytes(tcp.begin(), tcp.begin() + 30)));  // truncated
  EXPECT_TRUE(refused(PacketBuilder().df().frag_offset(185).payload(test::pattern(40)).build()));
  EXPECT_FALSE(refused(PacketBuilder().mf().payload(test::pattern(40)).build()));  // first fragment
  EXPECT_TRUE(refused(
      PacketBuilder().ipv4(ip("0.0.0.0"), ip("10.0.0.1"), 17).payload(test::pattern(9)).build()));
  EXPECT_TRUE(refused(
      PacketBuilder().ipv4(ip("224.0.0.5"), ip("10.0.0.1"), 17).payload(test::pattern(9)).build()));
  EXPECT_TRUE(refused(PacketBuilder()
                          .ipv4(ip("255.255.255.255"), ip("10.0.0.1"), 17)
                          .payload(test::pattern(9))
                          .build()));
  // ICMP errors are never answered with ICMP errors; empty ICMP is treated as one.
  for (std::uint8_t type : {3, 4, 5, 11, 12}) {
    Bytes icmp = test::pattern(36);
    icmp[0] = type;
    EXPECT_TRUE(refused(
        PacketBuilder().ipv4(ip("10.0.0.2"), ip("10.0.0.1"), kIpProtoIcmp).payload(icmp).build()))
        << int{type};
  }
  EXPECT_TRUE(refused(PacketBuilder().ipv4(ip("10.0.0.2"), ip("10.0.0.1"), kIpProtoIcmp).build()));
}

}  // namespace
}  // namespace weft::datapath
