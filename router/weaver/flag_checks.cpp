#include "flag_checks.hpp"

#include <cstdlib>

#include "host_rules.hpp"
#include "ipam_service.hpp"
#include "weft/base/cidr_list.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/http/client.hpp"
#include "weft/http/listen_address.hpp"
#include "weft/mesh/connection_maker.hpp"
#include "weft/proxy/rewrite.hpp"

namespace weft::weaver {

namespace {

Result<void> check_listen(const Options& opts, const std::string& flag) {
  auto v = opts.get(flag);
  if (v.empty()) return {};
  auto a = http::ListenAddress::parse(v);
  if (!a) return make_error("--{}: {}", flag, a.error().message);
  return {};
}

}  // namespace

Result<void> check_flags(const Options& opts) {
  if (!parse_log_level(opts.get("log-level"))) return make_error("invalid log level {:?}", opts.get("log-level"));
  if (opts.given("name") && !PeerName::parse(opts.get("name"))) {
    return make_error("invalid peer name {:?}: want aa:bb:cc:dd:ee:ff", opts.get("name"));
  }
  if (auto conn_limit = std::stol(opts.get("conn-limit")); conn_limit < 0) {
    return make_error("invalid --conn-limit {}", conn_limit);
  }
  if (std::stol(opts.get("min-protocol-version")) > 2) {
    return make_error("--min-protocol-version {} is above the highest version (2)", opts.get("min-protocol-version"));
  }
  WEFT_TRY(trusted, parse_cidr_list(opts.get("trusted-subnets")));
  (void)trusted;
  if (auto h = opts.get("host"); !h.empty() && !Ipv4::parse(h)) {
    return make_error("invalid --host {:?}: want an IPv4 address", h);
  }
  // MTU: --mtu, else WEAVE_MTU; 0 means "from the underlay" (checked once known).
  long mtu = std::stol(opts.get("mtu"));
  if (mtu == 0) {
    if (const char* env = std::getenv("WEAVE_MTU"); env && *env) {
      char* end = nullptr;
      mtu = std::strtol(env, &end, 10);
      if (end == env || *end != '\0') return make_error("invalid WEAVE_MTU {:?}", env);
    }
  }
  if (mtu != 0 && (mtu < 576 || mtu > 65535)) return make_error("invalid MTU {}: want 576..65535", mtu);
  auto backend = opts.get("datapath-backend");
  if (backend != "auto" && backend != "kernel" && backend != "pcap" && backend != "afpacket" && backend != "dpdk" &&
      backend != "none") {
    return make_error("unknown --datapath-backend {:?}: want pcap, afpacket, dpdk, auto, kernel or none", backend);
  }
#ifndef WEFT_HAVE_DPDK
  if (backend == "dpdk") {
    return make_error("--datapath-backend dpdk: this weaver was built without DPDK (libdpdk-dev missing at build time)");
  }
#endif
  WEFT_TRY(rules, host_rules_config(opts));
  (void)rules;
  if (!opts.flag("no-dns")) {
    auto ttl = std::stol(opts.get("dns-ttl"));
    auto fallback = std::stol(opts.get("dns-fallback-timeout"));
    if (ttl < 0 || ttl > 0x7fffffff) return make_error("invalid --dns-ttl {}", ttl);
    if (fallback <= 0) return make_error("invalid --dns-fallback-timeout {}", fallback);
    WEFT_TRY_VOID(check_listen(opts, "dns-listen-address"));
  }
  if (!opts.get("ipalloc-range").empty()) {
    WEFT_TRY(ipam, ipam_flags(opts));
    (void)ipam;
  }
  for (const auto* flag : {"http-addr", "status-addr", "metrics-addr"}) WEFT_TRY_VOID(check_listen(opts, flag));
  // Docker proxy and plugin.
  bool proxy = opts.flag("proxy");
  if (opts.flag("plugin") && opts.get("http-addr").empty()) {
    return make_error("--plugin needs --http-addr (the plugin allocates addresses through it)");
  }
  if (auto api = opts.get("docker-api"); !api.empty()) {
    if (auto ep = http::Endpoint::parse(api); !ep) return make_error("--docker-api: {}", ep.error().message);
  }
  if (proxy) {
    if (opts.get("http-addr").empty()) return make_error("--proxy needs --http-addr (the proxy allocates addresses through it)");
    if (!opts.lists.count("H") || opts.lists.at("H").empty()) return make_error("--proxy needs at least one -H address");
    WEFT_TRY(test, proxy::replace_hostname("x", opts.get("hostname-match"), opts.get("hostname-replacement")));
    (void)test;
  }
  for (const auto& p : opts.peers) {
    if (auto a = mesh::PeerAddress::parse(p); !a) return make_error("invalid peer address: {}", a.error().message);
  }
  return {};
}

}  // namespace weft::weaver
