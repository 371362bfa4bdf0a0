// The Kubernetes client against tests/kube/fake_apiserver.py over real TLS on loopback: every
// verb, the typed errors (401/403/404/409/410), paging, streamed watches, cancel, and the
// informer's relist after 410.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fake_apiserver.hpp"
#include "weft/kube/client.hpp"
#include "weft/kube/informer.hpp"

namespace weft::kube {
namespace {

using testing::FakeApiServer;
using namespace std::chrono_literals;

Json node(const std::string& name, const std::string& ip) {
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

FakeApiServer& server() {
  static FakeApiServer s;
  return s;
}

TEST(KubeClient, ListFollowsPagesAndCarriesResourceVersion) {
  auto& s = server();
  for (int i = 0; i < 5; ++i) s.put_object(node("page-" + std::to_string(i), "10.9.0." + std::to_string(i)));
  Client c(s.config());
  ListOptions two_per_page;
  two_per_page.limit = 2;
  auto l = c.list("/api/v1/nodes", two_per_page);
  ASSERT_TRUE(l.ok()) << l.error().message;
  int pages = 0;
  for (const auto& it : (*l)["items"]) pages += object_key(it).starts_with("page-") ? 1 : 0;
  EXPECT_EQ(pages, 5);
  EXPECT_EQ((*l)["kind"], "NodeList");
  EXPECT_FALSE(resource_version_of(*l).empty());
  EXPECT_FALSE((*l)["metadata"].contains("continue"));
  auto reqs = s.control("GET", "requests");
  int continued = 0;
  for (const auto& r : reqs) {
    if (r["path"] == "/api/v1/nodes" && r["query"].get<std::string>().find("continue=") != std::string::npos) ++continued;
  }
  EXPECT_GE(continued, 2);
  auto one = c.get("/api/v1/nodes/page-3");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)["status"]["addresses"][0]["address"], "10.9.0.3");
  auto missing = c.get("/api/v1/nodes/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

TEST(KubeClient, ConfigMapCreateUpdateAndConflicts) {
  auto& s = server();
  Client c(s.config());
  const std::string coll = "/api/v1/namespaces/kube-system/configmaps";
  const std::string path = coll + "/weave-net-test";
  auto created = c.create(coll, {{"metadata", {{"name", "weave-net-test"}, {"namespace", "kube-system"}}}},
                          "kube-peers.weave.works");
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto again = c.create(coll, {{"metadata", {{"name", "weave-net-test"}}}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(again.error().reason, "AlreadyExists");

  Json cm = *created;
  cm["metadata"]["annotations"]["kube-peers.weave.works/peers"] = R"({"Peers":null})";
  auto updated = c.update(path, cm, "kube-peers.weave.works");
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_NE(resource_version_of(*updated), resource_version_of(cm));
  // The same (now stale) version again: 409 Conflict.
  auto stale = c.update(path, cm);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, ErrorKind::conflict);
  EXPECT_EQ(stale.error().reason, "Conflict");
  EXPECT_NE(stale.error().message.find("the object has been modified"), std::string::npos);
  auto got = c.get(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["metadata"]["annotations"]["kube-peers.weave.works/peers"], R"({"Peers":null})");
  // The recorded request carries ?fieldManager= and the whole object.
  bool saw_put = false;
  for (const auto& r : s.control("GET", "requests")) {
    if (r["method"] == "PUT" && r["path"] == path && r["query"] == "fieldManager=kube-peers.weave.works") {
      saw_put = r["body"]["metadata"]["name"] == "weave-net-test";
    }
  }
  EXPECT_TRUE(saw_put);
}

TEST(KubeClient, AuthErrorsAreTyped) {
  auto& s = server();
  Config bad = s.config();
  bad.token_file.clear();
  bad.token = "wrong";
  auto r = Client(bad).get("/api/v1/nodes");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(r.error().status, 401);

  s.fail("GET", "/api/v1/namespaces", 403);
  Client c(s.config());
  auto f = c.list("/api/v1/namespaces");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::forbidden);
  EXPECT_NE(f.error().message.find("forbidden"), std::string::npos);
  EXPECT_TRUE(c.list("/api/v1/namespaces").ok());  // count 1: only the first
}

TEST(KubeClient, TlsIsVerified) {
  auto& s = server();
  Config c = s.config();
  c.ca_file = s.dir() + "/nonexistent-ca.crt";  // unreadable CA: system roots, which do not know it
  auto r = Client(c).get("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
  EXPECT_NE(r.error().message.find("tls handshake"), std::string::npos) << r.error().message;
  Config ok = s.config();
  auto v = Client(ok).get("/version");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ((*v)["gitVersion"], "v1.18.6");
}

TEST(KubeClient, RefusedConnectionIsATransportError) {
  Config c = server().config();
  c.port = 1;  // nothing listens there
  auto r = Client(c).get("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
}

TEST(KubeClient, PatchNodeStatus) {
  auto& s = server();
  s.put_object(node("patched", "10.9.1.1"));
  Client c(s.config());
  Json patch = {{"status",
                 {{"conditions",
                   {{{"type", "NetworkUnavailable"}, {"status", "False"}, {"reason", "WeaveIsUp"},
                     {"message", "Weave pod has set this"}}}}}}};
  auto r = c.patch("/api/v1/nodes/patched/status", patch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["status"]["conditions"][0]["reason"], "WeaveIsUp");
}

TEST(KubeClient, WatchStreamsEventsThenGone) {
  auto& s = server();
  Client c(s.config());
  auto l = c.list("/api/v1/namespaces");
  ASSERT_TRUE(l.ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<EventType, std::string>> seen;
  ApiResult<std::string> result = std::string();
  std::thread t([&] {
    result = c.watch("/api/v1/namespaces", {.resource_version = resource_version_of(*l), .timeout_seconds = 60},
                     [&](const WatchEvent& ev) {
                       std::lock_guard lock(mu);
                       seen.emplace_back(ev.type, object_key(ev.object));
                       cv.notify_all();
                       return true;
                     });
  });
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return seen.size() >= n; });
  };
  // Wait until the watch is open before changing things.
  for (int i = 0; i < 100 && s.control("GET", "watches")["namespaces"] == 0; ++i) std::this_thread::sleep_for(50ms);
  s.put_object({{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "ns-a"}}}});
  s.put_object({{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "ns-a"}, {"labels", {{"x", "1"}}}}}});
  s.delete_object("namespaces", "", "ns-a");
  ASSERT_TRUE(wait_for(3));
  s.control("POST", "expire");
  t.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::gone);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(EventType::added, std::string("ns-a")));
  EXPECT_EQ(seen[1], std::make_pair(EventType::modified, std::string("ns-a")));
  EXPECT_EQ(seen[2], std::make_pair(EventType::deleted, std::string("ns-a")));
  // A watch from before the compaction is refused with 410 at once.
  auto old = c.watch("/api/v1/namespaces", {.resource_version = resource_version_of(*l), .timeout_seconds = 5},
                     [](const WatchEvent&) { return true; });
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().kind, ErrorKind::gone);
  // An HTTP-level 410 too.
  s.fail("GET", "/api/v1/pods", 410);
  auto http410 = c.watch("/api/v1/pods", {.resource_version = "1", .timeout_seconds = 5},
                         [](const WatchEvent&) { return true; });
  ASSERT_FALSE(http410.ok());
  EXPECT_EQ(http410.error().kind, ErrorKind::gone);
}

