#pragma once
// weave-npc's ipset names (kube spec §4.3): "weave-" + the SHA-1 of a descriptive string, read as a
// big-endian 160-bit integer and written in base 85, least-significant digit first.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace weft::npc {

/// SHA-1 of `data` (FIPS 180-4). Used only for names; no security rests on it.
std::array<std::uint8_t, 20> sha1(std::string_view data);
/// Weave's shortName(s): at most 25 characters of the base-85 alphabet.
std::string short_name(std::string_view s);
/// "weave-" + short_name(s).
std::string ipset_name(std::string_view s);

}  // namespace weft::npc
