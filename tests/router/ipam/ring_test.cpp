// The ring CRDT: ClaimForPeers, every merge rule of spec §6.3, grants, free reports, transfers.
#include "weft/ipam/ring.hpp"

#include <gtest/gtest.h>

namespace weft::ipam {
namespace {

const PeerName kA(0xaa0000000001u);
const PeerName kB(0xaa0000000002u);
const PeerName kC(0xaa0000000003u);

Ipv4 ip(const char* s) { return *Ipv4::parse(s); }
std::uint64_t u(const char* s) { return ip(s).value(); }
Ipv4Range R(const char* a, const char* b) { return Ipv4Range(u(a), u(b)); }
const Ipv4Range kUniverse = R("10.0.0.0", "10.0.1.0");  // 256 addresses

RingEntry E(const char* token, PeerName p, std::uint32_t version, std::uint32_t free) {
  return RingEntry{ip(token), p, version, free};
}

Ring make(PeerName self, std::vector<RingEntry> es, std::vector<PeerName> seeds = {},
          Ipv4Range range = kUniverse) {
  Ring r(range, self);
  auto res = r.restore(WireRing{range, self, std::move(es), std::move(seeds)});
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
  return r;
}

WireRing wire(PeerName sender, std::vector<RingEntry> es, std::vector<PeerName> seeds = {},
              Ipv4Range range = kUniverse) {
  return WireRing{range, sender, std::move(es), std::move(seeds)};
}

const Ring::HasAllocations kNone = [](const std::vector<Ipv4Range>&) { return false; };
const Ring::HasAllocations kAll = [](const std::vector<Ipv4Range>&) { return true; };

void expect_ok(const Ring& r) {
  auto c = r.check_invariants();
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
}

// ---- ClaimForPeers

TEST(RingClaim, SpecExampleTwoPeers) {
  Ring r(Ipv4Range::of(*Cidr::parse("10.32.0.0/12")), kA);
  r.claim_for_peers({kA, kB});
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[0], E("10.32.0.0", kA, 0, 524288));
  EXPECT_EQ(r.entries()[1], E("10.40.0.0", kB, 0, 524288));
  EXPECT_EQ(r.seeds(), (std::vector<PeerName>{kA, kB}));
  expect_ok(r);
}

TEST(RingClaim, ThreePeersAreCidrAligned) {
  Ring r(kUniverse, kA);
  r.claim_for_peers({kA, kB, kC});
  // 256 -> [A: 128] [B: 64, C: 64]
  ASSERT_EQ(r.entries().size(), 3u);
  EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 0, 128));
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kB, 0, 64));
  EXPECT_EQ(r.entries()[2], E("10.0.0.192", kC, 0, 64));
  expect_ok(r);
}

TEST(RingClaim, OddSizesSkipTheMiddleAddress) {
  // [0, 5) for 2 peers: mid = 2, right half starts at mid + 1 (size % 2).
  Ring r(Ipv4Range(u("10.0.0.0"), u("10.0.0.5")), kA);
  r.claim_for_peers({kA, kB});
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 0, 2));
  EXPECT_EQ(r.entries()[1], E("10.0.0.3", kB, 0, 2));
  expect_ok(r);
}

TEST(RingClaim, MorePeersThanAddresses) {
  Ring r(Ipv4Range(u("10.0.0.0"), u("10.0.0.4")), kA);
  std::vector<PeerName> ps;
  for (std::uint64_t i = 1; i <= 6; ++i) ps.push_back(PeerName(i));
  r.claim_for_peers(ps);
  expect_ok(r);
  EXPECT_EQ(r.entries().size(), 4u);
}

// ---- invariants

TEST(RingInvariants, DetectsEveryViolation) {
  Ring r(kUniverse, kA);
  EXPECT_FALSE(
      r.restore(wire(kA, {E("10.0.0.9", kA, 0, 1), E("10.0.0.1", kA, 0, 1)})).ok());  // unsorted
  EXPECT_FALSE(
      r.restore(wire(kA, {E("10.0.0.1", kA, 0, 1), E("10.0.0.1", kB, 0, 1)})).ok());  // repeated
  EXPECT_FALSE(r.restore(wire(kA, {E("10.0.1.0", kA, 0, 1)})).ok());       // out of range
  EXPECT_FALSE(r.restore(wire(kA, {E("9.255.255.255", kA, 0, 1)})).ok());  // out of range
  EXPECT_FALSE(
      r.restore(wire(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 0, 129)})).ok());  // free
  EXPECT_TRUE(r.restore(wire(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 0, 128)})).ok());
  EXPECT_FALSE(r.restore(wire(kA, {}, {}, R("10.0.0.0", "10.0.2.0"))).ok());  // other range
}

