// Paxos (quorum rules, competing proposers, observers) and Space (allocation order, claims,
// donation sizes, range updates).
#include <gtest/gtest.h>

#include "weft/ipam/paxos.hpp"
#include "weft/ipam/space.hpp"

namespace weft::ipam {
namespace {

NodeId node(std::uint64_t n) { return NodeId{PeerName(n), 1000 + n}; }

/// Gossips every elector's state to every other until nothing changes.
void gossip_all(std::vector<Paxos>& ps, const std::vector<bool>& up) {
  for (int round = 0; round < 50; ++round) {
    bool changed = false;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      if (!up[i]) continue;
      auto st = ps[i].gossip_state();
      if (!st) continue;
      for (std::size_t j = 0; j < ps.size(); ++j) {
        if (j == i || !up[j]) continue;
        if (ps[j].update(*st)) {
          ps[j].think();
          changed = true;
        }
      }
    }
    if (!changed) return;
  }
}

TEST(Paxos, QuorumOfOneDecidesAtOnce) {
  auto p = Paxos::elector(node(1), 1);
  p.propose();
  auto c = p.consensus();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->value, std::vector<PeerName>{PeerName(1)});
  EXPECT_EQ(c->origin, (ProposalId{1, node(1)}));
}

TEST(Paxos, RoundIsOneMoreThanAnySeen) {
  auto p = Paxos::elector(node(1), 3);
  PaxosState other{{node(2), NodeClaims{ProposalId{7, node(2)}, {}, {}}}};
  EXPECT_TRUE(p.update(other));
  EXPECT_FALSE(p.update(other));  // nothing new
  p.propose();
  EXPECT_EQ(p.knows().at(node(1)).promise, (ProposalId{8, node(1)}));
}

TEST(Paxos, ThreeElectorsAgreeOnOneValue) {
  std::vector<Paxos> ps{Paxos::elector(node(1), 2), Paxos::elector(node(2), 2),
                        Paxos::elector(node(3), 2)};
  std::vector<bool> up{true, true, true};
  ps[0].propose();
  ps[2].propose();  // competing proposal, higher proposer name wins the tie on round
  gossip_all(ps, up);
  auto c0 = ps[0].consensus(), c1 = ps[1].consensus(), c2 = ps[2].consensus();
  ASSERT_TRUE(c0 && c1 && c2);
  EXPECT_EQ(c0->origin, c1->origin);
  EXPECT_EQ(c1->origin, c2->origin);
  EXPECT_EQ(normalize_peers(c0->value), normalize_peers(c2->value));
}

TEST(Paxos, MinorityCannotDecide) {
  std::vector<Paxos> ps{Paxos::elector(node(1), 3), Paxos::elector(node(2), 3),
                        Paxos::elector(node(3), 3), Paxos::elector(node(4), 3),
                        Paxos::elector(node(5), 3)};
  std::vector<bool> up{true, true, false, false, false};
  ps[0].propose();
  gossip_all(ps, up);
  EXPECT_FALSE(ps[0].consensus());
  EXPECT_FALSE(ps[1].consensus());
  up = {true, true, true, true, true};
  ps[0].propose();
  gossip_all(ps, up);
  auto c = ps[4].consensus();
  ASSERT_TRUE(c);
  EXPECT_GE(c->value.size(), 3u);
  for (auto& p : ps) EXPECT_EQ(p.consensus()->origin, c->origin);
}

TEST(Paxos, ObserverNeitherVotesNorGossipsClaims) {
  auto o = Paxos::observer();
  EXPECT_FALSE(o.is_elector());
  EXPECT_FALSE(o.gossip_state().has_value());
  EXPECT_FALSE(o.update(PaxosState{{node(1), NodeClaims{ProposalId{1, node(1)}, {}, {}}}}));
  o.propose();
  EXPECT_FALSE(o.think());
  EXPECT_FALSE(o.consensus());
  auto e = Paxos::elector(node(2));
  ASSERT_TRUE(e.gossip_state().has_value());
  EXPECT_TRUE(e.gossip_state()->empty());  // present and empty before any claim
}

TEST(Paxos, NormalizeSortsAndDeduplicates) {
  EXPECT_EQ(normalize_peers({PeerName(3), PeerName(1), PeerName(3), PeerName(2)}),
            (std::vector<PeerName>{PeerName(1), PeerName(2), PeerName(3)}));
}

// ---- Space

std::uint64_t u(const char* s) { return Ipv4::parse(s)->value(); }
Ipv4Range R(const char* a, const char* b) { return Ipv4Range(u(a), u(b)); }
Ipv4 ip(const char* s) { return *Ipv4::parse(s); }

