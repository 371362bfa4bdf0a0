// The allocator core: initialisation modes, allocation, donation, claims, free/delete, container
// lifecycle, rmpeer, reset, persistence, status, and hostile input. Runs on IpamNet.
#include "weft/ipam/allocator.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "ipam_net.hpp"
#include "weft/ipam/ipam_store.hpp"

namespace weft::ipam {
namespace {

using test::IpamNet;

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);
const PeerName kC(0xaabbccddee03u);
const Cidr kUniverse = *Cidr::parse("10.32.0.0/12");

Cidr C(const char* s) { return *Cidr::parse(s); }
Ipv4 ip(const char* s) { return *Ipv4::parse(s); }

IpamNet::Options seeded(std::vector<PeerName> seeds) {
  IpamNet::Options o;
  o.init.mode = IpallocInit::Mode::seed;
  o.init.seeds = std::move(seeds);
  return o;
}

IpamNet::Options consensus(std::uint32_t n) {
  IpamNet::Options o;
  o.init.consensus_peers = n;
  return o;
}

void expect_invariants(IpamNet& net) {
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (!net.alive(i)) continue;
    auto r = net.at(i).check_invariants();
    EXPECT_TRUE(r.ok()) << "node " << i << ": " << (r.ok() ? "" : r.error().message);
  }
  EXPECT_TRUE(net.errors.empty()) << (net.errors.empty() ? "" : net.errors.front().second);
}

std::optional<Cidr> addr_of(IpamNet& net, std::size_t i, RequestId id) {
  auto* c = net.completion(i, id);
  if (!c || !c->ok()) return std::nullopt;
  return c->address;
}

// ---- parsing helpers

TEST(IpamParse, IpallocInit) {
  EXPECT_EQ(IpallocInit::parse("").value().mode, IpallocInit::Mode::consensus);
  EXPECT_FALSE(IpallocInit::parse("consensus").value().consensus_peers.has_value());
  EXPECT_EQ(IpallocInit::parse("consensus=3").value().consensus_peers, 3u);
  EXPECT_FALSE(IpallocInit::parse("consensus=0").ok());
  EXPECT_FALSE(IpallocInit::parse("consensus=x").ok());
  EXPECT_EQ(IpallocInit::parse("observer").value().mode, IpallocInit::Mode::observer);
  auto s = IpallocInit::parse("seed=aa:bb:cc:dd:ee:02,aa:bb:cc:dd:ee:01");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->seeds, (std::vector<PeerName>{kB, kA}));
  EXPECT_FALSE(IpallocInit::parse("seed=nope").ok());
  EXPECT_FALSE(IpallocInit::parse("bogus").ok());
}

TEST(IpamParse, SubnetsWithWeaveMessages) {
  EXPECT_EQ(parse_cidr_subnet("10.40.128.0/17").value(), C("10.40.128.0/17"));
  EXPECT_EQ(parse_cidr_subnet("10.32.0.1/12").error().message,
            "invalid subnet - bits after network prefix are not all zero: 10.32.0.1/12");
  EXPECT_EQ(parse_cidr_subnet("10.32.0.0/31").error().message,
            "invalid subnet - smaller than minimum size 4: 10.32.0.0/31");
  EXPECT_FALSE(parse_cidr_subnet("x").ok());
  EXPECT_EQ(host_range(C("10.32.0.0/30")),
            Ipv4Range(ip("10.32.0.1").value(), ip("10.32.0.3").value()));
}

TEST(IpamParse, DefaultSubnet) {
  EXPECT_EQ(parse_default_subnet(kUniverse, "10.32.0.0/12").value(), kUniverse);
  EXPECT_EQ(parse_default_subnet(kUniverse, "10.33.0.5/16").value(), C("10.33.0.0/16"));
  EXPECT_EQ(parse_default_subnet(kUniverse, "10.0.0.0/8").error().message,
            "IP address allocation default subnet 10.0.0.0/8 must be within allocation range "
            "10.32.0.0/12");
  EXPECT_FALSE(parse_default_subnet(kUniverse, "10.32.0.0/31").ok());
  EXPECT_FALSE(parse_default_subnet(kUniverse, "bad").ok());
}

// ---- initialisation

