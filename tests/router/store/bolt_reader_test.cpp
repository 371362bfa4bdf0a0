// The BoltDB reader against the two real Weave 2.8.1 state files (tests/fixtures/weave-boltdb),
// and against damaged copies of them: every damage is an error, never a crash or a wrong read.
#include "weft/router/bolt_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace weft::router {
namespace {

Bytes fixture(const std::string& which) {
  std::ifstream in(std::string(WEFT_SOURCE_DIR) + "/tests/fixtures/weave-boltdb/" + which + "/weavedata.db",
                   std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put_le64(Bytes& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

TEST(BoltReader, ReadsWeavesStateFiles) {
  for (const char* which : {"A", "B"}) {
    auto file = fixture(which);
    ASSERT_EQ(file.size(), 32768u) << which;
    EXPECT_TRUE(is_boltdb(file));
    auto db = read_boltdb(file);
    ASSERT_TRUE(db) << which << ": " << db.error().message;
    EXPECT_EQ(db->page_size, 4096u);
    EXPECT_EQ(db->high_water, 6u);
    EXPECT_TRUE(db->root.values.empty());
    ASSERT_EQ(db->root.buckets.size(), 1u);
    const auto& top = db->root.buckets.at("top");
    std::vector<std::string> keys;
    for (const auto& [k, v] : top.values) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"directPeers", "ownedAddresses", "peername", "ring", "version"})) << which;
    EXPECT_EQ(top.values.at("version"), (Bytes{0x01, 0x00}));
  }
  // The current meta is the one with the higher txid: page 1 in A (txid 23, root page 2).
  auto a = read_boltdb(fixture("A"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->txid, 23u);
  EXPECT_EQ(a->root.buckets.at("top").values.at("peername"), (Bytes{0x05, 0x06, 0x00, 0xfe, 0xaa, 0x01}));
}

TEST(BoltReader, FallsBackToTheOtherMetaWhenOneIsDamaged) {
  auto file = fixture("A");
  file[4096 + 16 + 48] ^= 0x01;  // meta page 1's txid: its checksum no longer matches
  auto db = read_boltdb(file);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(db->txid, 22u);  // meta page 0: root bucket at page 4, the previous copy
  EXPECT_EQ(db->root.buckets.at("top").values.size(), 5u);
}

TEST(BoltReader, RefusesDamage) {
  auto good = fixture("A");
  auto expect_error = [](const Bytes& b, const std::string& what) {
    auto r = read_boltdb(b);
    EXPECT_FALSE(r) << what;
    if (!r) EXPECT_FALSE(r.error().message.empty());
  };
  expect_error(Bytes{}, "empty");
  expect_error(Bytes(good.begin(), good.begin() + 100), "truncated meta");
  expect_error(Bytes(good.begin(), good.begin() + 3 * 4096), "truncated before the root page");
  auto no_magic = good;
  no_magic[16] = 0;
  no_magic[4096 + 16] = 0;
  expect_error(no_magic, "no magic");
  EXPECT_FALSE(is_boltdb(no_magic));
  // The root bucket's page pointing at itself through a branch: a cycle.
  auto cyc = good;
  cyc[2 * 4096 + 8] = 0x01;                // page 2 becomes a branch page
  put_le64(cyc, 2 * 4096 + 16 + 8, 2);     // whose first child is page 2
  expect_error(cyc, "cycle");
  auto far = good;
  far[2 * 4096 + 16 + 7] = 0xff;           // leaf element pos far outside the page
  expect_error(far, "element out of the page");
  auto count = good;
  count[2 * 4096 + 10] = 0xff;             // 255 elements cannot fit
  count[2 * 4096 + 11] = 0x01;
  expect_error(count, "element count");
  auto overflow = good;
  overflow[2 * 4096 + 12] = 0x40;          // overflow past the end
  expect_error(overflow, "overflow");
  auto flags = good;
  flags[2 * 4096 + 8] = 0x08;
  expect_error(flags, "unknown page type");
  auto inl = good;
  inl[0x203b] = 0x01;                      // the inline bucket's page is not a leaf
  expect_error(inl, "inline bucket not a leaf");
}

}  // namespace
}  // namespace weft::router
