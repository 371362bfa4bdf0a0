// `weaver kube-utils [flags]`: what Weave's kube-utils did for weave-kube (kube spec §3.6): the
// peer list from the nodes, the weave-net ConfigMap, reclaim of deleted nodes' IP space, the
// node's NetworkUnavailable condition. Flags use Go's syntax (-flag, -flag=value; -- works too).
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <thread>

#include "weft/http/client.hpp"
#include "weft/kube/client.hpp"
#include "weft/kube/informer.hpp"
#include "weft/kube/peers.hpp"

namespace weft::weaver {
namespace {

using kube::ApiResult;
using kube::Json;

/// A quorum read of every node in one page (kube-utils lists with no query).
kube::ListOptions every_node() {
  kube::ListOptions o;
  o.limit = 0;
  o.resource_version = "";
  return o;
}

/// PeerStore over the API (kube spec §6.2 rows 2, 5).
class ApiPeerStore final : public kube::PeerStore {
 public:
  explicit ApiPeerStore(kube::Client& c) : c_(c) {}
  ApiResult<Json> get_or_create() override {
    auto g = c_.get(kube::kConfigMapPath);
    if (g || !g.is(kube::ErrorKind::not_found)) return g;
    Json cm = {{"metadata", {{"name", "weave-net"}, {"namespace", "kube-system"}}}};
    auto cr = c_.create(kube::kConfigMapCollection, cm, kube::kFieldManager);
    if (cr || !cr.is(kube::ErrorKind::conflict)) return cr;
    return c_.get(kube::kConfigMapPath);
  }
  ApiResult<Json> update(const Json& cm) override { return c_.update(kube::kConfigMapPath, cm, kube::kFieldManager); }
  ApiResult<std::set<std::string>> node_names() override {
    auto l = c_.list("/api/v1/nodes", every_node());
    if (!l) return l.error();
    std::set<std::string> out;
    for (const auto& n : kube::node_addresses(*l)) out.insert(n.name);
    return out;
  }

 private:
  kube::Client& c_;
};

/// The router over its HTTP API ($WEAVE_HTTP_ADDR, default 127.0.0.1:6784).
class HttpRouterPeers final : public kube::RouterPeers {
 public:
  explicit HttpRouterPeers(http::Endpoint ep) : ep_(std::move(ep)) {}
  Result<std::string> rmpeer(const std::string& peer) override {
    http::ClientRequest req;
    req.method = "DELETE";
    req.target = "/peer/" + peer;
    WEFT_TRY(r, http::request(ep_, req));
    if (r.status != 200 && r.status != 204) return make_error("{}: {}", r.status, r.body);
    while (!r.body.empty() && r.body.back() == '\n') r.body.pop_back();
    return r.body;
  }
  /// POST /connect peer=...&replace=true
  Result<void> connect(const std::vector<std::string>& peers) {
    std::vector<std::pair<std::string, std::string>> form;
    for (const auto& p : peers) form.emplace_back("peer", p);
    form.emplace_back("replace", "true");
    http::ClientRequest req;
    req.method = "POST";
    req.target = "/connect";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = http::form_body(form);
    WEFT_TRY(r, http::request(ep_, req));
    if (r.status != 200 && r.status != 204) return make_error("{}: {}", r.status, r.body);
    return {};
  }

 private:
  http::Endpoint ep_;
};

std::set<std::string> local_ipv4s() {
  std::set<std::string> out;
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return out;
  for (auto* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) out.insert(buf);
  }
  freeifaddrs(ifs);
  return out;
}

std::string rfc3339_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int fatal(const std::string& msg) {
  std::fprintf(stderr, "[kube-peers] %s\n", msg.c_str());
  return 1;
}

}  // namespace