// ---- merge

TEST(RingMerge, RejectsInvalidIncomingAndKeepsOurs) {
  auto r = make(kA, {E("10.0.0.0", kA, 1, 128), E("10.0.0.128", kB, 1, 128)});
  auto before = r.entries();
  EXPECT_FALSE(r.merge(wire(kB, {E("10.0.0.128", kB, 2, 1), E("10.0.0.0", kA, 1, 1)}), kNone).ok());
  EXPECT_FALSE(r.merge(wire(kB, {E("10.0.0.0", kA, 1, 1), E("10.0.0.0", kB, 2, 1)}), kNone).ok());
  EXPECT_FALSE(r.merge(wire(kB, {E("10.0.0.0", kB, 9, 257)}), kNone).ok());
  EXPECT_EQ(r.entries(), before);
}

TEST(RingMerge, DifferentSeedsOrRangeAreErrors) {
  auto r = make(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 0, 128)}, {kA, kB});
  EXPECT_FALSE(r.merge(wire(kB, {}, {kB, kA}), kNone).ok());  // order matters
  EXPECT_FALSE(r.merge(wire(kB, {}, {kA}), kNone).ok());
  EXPECT_FALSE(r.merge(wire(kB, {}, {kA, kB}, R("10.0.0.0", "10.0.2.0")), kNone).ok());
  auto same = r.merge(wire(kB, {}, {kA, kB}), kNone);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(*same);
  auto none = r.merge(wire(kB, {}, {}), kNone);  // no seeds on their side: fine
  ASSERT_TRUE(none.ok());
}

TEST(RingMerge, AdoptsSeedsAndEntriesIntoAnEmptyRing) {
  Ring r(kUniverse, kC);
  auto up =
      r.merge(wire(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 0, 128)}, {kA, kB}), kNone);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(*up);
  EXPECT_EQ(r.seeds(), (std::vector<PeerName>{kA, kB}));
  EXPECT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.owner(ip("10.0.0.200")), kB);
  expect_ok(r);
}

TEST(RingMerge, TokenOnlyOnOneSide) {
  // Ours has a token they lack; theirs has one we lack (in B's range, so no split of ours).
  auto r =
      make(kA, {E("10.0.0.0", kA, 0, 64), E("10.0.0.64", kA, 0, 64), E("10.0.0.128", kB, 0, 128)});
  auto up = r.merge(
      wire(kB, {E("10.0.0.0", kA, 0, 64), E("10.0.0.128", kB, 1, 64), E("10.0.0.192", kC, 0, 64)}),
      kNone);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_TRUE(*up);
  ASSERT_EQ(r.entries().size(), 4u);
  EXPECT_EQ(r.entries()[1], E("10.0.0.64", kA, 0, 64));
  EXPECT_EQ(r.entries()[2], E("10.0.0.128", kB, 1, 64));
  EXPECT_EQ(r.entries()[3], E("10.0.0.192", kC, 0, 64));
  expect_ok(r);
}

TEST(RingMerge, ForeignTokenSplittingOurRange) {
  auto base = std::vector<RingEntry>{E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 0, 128)};
  // B's view lacks our token (it never learnt of it); its own first token splits our range.
  auto incoming = wire(kB, {E("10.0.0.64", kB, 0, 64), E("10.0.0.128", kB, 0, 128)});
  {
    auto r = make(kA, base);
    std::vector<Ipv4Range> asked;
    auto res = r.merge(incoming, [&](const std::vector<Ipv4Range>& rs) {
      asked = rs;
      return true;
    });
    EXPECT_FALSE(res.ok());
    EXPECT_EQ(asked,
              (std::vector<Ipv4Range>{R("10.0.0.64", "10.0.0.128")}));  // [their token, our next)
    EXPECT_EQ(r.entries(), base);
  }
  {
    auto r = make(kA, base);
    auto res = r.merge(incoming, kNone);
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_TRUE(*res);
    // Our entry now covers 64 addresses: its free count is clamped.
    EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 0, 64));
    expect_ok(r);
  }
}

