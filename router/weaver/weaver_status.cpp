// The status snapshot of weaver (WeaveStatus for /status, /report and /metrics) and the host
// facts weaver reads at start-up (the underlay MTU). Split from weaver.cpp to keep the wiring short.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "weaver.hpp"

namespace weft::weaver {

int underlay_mtu(const std::string& bridge) {
  // NB: ioctls and /proc/net are per network namespace; /sys/class/net is not (it shows the
  // namespace sysfs was mounted in), so it cannot be used here.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1500;
  auto query = [fd](const std::string& iface, unsigned long req, ifreq& ifr) {
    std::memset(&ifr, 0, sizeof ifr);
    std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    return ::ioctl(fd, req, &ifr) == 0;
  };
  auto mtu_of = [&](const std::string& iface) {
    ifreq ifr;
    return query(iface, SIOCGIFMTU, ifr) ? ifr.ifr_mtu : 0;
  };
  int result = 0;
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);  // header
  while (result == 0 && std::getline(routes, line)) {
    std::istringstream ss(line);
    std::string iface, dest;
    ss >> iface >> dest;
    if (dest == "00000000") result = mtu_of(iface);
  }
  if (result == 0) {
    std::ifstream dev("/proc/net/dev");
    std::getline(dev, line);
    std::getline(dev, line);
    while (std::getline(dev, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      auto n = line.substr(0, colon);
      n.erase(0, n.find_first_not_of(' '));
      if (n == "lo" || n == bridge || n.rfind("vethwe", 0) == 0 || n.rfind("ethwe", 0) == 0) continue;
      ifreq ifr;
      if (!query(n, SIOCGIFFLAGS, ifr) || !(ifr.ifr_flags & IFF_UP)) continue;
      if (int m = mtu_of(n); m > 0 && (result == 0 || m < result)) result = m;
    }
  }
  ::close(fd);
  return result > 0 ? result : 1500;
}

namespace {

using Forwarders = std::map<mesh::ConnId, router::Sleeve::ForwarderStatus>;

/// A time as Weave's status shows it ("2006-01-02 15:04:05 +0000 UTC").
std::string wall_time(TimePoint t) {
  auto sys = std::chrono::system_clock::now() + (t - Clock::now());
  auto tt = std::chrono::system_clock::to_time_t(sys);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/// Targets whose last dial failed (issue 19), from the connection maker's state and the dial log.
void add_target_failures(router::RouterStatus& r, mesh_net::MeshNode& node) {
  std::map<std::string, std::string> direct;  // host:port -> the direct peer as given
  for (auto& t : r.targets) {
    if (auto a = mesh::PeerAddress::parse(t)) direct[a->with_port(node.config().port)] = t;
  }
  const auto& log = node.dial_log().targets();
  for (auto& [addr, t] : node.connection_maker().targets()) {
    using S = mesh::ConnectionMaker::State;
    if (!t.last_error || t.state == S::connected) continue;
    router::TargetFailure f;
    auto d = direct.find(addr);
    f.direct = d != direct.end();
    f.target = f.direct ? d->second : addr;
    auto l = log.find(addr);
    f.failures = l != log.end() ? std::max<std::uint64_t>(l->second.failures, 1) : 1;
    f.error = *t.last_error;
    if (t.state == S::waiting) f.retry = wall_time(t.try_after);
    r.target_failures.push_back(std::move(f));
  }
}

/// Every peer of the topology with its connections, ourself first.
void add_peers(router::RouterStatus& r, const mesh::Topology& topology, PeerName self) {
  auto nick_of = [&](PeerName n) {
    auto* e = topology.find(n);
    return e ? e->nickname : std::string{};
  };
  auto add_peer = [&](const mesh::PeerEntry& p) {
    router::PeerStatus ps{p.name, p.nickname, p.uid, p.short_id, p.version, {}};
    for (auto& [name, c] : p.connections) {
      ps.connections.push_back({name, nick_of(name), c.remote_tcp_addr, c.outbound, c.established});
    }
    r.peers.push_back(std::move(ps));
  };
  add_peer(topology.self());
  for (auto& [name, p] : topology.peers()) {
    if (name != self) add_peer(p);
  }
}

void add_routes(router::RouterStatus& r, mesh::MeshCore& core, PeerName self) {
  auto& routes = core.routes();
  std::map<PeerName, PeerName> uni(routes.unicast_table().begin(), routes.unicast_table().end());
  for (auto& [dst, via] : uni) {
    if (dst != self) r.unicast_routes.push_back({dst, via});
  }
  // Bounded (issue 18, item 2): each broadcast route is a walk of the topology, so a gossip of
  // thousands of fake peers made /status take seconds. Only the first kMaxStatusBroadcastRoutes.
  constexpr std::size_t kMaxStatusBroadcastRoutes = 512;
  for (auto& [name, p] : core.topology().peers()) {
    (void)p;
    if (r.broadcast_routes.size() >= kMaxStatusBroadcastRoutes) break;
    r.broadcast_routes.push_back({name, routes.broadcast(name)});
  }
}

/// The sleeve, forwarding, capture and underlay counters, in /report's order.
void add_overlay_counters(router::RouterStatus& r, const router_net::OverlayShell& overlay) {
  auto& ss = overlay.sleeve().stats();
  auto& fs = overlay.forwarder().stats();
  auto ds = overlay.datapath().stats();
  auto us = overlay.underlay().stats();
  r.datapath_counters = {{"sleeve_rx_datagrams", ss.rx_datagrams},
                         {"sleeve_rx_frames", ss.rx_frames},
                         {"sleeve_tx_datagrams", ss.tx_datagrams},
                         {"sleeve_tx_frames", ss.tx_frames},
                         {"sleeve_rx_unknown_sender", ss.rx_unknown_sender},
                         {"sleeve_rx_decrypt_errors", ss.rx_decrypt_errors},
                         {"sleeve_rx_replayed", ss.rx_replayed},
                         {"sleeve_rx_malformed", ss.rx_malformed},
                         {"sleeve_tx_dropped", ss.tx_dropped},
                         {"sleeve_tx_icmp_frag_needed", ss.tx_icmp_frag_needed},
                         {"sleeve_tx_fragmented", ss.tx_fragmented},
                         {"forward_local_unicast", fs.local_unicast},
                         {"forward_local_flooded", fs.local_flooded},
                         {"forward_relayed", fs.relayed},
                         {"forward_injected", fs.injected},
                         {"forward_dropped_mac_conflict", fs.dropped_mac_conflict},
                         {"forward_dropped_no_route", fs.dropped_no_route},
                         {"forward_dropped_other", fs.dropped_other},
                         {"forward_dropped_loop", fs.dropped_loop},
                         {"forward_dropped_duplicate", fs.dropped_duplicate},
                         {"capture_rx_frames", ds.rx_frames},
                         {"capture_rx_dropped", ds.rx_dropped},
                         {"capture_tx_frames", ds.tx_frames},
                         {"capture_tx_dropped", ds.tx_dropped},
                         {"underlay_tx_errors", us.tx_errors},
                         {"sleeve_tx_ext_frames", ss.tx_ext_frames},
                         {"sleeve_tx_ext_datagrams", ss.tx_ext_datagrams},
                         {"sleeve_rx_ext_frames", ss.rx_ext_frames},
                         {"sleeve_rx_ext_incomplete", ss.rx_ext_incomplete}};
}

/// A connection on the kernel fast path: its attributes and the kernel's traffic counters for
/// this neighbour (by ShortID), plus what the sleeve carried.
void fastdp_row(router::RouterStatus& r, router::LocalConnStatus& lc, const router_net::FastdpShell& fastdp,
                PeerName remote, const router::Sleeve::ForwarderStatus* sleeve) {
  lc.attrs.emplace_back("mtu", std::to_string(fastdp.mtu()));
  lc.attrs.emplace_back("name", "fastdp");
  auto sid = fastdp.short_id_of(remote);
  if (!sid) return;
  auto t = fastdp.kernel().traffic(*sid);
  if (sleeve) {
    t.tx_frames += sleeve->tx_frames;
    t.tx_bytes += sleeve->tx_bytes;
    t.rx_frames += sleeve->rx_frames;
    t.rx_bytes += sleeve->rx_bytes;
  }
  r.peer_traffic.push_back({remote, t.tx_frames, t.tx_bytes, t.rx_frames, t.rx_bytes});
}

/// A connection on the sleeve: its attributes and traffic.
void sleeve_row(router::RouterStatus& r, router::LocalConnStatus& lc, PeerName remote,
                const router::Sleeve::ForwarderStatus& f) {
  if (f.encrypted) lc.attrs.emplace_back("encrypted", "true");
  lc.attrs.emplace_back("mtu", std::to_string(f.mtu));
  lc.attrs.emplace_back("name", "sleeve");
  // weft's extended overlay on this connection: its AEAD, or "plain" when unencrypted.
  if (auto x = f.extended) {
    lc.attrs.emplace_back("weftx", *x == router::Aead::none ? "plain" : std::string(router::aead_name(*x)));
  }
  r.peer_traffic.push_back({remote, f.tx_frames, f.tx_bytes, f.rx_frames, f.rx_bytes});
}

/// Targets the connection maker has not connected yet (waiting, failed, retrying, connecting).
void add_pending_targets(router::RouterStatus& r, mesh_net::MeshNode& node) {
  std::set<std::string> live;
  for (auto& [id, c] : node.core().connections()) live.insert(c.info.remote_tcp_addr);
  for (auto& [addr, t] : node.connection_maker().targets()) {
    using S = mesh::ConnectionMaker::State;
    if (t.state == S::connected || t.state == S::suspended || live.count(addr)) continue;
    router::LocalConnStatus lc;
    lc.address = addr;
    lc.outbound = true;
    if (t.state == S::waiting) {
      lc.state = t.last_error ? "failed" : "waiting";
      lc.info = t.last_error ? fmt::format("{}, retry: {}", *t.last_error, wall_time(t.try_after))
                             : fmt::format("until: {}", wall_time(t.try_after));
    } else {
      lc.state = t.last_error ? "retrying" : "connecting";
      lc.info = t.last_error.value_or("");
    }
    r.connections.push_back(std::move(lc));
  }
}

router::IpamSummary ipam_summary(const ipam::IpamStatus& st) {
  router::IpamSummary i;
  i.status = ipam::status_line(st);
  i.range = st.range.str();
  i.range_num_ips = st.range_num_ips;
  i.active_ips = st.active_ips;
  i.default_subnet = st.default_subnet.str();
  if (st.paxos) i.paxos = std::make_tuple(st.paxos->elector, st.paxos->known_nodes, st.paxos->quorum);
  for (auto& e : st.entries)
    i.entries.push_back({e.token.str(), e.size, e.peer, e.nickname, e.is_known_peer, e.version});
  for (auto& c : st.pending_claims) i.pending_claims.emplace_back(c.ident, c.cidr.str());
  i.pending_allocates = st.pending_allocates;
  for (auto& u : st.unreachable) i.unreachable_ips += u.size;
  return i;
}

router::DnsStatus dns_summary(const dns::Nameserver& ns, dns_net::DnsServer& server) {
  router::DnsStatus d;
  d.domain = ns.domain();
  d.upstream = server.upstreams();
  d.address = server.address();
  d.ttl = server.responder_config().ttl;
  d.live_entries = ns.live_count();
  d.own_live_entries = ns.own_live_count();
  for (auto& e : ns.entries()) {
    d.entries.push_back({e.hostname, e.origin, e.container_id, e.addr.str(), e.version, e.tombstone});
  }
  return d;
}

}  // namespace

const router::WeaveStatus& Weaver::status() {
  return status_throttle_.get([] { return Clock::now(); }, [this] { return build_status(); });
}

const std::string& Weaver::report_json() {
  return report_throttle_.get([] { return Clock::now(); }, [this] { return router::format_report_json(status()); });
}

const nlohmann::ordered_json& Weaver::report_tree() {
  return report_tree_throttle_.get([] { return Clock::now(); },
                                   [this] { return nlohmann::ordered_json::parse(report_json()); });
}

router::WeaveStatus Weaver::build_status() {
  router::WeaveStatus ws;
  ws.version = std::string(kVersion);
  auto& r = ws.router;
  r.version = ws.version;
  r.protocol_min = 2;
  r.protocol_max = 2;
  r.encryption = password_.has_value();
  r.overlays = node_->config().overlays;
  r.peer_discovery = cfg_.mesh.discovery;
  r.name = self_.name;
  r.nickname = self_.nickname;
  r.port = node_->bound_port();
  add_peers(r, node_->core().topology(), self_.name);
  add_routes(r, node_->core(), self_.name);
  if (overlay_) {
    r.interface = overlay_->datapath().describe();
    add_overlay_counters(r, *overlay_);
    if (fastdp_) add_fastdp_counters(r);
  }
  add_connections(r);
  add_pending_targets(r, *node_);
  r.termination_count = node_->core().termination_count();
  r.targets = node_->connection_maker().direct_peers();
  add_target_failures(r, *node_);
  for (auto& c : node_->config().trusted_subnets) r.trusted_subnets.push_back(c.str());
  r.gossip_bytes_sent = node_->gossip_bytes_sent();
  if (ipam_) ws.ipam = ipam_summary(ipam_->status());
  if (nameserver_) ws.dns = dns_summary(*nameserver_, *dns_server_);
  r.gossip_bytes_received = node_->gossip_bytes_received();
  return ws;
}

void Weaver::add_connections(router::RouterStatus& r) {
  Forwarders fwd;
  if (overlay_) {
    for (auto& f : overlay_->sleeve().status()) fwd.emplace(f.conn, f);
  }
  for (auto& [id, c] : node_->core().connections()) {
    router::LocalConnStatus lc;
    lc.address = c.info.remote_tcp_addr;
    lc.outbound = c.info.outbound;
    lc.state = c.established ? "established" : "pending";
    auto it = fwd.find(id);
    const auto* sleeve = it != fwd.end() ? &it->second : nullptr;
    // The overlay switch's choice (spec §5.3): fastdp while its forwarder is established and healthy.
    std::optional<router::FastdpForwarders::Status> fst;
    if (fastdp_) fst = fastdp_->forwarders().status_of(id);
    const bool fast = fst && fst->established && fst->healthy;
    auto who = router::peer_label(c.info.remote.name, c.info.remote.nickname);
    lc.info = fmt::format("{:<6} {}", fast ? "fastdp" : sleeve ? "sleeve" : "none", who);
    if (password_) lc.info = fmt::format("{:<11}{}", c.info.encrypted ? "encrypted" : "unencrypted", lc.info);
    if (fast) {
      fastdp_row(r, lc, *fastdp_, c.info.remote.name, sleeve);
    } else if (sleeve) {
      sleeve_row(r, lc, c.info.remote.name, *sleeve);
    }
    r.connections.push_back(std::move(lc));
  }
}

void Weaver::add_fastdp_counters(router::RouterStatus& r) const {
  auto ks = fastdp_->kernel().stats();
  const auto& fs = fastdp_->stats();
  r.interface += " + fastdp (eBPF, VXLAN)";
  const std::pair<const char*, std::uint64_t> rows[] = {
      {"fastdp_kernel_tx_unicast", ks.counters[FDP_STAT_TX_UNICAST]},
      {"fastdp_kernel_tx_flood", ks.counters[FDP_STAT_TX_FLOOD]},
      {"fastdp_kernel_rx_local", ks.counters[FDP_STAT_RX_LOCAL]},
      {"fastdp_kernel_rx_direct", ks.counters[FDP_STAT_RX_DIRECT]},
      {"fastdp_kernel_tx_direct", ks.counters[FDP_STAT_TX_DIRECT]},
      {"fastdp_kernel_rx_relay", ks.counters[FDP_STAT_RX_RELAY]},
      {"fastdp_kernel_rx_flood", ks.counters[FDP_STAT_RX_FLOOD]},
      {"fastdp_kernel_punt_egress", ks.counters[FDP_STAT_PUNT_EGRESS]},
      {"fastdp_kernel_punt_ingress", ks.counters[FDP_STAT_PUNT_INGRESS]},
      {"fastdp_kernel_punt_dropped", ks.counters[FDP_STAT_PUNT_DROPPED] + ks.lost},
      {"fastdp_kernel_errors", ks.counters[FDP_STAT_ERRORS]},
      {"fastdp_tx_frames", fs.tx_frames},
      {"fastdp_tx_errors", fs.tx_errors},
      {"fastdp_rx_punted", fs.rx_punted},
      {"fastdp_rx_punt_shed", fs.rx_punt_shed},
      {"fastdp_rx_heartbeats", fs.rx_heartbeats},
      {"fastdp_rx_bad", fs.rx_bad},
      {"fastdp_tx_icmp_frag_needed", fs.tx_icmp_frag_needed},
      {"fastdp_table_syncs", fs.table_syncs},
      {"fastdp_map_errors", fs.map_errors},
      {"fastdp_direct_ports", fs.direct_ports},
      {"fastdp_sending_ports", fs.sending_ports}};
  for (const auto& [k, v] : rows) r.datapath_counters.emplace_back(k, v);
}

}  // namespace weft::weaver
