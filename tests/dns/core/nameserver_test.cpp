#include "weft/dns/nameserver.hpp"

#include <gtest/gtest.h>

#include <set>

#include "dns_test_util.hpp"
#include "weft/base/random.hpp"

namespace weft::dns {
namespace {

using test::at;
using test::kEpoch;
using test::RecordingSender;

const PeerName kUs(0xaabbccddee01);
const PeerName kThem(0xaabbccddee02);
const PeerName kStranger(0xaabbccddee99);

class NameserverTest : public ::testing::Test {
 protected:
  NameserverTest() : ns_(config(kUs)) {}

  NameserverConfig config(PeerName self) {
    NameserverConfig c;
    c.self = self;
    c.is_known_peer = [this](PeerName p) { return known_.count(p) > 0; };
    c.wall_clock = test::wall_of;
    return c;
  }
  void check() { ASSERT_TRUE(ns_.check_invariants().ok()); }

  Bytes gossip_from(std::int64_t ts, std::vector<Entry> es) {
    return encode_gossip_data(GossipData{ts, std::move(es)});
  }

  std::set<PeerName> known_{kUs, kThem};
  Nameserver ns_;
  RecordingSender out_;
};

TEST_F(NameserverTest, AddBroadcastsTheEntryAloneAndLookupIgnoresCase) {
  auto e = ns_.add_entry_fqdn(at(10), "Web.weave.local", "c1", Ipv4(0x0a200001), &out_);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->hostname, "Web.weave.local.");
  EXPECT_EQ(e->origin, kUs);
  EXPECT_EQ(e->version, 0);
  ASSERT_EQ(out_.broadcasts.size(), 1u);
  auto g = out_.broadcast_data(0);
  EXPECT_EQ(g.timestamp, kEpoch + 10);
  ASSERT_EQ(g.entries.size(), 1u);
  EXPECT_EQ(g.entries[0], *e);
  EXPECT_EQ(ns_.lookup("web.WEAVE.local."), std::vector<Ipv4>{Ipv4(0x0a200001)});
  EXPECT_EQ(ns_.reverse_lookup(Ipv4(0x0a200001)), std::optional<std::string>("Web.weave.local."));
  EXPECT_TRUE(ns_.lookup("web.weave.local").empty());  // not absolute: another name
  check();
}

TEST_F(NameserverTest, NamesOutsideTheDomainAreIgnored) {
  EXPECT_FALSE(ns_.add_entry_fqdn(at(1), "web.example.com", "c1", Ipv4(1), &out_));
  EXPECT_FALSE(ns_.add_entry_fqdn(at(1), "web", "c1", Ipv4(1), &out_));
  EXPECT_FALSE(ns_.add_entry_fqdn(at(1), "", "c1", Ipv4(1), &out_));
  EXPECT_FALSE(ns_.add_entry_fqdn(at(1), "xweave.local", "c1", Ipv4(1), &out_));
  EXPECT_TRUE(ns_.add_entry_fqdn(at(1), "a.b.WEAVE.LOCAL.", "c1", Ipv4(1), &out_));
  EXPECT_TRUE(out_.broadcasts.size() == 1);
  EXPECT_EQ(ns_.entries().size(), 1u);
}

TEST_F(NameserverTest, DeleteTombstonesAndReAddRevives) {
  ns_.add_entry(at(1), "db.weave.local.", "c1", kUs, Ipv4(1), &out_);
  ns_.add_entry(at(2), "db.weave.local.", "c1", kUs, Ipv4(1), &out_);  // again: unchanged
  EXPECT_EQ(ns_.entries().at(0).version, 0);
  auto gone = ns_.delete_entries(at(5), DeleteFilter{"db.weave.local", "c1", Ipv4(1)}, &out_);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].version, 1);
  EXPECT_EQ(gone[0].tombstone, kEpoch + 5);
  EXPECT_TRUE(ns_.lookup("db.weave.local.").empty());
  EXPECT_FALSE(ns_.reverse_lookup(Ipv4(1)).has_value());
  EXPECT_EQ(out_.broadcast_data(2).entries.at(0), gone[0]);
  // Deleting again changes nothing and broadcasts nothing.
  EXPECT_TRUE(ns_.delete_entries(at(6), DeleteFilter{}, &out_).empty());
  EXPECT_EQ(out_.broadcasts.size(), 3u);
  auto back = ns_.add_entry(at(7), "db.weave.local.", "c1", kUs, Ipv4(1), &out_);
  EXPECT_EQ(back.version, 2);
  EXPECT_TRUE(back.live());
  EXPECT_EQ(ns_.lookup("db.weave.local.").size(), 1u);
  check();
}

