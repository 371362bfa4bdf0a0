#include <gtest/gtest.h>

#include "weft/base/bytes.hpp"
#include "weft/base/random.hpp"

namespace weft {
namespace {

TEST(ByteReader, ReportsTruncation) {
  Bytes b{0x01, 0x02, 0x03};
  ByteReader r(b);
  EXPECT_EQ(r.u16be(), 0x0102);
  EXPECT_FALSE(r.u16be());
  EXPECT_EQ(r.u8(), 0x03);
  EXPECT_FALSE(r.u8());
  EXPECT_FALSE(r.take(1));
}

TEST(ByteWriter, BigEndian) {
  Bytes out;
  ByteWriter w(out);
  w.u16be(0x0102);
  w.u32be(0x03040506);
  w.u64be(0x0708090a0b0c0d0e);
  EXPECT_EQ(to_hex(out), "0102030405060708090a0b0c0d0e");
  ByteReader r(out);
  EXPECT_EQ(r.u16be(), 0x0102);
  EXPECT_EQ(r.u32be(), 0x03040506u);
  EXPECT_EQ(r.u64be(), 0x0708090a0b0c0d0eu);
}

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(from_hex("de ad\nBE ef"), (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Random, SeededIsDeterministicAndUniformIsBounded) {
  SeededRandom a(1), b(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  for (int i = 0; i < 1000; ++i) EXPECT_LT(a.uniform(7), 7u);
  EXPECT_EQ(a.uniform(0), 0u);
}

}  // namespace
}  // namespace weft
