#include "weft/plugin/plugin_service.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <vector>

#include "weft/http/server.hpp"
#include "weft/plugin/docker_http_api.hpp"
#include "weft/plugin/driver.hpp"
#include "weft/plugin/netlink_links.hpp"
#include "weft/plugin/router_http_api.hpp"

namespace weft::plugin {
namespace {

namespace fs = std::filesystem;

/// "/run/docker/plugins/weave.sock" -> "weave" (Weave names the driver after the socket).
std::string driver_name_for(const std::string& socket) {
  auto name = fs::path(socket).filename().string();
  if (name.size() > 5 && name.ends_with(".sock")) name.resize(name.size() - 5);
  return name;
}

http::Router router_for(Driver& d) {
  http::Router r;
  for (const auto& path : d.routes()) {
    r.handle("POST", path, [&d, path](const http::HttpRequest& req, const http::PathVars&) {
      auto reply = d.handle(path, req.body);
      auto res = http::text_response(reply.status, std::move(reply.body));
      if (reply.status == 400) res.extra_headers.emplace_back("X-Content-Type-Options", "nosniff");
      return res;
    });
  }
  return r;
}

}  // namespace

struct PluginService::Impl {
  boost::asio::io_context io;
  std::optional<RouterHttpApi> router;
  std::optional<DockerHttpApi> docker;
  std::optional<NetlinkLinks> netlink;
  // NB: the drivers must outlive the servers whose handlers refer to them (declared first).
  std::vector<std::unique_ptr<Driver>> drivers;
  std::vector<std::unique_ptr<http::HttpServer>> servers;
  std::vector<std::string> sockets;  ///< the files we listen on, removed at the end
};

PluginService::PluginService(PluginServiceConfig cfg, Links* links)
    : cfg_(std::move(cfg)), links_(links), impl_(std::make_unique<Impl>()) {}

PluginService::~PluginService() { stop(); }

std::string PluginService::driver_name() const {
  return driver_name_for(!cfg_.plugin_socket.empty() ? cfg_.plugin_socket : cfg_.mesh_socket);
}

std::optional<std::string> PluginService::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void PluginService::fail(std::string why) {
  cfg_.log.error("plugin: {}", why);
  std::lock_guard lock(mu_);
  failure_ = std::move(why);
}

bool PluginService::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void PluginService::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void PluginService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
  if (aux_.joinable()) aux_.join();
  ready_ = false;
}

void PluginService::run() {
  const auto& log = cfg_.log;
  auto router_ep = http::Endpoint::parse(cfg_.router_api);
  if (!router_ep) return fail(router_ep.error().message);
  impl_->router.emplace(*router_ep, cfg_.router_timeout);
  if (!cfg_.docker_api.empty()) {
    auto docker_ep = http::Endpoint::parse(cfg_.docker_api);
    if (!docker_ep) return fail(docker_ep.error().message);
    impl_->docker.emplace(*docker_ep, cfg_.docker_timeout);
  }
  Links* links = links_;
  if (links == nullptr) links = &impl_->netlink.emplace(cfg_.bridge, log.child("plugin"));

  // 1. The router API must answer (503 = up but not ready yet is fine).
  std::string last_error = "no answer";
  bool up = false;
  for (int i = 0; i < cfg_.router_wait_tries && !up; ++i) {
    if (i > 0 && !sleep_for(cfg_.router_wait_interval)) return;
    auto st = impl_->router->status(std::min(cfg_.router_wait_interval + std::chrono::seconds(1),
                                             std::chrono::milliseconds(10'000)));
    if (st && (*st == 200 || *st == 503)) {
      up = true;
    } else {
      last_error = st ? fmt::format("GET /status answered {}", *st) : st.error().message;
      log.info("plugin: waiting for the router API at {}: {}", cfg_.router_api, last_error);
    }
  }
  if (!up) return fail(fmt::format("router API at {} is not answering: {}", cfg_.router_api, last_error));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }

  // 2. Listen.
  DockerApi* docker = impl_->docker ? &*impl_->docker : nullptr;
  auto serve = [&](const std::string& socket, DriverConfig dc) -> Result<void> {
    std::error_code ec;
    fs::create_directories(fs::path(socket).parent_path(), ec);
    if (ec) return make_error("creating the directory of {}: {}", socket, ec.message());
    fs::remove(socket, ec);  // a stale socket of an earlier run
    auto& d = impl_->drivers.emplace_back(
        std::make_unique<Driver>(std::move(dc), *impl_->router, docker, *links, log.child("plugin")));
    auto& s = impl_->servers.emplace_back(
        std::make_unique<http::HttpServer>(impl_->io, router_for(*d), log.child("plugin-http")));
    WEFT_TRY_VOID(s->listen(socket));
    impl_->sockets.push_back(socket);
    log.info("plugin: driver {} listening on {}", d->config().name, socket);
    return {};
  };
  if (!cfg_.plugin_socket.empty()) {
    if (auto r = serve(cfg_.plugin_socket, DriverConfig::plugin(driver_name_for(cfg_.plugin_socket))); !r) {
      return fail(r.error().message);
    }
  }
  std::string mesh_name = driver_name_for(cfg_.mesh_socket);
  if (!cfg_.mesh_socket.empty()) {
    if (auto r = serve(cfg_.mesh_socket, DriverConfig::mesh(mesh_name)); !r) return fail(r.error().message);
  }

  // 3. Legacy mode: Docker's default network "weave". Errors (e.g. it exists) are ignored.
  // Docker calls back into this plugin while it creates the network, so the request is made
  // from a thread of its own while this one serves (NB: doing it here deadlocked until the
  // Docker call timed out). 4. Ready once that is done.
  if (cfg_.create_default_network && !cfg_.mesh_socket.empty() && docker != nullptr) {
    aux_ = std::thread([this, mesh_name] {
      const auto& log = cfg_.log;
      auto subnet = impl_->router->default_subnet();
      if (!subnet) {
        log.warn("plugin: default subnet: {}", subnet.error().message);
      } else if (auto r = impl_->docker->create_network(default_network_body(mesh_name, *subnet)); !r) {
        log.info("plugin: creating the default network: {}", r.error().message);
      }
      ready_ = true;
    });
  } else {
    ready_ = true;
  }
  auto guard = boost::asio::make_work_guard(impl_->io);
  impl_->io.run();
  ready_ = false;
  for (auto& s : impl_->servers) s->stop();
  impl_->servers.clear();
  for (const auto& path : impl_->sockets) {
    std::error_code ec;
    fs::remove(path, ec);
  }
}

}  // namespace weft::plugin
