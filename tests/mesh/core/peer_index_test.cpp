// PeerIndex (mesh/core/include/weft/mesh/peer_index.hpp): the flat name -> entry index Topology
// uses for point lookups, checked against std::map through random inserts and erases (backward
// shift deletion must keep every probe run intact).
#include "weft/mesh/peer_index.hpp"

#include <gtest/gtest.h>

#include <map>

#include "weft/base/random.hpp"

namespace weft::mesh {
namespace {

TEST(PeerIndexTest, EmptyFindsNothing) {
  PeerIndex<int> idx;
  EXPECT_EQ(idx.find(PeerName(1)), nullptr);
  EXPECT_FALSE(idx.erase(PeerName(1)));
  EXPECT_EQ(idx.size(), 0u);
}

TEST(PeerIndexTest, InsertFindReplaceErase) {
  int a = 1, b = 2;
  PeerIndex<int> idx;
  idx.insert(PeerName(0), &a);  // name 0 (the unknown name) is a key like any other
  idx.insert(PeerName(0xFFFFFFFFFFFFull), &b);
  EXPECT_EQ(idx.find(PeerName(0)), &a);
  EXPECT_EQ(idx.find(PeerName(0xFFFFFFFFFFFFull)), &b);
  EXPECT_EQ(idx.size(), 2u);
  idx.insert(PeerName(0), &b);
  EXPECT_EQ(idx.find(PeerName(0)), &b);
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_TRUE(idx.erase(PeerName(0)));
  EXPECT_FALSE(idx.erase(PeerName(0)));
  EXPECT_EQ(idx.find(PeerName(0)), nullptr);
  EXPECT_EQ(idx.find(PeerName(0xFFFFFFFFFFFFull)), &b);
  EXPECT_EQ(idx.size(), 1u);
  idx.clear();
  EXPECT_EQ(idx.find(PeerName(0xFFFFFFFFFFFFull)), nullptr);
}

TEST(PeerIndexTest, GrowsAndKeepsLoadBelowThreeQuarters) {
  std::vector<int> vals(5000);
  PeerIndex<int> idx;
  for (std::size_t i = 0; i < vals.size(); ++i) {
    idx.insert(PeerName(0x020000000000ull + i), &vals[i]);
    ASSERT_LE(idx.size() * 4, idx.capacity() * 3);
  }
  for (std::size_t i = 0; i < vals.size(); ++i) ASSERT_EQ(idx.find(PeerName(0x020000000000ull + i)), &vals[i]);
  EXPECT_EQ(idx.find(PeerName(0x020000000000ull + vals.size())), nullptr);
}

// Random operations on a small name space (many collisions and wrapped probe runs) against a map.
TEST(PeerIndexTest, MatchesStdMapUnderRandomInsertsAndErases) {
  SeededRandom rng(19);
  std::vector<int> vals(64);
  for (int round = 0; round < 4; ++round) {
    PeerIndex<int> idx;
    std::map<std::uint64_t, int*> ref;
    // Round 0..1: dense names; 2..3: names that differ only in high bits.
    auto name_of = [&](std::uint64_t k) { return round < 2 ? k : (k << 40) | 0x5; };
    for (int op = 0; op < 20000; ++op) {
      auto k = rng.uniform(48);
      auto name = PeerName(name_of(k));
      if (rng.uniform(3) == 0) {
        EXPECT_EQ(idx.erase(name), ref.erase(name_of(k)) == 1);
      } else {
        auto* v = &vals[rng.uniform(vals.size())];
        idx.insert(name, v);
        ref[name_of(k)] = v;
      }
      ASSERT_EQ(idx.size(), ref.size());
      if (op % 97 == 0) {
        for (std::uint64_t j = 0; j < 48; ++j) {
          auto it = ref.find(name_of(j));
          ASSERT_EQ(idx.find(PeerName(name_of(j))), it == ref.end() ? nullptr : it->second)
              << "op " << op << " key " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace weft::mesh
