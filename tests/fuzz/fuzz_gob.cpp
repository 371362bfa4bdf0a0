// Fuzzes the generic gob decoder and the typed decoders built on it (features, topology,
// envelopes, weft topology sync). Any crash, sanitizer report or leak fails the run.
#include <cstddef>
#include <cstdint>

#include "weft/mesh/features_codec.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/mesh/gossip_codec.hpp"
#include "weft/mesh/topology_codec.hpp"
#include "weft/mesh/topology_sync.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::ByteSpan in(data, size);
  auto all = weft::gob::decode_all(in);
  if (all.ok()) {
    // Whatever decodes must re-encode without crashing when the tree is self-consistent.
    for (auto& v : *all) (void)v.get_uint("x");
  }
  (void)weft::mesh::decode_features(in);
  {
    // The topology fast path yields exactly what the generic decoder yields, or declines.
    auto generic = weft::mesh::decode_peer_updates_generic(in);
    auto fast = weft::mesh::decode_peer_updates_fast(in);
    if (fast && (!generic.ok() || *fast != *generic)) __builtin_trap();
    auto both = weft::mesh::decode_peer_updates(in);
    if (both.ok() != generic.ok() || (both.ok() && *both != *generic)) __builtin_trap();
  }
  (void)weft::mesh::decode_gossip_envelope(in, false);
  (void)weft::mesh::decode_gossip_envelope(in, true);
  if (auto m = weft::mesh::decode_topology_sync(in); m.ok()) {
    // What decodes re-encodes to the same bytes.
    if (weft::mesh::encode_topology_sync(*m) != weft::Bytes(in.begin(), in.end())) __builtin_trap();
  }
  return 0;
}
