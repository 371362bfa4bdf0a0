#include "weaver.hpp"

#ifdef WEFT_HAVE_DPDK
#include "weft/datapath/dpdk_datapath.hpp"
#endif
#include "weft/datapath/linux/netns.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "host_rules.hpp"
#include "weft/base/cidr_list.hpp"
#include "weft/datapath/afpacket_datapath.hpp"
#include "weft/datapath/linux/host_setup.hpp"
#include "weft/datapath/pcap_datapath.hpp"
#include "weft/datapath/udp_underlay.hpp"
#include "weft/dns_net/recursion_policy.hpp"
#include "weft/http/listen_address.hpp"
#include "weft/http/response.hpp"
#include "weft/ipam/weave_import.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/router/report_template.hpp"

namespace weft::weaver {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (in) std::getline(in, s);
  return s;
}

std::string netns_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_ino);
}

void mkdirs(const std::string& dir) {
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    ::mkdir(cur.c_str(), 0755);
  }
}

Bytes gob_uint(std::uint64_t v) {
  Bytes out;
  gob::Encoder enc(out);
  (void)enc.encode(gob::uint_type(), gob::Value::of_uint(v));
  return out;
}

Bytes gob_strings(const std::vector<std::string>& v) {
  Bytes out;
  gob::Encoder enc(out);
  auto s = gob::Value::slice();
  for (auto& x : v) s.elems.push_back(gob::Value::of_string(x));
  (void)enc.encode(gob::slice_type("", gob::string_type()), s);
  return out;
}

}  // namespace

Result<PeerName> default_peer_name(const std::string& host_root) {
  std::string id = read_first_line(host_root + "/etc/machine-id");
  if (id.empty()) id = read_first_line(host_root + "/var/lib/dbus/machine-id");
  std::string uuid = read_first_line("/sys/class/dmi/id/product_uuid");
  if (uuid.empty()) uuid = read_first_line("/sys/hypervisor/uuid");
  if (id.empty() && uuid.empty()) return make_error("All system IDs are blank");
  auto ns = netns_inode("/proc/self/ns/net");
  if (!ns.empty() && ns != netns_inode("/proc/1/ns/net")) id += "-netns-" + ns;
  return PeerName::from_system_id(to_bytes(id + uuid));
}

Weaver::Weaver(boost::asio::io_context& io, WeaverConfig cfg, Logger log)
    : io_(io), cfg_(std::move(cfg)), log_(std::move(log)) {}

Result<void> Weaver::setup_identity() {
  auto path = cfg_.mesh.db_prefix + "data.db";
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) mkdirs(path.substr(0, slash));
  // Weave's own state file (BoltDB) is imported into weft's beside it (weave_import.hpp).
  WEFT_TRY(store, ipam::open_state_file(path, log_));
  store_.emplace(std::move(store));
  path = store_->path();

  if (cfg_.mesh.name) {
    self_.name = *cfg_.mesh.name;
  } else if (auto saved = store_->get("peername")) {
    auto vals = gob::decode_all(*saved);
    if (!vals || vals->size() != 1 || vals->front().kind != gob::Kind::Uint) {
      return make_error("state file {} has an unreadable peer name; run 'weave reset' to start afresh", path);
    }
    self_.name = PeerName(vals->front().u);
  } else {
    WEFT_TRY(n, default_peer_name(cfg_.mesh.host_root));
    self_.name = n;
  }
  if (store_->get("peername") != gob_uint(self_.name.value())) {
    WEFT_TRY_VOID(store_->put("peername", gob_uint(self_.name.value())));
  }
  self_.nickname = cfg_.mesh.nickname;
  if (self_.nickname.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    self_.nickname = host;
  }
  do {
    self_.uid = rng_.next_u64();
  } while (self_.uid == 0);
  self_.short_id = ShortID::from_uint(rng_.uniform(4096));
  return {};
}

Result<void> Weaver::load_password() {
  std::string password = cfg_.mesh.password;
  if (const auto& f = cfg_.mesh.password_file; password.empty() && !f.empty()) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return make_error("cannot read password file {}: {}", f, std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    password = ss.str();
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    if (password.empty()) return make_error("password file {} is empty", f);
  }
  if (!password.empty()) password_ = to_bytes(password);
  return {};
}