TEST(RingMerge, ForeignTokenAfterOurLastTokenIsAlwaysAnError) {
  auto r = make(kA, {E("10.0.0.0", kB, 0, 128), E("10.0.0.128", kA, 0, 128)});
  auto res = r.merge(wire(kB, {E("10.0.0.0", kB, 0, 128), E("10.0.0.128", kA, 0, 128),
                               E("10.0.0.200", kB, 0, 56)}),
                     kNone);
  EXPECT_FALSE(res.ok());
}

TEST(RingMerge, HigherVersionWinsForOthersEntries) {
  auto r = make(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 3, 128)});
  auto res = r.merge(wire(kB, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kC, 4, 10)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(*res);
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kC, 4, 10));
  // An older one is ignored.
  res = r.merge(wire(kB, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 3, 128)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(*res);
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kC, 4, 10));
}

TEST(RingMerge, EqualVersionSamePeerKeepsOursIgnoringFree) {
  auto r = make(kA, {E("10.0.0.0", kA, 2, 100), E("10.0.0.128", kB, 5, 50)});
  auto res = r.merge(wire(kB, {E("10.0.0.0", kA, 2, 7), E("10.0.0.128", kB, 5, 120)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(*res);
  EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 2, 100));
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kB, 5, 50));
}

TEST(RingMerge, EqualVersionDifferentPeer) {
  // Not ours: the one with more free space wins.
  auto r = make(kA, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 5, 50)});
  auto res = r.merge(wire(kB, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kC, 5, 60)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(*res);
  EXPECT_EQ(r.entries()[1].peer, kC);
  res = r.merge(wire(kB, {E("10.0.0.0", kA, 0, 128), E("10.0.0.128", kB, 5, 60)}),
                kNone);  // tie on free: ours
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(*res);
  EXPECT_EQ(r.entries()[1].peer, kC);
  // Ours with allocations: error; without: free decides.
  auto mine = make(kA, {E("10.0.0.0", kA, 3, 100), E("10.0.0.128", kB, 0, 128)});
  EXPECT_FALSE(
      mine.merge(wire(kB, {E("10.0.0.0", kB, 3, 120), E("10.0.0.128", kB, 0, 128)}), kAll).ok());
  res = mine.merge(wire(kB, {E("10.0.0.0", kB, 3, 90), E("10.0.0.128", kB, 0, 128)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(*res);
  EXPECT_EQ(mine.entries()[0].peer, kA);
  res = mine.merge(wire(kB, {E("10.0.0.0", kB, 3, 120), E("10.0.0.128", kB, 0, 128)}), kNone);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(*res);
  EXPECT_EQ(mine.entries()[0].peer, kB);
}

TEST(RingMerge, NewerVersionOfOurEntry) {
  auto base = std::vector<RingEntry>{E("10.0.0.0", kA, 4, 128), E("10.0.0.128", kB, 0, 128)};
  {
    // Moves to another peer, nothing allocated there: accepted (repair).
    auto r = make(kA, base);
    auto res = r.merge(wire(kB, {E("10.0.0.0", kB, 104, 128), E("10.0.0.128", kB, 0, 128)}), kNone);
    ASSERT_TRUE(res.ok());
    EXPECT_TRUE(*res);
    EXPECT_EQ(r.entries()[0], E("10.0.0.0", kB, 104, 128));
    EXPECT_TRUE(r.owned_ranges().empty());
  }
  {
    // ... but not while we have allocations there.
    auto r = make(kA, base);
    std::vector<Ipv4Range> asked;
    auto res = r.merge(wire(kB, {E("10.0.0.0", kB, 104, 128), E("10.0.0.128", kB, 0, 128)}),
                       [&](const std::vector<Ipv4Range>& rs) {
                         asked = rs;
                         return true;
                       });
    EXPECT_FALSE(res.ok());
    EXPECT_EQ(asked, (std::vector<Ipv4Range>{R("10.0.0.0", "10.0.0.128")}));
    EXPECT_EQ(r.entries(), base);
  }
  {
    // Still names us (e.g. our own state from before a restart): re-assert with theirs + 1.
    auto r = make(kA, base);
    auto res = r.merge(wire(kB, {E("10.0.0.0", kA, 9, 3), E("10.0.0.128", kB, 0, 128)}), kAll);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 10, 128));
  }
}

TEST(RingMerge, ConvergesWhicheverWayRound) {
  // A and B start from the same ring, each grants part of its range to C, then they exchange.
  Ring a(kUniverse, kA), b(kUniverse, kB);
  a.claim_for_peers({kA, kB});
  b.claim_for_peers({kA, kB});
  a.grant_range_to_host(R("10.0.0.64", "10.0.0.128"), kC);
  b.grant_range_to_host(R("10.0.0.128", "10.0.0.160"), kC);
  auto a2 = a, b2 = b;
  ASSERT_TRUE(a2.merge(b.to_wire(), kNone).ok());
  ASSERT_TRUE(b2.merge(a.to_wire(), kNone).ok());
  EXPECT_EQ(a2.entries(), b2.entries());
  Ring c(kUniverse, kC);
  ASSERT_TRUE(c.merge(a2.to_wire(), kNone).ok());
  EXPECT_EQ(c.entries(), a2.entries());
  // One range per entry, as Weave reports them.
  EXPECT_EQ(c.owned_ranges(),
            (std::vector<Ipv4Range>{R("10.0.0.64", "10.0.0.128"), R("10.0.0.128", "10.0.0.160")}));
  expect_ok(a2);
  expect_ok(b2);
}

// ---- grants, free, transfers

TEST(RingGrant, MiddleOfARangeInsertsTwoTokens) {
  Ring r(kUniverse, kA);
  r.claim_for_peers({kA, kB});
  r.grant_range_to_host(R("10.0.0.32", "10.0.0.64"), kC);
  ASSERT_EQ(r.entries().size(), 4u);
  EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 1, 32));
  EXPECT_EQ(r.entries()[1], E("10.0.0.32", kC, 0, 32));
  EXPECT_EQ(r.entries()[2], E("10.0.0.64", kA, 0, 64));
  EXPECT_EQ(r.entries()[3], E("10.0.0.128", kB, 0, 128));
  expect_ok(r);
}

