#pragma once
// Weave's fast datapath identifies a (source, destination) peer pair by a VXLAN tunnel id built
// from their ShortIDs (spec §5.1): (dst << 12) | src; the VNI is its low 24 bits. weft does not
// run the kernel OVS datapath, but keeps the mapping for status and interop diagnostics.
#include <cstdint>
#include <utility>

#include "weft/base/short_id.hpp"

namespace weft::router {

inline std::uint64_t fastdp_tunnel_id(ShortID src, ShortID dst) {
  return (std::uint64_t{dst.value()} << 12) | src.value();
}
inline std::uint32_t fastdp_vni(ShortID src, ShortID dst) {
  return static_cast<std::uint32_t>(fastdp_tunnel_id(src, dst) & 0xFFFFFF);
}
/// The (src, dst) ShortIDs of a tunnel id.
inline std::pair<std::uint16_t, std::uint16_t> fastdp_peers(std::uint64_t tunnel_id) {
  return {static_cast<std::uint16_t>(tunnel_id & 0xFFF), static_cast<std::uint16_t>((tunnel_id >> 12) & 0xFFF)};
}

}  // namespace weft::router
