#include "weft/router/status.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace weft::router {
namespace {

using ojson = nlohmann::ordered_json;

/// A "Label: value" line with the colon in column 16, as weave's status template aligns them.
void line(std::string& out, std::string_view label, std::string_view value) {
  out += fmt::format("{:>15}: {}\n", label, value);
}

std::string join_or_none(const std::vector<std::string>& v) {
  if (v.empty()) return "none";
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

}  // namespace

std::string peer_label(PeerName name, const std::string& nickname) { return fmt::format("{}({})", name, nickname); }

namespace {

/// "3 (2 established, 1 failed)": the connections by state, in Weave's order.
std::string connections_summary(const RouterStatus& r) {
  std::map<std::string, int> by_state;
  for (auto& c : r.connections) ++by_state[c.state];
  std::string details;
  for (auto st : {"established", "pending", "retrying", "failed", "connecting"}) {
    if (by_state[st]) details += fmt::format("{}{} {}", details.empty() ? "" : ", ", by_state[st], st);
  }
  return details.empty() ? std::to_string(r.connections.size()) : fmt::format("{} ({})", r.connections.size(), details);
}

/// "2 (with 2 established connections)": the peers and their connections.
std::string peers_summary(const RouterStatus& r) {
  int est = 0, pend = 0;
  for (auto& p : r.peers) {
    for (auto& c : p.connections) (c.established ? est : pend)++;
  }
  std::string peer_details;
  if (est) peer_details += fmt::format("{} established", est);
  if (pend) peer_details += fmt::format("{}{} pending", peer_details.empty() ? "" : ", ", pend);
  return peer_details.empty() ? std::to_string(r.peers.size())
                              : fmt::format("{} (with {} connections)", r.peers.size(), peer_details);
}

void router_lines(std::string& out, const RouterStatus& r) {
  line(out, "Service", "router");
  line(out, "Protocol",
       r.protocol_min == r.protocol_max ? fmt::format("weave {}", r.protocol_max)
                                        : fmt::format("weave {}..{}", r.protocol_min, r.protocol_max));
  line(out, "Name", peer_label(r.name, r.nickname));
  line(out, "Encryption", r.encryption ? "enabled" : "disabled");
  if (!r.interface.empty()) line(out, "Datapath", r.interface);  // weft: the capture backend
  line(out, "PeerDiscovery", r.peer_discovery ? "enabled" : "disabled");
  line(out, "Targets", std::to_string(r.targets.size()));
  line(out, "Connections", connections_summary(r));
  line(out, "Peers", peers_summary(r));
  line(out, "TrustedSubnets", join_or_none(r.trusted_subnets));
}

}  // namespace

std::string format_status(const WeaveStatus& s) {
  std::string out;
  line(out, "Version", fmt::format("{} (version check update disabled)", s.version));
  out += "\n";
  router_lines(out, s.router);
  if (s.ipam) {
    out += "\n";
    line(out, "Service", "ipam");
    line(out, "Status", s.ipam->status);
    line(out, "Range", s.ipam->range);
    line(out, "DefaultSubnet", s.ipam->default_subnet);
  }
  if (s.dns) {
    out += "\n";
    line(out, "Service", "dns");
    line(out, "Domain", s.dns->domain);
    line(out, "Upstream", join_or_none(s.dns->upstream));
    line(out, "TTL", std::to_string(s.dns->ttl));
    line(out, "Entries", std::to_string(s.dns->live_entries));
  }
  return out;
}

std::string format_status_peers(const RouterStatus& r) {
  std::string out;
  for (auto& p : r.peers) {
    out += peer_label(p.name, p.nickname) + "\n";
    for (auto& c : p.connections) {
      out += fmt::format("   {} {:<21} {:<37} {}\n", c.outbound ? "->" : "<-", c.address,
                         peer_label(c.name, c.nickname), c.established ? "established" : "pending");
    }
  }
  return out;
}

std::string format_status_connections(const RouterStatus& r) {
  std::string out;
  for (auto& c : r.connections) {
    std::string attrs;
    for (auto& [k, v] : c.attrs) {
      if (k != "name") attrs += fmt::format("{}{}={}", attrs.empty() ? "" : " ", k, v);
    }
    out += fmt::format("{} {:<21} {:<11} {}{}\n", c.outbound ? "->" : "<-", c.address, c.state, c.info,
                       attrs.empty() ? "" : " " + attrs);
  }
  return out;
}

std::string format_status_targets(const RouterStatus& r) {
  // Weave prints the direct targets one per line; weft appends why one is not connected, and
  // lists failing discovered targets after them (the first field stays the address).
  auto failure = [](const TargetFailure& f) {
    return fmt::format("  failed {} time{}: {}{}", f.failures, f.failures == 1 ? "" : "s", f.error,
                       f.retry.empty() ? "" : ", retry: " + f.retry);
  };
  std::string out;
  for (auto& t : r.targets) {
    out += t;
    for (auto& f : r.target_failures) {
      if (f.direct && f.target == t) out += failure(f);
    }
    out += "\n";
  }
  for (auto& f : r.target_failures) {
    if (!f.direct) out += f.target + " (discovered)" + failure(f) + "\n";
  }
  return out;
}

namespace {

ojson peers_json(const std::vector<PeerStatus>& peers) {
  ojson out = ojson::array();
  for (auto& p : peers) {
    ojson conns = p.connections.empty() ? ojson(nullptr) : ojson::array();
    for (auto& c : p.connections) {
      conns.push_back({{"Name", c.name.str()},
                       {"NickName", c.nickname},
                       {"Address", c.address},
                       {"Outbound", c.outbound},
                       {"Established", c.established}});
    }
    out.push_back({{"Name", p.name.str()},
                   {"NickName", p.nickname},
                   {"UID", p.uid},
                   {"ShortID", p.short_id},
                   {"Version", p.version},
                   {"Connections", conns}});
  }
  return out;
}

ojson unicast_json(const std::vector<RouteStatus>& routes) {
  ojson out = ojson::array();
  for (auto& u : routes) out.push_back({{"Dest", u.dest.str()}, {"Via", u.via.str()}});
  return out;
}

ojson broadcast_json(const std::vector<BroadcastStatus>& routes) {
  ojson out = ojson::array();
  for (auto& b : routes) {
    ojson via = b.via.empty() ? ojson(nullptr) : ojson::array();
    for (auto& v : b.via) via.push_back(v.str());
    out.push_back({{"Source", b.source.str()}, {"Via", via}});
  }
  return out;
}

/// A connection attribute as Weave's JSON has it: booleans and numbers typed, the rest strings.
ojson attr_json(const std::string& v) {
  if (v == "true" || v == "false") return v == "true";
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!v.empty() && ec == std::errc{} && p == v.data() + v.size()) return n;
  return v;
}

ojson connections_json(const std::vector<LocalConnStatus>& connections) {
  ojson out = connections.empty() ? ojson(nullptr) : ojson::array();
  for (auto& c : connections) {
    ojson attrs = c.attrs.empty() ? ojson(nullptr) : ojson::object();
    for (auto& [k, v] : c.attrs) attrs[k] = attr_json(v);
    out.push_back(
        {{"Address", c.address}, {"Outbound", c.outbound}, {"State", c.state}, {"Info", c.info}, {"Attrs", attrs}});
  }
  return out;
}

ojson traffic_json(const std::vector<PeerTraffic>& traffic) {
  ojson out = ojson::array();
  for (auto& t : traffic) {
    out.push_back({{"Peer", t.peer.str()},
                   {"TxFrames", t.tx_frames},
                   {"TxBytes", t.tx_bytes},
                   {"RxFrames", t.rx_frames},
                   {"RxBytes", t.rx_bytes}});
  }
  return out;
}

ojson router_json(const RouterStatus& r) {
  ojson overlay_diag = ojson::object();
  for (auto& o : r.overlays) overlay_diag[o] = nullptr;
  ojson router = {{"Protocol", "weave"},
                  {"ProtocolMinVersion", r.protocol_min},
                  {"ProtocolMaxVersion", r.protocol_max},
                  {"Encryption", r.encryption},
                  {"PeerDiscovery", r.peer_discovery},
                  {"Name", r.name.str()},
                  {"NickName", r.nickname},
                  {"Port", r.port},
                  {"Peers", peers_json(r.peers)},
                  {"UnicastRoutes", unicast_json(r.unicast_routes)},
                  {"BroadcastRoutes", broadcast_json(r.broadcast_routes)},
                  {"Connections", connections_json(r.connections)},
                  {"TerminationCount", r.termination_count},
                  {"Targets", r.targets.empty() ? ojson(nullptr) : ojson(r.targets)},
                  {"OverlayDiagnostics", overlay_diag},
                  {"TrustedSubnets", r.trusted_subnets},
                  {"Interface", r.interface},
                  {"CaptureStats", nullptr},
                  {"MACs", nullptr},
                  {"PeerTraffic", traffic_json(r.peer_traffic)}};
  ojson counters = ojson::object();
  for (auto& [k, v] : r.datapath_counters) counters[k] = v;
  router["DatapathStats"] = counters;
  return router;
}

ojson ipam_json(const IpamSummary& i) {
  ojson entries = ojson::array();
  for (auto& e : i.entries) {
    entries.push_back({{"Token", e.token},
                       {"Size", e.size},
                       {"Peer", e.peer.str()},
                       {"Nickname", e.nickname},
                       {"IsKnownPeer", e.is_known_peer},
                       {"Version", e.version}});
  }
  ojson claims = i.pending_claims.empty() ? ojson(nullptr) : ojson::array();
  for (auto& [ident, cidr] : i.pending_claims) claims.push_back({{"Ident", ident}, {"CIDR", cidr}});
  ojson paxos = nullptr;
  if (i.paxos) {
    paxos = {
        {"Elector", std::get<0>(*i.paxos)}, {"KnownNodes", std::get<1>(*i.paxos)}, {"Quorum", std::get<2>(*i.paxos)}};
  }
  return {{"Paxos", paxos},
          {"Range", i.range},
          {"RangeNumIPs", i.range_num_ips},
          {"ActiveIPs", i.active_ips},
          {"DefaultSubnet", i.default_subnet},
          {"Entries", entries},
          {"PendingClaims", claims},
          {"PendingAllocates", i.pending_allocates.empty() ? ojson(nullptr) : ojson(i.pending_allocates)}};
}

ojson dns_json(const DnsStatus& d) {
  ojson entries = d.entries.empty() ? ojson(nullptr) : ojson::array();
  for (auto& e : d.entries) {
    entries.push_back({{"Hostname", e.hostname},
                       {"Origin", e.origin.str()},
                       {"ContainerID", e.container_id},
                       {"Address", e.address},
                       {"Version", e.version},
                       {"Tombstone", e.tombstone}});
  }
  return {{"Domain", d.domain},
          {"Upstream", d.upstream.empty() ? ojson(nullptr) : ojson(d.upstream)},
          {"Address", d.address},
          {"TTL", d.ttl},
          {"Entries", entries}};
}

}  // namespace

