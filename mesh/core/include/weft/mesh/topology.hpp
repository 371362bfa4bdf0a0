#pragma once
// The peer table of the `topology` gossip channel (spec §2.1–2.3, §2.7): our own peer with its
// local connections, every known peer with the connection list it last gossiped, the ShortID
// index, the merge rules of `applyUpdate` and peer garbage collection.
//
// Topology is a pure core: no sockets, no clocks. Its only side input is the injected Random used
// to pick a new ShortID after a collision. It is owned by one actor (strand) and is not
// thread-safe. The shell decides *when* to gossip and GC (the 1 s timers of §2.3); Topology only
// reports what changed so the shell can do so.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/base/short_id.hpp"
#include "weft/mesh/peer_index.hpp"
#include "weft/mesh/peer_summary.hpp"

namespace weft::mesh {

/// Who a peer is, as learned from a handshake (remote) or from configuration (ourself).
struct PeerIdentity {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;            ///< random per process; never 0 (0 marks a placeholder)
  std::optional<ShortID> short_id;  ///< absent for peers too old to send one
};

/// One row of the peer table. A *placeholder* (uid 0, version 0) stands for a peer we only know as
/// the remote end of someone's connection.
struct PeerEntry {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;
  std::uint64_t version = 0;
  std::uint16_t short_id = 0;  ///< kept verbatim so re-gossip is byte-identical
  bool has_short_id = false;
  /// Keyed by remote name. For ourself these are our local connections.
  std::map<PeerName, ConnectionSummary> connections;
  /// Local references besides a local connection (e.g. a connection still in its handshake). A
  /// referenced peer is never garbage-collected.
  std::uint32_t local_refs = 0;

  bool is_placeholder() const { return uid == 0; }
  PeerSummary summary() const;
};

/// Ordered by name, so every iteration over the table is deterministic.
using PeerTable = std::map<PeerName, PeerEntry>;

/// What a local change or merge did beyond the table itself.
struct ChangeOutcome {
  /// Our own version moved on (local connection change, stale incarnation of us seen, new
  /// ShortID): the shell must gossip our entry (GossipNeighbourSubset, batched).
  bool local_version_bumped = false;
  /// The ShortID -> peer mapping changed: fastdp flows keyed by ShortID must be invalidated.
  bool short_ids_invalidated = false;
};

struct UpdateOutcome : ChangeOutcome {
  /// Every peer named by the update, in update order (tag-6 relays re-encode these).
  std::vector<PeerName> received;
  /// New or replaced peers, ascending; never us, never placeholders. Non-empty means: recalculate
  /// routes, kick the connection maker, relay `summaries(improved)` to random neighbours.
  std::vector<PeerName> improved;
  /// Placeholders created for names only seen inside connection lists, ascending.
  std::vector<PeerName> placeholders;
};

struct GcOutcome : ChangeOutcome {
  /// Entries deleted because they are unreachable and unreferenced, ascending by name. The shell
  /// fires PeerGone for each (IPAM nickname cleanup, DNS removal, MAC cache purge).
  std::vector<PeerSummary> removed;
};

class Topology {
 public:
  /// Upper bound on entries in one received update; a hostile peer cannot make us allocate more.
  static constexpr std::size_t kMaxUpdatePeers = 1u << 16;

  /// `self.uid` must be non-zero and `self.name` known; `self.short_id` defaults to a random one.
  /// `rng` must outlive the Topology (it is used for ShortID re-assignment).
  Topology(PeerIdentity self, Random& rng);
  // NB: the index points into peers_; moves keep the map's nodes, copies would not.
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  Topology(Topology&&) = default;
  Topology& operator=(Topology&&) = default;

  PeerName self_name() const { return self_; }
  const PeerEntry& self() const { return *self_entry_; }
  std::uint64_t version() const { return self().version; }
  const PeerTable& peers() const { return peers_; }
  /// nullptr when unknown.
  const PeerEntry* find(PeerName name) const;
  /// The principal (lowest-named) peer holding `id`, if any.
  std::optional<PeerName> peer_by_short_id(ShortID id) const;

  // ---- local connections (called by the connection layer after §2.6 tie-breaking) ----

