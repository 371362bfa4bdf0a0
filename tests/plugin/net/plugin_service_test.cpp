// Integration test of PluginService: the real service thread, unix sockets in a temp dir, the real
// RouterHttpApi and DockerHttpApi against tiny fake router and Docker APIs (HttpServers on
// 127.0.0.1:0), and FakeLinks instead of netlink (so no root is needed).
#include "weft/plugin/plugin_service.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "fakes.hpp"
#include "weft/http/client.hpp"
#include "weft/http/server.hpp"
#include "weft/plugin/docker_http_api.hpp"

namespace weft::plugin {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The fake router API and Docker API, each an HttpServer on one io_context thread.
class FakeApis {
 public:
  FakeApis() {
    http::Router r;
    r.handle("GET", "/status", [this](const http::HttpRequest&, const http::PathVars&) {
      // Not up at first (500), then up but not ready (503): the plugin must accept the 503.
      return http::text_response(record("GET /status") <= 2 ? 500 : 503, "status");
    });
    r.handle("GET", "/ipinfo/defaultsubnet", [this](const http::HttpRequest&, const http::PathVars&) {
      record("GET /ipinfo/defaultsubnet");
      return http::text_response(200, "10.32.0.0/12");
    });
    r.handle("POST", "/ip/{id}/{net}/{len}", [this](const http::HttpRequest&, const http::PathVars& v) {
      record("POST /ip/" + v.at("id") + "/" + v.at("net") + "/" + v.at("len"));
      return http::text_response(200, "10.32.64.1/18");
    });
    r.handle("PUT", "/ip/{id}/{ip}/{len}", [this](const http::HttpRequest&, const http::PathVars& v) {
      record("PUT /ip/" + v.at("id") + "/" + v.at("ip") + "/" + v.at("len"));
      if (v.at("ip") == "10.32.9.9") {
        return http::text_response(400, "Unable to claim: address 10.32.9.9/12 is already owned by c2");
      }
      return http::empty_response(204);
    });
    r.handle("DELETE", "/ip/{id}", [this](const http::HttpRequest&, const http::PathVars& v) {
      record("DELETE /ip/" + v.at("id"));
      return http::empty_response(204);
    });
    router_ = std::make_unique<http::HttpServer>(io_, std::move(r), null_logger());

    http::Router d;
    d.handle("POST", "/networks/create", [this](const http::HttpRequest& q, const http::PathVars&) {
      record("docker create " + q.header("Content-Type") + " " + q.body);
      return http::json_response(R"({"Id":"abc","Warning":""})");
    });
    d.handle("GET", "/v1.21/networks/{id}", [this](const http::HttpRequest&, const http::PathVars& v) {
      record("docker inspect " + v.at("id"));
      if (v.at("id") == "dnet") {
        return http::json_response(
            R"({"Name":"weave","Id":"dnet","Driver":"weavemesh","Options":{"works.weave.multicast":"true"}})");
      }
      auto res = http::json_response(R"({"message":"network x not found"})");
      res.status = 404;
      return res;
    });
    docker_ = std::make_unique<http::HttpServer>(io_, std::move(d), null_logger());
    EXPECT_TRUE(router_->listen("127.0.0.1:0").ok());
    EXPECT_TRUE(docker_->listen("127.0.0.1:0").ok());
    router_port_ = router_->port();
    docker_port_ = docker_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeApis() {
    boost::asio::post(io_, [this] {
      router_->stop();
      docker_->stop();
      io_.stop();
    });
    thread_.join();
  }
  std::string router_addr() const { return "127.0.0.1:" + std::to_string(router_port_); }
  std::string docker_addr() const { return "tcp://127.0.0.1:" + std::to_string(docker_port_); }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int count(std::string_view prefix) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.starts_with(prefix) ? 1 : 0;
    return n;
  }

