#include "weft/router/forwarder.hpp"

namespace weft::router {
namespace {

constexpr std::array<std::uint8_t, 6> kStp = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};

Mac dst_mac(std::span<const std::uint8_t> f) { return Mac::from_bytes(f.subspan(0, 6)); }
Mac src_mac(std::span<const std::uint8_t> f) { return Mac::from_bytes(f.subspan(6, 6)); }

}  // namespace

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
                                 std::vector<OverlaySend>& out) {
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
    ++stats_.relayed;
    out.push_back(OverlaySend{*hop, src_peer, dst_peer, frame});
    return;
  }
  if (src_peer == self_) {
    ++stats_.dropped_other;  // our own frame came back: never loop
    return;
  }
  macs_.add_forced(src_mac(frame), src_peer, now);
  inject = true;
  ++stats_.injected;
  auto dst = dst_mac(frame);
  auto owner = dst.is_multicast() ? std::nullopt : macs_.lookup(dst);
  if (owner && *owner == self_) return;
  flood(src_peer, frame, routes, out);
}

}  // namespace weft::router