  /// Registers a connection to `remote` (handshake identity). An unknown remote is entered with
  /// version 0 (like mesh's fetchWithDefault); a known one keeps its gossiped state. Bumps our
  /// version. Errors: remote is us, uid 0, name unknown, or a connection to it already exists.
  Result<ChangeOutcome> add_connection(const PeerIdentity& remote, std::string remote_tcp_addr,
                                       bool outbound, bool established = false);
  /// Drops our connection to `remote`; bumps our version. The peer stays until garbage_collect()
  /// (call it before gossiping, so we never advertise unreachable peers). Error if not connected.
  Result<ChangeOutcome> remove_connection(PeerName remote);
  /// The overlay heartbeat of our connection to `remote` completed; bumps our version if it was
  /// not established yet. Error if not connected.
  Result<ChangeOutcome> mark_established(PeerName remote);
  /// Pins a peer against GC (creating it from `remote` if unknown), e.g. during a handshake.
  ChangeOutcome add_local_ref(const PeerIdentity& remote);
  /// Undoes one add_local_ref(); a no-op for unknown or unpinned peers.
  void release_local_ref(PeerName name);

  // ---- gossip ----

  /// Merges a received update (§2.3). Hostile or self-inconsistent updates (bad ShortID, name 0,
  /// duplicate peers, duplicate or self-referencing connections, malformed placeholders, versions
  /// >= 2^63, another incarnation of us at >= 2^62) are rejected as a whole and leave the table
  /// untouched. NB: does not garbage-collect; the shell arms its GC timer on every update (§2.3
  /// rule 3).
  Result<UpdateOutcome> apply_update(const std::vector<PeerSummary>& update);
  /// Deletes peers unreachable from us over any connection (established or not) that have no
  /// local reference; then retries ShortID re-assignment if we lost ours earlier (§2.7).
  GcOutcome garbage_collect();
  /// Our own entry followed by the named peers (unknown names and repeats skipped), as gossiped
  /// after a local change. With include_self = false only the named peers (relays).
  std::vector<PeerSummary> summaries(std::span<const PeerName> names,
                                     bool include_self = true) const;
  /// Every known peer, placeholders included, ascending by name (periodic / new-connection gossip).
  std::vector<PeerSummary> all_summaries() const;

  /// Structural invariants (ShortID index, references, placeholder shape); tests call it after
  /// every mutation.
  Result<void> check_invariants() const;

  /// Forces our ShortID (tests of §2.7); bumps our version.
  ChangeOutcome set_short_id_for_test(ShortID id);

 private:
  struct ShortIdSlot {
    /// Lowest name; empty once freed (the slot is kept: re-use is an invalidation).
    std::optional<PeerName> principal;
    std::vector<PeerName> others;
  };
  struct Pending {
    ChangeOutcome out;
    bool reassign_local_short_id = false;
  };

  PeerEntry& self_mut() { return *self_entry_; }
  /// Inserts into peers_ and the index; `name` must be new.
  PeerEntry& emplace_peer(PeerName name, PeerEntry e);
  PeerEntry* find_mut(PeerName name) const { return index_.find(name); }
  void add_by_short_id(const PeerEntry& peer, Pending& pending);
  void delete_by_short_id(const PeerEntry& peer, Pending& pending);
  std::optional<std::uint16_t> choose_short_id();
  /// Returns whether a new id was taken.
  bool reassign_local_short_id(Pending& pending);
  void set_local_short_id(std::uint16_t id, Pending& pending);
  PeerEntry& fetch_with_default(const PeerIdentity& remote, Pending& pending);
  void finish(Pending& pending);
  /// Debug builds (no NDEBUG) abort on a broken invariant after each structural mutation (R3).
  void debug_check() const;
  Result<void> validate_update(const std::vector<PeerSummary>& update) const;

  PeerName self_;
  Random* rng_;
  PeerTable peers_;
  /// Point lookups into peers_ (a hash probe instead of a tree walk: issue 19's 1,000-peer tables).
  PeerIndex<PeerEntry> index_;
  PeerEntry* self_entry_ = nullptr;
  std::map<std::uint16_t, ShortIdSlot> by_short_id_;
};

}  // namespace weft::mesh
