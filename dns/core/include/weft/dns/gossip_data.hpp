#pragma once
// The gossip payload of channel "nameserver" (spec §7.1): one self-contained gob stream holding
//
//   GossipData{ 1 Timestamp int (unix s), 2 Entries []Entry }          (Entries: embedded field)
//   Entry{ 1 ContainerID string, 2 Origin uint (PeerName), 3 Addr uint (IPv4, host order),
//          4 Hostname string, 5 Version int, 6 Tombstone int (unix s, 0 = live) }
//
// Zero fields are omitted (gob), so a fresh entry carries no Version and no Tombstone.
#include <cstdint>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"
#include "weft/dns/entry.hpp"

namespace weft::dns {

struct GossipData {
  std::int64_t timestamp = 0;
  std::vector<Entry> entries;
  bool operator==(const GossipData&) const = default;
};

/// Encodes with entries in gossip order and duplicate identities folded (normalize()), so the
/// bytes are safe for a Go peer. Type ids 65, 66, 67 unless `type_ids` (golden tests: Go uses
/// process-wide ids) gives the ids in definition order (GossipData, Entries, Entry).
Bytes encode_gossip_data(GossipData g, std::vector<int> type_ids = {});

/// Decodes one message. Rejects wrong field kinds, an Addr wider than 32 bits and an Origin
/// wider than 48 bits; never throws, allocation bounded by the gob decoder's limits. Entries come
/// back normalized (gossip order, one per identity), where Go would panic on duplicates.
Result<GossipData> decode_gossip_data(ByteSpan payload);

}  // namespace weft::dns
