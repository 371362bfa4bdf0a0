#include "weft/mesh/gossip_channel.hpp"

#include <algorithm>

#include "weft/base/fnv.hpp"

namespace weft::mesh {

std::uint64_t fnv64a(ByteSpan b) { return fnv1a64(b); }

Result<std::optional<Bytes>> SurrogateChannel::on_gossip(TimePoint now, PeerName, ByteSpan payload, GossipSender&) {
  while (!seen_.empty() && now - seen_.front().at > kDedupWindow) seen_.pop_front();
  auto h = fnv64a(payload);
  for (auto& s : seen_) {
    if (s.hash == h && std::equal(s.bytes.begin(), s.bytes.end(), payload.begin(), payload.end())) {
      return std::optional<Bytes>{};
    }
  }
  // NB: bounded: a flood of distinct messages within the window is capped, oldest dropped first.
  if (seen_.size() >= 4096) seen_.pop_front();
  seen_.push_back(Seen{now, h, Bytes(payload.begin(), payload.end())});
  return std::optional<Bytes>(Bytes(payload.begin(), payload.end()));
}

}  // namespace weft::mesh
