#include "weft/router/forwarder.hpp"

#include "weft/base/fnv.hpp"

namespace weft::router {
namespace {

constexpr std::array<std::uint8_t, 6> kStp = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};

Mac dst_mac(std::span<const std::uint8_t> f) { return Mac::from_bytes(f.subspan(0, 6)); }
Mac src_mac(std::span<const std::uint8_t> f) { return Mac::from_bytes(f.subspan(6, 6)); }

/// FNV-1a over the source peer and the frame: the identity of a flooded frame.
std::uint64_t frame_key(PeerName src, std::span<const std::uint8_t> frame) {
  return Fnv1a64{}.u64le(src.value()).bytes(frame).value() | 1;  // never 0, the empty slot
}

}  // namespace

bool Forwarder::seen_recently(TimePoint now, PeerName src, std::span<const std::uint8_t> frame) {
  auto key = frame_key(src, frame);
  auto& slot = seen_[key % kSeenSlots];
  if (slot.key == key && now - slot.at < kDuplicateWindow) return true;
  slot = Seen{key, now};
  return false;
}

void Forwarder::flood(PeerName src, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
                      std::vector<OverlaySend>& out) {
  for (auto hop : routes.broadcast(src)) out.push_back(OverlaySend{hop, src, hop, frame});
}

void Forwarder::on_local_frame(TimePoint now, std::span<const std::uint8_t> frame, const mesh::RouteTable& routes,
                               std::vector<OverlaySend>& out) {
  if (frame.size() < 14) {
    ++stats_.dropped_other;
    return;
  }
  auto src = src_mac(frame);
  if (macs_.add(src, self_, now) == MacCache::AddResult::conflict) {
    ++stats_.dropped_mac_conflict;
    return;
  }
  auto dst = dst_mac(frame);
  if (dst.bytes() == kStp) {
    ++stats_.dropped_other;
    return;
  }
  auto owner = dst.is_multicast() ? std::nullopt : macs_.lookup(dst);
  if (!owner) {
    ++stats_.local_flooded;
    flood(self_, frame, routes, out);
    return;
  }
  if (*owner == self_) {
    ++stats_.dropped_other;  // local traffic the bridge already delivered
    return;
  }
  auto hop = routes.unicast(*owner);
  if (!hop || hop->is_unknown()) {
    ++stats_.dropped_no_route;
    return;
  }
  ++stats_.local_unicast;
  out.push_back(OverlaySend{*hop, self_, *owner, frame});
}

void Forwarder::on_overlay_frame(TimePoint now, PeerName src_peer, PeerName dst_peer,
                                 std::span<const std::uint8_t> frame, const mesh::RouteTable& routes, bool& inject,
                                 std::vector<OverlaySend>& out, std::optional<PeerName> from) {
  inject = false;
  if (frame.size() < 14) {
    ++stats_.dropped_other;
    return;
  }
  if (dst_peer != self_) {
    auto hop = routes.unicast(dst_peer);
    if (!hop || hop->is_unknown()) {
      ++stats_.dropped_no_route;
      return;
    }
    if (from && *hop == *from) {
      ++stats_.dropped_loop;  // its route runs through us, ours through it: views disagree
      return;
    }
    ++stats_.relayed;
    out.push_back(OverlaySend{*hop, src_peer, dst_peer, frame});
    return;
  }
  if (src_peer == self_) {
    ++stats_.dropped_other;  // our own frame came back: never loop
    return;
  }
  auto dst = dst_mac(frame);
  auto owner = dst.is_multicast() ? std::nullopt : macs_.lookup(dst);
  if (!(owner && *owner == self_) && seen_recently(now, src_peer, frame)) {
    ++stats_.dropped_duplicate;
    return;
  }
  macs_.add_forced(src_mac(frame), src_peer, now);
  inject = true;
  ++stats_.injected;
  if (owner && *owner == self_) return;
  auto first = out.size();
  flood(src_peer, frame, routes, out);
  if (!from) return;
  auto keep = first;
  for (auto i = first; i < out.size(); ++i) {
    if (out[i].next_hop == *from) {
      ++stats_.dropped_loop;  // never back where it came from
      continue;
    }
    out[keep++] = out[i];
  }
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(keep), out.end());
}

}  // namespace weft::router
