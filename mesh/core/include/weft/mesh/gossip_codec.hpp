#pragma once
// Gossip envelopes (spec §1.7): successive gob singletons from ONE encoder.
//   tag 4 Gossip / tag 6 GossipBroadcast: (channel string, src PeerName uint, payload []byte)
//   tag 5 GossipUnicast:                  (channel string, src uint, dst uint, payload []byte)
// The payload is itself an independent gob stream (or, for IPAM unicast, a type byte + gob).
#include <string>

#include "weft/base/bytes.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/result.hpp"

namespace weft::mesh {

struct GossipEnvelope {
  std::string channel;
  PeerName src;
  PeerName dst;  ///< unicast only
  Bytes payload;
  bool operator==(const GossipEnvelope&) const = default;
};

Bytes encode_gossip_envelope(const GossipEnvelope& e, bool unicast);
Result<GossipEnvelope> decode_gossip_envelope(ByteSpan b, bool unicast);

}  // namespace weft::mesh
