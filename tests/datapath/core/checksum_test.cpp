#include "weft/datapath/checksum.hpp"

#include <gtest/gtest.h>

#include "packet_builder.hpp"

namespace weft::datapath {
namespace {

using test::ref_checksum;

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
  const Bytes b = *from_hex("0001f203f4f5f6f7");
  EXPECT_EQ(checksum_finish(checksum_add(b)), 0x220d);
  EXPECT_EQ(internet_checksum(b), 0x220d);
}

TEST(Checksum, KnownIpv4Header) {
  // A well-known header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is b861.
  Bytes h = *from_hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(internet_checksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(internet_checksum(h), 0);
}

TEST(Checksum, OddLengthAndPieces) {
  const Bytes b = test::pattern(1001, 3);
  EXPECT_EQ(internet_checksum(b), ref_checksum(b));
  // Fed in even pieces, then the odd tail.
  auto s = std::span<const std::uint8_t>(b);
  auto sum = checksum_add(s.first(500));
  sum = checksum_add(s.subspan(500, 200), sum);
  sum = checksum_add(s.subspan(700), sum);
  EXPECT_EQ(checksum_finish(sum), ref_checksum(b));
  EXPECT_EQ(internet_checksum({}), 0xffff);
}

TEST(Checksum, LongBufferMatchesReference) {
  const Bytes b = test::pattern(65535, 0xff);
  EXPECT_EQ(internet_checksum(b), ref_checksum(b));
  const Bytes ones(65534, 0xff);
  EXPECT_EQ(internet_checksum(ones), ref_checksum(ones));
}

TEST(Checksum, UdpPseudoHeaderGolden) {
  // Computed independently (Python) for 10.32.0.1 -> 10.32.0.2, sport 12345, dport 53.
  Bytes seg = *from_hex("30390035001c0000");
  const Bytes data = to_bytes("hello, weave!!!!!!!!");
  seg.insert(seg.end(), data.begin(), data.end());
  const auto src = test::ip("10.32.0.1");
  const auto dst = test::ip("10.32.0.2");
  EXPECT_EQ(transport_checksum(src, dst, 17, seg), 0xf644);
  seg[6] = 0xf6;
  seg[7] = 0x44;
  EXPECT_EQ(transport_checksum(src, dst, 17, seg), 0);
  // A wrong address breaks it: the pseudo-header is covered.
  EXPECT_NE(transport_checksum(src, test::ip("10.32.0.3"), 17, seg), 0);
}

TEST(Checksum, VerifiesBuilderUdp) {
  const Bytes f = test::PacketBuilder().udp(1000, 2000, test::pattern(333)).build();
  std::span<const std::uint8_t> seg(f.begin() + 34, f.end());
  EXPECT_EQ(transport_checksum(test::ip("10.32.0.1"), test::ip("10.32.0.2"), 17, seg), 0);
}

}  // namespace
}  // namespace weft::datapath