int run_kube_utils(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    while (a.starts_with("-")) a.erase(0, 1);
    auto eq = a.find('=');
    if (eq == std::string::npos) f[a] = "true";
    else f[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto flag = [&](const std::string& k, std::string dflt = "") { return f.count(k) ? f[k] : dflt; };
  auto sink = std::make_shared<StderrSink>();
  Logger log("kube-peers", sink, parse_log_level(flag("log-level", "info")).value_or(LogLevel::info));
  std::string peer_name = flag("peer-name", "unknown"), node_name = flag("node-name", "unknown");

  kube::ConfigOverrides o;
  if (f.count("kube-sa-dir")) o.sa_dir = f["kube-sa-dir"];
  auto cfg = kube::in_cluster_config(o);
  if (!cfg) return fatal("Could not get cluster config: " + cfg.error().message);
  kube::Client client(*cfg);
  ApiPeerStore store(client);
  auto router_ep = http::Endpoint::parse([] {
    const char* a = std::getenv("WEAVE_HTTP_ADDR");
    return std::string(a && *a ? a : "127.0.0.1:6784");
  }());
  if (!router_ep) return fatal(router_ep.error().message);
  HttpRouterPeers router(*router_ep);
  std::mt19937 rng(std::random_device{}());
  kube::Reclaimer reclaimer(
      store, router, peer_name, node_name, log,
      [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); },
      [&] { return std::uniform_real_distribution<double>(0, 1)(rng); });

  auto print_peers = [&]() -> int {
    auto l = client.list("/api/v1/nodes", every_node());
    if (!l) return fatal("Could not get peers: " + l.error().message);
    for (const auto& p : kube::peer_addresses(kube::node_addresses(*l), local_ipv4s())) std::printf("%s\n", p.c_str());
    return 0;
  };

  if (flag("check-peer-new") == "true") {
    auto listed = reclaimer.listed();
    if (!listed) return fatal("Could not check peer list: " + listed.error().message);
    return *listed ? 9 : 0;
  }
  if (flag("print-k8s-version") == "true") {
    auto v = client.get("/version");
    if (!v) return fatal("Unable to get Kubernetes version: " + v.error().message);
    std::printf("%s\n", v->value("gitVersion", "").c_str());
    return print_peers();
  }
  if (flag("print-uid") == "true") {
    auto cm = client.get(kube::kConfigMapPath);
    if (!cm) return fatal("Unable to fetch ConfigMap kube-system/weave-net to infer unique cluster ID: " + cm.error().message);
    std::printf("%s\n", (*cm)["metadata"].value("uid", "").c_str());
    return print_peers();
  }
  if (flag("set-node-status") == "true") {
    auto now = rfc3339_now();
    Json patch = {{"status", {{"conditions", {{{"type", "NetworkUnavailable"}, {"status", "False"},
                                               {"lastHeartbeatTime", now}, {"lastTransitionTime", now},
                                               {"reason", "WeaveIsUp"}, {"message", "Weave pod has set this"}}}}}}};
    auto r = client.patch("/api/v1/nodes/" + node_name + "/status", patch);
    if (!r) return fatal("Unable to set node status: " + r.error().message);
    return 0;
  }
  if (flag("reclaim") == "true") {
    if (auto r = reclaimer.add_self(); !r) return fatal("Error while adding myself to the peer list: " + r.error().message);
    auto removed = reclaimer.reclaim_removed_peers();
    if (!removed) return fatal("Error while reclaiming space: " + removed.error().message);
    return 0;
  }
  if (flag("run-reclaim-daemon") == "true") {
    kube::InformerHandlers h;
    int exit_code = 0;
    kube::Informer* self = nullptr;
    h.on_delete = [&](const Json& node) {
      log.info("node {} deleted", kube::object_key(node));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 4999)(rng)));
      auto removed = reclaimer.reclaim_removed_peers();
      if (!removed) {
        log.error("reclaim: {}", removed.error().message);
        exit_code = 1;
        self->stop();
        return;
      }
      auto l = client.list("/api/v1/nodes", every_node());
      if (!l) {
        log.error("listing nodes: {}", l.error().message);
        exit_code = 1;
        self->stop();
        return;
      }
      auto peers = kube::peer_addresses(kube::node_addresses(*l), local_ipv4s());
      if (auto c = router.connect(peers); !c) log.warn("resetting the router's peers: {}", c.error().message);
    };
    kube::Informer inf(*cfg, "/api/v1/nodes", h, log.child("nodes"));
    self = &inf;
    auto r = inf.run();
    if (!r) return fatal("node watch: " + r.error().message);
    return exit_code;
  }
  return print_peers();
}

}  // namespace weft::weaver
