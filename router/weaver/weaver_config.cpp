#include "weaver_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "weft/base/cidr_list.hpp"
#include "weft/http/listen_address.hpp"
#include "weft/mesh/connection_maker.hpp"
#include "weft/proxy/rewrite.hpp"

namespace weft::weaver {

namespace {

constexpr std::pair<std::string_view, Backend> kBackends[] = {
    {"auto", Backend::automatic},    {"kernel", Backend::kernel}, {"pcap", Backend::pcap},
    {"afpacket", Backend::afpacket}, {"dpdk", Backend::dpdk},     {"none", Backend::none}};

Result<void> check_listen(const std::string& flag, const std::string& v) {
  if (v.empty()) return {};
  auto a = http::ListenAddress::parse(v);
  if (!a) return make_error("--{}: {}", flag, a.error().message);
  return {};
}

/// An integer flag's value within [lo, hi]; outside it, `message` (which names the value).
template <typename T>
Result<T> int_flag(const Options& o, const std::string& name, std::int64_t lo, std::int64_t hi, std::string_view what) {
  WEFT_TRY(v, o.integer(name));
  if (v < lo || v > hi) return make_error("{} {}", what, v);
  return static_cast<T>(v);
}

Result<std::int64_t> env_mtu(const EnvLookup& env) {
  auto text = env("WEAVE_MTU");
  if (!text || text->empty()) return 0;
  auto v = parse_decimal(*text);
  if (!v) return make_error("invalid WEAVE_MTU {:?}", *text);
  return *v;
}

Result<void> mesh_identity(const Options& o, MeshSection& m) {
  if (o.given("name")) {
    auto text = o.get("name");
    auto n = PeerName::parse(text);
    if (!n) return make_error("invalid peer name {:?}: want aa:bb:cc:dd:ee:ff", text);
    m.name = *n;
  }
  m.nickname = o.get("nickname");
  m.db_prefix = o.get("db-prefix");
  m.host_root = o.get("host-root");
  m.resume = o.flag("resume");
  return {};
}

void mesh_password(const Options& o, const EnvLookup& env, MeshSection& m) {
  m.password = o.get("password");
  if (m.password.empty()) m.password = env("WEAVE_PASSWORD").value_or("");
  if (m.password.empty()) m.password_file = env("WEAVE_PASSWORD_FILE").value_or("");
}

Result<MeshSection> mesh_section(const Options& o, const EnvLookup& env) {
  MeshSection m;
  WEFT_TRY_VOID(mesh_identity(o, m));
  WEFT_TRY(conn_limit, int_flag<std::size_t>(o, "conn-limit", 0, INT64_MAX, "invalid --conn-limit"));
  m.conn_limit = conn_limit;
  WEFT_TRY(min_version, o.integer("min-protocol-version"));
  if (min_version > 2) return make_error("--min-protocol-version {} is above the highest version (2)", min_version);
  m.min_protocol_version = static_cast<int>(std::max<std::int64_t>(min_version, 0));
  WEFT_TRY(trusted, parse_cidr_list(o.get("trusted-subnets")));
  m.trusted_subnets = std::move(trusted);
  m.discovery = !o.flag("no-discovery");
  m.weft_gossip = o.flag("weft-gossip");
  m.host = o.get("host");
  if (!m.host.empty()) {
    auto ip = Ipv4::parse(m.host);
    if (!ip) return make_error("invalid --host {:?}: want an IPv4 address", m.host);
    m.bind_ip = *ip;
  }
  WEFT_TRY(port, int_flag<std::uint16_t>(o, "port", 1, 65535, "invalid port"));
  m.port = port;
  mesh_password(o, env, m);
  return m;
}

Result<Backend> parse_backend(const std::string& s) {
  for (const auto& [name, b] : kBackends) {
    if (s == name) return b;
  }
  return make_error("unknown --datapath-backend {:?}: want pcap, afpacket, dpdk, auto, kernel or none", s);
}

Result<DatapathSection> datapath_section(const Options& o, const EnvLookup& env) {
  DatapathSection d;
  // MTU: --mtu, else WEAVE_MTU; 0 means "from the underlay" (checked once known).
  WEFT_TRY(mtu, o.integer("mtu"));
  if (mtu == 0) {
    WEFT_TRY(from_env, env_mtu(env));
    mtu = from_env;
  }
  if (mtu != 0 && (mtu < 576 || mtu > 65535)) return make_error("invalid MTU {}: want 576..65535", mtu);
  d.mtu = static_cast<int>(mtu);
  WEFT_TRY(backend, parse_backend(o.get("datapath-backend")));
#ifndef WEFT_HAVE_DPDK
  if (backend == Backend::dpdk) {
    return make_error(
        "--datapath-backend dpdk: this weaver was built without DPDK (libdpdk-dev missing at build time)");
  }
#endif
  d.backend = backend;
  d.bridge = o.get("weave-bridge");
  WEFT_TRY(bufsz, int_flag<int>(o, "bufsz", INT32_MIN, INT32_MAX, "invalid --bufsz"));
  d.bufsz_mb = bufsz;
  d.dpdk_vdev = o.get("dpdk-vdev");
  std::istringstream extra(o.get("dpdk-eal-args"));
  for (std::string a; extra >> a;) d.dpdk_eal_args.push_back(a);
  d.extended_overlay = o.flag("extended-overlay");
  d.udp_offload = o.flag("udp-offload");
  return d;
}

Result<FastdpSection> fastdp_section(const Options& o, Backend backend) {
  FastdpSection f;
  f.wanted = backend == Backend::automatic || backend == Backend::kernel;
  f.insist = backend == Backend::kernel;
  f.disabled = o.flag("no-fastdp");
  f.refuse = o.flag("fastdp-refuse");
  f.no_direct = o.flag("no-fastdp-direct");
  if (f.insist && f.disabled) return make_error("--datapath-backend kernel and --no-fastdp contradict each other");
  return f;
}

Result<datapath::host::RouterRulesConfig> rules_section(const Options& o, std::uint16_t port,
                                                        const std::string& bridge) {
  datapath::host::RouterRulesConfig cfg;
  cfg.bridge = bridge;
  cfg.docker_bridge = o.get("docker-bridge");
  cfg.expect_npc = o.flag("expect-npc");
  cfg.no_masq_local = o.flag("no-masq-local");
  cfg.port = port;
  if (auto addr = o.get("http-addr"); !addr.empty()) {
    auto a = http::ListenAddress::parse(addr);
    if (!a) return make_error("--http-addr: {}", a.error().message);
    if (a->kind == http::ListenAddress::Kind::tcp) cfg.control_port = a->port;
  }
  return cfg;
}

Result<DnsSection> dns_section(const Options& o) {
  DnsSection d;
  d.enabled = !o.flag("no-dns");
  d.domain = o.get("dns-domain");
  d.listen_address = o.get("dns-listen-address");
  d.resolv_conf = o.get("resolv-conf");
  if (!d.enabled) return d;
  WEFT_TRY(ttl, int_flag<std::uint32_t>(o, "dns-ttl", 0, 0x7fffffff, "invalid --dns-ttl"));
  WEFT_TRY(fallback, int_flag<std::int64_t>(o, "dns-fallback-timeout", 1, INT64_MAX, "invalid --dns-fallback-timeout"));
  d.ttl = ttl;
  d.fallback_timeout = std::chrono::milliseconds(fallback);
  WEFT_TRY_VOID(check_listen("dns-listen-address", d.listen_address));
  return d;
}

Result<IpamSection> ipam_section(const Options& o) {
  IpamSection s;
  s.no_masq_local = o.flag("no-masq-local");
  auto text = o.get("ipalloc-range");
  if (text.empty()) return s;
  s.enabled = true;
  auto range = Cidr::parse(text);
  if (!range) return make_error("invalid --ipalloc-range {:?}: want a CIDR such as 10.32.0.0/12", text);
  s.range = range->network();
  if (s.range.size() < 4) return make_error("--ipalloc-range {} is smaller than 4 addresses", s.range);
  s.default_subnet = s.range;
  if (auto ds = o.get("ipalloc-default-subnet"); !ds.empty()) {
    WEFT_TRY(subnet, ipam::parse_default_subnet(s.range, ds));
    s.default_subnet = subnet;
  }
  auto init = o.get("ipalloc-init");
  WEFT_TRY(parsed, ipam::IpallocInit::parse(init.empty() ? "consensus" : init));
  s.init = std::move(parsed);
  return s;
}

Result<HttpSection> http_section(const Options& o) {
  HttpSection h{o.get("http-addr"), o.get("status-addr"), o.get("metrics-addr")};
  WEFT_TRY_VOID(check_listen("http-addr", h.control_addr));
  WEFT_TRY_VOID(check_listen("status-addr", h.status_addr));
  WEFT_TRY_VOID(check_listen("metrics-addr", h.metrics_addr));
  return h;
}

Result<DockerSection> docker_section(const Options& o, const EnvLookup& env, bool proxy) {
  DockerSection d;
  d.api = o.get("docker-api");
  std::string where = d.api;
  if (where.empty() && proxy) {
    where = env("DOCKER_HOST").value_or("");
    if (where.empty()) where = "unix:///var/run/docker.sock";
  }
  if (where.empty()) return d;
  auto ep = http::Endpoint::parse(where);
  if (!ep) return make_error("--docker-api: {}", ep.error().message);
  d.endpoint = *ep;
  return d;
}

Result<PluginSection> plugin_section(const Options& o, const HttpSection& web) {
  PluginSection p{o.flag("plugin"), o.get("plugin-socket"), o.get("plugin-mesh-socket")};
  if (p.enabled && web.control_addr.empty()) {
    return make_error("--plugin needs --http-addr (the plugin allocates addresses through it)");
  }
  return p;
}

void proxy_rewrites(const Options& o, ProxySection& p) {
  p.hostname_from_label = o.get("hostname-from-label");
  p.hostname_match = o.get("hostname-match");
  p.hostname_replacement = o.get("hostname-replacement");
  p.rewrite_inspect = o.flag("rewrite-inspect");
  p.no_default_ipalloc = o.flag("no-default-ipalloc");
  p.no_rewrite_hosts = o.flag("no-rewrite-hosts");
  p.without_dns = o.flag("without-dns");
  p.no_multicast_route = o.flag("no-multicast-route");
  p.weavewait_dir = o.get("weavewait-dir");
  p.tls = {o.flag("tls"), o.flag("tlsverify"), o.get("tlscacert"), o.get("tlscert"), o.get("tlskey")};
}

Result<ProxySection> proxy_section(const Options& o, const HttpSection& web) {
  ProxySection p;
  p.enabled = o.flag("proxy");
  if (auto it = o.lists.find("H"); it != o.lists.end()) p.listen = it->second;
  proxy_rewrites(o, p);
  if (!p.enabled) return p;
  if (web.control_addr.empty())
    return make_error("--proxy needs --http-addr (the proxy allocates addresses through it)");
  if (p.listen.empty()) return make_error("--proxy needs at least one -H address");
  WEFT_TRY(test, proxy::replace_hostname("x", p.hostname_match, p.hostname_replacement));
  (void)test;
  WEFT_TRY(api, http::Endpoint::parse(web.control_addr));
  if (api.kind == http::Endpoint::Kind::tcp && (api.host == "0.0.0.0" || api.host == "::")) api.host = "127.0.0.1";
  p.router_api = api;
  return p;
}

Result<void> check_peers(const std::vector<std::string>& peers) {
  for (const auto& p : peers) {
    if (auto a = mesh::PeerAddress::parse(p); !a) return make_error("invalid peer address: {}", a.error().message);
  }
  return {};
}

/// The sections in the order weaver has always checked them (the first error wins).
Result<void> fill_sections(const Options& o, const EnvLookup& env, WeaverConfig& c) {
  WEFT_TRY(mesh_s, mesh_section(o, env));
  WEFT_TRY(dp_s, datapath_section(o, env));
  WEFT_TRY(fastdp_s, fastdp_section(o, dp_s.backend));
  WEFT_TRY(rules_s, rules_section(o, mesh_s.port, dp_s.bridge));
  WEFT_TRY(dns_s, dns_section(o));
  WEFT_TRY(ipam_s, ipam_section(o));
  WEFT_TRY(http_s, http_section(o));
  WEFT_TRY(plugin_s, plugin_section(o, http_s));
  WEFT_TRY(proxy_s, proxy_section(o, http_s));
  WEFT_TRY(docker_s, docker_section(o, env, proxy_s.enabled));
  WEFT_TRY_VOID(check_peers(o.peers));
  mesh_s.peers = o.peers;
  c.mesh = std::move(mesh_s);
  c.datapath = std::move(dp_s);
  c.fastdp = fastdp_s;
  c.rules = std::move(rules_s);
  c.dns = std::move(dns_s);
  c.ipam = std::move(ipam_s);
  c.http = std::move(http_s);
  c.plugin = std::move(plugin_s);
  c.proxy = std::move(proxy_s);
  c.docker = std::move(docker_s);
  return {};
}

}  // namespace

std::string_view backend_name(Backend b) {
  for (const auto& [name, v] : kBackends) {
    if (v == b) return name;
  }
  return "?";
}

Backend DatapathSection::capture() const {
  // "auto": the fastest backend measured on this kind of machine (scripts/bench): AF_PACKET with
  // virtio_net_hdr, which keeps TSO superframes whole (and the extended overlay with weft peers).
  return backend == Backend::automatic || backend == Backend::kernel ? Backend::afpacket : backend;
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

Result<WeaverConfig> parse_config(const Options& opts, const EnvLookup& env) {
  WeaverConfig c;
  auto level_text = opts.get("log-level");
  auto level = parse_log_level(level_text);
  if (!level) return make_error("invalid log level {:?}", level_text);
  c.log_level = *level;
  c.print_peer_name = opts.flag("print-peer-name");
  WEFT_TRY_VOID(fill_sections(opts, env, c));
  c.unsupported = opts.unsupported;
  return c;
}

Result<WeaverConfig> parse_config(const std::vector<std::string>& args, const EnvLookup& env) {
  WEFT_TRY(opts, parse_flags(args));
  return parse_config(opts, env);
}

}  // namespace weft::weaver
