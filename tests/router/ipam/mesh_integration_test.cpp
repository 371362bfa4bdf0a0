// The allocator as a real MeshCore channel: three cores in a line (A - B - C) from MeshSim, with
// IPAM gossip, relayed broadcasts and relayed unicasts going through the mesh's own envelopes
// and relay rules; the MeshView is MeshCoreView over the same cores.
#include <gtest/gtest.h>

#include <deque>

#include "mesh_sim.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/ipam/mesh_view.hpp"

namespace weft::ipam {
namespace {

const Cidr kUniverse = *Cidr::parse("10.32.0.0/12");

class MeshIpam : public ::testing::Test {
 protected:
  std::size_t index_of(PeerName p) {
    for (std::size_t k = 0; k < 3; ++k) {
      if (sim_.core(k).self_name() == p) return k;
    }
    ADD_FAILURE() << "unknown peer";
    return 0;
  }

  /// Delivers what an allocator call sent, and everything that causes, through the cores.
  void pump(std::size_t from, mesh::Effects& fx) {
    std::deque<std::pair<std::size_t, mesh::OutMessage>> q;
    for (auto& s : fx.sends) q.emplace_back(from, std::move(s));
    EXPECT_TRUE(fx.closes.empty());
    for (int budget = 0; !q.empty() && budget < 100000; ++budget) {
      auto [i, m] = std::move(q.front());
      q.pop_front();
      auto to = index_of(sim_.core(i).connections().at(m.conn).info.remote.name);
      mesh::ConnId back = 0;
      for (auto& [id, c] : sim_.core(to).connections()) {
        if (c.info.remote.name == sim_.core(i).self_name()) back = id;
      }
      ASSERT_NE(back, 0u);
      mesh::Effects out;
      sim_.core(to).on_message(sim_.now(), back, mesh::ProtocolMessage{m.tag, std::move(m.payload)},
                               out);
      for (auto& [id, why] : out.closes)
        ADD_FAILURE() << "node " << to << " closed a connection: " << why;
      for (auto& s : out.sends) q.emplace_back(to, std::move(s));
    }
    EXPECT_TRUE(q.empty());
  }

  template <typename F>
  auto with_sender(std::size_t i, F&& f) {
    mesh::Effects fx;
    auto s = sim_.core(i).sender(std::string(kChannelName), sim_.now(), fx);
    if constexpr (std::is_void_v<decltype(f(*allocs_[i], *s))>) {
      f(*allocs_[i], *s);
      pump(i, fx);
    } else {
      auto r = f(*allocs_[i], *s);
      pump(i, fx);
      return r;
    }
  }

  std::optional<Completion> result(std::size_t i, RequestId id) {
    for (auto& c : allocs_[i]->take_completions()) done_[i][c.id] = c;
    auto it = done_[i].find(id);
    if (it == done_[i].end()) return std::nullopt;
    return it->second;
  }

  void SetUp() override {
    for (std::uint64_t i = 0; i < 3; ++i) {
      sim_.add_node(PeerName(0xaabbccddee01u + i), fmt::format("host{}", char('A' + i)));
    }
    for (std::size_t i = 0; i < 3; ++i) {
      views_.push_back(std::make_unique<MeshCoreView>(sim_.core(i), [] { return std::size_t{2}; }));
      rngs_.push_back(std::make_unique<SeededRandom>(i + 1));
      AllocatorConfig cfg;
      cfg.self = sim_.core(i).self_name();
      cfg.uid = sim_.core(i).topology().self().uid;
      cfg.nickname = sim_.core(i).topology().self().nickname;
      cfg.universe = kUniverse;
      auto a = Allocator::create(cfg, *views_[i], *rngs_[i], null_logger());
      ASSERT_TRUE(a.ok());
      allocs_.push_back(std::move(a).value());
      sim_.core(i).add_channel(std::string(kChannelName), *allocs_[i]);
      with_sender(i, [&](Allocator& al, mesh::GossipSender& s) { al.start(sim_.now(), s); });
    }
    ASSERT_TRUE(sim_.connect(0, 1));
    ASSERT_TRUE(sim_.connect(1, 2));
    sim_.run(std::chrono::seconds(3));
  }

  test::MeshSim sim_{42};
  std::vector<std::unique_ptr<MeshCoreView>> views_;
  std::vector<std::unique_ptr<SeededRandom>> rngs_;
  std::vector<std::unique_ptr<Allocator>> allocs_;
  std::map<std::size_t, std::map<RequestId, Completion>> done_;
};

TEST_F(MeshIpam, ViewOverTheCore) {
  EXPECT_TRUE(views_[0]->is_known(sim_.core(2).self_name()));
  EXPECT_TRUE(views_[0]->has_route(sim_.core(2).self_name()));  // via B
  EXPECT_FALSE(views_[0]->has_route(PeerName(0x123)));
  EXPECT_EQ(views_[0]->peers().size(), 2u);
  EXPECT_EQ(views_[0]->direct_peer_count(), 2u);
}

TEST_F(MeshIpam, ConsensusDonationAndConvergenceAcrossARelay) {
  // Quorum (2+1)/2+1 = 2: A's proposal reaches C through B's relays.
  auto r = with_sender(0, [&](Allocator& a, mesh::GossipSender& s) {
    return a.allocate(sim_.now(), "c1", kUniverse, true, s);
  });
  auto got = result(0, r);
  ASSERT_TRUE(got && got->ok());
  for (auto& a : allocs_) EXPECT_FALSE(a->ring().empty());
  // C asks for space in A's part of the ring: SpaceRequest and RingUpdate are relayed by B.
  auto a_range = allocs_[0]->ring().owned_ranges().front();
  Cidr in_a(Ipv4(static_cast<std::uint32_t>(a_range.start())), 16);
  auto rc = with_sender(2, [&](Allocator& a, mesh::GossipSender& s) {
    return a.allocate(sim_.now(), "c2", in_a, true, s);
  });
  auto gotc = result(2, rc);
  ASSERT_TRUE(gotc && gotc->ok()) << "C got no donation";
  EXPECT_EQ(allocs_[0]->ring().owner(gotc->address->addr()), sim_.core(2).self_name());
  // Periodic gossip brings every ring to the same state.
  sim_.run(std::chrono::seconds(95));
  EXPECT_EQ(allocs_[0]->ring().entries(), allocs_[1]->ring().entries());
  EXPECT_EQ(allocs_[1]->ring().entries(), allocs_[2]->ring().entries());
  for (auto& a : allocs_) EXPECT_TRUE(a->check_invariants().ok());
  EXPECT_TRUE(sim_.closes.empty());
}

}  // namespace
}  // namespace weft::ipam
