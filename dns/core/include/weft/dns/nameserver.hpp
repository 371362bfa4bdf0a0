#pragma once
// weaveDNS's replicated name table: the gossip channel "nameserver" (spec §7.1, Weave's
// nameserver.Nameserver). Pure: it never reads a clock (wall time comes through the injected
// WallClock, called with the TimePoint the caller passes) and sends only through the GossipSender
// it is handed. Single-threaded: owned by the daemon's io_context thread, like MeshCore; the DNS
// server reads it through NameLookup on that same thread.
//
// The rules, all Weave's:
//  * add: a new entry has Version 0; re-adding a tombstoned one revives it with Version+1; the
//    entry is broadcast (tag 6) alone.
//  * delete / container died: only entries whose Origin is us are tombstoned (Tombstone = now,
//    Version+1), and broadcast.
//  * receive (tag 4 or 6): a Timestamp more than 900 s from our clock is an error (the mesh closes
//    the connection); entries from peers that are not in the topology are dropped; entries that
//    claim to be ours but differ from what we hold are overridden by ours with Version = theirs+1,
//    or tombstoned if we do not have them, and the overrides are broadcast; the rest is merged
//    (higher Version wins, equal Version -> larger Tombstone).
//  * tag 4 relays what was new; tag 6 relays the received set (after filtering and overrides)
//    even if nothing was new; full state = every entry, tombstones included, Timestamp = now.
//  * tombstones older than 30 min are dropped by a sweep every 30 min; a peer removed from the
//    topology takes all its entries with it.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/logger.hpp"
#include "weft/dns/entry.hpp"
#include "weft/dns/gossip_data.hpp"
#include "weft/dns/names.hpp"
#include "weft/mesh/gossip_channel.hpp"

namespace weft::dns {

inline constexpr std::string_view kChannelName = "nameserver";
inline constexpr std::int64_t kTombstoneTimeoutSeconds = 30 * 60;
/// Maximum |Timestamp - now| of acceptable gossip: half the tombstone timeout, so a tombstone
/// outlives any message that could resurrect its entry.
inline constexpr std::int64_t kGossipWindowSeconds = kTombstoneTimeoutSeconds / 2;
inline constexpr Duration kTombstoneSweepInterval = std::chrono::minutes(30);

/// Read-only name resolution, what the DNS responder needs.
class NameLookup {
 public:
  virtual ~NameLookup() = default;
  /// Addresses of the live entries for absolute `hostname`, compared case-insensitively, in
  /// table order.
  virtual std::vector<Ipv4> lookup(std::string_view hostname) const = 0;
  /// The hostname of the first live entry (table order) with address `ip`.
  virtual std::optional<std::string> reverse_lookup(Ipv4 ip) const = 0;
};

/// Unix seconds at a given steady-clock instant. Production: read the system clock (ignoring the
/// argument); tests and simulations: a fixed epoch plus the steady time.
using WallClock = std::function<std::int64_t(TimePoint)>;
/// Whether a peer is in the topology (Weave: router.Peers.Fetch(name) != nil). Called while
/// receiving gossip; our own name always counts as known.
using IsKnownPeer = std::function<bool(PeerName)>;

struct NameserverConfig {
  PeerName self;
  std::string domain{kDefaultDomain};  ///< made absolute by the constructor
  IsKnownPeer is_known_peer;           ///< required
  WallClock wall_clock;                ///< required
};

/// Which of our entries DELETE /name... tombstones; nullopt = any ("*").
struct DeleteFilter {
  std::optional<std::string> hostname;  ///< compared case-sensitively after fqdn()
  std::optional<std::string> container;
  std::optional<Ipv4> addr;
};

class Nameserver final : public mesh::GossipChannel, public NameLookup {
 public:
  explicit Nameserver(NameserverConfig config, Logger log = null_logger());

  // ---- mesh::GossipChannel (called by MeshCore on the io thread)
  std::vector<Bytes> full_state(TimePoint now) override;
  Result<std::optional<Bytes>> on_gossip(TimePoint now, PeerName sender, ByteSpan payload,
                                         mesh::GossipSender& out) override;
  Result<std::optional<Bytes>> on_broadcast(TimePoint now, PeerName src, ByteSpan payload,
                                            mesh::GossipSender& out) override;
  /// Unicasts are not part of this channel's protocol: ignored, as Weave does.
  Result<void> on_unicast(TimePoint, PeerName, ByteSpan, mesh::GossipSender&) override { return {}; }

