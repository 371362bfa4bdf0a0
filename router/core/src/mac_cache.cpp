#include "weft/router/mac_cache.hpp"

namespace weft::router {

MacCache::AddResult MacCache::add(const Mac& mac, PeerName peer, TimePoint now) {
  auto [it, inserted] = entries_.try_emplace(mac, Entry{peer, now});
  if (inserted) return AddResult::added;
  if (it->second.peer != peer) return AddResult::conflict;
  if (now - it->second.last_seen >= kRefresh) {
    it->second.last_seen = now;
    return AddResult::refreshed;
  }
  return AddResult::unchanged;
}

bool MacCache::add_forced(const Mac& mac, PeerName peer, TimePoint now) {
  auto [it, inserted] = entries_.try_emplace(mac, Entry{peer, now});
  if (inserted) return false;
  bool moved = it->second.peer != peer;
  if (moved || now - it->second.last_seen >= kRefresh) it->second = Entry{peer, now};
  return moved;
}

std::optional<PeerName> MacCache::lookup(const Mac& mac) const {
  auto it = entries_.find(mac);
  if (it == entries_.end()) return std::nullopt;
  return it->second.peer;
}

std::size_t MacCache::expire(TimePoint now) {
  return std::erase_if(entries_, [&](auto& kv) { return now - kv.second.last_seen > kMaxAge; });
}

std::size_t MacCache::delete_peer(PeerName peer) {
  return std::erase_if(entries_, [&](auto& kv) { return kv.second.peer == peer; });
}

}  // namespace weft::router
