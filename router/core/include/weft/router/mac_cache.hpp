#pragma once
// Which peer each MAC address lives behind (spec §4.5, weave's mac_cache.go). Entries expire after
// 10 minutes unseen; lastSeen is refreshed at most once a minute so the hot path rarely writes.
#include <optional>
#include <unordered_map>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/peer_name.hpp"

namespace weft::router {

class MacCache {
 public:
  static constexpr Duration kMaxAge = std::chrono::minutes(10);
  static constexpr Duration kRefresh = std::chrono::minutes(1);

  struct Entry {
    PeerName peer;
    TimePoint last_seen;
  };
  enum class AddResult { added, refreshed, unchanged, conflict };

  /// Non-forced add (local capture): a MAC already bound to another peer is a conflict and the
  /// binding is kept.
  AddResult add(const Mac& mac, PeerName peer, TimePoint now);
  /// Forced add (frames from the overlay): rebinds. Returns true if the MAC moved between peers.
  bool add_forced(const Mac& mac, PeerName peer, TimePoint now);
  std::optional<PeerName> lookup(const Mac& mac) const;
  /// Removes entries older than kMaxAge; returns how many.
  std::size_t expire(TimePoint now);
  /// Removes every entry of a peer that left the mesh.
  std::size_t delete_peer(PeerName peer);
  std::size_t size() const { return entries_.size(); }
  const std::unordered_map<Mac, Entry>& entries() const { return entries_; }

 private:
  std::unordered_map<Mac, Entry> entries_;
};

}  // namespace weft::router
