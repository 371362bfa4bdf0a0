#include <gtest/gtest.h>
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

}  // namespace
}  // namespace weft::router
