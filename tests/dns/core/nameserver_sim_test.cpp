// The nameserver channel over real MeshCores (MeshSim): entries registered on some peers reach
// every peer through the periodic full gossip and its relays, tombstones win everywhere, lossy
// links still converge, and a peer whose clock is more than 900 s off gets its connections closed.
#include <gtest/gtest.h>

#include <set>

#include "mesh_sim.hpp"
#include "weft/dns/nameserver.hpp"

namespace weft::dns {
namespace {

using test::MeshSim;

PeerName P(std::size_t i) { return PeerName(0x020000000000ull + 0x100 * i + 1); }

struct Cluster {
  explicit Cluster(std::uint64_t seed, std::size_t n, std::vector<std::int64_t> skew = {}) : sim(seed) {
    skew.resize(n, 0);
    for (std::size_t i = 0; i < n; ++i) sim.add_node(P(i), "n" + std::to_string(i));
    for (std::size_t i = 0; i < n; ++i) {
      NameserverConfig c;
      c.self = P(i);
      auto* core = &sim.core(i);
      c.is_known_peer = [core](PeerName p) { return core->topology().find(p) != nullptr; };
      const auto offset = skew[i];
      c.wall_clock = [offset](TimePoint t) {
        return 1'700'000'000 + offset + std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
      };
      ns.push_back(std::make_unique<Nameserver>(std::move(c)));
      sim.core(i).add_channel(std::string(kChannelName), *ns.back());
    }
  }
  void ring() {
    for (std::size_t i = 0; i < ns.size(); ++i) sim.connect(i, (i + 1) % ns.size());
  }
  bool converged() const {
    for (auto& n : ns) {
      if (n->entries() != ns[0]->entries()) return false;
    }
    return true;
  }
  MeshSim sim;
  std::vector<std::unique_ptr<Nameserver>> ns;
};

TEST(NameserverSim, EntriesAndTombstonesReachEveryPeer) {
  Cluster c(1, 6);
  c.ring();
  c.sim.connect(0, 3);
  c.sim.run(std::chrono::seconds(5));
  auto now = c.sim.now();
  for (std::size_t i = 0; i < 6; ++i) {
    c.ns[i]->add_entry_fqdn(now, fmt::format("host{}.weave.local", i), fmt::format("c{}", i),
                            Ipv4(0x0a200000 + static_cast<std::uint32_t>(i)), nullptr);
  }
  c.ns[1]->add_entry_fqdn(now, "Shared.weave.local", "s1", Ipv4(0x0a2000aa), nullptr);
  c.ns[4]->add_entry_fqdn(now, "shared.weave.local", "s4", Ipv4(0x0a2000bb), nullptr);
  c.ns[2]->add_entry_fqdn(now, "gone.weave.local", "g2", Ipv4(0x0a2000cc), nullptr);
  c.ns[2]->container_died(now, "g2", nullptr);
  c.sim.run(std::chrono::seconds(70));  // two gossip intervals
  ASSERT_TRUE(c.converged());
  for (auto& n : c.ns) {
    ASSERT_TRUE(n->check_invariants().ok());
    auto shared = n->lookup("SHARED.weave.local.");
    std::set<Ipv4> got(shared.begin(), shared.end());
    EXPECT_EQ(got, (std::set<Ipv4>{Ipv4(0x0a2000aa), Ipv4(0x0a2000bb)}));
    EXPECT_TRUE(n->lookup("gone.weave.local.").empty());
    EXPECT_EQ(n->reverse_lookup(Ipv4(0x0a200005)), std::optional<std::string>("host5.weave.local."));
    EXPECT_EQ(n->live_count(), 8u);
  }
}

TEST(NameserverSim, LossyLinksConverge) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    Cluster c(seed, 5);
    c.ring();
    c.sim.run(std::chrono::seconds(5));
    c.sim.set_loss(0.3);
    for (int round = 0; round < 5; ++round) {
      auto now = c.sim.now();
      for (std::size_t i = 0; i < 5; ++i) {
        c.ns[i]->add_entry_fqdn(now, fmt::format("r{}.weave.local", round), fmt::format("c{}", i),
                                Ipv4(static_cast<std::uint32_t>(i)), nullptr);
        if (round > 0 && (i + round) % 2 == 0) c.ns[i]->container_died(now, fmt::format("c{}", i), nullptr);
      }
      c.sim.run(std::chrono::seconds(20));
    }
    c.sim.set_loss(0);
    c.sim.run(std::chrono::seconds(100));
    EXPECT_TRUE(c.converged()) << "seed " << seed;
  }
}

TEST(NameserverSim, ClockSkewClosesTheConnection) {
  Cluster c(7, 3, {0, 0, 1000});
  c.ring();
  c.sim.run(std::chrono::seconds(40));
  bool skew_close = false;
  for (auto& [node, reason] : c.sim.closes) skew_close |= reason.find("clock skew") != std::string::npos;
  EXPECT_TRUE(skew_close);
}

}  // namespace
}  // namespace weft::dns
