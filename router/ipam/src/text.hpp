#pragma once
// Small text helpers shared by the allocator's translation units.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/strings.hpp"

namespace weft::ipam::detail {

/// Weave's Range.AsCIDRString: a CIDR when the range is one, else first-last.
inline std::string range_text(Ipv4Range r) {
  auto size = r.size();
  if (size == 0 || (size & (size - 1)) != 0 || (r.start() & (size - 1)) != 0) return r.str();
  std::uint8_t bits = 0;
  while ((std::uint64_t{1} << bits) < size) ++bits;
  return Cidr(Ipv4(static_cast<std::uint32_t>(r.start())), static_cast<std::uint8_t>(32 - bits))
      .str();
}


}  // namespace weft::ipam::detail