TEST(Allocator, SeedCreatesTheRingAtOnceAndAllocatesLowestHostAddress) {
  IpamNet net(1, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kB, kA, kA}));
  EXPECT_FALSE(net.at(a).ring().empty());
  EXPECT_EQ(net.at(a).ring().seeds(), (std::vector<PeerName>{kA, kB}));  // sorted, de-duplicated
  auto r1 = net.allocate(a, "c1");
  EXPECT_EQ(addr_of(net, a, r1), C("10.32.0.1/12"));
  auto r2 = net.allocate(a, "c1");  // idempotent
  EXPECT_EQ(addr_of(net, a, r2), C("10.32.0.1/12"));
  auto r3 = net.allocate(a, "c2");
  EXPECT_EQ(addr_of(net, a, r3), C("10.32.0.2/12"));
  auto r4 = net.allocate(a, "_");  // anonymous: filed under the address
  EXPECT_EQ(addr_of(net, a, r4), C("10.32.0.3/12"));
  EXPECT_EQ(net.at(a).lookup("10.32.0.3", host_range(kUniverse)),
            std::vector<Cidr>{C("10.32.0.3/12")});
  EXPECT_EQ(net.at(a).status(kUniverse).state, IpamState::ready);
  expect_invariants(net);
}

TEST(Allocator, ConsensusOfOneIsImmediate) {
  IpamNet net(2, kUniverse);
  auto a = net.add(kA, "hostA", {});
  EXPECT_EQ(net.at(a).status(kUniverse).state, IpamState::idle);
  auto r = net.allocate(a, "c1");
  EXPECT_EQ(addr_of(net, a, r), C("10.32.0.1/12"));
  EXPECT_EQ(net.at(a).ring().seeds(), std::vector<PeerName>{kA});
}

TEST(Allocator, ConsensusBetweenTwoPeers) {
  IpamNet net(3, kUniverse);
  auto a = net.add(kA, "hostA", consensus(2));
  auto b = net.add(kB, "hostB", consensus(2));
  auto r = net.allocate(a, "c1");
  EXPECT_EQ(net.completion(a, r), nullptr);  // waits for consensus
  auto st = net.at(a).status(kUniverse);
  EXPECT_EQ(st.state, IpamState::awaiting_consensus);
  EXPECT_EQ(status_line(st), "awaiting consensus (quorum: 2, known: 1)");
  EXPECT_EQ(st.consensus_waiting_for, std::vector<PeerName>{kB});
  EXPECT_NE(format_status_ipam(st).find("Waiting for: aa:bb:cc:dd:ee:02"), std::string::npos);
  net.deliver();
  ASSERT_TRUE(addr_of(net, a, r).has_value());
  net.gossip_round();  // free counts reported since travel with the periodic gossip
  EXPECT_EQ(net.at(a).ring().entries(), net.at(b).ring().entries());
  EXPECT_EQ(net.at(a).ring().seeds(), (std::vector<PeerName>{kA, kB}));
  EXPECT_EQ(net.at(b).ring().owned_ranges(),
            (std::vector<Ipv4Range>{Ipv4Range::of(C("10.40.0.0/13"))}));
  expect_invariants(net);
}

TEST(Allocator, ConsensusWaitsForAMissingPeerAndSaysSo) {
  IpamNet net(4, kUniverse);
  auto a = net.add(kA, "hostA", consensus(3));
  net.add(kB, "hostB", consensus(3));
  net.set_group(1, 1);  // B unreachable
  auto r = net.allocate(a, "c1");
  net.advance(std::chrono::seconds(20));
  EXPECT_EQ(net.completion(a, r), nullptr);
  auto st = net.at(a).status(kUniverse);
  EXPECT_EQ(st.state, IpamState::awaiting_consensus);
  EXPECT_EQ(st.peers_missing, 1u);
  EXPECT_NE(format_status_ipam(st).find("Waiting for 1 more peer to connect"), std::string::npos);
  net.heal();
  net.advance(std::chrono::seconds(10));  // the 5 s proposal retry reaches B now
  EXPECT_TRUE(addr_of(net, a, r).has_value());
  expect_invariants(net);
}

TEST(Allocator, ObserverPrimesFromAnElectorsRing) {
  IpamNet net(5, kUniverse);
  auto a = net.add(kA, "hostA", {});
  IpamNet::Options obs;
  obs.init.mode = IpallocInit::Mode::observer;
  auto o = net.add(kB, "hostB", obs);
  auto p = net.prime(o);
  EXPECT_EQ(net.at(o).status(kUniverse).state, IpamState::priming);
  net.deliver();  // A has no ring: the observer's ask makes A start consensus (quorum 1)
  ASSERT_NE(net.completion(o, p), nullptr);
  EXPECT_FALSE(net.at(o).ring().empty());
  EXPECT_EQ(net.at(o).ring().seeds(), std::vector<PeerName>{kA});
  // An observer owns nothing, so it must ask for space.
  auto r = net.allocate(o, "c1");
  net.deliver();
  EXPECT_TRUE(addr_of(net, o, r).has_value());
  expect_invariants(net);
  (void)a;
}

