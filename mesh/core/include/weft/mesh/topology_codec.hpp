#pragma once
// Topology gossip payload (spec §2.2): one gob stream holding, per peer, a `peerSummary` struct
// followed by a `[]connectionSummary`.
//
//   peerSummary       {1 NameByte []byte(6), 2 NickName string, 3 UID uint, 4 Version uint,
//                      5 ShortID uint, 6 HasShortID bool}
//   connectionSummary {1 NameByte []byte(6), 2 RemoteTCPAddr string, 3 Outbound bool,
//                      4 Established bool}
#include <optional>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/mesh/peer_summary.hpp"

namespace weft::mesh {

struct TopologyTypes {
  gob::TypePtr peer_summary;
  gob::TypePtr connection_summary;
  gob::TypePtr connections;  ///< []connectionSummary
  static const TopologyTypes& get();
};

/// Encodes peers in the given order into one fresh gob stream. `enc` lets tests pin type ids.
Result<void> encode_peer_updates(gob::Encoder& enc, const std::vector<PeerSummary>& peers);
Bytes encode_peer_updates(const std::vector<PeerSummary>& peers);
/// Decodes (peerSummary, []connectionSummary) pairs until the end. Any malformed element (a name
/// that is not 6 bytes, a ShortID that does not fit uint16, a dangling peerSummary) is an error.
/// A fast path decodes the shape Weave sends straight into PeerSummary; anything else, including
/// every error, goes through the generic decoder, so the results are decode_peer_updates_generic's.
Result<std::vector<PeerSummary>> decode_peer_updates(ByteSpan b);
/// The same through the generic gob decoder only (the reference the tests and fuzz_gob compare
/// the fast path with).
Result<std::vector<PeerSummary>> decode_peer_updates_generic(ByteSpan b);
/// The fast path alone: nullopt for another shape or for input the generic decoder refuses.
std::optional<std::vector<PeerSummary>> decode_peer_updates_fast(ByteSpan b);

}  // namespace weft::mesh
