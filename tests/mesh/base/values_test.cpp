#include <gtest/gtest.h>

#include <unordered_set>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/short_id.hpp"

namespace weft {
namespace {

TEST(PeerName, ParsesFullAndAbbreviatedForms) {
  EXPECT_EQ(PeerName::parse("aa:bb:cc:dd:ee:01")->value(), 0xaabbccddee01u);
  EXPECT_EQ(PeerName::parse("AA:BB:CC:DD:EE:01")->value(), 0xaabbccddee01u);
  EXPECT_EQ(PeerName::parse("::1")->value(), 1u);
  EXPECT_EQ(PeerName::parse("aa::1")->value(), 0xaa0000000001u);
  EXPECT_EQ(PeerName::parse("aa:bb::")->value(), 0xaabb00000000u);
  EXPECT_EQ(PeerName::parse("1:2:3:4:5:6")->value(), 0x010203040506u);
}

TEST(PeerName, RejectsMalformed) {
  for (auto s : {"", ":", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aaa:bb:cc:dd:ee:ff", "zz::1",
                 "1::2::3", "1:2:3::4:5:6", "aa:bb:cc:dd:ee:"}) {
    EXPECT_FALSE(PeerName::parse(s)) << s;
  }
}

TEST(PeerName, FormatsLowercaseZeroPadded) {
  EXPECT_EQ(PeerName(0x0a0b0c0d0e0fu).str(), "0a:0b:0c:0d:0e:0f");
  EXPECT_EQ(fmt::format("{}", PeerName(1)), "00:00:00:00:00:01");
}

TEST(PeerName, OrdersAsUint64AndHashes) {
  EXPECT_LT(PeerName(1), PeerName(2));
  std::unordered_set<PeerName> s{PeerName(1), PeerName(1), PeerName(2)};
  EXPECT_EQ(s.size(), 2u);
}

TEST(PeerName, FromSystemIdIsLocallyAdministeredUnicastAndStable) {
  auto id = to_bytes("0123456789abcdef0123456789abcdef");
  auto a = PeerName::from_system_id(id);
  auto b = PeerName::from_system_id(id);
  EXPECT_EQ(a, b);
  auto m = a.mac().bytes();
  EXPECT_EQ(m[0] & 0x03, 0x02);
  EXPECT_NE(a, PeerName::from_system_id(to_bytes("other")));
}

TEST(PeerName, RandomIsLocallyAdministeredUnicast) {
  SeededRandom rng(7);
  for (int i = 0; i < 100; ++i) {
    auto p = PeerName::random(rng);
    EXPECT_EQ(p.mac().bytes()[0] & 0x03, 0x02);
  }
}

TEST(PeerName, BytesRoundTrip) {
  PeerName p(0xaabbccddee01u);
  EXPECT_EQ(PeerName::from_bytes(p.to_bytes()), p);
  EXPECT_FALSE(PeerName::from_bytes(Bytes{1, 2, 3}));
}

TEST(ShortID, RangeChecked) {
  EXPECT_EQ(ShortID::parse("4095")->value(), 4095);
  EXPECT_FALSE(ShortID::parse("4096"));
  EXPECT_FALSE(ShortID::parse("-1"));
  EXPECT_FALSE(ShortID::parse("12a"));
  EXPECT_FALSE(ShortID::from_uint(5000));
  EXPECT_EQ(fmt::format("{}", *ShortID::from_uint(257)), "257");
}

TEST(Mac, ParseFormat) {
  auto m = Mac::parse("FF:ff:ff:ff:ff:ff");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is_broadcast());
  EXPECT_TRUE(m->is_multicast());
  EXPECT_EQ(m->str(), "ff:ff:ff:ff:ff:ff");
  EXPECT_FALSE(Mac::parse("ff:ff:ff:ff:ff"));
  EXPECT_FALSE(Mac::parse("f:ff:ff:ff:ff:ff"));
  EXPECT_LT(*Mac::parse("00:00:00:00:00:01"), *m);
}

TEST(Ipv4, StrictParse) {
  EXPECT_EQ(Ipv4::parse("10.32.0.1")->value(), 0x0a200001u);
  for (auto s : {"10.32.0", "10.32.0.256", "10.32.0.1.", "a.b.c.d", "", "1..2.3", "10.32.0.1 "}) {
    EXPECT_FALSE(Ipv4::parse(s)) << s;
  }
  EXPECT_EQ(fmt::format("{}", Ipv4(0xc0a80101)), "192.168.1.1");
}

TEST(Cidr, KeepsHostBitsAndNormalises) {
  auto c = Cidr::parse("10.32.1.10/12");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->is_network());
  EXPECT_EQ(c->network().str(), "10.32.0.0/12");
  EXPECT_EQ(c->size(), 1u << 20);
  EXPECT_TRUE(c->contains(*Ipv4::parse("10.47.255.255")));
  EXPECT_FALSE(c->contains(*Ipv4::parse("10.48.0.0")));
  EXPECT_FALSE(Cidr::parse("10.32.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.32.0.0"));
  EXPECT_FALSE(Cidr::parse("10.32.0.0/"));
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->mask(), 0u);
}

TEST(Ipv4Range, FromCidrAndText) {
  auto r = Ipv4Range::of(*Cidr::parse("10.32.0.0/24"));
  EXPECT_EQ(r.size(), 256u);
  EXPECT_EQ(r.str(), "10.32.0.0-10.32.0.255");
  EXPECT_EQ(Ipv4Range::parse("10.32.0.0-10.32.0.255"), r);
  EXPECT_TRUE(r.overlaps(Ipv4Range(0x0a2000ff, 0x0a200200)));
  EXPECT_FALSE(r.overlaps(Ipv4Range(0x0a200100, 0x0a200200)));
  EXPECT_EQ(Ipv4Range::of(*Cidr::parse("0.0.0.0/0")).size(), 1ull << 32);
  EXPECT_FALSE(Ipv4Range::parse("10.0.0.2-10.0.0.1"));
}

}  // namespace
}  // namespace weft