// ---- donation

TEST(Allocator, DonationGivesTheUpperHalfOfTheBiggestAlignedBlock) {
  IpamNet net(6, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  // A asks for space in B's half.
  auto r = net.allocate(a, "c1", C("10.40.0.0/16"));
  EXPECT_EQ(net.completion(a, r), nullptr);
  net.deliver();
  EXPECT_EQ(addr_of(net, a, r),
            C("10.40.128.0/16"));  // B gave [10.40.128.0, 10.41.0.0), as in spec §10
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.128.0")), kA);
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.127.255")), kB);
  net.gossip_round();
  EXPECT_EQ(net.at(a).ring().entries(), net.at(b).ring().entries());
  expect_invariants(net);
}

// The donor's ring reaches its state file before the update that gives the range away leaves
// (dirty().before_sends), even when everything else waits for the group commit: killed right
// after, it restarts knowing the range is no longer its own (issue 17; the e2e 400 failure where
// two peers each said the other "says it owns the IP range ... which I think I own").
TEST(Allocator, ADonorPersistsItsRingBeforeTheUpdateLeaves) {
  IpamNet net(6, kUniverse);
  net.group_commit = true;
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  net.settle(a);
  net.settle(b);
  EXPECT_FALSE(net.at(b).dirty().any());
  net.allocate(a, "c1", C("10.40.0.0/16"));
  EXPECT_FALSE(net.at(a).dirty().before_sends);  // asking for space gives nothing away
  net.deliver();
  ASSERT_EQ(net.at(a).ring().owner(ip("10.40.128.0")), kA);  // the update arrived
  net.kill(b);                                               // before B's group commit
  net.restart(b);
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.128.0")), kA);
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.127.255")), kB);
  expect_invariants(net);
}

TEST(Allocator, RetriesALostSpaceRequestEveryFiveSeconds) {
  IpamNet net(7, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.add(kB, "hostB", seeded({kA, kB}));
  net.set_loss(1.0);
  auto r = net.allocate(a, "c1", C("10.40.0.0/16"));
  net.deliver();
  EXPECT_EQ(net.completion(a, r), nullptr);
  EXPECT_EQ(net.at(a).status(kUniverse).state, IpamState::waiting_for_ips);
  net.set_loss(0);
  net.advance(std::chrono::seconds(6));
  EXPECT_TRUE(addr_of(net, a, r).has_value());
}

// Issue 19: an allocation that found no reachable donor goes on as soon as a route appears,
// not at the next 5 s tick.
TEST(Allocator, AnAllocationWaitingForARouteGoesOnWhenRoutesChange) {
  IpamNet net(17, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  net.set_group(b, 1);  // B unreachable
  auto r = net.allocate(a, "c1", C("10.40.0.0/16"));
  net.deliver();
  EXPECT_EQ(net.completion(a, r), nullptr);
  // Routes changed but B is still unreachable: nothing to do (and no tick has run).
  net.call(a, [&](Allocator& al, mesh::GossipSender& s) { al.on_routes_changed(net.now(), s); });
  net.deliver();
  EXPECT_EQ(net.completion(a, r), nullptr);
  net.heal();
  net.call(a, [&](Allocator& al, mesh::GossipSender& s) { al.on_routes_changed(net.now(), s); });
  net.deliver();
  EXPECT_EQ(addr_of(net, a, r), C("10.40.128.0/16"));
  // A claim of an address whose owner is unreachable waits the same way, without its tries
  // being spent by route changes that do not reach the owner.
  net.set_group(b, 1);
  auto c = net.claim(a, "c2", C("10.40.0.9/12"));
  net.deliver();
  for (int i = 0; i < 10; ++i) {
    net.call(a, [&](Allocator& al, mesh::GossipSender& s) { al.on_routes_changed(net.now(), s); });
  }
  EXPECT_EQ(net.completion(a, c), nullptr);  // not failed as "owned by other peer"
  net.heal();
  net.call(a, [&](Allocator& al, mesh::GossipSender& s) { al.on_routes_changed(net.now(), s); });
  net.deliver();
  auto* done = net.completion(a, c);
  ASSERT_NE(done, nullptr);
  EXPECT_TRUE(done->ok()) << done->error->message;
  expect_invariants(net);
}

TEST(Allocator, ExhaustedAndEveryOwnerUnreachable) {
  IpamNet net(8, *Cidr::parse("10.0.0.0/29"));
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.add(kB, "hostB", seeded({kA, kB}));
  net.kill(1);
  // A owns 10.0.0.0/30: hosts .1 .2 of the /29's host range [.1, .7) within its own space.
  std::vector<RequestId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(net.allocate(a, "c" + std::to_string(i)));
  net.deliver();
  int done = 0;
  for (auto id : ids) done += net.completion(a, id) != nullptr;
  EXPECT_EQ(done, 3);  // .1 .2 .3 are A's (network address .0 is not a host)
  auto st = net.at(a).status(*Cidr::parse("10.0.0.0/29"));
  EXPECT_EQ(st.state, IpamState::waiting_for_ips);
  ASSERT_EQ(st.unreachable.size(), 1u);
  EXPECT_EQ(st.unreachable[0].reclaim_command, "weave rmpeer aa:bb:cc:dd:ee:02");
  auto page = format_status_ipam(st);
  EXPECT_NE(page.find("- unreachable!"), std::string::npos);
  EXPECT_NE(page.find("weave rmpeer aa:bb:cc:dd:ee:02"), std::string::npos);
  EXPECT_NE(page.find("10.0.0.4/30"), std::string::npos);
  // rmpeer makes B's space usable, and the waiting allocation completes.
  EXPECT_EQ(net.rmpeer(a, "hostB"), 4u);
  EXPECT_TRUE(net.completion(a, ids[3]) != nullptr);
  expect_invariants(net);
}

// ---- claims

TEST(Allocator, ClaimsOfOurOwnAddresses) {
  IpamNet net(9, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA}));
  auto ok = net.claim(a, "c1", C("10.32.5.5/12"));
  ASSERT_NE(net.completion(a, ok), nullptr);
  EXPECT_TRUE(net.completion(a, ok)->ok());
  EXPECT_TRUE(net.completion(a, net.claim(a, "c1", C("10.32.5.5/12")))->ok());  // again: fine
  auto clash = net.claim(a, "c2", C("10.32.5.5/12"));
  EXPECT_EQ(net.completion(a, clash)->error->message,
            "address 10.32.5.5/12 is already owned by c1");
  EXPECT_TRUE(
      net.completion(a, net.claim(a, "_", C("10.32.5.5/12")))->ok());  // anonymous: let it be
  net.claim(a, "_", C("10.32.6.6/12"));
  EXPECT_EQ(net.at(a).lookup("10.32.6.6", host_range(kUniverse)),
            std::vector<Cidr>{C("10.32.6.6/12")});
  auto used = net.claim(a, "c3", C("10.32.6.6/12"));
  EXPECT_EQ(net.completion(a, used)->error->message, "address 10.32.6.6/12 already in use");
  // Outside the range: recorded as given.
  EXPECT_TRUE(net.completion(a, net.claim(a, "c4", C("192.168.1.1/24")))->ok());
  EXPECT_EQ(net.at(a).lookup("c4", Ipv4Range::of(C("192.168.0.0/16"))),
            std::vector<Cidr>{C("192.168.1.1/24")});
  // Allocation skips claimed addresses.
  EXPECT_EQ(addr_of(net, a, net.allocate(a, "c5", C("10.32.5.4/30"))), C("10.32.5.6/30"));
  expect_invariants(net);
}

TEST(Allocator, ClaimOfAnAddressAnotherPeerOwns) {
  IpamNet net(10, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  // Free at B: B donates [ip, ip+1) and A claims it.
  auto r = net.claim(a, "c1", C("10.40.0.7/12"));
  EXPECT_EQ(net.completion(a, r), nullptr);
  net.deliver();
  ASSERT_NE(net.completion(a, r), nullptr);
  EXPECT_TRUE(net.completion(a, r)->ok());
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.0.7")), kA);
  EXPECT_EQ(net.at(b).ring().owner(ip("10.40.0.8")), kB);
  // In use at B: denied.
  auto rb = net.allocate(b, "cb", C("10.40.0.8/30"));
  ASSERT_EQ(addr_of(net, b, rb), C("10.40.0.9/30"));
  auto d = net.claim(a, "c2", C("10.40.0.9/12"));
  net.deliver();
  ASSERT_NE(net.completion(a, d), nullptr);
  EXPECT_EQ(net.completion(a, d)->error->message,
            "address 10.40.0.9/12 is owned by other peer aa:bb:cc:dd:ee:02 (hostB)");
  expect_invariants(net);
}

TEST(Allocator, ClaimWhileTheOwnerIsUnreachableFailsAfterFiveTries) {
  IpamNet net(11, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.add(kB, "hostB", seeded({kA, kB}));
  net.set_group(1, 1);
  auto r = net.claim(a, "c1", C("10.40.0.7/12"));
  auto quiet = net.claim(a, "c2", C("10.40.0.8/12"), /*no_error_on_unknown=*/true);
  ASSERT_NE(net.completion(a, quiet), nullptr);  // answered at once, keeps trying
  EXPECT_TRUE(net.completion(a, quiet)->ok());
  net.advance(std::chrono::seconds(15));
  EXPECT_EQ(net.completion(a, r), nullptr);
  net.advance(std::chrono::seconds(10));
  ASSERT_NE(net.completion(a, r), nullptr);
  EXPECT_EQ(net.completion(a, r)->error->message,
            "address 10.40.0.7/12 is owned by other peer aa:bb:cc:dd:ee:02 (hostB)");
  // The quiet one completes in the background once B is back.
  net.heal();
  net.advance(std::chrono::seconds(6));
  EXPECT_EQ(net.at(a).lookup("c2", host_range(kUniverse)), std::vector<Cidr>{C("10.40.0.8/12")});
  expect_invariants(net);
}

TEST(Allocator, ClaimBeforeTheRingExists) {
  IpamNet net(12, kUniverse);
  auto a = net.add(kA, "hostA", consensus(2));
  auto quiet = net.claim(a, "c1", C("10.32.0.9/12"), true);
  EXPECT_TRUE(net.completion(a, quiet)->ok());
  net.add(kB, "hostB", consensus(2));
  net.advance(std::chrono::seconds(6));
  EXPECT_FALSE(net.at(a).ring().empty());
  EXPECT_EQ(net.at(a).lookup("c1", host_range(kUniverse)), std::vector<Cidr>{C("10.32.0.9/12")});
  expect_invariants(net);
}

// ---- free, delete, lifecycle, cancel

TEST(Allocator, FreeAndDelete) {
  IpamNet net(13, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA}));
  net.allocate(a, "c1");
  net.allocate(a, "c1", C("10.33.0.0/16"));
  auto& al = net.at(a);
  EXPECT_EQ(al.free("c2", ip("10.32.0.1")).error().message,
            "Free: address 10.32.0.1 not found for c2");
  EXPECT_TRUE(al.free("c1", ip("10.32.0.1")).ok());
  EXPECT_EQ(al.space().num_owned(), 1u);
  EXPECT_TRUE(al.remove("c1").ok());
  EXPECT_EQ(al.remove("c1").error().message, "Delete: no addresses for c1");
  EXPECT_EQ(al.space().num_owned(), 0u);
  // Freed addresses are handed out again.
  EXPECT_EQ(addr_of(net, a, net.allocate(a, "c3")), C("10.32.0.1/12"));
  expect_invariants(net);
}

TEST(Allocator, ContainerDeathFreesAfterThirtySeconds) {
  IpamNet net(14, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA}));
  net.allocate(a, "c1");
  net.allocate(a, "c2");
  net.call(a, [&](Allocator& al, mesh::GossipSender&) {
    al.container_died(net.now(), "c1");
    al.container_died(net.now(), "c2");
    al.container_started("c2");  // restarted in time
  });
  net.advance(std::chrono::seconds(20));
  EXPECT_EQ(net.at(a).space().num_owned(), 2u);
  net.advance(std::chrono::seconds(20));
  EXPECT_EQ(net.at(a).space().num_owned(), 1u);
  EXPECT_TRUE(net.at(a).lookup("c1", host_range(kUniverse)).empty());
  net.call(a, [&](Allocator& al, mesh::GossipSender&) { al.container_destroyed("c2"); });
  EXPECT_EQ(net.at(a).space().num_owned(), 0u);
  net.allocate(a, "c3");
  net.call(a, [&](Allocator& al, mesh::GossipSender&) { al.prune_owned({"c9"}); });
  EXPECT_TRUE(net.at(a).owned().empty());
  expect_invariants(net);
}