TEST(RingGrant, AtAnExistingTokenAndUpToTheEnd) {
  Ring r(kUniverse, kB);
  r.claim_for_peers({kA, kB});
  r.grant_range_to_host(R("10.0.0.128", "10.0.1.0"), kC);  // B's whole range, up to End
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kC, 1, 128));
  EXPECT_TRUE(r.owned_ranges().empty());
  Ring s(kUniverse, kB);
  s.claim_for_peers({kA, kB});
  s.grant_range_to_host(R("10.0.0.192", "10.0.1.0"), kC);
  ASSERT_EQ(s.entries().size(), 3u);
  EXPECT_EQ(s.entries()[1], E("10.0.0.128", kB, 1, 64));
  EXPECT_EQ(s.entries()[2], E("10.0.0.192", kC, 0, 64));
  expect_ok(s);
}

TEST(RingGrant, AcrossSeveralOfOurEntries) {
  auto r =
      make(kA, {E("10.0.0.0", kA, 0, 64), E("10.0.0.64", kA, 0, 64), E("10.0.0.128", kB, 0, 128)});
  r.grant_range_to_host(R("10.0.0.32", "10.0.0.96"), kC);
  expect_ok(r);
  EXPECT_EQ(r.owner(ip("10.0.0.31")), kA);
  EXPECT_EQ(r.owner(ip("10.0.0.32")), kC);
  EXPECT_EQ(r.owner(ip("10.0.0.95")), kC);
  EXPECT_EQ(r.owner(ip("10.0.0.96")), kA);
  EXPECT_EQ(r.owned_ranges_of(kC),
            (std::vector<Ipv4Range>{R("10.0.0.32", "10.0.0.64"), R("10.0.0.64", "10.0.0.96")}));
}

