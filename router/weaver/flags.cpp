#include "flags.hpp"

#include <fmt/format.h>

#include <charconv>

namespace weft::weaver {
namespace {

enum class Kind { string, boolean, integer, list };
enum class Support { yes, later, obsolete };

struct Spec {
  Kind kind;
  std::string dflt;
  Support support;
  std::string help;
};

const std::map<std::string, Spec>& specs() {
  static const std::map<std::string, Spec> m = {
      // router and mesh
      {"name", {Kind::string, "", Support::yes, "name of router (defaults to a name derived from the machine)"}},
      {"nickname", {Kind::string, "", Support::yes, "nickname of peer (defaults to hostname)"}},
      {"host", {Kind::string, "", Support::yes, "router host (listen address)"}},
      {"port", {Kind::integer, "6783", Support::yes, "router port"}},
      {"password", {Kind::string, "", Support::yes, "network password (or env WEAVE_PASSWORD)"}},
      {"min-protocol-version", {Kind::integer, "1", Support::yes, "minimum weave protocol version"}},
      {"conn-limit", {Kind::integer, "200", Support::yes, "connection limit (0 for unlimited)"}},
      {"no-discovery", {Kind::boolean, "false", Support::yes, "disable peer discovery"}},
      {"trusted-subnets", {Kind::string, "", Support::yes, "comma-separated list of trusted subnets in CIDR notation"}},
      {"resume", {Kind::boolean, "false", Support::yes, "ignore command-line peers and use the persisted list"}},
      {"log-level", {Kind::string, "info", Support::yes, "logging level (debug, info, warning, error)"}},
      {"pkt-debug", {Kind::boolean, "false", Support::later, "enable per-packet debug logging"}},
      {"mtu",
       {Kind::integer, "0", Support::yes, "MTU of the overlay (default: underlay MTU minus overhead; env WEAVE_MTU)"}},
      {"bufsz",
       {Kind::integer, "64", Support::yes,
        "capture buffer size in MB (weft default 64: pcap ring slots are snaplen-sized)"}},
      {"weave-bridge", {Kind::string, "weave", Support::yes, "name of weave bridge"}},
      {"datapath-backend",
       {Kind::string, "auto", Support::yes,
        "weft: frame capture backend: pcap, afpacket, dpdk, auto (the kernel fast path over afpacket when the kernel "
        "takes its eBPF programs, else afpacket), kernel (the same, but an error when the kernel refuses), or none "
        "(mesh only)"}},
      {"dpdk-vdev",
       {Kind::string, "", Support::yes,
        "weft: DPDK vdev for --datapath-backend dpdk (default net_af_packet on vethwe-pcap)"}},
      {"dpdk-eal-args", {Kind::string, "", Support::yes, "weft: extra DPDK EAL arguments, space-separated"}},
      {"extended-overlay",
       {Kind::boolean, "true", Support::yes,
        "weft: with --datapath-backend afpacket, offer weft peers the extended overlay (TSO superframes whole, AEAD "
        "when encrypted); Weave peers always get the sleeve"}},
      {"weft-gossip",
       {Kind::boolean, "true", Support::yes,
        "weft: offer weft peers topology digests instead of the periodic full topology (feature WeftGossip); Weave "
        "peers always get the full state"}},
      {"udp-offload",
       {Kind::boolean, "true", Support::yes,
        "weft: UDP GSO/GRO on the sleeve's UDP sockets (datagrams on the wire are unchanged)"}},
      {"docker-bridge",
       {Kind::string, "", Support::yes,
        "name of Docker bridge (iptables rules guard the router from its containers; empty: none)"}},
      {"datapath", {Kind::string, "", Support::later, "ODP datapath name"}},
      {"no-fastdp", {Kind::boolean, "false", Support::yes, "disable fast datapath (weft: the eBPF/VXLAN kernel path)"}},
      {"fastdp-refuse",
       {Kind::boolean, "false", Support::yes,
        "weft, for tests: behave as if the kernel refused the fast path's eBPF programs"}},
      {"no-fastdp-direct",
       {Kind::boolean, "false", Support::yes,
        "weft: the fast path sends and delivers containers' unicast through the bridge, never skipping it "
        "(implied by --expect-npc)"}},
      {"no-bridged-fastdp", {Kind::boolean, "false", Support::later, "disable bridged fast datapath"}},
      {"no-masq-local",
       {Kind::boolean, "false", Support::yes,
        "do not SNAT external traffic to local containers (ipset weaver-no-masq-local)"}},
      {"expect-npc",
       {Kind::boolean, "false", Support::yes,
        "set to true if the network policy controller runs (FORWARD hooks WEAVE-NPC, WEAVE-NPC-EGRESS, NFLOG 86, "
        "DROP)"}},
      {"print-peer-name", {Kind::boolean, "false", Support::yes, "print the peer name and exit"}},
      {"version", {Kind::boolean, "false", Support::yes, "print version and exit"}},
      // HTTP
      {"http-addr", {Kind::string, "", Support::yes, "address to bind the HTTP API to (empty = disabled)"}},
      {"status-addr", {Kind::string, "", Support::yes, "address to bind the status API to (empty = disabled)"}},
      {"metrics-addr", {Kind::string, "", Support::yes, "address to bind the metrics API to (empty = disabled)"}},
      // IPAM
      {"ipalloc-range", {Kind::string, "", Support::yes, "IP address range reserved for automatic allocation"}},
      {"ipalloc-default-subnet", {Kind::string, "", Support::yes, "subnet to allocate within by default"}},
      {"ipalloc-init", {Kind::string, "", Support::yes, "consensus[=N] | seed=name,... | observer"}},
      {"db-prefix", {Kind::string, "/weavedb/weave", Support::yes, "pathname/prefix of the state file"}},
      {"host-root",
       {Kind::string, "", Support::yes, "path to the host's root filesystem (machine IDs for the peer name)"}},
      {"proc-path", {Kind::string, "/proc", Support::later, "path to /proc"}},
      // DNS
      {"no-dns", {Kind::boolean, "false", Support::yes, "disable DNS server"}},
      {"dns-domain", {Kind::string, "weave.local.", Support::yes, "local domain to server requests for"}},
      {"dns-listen-address", {Kind::string, "0.0.0.0:53", Support::yes, "address to listen on for DNS requests"}},
      {"dns-ttl", {Kind::integer, "1", Support::yes, "TTL for DNS request from our domain"}},
      {"dns-fallback-timeout", {Kind::integer, "5000", Support::yes, "timeout for fallback DNS requests (ms)"}},
      {"resolv-conf", {Kind::string, "/etc/resolv.conf", Support::yes, "path to resolver configuration"}},
      // Docker
      {"docker-api", {Kind::string, "", Support::yes, "Docker API endpoint"}},
      {"proxy", {Kind::boolean, "false", Support::yes, "instruct weaver to start the Docker API proxy"}},
      {"H", {Kind::list, "", Support::yes, "proxy listen address (repeatable)"}},
      {"hostname-from-label", {Kind::string, "", Support::yes, "key of container label for the hostname"}},
      {"hostname-match", {Kind::string, "(.*)", Support::yes, "regexp to match container names"}},
      {"hostname-replacement", {Kind::string, "$1", Support::yes, "replacement for hostname-match"}},
      {"rewrite-inspect", {Kind::boolean, "false", Support::yes, "rewrite inspect with weave addresses"}},
      {"no-default-ipalloc", {Kind::boolean, "false", Support::yes, "containers need WEAVE_CIDR to be attached"}},
      {"no-rewrite-hosts", {Kind::boolean, "false", Support::yes, "do not rewrite /etc/hosts"}},
      {"without-dns", {Kind::boolean, "false", Support::yes, "instruct created containers not to use weaveDNS"}},
      {"no-multicast-route", {Kind::boolean, "false", Support::yes, "do not add a multicast route"}},
      {"tls", {Kind::boolean, "false", Support::yes, "use TLS for the proxy"}},
      {"tlsverify", {Kind::boolean, "false", Support::yes, "use TLS and verify clients"}},
      {"tlscacert", {Kind::string, "", Support::yes, "trust certs signed only by this CA"}},
      {"tlscert", {Kind::string, "", Support::yes, "path to TLS certificate file"}},
      {"tlskey", {Kind::string, "", Support::yes, "path to TLS key file"}},
      {"plugin", {Kind::boolean, "false", Support::yes, "enable the Docker network plugin"}},
      {"plugin-v2", {Kind::boolean, "false", Support::later, "enable Docker plugin v2"}},
      {"plugin-v2-multicast", {Kind::boolean, "false", Support::later, "enable multicast in plugin v2"}},
      {"plugin-socket", {Kind::string, "/run/docker/plugins/weave.sock", Support::yes, "plugin socket"}},
      {"weavewait-dir",
       {Kind::string, "", Support::yes,
        "weft: host directory holding w/w, w-noop/w and w-nomcast/w for the proxy when weaver does not run in its "
        "image"}},
      {"plugin-mesh-socket", {Kind::string, "/run/docker/plugins/weavemesh.sock", Support::yes, "plugin mesh socket"}},
      // cloud-specific and obsolete
      {"awsvpc", {Kind::boolean, "false", Support::obsolete, "AWS VPC mode (not supported by weft)"}},
      {"peer-discovery-url", {Kind::string, "", Support::obsolete, "peer discovery service (not supported by weft)"}},
      {"token", {Kind::string, "", Support::obsolete, "peer discovery token (not supported by weft)"}},
      {"advertise-address", {Kind::string, "", Support::obsolete, "peer discovery address (not supported by weft)"}},
      {"profile", {Kind::boolean, "false", Support::obsolete, "enable Go profiling (not applicable to weft)"}},
  };
  return m;
}

std::optional<bool> parse_bool(const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return std::nullopt;
}

}  // namespace

std::string Options::get(const std::string& name) const {
  if (auto it = values.find(name); it != values.end()) return it->second;
  auto it = specs().find(name);
  return it == specs().end() ? std::string{} : it->second.dflt;
}

bool Options::flag(const std::string& name) const { return get(name) == "true"; }

Result<std::int64_t> Options::integer(const std::string& name) const { return parse_int_flag(name, get(name)); }

std::optional<std::int64_t> parse_decimal(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);  // as strconv.ParseInt
  if (digits.empty() || (digits.size() < text.size() && digits.front() == '-')) return std::nullopt;
  std::int64_t v = 0;
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, v);
  if (ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

Result<std::int64_t> parse_int_flag(std::string_view name, std::string_view text) {
  auto v = parse_decimal(text);
  if (!v) return make_error("invalid value \"{}\" for flag -{}: parse error", text, name);
  return *v;
}

Result<Options> parse_flags(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--" ) {
      o.peers.insert(o.peers.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      o.peers.push_back(a);
      continue;
    }
    auto body = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    auto it = specs().find(body);
    if (it == specs().end()) return make_error("flag provided but not defined: -{}", body);
    const auto& spec = it->second;
    if (spec.kind == Kind::boolean) {
      auto v = parse_bool(value.value_or("true"));
      if (!v) return make_error("invalid boolean value \"{}\" for -{}", *value, body);
      o.values[body] = *v ? "true" : "false";
    } else {
      if (!value) {
        if (i + 1 >= args.size()) return make_error("flag needs an argument: -{}", body);
        value = args[++i];
      }
      if (spec.kind == Kind::integer) WEFT_TRY_VOID(parse_int_flag(body, *value));
      if (spec.kind == Kind::list) o.lists[body].push_back(*value);
      o.values[body] = *value;
    }
    bool set_on = spec.kind == Kind::boolean ? o.values[body] == "true" : !o.values[body].empty();
    if (spec.support != Support::yes && set_on) {
      o.unsupported.push_back(fmt::format("--{}{}", body, spec.support == Support::obsolete ? " (obsolete)" : ""));
    }
  }
  return o;
}

std::string usage() {
  std::string s = "Usage: weaver [OPTIONS] [PEER...]\n\nweft's router daemon, a drop-in for Weave Net 2.8's weaver.\n\n";
  for (auto& [name, spec] : specs()) {
    std::string arg = spec.kind == Kind::boolean ? "" : spec.kind == Kind::integer ? " int" : " string";
    std::string dflt = spec.dflt.empty() || spec.kind == Kind::boolean ? "" : fmt::format(" (default \"{}\")", spec.dflt);
    std::string tag = spec.support == Support::later ? " [not yet built in weft]"
                      : spec.support == Support::obsolete ? " [obsolete]" : "";
    s += fmt::format("  --{}{}\n        {}{}{}\n", name, arg, spec.help, dflt, tag);
  }
  return s;
}

}  // namespace weft::weaver