TEST(Allocator, CancelAndShutdown) {
  IpamNet net(15, kUniverse);
  auto a = net.add(kA, "hostA", consensus(2));
  auto r = net.allocate(a, "c1");
  net.call(a, [&](Allocator& al, mesh::GossipSender&) { al.cancel(r); });
  ASSERT_NE(net.completion(a, r), nullptr);
  EXPECT_TRUE(net.completion(a, r)->cancelled);
  auto r2 = net.allocate(a, "c2");
  net.reset(a);
  EXPECT_TRUE(net.completion(a, r2)->cancelled);
  EXPECT_TRUE(net.completion(a, net.allocate(a, "c3"))->cancelled);
}

// ---- rmpeer and reset

TEST(Allocator, RmpeerTakesOverADeadPeersRanges) {
  IpamNet net(16, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB, kC}));
  auto b = net.add(kB, "hostB", seeded({kA, kB, kC}));
  auto c = net.add(kC, "hostC", seeded({kA, kB, kC}));
  net.gossip_round();
  net.kill(c);
  EXPECT_EQ(net.rmpeer(a, "nobody"), 0u);
  EXPECT_EQ(net.rmpeer(a, "hostA"), 0u);
  auto n = net.rmpeer(a, "hostC");
  EXPECT_EQ(n, 262144u);
  EXPECT_EQ(format_takeover(n, "hostC"), "262144 IPs taken over from hostC\n");
  net.deliver();
  EXPECT_EQ(net.at(b).ring().owner(ip("10.44.0.1")), kA);
  for (auto& e : net.at(b).ring().entries()) {
    if (e.token == ip("10.44.0.0")) {
      EXPECT_GE(e.version, 100u);
    }
  }
  EXPECT_EQ(net.rmpeer(b, "aa:bb:cc:dd:ee:03"), 0u);  // already taken over: nothing left
  expect_invariants(net);
}

