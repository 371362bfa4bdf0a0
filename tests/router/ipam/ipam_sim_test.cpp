// Simulation (label sim): 20+ allocators over IpamNet with random allocations, frees, deletes,
// joins, crashes, restarts from the state file, partitions, heals and rmpeer. After every step:
// no address is held by two idents anywhere, every allocator's invariants hold, and no gossip was
// rejected. At the end, once healed: every ring is identical and every allocation still waiting
// has been served.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "ipam_net.hpp"

namespace weft::ipam {
namespace {

using test::IpamNet;

class Sim {
 public:
  Sim(std::uint64_t seed, Cidr universe, std::size_t initial)
      : net_(seed, universe), rng_(seed * 7919 + 1), universe_(universe) {
    for (std::size_t i = 0; i < initial; ++i) add_node(initial - 1);
    net_.set_loss(0.02);  // connections that die with messages in flight
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      action(step);
      net_.deliver();
      check(step);
      if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) return;
    }
    finish();
  }

  std::size_t nodes() const { return net_.size(); }
  std::uint64_t messages() const { return net_.messages_delivered; }
  int allocations_done() const { return allocations_done_; }
  int rmpeers() const { return rmpeers_; }
  int partitions() const { return partitions_; }

 private:
  struct Pending {
    RequestId id;
    std::string ident;
  };

  void add_node(std::size_t direct) {
    auto i = net_.size();
    IpamNet::Options o;
    o.direct_peers = direct;
    net_.add(PeerName(0x0a0000000000ull + i + 1), fmt::format("host{}", i), o);
  }

