// weave-kube's peer list and reclaim state machine (kube spec §3.6, §3.7) against the spec's
// annotation shapes, with an in-memory ConfigMap store that enforces resourceVersions (409) and
// several reclaimers racing.
#include <gtest/gtest.h>

#include <map>

#include "weft/kube/peers.hpp"

namespace weft::kube {
namespace {

TEST(KubePeers, AnnotationShapesAsWeaveWroteThem) {
  auto l = parse_peer_list(R"({"Peers":[{"PeerName":"ce:31:e0:06:45:1a","NodeName":"node-1"},{"PeerName":"aa:bb:cc:dd:ee:ff","NodeName":"node-2"}]})");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->peers.size(), 2u);
  EXPECT_EQ(l->peers[0], (PeerInfo{"ce:31:e0:06:45:1a", "node-1"}));
  EXPECT_EQ(encode_peer_list(*l),
            R"({"Peers":[{"PeerName":"ce:31:e0:06:45:1a","NodeName":"node-1"},{"PeerName":"aa:bb:cc:dd:ee:ff","NodeName":"node-2"}]})");
  auto null = parse_peer_list(R"({"Peers":null})");
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null->null);
  EXPECT_EQ(encode_peer_list(*null), R"({"Peers":null})");
  auto empty = parse_peer_list(R"({"Peers":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(encode_peer_list(*empty), R"({"Peers":[]})");
  EXPECT_TRUE(parse_peer_list("").ok());
  EXPECT_FALSE(parse_peer_list("{").ok());
  EXPECT_FALSE(parse_peer_list(R"({"Peers":{}})").ok());
  EXPECT_EQ(lock_key("ce:31:e0:06:45:1a"), "kube-peers.weave.works/ce_31_e0_06_45_1a");
}

TEST(KubePeers, PeerAddressesFromNodes) {
  auto list = Json::parse(R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[
    {"metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"Hostname","address":"n1"}]}},
    {"metadata":{"name":"n2"},"status":{"addresses":[{"type":"InternalIP","address":"fd00::2"},{"type":"InternalIP","address":"10.0.0.2"},{"type":"InternalIP","address":"10.0.0.22"}]}},
    {"metadata":{"name":"n3"},"status":{"addresses":[{"type":"ExternalIP","address":"203.0.113.3"}]}},
    {"metadata":{"name":"n4"},"status":{}},
    {"metadata":{"name":"n5"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.5"},{"type":"ExternalIP","address":"203.0.113.5"}]}}]})");
  auto nodes = node_addresses(list);
  ASSERT_EQ(nodes.size(), 5u);
  EXPECT_EQ(nodes[1].internal_ip, "10.0.0.22");  // the last IPv4 InternalIP
  EXPECT_EQ(peer_addresses(nodes, {"10.0.0.1", "127.0.0.1"}),
            (std::vector<std::string>{"10.0.0.22", "203.0.113.3", "10.0.0.5"}));
}

/// The API server's side: one ConfigMap with a resourceVersion; PUTs with a stale one get 409.
class FakeStore final : public PeerStore {
 public:
  Json cm;
  int rv = 0;
  std::set<std::string> nodes;
  int gets = 0, puts = 0;
  std::function<void()> before_put;  ///< runs once before the next PUT (a racing writer)

  ApiResult<Json> get_or_create() override {
    ++gets;
    if (cm.is_null()) {
      cm = {{"kind", "ConfigMap"}, {"apiVersion", "v1"},
            {"metadata", {{"name", "weave-net"}, {"namespace", "kube-system"}, {"resourceVersion", std::to_string(++rv)}}}};
    }
    return cm;
  }
  ApiResult<Json> update(const Json& next) override {
    if (before_put) {
      auto f = std::move(before_put);
      before_put = nullptr;
      f();
    }
    ++puts;
    if (next["metadata"]["resourceVersion"] != cm["metadata"]["resourceVersion"]) {
      return ApiError{ErrorKind::conflict, 409, "Conflict", "the object has been modified"};
    }
    cm = next;
    cm["metadata"]["resourceVersion"] = std::to_string(++rv);
    return cm;
  }
  ApiResult<std::set<std::string>> node_names() override { return nodes; }
  std::string annotation(const std::string& k) const {
    auto& a = cm["metadata"]["annotations"];
    return a.contains(k) ? a[k].get<std::string>() : "";
  }
  bool has(const std::string& k) const { return cm["metadata"].contains("annotations") && cm["metadata"]["annotations"].contains(k); }
};

class FakeRouter final : public RouterPeers {
 public:
  std::vector<std::string> removed;
  Result<std::string> rmpeer(const std::string& p) override {
    removed.push_back(p);
    return std::string("65536 IPs taken over from " + p + "\n");
  }
};

struct Harness {
  FakeStore store;
  FakeRouter router;
  std::vector<std::chrono::milliseconds> sleeps;
  Reclaimer make(const std::string& me, const std::string& node, FakeRouter* r = nullptr) {
    return Reclaimer(store, r ? *r : router, me, node, null_logger(),
                     [this](std::chrono::milliseconds d) { sleeps.push_back(d); }, [] { return 0.5; });
  }
};

TEST(KubeReclaim, NodesJoinInOrder) {
  Harness h;
  for (auto [peer, node] : {std::pair{"aa:00:00:00:00:01", "node-1"}, {"aa:00:00:00:00:02", "node-2"}, {"aa:00:00:00:00:03", "node-3"}}) {
    auto r = h.make(peer, node);
    ASSERT_TRUE(r.add_self().ok());
    ASSERT_TRUE(r.add_self().ok());  // idempotent: no second entry, no PUT
  }
  EXPECT_EQ(h.store.annotation(kPeersAnnotation),
            R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"aa:00:00:00:00:02","NodeName":"node-2"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})");
  EXPECT_EQ(h.store.puts, 3);
  auto listed = h.make("aa:00:00:00:00:09", "node-9").listed();
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(*listed);
}

TEST(KubeReclaim, DeletedNodeIsReclaimedOnceAndItsLockRemoved) {
  Harness h;
  h.store.cm = {{"metadata", {{"name", "weave-net"}, {"namespace", "kube-system"}, {"resourceVersion", "1"},
      {"annotations", {{kPeersAnnotation, R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"aa:00:00:00:00:02","NodeName":"node-2"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})"}}}}}};
  h.store.rv = 1;
  h.store.nodes = {"node-2", "node-3"};  // node-1 was deleted; node-3 is the local node (absent in Weave's set too)
  auto r = h.make("aa:00:00:00:00:03", "node-3");
  auto removed = r.reclaim_removed_peers();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, std::vector<std::string>{"aa:00:00:00:00:01"});
  EXPECT_EQ(h.router.removed, std::vector<std::string>{"aa:00:00:00:00:01"});
  EXPECT_EQ(h.store.annotation(kPeersAnnotation),
            R"({"Peers":[{"PeerName":"aa:00:00:00:00:02","NodeName":"node-2"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})");
  EXPECT_FALSE(h.store.has(lock_key("aa:00:00:00:00:01")));
  // A second node running reclaim now finds nothing.
  FakeRouter other;
  auto again = h.make("aa:00:00:00:00:02", "node-2", &other).reclaim_removed_peers();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_TRUE(other.removed.empty());
}

TEST(KubeReclaim, LockHeldByALivePeerIsRespected) {
  Harness h;
  h.store.cm = {{"metadata", {{"name", "weave-net"}, {"resourceVersion", "1"},
      {"annotations", {{kPeersAnnotation, R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"aa:00:00:00:00:02","NodeName":"node-2"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})"},
                       {"kube-peers.weave.works/aa_00_00_00_00_01", "aa:00:00:00:00:02"}}}}}};
  h.store.rv = 1;
  h.store.nodes = {"node-2", "node-3"};
  auto removed = h.make("aa:00:00:00:00:03", "node-3").reclaim_removed_peers();
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
  EXPECT_TRUE(h.router.removed.empty());  // node-2 owns the lock: no second rmpeer
  EXPECT_EQ(lock_state(h.store.cm, *peer_list_of(h.store.cm), "aa:00:00:00:00:01", "aa:00:00:00:00:03"), LockState::other);
  // The owner resumes its own lock (a restarted pod finds its value).
  auto owner = h.make("aa:00:00:00:00:02", "node-2").reclaim_removed_peers();
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(*owner, std::vector<std::string>{"aa:00:00:00:00:01"});
  EXPECT_EQ(h.router.removed, std::vector<std::string>{"aa:00:00:00:00:01"});
}

TEST(KubeReclaim, OrphanedLockIsTakenOver) {
  Harness h;
  // The lock's owner (…:09) is no longer in the list: it vanished mid-reclaim.
  h.store.cm = {{"metadata", {{"name", "weave-net"}, {"resourceVersion", "1"},
      {"annotations", {{kPeersAnnotation, R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})"},
                       {"kube-peers.weave.works/aa_00_00_00_00_01", "aa:00:00:00:00:09"},
                       {"unrelated", "aa:00:00:00:00:01"}}}}}};
  h.store.rv = 1;
  h.store.nodes = {"node-3"};
  auto removed = h.make("aa:00:00:00:00:03", "node-3").reclaim_removed_peers();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, std::vector<std::string>{"aa:00:00:00:00:01"});
  EXPECT_FALSE(h.store.has("unrelated"));  // every annotation whose value is the peer goes
  EXPECT_EQ(h.store.annotation(kPeersAnnotation), R"({"Peers":[{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})");
}

TEST(KubeReclaim, ConflictsAreRetriedAfterTwoToFourSeconds) {
  Harness h;
  auto r = h.make("aa:00:00:00:00:01", "node-1");
  ASSERT_TRUE(r.add_self().ok());
  // Another node appends itself between our read and our PUT.
  h.store.before_put = [&] {
    auto other = h.make("aa:00:00:00:00:02", "node-2");
    ASSERT_TRUE(other.add_self().ok());
  };
  auto r3 = h.make("aa:00:00:00:00:03", "node-3");
  ASSERT_TRUE(r3.add_self().ok());
  EXPECT_EQ(r3.conflicts(), 1u);
  ASSERT_EQ(h.sleeps.size(), 1u);
  EXPECT_EQ(h.sleeps[0], std::chrono::milliseconds(3000));  // 2 s × (1 + 0.5)
  auto l = peer_list_of(h.store.cm);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->peers.size(), 3u);  // nobody's entry was lost
}

TEST(KubeReclaim, TwoReclaimersRaceForOneLock) {
  Harness h;
  h.store.cm = {{"metadata", {{"name", "weave-net"}, {"resourceVersion", "1"},
      {"annotations", {{kPeersAnnotation, R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"aa:00:00:00:00:02","NodeName":"node-2"},{"PeerName":"aa:00:00:00:00:03","NodeName":"node-3"}]})"}}}}}};
  h.store.rv = 1;
  h.store.nodes = {"node-2", "node-3"};
  FakeRouter r2, r3;
  // node-2 takes the lock just before node-3's lock PUT lands: node-3 gets 409 and skips.
  h.store.before_put = [&] {
    Json locked = h.store.cm;
    locked["metadata"]["annotations"][lock_key("aa:00:00:00:00:01")] = "aa:00:00:00:00:02";
    ASSERT_TRUE(h.store.update(locked).ok());
  };
  auto got3 = h.make("aa:00:00:00:00:03", "node-3", &r3).reclaim_removed_peers();
  ASSERT_TRUE(got3.ok());
  EXPECT_TRUE(got3->empty());
  EXPECT_TRUE(r3.removed.empty());
  auto got2 = h.make("aa:00:00:00:00:02", "node-2", &r2).reclaim_removed_peers();
  ASSERT_TRUE(got2.ok());
  EXPECT_EQ(r2.removed, std::vector<std::string>{"aa:00:00:00:00:01"});
}

TEST(KubeReclaim, OldIncarnationOfMyNodeIsReclaimed) {
  Harness h;
  h.store.cm = {{"metadata", {{"name", "weave-net"}, {"resourceVersion", "1"},
      {"annotations", {{kPeersAnnotation, R"({"Peers":[{"PeerName":"aa:00:00:00:00:01","NodeName":"node-1"},{"PeerName":"bb:00:00:00:00:01","NodeName":"node-1"}]})"}}}}}};
  h.store.rv = 1;
  h.store.nodes = {};
  auto got = h.make("bb:00:00:00:00:01", "node-1").reclaim_removed_peers();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<std::string>{"aa:00:00:00:00:01"});
}

}  // namespace
}  // namespace weft::kube