Result<void> Weaver::add_server(const std::string& addr, bool full, bool metrics_only) {
  if (addr.empty()) return {};
  http::Router r;
  if (metrics_only) {
    r.handle("GET", "/metrics", [this](auto&, auto&) {
      auto res = http::text_response(200, router::format_metrics(status()));
      res.content_type = "text/plain; version=0.0.4";
      return res;
    });
  } else {
    r = api_router(full);
  }
  http::HttpServerLimits limits;
  limits.refuse_browser_writes = true;  // see origin_guard.hpp
  auto srv = std::make_unique<http::HttpServer>(io_, std::move(r), log_.child("http"), limits);
  WEFT_TRY_VOID(srv->listen(addr));
  log_.info("Listening for {} on {}",
            full           ? "HTTP control messages"
            : metrics_only ? "metrics requests"
                           : "status requests",
            srv->address());
  servers_.push_back(std::move(srv));
  return {};
}

Result<void> Weaver::start() {
  // Every flag was checked by parse_config() before anything was created: a refused flag leaves no trace.
  for (auto& u : cfg_.unsupported) {
    log_.warn("flag {} is accepted for compatibility but is not supported by this weft build yet; ignoring it", u);
  }
  log_.set_level(cfg_.log_level);
  WEFT_TRY_VOID(load_password());

  WEFT_TRY_VOID(setup_identity());
  if (cfg_.print_peer_name) {
    fmt::print("{}\n", self_.name);
    std::exit(0);
  }

  mesh_net::NodeConfig cfg;
  cfg.self = self_;
  cfg.host = cfg_.mesh.host;
  cfg.port = cfg_.mesh.port;
  cfg.password = password_;
  cfg.conn_limit = cfg_.mesh.conn_limit;
  cfg.discovery = cfg_.mesh.discovery;
  cfg.trusted_subnets = cfg_.mesh.trusted_subnets;
  cfg.weft_gossip = cfg_.mesh.weft_gossip;
  if (cfg_.datapath.capture() == Backend::afpacket && cfg_.datapath.extended_overlay) {
    cfg.weft_overlay = router::extended_overlay_offer();
  }
  WEFT_TRY_VOID(load_fastdp(cfg));
  node_.emplace(io_, cfg, rng_, log_.child("router"));
  WEFT_TRY_VOID(node_->listen());
  WEFT_TRY_VOID(setup_datapath());
  WEFT_TRY_VOID(setup_dns());
  if (cfg_.ipam.enabled) {
    ipam_.emplace(io_, *node_, *store_, rng_, log_.child("ipam"));
    if (host_rules_) ipam_->on_owned_ranges([this](const auto& r) { host_rules_->owned_ranges(r); });
    WEFT_TRY_VOID(ipam_->start(cfg_.ipam, self_));
  }

  WEFT_TRY_VOID(setup_docker());
  WEFT_TRY_VOID(add_server(cfg_.http.control_addr, true, false));
  WEFT_TRY_VOID(add_server(cfg_.http.status_addr, false, false));
  WEFT_TRY_VOID(add_server(cfg_.http.metrics_addr, false, true));

  log_.info("Command line peers {}", fmt::join(cfg_.mesh.peers, " "));
  log_.info("weave  {}", kVersion);
  log_.info("Our name is {}({})", self_.name, self_.nickname);
  log_.info("Communication between peers {} encrypted.", password_ ? "is" : "is not");

  std::vector<std::string> peers = cfg_.mesh.peers;
  bool resume = cfg_.mesh.resume || ::access("restart.sentinel", F_OK) == 0;
  if (resume) {
    if (auto saved = store_->get("directPeers")) {
      auto vals = gob::decode_all(*saved);
      if (vals && vals->size() == 1 && vals->front().kind == gob::Kind::Slice) {
        peers.clear();
        for (auto& e : vals->front().elems) peers.push_back(e.s);
        log_.info("Resuming with persisted peers {}", fmt::join(peers, " "));
      }
    }
  }
  node_->start();
  if (!peers.empty()) {
    auto errors = node_->connect(peers, false);
    for (auto& e : errors) log_.error("bad peer: {}", e);
    if (!errors.empty()) return make_error("invalid peer address: {}", errors.front());
  }
  persist_direct_peers();
  return {};
}