  std::vector<std::size_t> alive() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < net_.size(); ++i) {
      if (net_.alive(i)) out.push_back(i);
    }
    return out;
  }

  std::size_t pick(const std::vector<std::size_t>& v) { return v[rng_.uniform(v.size())]; }

  std::size_t live_allocations() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i) && reclaimed_.count(i)) continue;
      for (auto& [ident, d] : const_cast<IpamNet&>(net_).at(i).owned()) n += d.cidrs.size();
    }
    return n;
  }

  void action(int step) {
    auto live = alive();
    auto roll = rng_.uniform(100);
    if (roll < 38) {
      // Allocate, bounded so the universe never runs dry for good.
      if (live_allocations() + pending_total() >= universe_.size() / 2) return advance();
      auto i = pick(live);
      auto ident = fmt::format("c{}-{}", i, ++counter_);
      pending_[i].push_back(Pending{net_.allocate(i, ident), ident});
    } else if (roll < 48) {
      auto i = pick(live);
      auto& owned = net_.at(i).owned();
      if (owned.empty()) return;
      auto it = owned.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng_.uniform(owned.size())));
      auto ident = it->first;
      auto addr = it->second.cidrs.front().addr();
      auto r = net_.call(i, [&](Allocator& a, mesh::GossipSender&) { return a.free(ident, addr); });
      EXPECT_TRUE(r.ok()) << r.error().message;
    } else if (roll < 52) {
      auto i = pick(live);
      auto& owned = net_.at(i).owned();
      if (owned.empty()) return;
      auto ident = owned.begin()->first;
      auto r = net_.call(i, [&](Allocator& a, mesh::GossipSender&) { return a.remove(ident); });
      EXPECT_TRUE(r.ok());
    } else if (roll < 75) {
      advance();
    } else if (roll < 79) {
      if (partitioned_ || live.size() < 4) return advance();
      // Split the live peers in two random, non-empty groups.
      for (auto i : live) net_.set_group(i, rng_.uniform(2) ? 1 : 0);
      net_.set_group(live[0], 0);
      net_.set_group(live[1], 1);
      partitioned_ = true;
      ++partitions_;
    } else if (roll < 85) {
      if (!partitioned_) return advance();
      net_.heal();
      partitioned_ = false;
    } else if (roll < 89) {
      if (net_.size() >= max_nodes_) return advance();
      add_node(live.size());
    } else if (roll < 92) {
      if (live.size() <= 12) return advance();
      auto i = pick(live);
      net_.kill(i);
      pending_.erase(i);
      dead_.insert(i);
    } else if (roll < 95) {
      if (dead_.empty() || partitioned_) return advance();
      reclaim_one();
    } else {
      auto i = pick(live);
      net_.restart(i);
      pending_.erase(i);  // those HTTP requests died with the process
    }
    (void)step;
  }

  void advance() { net_.advance(std::chrono::seconds(1 + rng_.uniform(12))); }

  std::size_t pending_total() const {
    std::size_t n = 0;
    for (auto& [i, ps] : pending_) n += ps.size();
    return n;
  }

  /// rmpeer is only safe once everyone has seen the dead peer's last word: heal, converge, then
  /// one live peer takes over.
  void reclaim_one() {
    converge();
    auto d = *dead_.begin();
    auto who = pick(alive());
    auto n = net_.rmpeer(who, net_.nickname(d));
    dead_.erase(d);
    reclaimed_.insert(d);
    ++rmpeers_;
    (void)n;
  }

  void converge() {
    net_.heal();
    net_.set_loss(0);
    partitioned_ = false;
    for (int round = 0; round < 40; ++round) {
      net_.advance(std::chrono::seconds(30));
      if (rings_equal()) {
        net_.set_loss(0.02);
        return;
      }
    }
    ADD_FAILURE() << "rings did not converge";
  }

  bool rings_equal() {
    auto live = alive();
    for (auto i : live) {
      if (net_.at(i).ring().entries() != net_.at(live[0]).ring().entries()) return false;
    }
    return true;
  }

  void check(int step) {
    for (auto& [node, msg] : net_.errors)
      ADD_FAILURE() << "step " << step << ": node " << node << " rejected gossip: " << msg;
    net_.errors.clear();
    std::map<std::uint32_t, std::string> holder;
    for (std::size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i) && reclaimed_.count(i)) continue;  // its containers died with it
      auto& a = net_.at(i);
      if (net_.alive(i)) {
        auto r = a.check_invariants();
        EXPECT_TRUE(r.ok()) << "step " << step << ": node " << i << ": "
                            << (r.ok() ? "" : r.error().message);
      }
      for (auto& [ident, d] : a.owned()) {
        for (auto& c : d.cidrs) {
          auto who = fmt::format("{}@node{}", ident, i);
          auto [it, fresh] = holder.emplace(c.addr().value(), who);
          EXPECT_TRUE(fresh) << "step " << step << ": " << c.addr().str() << " held by "
                             << it->second << " and " << who;
        }
      }
    }
    // Answers that arrived must be addresses the node now records for that ident (unless freed).
    for (auto& [i, ps] : pending_) {
      for (auto it = ps.begin(); it != ps.end();) {
        auto* c = net_.completion(i, it->id);
        if (!c) {
          ++it;
          continue;
        }
        EXPECT_TRUE(c->ok()) << (c->error ? c->error->message : "cancelled");
        if (c->address) {
          EXPECT_TRUE(universe_.contains(c->address->addr()));
          ++allocations_done_;
        }
        it = ps.erase(it);
      }
    }
  }

  void finish() {
    while (!dead_.empty()) reclaim_one();
    converge();
    net_.advance(std::chrono::seconds(60));
    converge();
    check(-1);
    EXPECT_EQ(pending_total(), 0u) << "allocations still waiting after heal";
    auto live = alive();
    // Every live peer agrees on the ring, and each one's allocations lie in its own ranges.
    for (auto i : live) {
      auto& ring = net_.at(i).ring();
      for (auto& [ident, d] : net_.at(i).owned()) {
        for (auto& c : d.cidrs) {
          if (ring.contains(c.addr())) {
            EXPECT_EQ(ring.owner(c.addr()), net_.name(i)) << c.addr().str();
          }
        }
      }
    }
    // The whole universe is accounted for by live peers.
    std::uint64_t total = 0;
    for (auto& [p, n] : net_.at(live[0]).ring().owned_sizes()) {
      bool is_live = false;
      for (auto i : live) is_live |= net_.name(i) == p;
      EXPECT_TRUE(is_live) << p.str() << " owns " << n << " addresses but is gone";
      total += n;
    }
    EXPECT_EQ(total, universe_.size());
  }

  IpamNet net_;
  SeededRandom rng_;
  Cidr universe_;
  std::size_t max_nodes_ = 28;
  std::map<std::size_t, std::vector<Pending>> pending_;
  std::set<std::size_t> dead_, reclaimed_;
  bool partitioned_ = false;
  int counter_ = 0;
  int allocations_done_ = 0;
  int rmpeers_ = 0;
  int partitions_ = 0;
};

class IpamSim : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(IpamSim, NoDuplicateAddressesAndConvergence) {
  Sim sim(GetParam(), *Cidr::parse(GetParam() % 2 ? "10.32.0.0/22" : "10.32.0.0/24"), 20);
  sim.run(400);
  RecordProperty("nodes", static_cast<int>(sim.nodes()));
  std::printf(
      "seed %llu: %zu nodes, %d allocations served, %d partitions, %d rmpeers, %llu messages\n",
      static_cast<unsigned long long>(GetParam()), sim.nodes(), sim.allocations_done(),
      sim.partitions(), sim.rmpeers(), static_cast<unsigned long long>(sim.messages()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, IpamSim, ::testing::Range<std::uint64_t>(1, 7));

}  // namespace
}  // namespace weft::ipam
