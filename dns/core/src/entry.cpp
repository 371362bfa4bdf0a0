#include "weft/dns/entry.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

namespace weft::dns {

bool same_identity(const Entry& a, const Entry& b) {
  return a.hostname == b.hostname && a.origin == b.origin && a.container_id == b.container_id && a.addr == b.addr;
}

bool wire_less(const Entry& a, const Entry& b) {
  return std::tie(a.hostname, a.origin, a.container_id, a.addr) <
         std::tie(b.hostname, b.origin, b.container_id, b.addr);
}

bool merge_entry(Entry& mine, const Entry& incoming) {
  if (incoming.version > mine.version) {
    mine.version = incoming.version;
    mine.tombstone = incoming.tombstone;
    return true;
  }
  if (incoming.version == mine.version && incoming.tombstone > mine.tombstone) {
    mine.tombstone = incoming.tombstone;
    return true;
  }
  return false;
}

bool tombstone_entry(Entry& e, std::int64_t now_unix) {
  if (!e.live()) return false;
  e.tombstone = now_unix;
  e.version = next_version(e.version);
  return true;
}

void normalize(std::vector<Entry>& entries) {
  std::sort(entries.begin(), entries.end(), wire_less);
  std::vector<Entry> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    if (!out.empty() && same_identity(out.back(), e)) {
      merge_entry(out.back(), e);
      continue;
    }
    out.push_back(std::move(e));
  }
  entries = std::move(out);
}

std::int64_t next_version(std::int64_t v) { return v == std::numeric_limits<std::int64_t>::max() ? v : v + 1; }

}  // namespace weft::dns
