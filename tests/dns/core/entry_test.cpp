#include "weft/dns/entry.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace weft::dns {
namespace {

Entry E(std::string host, std::uint64_t origin, std::string cid, std::uint32_t addr, std::int64_t v = 0,
        std::int64_t t = 0) {
  return Entry{std::move(cid), PeerName(origin), Ipv4(addr), std::move(host), v, t};
}

TEST(DnsEntry, MergeHigherVersionWins) {
  auto mine = E("a.weave.local.", 1, "c", 1, 1, 0);
  EXPECT_TRUE(merge_entry(mine, E("a.weave.local.", 1, "c", 1, 2, 500)));
  EXPECT_EQ(mine.version, 2);
  EXPECT_EQ(mine.tombstone, 500);
  // A higher Version wins even if it revives (Tombstone 0).
  EXPECT_TRUE(merge_entry(mine, E("a.weave.local.", 1, "c", 1, 3, 0)));
  EXPECT_TRUE(mine.live());
  // Lower or equal-and-not-larger-tombstone: no change.
  EXPECT_FALSE(merge_entry(mine, E("a.weave.local.", 1, "c", 1, 2, 900)));
  EXPECT_FALSE(merge_entry(mine, E("a.weave.local.", 1, "c", 1, 3, 0)));
  EXPECT_EQ(mine.version, 3);
}

TEST(DnsEntry, MergeEqualVersionLargerTombstoneWins) {
  auto mine = E("a.", 1, "c", 1, 4, 100);
  EXPECT_TRUE(merge_entry(mine, E("a.", 1, "c", 1, 4, 200)));
  EXPECT_EQ(mine.tombstone, 200);
  EXPECT_FALSE(merge_entry(mine, E("a.", 1, "c", 1, 4, 150)));
  EXPECT_EQ(mine.tombstone, 200);
}

TEST(DnsEntry, MergeIsCommutativeAndIdempotent) {
  std::vector<Entry> states = {E("a.", 1, "c", 1, 0, 0), E("a.", 1, "c", 1, 1, 10), E("a.", 1, "c", 1, 1, 20),
                               E("a.", 1, "c", 1, 2, 0), E("a.", 1, "c", 1, 2, 5)};
  for (auto& x : states) {
    for (auto& y : states) {
      auto xy = x;
      merge_entry(xy, y);
      auto yx = y;
      merge_entry(yx, x);
      EXPECT_EQ(xy.version, yx.version);
      EXPECT_EQ(xy.tombstone, yx.tombstone);
      auto again = xy;
      EXPECT_FALSE(merge_entry(again, y));
      EXPECT_FALSE(merge_entry(again, x));
    }
  }
}

TEST(DnsEntry, TombstoneOnlyOnceAndVersionSaturates) {
  auto e = E("a.", 1, "c", 1, 0, 0);
  EXPECT_TRUE(tombstone_entry(e, 1234));
  EXPECT_EQ(e.version, 1);
  EXPECT_EQ(e.tombstone, 1234);
  EXPECT_FALSE(tombstone_entry(e, 9999));
  EXPECT_EQ(e.tombstone, 1234);
  auto big = E("a.", 1, "c", 1, std::numeric_limits<std::int64_t>::max(), 0);
  EXPECT_TRUE(tombstone_entry(big, 1));
  EXPECT_EQ(big.version, std::numeric_limits<std::int64_t>::max());
}

TEST(DnsEntry, WireOrderIsCaseSensitiveThenOriginContainerAddr) {
  std::vector<Entry> es = {E("b.", 1, "c", 1), E("B.", 1, "c", 1), E("a.", 2, "c", 1),
                           E("a.", 1, "d", 1), E("a.", 1, "c", 2), E("a.", 1, "c", 1)};
  normalize(es);
  ASSERT_EQ(es.size(), 6u);
  EXPECT_EQ(es[0].hostname, "B.");  // 'B' < 'a' bytewise
  EXPECT_EQ(es[1].addr, Ipv4(1));
  EXPECT_EQ(es[2].addr, Ipv4(2));
  EXPECT_EQ(es[3].container_id, "d");
  EXPECT_EQ(es[4].origin, PeerName(2));
  EXPECT_EQ(es[5].hostname, "b.");
}

TEST(DnsEntry, NormalizeFoldsDuplicateIdentities) {
  std::vector<Entry> es = {E("a.", 1, "c", 1, 1, 0), E("a.", 1, "c", 1, 3, 77), E("a.", 1, "c", 1, 2, 0),
                           E("A.", 1, "c", 1, 0, 0)};
  normalize(es);
  ASSERT_EQ(es.size(), 2u);  // "A." is another identity
  EXPECT_EQ(es[1].version, 3);
  EXPECT_EQ(es[1].tombstone, 77);
}

}  // namespace
}  // namespace weft::dns