  // ---- NameLookup
  std::vector<Ipv4> lookup(std::string_view hostname) const override;
  std::optional<std::string> reverse_lookup(Ipv4 ip) const override;

  // ---- registration (HTTP handlers, attach, the container watcher). `out` receives the
  // broadcast of what changed; nullptr = do not gossip (tests, or before the mesh is up).
  /// PUT /name/{container}/{ip}?fqdn=: `fqdn` is made absolute; a name outside our domain is
  /// ignored (returns nullopt), as Weave's AddEntryFQDN.
  std::optional<Entry> add_entry_fqdn(TimePoint now, std::string_view fqdn, std::string_view container, Ipv4 addr,
                                      mesh::GossipSender* out);
  /// Adds (or revives) an entry with absolute `hostname`, whatever the domain (Weave's AddEntry).
  Entry add_entry(TimePoint now, std::string_view hostname, std::string_view container, PeerName origin, Ipv4 addr,
                  mesh::GossipSender* out);
  /// DELETE /name[/{container}[/{ip}]][?fqdn=]: tombstones our live entries that match.
  std::vector<Entry> delete_entries(TimePoint now, const DeleteFilter& filter, mesh::GossipSender* out);
  /// The container died or was detached: tombstones our entries for it.
  std::vector<Entry> container_died(TimePoint now, std::string_view container, mesh::GossipSender* out);
  /// The topology garbage-collected `peer` (MeshCore Effects::peers_gone): drop its entries.
  void peer_gone(PeerName peer);

  // ---- timers
  /// Sweeps old tombstones when due (every 30 min from the first call). Returns when to call again.
  TimePoint on_tick(TimePoint now);
  /// Removes tombstones older than 30 min at `now_unix`; returns how many.
  std::size_t gc_tombstones(std::int64_t now_unix);

  // ---- state for /name, /report, /status/dns and /metrics
  /// Every entry, tombstones included, in table order (case-insensitive hostname, then Origin,
  /// ContainerID, Addr), as Weave's /report and GET /name list them.
  std::vector<Entry> entries() const;
  std::size_t live_count() const;      ///< live entries of every origin (/status "Entries")
  std::size_t own_live_count() const;  ///< our own live entries (metric weave_dns_entries)
  /// /status/dns: one `%-12s %-15s %12.12s %s\n` line per live entry: hostname without
  /// `.<domain>`, address, container id (first 12 characters, right-aligned), origin.
  std::string format_status_dns() const;
  /// GET /name (Accept: application/json): Go's json.Encoder output of the entry table, a JSON
  /// array (`null` when empty) plus "\n"; Origin is the decimal peer name.
  std::string entries_json() const;
  const std::string& domain() const { return domain_; }
  PeerName self() const { return self_; }

  /// Table keys agree with their entries and no identity appears twice.
  Result<void> check_invariants() const;

 private:
  /// Table order: lower-cased hostname first so a lookup is one range scan; the exact hostname
  /// next because case variants are distinct identities.
  struct Key {
    std::string lower;
    std::string hostname;
    PeerName origin;
    std::string container;
    Ipv4 addr;
    auto operator<=>(const Key&) const = default;
  };
  static Key key_of(const Entry& e);

  /// Decodes, checks skew, filters, overrides, merges. `received` gets the set to relay on
  /// broadcast, `fresh` what was new to us.
  Result<void> receive(TimePoint now, ByteSpan payload, mesh::GossipSender& out, GossipData& received,
                       std::vector<Entry>& fresh);
  void broadcast(TimePoint now, std::vector<Entry> entries, mesh::GossipSender* out);
  std::int64_t wall(TimePoint now) const { return wall_clock_(now); }
  void debug_check() const;

  PeerName self_;
  std::string domain_;
  IsKnownPeer is_known_peer_;
  WallClock wall_clock_;
  Logger log_;
  std::map<Key, Entry> table_;
  std::optional<TimePoint> next_sweep_;
};

}  // namespace weft::dns