TEST(RingReportFree, BumpsVersionOnlyOnChange) {
  Ring r(kUniverse, kA);
  r.claim_for_peers({kA, kB});
  EXPECT_FALSE(r.report_free({{u("10.0.0.0"), 128}}));
  EXPECT_TRUE(r.report_free({{u("10.0.0.0"), 120}}));
  EXPECT_EQ(r.entries()[0], E("10.0.0.0", kA, 1, 120));
}

TEST(RingReportFree, RangeWrappingPastTheEnd) {
  // No token at Start: A's last entry wraps; owned_ranges() reports it as two pieces.
  auto r = make(kA, {E("10.0.0.16", kB, 0, 112), E("10.0.0.128", kA, 0, 144)});
  EXPECT_EQ(r.owned_ranges(),
            (std::vector<Ipv4Range>{R("10.0.0.0", "10.0.0.16"), R("10.0.0.128", "10.0.1.0")}));
  EXPECT_EQ(r.owner(ip("10.0.0.3")), kA);
  EXPECT_TRUE(r.report_free({{u("10.0.0.0"), 10}, {u("10.0.0.128"), 100}}));
  EXPECT_EQ(r.entries()[1], E("10.0.0.128", kA, 1, 110));
  expect_ok(r);
}

TEST(RingTransfer, AddsOneHundredToVersions) {
  auto r =
      make(kA, {E("10.0.0.0", kA, 3, 64), E("10.0.0.64", kC, 7, 64), E("10.0.0.128", kC, 1, 128)});
  auto moved = r.transfer(kC, kA);
  EXPECT_EQ(moved,
            (std::vector<Ipv4Range>{R("10.0.0.64", "10.0.0.128"), R("10.0.0.128", "10.0.1.0")}));
  EXPECT_EQ(r.entries()[1], E("10.0.0.64", kA, 107, 64));
  EXPECT_EQ(r.entries()[2], E("10.0.0.128", kA, 101, 128));
  EXPECT_TRUE(r.transfer(kB, kA).empty());
  // Everyone else accepts the transfer: it is newer than anything C said.
  auto other =
      make(kB, {E("10.0.0.0", kA, 3, 64), E("10.0.0.64", kC, 9, 64), E("10.0.0.128", kC, 1, 128)});
  auto up = other.merge(r.to_wire(), kNone);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(other.entries(), r.entries());
}

TEST(RingQueries, ChoosePeersPickTransferRangeInfo) {
  auto r =
      make(kA, {E("10.0.0.0", kA, 0, 64), E("10.0.0.64", kB, 0, 0), E("10.0.0.128", kC, 0, 5)});
  SeededRandom rng(1);
  EXPECT_EQ(r.choose_peers_to_ask_for_space(kUniverse, rng),
            std::vector<PeerName>{kC});  // B has none free
  EXPECT_TRUE(r.choose_peers_to_ask_for_space(R("10.0.0.0", "10.0.0.64"), rng).empty());
  EXPECT_EQ(r.pick_peer_for_transfer([](PeerName) { return true; }), kB);
  EXPECT_EQ(r.pick_peer_for_transfer([](PeerName p) { return p == kC; }), kC);
  EXPECT_TRUE(r.pick_peer_for_transfer([](PeerName) { return false; }).is_unknown());
  auto info = r.all_range_info();
  ASSERT_EQ(info.size(), 3u);
  EXPECT_EQ(info[2], (RangeInfo{kC, R("10.0.0.128", "10.0.1.0"), 0}));
  EXPECT_EQ(r.owned_sizes().at(kB), 64u);
  EXPECT_EQ(r.peer_names(), (std::set<PeerName>{kA, kB, kC}));
}

TEST(RingQueries, WeightedChoiceFavoursMoreFreeSpace) {
  auto r =
      make(kA, {E("10.0.0.0", kA, 0, 64), E("10.0.0.64", kB, 0, 60), E("10.0.0.128", kC, 0, 2)});
  SeededRandom rng(7);
  int b_first = 0;
  for (int i = 0; i < 200; ++i)
    b_first += r.choose_peers_to_ask_for_space(kUniverse, rng).front() == kB;
  EXPECT_GT(b_first, 170);
}

}  // namespace
}  // namespace weft::ipam