 private:
  int record(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(call);
    int n = 0;
    for (const auto& c : calls_) n += c == call ? 1 : 0;
    return n;
  }
  boost::asio::io_context io_;
  std::unique_ptr<http::HttpServer> router_, docker_;
  std::uint16_t router_port_ = 0, docker_port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "weft-plugin-XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

http::ClientResponse call(const fs::path& socket, std::string path, std::string body, std::string method = "POST") {
  http::ClientRequest req;
  req.method = std::move(method);
  req.target = std::move(path);
  req.body = std::move(body);
  auto r = http::request(*http::Endpoint::parse(socket.string()), req, {.timeout = std::chrono::seconds(10)});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : http::ClientResponse{};
}

bool wait_until(const std::function<bool()>& f, std::chrono::milliseconds budget = 10s) {
  auto end = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

TEST(PluginService, ServesDockerOverUnixSocketsWithTheRouterApi) {
  FakeApis apis;
  TempDir dir;
  FakeLinks links;
  auto plugin_sock = dir.path() / "plugins" / "weave.sock";
  auto mesh_sock = dir.path() / "plugins" / "weavemesh.sock";
  PluginServiceConfig cfg;
  cfg.plugin_socket = plugin_sock.string();
  cfg.mesh_socket = mesh_sock.string();
  cfg.router_api = apis.router_addr();
  cfg.docker_api = apis.docker_addr();
  cfg.router_wait_interval = 20ms;
  PluginService svc(cfg, &links);
  EXPECT_EQ(svc.driver_name(), "weave");
  svc.start();
  ASSERT_TRUE(wait_until([&] { return svc.ready(); }));
  EXPECT_EQ(svc.failure(), std::nullopt);
  EXPECT_EQ(apis.count("GET /status"), 3);  // 500, 500, then 503 is good enough

  // Start-up created the default network with exactly Weave's body.
  const std::string want_body =
      R"({"Name":"weave","Driver":"weavemesh","IPAM":{"Driver":"weavemesh","Config":[{"Subnet":"10.32.0.0/12"}],"Options":null},"Options":{"works.weave.multicast":"true"},"Labels":null,"CheckDuplicate":true,"Internal":false,"EnableIPv6":false})";
  EXPECT_EQ(default_network_body("weavemesh", *Cidr::parse("10.32.0.0/12")), want_body);
  auto calls = apis.calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "docker create application/json " + want_body), calls.end());

  // Handshakes.
  auto r = call(mesh_sock, "/Plugin.Activate", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"Implements\":[\"NetworkDriver\",\"IpamDriver\"]}\n");
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(call(plugin_sock, "/Plugin.Activate", "").body, "{\"Implements\":[\"NetworkDriver\"]}\n");
  EXPECT_EQ(call(plugin_sock, "/NetworkDriver.GetCapabilities", "").body,
            "{\"Err\":\"\",\"Scope\":\"global\",\"ConnectivityScope\":\"\"}\n");

  // IPAM round trip through the router API.
  r = call(mesh_sock, "/IpamDriver.RequestPool", R"({"AddressSpace":"weavelocal","Pool":"","SubPool":"10.32.64.0/18"})");
  EXPECT_EQ(r.body,
            "{\"Error\":\"\",\"PoolID\":\"weave-10.32.0.0/12-10.32.64.0/18\",\"Pool\":\"10.32.0.0/12\","
            "\"Data\":{\"com.docker.network.gateway\":\"10.32.0.0/12\"}}\n");
  r = call(mesh_sock, "/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":""})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"Error\":\"\",\"Address\":\"10.32.64.1/12\",\"Data\":null}\n");
  r = call(mesh_sock, "/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.0.0"})");
  EXPECT_EQ(r.body, "{\"Error\":\"\",\"Address\":\"10.32.0.0/12\",\"Data\":null}\n");
  r = call(mesh_sock, "/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.9.9"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "{\"Err\":\"400 Bad Request: Unable to claim: address 10.32.9.9/12 is already owned by c2\"}\n");
  r = call(mesh_sock, "/IpamDriver.ReleaseAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.64.1"})");
  EXPECT_EQ(r.body, "{}\n");
  calls = apis.calls();
  for (auto want : {"POST /ip/_/10.32.64.0/18", "PUT /ip/_/10.32.0.0/12", "PUT /ip/_/10.32.9.9/12", "DELETE /ip/10.32.64.1"}) {
    EXPECT_NE(std::find(calls.begin(), calls.end(), want), calls.end()) << want;
  }

  // Endpoint: veths through Links, Join looks the network up in Docker.
  const std::string ep = "0123456789abcdef";
  r = call(mesh_sock, "/NetworkDriver.CreateEndpoint",
           R"({"NetworkID":"dnet","EndpointID":")" + ep + R"(","Interface":{"Address":"10.32.64.1/12"}})");
  EXPECT_EQ(r.body, "{\"Err\":\"\",\"Interface\":{\"Address\":\"\",\"AddressIPv6\":\"\",\"MacAddress\":\"02:42:0a:20:00:01\"}}\n");
  EXPECT_TRUE(links.has("vethwl012345678"));
  r = call(mesh_sock, "/NetworkDriver.Join", R"({"NetworkID":"dnet","EndpointID":")" + ep + R"(","SandboxKey":"/x"})");
  EXPECT_EQ(r.body,
            "{\"Err\":\"\",\"InterfaceName\":{\"SrcName\":\"vethwg012345678\",\"DstName\":\"\",\"DstPrefix\":\"ethwe\"},"
            "\"Gateway\":\"\",\"GatewayIPv6\":\"\",\"StaticRoutes\":[{\"Destination\":\"224.0.0.0/4\",\"RouteType\":1,"
            "\"NextHop\":\"\"}],\"DisableGatewayService\":true}\n");
  r = call(mesh_sock, "/NetworkDriver.Join", R"({"NetworkID":"gone","EndpointID":")" + ep + R"("})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"Err\":\"unable to find network info: No such network: gone\"}\n");
  EXPECT_EQ(call(mesh_sock, "/NetworkDriver.Leave", R"({"NetworkID":"dnet","EndpointID":")" + ep + R"("})").body, "{}\n");
  EXPECT_FALSE(links.has("vethwl012345678"));

  // HTTP edges: wrong method, unregistered routes, undecodable bodies.
  EXPECT_EQ(call(mesh_sock, "/Plugin.Activate", "", "GET").status, 405);
  r = call(plugin_sock, "/IpamDriver.RequestPool", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  EXPECT_EQ(call(mesh_sock, "/NetworkDriver.DiscoverNew", "{}").status, 404);
  r = call(mesh_sock, "/NetworkDriver.CreateNetwork", "{");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Unable to decode JSON payload: unexpected EOF\n");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");

  svc.stop();
  EXPECT_FALSE(svc.ready());
  EXPECT_FALSE(fs::exists(plugin_sock));
  EXPECT_FALSE(fs::exists(mesh_sock));
  svc.stop();  // idempotent
}