TEST(Allocator, ResetHandsOurRangesToAnHeir) {
  IpamNet net(17, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  net.allocate(a, "c1");
  net.reset(a);
  net.deliver();
  EXPECT_TRUE(net.at(b).ring().owned_ranges_of(kA).empty());
  EXPECT_EQ(net.at(b).ring().owned_sizes().at(kB), kUniverse.size());
  EXPECT_TRUE(net.errors.empty());
  (void)b;
}

// ---- persistence

TEST(Allocator, RestartKeepsTheRingAndEveryAddress) {
  IpamNet net(18, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.add(kB, "hostB", seeded({kA, kB}));
  auto r1 = addr_of(net, a, net.allocate(a, "c1"));
  auto id2 = net.allocate(a, "c2", C("10.40.0.0/16"));
  net.deliver();
  auto r2 = addr_of(net, a, id2);
  ASSERT_TRUE(r2.has_value());
  net.restart(a);
  EXPECT_TRUE(net.at(a).restored());
  EXPECT_EQ(net.at(a).lookup("c1", host_range(kUniverse)), std::vector<Cidr>{*r1});
  auto again = addr_of(net, a, net.allocate(a, "c2", C("10.40.0.0/16")));
  EXPECT_EQ(again, r2);
  EXPECT_NE(addr_of(net, a, net.allocate(a, "c3")), r1);
  expect_invariants(net);
}

struct NoMesh final : MeshView {
  bool is_known(PeerName) const override { return false; }
  bool has_route(PeerName) const override { return false; }
  std::vector<PeerName> peers() const override { return {}; }
  std::size_t direct_peer_count() const override { return 0; }
};
struct NullSender final : mesh::GossipSender {
  void unicast(PeerName, Bytes) override {}
  void broadcast(Bytes) override {}
  void gossip(Bytes) override {}
};

TEST(Allocator, PersistedStateOfAnotherPeerOrRangeIsIgnored) {
  IpamNet net(19, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA}));
  net.allocate(a, "c1");
  PersistedState p;
  p.peer_name = kB;  // someone else's file
  p.ring = decode_ring(net.disk[kA]["ring"]).value();
  p.owned = decode_owned(net.disk[kA]["ownedAddresses"]).value();
  NoMesh mesh;
  SeededRandom rng(1);
  AllocatorConfig cfg;
  cfg.self = kA;
  cfg.universe = kUniverse;
  cfg.persisted = p;
  auto other = Allocator::create(cfg, mesh, rng, null_logger());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->restored());
  EXPECT_TRUE((*other)->dirty().ring &&
              (*other)->dirty().owned);  // overwritten on the next persist
  cfg.persisted->peer_name = kA;
  cfg.universe = C("10.0.0.0/8");
  auto wider = Allocator::create(cfg, mesh, rng, null_logger());
  ASSERT_TRUE(wider.ok());
  EXPECT_FALSE((*wider)->restored());
  // A persisted ring that breaks the invariants is an error, not a reset.
  cfg.universe = kUniverse;
  cfg.persisted->ring->entries.push_back(cfg.persisted->ring->entries.front());
  auto broken = Allocator::create(cfg, mesh, rng, null_logger());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("weave reset"), std::string::npos);
}