std::string format_report_json(const WeaveStatus& s) {
  ojson top = {{"Ready", s.ready},
               {"Version", s.version},
               {"VersionCheck",
                {{"Enabled", false}, {"Success", false}, {"NewVersion", ""}, {"NextCheckAt", "0001-01-01T00:00:00Z"}}},
               {"Router", router_json(s.router)}};
  if (s.ipam) top["IPAM"] = ipam_json(*s.ipam);
  if (s.dns) top["DNS"] = dns_json(*s.dns);
  return top.dump(4) + "\n";
}

namespace {

void ipam_metrics(std::string& out, const IpamSummary& i) {
  out += "# HELP weave_ips Number of IP addresses.\n# TYPE weave_ips gauge\n";
  out += fmt::format("weave_ips{{state=\"local-used\"}} {}\n", i.active_ips);
  out += "# HELP weave_max_ips Size of IP address space used by allocator.\n# TYPE weave_max_ips gauge\n";
  out += fmt::format("weave_max_ips {}\n", i.range_num_ips);
  out +=
      "# HELP weave_ipam_unreachable_count Number of unreachable peers.\n# TYPE weave_ipam_unreachable_count gauge\n";
  std::set<PeerName> unreachable;
  for (auto& e : i.entries) {
    if (!e.is_known_peer) unreachable.insert(e.peer);
  }
  out += fmt::format("weave_ipam_unreachable_count {}\n", unreachable.size());
  out +=
      "# HELP weave_ipam_unreachable_percentage Percentage of IP addresses owned by unreachable peers.\n"
      "# TYPE weave_ipam_unreachable_percentage gauge\n";
  out += fmt::format(
      "weave_ipam_unreachable_percentage {}\n",
      i.range_num_ips ? 100.0 * static_cast<double>(i.unreachable_ips) / static_cast<double>(i.range_num_ips) : 0.0);
  out +=
      "# HELP weave_ipam_pending_allocates Number of pending allocates.\n# TYPE weave_ipam_pending_allocates gauge\n";
  out += fmt::format("weave_ipam_pending_allocates {}\n", i.pending_allocates.size());
  out += "# HELP weave_ipam_pending_claims Number of pending claims.\n# TYPE weave_ipam_pending_claims gauge\n";
  out += fmt::format("weave_ipam_pending_claims {}\n", i.pending_claims.size());
}

/// weft's own series: sleeve traffic per neighbour, data-plane events, gossip bytes.
void weft_metrics(std::string& out, const RouterStatus& r) {
  out +=
      "# HELP weft_sleeve_frames_total Frames carried by the sleeve overlay, per neighbour and direction.\n"
      "# TYPE weft_sleeve_frames_total counter\n";
  for (auto& t : r.peer_traffic) {
    out += fmt::format("weft_sleeve_frames_total{{peer=\"{}\",direction=\"tx\"}} {}\n", t.peer, t.tx_frames);
    out += fmt::format("weft_sleeve_frames_total{{peer=\"{}\",direction=\"rx\"}} {}\n", t.peer, t.rx_frames);
  }
  out +=
      "# HELP weft_sleeve_bytes_total Datagram bytes of the sleeve overlay, per neighbour and direction.\n"
      "# TYPE weft_sleeve_bytes_total counter\n";
  for (auto& t : r.peer_traffic) {
    out += fmt::format("weft_sleeve_bytes_total{{peer=\"{}\",direction=\"tx\"}} {}\n", t.peer, t.tx_bytes);
    out += fmt::format("weft_sleeve_bytes_total{{peer=\"{}\",direction=\"rx\"}} {}\n", t.peer, t.rx_bytes);
  }
  out +=
      "# HELP weft_datapath_events_total Data-plane events: frames, drops by reason, replays.\n"
      "# TYPE weft_datapath_events_total counter\n";
  for (auto& [k, v] : r.datapath_counters) out += fmt::format("weft_datapath_events_total{{event=\"{}\"}} {}\n", k, v);
  out += "# HELP weft_gossip_bytes_total Gossip message bytes by direction.\n# TYPE weft_gossip_bytes_total counter\n";
  out += fmt::format("weft_gossip_bytes_total{{direction=\"sent\"}} {}\n", r.gossip_bytes_sent);
  out += fmt::format("weft_gossip_bytes_total{{direction=\"received\"}} {}\n", r.gossip_bytes_received);
}

}  // namespace

