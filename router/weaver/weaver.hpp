#pragma once
// The weaver daemon's composition root: it owns the io_context, the mesh node, the HTTP servers
// and the state file, and wires them together. Policy lives in the cores; this file only wires.
#include <boost/asio.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "host_rules.hpp"
#include "ipam_service.hpp"
#include "weaver_config.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/random.hpp"
#include "weft/dns/nameserver.hpp"
#include "weft/dns_net/dns_server.hpp"
#include "weft/dns_net/nameserver_ticker.hpp"
#include "weft/http/router.hpp"
#include "weft/http/server.hpp"
#include "weft/mesh_net/mesh_node.hpp"
#include "weft/plugin/plugin_service.hpp"
#include "weft/plugin/plugin_watcher.hpp"
#include "weft/proxy_net/docker_events.hpp"
#include "weft/proxy_net/proxy.hpp"
#include "weft/router/kv_store.hpp"
#include "weft/router/render_throttle.hpp"
#include "weft/router/status.hpp"
#include "weft/router_net/overlay_shell.hpp"

namespace weft::weaver {

inline constexpr std::string_view kVersion = "weft-0.1.0";
/// State-file key (weft's own): the subnets exposed with skipNAT, so a restart re-exposes them
/// without NAT. A gob []string of CIDRs.
inline constexpr std::string_view kExposedNoNatKey = "weft:exposedWithoutNAT";

class Weaver {
 public:
  /// `cfg` comes from parse_config(): every flag is already checked.
  Weaver(boost::asio::io_context& io, WeaverConfig cfg, Logger log);
  /// Everything that can fail at startup: state file, name, listeners. One-line errors.
  Result<void> start();
  void stop();

  /// The status snapshot, rebuilt at most as often as RenderThrottle allows (it costs O(peers)).
  const router::WeaveStatus& status();

 private:
  router::WeaveStatus build_status();
  /// /report's JSON (and its parsed tree for templates), throttled like status().
  const std::string& report_json();
  const nlohmann::ordered_json& report_tree();
  http::Router api_router(bool full);
  /// An HTTP listener on `addr` ("" = none): the control API, the status API or metrics only.
  Result<void> add_server(const std::string& addr, bool full, bool metrics_only);
  /// --password, WEAVE_PASSWORD or the file WEAVE_PASSWORD_FILE names.
  Result<void> load_password();
  Result<void> setup_identity();
  Result<void> setup_datapath();
  /// The kernel fast path (weaver_fastdp.cpp): load() decides before the mesh starts whether
  /// connections offer fastdp; start() attaches it once the bridge exists.
  Result<void> load_fastdp(mesh_net::NodeConfig& cfg);
  Result<void> start_fastdp();
  void add_fastdp_counters(router::RouterStatus& r) const;
  /// /status's live connections: overlay (fastdp, sleeve or none), attributes and traffic.
  void add_connections(router::RouterStatus& r);
  /// The iptables rules of spec §11.8 for the bridge (host_rules.hpp).
  Result<void> setup_host_rules(const std::vector<Cidr>& bridge_addresses);
  /// --mtu / WEAVE_MTU, else the underlay's MTU minus the overhead of the path in use.
  Result<void> choose_mtu();
  Result<void> setup_dns();
  /// Docker: the event watcher (IPAM/DNS release on die/destroy), the API proxy (--proxy).
  Result<void> setup_docker();
  void start_plugin();
  proxy_net::ProxyConfig proxy_config() const;
  void on_container_event(const proxy_net::ContainerEvent& ev);
  /// Spec §10 readiness: proxy listening and plugin started (when enabled).
  bool ready() const;
  void add_dns_routes(http::Router& r);
  /// Runs `f` with a sender for `channel`'s spontaneous gossip, and applies what it sent.
  void with_sender(const std::string& channel, const std::function<void(TimePoint, mesh::GossipSender&)>& f);
  void persist_direct_peers();

  boost::asio::io_context& io_;
  const WeaverConfig cfg_;
  Logger log_;
  StreamRandom rng_;  // seeded once from libsodium: no getrandom per draw
  std::optional<router::KvStore> store_;
  std::optional<mesh_net::MeshNode> node_;
  std::optional<router_net::OverlayShell> overlay_;
  std::unique_ptr<datapath::KernelFastdp> kernel_;  ///< loaded, not yet handed to fastdp_
  std::optional<router_net::FastdpShell> fastdp_;
  std::optional<HostRules> host_rules_;
  std::optional<IpamService> ipam_;
  std::optional<dns::Nameserver> nameserver_;
  std::optional<dns_net::NameserverTicker> dns_ticker_;
  std::optional<dns_net::DnsServer> dns_server_;
  int mtu_ = 0;
  std::vector<std::unique_ptr<http::HttpServer>> servers_;
  std::unique_ptr<proxy_net::DockerEvents> docker_events_;
  std::unique_ptr<proxy_net::Proxy> proxy_;
  std::unique_ptr<plugin::PluginService> plugin_;
  std::unique_ptr<plugin::PluginWatcher> plugin_watcher_;  ///< spec §9 watcher, with --plugin and DNS
  mesh::PeerIdentity self_;
  std::optional<Bytes> password_;
  router::RenderThrottle<router::WeaveStatus> status_throttle_;
  router::RenderThrottle<std::string> report_throttle_;
  router::RenderThrottle<nlohmann::ordered_json> report_tree_throttle_;
};

/// The peer name weave would derive for this machine (spec §2.1; machine IDs read under
/// HOST_ROOT, which is /host in the router image), made distinct per network
/// namespace when not in the initial one, so several "hosts" in namespaces on one machine differ.
Result<PeerName> default_peer_name(const std::string& host_root = "");
/// The MTU of the interface with the default route, else the smallest MTU of the host's other
/// up interfaces (loopback and weave's own links excluded), else 1500.
int underlay_mtu(const std::string& bridge);

}  // namespace weft::weaver
