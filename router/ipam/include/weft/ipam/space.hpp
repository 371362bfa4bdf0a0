#pragma once
// The addresses this peer owns, split into allocated and free (Weave's ipam/space). Both sets are
// kept as sorted boundary lists: even positions start a run, odd positions end it (exclusive),
// runs never touch or overlap. Everything we own = allocated ∪ free, and must equal the ranges the
// ring says are ours (the allocator checks that after every step).
#include <cstdint>
#include <optional>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"

namespace weft::ipam {

class Space {
 public:
  /// Adds [r.start, r.end) as free.
  void add(Ipv4Range r);
  void clear();
  /// The lowest free address in `r`, now allocated; nullopt if none.
  std::optional<Ipv4> allocate(Ipv4Range r);
  /// Marks a free address allocated; an error if it is not free (or not ours).
  Result<void> claim(Ipv4 a);
  /// Returns an allocated address to the free set; an error if it was not allocated.
  Result<void> free(Ipv4 a);
  bool is_free(Ipv4 a) const;
  bool is_allocated(Ipv4 a) const;

  std::uint64_t num_owned() const;  ///< allocated addresses (Weave's NumOwnedAddresses)
  std::uint64_t num_free() const;
  std::uint64_t num_free_in(Ipv4Range r) const;
  /// Any allocated address inside one of these ranges?
  bool has_allocations(const std::vector<Ipv4Range>& ranges) const;

  /// Space to give a peer asking for [r): the biggest CIDR-aligned free block inside r, or its
  /// upper half if it is more than half our free space there. Removed from our space.
  std::optional<Ipv4Range> donate(Ipv4Range r);

  /// Everything we own, allocated or free, as sorted maximal runs.
  std::vector<Ipv4Range> owned_ranges() const;
  /// Makes the owned set exactly `ranges`: new space is added as free, space no longer ours is
  /// dropped. Returns the allocated addresses that were dropped (the ring merge rules make that
  /// empty; the allocator logs anything else).
  std::vector<Ipv4> update_ranges(const std::vector<Ipv4Range>& ranges);

  Result<void> check_invariants() const;

 private:
  using Bounds = std::vector<std::uint64_t>;
  template <typename F>
  bool walk_free(Ipv4Range r, F&& f) const;
  static bool contains(const Bounds& b, std::uint64_t a);
  static Bounds add_sub(const Bounds& b, std::uint64_t start, std::uint64_t end, bool subtract);
  Bounds everything() const;

  Bounds allocated_;  ///< Weave's `ours`
  Bounds free_;
};

/// The largest CIDR-aligned block inside `r` (the first one, if several fit); empty for empty r.
Ipv4Range biggest_cidr_range(Ipv4Range r);

}  // namespace weft::ipam