Result<void> Weaver::choose_mtu() {
  mtu_ = cfg_.datapath.mtu;  // --mtu, else WEAVE_MTU (parse_config)
  if (mtu_ == 0 && kernel_) {
    int under = underlay_mtu(cfg_.datapath.bridge);
    mtu_ = under - router::kFastdpOverhead;
    log_.info("Using MTU {} (underlay MTU {} minus fastdp overhead {})", mtu_, under, router::kFastdpOverhead);
  }
  if (mtu_ == 0) {
    int under = underlay_mtu(cfg_.datapath.bridge);
    mtu_ = under - static_cast<int>(router::overhead_df(password_.has_value()));
    log_.info("Using MTU {} (underlay MTU {} minus sleeve overhead {})", mtu_, under,
              router::overhead_df(password_.has_value()));
  }
  if (mtu_ < 576 || mtu_ > 65535) return make_error("invalid MTU {}: want 576..65535", mtu_);
  return {};
}

Result<void> Weaver::setup_datapath() {
  const auto backend = cfg_.datapath.capture();
  const auto& bridge = cfg_.datapath.bridge;
  WEFT_TRY_VOID(choose_mtu());
  std::unique_ptr<datapath::Datapath> dp;
  if (backend == Backend::pcap || backend == Backend::afpacket || backend == Backend::dpdk) {
    datapath::host::HostSetup setup(log_.child("bridge"));
    datapath::host::BridgeConfig bc;
    bc.name = bridge;
    bc.mtu = static_cast<std::uint32_t>(mtu_);
    bc.mac = self_.name.mac();
    // AF_PACKET with virtio_net_hdr takes superframes and partial checksums whole: leave the
    // bridge's TX offloads on (and so the containers', see container_attach). Others need them off.
    bc.tx_offloads = backend == Backend::afpacket;
    WEFT_TRY(state, setup.ensure_bridge(bc));
    WEFT_TRY_VOID(setup_host_rules(state.addresses));
    auto ifname = std::string(datapath::host::kVethPcapEnd);
    if (backend == Backend::pcap) {
      WEFT_TRY(pcap, datapath::PcapDatapath::open(ifname, cfg_.datapath.bufsz_mb));
      dp = std::move(pcap);
    } else if (backend == Backend::dpdk) {
#ifdef WEFT_HAVE_DPDK
      datapath::DpdkOptions o;
      o.ifname = ifname;
      o.vdev = cfg_.datapath.dpdk_vdev;
      o.eal_args = cfg_.datapath.dpdk_eal_args;
      WEFT_TRY(dpdk, datapath::DpdkDatapath::open(o));
      log_.info("DPDK EAL: {}", fmt::join(datapath::DpdkDatapath::eal_args_used(), " "));
      dp = std::move(dpdk);
#else
      return make_error("--datapath-backend dpdk: this weaver was built without DPDK (libdpdk-dev missing at build time)");
#endif
    } else {
      datapath::AfPacketOptions ao;  // TPACKET_V2 ring (a wakeup per frame: low latency), batched tx
      ao.vnet_hdr = true;
      ao.keep_superframes = true;  // the overlay segments only for peers without the extension
      if (kernel_ && !password_) {
        // The kernel fast path forwards the traffic; the capture sees only what it punts. Start
        // with 2 of the 16 blocks (30 superframe slots, 2 MiB) and grow to 16 when a bulk flow
        // through userspace (a sleeve peer, a fallback) fills half of it. Encrypted meshes need
        // the userspace path from the start: they keep the 16.
        ao.block_count = 2;
        ao.grow_block_count = 16;
      }
      WEFT_TRY(afp, datapath::AfPacketDatapath::open(ifname, ao));
      dp = std::move(afp);
    }
  } else {
    dp = std::make_unique<router_net::NullDatapath>();  // --datapath-backend none
  }
  bool off_on = cfg_.datapath.udp_offload;
  WEFT_TRY(underlay, datapath::UdpUnderlay::open(cfg_.mesh.bind_ip, node_->bound_port(), {off_on, off_on}));
  auto off = underlay->offloads();
  log_.info("Sleeve on UDP port {} (UDP GSO {}, GRO {}), capturing with {}", node_->bound_port(), off.gso ? "on" : "off",
            off.gro ? "on" : "off", dp->describe());
  overlay_.emplace(io_, *node_, std::move(dp), std::move(underlay), mtu_, log_.child("sleeve"));
  WEFT_TRY_VOID(start_fastdp());
  overlay_->start();
  return {};
}

