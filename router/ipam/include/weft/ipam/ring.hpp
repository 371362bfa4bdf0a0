#pragma once
// The IPAM ring CRDT (spec §6.1, §6.3; Weave's ipam/ring). The universe [start, end) is cut by
// sorted tokens; each entry owns [token, next token), wrapping from the last token to the first.
// Only an entry's owner changes it (bumping Version), except for the administrative transfers of
// rmpeer and reset, which add 100 to the Version so they win over anything the old owner sent.
//
// Merging is deterministic and commutative on well-behaved inputs: per token, the higher Version
// wins. Every mutation keeps check_invariants() true; debug builds assert it after each one.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/ipam/ipam_codec.hpp"

namespace weft::ipam {

/// Version bump of an administrative transfer (rmpeer, reset).
inline constexpr std::uint32_t kTransferVersionBump = 100;

/// A slice of one entry's range, for status pages (`/report` Entries). Ranges that wrap past the
/// end of the universe are reported as two pieces.
struct RangeInfo {
  PeerName peer;
  Ipv4Range range;
  std::uint32_t version = 0;
  bool operator==(const RangeInfo&) const = default;
};

class Ring {
 public:
  /// Does any of our allocations fall inside these ranges? (The allocator's space answers.)
  using HasAllocations = std::function<bool(const std::vector<Ipv4Range>&)>;

  /// An empty ring for `self` over `range` (start < end <= 0xffffffff).
  Ring(Ipv4Range range, PeerName self);

  Ipv4Range range() const { return range_; }
  PeerName self() const { return self_; }
  bool empty() const { return entries_.empty(); }
  const std::vector<RingEntry>& entries() const { return entries_; }
  const std::vector<PeerName>& seeds() const { return seeds_; }
  bool contains(Ipv4 a) const { return range_.contains(a); }

  /// Sorted unique tokens inside the range, and no entry claiming more free addresses than its
  /// range holds.
  Result<void> check_invariants() const;

  /// Our copy as it goes on the wire (Peer = us).
  WireRing to_wire() const;
  /// Replaces our state with a persisted copy (validated; its Peer field is ignored).
  Result<void> restore(const WireRing& persisted);

  /// Merges a received ring (§6.3). Returns whether our ring changed. Errors (invalid ring,
  /// different seeds, different range, a conflict with ranges we own) leave our ring untouched;
  /// the mesh closes the connection the ring came from.
  Result<bool> merge(const WireRing& theirs, const HasAllocations& has_allocations);

  /// Divides the whole (empty) ring among `peers` (sorted, unique, non-empty) in CIDR-aligned
  /// pieces, and records them as the seeds.
  void claim_for_peers(const std::vector<PeerName>& peers);

  /// Hands [r.start, r.end), which we own, to `peer`: inserts at most two tokens and bumps the
  /// Version of every entry it changes.
  void grant_range_to_host(Ipv4Range r, PeerName peer);

  /// Records the free counts of our entries, keyed by the start of each owned range (as returned
  /// by owned_ranges()). Bumps the Version of each entry whose count changed; true if any did.
  bool report_free(std::map<std::uint64_t, std::uint32_t> free_by_start);

  /// The ranges owned by us / by `peer`, sorted; a range wrapping past the end is split in two.
  std::vector<Ipv4Range> owned_ranges() const { return owned_ranges_of(self_); }
  std::vector<Ipv4Range> owned_ranges_of(PeerName peer) const;

  /// Gives every entry of `from` to `to` with Version += 100; returns the ranges moved.
  std::vector<Ipv4Range> transfer(PeerName from, PeerName to);

  /// The owner of `a` (unknown on an empty ring). `a` must be inside the range.
  PeerName owner(Ipv4 a) const;

  /// Peers other than us with free space overlapping [r.start, r.end), ordered by
  /// (their total free × a random number) descending, as Weave does.
  std::vector<PeerName> choose_peers_to_ask_for_space(Ipv4Range r, Random& rng) const;

  /// The first peer in ring order, other than us, for which `valid` holds; unknown if none.
  PeerName pick_peer_for_transfer(const std::function<bool(PeerName)>& valid) const;

  std::set<PeerName> peer_names() const;
  std::vector<RangeInfo> all_range_info() const;
  /// Addresses owned per peer (sum of range sizes).
  std::map<PeerName, std::uint64_t> owned_sizes() const;

 private:
  std::uint64_t distance(std::uint64_t from, std::uint64_t to) const;
  const RingEntry& entry_at(std::ptrdiff_t i) const;  ///< wrapping index (-1 = last, n = first)
  RingEntry& entry_at(std::ptrdiff_t i);
  std::vector<Ipv4Range> make_ranges(std::uint64_t start, std::uint64_t end) const;
  std::vector<Ipv4Range> split_over_zero(std::vector<Ipv4Range> ranges) const;
  Result<void> check_entries(const std::vector<RingEntry>& es) const;
  void assert_invariants() const;

  Ipv4Range range_;
  PeerName self_;
  std::vector<RingEntry> entries_;
  std::vector<PeerName> seeds_;
};

}  // namespace weft::ipam
