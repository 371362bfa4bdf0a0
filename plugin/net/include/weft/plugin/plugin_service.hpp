#pragma once
// PluginService: serves Weave's Docker network plugin (spec §9) on its unix sockets, on a thread
// and io_context of its own, so the Driver's blocking calls to the router API (weaver's own HTTP
// server) and to Docker never stall weaver's io_context.
//
//   PluginServiceConfig cfg;            // defaults: Weave's socket paths, bridge "weave"
//   cfg.router_api = "127.0.0.1:6784";
//   cfg.docker_api = "unix:///var/run/docker.sock";
//   cfg.log = log.child("plugin");
//   PluginService svc(cfg);
//   svc.start();          // returns at once
//   ... svc.ready() ...   // true after start-up (socket listening, default network created)
//   svc.stop();           // closes the sockets, joins the thread, removes the socket files
//
// Start-up, on the service thread (spec §9): wait until GET /status answers 200 or 503
// (router_wait_tries tries, router_wait_interval apart); create the sockets' directories; remove
// stale socket files and listen; in legacy mode (create_default_network, the mesh socket enabled
// and a Docker API given) POST /networks/create for the network "weave" with the default subnet
// from GET /ipinfo/defaultsubnet, ignoring errors; then report ready. A failure before listening
// is logged and reported by failure(); the service then stays not ready.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "weft/base/logger.hpp"
#include "weft/plugin/apis.hpp"

namespace weft::plugin {

struct PluginServiceConfig {
  /// weave.sock: NetworkDriver only, scope global; "" disables it. Driver name = basename.
  std::string plugin_socket = "/run/docker/plugins/weave.sock";
  /// weavemesh.sock: NetworkDriver + IpamDriver, scope local; "" disables it.
  std::string mesh_socket = "/run/docker/plugins/weavemesh.sock";
  /// weaver's --http-addr: "127.0.0.1:6784", "http://host:port" or a unix socket path.
  std::string router_api = "127.0.0.1:6784";
  /// Docker's API ("unix:///var/run/docker.sock", "tcp://h:p"); "" = none (no network lookups
  /// for networks created before start-up, no default network).
  std::string docker_api;
  /// The bridge endpoints' host veths join; their MTU is its MTU.
  std::string bridge = "weave";
  /// Legacy mode: create Docker's default network "weave" at start-up.
  bool create_default_network = true;
  /// Whether weaveDNS is on (reported for the status block; the DNS watcher lives in weaver).
  bool dns = true;
  int router_wait_tries = 30;
  std::chrono::milliseconds router_wait_interval{2000};
  /// Budget of each router API call made for Docker (IPAM calls block until space is available).
  std::chrono::milliseconds router_timeout{60'000};
  /// Budget of each Docker API call.
  std::chrono::milliseconds docker_timeout{30'000};
  Logger log = null_logger();
};

class PluginService {
 public:
  /// LINKS: the host plumbing to use (tests pass a fake); null = netlink on `bridge`. It must
  /// outlive the service.
  explicit PluginService(PluginServiceConfig cfg, Links* links = nullptr);
  /// Calls stop().
  ~PluginService();
  PluginService(const PluginService&) = delete;
  PluginService& operator=(const PluginService&) = delete;

  /// Starts the service thread and returns at once. Call once.
  void start();
  /// Thread-safe, idempotent: interrupts start-up, closes the listeners, waits for a request in
  /// progress to finish, joins the thread and removes the socket files.
  void stop();
  /// Start-up complete: the sockets listen (and the default network was attempted).
  bool ready() const { return ready_.load(); }
  /// Why start-up gave up, if it did (e.g. the router API never answered).
  std::optional<std::string> failure() const;
  /// The legacy driver name ("weave", from plugin_socket), or the mesh one if that is disabled;
  /// for the status block's `DriverName`.
  std::string driver_name() const;
  const PluginServiceConfig& config() const { return cfg_; }

 private:
  struct Impl;
  void run();
  void fail(std::string why);
  /// Sleeps D unless stop() comes first; false when stopping.
  bool sleep_for(std::chrono::milliseconds d);

  PluginServiceConfig cfg_;
  Links* links_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::thread aux_;  ///< creates the default network while thread_ serves Docker's callbacks
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<std::string> failure_;
};

}  // namespace weft::plugin