TEST(Allocator, AddressesHeldInSpaceWeGainStayTaken) {
  // Restored records may name an address in another peer's range; if that range comes to us
  // (rmpeer), the address must not be handed out again.
  NoMesh mesh;
  NullSender out;
  SeededRandom rng(3);
  AllocatorConfig cfg;
  cfg.self = kA;
  cfg.nickname = "hostA";
  cfg.universe = kUniverse;
  Ring ring(Ipv4Range::of(kUniverse), kA);
  ring.claim_for_peers({kA, kB});
  cfg.persisted =
      PersistedState{kA, ring.to_wire(), OwnedMap{{"c9", OwnedData{true, {C("10.40.0.1/12")}}}}};
  auto al = Allocator::create(cfg, mesh, rng, null_logger()).value();
  al->start(TimePoint{}, out);
  ASSERT_TRUE(al->restored());
  EXPECT_TRUE(al->check_invariants().ok());
  EXPECT_EQ(al->admin_takeover(TimePoint{}, "aa:bb:cc:dd:ee:02", out), 524288u);
  EXPECT_TRUE(al->space().is_allocated(ip("10.40.0.1")));
  al->allocate(TimePoint{}, "c10", C("10.40.0.0/30"), true, out);
  auto done = al->take_completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].address, C("10.40.0.2/30"));
  EXPECT_TRUE(al->check_invariants().ok());
}