TEST_F(NameserverTest, DeleteFiltersFollowWeave) {
  ns_.add_entry(at(1), "a.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  ns_.add_entry(at(1), "a.weave.local.", "c2", kUs, Ipv4(2), nullptr);
  ns_.add_entry(at(1), "b.weave.local.", "c1", kUs, Ipv4(3), nullptr);
  ns_.add_entry(at(1), "b.weave.local.", "c1", kThem, Ipv4(4), nullptr);  // not ours: never deleted
  // The hostname is compared case-sensitively.
  EXPECT_TRUE(ns_.delete_entries(at(2), DeleteFilter{"A.weave.local.", {}, {}}, nullptr).empty());
  EXPECT_EQ(ns_.delete_entries(at(2), DeleteFilter{{}, "c1", Ipv4(3)}, nullptr).size(), 1u);
  EXPECT_EQ(ns_.delete_entries(at(2), DeleteFilter{"a.weave.local", {}, {}}, nullptr).size(), 2u);
  EXPECT_EQ(ns_.lookup("b.weave.local."), std::vector<Ipv4>{Ipv4(4)});
  EXPECT_TRUE(ns_.delete_entries(at(3), DeleteFilter{}, nullptr).empty());
}

TEST_F(NameserverTest, ContainerDiedTombstonesOnlyOurEntriesForIt) {
  ns_.add_entry(at(1), "a.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  ns_.add_entry(at(1), "b.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  ns_.add_entry(at(1), "c.weave.local.", "c2", kUs, Ipv4(2), nullptr);
  ns_.add_entry(at(1), "d.weave.local.", "c1", kThem, Ipv4(3), nullptr);
  auto gone = ns_.container_died(at(9), "c1", &out_);
  EXPECT_EQ(gone.size(), 2u);
  ASSERT_EQ(out_.broadcasts.size(), 1u);
  EXPECT_EQ(out_.broadcast_data(0).entries.size(), 2u);
  EXPECT_EQ(ns_.live_count(), 2u);
  EXPECT_EQ(ns_.own_live_count(), 1u);
}

TEST_F(NameserverTest, MergeRulesAndOnGossipReturnsOnlyWhatWasNew) {
  Entry e{"c9", kThem, Ipv4(9), "x.weave.local.", 0, 0};
  auto r = ns_.on_gossip(at(100), kThem, gossip_from(kEpoch + 100, {e}), out_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  auto relayed = decode_gossip_data(**r);
  ASSERT_TRUE(relayed.ok());
  EXPECT_EQ(relayed->timestamp, kEpoch + 100);
  EXPECT_EQ(relayed->entries, std::vector<Entry>{e});
  // The same again: nothing new, nothing to relay.
  r = ns_.on_gossip(at(101), kThem, gossip_from(kEpoch + 101, {e}), out_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  // A higher Version wins.
  Entry t = e;
  t.version = 3;
  t.tombstone = kEpoch + 50;
  r = ns_.on_gossip(at(102), kThem, gossip_from(kEpoch + 102, {t}), out_);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE(ns_.lookup("x.weave.local.").empty());
  // A lower one loses.
  r = ns_.on_gossip(at(103), kThem, gossip_from(kEpoch + 103, {e}), out_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  // Equal Version, larger Tombstone wins.
  Entry later = t;
  later.tombstone = kEpoch + 60;
  r = ns_.on_gossip(at(104), kThem, gossip_from(kEpoch + 104, {later}), out_);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(ns_.entries().at(0).tombstone, kEpoch + 60);
  EXPECT_TRUE(out_.broadcasts.empty());
  check();
}

TEST_F(NameserverTest, BroadcastIsRelayedEvenIfNothingWasNew) {
  Entry e{"c9", kThem, Ipv4(9), "x.weave.local.", 0, 0};
  Entry stranger{"c8", kStranger, Ipv4(8), "y.weave.local.", 0, 0};
  for (int i = 0; i < 2; ++i) {
    auto r = ns_.on_broadcast(at(100), kThem, gossip_from(kEpoch + 90, {e, stranger}), out_);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->has_value());
    auto g = decode_gossip_data(**r);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->timestamp, kEpoch + 90);          // the sender's Timestamp
    EXPECT_EQ(g->entries, std::vector<Entry>{e});  // the stranger's entry is filtered out
  }
  EXPECT_TRUE(ns_.lookup("y.weave.local.").empty());
  EXPECT_EQ(ns_.entries().size(), 1u);
  // Everything filtered: still relayed, as an empty set.
  auto r = ns_.on_broadcast(at(100), kThem, gossip_from(kEpoch + 90, {stranger}), out_);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE(decode_gossip_data(**r)->entries.empty());
}

TEST_F(NameserverTest, ClockSkewBeyond900SecondsIsAnError) {
  Entry e{"c9", kThem, Ipv4(9), "x.weave.local.", 0, 0};
  for (std::int64_t d : {-900, 900, 0}) {
    EXPECT_TRUE(ns_.on_gossip(at(1000), kThem, gossip_from(kEpoch + 1000 + d, {e}), out_).ok()) << d;
  }
  for (std::int64_t d : {-901, 901, 100000}) {
    auto r = ns_.on_broadcast(at(1000), kThem, gossip_from(kEpoch + 1000 + d, {}), out_);
    ASSERT_FALSE(r.ok()) << d;
    EXPECT_NE(r.error().message.find("clock skew"), std::string::npos);
  }
  for (auto extreme : {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_FALSE(ns_.on_gossip(at(1000), kThem, gossip_from(extreme, {}), out_).ok());
  }
  EXPECT_FALSE(ns_.on_gossip(at(1), kThem, Bytes{1, 2, 3}, out_).ok());
}

TEST_F(NameserverTest, EntriesAboutUsFromOthersAreOverridden) {
  auto mine = ns_.add_entry(at(1), "me.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  // A peer claims our entry was deleted at a higher version (e.g. from before our restart).
  Entry claim = mine;
  claim.version = 4;
  claim.tombstone = kEpoch + 2;
  // ...and claims an entry of ours we never had.
  Entry ghost{"c7", kUs, Ipv4(7), "ghost.weave.local.", 2, 0};
  auto r = ns_.on_broadcast(at(10), kThem, gossip_from(kEpoch + 10, {claim, ghost}), out_);
  ASSERT_TRUE(r.ok() && r->has_value());
  // We re-assert ours (live) with Version 5 and tombstone the ghost (Version 3, now).
  ASSERT_EQ(out_.broadcasts.size(), 1u);
  auto overrides = out_.broadcast_data(0);
  EXPECT_EQ(overrides.timestamp, kEpoch + 10);
  ASSERT_EQ(overrides.entries.size(), 2u);
  EXPECT_EQ(overrides.entries[0].hostname, "ghost.weave.local.");
  EXPECT_EQ(overrides.entries[0].version, 3);
  EXPECT_EQ(overrides.entries[0].tombstone, kEpoch + 10);
  EXPECT_EQ(overrides.entries[1].hostname, "me.weave.local.");
  EXPECT_EQ(overrides.entries[1].version, 5);
  EXPECT_TRUE(overrides.entries[1].live());
  // The relayed set carries the overrides too, and our table has them.
  auto relayed = decode_gossip_data(**r);
  EXPECT_EQ(relayed->entries, overrides.entries);
  EXPECT_EQ(ns_.lookup("me.weave.local."), std::vector<Ipv4>{Ipv4(1)});
  EXPECT_EQ(ns_.entries().size(), 2u);
  // An already-tombstoned ghost is just stored; equal data is not overridden.
  out_.broadcasts.clear();
  Entry dead_ghost{"c6", kUs, Ipv4(6), "dead.weave.local.", 1, kEpoch};
  Entry same = ns_.entries().at(1);
  ASSERT_TRUE(ns_.on_gossip(at(11), kThem, gossip_from(kEpoch + 11, {dead_ghost, same}), out_).ok());
  EXPECT_TRUE(out_.broadcasts.empty());
  check();
}

TEST_F(NameserverTest, TombstonesAreCollectedAfterThirtyMinutes) {
  ns_.add_entry(at(0), "a.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  ns_.add_entry(at(0), "b.weave.local.", "c2", kUs, Ipv4(2), nullptr);
  ns_.container_died(at(100), "c1", nullptr);
  EXPECT_EQ(ns_.gc_tombstones(kEpoch + 100 + 1800), 0u);
  EXPECT_EQ(ns_.gc_tombstones(kEpoch + 100 + 1801), 1u);
  EXPECT_EQ(ns_.entries().size(), 1u);
  // The sweep runs every 30 minutes from the first tick.
  ns_.container_died(at(200), "c2", nullptr);
  auto next = ns_.on_tick(at(200));
  EXPECT_EQ(next, at(200 + 1800));
  EXPECT_EQ(ns_.on_tick(at(1000)), next);
  EXPECT_EQ(ns_.entries().size(), 1u);
  EXPECT_EQ(ns_.on_tick(next), at(200 + 3600));
  EXPECT_EQ(ns_.entries().size(), 1u);  // tombstoned at 200: exactly 1800 s old, kept
  ns_.on_tick(at(200 + 3600));
  EXPECT_TRUE(ns_.entries().empty());
}

TEST_F(NameserverTest, PeerGoneDropsItsEntries) {
  ns_.add_entry(at(0), "a.weave.local.", "c1", kThem, Ipv4(1), nullptr);
  ns_.add_entry(at(0), "a.weave.local.", "c2", kUs, Ipv4(2), nullptr);
  ns_.peer_gone(kThem);
  EXPECT_EQ(ns_.lookup("a.weave.local."), std::vector<Ipv4>{Ipv4(2)});
}

TEST_F(NameserverTest, FullStateHasEverythingWithTimestampNow) {
  auto empty = ns_.full_state(at(5));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(decode_gossip_data(empty[0])->timestamp, kEpoch + 5);
  ns_.add_entry(at(0), "a.weave.local.", "c1", kUs, Ipv4(1), nullptr);
  ns_.add_entry(at(0), "b.weave.local.", "c2", kThem, Ipv4(2), nullptr);
  ns_.container_died(at(1), "c1", nullptr);
  auto full = ns_.full_state(at(7));
  ASSERT_EQ(full.size(), 1u);
  auto g = decode_gossip_data(full[0]);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->timestamp, kEpoch + 7);
  EXPECT_EQ(g->entries.size(), 2u);
  EXPECT_TRUE(ns_.on_unicast(at(7), kThem, full[0], out_).ok());
}

TEST_F(NameserverTest, StatusAndJsonMatchWeave) {
  ns_.add_entry(at(0), "db.weave.local.", "1010101010101010abcdef", kUs, Ipv4(0x0a200001), nullptr);
  ns_.add_entry(at(0), "Db.weave.local.", "c9", PeerName(0xaabbccddee01), Ipv4(0x0a200909), nullptr);
  ns_.add_entry(at(0), "gone.weave.local.", "c3", kUs, Ipv4(3), nullptr);
  ns_.add_entry(at(0), "other.example.", "c4", kUs, Ipv4(4), nullptr);
  ns_.container_died(at(0), "c3", nullptr);
  EXPECT_EQ(ns_.format_status_dns(),
            "Db           10.32.9.9                 c9 aa:bb:cc:dd:ee:01\n"
            "db           10.32.0.1       101010101010 aa:bb:cc:dd:ee:01\n"
            "other.example. 0.0.0.4                   c4 aa:bb:cc:dd:ee:01\n");
  Nameserver fresh(config(kUs));
  EXPECT_EQ(fresh.entries_json(), "null\n");
  fresh.add_entry(at(0), "Db.weave.local.", "c9", kUs, Ipv4(0x0a200909), nullptr);
  fresh.add_entry(at(0), "x<&>\"\\\n\xff.weave.local.", "c\xe2\x80\xa8", kUs, Ipv4(1), nullptr);
  EXPECT_EQ(
      fresh.entries_json(),
      "[{\"ContainerID\":\"c9\",\"Origin\":187723572702721,\"Addr\":\"10.32.9.9\",\"Hostname\":\"Db.weave.local.\","
      "\"Version\":0,\"Tombstone\":0},"
      "{\"ContainerID\":\"c\\u2028\",\"Origin\":187723572702721,\"Addr\":\"0.0.0.1\",\"Hostname\":"
      "\"x\\u003c\\u0026\\u003e\\\"\\\\\\n\\ufffd.weave.local.\",\"Version\":0,\"Tombstone\":0}]\n");
}

// ---- convergence: random adds, deletes, deaths and lossy gossip among several peers

struct SimPeer {
  std::unique_ptr<Nameserver> ns;
  RecordingSender out;
};

TEST(NameserverConvergence, RandomOperationsConvergeAfterFullGossip) {
  constexpr int kPeers = 5;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SeededRandom rng(seed);
    std::vector<SimPeer> peers(kPeers);
    std::set<PeerName> all;
    for (int i = 0; i < kPeers; ++i) all.insert(PeerName(100 + i));
    for (int i = 0; i < kPeers; ++i) {
      NameserverConfig c;
      c.self = PeerName(100 + i);
      c.is_known_peer = [&all](PeerName p) { return all.count(p) > 0; };
      c.wall_clock = test::wall_of;
      peers[i].ns = std::make_unique<Nameserver>(std::move(c));
    }
    const char* names[] = {"a.weave.local.", "A.weave.local.", "b.weave.local.", "c.weave.local."};
    std::int64_t t = 0;
    for (int step = 0; step < 300; ++step) {
      t += static_cast<std::int64_t>(rng.uniform(3));
      auto& p = peers[rng.uniform(kPeers)];
      switch (rng.uniform(4)) {
        case 0:
          p.ns->add_entry(at(t), names[rng.uniform(4)], fmt::format("c{}", rng.uniform(3)), p.ns->self(),
                          Ipv4(static_cast<std::uint32_t>(rng.uniform(3))), &p.out);
          break;
        case 1:
          p.ns->container_died(at(t), fmt::format("c{}", rng.uniform(3)), &p.out);
          break;
        case 2:
          p.ns->delete_entries(at(t), DeleteFilter{names[rng.uniform(4)], {}, {}}, &p.out);
          break;
        default: {
          // Deliver some pending broadcasts (lossy: each copy reaches each peer with p = 0.5).
          for (auto& src : peers) {
            for (auto& msg : src.out.broadcasts) {
              for (auto& dst : peers) {
                if (&dst == &src || rng.uniform(2) == 0) continue;
                ASSERT_TRUE(dst.ns->on_broadcast(at(t), src.ns->self(), msg, dst.out).ok());
              }
            }
            src.out.broadcasts.clear();
          }
        }
      }
      for (auto& q : peers) ASSERT_TRUE(q.ns->check_invariants().ok());
    }
    // Quiesce: exchange full state until no override broadcasts remain.
    for (int round = 0; round < 4; ++round) {
      for (auto& src : peers) {
        for (auto& msg : src.ns->full_state(at(t))) {
          for (auto& dst : peers) {
            if (&dst != &src) {
              ASSERT_TRUE(dst.ns->on_gossip(at(t), src.ns->self(), msg, dst.out).ok());
            }
          }
        }
      }
      for (auto& src : peers) {
        for (auto& msg : src.out.broadcasts) {
          for (auto& dst : peers) {
            if (&dst != &src) {
              ASSERT_TRUE(dst.ns->on_broadcast(at(t), src.ns->self(), msg, dst.out).ok());
            }
          }
        }
        src.out.broadcasts.clear();
      }
    }
    for (int i = 1; i < kPeers; ++i) {
      ASSERT_EQ(peers[i].ns->entries(), peers[0].ns->entries()) << "seed " << seed << " peer " << i;
    }
  }
}

}  // namespace
}  // namespace weft::dns
