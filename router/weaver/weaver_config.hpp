#pragma once
// weaver's typed configuration: every flag (and the environment variables weaver honours) parsed
// and checked once, before weaver creates anything (state file, listeners, bridge, iptables
// rules), so a refused flag leaves the host as it was. One section per subsystem; the rest of
// weaver reads these fields and never the flag text. The defaults are the flag table's
// (flags.cpp), and the error messages are the ones weaver has always given.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flags.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/iptables_plan.hpp"
#include "weft/http/client.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/proxy_net/tls.hpp"

namespace weft::weaver {

/// --datapath-backend.
enum class Backend { automatic, kernel, pcap, afpacket, dpdk, none };
std::string_view backend_name(Backend b);

/// The router and its mesh: identity, listener, connection policy, peers, state file.
struct MeshSection {
  std::optional<PeerName> name;  ///< --name; else the persisted one, else derived from the machine
  std::string nickname;          ///< --nickname; "" = the hostname
  std::string host;              ///< --host as given ("" = every address)
  Ipv4 bind_ip;                  ///< --host parsed (the sleeve's UDP socket binds it)
  std::uint16_t port = 6783;
  std::string password;       ///< --password, else WEAVE_PASSWORD
  std::string password_file;  ///< WEAVE_PASSWORD_FILE when neither is set (read at start)
  int min_protocol_version = 1;
  std::size_t conn_limit = 200;
  bool discovery = true;    ///< not --no-discovery
  bool weft_gossip = true;  ///< --weft-gossip: offer weft peers topology digests
  std::vector<Cidr> trusted_subnets;
  bool resume = false;
  std::vector<std::string> peers;  ///< positional arguments, each a valid peer address
  std::string db_prefix;           ///< state file `<prefix>data.db`
  std::string host_root;           ///< where the host's /etc is (machine IDs)
};

/// Frame capture, the bridge and the sleeve's sockets.
struct DatapathSection {
  Backend backend = Backend::automatic;
  std::string bridge = "weave";  ///< --weave-bridge
  int mtu = 0;                   ///< --mtu, else WEAVE_MTU; 0 = from the underlay (checked once known)
  int bufsz_mb = 64;
  std::string dpdk_vdev;
  std::vector<std::string> dpdk_eal_args;  ///< --dpdk-eal-args split at spaces
  bool extended_overlay = true;
  bool udp_offload = true;
  /// The backend that captures frames: "auto" and "kernel" run on afpacket.
  Backend capture() const;
};

/// The kernel fast path (spec §5).
struct FastdpSection {
  bool wanted = false;    ///< --datapath-backend auto or kernel
  bool insist = false;    ///< kernel: an error instead of a fallback when it cannot run
  bool disabled = false;  ///< --no-fastdp
  bool refuse = false;    ///< --fastdp-refuse (tests)
  bool no_direct = false;  ///< --no-fastdp-direct: containers' unicast always goes through the bridge
};

/// The HTTP listeners ("" = off).
struct HttpSection {
  std::string control_addr;  ///< --http-addr
  std::string status_addr;
  std::string metrics_addr;
};

/// IPAM (off without --ipalloc-range).
struct IpamSection {
  bool enabled = false;
  Cidr range;           ///< the range's network
  Cidr default_subnet;  ///< --ipalloc-default-subnet, else the range
  ipam::IpallocInit init;
  bool no_masq_local = false;  ///< shown by GET /ipinfo/masq
};

/// weaveDNS (off with --no-dns).
struct DnsSection {
  bool enabled = true;
  std::string domain = "weave.local.";
  std::string listen_address = "0.0.0.0:53";
  std::uint32_t ttl = 1;
  std::chrono::milliseconds fallback_timeout{5000};
  std::string resolv_conf = "/etc/resolv.conf";
};

/// Docker: its API endpoint, shared by the event watcher, the proxy and the plugin.
struct DockerSection {
  std::string api;  ///< --docker-api as given
  /// Where weaver talks to Docker: --docker-api, else with --proxy $DOCKER_HOST or the default
  /// socket; none when neither is set (no event watcher).
  std::optional<http::Endpoint> endpoint;
};

/// The Docker API proxy (--proxy).
struct ProxySection {
  bool enabled = false;
  std::vector<std::string> listen;  ///< -H, in order
  std::string hostname_from_label, hostname_match, hostname_replacement;
  bool rewrite_inspect = false;
  bool no_default_ipalloc = false;
  bool no_rewrite_hosts = false;
  bool without_dns = false;
  bool no_multicast_route = false;
  std::string weavewait_dir;
  proxy_net::TlsConfig tls;  ///< as given; Weave's file defaults are filled in at start
  /// --http-addr as the proxy dials it (0.0.0.0 and :: become 127.0.0.1).
  http::Endpoint router_api;
};

/// The Docker network plugin (--plugin).
struct PluginSection {
  bool enabled = false;
  std::string socket;
  std::string mesh_socket;
};

struct WeaverConfig {
  LogLevel log_level = LogLevel::info;
  bool print_peer_name = false;
  bool version = false;
  MeshSection mesh;
  DatapathSection datapath;
  FastdpSection fastdp;
  datapath::host::RouterRulesConfig
      rules;  ///< iptables (spec §11.8); the docker bridge's address is looked up at start
  HttpSection http;
  IpamSection ipam;
  DnsSection dns;
  DockerSection docker;
  ProxySection proxy;
  PluginSection plugin;
  std::vector<std::string> unsupported;  ///< flags given that weft does not implement yet
};

/// Reads an environment variable (nullopt when unset); injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
std::optional<std::string> process_env(const char* name);

/// Checks and types every flag. No I/O beyond `env`; never throws.
Result<WeaverConfig> parse_config(const Options& opts, const EnvLookup& env = process_env);
/// parse_flags then parse_config.
Result<WeaverConfig> parse_config(const std::vector<std::string>& args, const EnvLookup& env = process_env);

}  // namespace weft::weaver