TEST(KubeClient, WatchEndsNormallyWithLastVersionAndCancels) {
  auto& s = server();
  Client c(s.config());
  auto l = c.list("/apis/networking.k8s.io/v1/networkpolicies");
  ASSERT_TRUE(l.ok()) << l.error().message;
  s.put_object({{"kind", "NetworkPolicy"}, {"apiVersion", "networking.k8s.io/v1"},
                {"metadata", {{"name", "np"}, {"namespace", "default"}}}, {"spec", Json::object()}});
  std::string rv_seen;
  auto r = c.watch("/apis/networking.k8s.io/v1/networkpolicies",
                   {.resource_version = resource_version_of(*l), .timeout_seconds = 1},
                   [&](const WatchEvent& ev) {
                     rv_seen = ev.resource_version();
                     return true;
                   });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, rv_seen);
  EXPECT_FALSE(rv_seen.empty());

  Client blocked(s.config());
  auto start = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    blocked.cancel();
  });
  auto w = blocked.watch("/api/v1/pods", {.resource_version = "", .timeout_seconds = 60},
                         [](const WatchEvent&) { return true; });
  canceller.join();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message, "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(KubeInformer, RelistAfterGoneDeliversMissedChanges) {
  auto& s = server();
  auto pod = [](const std::string& name, const std::string& ip) {
    return Json{{"kind", "Pod"}, {"apiVersion", "v1"},
                {"metadata", {{"name", name}, {"namespace", "inf"}, {"labels", {{"app", "x"}}}}},
                {"status", {{"podIP", ip}}}};
  };
  s.put_object(pod("keep", "10.32.0.2"));
  s.put_object(pod("vanish", "10.32.0.3"));
  s.put_object(pod("change", "10.32.0.4"));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> log;
  int synced = 0;
  auto note = [&](std::string what) {
    std::lock_guard lock(mu);
    log.push_back(std::move(what));
    cv.notify_all();
  };
  InformerHandlers h;
  h.on_add = [&](const Json& o) { note("add " + object_key(o)); };
  h.on_update = [&](const Json& a, const Json& b) {
    note("update " + object_key(b) + " " + a["status"]["podIP"].get<std::string>() + "->" +
         b["status"]["podIP"].get<std::string>());
  };
  h.on_delete = [&](const Json& o) { note("delete " + object_key(o)); };
  h.on_synced = [&] {
    std::lock_guard lock(mu);
    ++synced;
    cv.notify_all();
  };
  InformerOptions opt;
  opt.min_timeout_seconds = 30;
  Informer inf(s.config(), "/api/v1/namespaces/inf/pods", h, null_logger(), opt);
  ApiStatus result = Unit{};
  std::thread t([&] { result = inf.run(); });
  auto wait = [&](auto pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 15s, pred);
  };
  ASSERT_TRUE(wait([&] { return synced == 1; }));
  for (int i = 0; i < 100 && s.control("GET", "watches")["pods"] == 0; ++i) std::this_thread::sleep_for(50ms);
  s.put_object(pod("new", "10.32.0.5"));
  ASSERT_TRUE(wait([&] { return log.size() == 4; }));
  // Changes the watch never sees, then a 410: only the relist can find them.
  s.control("POST", "objects?silent=true", pod("change", "10.32.0.9"));
  s.control("DELETE", "objects/pods/inf/vanish?silent=true");
  s.control("POST", "expire");
  ASSERT_TRUE(wait([&] { return synced == 2; }));
  inf.stop();
  t.join();
  EXPECT_TRUE(result.ok());
  std::lock_guard lock(mu);
  std::vector<std::string> want = {"add inf/change", "add inf/keep", "add inf/vanish", "add inf/new",
                                   "delete inf/vanish", "update inf/change 10.32.0.4->10.32.0.9"};
  EXPECT_EQ(log, want);
  EXPECT_EQ(inf.relists(), 2u);
}

TEST(KubeInformer, ForbiddenIsFatal) {
  auto& s = server();
  s.fail("GET", "/api/v1/namespaces/forbidden-ns/pods", 403, -1);
  Informer inf(s.config(), "/api/v1/namespaces/forbidden-ns/pods", {}, null_logger());
  auto r = inf.run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::forbidden);
}

}  // namespace
}  // namespace weft::kube
