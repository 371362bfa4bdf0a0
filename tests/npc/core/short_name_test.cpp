// The ipset-name hash against the vectors of kube spec §4.3 (names seen in upstream users' logs).
#include <gtest/gtest.h>

#include "weft/npc/short_name.hpp"

namespace weft::npc {
namespace {

TEST(ShortName, Sha1KnownAnswer) {
  auto d = sha1("abc");
  char hex[41];
  for (int i = 0; i < 20; ++i) snprintf(hex + i * 2, 3, "%02x", d[i]);
  EXPECT_STREQ(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
  d = sha1(std::string(1000, 'a'));  // crosses several 64-byte blocks
  for (int i = 0; i < 20; ++i) snprintf(hex + i * 2, 3, "%02x", d[i]);
  EXPECT_STREQ(hex, "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST(ShortName, WeaveVectors) {
  EXPECT_EQ(ipset_name("ingress-default-allow:default"), "weave-;rGqyMIl1HN^cfDki~Z$3]6!N");
  EXPECT_EQ(ipset_name("egress-default-allow:default"), "weave-s_+ChJId4Uy_$}G;WdH|~TK)I");
  EXPECT_EQ(ipset_name("ingress-default-allow:kube-system"), "weave-P.B|!ZhkAr5q=XZ?3}tMBA+0");
  EXPECT_EQ(ipset_name("ingress-default-allow:kube-system").size(), 30u);
  EXPECT_EQ(ipset_name("default:"), "weave-k?Z;25^M}|1s7P3|H9i;*;MhG");
  EXPECT_EQ(ipset_name("kube-system:"), "weave-iuZcey(5DeXbzgRFs8Szo]+@p");
  EXPECT_EQ(ipset_name("default:run=nettest"), "weave-rX1U0G|rx?p|NpUFs+WcXK9Qc");
}

TEST(ShortName, NeverLongerThanAnIpsetName) {
  for (int i = 0; i < 2000; ++i) EXPECT_LE(ipset_name("ns:" + std::to_string(i)).size(), 31u);
}

}  // namespace
}  // namespace weft::npc
