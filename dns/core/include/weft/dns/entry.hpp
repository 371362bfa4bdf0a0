#pragma once
// One weaveDNS record (spec §7.1): a hostname an origin peer registered for a container's address.
// The identity of an entry is (Hostname exactly as supplied, Origin, ContainerID, Addr); Version
// and Tombstone are its mutable state, merged by the rule below so every peer converges.
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/peer_name.hpp"

namespace weft::dns {

struct Entry {
  std::string container_id;
  PeerName origin;
  Ipv4 addr;
  std::string hostname;        ///< absolute ("web.weave.local."), case as supplied
  std::int64_t version = 0;    ///< Go `int`
  std::int64_t tombstone = 0;  ///< unix seconds of the deletion; 0 = live

  bool live() const { return tombstone == 0; }
  bool operator==(const Entry&) const = default;
};

/// Same (Hostname exact, Origin, ContainerID, Addr).
bool same_identity(const Entry& a, const Entry& b);

/// Gossip order: Hostname (case-sensitive, bytewise), then Origin, ContainerID, Addr. Go sorts
/// what it sends this way; the decoder re-sorts, so this only makes our bytes reproducible.
bool wire_less(const Entry& a, const Entry& b);

/// The merge rule, for two entries of the same identity: a higher Version wins (its Version and
/// Tombstone are taken); at equal Version the larger Tombstone wins. Returns true if `mine`
/// changed.
bool merge_entry(Entry& mine, const Entry& incoming);

/// Marks a live entry deleted at `now_unix` and bumps its Version. False if already tombstoned.
bool tombstone_entry(Entry& e, std::int64_t now_unix);

/// Sorts in gossip order and folds entries of the same identity together with merge_entry: a
/// Go peer panics (the whole process) on a message that holds one identity twice.
void normalize(std::vector<Entry>& entries);

/// Version + 1 without signed overflow (a hostile peer can send INT64_MAX).
std::int64_t next_version(std::int64_t v);

}  // namespace weft::dns

template <>
struct fmt::formatter<weft::dns::Entry> : fmt::formatter<std::string_view> {
  auto format(const weft::dns::Entry& e, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{} -> {} ({} from {}, v{}{})", e.hostname, e.addr, e.container_id, e.origin,
                          e.version, e.live() ? "" : ", tombstone");
  }
};