TEST(PluginService, SocketsCanBeDisabledAndStaleFilesReplaced) {
  FakeApis apis;
  TempDir dir;
  FakeLinks links;
  auto mesh_sock = dir.path() / "weavemesh.sock";
  { std::ofstream stale(mesh_sock); }  // a leftover regular file
  PluginServiceConfig cfg;
  cfg.plugin_socket = "";
  cfg.mesh_socket = mesh_sock.string();
  cfg.router_api = apis.router_addr();
  cfg.router_wait_interval = 5ms;
  PluginService svc(cfg, &links);
  EXPECT_EQ(svc.driver_name(), "weavemesh");
  svc.start();
  ASSERT_TRUE(wait_until([&] { return svc.ready(); }));
  EXPECT_EQ(call(mesh_sock, "/Plugin.Activate", "").status, 200);
  // No Docker API: no default network.
  EXPECT_EQ(apis.count("docker"), 0);
  EXPECT_EQ(apis.count("GET /ipinfo/defaultsubnet"), 0);
  svc.stop();
  EXPECT_FALSE(fs::exists(mesh_sock));
}

TEST(PluginService, GivesUpWhenTheRouterNeverAnswers) {
  TempDir dir;
  FakeLinks links;
  auto sock = dir.path() / "weave.sock";
  PluginServiceConfig cfg;
  cfg.plugin_socket = sock.string();
  cfg.mesh_socket = "";
  cfg.router_api = "127.0.0.1:1";
  cfg.router_wait_tries = 3;
  cfg.router_wait_interval = 5ms;
  PluginService svc(cfg, &links);
  svc.start();
  ASSERT_TRUE(wait_until([&] { return svc.failure().has_value(); }));
  EXPECT_FALSE(svc.ready());
  EXPECT_NE(svc.failure()->find("router API at 127.0.0.1:1 is not answering"), std::string::npos) << *svc.failure();
  EXPECT_FALSE(fs::exists(sock));
  svc.stop();
}

TEST(PluginService, StopInterruptsTheWaitForTheRouter) {
  FakeLinks links;
  PluginServiceConfig cfg;
  cfg.plugin_socket = "";
  cfg.mesh_socket = "";
  cfg.router_api = "127.0.0.1:1";
  cfg.router_wait_interval = 10s;
  PluginService svc(cfg, &links);
  svc.start();
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  svc.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(svc.ready());
}

}  // namespace
}  // namespace weft::plugin
