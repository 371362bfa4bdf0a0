#pragma once
// Persistence of the allocator through the router's state file (router/store KvStore; spec §6.7).
// Kept out of the allocator core, which never does I/O: it only says what changed (dirty()) and
// takes restored state at construction (AllocatorConfig::persisted). Library weft::ipam_store.
//
// Keys, values gob-encoded as Weave's boltdb bucket `top`: `peername` (PeerName), `ring` (Ring),
// `ownedAddresses` (map[string]ownedData).
#include <string_view>

#include "weft/base/result.hpp"
#include "weft/ipam/allocator.hpp"
#include "weft/router/kv_store.hpp"

namespace weft::ipam {

inline constexpr std::string_view kDbPeerName = "peername";
inline constexpr std::string_view kDbRing = "ring";
inline constexpr std::string_view kDbOwned = "ownedAddresses";

/// Reads the IPAM keys (missing keys stay empty). A key present but undecodable is an error that
/// names the file, the key and what to do; it never becomes a silent reset.
Result<PersistedState> load_from(const router::KvStore& kv);

/// Writes what the allocator marked dirty and clears those marks; durable (fsynced) on return.
/// On error the marks stay set, so the next call tries again.
Result<void> persist_to(Allocator& alloc, router::KvStore& kv);

/// `weave reset`: removes the IPAM keys.
Result<void> erase_ipam_state(router::KvStore& kv);

}  // namespace weft::ipam