std::string format_metrics(const WeaveStatus& s) {
  const auto& r = s.router;
  std::string out;
  out += "# HELP weave_connections Number of peer-to-peer connections.\n# TYPE weave_connections gauge\n";
  std::map<std::string, int> by_state;
  for (auto& c : r.connections) ++by_state[c.state];
  for (auto& [st, n] : by_state) {
    out += fmt::format("weave_connections{{encryption=\"{}\",state=\"{}\",type=\"{}\"}} {}\n",
                       r.encryption ? "yes" : "", st, r.overlays.empty() ? "unknown" : r.overlays.front(), n);
  }
  out += "# HELP weave_connection_terminations_total Number of peer-to-peer connections terminated.\n"
         "# TYPE weave_connection_terminations_total counter\n";
  out += fmt::format("weave_connection_terminations_total {}\n", r.termination_count);
  if (s.ipam) ipam_metrics(out, *s.ipam);
  if (s.dns) {
    out += "# HELP weave_dns_entries Number of DNS entries.\n# TYPE weave_dns_entries gauge\n";
    out += fmt::format("weave_dns_entries {}\n", s.dns->own_live_entries);
  }
  out += "# HELP weave_peers Number of peers known.\n# TYPE weave_peers gauge\n";
  out += fmt::format("weave_peers {}\n", r.peers.size());
  weft_metrics(out, r);
  return out;
}

}  // namespace weft::router
