#pragma once
// The status model of `weave status` / `/report` (spec §10): value snapshots of router state and
// pure formatters for the text pages, the WeaveStatus JSON and Prometheus metrics.
#include <cstdint>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include "weft/base/peer_name.hpp"

namespace weft::router {

struct PeerConnStatus {
  PeerName name;
  std::string nickname;
  std::string address;
  bool outbound = false;
  bool established = false;
};

struct PeerStatus {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;
  std::uint16_t short_id = 0;
  std::uint64_t version = 0;
  std::vector<PeerConnStatus> connections;
};

/// One row of /status/connections: a live connection or a target not (yet) connected.
struct LocalConnStatus {
  std::string address;
  bool outbound = false;
  std::string state;  ///< established, pending, failed, retrying, connecting, waiting
  std::string info;
  std::vector<std::pair<std::string, std::string>> attrs;  ///< sorted by key; "name" first if present
};

/// A target whose last dial failed (issue 19), for `weave status targets`.
struct TargetFailure {
  std::string target;  ///< as in `targets` for a direct peer; host:port for a discovered one
  bool direct = true;
  std::uint64_t failures = 0;  ///< consecutive failed attempts
  std::string error;           ///< the last one
  std::string retry;           ///< when the next attempt is due ("" if not known)
};

struct RouteStatus {
  PeerName dest;
  PeerName via;
};

struct BroadcastStatus {
  PeerName source;
  std::vector<PeerName> via;
};

/// Sleeve traffic to and from one neighbour.
struct PeerTraffic {
  PeerName peer;
  std::uint64_t tx_frames = 0, tx_bytes = 0, rx_frames = 0, rx_bytes = 0;
};

struct RouterStatus {
  std::string version;
  std::uint8_t protocol_min = 1;
  std::uint8_t protocol_max = 2;
  bool encryption = false;
  bool peer_discovery = true;
  PeerName name;
  std::string nickname;
  std::uint16_t port = 6783;
  std::vector<PeerStatus> peers;  ///< ourself first, then ascending
  std::vector<RouteStatus> unicast_routes;
  std::vector<BroadcastStatus> broadcast_routes;
  std::vector<LocalConnStatus> connections;
  std::uint64_t termination_count = 0;
  std::vector<std::string> targets;
  std::vector<TargetFailure> target_failures;  ///< text page only; /report keeps Weave's shape
  std::vector<std::string> trusted_subnets;
  std::vector<std::string> overlays{"sleeve"};
  std::string interface;  ///< e.g. "vethwe-pcap (via pcap)"; "" without a datapath
  std::vector<PeerTraffic> peer_traffic;
  /// Data-plane counters by name (sleeve drops, forwarding decisions, capture stats), shown under
  /// Router.DatapathStats in /report and as weft_datapath_events_total{event=...} in /metrics.
  std::vector<std::pair<std::string, std::uint64_t>> datapath_counters;
  std::uint64_t gossip_bytes_sent = 0;
  std::uint64_t gossip_bytes_received = 0;
};

struct DnsEntryStatus {
  std::string hostname;
  PeerName origin;
  std::string container_id;
  std::string address;
  std::int64_t version = 0;
  std::int64_t tombstone = 0;
};

struct DnsStatus {
  std::string domain;
  std::vector<std::string> upstream;
  std::string address;
  std::uint32_t ttl = 1;
  std::size_t live_entries = 0;     ///< every origin (/status "Entries")
  std::size_t own_live_entries = 0;  ///< metric weave_dns_entries
  std::vector<DnsEntryStatus> entries;
};

struct IpamEntrySummary {
  std::string token;
  std::uint64_t size = 0;
  PeerName peer;
  std::string nickname;
  bool is_known_peer = false;
  std::uint32_t version = 0;
};

struct IpamSummary {
  std::string status;  ///< the `Status:` value
  std::string range;
  std::uint64_t range_num_ips = 0;
  std::uint64_t active_ips = 0;
  std::string default_subnet;
  std::optional<std::tuple<bool, std::size_t, std::uint32_t>> paxos;  ///< elector, known, quorum
  std::vector<IpamEntrySummary> entries;
  std::vector<std::pair<std::string, std::string>> pending_claims;  ///< ident, cidr
  std::vector<std::string> pending_allocates;
  std::uint64_t unreachable_ips = 0;
};

struct WeaveStatus {
  bool ready = true;
  std::string version;
  RouterStatus router;
  std::optional<DnsStatus> dns;  ///< absent with --no-dns
  std::optional<IpamSummary> ipam;  ///< absent without --ipalloc-range
};

/// `GET /status`: the text page (without the blank lines the script adds around it).
std::string format_status(const WeaveStatus& s);
std::string format_status_peers(const RouterStatus& r);
std::string format_status_connections(const RouterStatus& r);
std::string format_status_targets(const RouterStatus& r);
/// `GET /report` with `Accept: application/json`: WeaveStatus, 4-space indented.
std::string format_report_json(const WeaveStatus& s);
/// `GET /metrics`: Prometheus text format 0.0.4.
std::string format_metrics(const WeaveStatus& s);

/// "name(nick)" as weave prints peers.
std::string peer_label(PeerName name, const std::string& nickname);

}  // namespace weft::router
