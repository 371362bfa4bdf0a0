#include "weft/router/fastdp_tables.hpp"

namespace weft::router {
namespace {

template <class K, class V, class Set, class Del>
void diff_map(const std::map<K, V>& from, const std::map<K, V>& to, Set& set, Del& del) {
  for (const auto& [k, v] : to) {
    auto it = from.find(k);
    if (it == from.end() || !(it->second == v)) set.emplace_back(k, v);
  }
  for (const auto& [k, v] : from) {
    if (!to.contains(k)) del.push_back(k);
  }
}

}  // namespace

FastdpTables derive_fastdp_tables(const FastdpTablesInput& in) {
  FastdpTables t;
  // ShortIDs held by exactly one peer; a collision (spec §2.7) leaves both peers to weaver.
  std::map<std::uint16_t, int> uses;
  for (const auto& [p, s] : in.short_ids) uses[s.value()]++;
  auto sid = [&](PeerName p) -> std::optional<std::uint16_t> {
    auto it = in.short_ids.find(p);
    if (it == in.short_ids.end() || uses[it->second.value()] != 1) return std::nullopt;
    return it->second.value();
  };
  const auto self = sid(in.self);
  if (!self) return t;  // without a ShortID of our own nothing can be named on the wire
  auto fast = [&](PeerName p) { return in.fast_neighbour ? in.fast_neighbour(p) : std::nullopt; };

  if (in.macs != nullptr) {
    for (const auto& [mac, e] : in.macs->entries()) {
      if (e.peer == in.self) {
        std::uint32_t port = 0;
        if (in.direct_ports != nullptr) {
          if (auto it = in.direct_ports->find(mac); it != in.direct_ports->end()) port = it->second;
        }
        t.macs[mac] = {*self, true, port};
      } else if (auto s = sid(e.peer)) {
        t.macs[mac] = {*s, false};
      }
    }
  }
  if (in.routes == nullptr) return t;
  for (const auto& [p, s] : in.short_ids) {
    if (p == in.self) continue;
    auto id = sid(p);
    if (!id) continue;
    FastdpTables::Hop h;
    if (auto nh = in.routes->unicast(p); nh && *nh != PeerName{}) {
      if (auto ip = fast(*nh); ip && sid(*nh)) {
        h.vxlan = true;
        h.ip = *ip;
      }
    }
    t.hops[*id] = h;
  }
  for (const auto& [src, s] : in.short_ids) {
    auto id = sid(src);
    if (!id) continue;
    FastdpTables::Flood f;
    f.kernel = true;
    for (auto nh : in.routes->broadcast(src)) {
      auto ip = fast(nh);
      auto dst = sid(nh);
      if (!ip || !dst) {
        f.kernel = false;
        continue;
      }
      f.hops.push_back({*ip, *dst});
    }
    if (f.hops.size() > kFastdpMaxFlood) f.kernel = false;
    if (!f.kernel) f.hops.clear();
    t.floods[*id] = std::move(f);
  }
  return t;
}

FastdpTablesDiff diff_fastdp_tables(const FastdpTables& from, const FastdpTables& to) {
  FastdpTablesDiff d;
  diff_map(from.macs, to.macs, d.mac_set, d.mac_del);
  diff_map(from.hops, to.hops, d.hop_set, d.hop_del);
  diff_map(from.floods, to.floods, d.flood_set, d.flood_del);
  return d;
}

}  // namespace weft::router
