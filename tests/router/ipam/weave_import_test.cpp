// Import of Weave 2.8.1's state files (tests/fixtures/weave-boltdb, with what they hold in its
// README): peer name, ring entries and owned addresses, golden; then the move itself -- weft's
// state file written beside Weave's, Weave's left byte for byte, a damaged Weave file refused
// with nothing written, and the allocator restoring the imported state as its own.
#include "weft/ipam/weave_import.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "weft/ipam/ipam_store.hpp"

namespace weft::ipam {
namespace {

std::string fixture_path(const std::string& which) {
  return std::string(WEFT_SOURCE_DIR) + "/tests/fixtures/weave-boltdb/" + which + "/weavedata.db";
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string temp_dir() {
  char tmpl[] = "/tmp/weft-import-XXXXXX";
  return mkdtemp(tmpl);
}

std::map<std::string, std::vector<std::string>> owned_strings(const OwnedMap& m) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [id, d] : m) {
    for (const auto& c : d.cidrs) out[id].push_back(c.str());
    EXPECT_FALSE(d.is_container) << id;  // allocated through the API without check-alive
  }
  return out;
}

TEST(WeaveImport, GoldenA) {
  auto s = read_weave_state(read_file(fixture_path("A")));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->peer_name, PeerName::parse("00:00:00:00:aa:01"));
  ASSERT_TRUE(s->ring);
  EXPECT_EQ(s->ring->range, *Ipv4Range::parse("10.32.0.0/12"));
  ASSERT_EQ(s->ring->entries.size(), 2u);
  EXPECT_EQ(s->ring->entries[0].token, *Ipv4::parse("10.32.0.0"));
  EXPECT_EQ(s->ring->entries[0].peer, *PeerName::parse("00:00:00:00:aa:01"));
  EXPECT_EQ(s->ring->entries[0].version, 5u);
  EXPECT_EQ(s->ring->entries[0].free, 524288u - 5u);
  EXPECT_EQ(s->ring->entries[1].token, *Ipv4::parse("10.40.0.0"));
  EXPECT_EQ(s->ring->entries[1].peer, *PeerName::parse("00:00:00:00:bb:01"));
  EXPECT_EQ(s->ring->entries[1].version, 0u);
  ASSERT_TRUE(s->owned);
  EXPECT_EQ(owned_strings(*s->owned), (std::map<std::string, std::vector<std::string>>{
                                          {"c1", {"10.32.0.1/12"}},
                                          {"c2", {"10.32.0.2/12"}},
                                          {"c3", {"10.32.0.3/12"}},
                                          {"c4", {"10.32.0.200/12"}},
                                          {"c5", {"10.32.0.4/16"}},
                                      }));
  ASSERT_TRUE(s->direct_peers);
  std::vector<std::string> keys;
  for (const auto& [k, v] : s->carried) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"directPeers", "ownedAddresses", "peername", "ring"}));
}

TEST(WeaveImport, GoldenB) {
  auto s = read_weave_state(read_file(fixture_path("B")));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->peer_name, PeerName::parse("00:00:00:00:bb:01"));
  ASSERT_TRUE(s->ring);
  ASSERT_EQ(s->ring->entries.size(), 2u);
  EXPECT_EQ(s->ring->entries[0].token, *Ipv4::parse("10.32.0.0"));
  EXPECT_EQ(s->ring->entries[0].peer, *PeerName::parse("00:00:00:00:aa:01"));
  EXPECT_EQ(s->ring->entries[1].token, *Ipv4::parse("10.40.0.0"));
  EXPECT_EQ(s->ring->entries[1].peer, *PeerName::parse("00:00:00:00:bb:01"));
  ASSERT_TRUE(s->owned);
  EXPECT_EQ(owned_strings(*s->owned), (std::map<std::string, std::vector<std::string>>{
                                          {"d1", {"10.40.0.0/12"}},
                                          {"d2", {"10.40.0.1/12"}},
                                      }));
}

TEST(WeaveImport, WritesWeftsFileBesideAndLeavesWeavesAlone) {
  auto dir = temp_dir();
  auto weave = dir + "/weavedata.db";
  auto original = read_file(fixture_path("A"));
  write_file(weave, original);
  Logger log("test", std::make_shared<NullSink>());
  auto store = open_state_file(weave, log);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(store->path(), dir + "/weft-weavedata.db");
  EXPECT_EQ(weft_state_path_beside(weave), dir + "/weft-weavedata.db");
  EXPECT_EQ(read_file(weave), original) << "Weave's file must never be written";
  // What the allocator would restore from weft's file is what Weave had.
  auto p = load_from(*store);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->peer_name, PeerName::parse("00:00:00:00:aa:01"));
  ASSERT_TRUE(p->ring && p->owned);
  EXPECT_EQ(p->ring->entries.size(), 2u);
  EXPECT_EQ(p->owned->size(), 5u);
  EXPECT_TRUE(store->get("directPeers"));
  // Opened again: weft's file is used (a later change there is kept), Weave's still untouched.
  ASSERT_TRUE(store->put("directPeers", Bytes{}));
  auto again = open_state_file(weave, log);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->get("directPeers"), Bytes{});
  EXPECT_EQ(read_file(weave), original);
}

TEST(WeaveImport, DamagedWeaveFileIsRefusedAndNothingWritten) {
  auto dir = temp_dir();
  auto weave = dir + "/weavedata.db";
  auto bad = read_file(fixture_path("B"));
  // B's current meta (txid 14) has its root on page 4: an element of the `top` bucket there
  // points outside its page.
  bad[0x4043 + 4] = 0xff;
  bad[0x4043 + 7] = 0xff;
  write_file(weave, bad);
  Logger log("test", std::make_shared<NullSink>());
  auto store = open_state_file(weave, log);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("Weave Net's (BoltDB) but cannot be imported"), std::string::npos)
      << store.error().message;
  struct stat st {};
  EXPECT_NE(::stat((dir + "/weft-weavedata.db").c_str(), &st), 0) << "no weft state may be written";
  EXPECT_EQ(read_file(weave), bad);
}

TEST(WeaveImport, WeftsOwnFileIsOpenedAsBefore) {
  auto dir = temp_dir();
  Logger log("test", std::make_shared<NullSink>());
  auto store = open_state_file(dir + "/weavedata.db", log);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->path(), dir + "/weavedata.db");
}

}  // namespace
}  // namespace weft::ipam
