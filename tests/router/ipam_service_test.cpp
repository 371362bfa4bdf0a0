// The IPAM shell of weaver with two real MeshNodes on 127.0.0.1 (issue 19): a request that waits
// for a donation is answered when the donation arrives over gossip, not at the allocator's next
// 5 s tick.
#include "ipam_service.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>

namespace weft::weaver {
namespace {

namespace fs = std::filesystem;

struct Peer {
  std::unique_ptr<mesh_net::MeshNode> mesh;
  std::optional<router::KvStore> store;
  std::unique_ptr<IpamService> ipam;
  http::Router api;
};

class IpamServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  SeededRandom rng{19};
  fs::path dir = fs::temp_directory_path() / fmt::format("weft-ipam-svc-{}", ::getpid());
  std::deque<Peer> peers;

  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override {
    for (auto& p : peers) {
      p.ipam->stop();
      p.mesh->stop();
    }
    io.run_for(std::chrono::milliseconds(50));
    fs::remove_all(dir);
  }

  Peer& add(std::uint64_t name, const std::string& seed) {
    mesh_net::NodeConfig cfg;
    cfg.self = mesh::PeerIdentity{PeerName(name), fmt::format("n{}", name & 0xff), name * 1000 + 1,
                                  ShortID::from_uint(name & 0xfff)};
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.discovery = false;
    Peer& p = peers.emplace_back();
    p.mesh = std::make_unique<mesh_net::MeshNode>(io, cfg, rng, null_logger());
    EXPECT_TRUE(p.mesh->listen().ok());
    auto store = router::KvStore::open((dir / fmt::format("{:x}.db", name)).string());
    EXPECT_TRUE(store.ok());
    p.store.emplace(std::move(*store));
    auto flags = parse_config({"--ipalloc-range", "10.32.0.0/12", "--ipalloc-init", "seed=" + seed});
    EXPECT_TRUE(flags.ok());
    p.ipam = std::make_unique<IpamService>(io, *p.mesh, *p.store, rng, null_logger());
    auto r = p.ipam->start(flags->ipam, cfg.self);
    EXPECT_TRUE(r.ok()) << r.error().message;
    p.ipam->add_routes(p.api);
    p.mesh->start();
    return p;
  }

  template <typename F>
  bool run_until(F done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      io.run_for(std::chrono::milliseconds(5));
      if (done()) return true;
    }
    return false;
  }
};

TEST_F(IpamServiceTest, ADonationArrivingOverGossipIsAnsweredAtOnce) {
  auto& a = add(0xaabbccddee01, "aa:bb:cc:dd:ee:01");
  auto& b = add(0xaabbccddee02, "aa:bb:cc:dd:ee:01");  // A owns the whole range
  b.mesh->connect({fmt::format("127.0.0.1:{}", a.mesh->bound_port())}, false);
  ASSERT_TRUE(run_until([&] { return !b.ipam->status().entries.empty(); })) << "B never learned A's ring";
  // Start right after one of B's ticks, so the next is seconds away.
  ASSERT_TRUE(run_until([&] { return b.ipam->next_tick() - Clock::now() > std::chrono::seconds(4); }));
  const auto tick = b.ipam->next_tick();
  auto req = http::make_request("POST", "/ip/c1", {}, "");
  ASSERT_TRUE(req.ok());
  auto res = b.api.dispatch(*req);
  ASSERT_TRUE(res.deferred);
  std::optional<http::HttpResponse> answer;
  res.deferred->bind([&](http::HttpResponse r) { answer = std::move(r); });
  // B owns nothing: it asks A, A donates, and the ring update that reaches B completes it.
  bool answered = run_until([&] { return answer.has_value() || Clock::now() >= tick; }, std::chrono::seconds(10)) &&
                  answer.has_value();
  ASSERT_TRUE(answered) << "answered only at the allocator's tick";
  EXPECT_LT(Clock::now(), tick);
  EXPECT_EQ(answer->status, 200);
  auto addr = Cidr::parse(answer->body);
  ASSERT_TRUE(addr) << answer->body;
  EXPECT_EQ(addr->prefix(), 12);
  // Persisted before it was answered.
  auto on_disk = router::KvStore::open(b.store->path());
  ASSERT_TRUE(on_disk.ok());
  EXPECT_TRUE(on_disk->get("ownedAddresses").has_value());
}

}  // namespace
}  // namespace weft::weaver