TEST(Space, AllocatesLowestFreeInRange) {
  Space s;
  s.add(R("10.0.0.0", "10.0.1.0"));
  EXPECT_EQ(s.allocate(R("10.0.0.1", "10.0.0.255")), ip("10.0.0.1"));
  EXPECT_EQ(s.allocate(R("10.0.0.1", "10.0.0.255")), ip("10.0.0.2"));
  EXPECT_TRUE(s.claim(ip("10.0.0.3")).ok());
  EXPECT_FALSE(s.claim(ip("10.0.0.3")).ok());
  EXPECT_FALSE(s.claim(ip("10.0.2.3")).ok());
  EXPECT_EQ(s.allocate(R("10.0.0.1", "10.0.0.255")), ip("10.0.0.4"));
  EXPECT_EQ(s.num_owned(), 4u);
  EXPECT_EQ(s.num_free(), 252u);
  EXPECT_TRUE(s.free(ip("10.0.0.2")).ok());
  EXPECT_FALSE(s.free(ip("10.0.0.2")).ok());
  EXPECT_EQ(s.allocate(R("10.0.0.1", "10.0.0.255")), ip("10.0.0.2"));
  EXPECT_FALSE(s.allocate(R("10.0.5.0", "10.0.6.0")).has_value());
  EXPECT_TRUE(s.has_allocations({R("10.0.0.4", "10.0.0.5")}));
  EXPECT_FALSE(s.has_allocations({R("10.0.0.5", "10.0.1.0")}));
  EXPECT_EQ(s.owned_ranges(), std::vector<Ipv4Range>{R("10.0.0.0", "10.0.1.0")});
  EXPECT_TRUE(s.check_invariants().ok());
}

TEST(Space, BiggestCidrRange) {
  EXPECT_EQ(biggest_cidr_range(R("10.0.0.0", "10.0.1.0")), R("10.0.0.0", "10.0.1.0"));
  EXPECT_EQ(biggest_cidr_range(R("10.0.0.1", "10.0.0.9")), R("10.0.0.4", "10.0.0.8"));
  EXPECT_EQ(biggest_cidr_range(R("10.0.0.2", "10.0.0.14")), R("10.0.0.4", "10.0.0.8"));
  EXPECT_EQ(biggest_cidr_range(R("10.0.0.6", "10.0.0.18")), R("10.0.0.8", "10.0.0.16"));
  EXPECT_EQ(biggest_cidr_range(R("10.0.0.7", "10.0.0.8")), R("10.0.0.7", "10.0.0.8"));
  // Property: aligned, inside, and no aligned block twice as big fits.
  for (std::uint64_t s = 0; s < 40; ++s) {
    for (std::uint64_t e = s + 1; e < 80; ++e) {
      auto b = biggest_cidr_range(Ipv4Range(s, e));
      ASSERT_GE(b.start(), s);
      ASSERT_LE(b.end(), e);
      ASSERT_EQ(b.start() % b.size(), 0u);
      auto twice = b.size() * 2;
      auto first = (s + twice - 1) / twice * twice;
      ASSERT_GT(first + twice, e) << s << " " << e;
    }
  }
}

TEST(Space, DonatesUpperHalfWhenTheBlockIsMostOfOurSpace) {
  Space s;
  s.add(R("10.0.0.0", "10.0.1.0"));
  EXPECT_EQ(s.donate(R("10.0.0.0", "10.0.1.0")), R("10.0.0.128", "10.0.1.0"));
  EXPECT_EQ(s.num_free(), 128u);
  // A block no bigger than half of what is free there is given whole.
  Space t;
  t.add(R("10.0.0.0", "10.0.0.64"));
  t.add(R("10.0.0.128", "10.0.0.160"));
  EXPECT_EQ(t.donate(R("10.0.0.0", "10.0.1.0")), R("10.0.0.32", "10.0.0.64"));
  // One address: given whole (size/2 rounds down).
  Space one;
  one.add(R("10.0.0.5", "10.0.0.6"));
  EXPECT_EQ(one.donate(R("10.0.0.5", "10.0.0.6")), R("10.0.0.5", "10.0.0.6"));
  EXPECT_EQ(one.num_free(), 0u);
  // Nothing free there.
  Space full;
  full.add(R("10.0.0.0", "10.0.0.2"));
  (void)full.claim(ip("10.0.0.0"));
  (void)full.claim(ip("10.0.0.1"));
  EXPECT_FALSE(full.donate(R("10.0.0.0", "10.0.0.2")).has_value());
  EXPECT_FALSE(full.donate(R("10.0.0.9", "10.0.0.1")).has_value());  // empty request
}

TEST(Space, UpdateRangesAddsAndDrops) {
  Space s;
  s.add(R("10.0.0.0", "10.0.0.16"));
  (void)s.claim(ip("10.0.0.3"));
  auto dropped = s.update_ranges({R("10.0.0.0", "10.0.0.8"), R("10.0.0.32", "10.0.0.40")});
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(s.owned_ranges(),
            (std::vector<Ipv4Range>{R("10.0.0.0", "10.0.0.8"), R("10.0.0.32", "10.0.0.40")}));
  EXPECT_TRUE(s.is_allocated(ip("10.0.0.3")));
  dropped = s.update_ranges({R("10.0.0.32", "10.0.0.40")});
  EXPECT_EQ(dropped, std::vector<Ipv4>{ip("10.0.0.3")});
  EXPECT_EQ(s.num_owned(), 0u);
  EXPECT_TRUE(s.check_invariants().ok());
}

}  // namespace
}  // namespace weft::ipam
