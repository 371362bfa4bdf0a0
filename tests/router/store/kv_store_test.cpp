#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "weft/router/kv_store.hpp"

namespace weft::router {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/weft-kv-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(KvStore, MissingFileIsEmptyAndRoundTrips) {
  auto dir = temp_dir();
  auto s = KvStore::open(dir + "/weavedata.db");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->all().empty());
  ASSERT_TRUE(s->put("peername", Bytes{1, 2, 3}).ok());
  ASSERT_TRUE(s->put("directPeers", Bytes{}).ok());
  auto again = KvStore::open(dir + "/weavedata.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get("peername"), (Bytes{1, 2, 3}));
  EXPECT_EQ(again->get("directPeers"), Bytes{});
  EXPECT_FALSE(again->get("nope"));
  ASSERT_TRUE(again->erase("peername").ok());
  EXPECT_FALSE(KvStore::open(dir + "/weavedata.db")->get("peername"));
}

TEST(KvStore, CorruptionIsReportedNamingTheFileAndNothingIsReset) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  {
    auto s = KvStore::open(path);
    ASSERT_TRUE(s->put("ring", Bytes(100, 7)).ok());
  }
  // Flip one byte in the middle.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(30);
  f.put('\x55');
  f.close();
  auto s = KvStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path), std::string::npos);
  EXPECT_NE(s.error().message.find("corrupt"), std::string::npos);
  EXPECT_NE(s.error().message.find("weave reset"), std::string::npos);
  // The damaged file is left as it was.
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(content.size(), 100u);
}

TEST(KvStore, DecodeRejectsEveryTruncation) {
  std::map<std::string, Bytes> m{{"a", Bytes{1}}, {"bb", Bytes(10, 2)}};
  auto file = KvStore::encode(m);
  ASSERT_EQ(*KvStore::decode(file), m);
  for (std::size_t n = 0; n < file.size(); ++n) EXPECT_FALSE(KvStore::decode(ByteSpan(file).first(n)).ok()) << n;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Issue 18, item 8: every put rewrote (and renamed, and fsynced) the whole file. Now a put
// appends one record to the journal: the snapshot stays the same file until a compaction.
TEST(KvStore, PutsAppendToTheJournalAndSurviveReopen) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  auto s = KvStore::open(path);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->put("peername", Bytes{1}).ok());  // the first write of a process compacts
  auto inode = inode_of(path);
  ASSERT_NE(inode, 0u);
  auto before = s->journal_bytes();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(s->put("owned" + std::to_string(i % 7), Bytes(100, static_cast<std::uint8_t>(i))).ok());
  }
  ASSERT_TRUE(s->erase("owned3").ok());
  ASSERT_TRUE(s->put_many({{"ring", Bytes{9}}, {"owned0", Bytes{}}}).ok());
  EXPECT_EQ(inode_of(path), inode) << "a put must not rewrite the snapshot";
  EXPECT_GT(s->journal_bytes(), before);
  // As after a kill -9: a second process loads snapshot + journal.
  auto again = KvStore::open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->all(), s->all());
  EXPECT_EQ(again->get("peername"), Bytes{1});
  EXPECT_EQ(again->get("owned6"), Bytes(100, 195));
  EXPECT_FALSE(again->get("owned3"));
  EXPECT_EQ(again->get("ring"), Bytes{9});
  EXPECT_EQ(again->get("owned0"), Bytes{});
  EXPECT_EQ(again->all().size(), 8u) << "the generation key is internal";
}

TEST(KvStore, GrowingValuesAreJournaledAsDeltas) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  auto s = KvStore::open(path);
  Bytes owned;
  ASSERT_TRUE(s->put("ownedAddresses", owned).ok());
  auto start = s->journal_bytes();
  for (int i = 0; i < 300; ++i) {
    // Like the owned-addresses map: one more entry, inserted in the middle or appended.
    Bytes entry(60, static_cast<std::uint8_t>(i));
    auto at = owned.begin() + static_cast<std::ptrdiff_t>((owned.size() / 60 / 2) * 60);
    owned.insert(i % 2 ? at : owned.end(), entry.begin(), entry.end());
    ASSERT_TRUE(s->put("ownedAddresses", owned).ok());
  }
  // 300 full values would be ~2.7 MB; deltas are ~100 bytes each.
  EXPECT_LT(s->journal_bytes() - start, 300u * 200u);
  EXPECT_EQ(KvStore::open(path)->get("ownedAddresses"), owned);
}

TEST(KvStore, TornJournalTailIsIgnoredAndNothingAcknowledgedIsLost) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  {
    auto s = KvStore::open(path);
    ASSERT_TRUE(s->put("a", Bytes{1}).ok());
    ASSERT_TRUE(s->put("b", Bytes{2}).ok());
    ASSERT_TRUE(s->put("c", Bytes{3}).ok());
  }
  // A crash in the middle of appending the next record: a partial record at the end.
  {
    std::ofstream j(path + ".journal", std::ios::binary | std::ios::app);
    j.write("\x00\x00\x00\x40\x01\x00", 6);
  }
  auto s = KvStore::open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->get("a"), Bytes{1});
  EXPECT_EQ(s->get("b"), Bytes{2});
  EXPECT_EQ(s->get("c"), Bytes{3});
  // Writing again starts from a clean journal, and reloads agree.
  ASSERT_TRUE(s->put("d", Bytes{4}).ok());
  EXPECT_EQ(KvStore::open(path)->all(), s->all());
}

TEST(KvStore, JournalOfAnotherSnapshotIsNotReplayed) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  {
    auto s = KvStore::open(path);
    ASSERT_TRUE(s->put("ownedAddresses", Bytes{1, 2, 3}).ok());
    ASSERT_TRUE(s->put("ring", Bytes{4}).ok());
  }
  // weave reset removed the snapshot but (an old script) left the journal.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  auto s = KvStore::open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->all().empty());
  ASSERT_TRUE(s->put("peername", Bytes{7}).ok());
  auto again = KvStore::open(path);
  EXPECT_FALSE(again->get("ring"));
  EXPECT_EQ(again->get("peername"), Bytes{7});
}

TEST(KvStore, JournalIsCompactedWhenItOutgrowsTheSnapshot) {
  auto dir = temp_dir();
  auto path = dir + "/weavedata.db";
  auto s = KvStore::open(path);
  Bytes big(256 * 1024, 5);
  for (int i = 0; i < 40; ++i) {
    big[0] = static_cast<std::uint8_t>(i);
    ASSERT_TRUE(s->put("ownedAddresses", big).ok());
    EXPECT_LE(s->journal_bytes(), KvStore::kCompactMin + 2 * (big.size() + 200));
  }
  EXPECT_EQ(KvStore::open(path)->get("ownedAddresses"), big);
}

}  // namespace
}  // namespace weft::router