TEST(IpamStore, RoundTripThroughTheStateFileAndCorruption) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("ipam-store-{}", ::getpid());
  std::filesystem::create_directories(dir);
  auto path = (dir / "weavedata.db").string();
  std::filesystem::remove(path);
  NoMesh mesh;
  NullSender out;
  SeededRandom rng(1);
  AllocatorConfig cfg;
  cfg.self = kA;
  cfg.universe = kUniverse;
  cfg.init = IpallocInit::parse("seed=aa:bb:cc:dd:ee:01").value();
  auto al = Allocator::create(cfg, mesh, rng, null_logger()).value();
  al->start(TimePoint{}, out);
  al->allocate(TimePoint{}, "c1", kUniverse, true, out);
  {
    auto kv = router::KvStore::open(path);
    ASSERT_TRUE(kv.ok());
    EXPECT_TRUE(al->dirty().ring && al->dirty().owned);
    ASSERT_TRUE(persist_to(*al, *kv).ok());
    EXPECT_FALSE(al->dirty().any());
  }
  auto kv = router::KvStore::open(path);
  ASSERT_TRUE(kv.ok());
  auto loaded = load_from(*kv);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->peer_name, kA);
  EXPECT_EQ(loaded->ring->entries, al->ring().entries());
  EXPECT_EQ(loaded->owned, al->owned());
  // Restart from the file: same addresses.
  cfg.persisted = *loaded;
  auto again = Allocator::create(cfg, mesh, rng, null_logger()).value();
  EXPECT_TRUE(again->restored());
  EXPECT_EQ(again->lookup("c1", host_range(kUniverse)), std::vector<Cidr>{C("10.32.0.1/12")});
  ASSERT_TRUE(kv->put("ownedAddresses", Bytes{1, 2, 3}).ok());
  auto bad = load_from(*kv);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
  EXPECT_NE(bad.error().message.find("'ownedAddresses' is corrupt"), std::string::npos);
  ASSERT_TRUE(erase_ipam_state(*kv).ok());
  auto empty = load_from(*kv);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->ring.has_value());
  std::filesystem::remove_all(dir);
}

// ---- status page