Result<void> Weaver::setup_dns() {
  const auto& d = cfg_.dns;
  if (!d.enabled) return {};
  dns::NameserverConfig nc;
  nc.self = self_.name;
  nc.domain = d.domain;
  nc.is_known_peer = [this](PeerName p) { return node_->core().topology().find(p) != nullptr; };
  nc.wall_clock = [](TimePoint) {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  nameserver_.emplace(std::move(nc), log_.child("nameserver"));
  node_->core().add_channel(std::string(dns::kChannelName), *nameserver_);
  node_->on_peers_gone([this](const std::vector<mesh::PeerSummary>& gone) {
    for (auto& p : gone) nameserver_->peer_gone(p.name);
  });
  dns_ticker_.emplace(io_, *nameserver_);
  dns_ticker_->start();
  dns_net::DnsServerConfig dc;
  dc.listen_address = d.listen_address;
  dc.responder = dns::ResponderConfig{d.domain, d.ttl};
  dc.resolv_conf = d.resolv_conf;
  dc.fallback_timeout = d.fallback_timeout;
  // Recursion only for the weave network and local sources (no open resolver on 0.0.0.0:53).
  std::vector<Cidr> ranges;
  if (cfg_.ipam.enabled) ranges.push_back(cfg_.ipam.range);
  auto policy = std::make_shared<dns_net::RecursionPolicy>(std::vector<std::string>{cfg_.datapath.bridge, "docker0"},
                                                           std::move(ranges));
  dc.allow_recursion = [policy](const boost::asio::ip::address& a) { return policy->allow(a); };
  dns_server_.emplace(io_, std::move(dc), *nameserver_, rng_, log_.child("dns"));
  WEFT_TRY_VOID(dns_server_->start());
  log_.info("Listening for DNS queries on {} for domain {}", dns_server_->address(), nameserver_->domain());
  return {};
}

void Weaver::with_sender(const std::string& channel, const std::function<void(TimePoint, mesh::GossipSender&)>& f) {
  node_->with_effects([&](mesh::Effects& fx) {
    auto now = Clock::now();
    auto out = node_->core().sender(channel, now, fx);
    f(now, *out);
  });
}

void Weaver::add_dns_routes(http::Router& r) {
  if (!nameserver_) return;
  auto dns_ch = std::string(dns::kChannelName);
  r.handle("PUT", "/name/{container}/{ip}", [this, dns_ch](const http::HttpRequest& req, const http::PathVars& v) {
    auto ip = Ipv4::parse(v.at("ip"));
    if (!ip) return http::text_response(400, fmt::format("invalid IP Address: {}", v.at("ip")));
    auto fqdn = req.form_value("fqdn");
    if (std::any_of(fqdn.begin(), fqdn.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      return http::text_response(400, "invalid fqdn: contains control characters");
    }
    with_sender(dns_ch, [&](TimePoint now, mesh::GossipSender& out) {
      nameserver_->add_entry_fqdn(now, fqdn, v.at("container"), *ip, &out);
    });
    return http::empty_response(204);
  });
  auto del = [this, dns_ch](const http::HttpRequest& req, const http::PathVars& v) {
    dns::DeleteFilter f;
    if (auto it = v.find("container"); it != v.end() && it->second != "*") f.container = it->second;
    if (auto it = v.find("ip"); it != v.end() && it->second != "*") {
      auto ip = Ipv4::parse(it->second);
      if (!ip) return http::text_response(400, fmt::format("invalid IP Address: {}", it->second));
      f.addr = *ip;
    }
    if (auto q = req.query_value("fqdn"); !q.empty() && q != "*") f.hostname = q;
    with_sender(dns_ch, [&](TimePoint now, mesh::GossipSender& out) { nameserver_->delete_entries(now, f, &out); });
    return http::empty_response(204);
  };
  r.handle("DELETE", "/name/{container}/{ip}", del);
  r.handle("DELETE", "/name/{container}", del);
  r.handle("DELETE", "/name", del);
  r.handle("GET", "/name", [this](auto&, auto&) {
     auto res = http::text_response(200, nameserver_->entries_json());
     return res;
   }).header("Accept", "application/json");
  r.handle("GET", "/domain", [this](auto&, auto&) { return http::text_response(200, nameserver_->domain()); });
  r.handle("GET", "/dns-address", [this](auto&, auto&) { return http::text_response(200, dns_server_->host()); });
  r.handle("GET", "/dns-address-port", [this](auto&, auto&) { return http::text_response(200, dns_server_->address()); });
}

bool Weaver::ready() const { return !plugin_ || plugin_->ready(); }

void Weaver::start_plugin() {
  plugin::PluginServiceConfig pc;
  pc.plugin_socket = cfg_.plugin.socket;
  pc.mesh_socket = cfg_.plugin.mesh_socket;
  pc.router_api = http::dial_address(cfg_.http.control_addr);
  pc.docker_api = cfg_.docker.api;
  pc.bridge = cfg_.datapath.bridge;
  pc.dns = nameserver_.has_value();
  pc.create_default_network = !cfg_.docker.api.empty();
  pc.router_wait_interval = std::chrono::milliseconds(200);  // weaver's API comes up right after
  pc.router_wait_tries = 300;
  pc.log = log_.child("plugin");
  plugin_ = std::make_unique<plugin::PluginService>(std::move(pc));
  plugin_->start();
}

proxy_net::ProxyConfig Weaver::proxy_config() const {
  const auto& p = cfg_.proxy;
  proxy_net::ProxyConfig pc;
  pc.docker = *cfg_.docker.endpoint;
  pc.router_api = p.router_api;
  pc.listen = p.listen;
  auto& rw = pc.rewrite;
  rw.without_dns = p.without_dns || !cfg_.dns.enabled;
  rw.no_default_ipalloc = p.no_default_ipalloc;
  rw.no_multicast_route = p.no_multicast_route;
  rw.hostname_from_label = p.hostname_from_label;
  rw.hostname_match = p.hostname_match;
  rw.hostname_replacement = p.hostname_replacement;
  rw.dns_domain = cfg_.dns.domain;
  if (rw.dns_domain.empty() || rw.dns_domain.back() != '.') rw.dns_domain += '.';
  const auto& dns_listen = cfg_.dns.listen_address;
  rw.dns_host = dns_listen.substr(0, dns_listen.rfind(':'));
  pc.rewrite_inspect = p.rewrite_inspect;
  pc.no_rewrite_hosts = p.no_rewrite_hosts;
  pc.weavewait_dir = p.weavewait_dir;
  pc.tls = proxy_net::tls_defaults(p.tls);
  pc.bridge = cfg_.datapath.bridge;
  return pc;
}

Result<void> Weaver::setup_docker() {
  if (cfg_.plugin.enabled) start_plugin();
  if (!cfg_.docker.endpoint) return {};
  const auto& ep = *cfg_.docker.endpoint;
  // One subscription to Docker's events serves the router (IPAM/DNS release), the plugin's
  // watcher and the proxy (attach on start). It starts once the proxy is up.
  if (plugin_ && nameserver_) {
    // The plugin's watcher (plugin/net): names go to our own nameserver, on io_.
    plugin_watcher_ = std::make_unique<plugin::PluginWatcher>(
        ep, cfg_.dns.domain,
        [this](const std::string& id, std::vector<attach::DnsName> names) {
          boost::asio::post(io_, [this, id, names = std::move(names)] {
            with_sender(std::string(dns::kChannelName), [&](TimePoint now, mesh::GossipSender& out) {
              for (const auto& n : names) nameserver_->add_entry_fqdn(now, n.fqdn, id, n.ip, &out);
            });
          });
        },
        log_);
  }
  docker_events_ = std::make_unique<proxy_net::DockerEvents>(
      ep, log_.child("docker"),
      [this](const proxy_net::ContainerEvent& ev) {
        if (proxy_) proxy_->container_event(ev);
        if (plugin_watcher_ && ev.action == "start") plugin_watcher_->container_started(ev.id);
        boost::asio::post(io_, [this, ev] { on_container_event(ev); });
      },
      [this] {
        if (proxy_) proxy_->attach_running();
      });
  if (cfg_.proxy.enabled) {
    proxy_ = std::make_unique<proxy_net::Proxy>(proxy_config(), log_.child("proxy"));
    WEFT_TRY_VOID(proxy_->start());
  }
  docker_events_->start();
  log_.info("Watching Docker at {} for container events", ep.str());
  return {};
}

void Weaver::on_container_event(const proxy_net::ContainerEvent& ev) {
  if (ipam_) ipam_->container_event(ev.action, ev.id);
  if (nameserver_ && (ev.action == "die" || ev.action == "destroy")) {
    with_sender(std::string(dns::kChannelName), [&](TimePoint now, mesh::GossipSender& out) {
      auto gone = nameserver_->container_died(now, ev.id, &out);
      if (!gone.empty()) log_.info("container {} {}: removed {} DNS entries", ev.id.substr(0, 12), ev.action, gone.size());
    });
  }
}

void Weaver::stop() {
  if (docker_events_) docker_events_->stop();  // first: its callbacks use the proxy and plugin
  if (plugin_) plugin_->stop();
  if (proxy_) proxy_->stop();
  if (ipam_) ipam_->stop();
  if (dns_server_) dns_server_->stop();
  if (dns_ticker_) dns_ticker_->stop();
  for (auto& s : servers_) s->stop();
  if (fastdp_) fastdp_->stop();
  if (overlay_) overlay_->stop();
  if (node_) node_->stop();
  if (host_rules_) host_rules_->stop();
}

Result<void> Weaver::setup_host_rules(const std::vector<Cidr>& bridge_addresses) {
  std::set<Cidr> no_nat;
  if (auto saved = store_->get(std::string(kExposedNoNatKey))) {
    if (auto vals = gob::decode_all(*saved); vals && vals->size() == 1 && vals->front().kind == gob::Kind::Slice) {
      for (auto& e : vals->front().elems) {
        if (auto c = Cidr::parse(e.s)) no_nat.insert(*c);
      }
    }
  }
  auto save = [this](const std::set<Cidr>& s) {
    std::vector<std::string> v;
    for (const auto& c : s) v.push_back(c.str());
    if (auto r = store_->put(std::string(kExposedNoNatKey), gob_strings(v)); !r) log_.error("{}", r.error().message);
  };
  host_rules_.emplace(cfg_.rules, std::move(no_nat), save, log_.child("iptables"));
  return host_rules_->start(bridge_addresses);
}

void Weaver::persist_direct_peers() {
  auto r = store_->put("directPeers", gob_strings(node_->connection_maker().direct_peers()));
  if (!r) log_.error("persisting peers: {}", r.error().message);
}

http::Router Weaver::api_router(bool full) {
  http::Router r;
  auto text = [](std::string s) { return http::text_response(200, std::move(s)); };
  r.handle("GET", "/status", [this, text](auto&, auto&) {
    auto res = text(router::format_status(status()));
    if (!ready()) res.status = 503;
    return res;
  });
  if (full) {
    r.handle("GET", "/proxyaddrs", [this](auto&, auto&) {
      if (!proxy_) return http::text_response(404, "404 page not found");
      std::string out;
      for (const auto& a : proxy_->addresses()) out += a + "\n";
      return http::text_response(200, out);
    });
  }
  r.handle("GET", "/status/peers", [this, text](auto&, auto&) { return text(router::format_status_peers(status().router)); });
  r.handle("GET", "/status/connections",
           [this, text](auto&, auto&) { return text(router::format_status_connections(status().router)); });
  r.handle("GET", "/status/targets",
           [this, text](auto&, auto&) { return text(router::format_status_targets(status().router)); });
  if (ipam_) {
    r.handle("GET", "/status/ipam",
             [this, text](auto&, auto&) { return text(ipam::format_status_ipam(ipam_->status())); });
  }
  if (nameserver_) {
    r.handle("GET", "/status/dns", [this, text](auto&, auto&) { return text(nameserver_->format_status_dns()); });
  }
  r.handle("GET", "/report", [this](auto&, auto&) {
     return http::json_response(report_json());
   }).header("Accept", "application/json");
  r.handle("GET", "/report", [this](const http::HttpRequest& req, auto&) {
    auto it = req.query.find("format");
    if (it == req.query.end() || it->second.size() != 1) {
      return http::text_response(400, "error: must supply one format parameter");
    }
    // A malformed template is refused before the report (O(peers)) is built.
    if (auto ok = router::check_report_template(it->second[0]); !ok)
      return http::text_response(400, ok.error().message);
    auto out = router::render_report_template(it->second[0], report_tree());
    if (!out) return http::text_response(400, out.error().message);
    return http::text_response(200, *out);
  });
  r.handle("GET", "/metrics", [this](auto&, auto&) {
    auto res = http::text_response(200, router::format_metrics(status()));
    res.content_type = "text/plain; version=0.0.4";
    return res;
  });
  if (!full) return r;
  add_dns_routes(r);
  if (ipam_) ipam_->add_routes(r);
  r.handle("POST", "/connect", [this](const http::HttpRequest& req, auto&) {
    std::vector<std::string> peers;
    if (auto it = req.form.find("peer"); it != req.form.end()) peers = it->second;
    bool replace = req.form_value("replace") == "true";
    auto errors = node_->connect(peers, replace);
    persist_direct_peers();
    if (!errors.empty()) {
      std::string msg;
      for (auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
      return http::text_response(400, msg);
    }
    return http::empty_response(200);
  });
  r.handle("POST", "/forget", [this](const http::HttpRequest& req, auto&) {
    std::vector<std::string> peers;
    if (auto it = req.form.find("peer"); it != req.form.end()) peers = it->second;
    node_->forget(peers);
    persist_direct_peers();
    return http::empty_response(200);
  });
  r.handle("POST", "/expose/{ip}/{prefixlen}", [this](const http::HttpRequest& req, const http::PathVars& v) {
    auto cidr = Cidr::parse(v.at("ip") + "/" + v.at("prefixlen"));
    if (!cidr) return http::text_response(400, fmt::format("unable to parse ip addr: {}/{}", v.at("ip"), v.at("prefixlen")));
    if (cfg_.datapath.backend == Backend::none) {
      return http::text_response(500, "unable to expose: there is no bridge (--datapath-backend none)");
    }
    datapath::host::HostSetup setup(log_.child("bridge"));
    auto r = setup.expose(cfg_.datapath.bridge, *cidr);
    if (!r) return http::text_response(500, fmt::format("unable to expose: {}", r.error().message));
    auto skip = req.form_value("skipNAT");
    bool skip_nat = skip == "true" || skip == "1" || skip == "t" || skip == "TRUE" || skip == "True" || skip == "T";
    if (!skip_nat && !skip.empty() && skip != "false" && skip != "0" && skip != "f" && skip != "FALSE" &&
        skip != "False" && skip != "F") {
      return http::text_response(400, fmt::format("strconv.ParseBool: parsing \"{}\": invalid syntax", skip));
    }
    if (host_rules_) {
      if (auto e = host_rules_->expose(*cidr, !skip_nat); !e) {
        return http::text_response(500, fmt::format("unable to expose: {}", e.error().message));
      }
    }
    return http::empty_response(204);
  });
  // With IPAM off, rmpeer and reset answer as Weave does (the routes are always registered).
  if (!ipam_) {
    r.handle("DELETE", "/peer", [](auto&, auto&) { return http::empty_response(204); });
    r.handle("DELETE", "/peer/{id}", [](auto&, auto&) { return http::empty_response(200); });
  }
  return r;
}

}  // namespace weft::weaver