TEST(IpamStatusPage, WeaveLayout) {
  IpamNet net(21, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.add(kB, "hostB", seeded({kA, kB}));
  for (int i = 0; i < 4; ++i) net.allocate(a, "c" + std::to_string(i));
  auto st = net.at(a).status(kUniverse);
  EXPECT_EQ(status_line(st), "ready");
  EXPECT_EQ(format_status_ipam(st),
            "aa:bb:cc:dd:ee:01(hostA)                524288 IPs (50.0% of total) (4 active)\n"
            "aa:bb:cc:dd:ee:02(hostB)                524288 IPs (50.0% of total) \n");
  EXPECT_EQ(st.range_num_ips, 1048576u);
  EXPECT_EQ(st.active_ips, 4u);
  ASSERT_EQ(st.entries.size(), 2u);
  EXPECT_EQ(st.entries[1].nickname, "hostB");
  EXPECT_TRUE(st.entries[1].is_known_peer);
  net.kill(1);
  st = net.at(a).status(kUniverse);
  auto page = format_status_ipam(st);
  EXPECT_NE(
      page.find(
          "aa:bb:cc:dd:ee:02(hostB)                524288 IPs (50.0% of total) - unreachable!\n"),
      std::string::npos);
  EXPECT_NE(page.find("weave rmpeer aa:bb:cc:dd:ee:02"), std::string::npos);
  EXPECT_NE(page.find("10.40.0.0/13"), std::string::npos);
  EXPECT_EQ(format_status_ipam(IpamStatus{}), "Status: idle\n");
}

// ---- hostile input

TEST(AllocatorHostile, BadUnicastsAndGossipAreErrorsAndLeaveStateIntact) {
  IpamNet net(22, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  net.allocate(a, "c1");
  auto before = net.at(a).ring().entries();
  net.call(a, [&](Allocator& al, mesh::GossipSender& s) {
    EXPECT_FALSE(al.on_unicast(net.now(), kB, Bytes{}, s).ok());
    EXPECT_FALSE(al.on_unicast(net.now(), kB, Bytes{9, 1, 2}, s).ok());
    EXPECT_FALSE(al.on_gossip(net.now(), kB, Bytes{0xff, 0x00}, s).ok());
    EXPECT_FALSE(al.on_broadcast(net.now(), kB, Bytes{}, s).ok());
    // A SpaceRequest for nonsense ranges is simply denied.
    EXPECT_TRUE(al.on_unicast(net.now(), kB, encode_space_request(Ipv4Range(5, 1)), s).ok());
    EXPECT_TRUE(
        al.on_unicast(net.now(), kB, encode_space_request(Ipv4Range(0, 0xffffffff)), s).ok());
    before = al.ring().entries();
    // Different seeds / range close the connection with Weave's messages.
    GossipState st;
    st.ring = WireRing{Ipv4Range::of(kUniverse), kB, {{ip("10.32.0.0"), kB, 0, 1048576}}, {kB}};
    auto r = al.on_broadcast(net.now(), kB, encode_gossip_state(st), s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind("IP allocation was seeded by different peers", 0), 0u)
        << r.error().message;
    st.ring->seeds.clear();
    st.ring->range = Ipv4Range::of(C("10.0.0.0/8"));
    st.ring->entries = {{ip("10.0.0.0"), kB, 0, 1}};
    r = al.on_broadcast(net.now(), kB, encode_gossip_state(st), s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "Incompatible IP allocation ranges (received: 10.0.0.0/8, ours: 10.32.0.0/12)");
    // Someone claiming the range where our allocation is.
    st.ring->range = Ipv4Range::of(kUniverse);
    st.ring->entries = {{ip("10.32.0.0"), kB, 50, 1}};
    EXPECT_FALSE(al.on_gossip(net.now(), kB, encode_gossip_state(st), s).ok());
  });
  EXPECT_EQ(net.at(a).ring().entries(), before);
  EXPECT_TRUE(net.at(a).check_invariants().ok());
  EXPECT_EQ(net.at(a).lookup("c1", host_range(kUniverse)).size(), 1u);
}

TEST(AllocatorGossip, TagFourIsNeverRelayedBroadcastRelaysOurState) {
  IpamNet net(23, kUniverse);
  auto a = net.add(kA, "hostA", seeded({kA, kB}));
  auto b = net.add(kB, "hostB", seeded({kA, kB}));
  auto state_b = net.at(b).full_state(net.now());
  ASSERT_EQ(state_b.size(), 1u);
  net.call(a, [&](Allocator& al, mesh::GossipSender& s) {
    auto g = al.on_gossip(net.now(), kB, state_b[0], s);
    ASSERT_TRUE(g.ok());
    EXPECT_FALSE(g->has_value());
    auto br = al.on_broadcast(net.now(), kB, state_b[0], s);
    ASSERT_TRUE(br.ok());
    ASSERT_TRUE(br->has_value());
    auto relayed = decode_gossip_state(**br);
    ASSERT_TRUE(relayed.ok());
    EXPECT_EQ(relayed->ring->peer, kA);  // our state, not the bytes received
    EXPECT_EQ(relayed->nicknames.at(kB), "hostB");
  });
}

}  // namespace
}  // namespace weft::ipam
