#pragma once
// The topology gossip unit (spec §2.2): what one peer says about itself and its connections.
// Codec: weft/mesh/topology_codec.hpp (gob `peerSummary` + `[]connectionSummary` pairs).
#include <cstdint>
#include <string>
#include <vector>

#include "weft/base/peer_name.hpp"

namespace weft::mesh {

struct ConnectionSummary {
  PeerName name;                ///< remote peer of this connection
  std::string remote_tcp_addr;  ///< "ip:port" as seen by the owning peer
  bool outbound = false;        ///< the owner initiated it
  bool established = false;     ///< overlay heartbeat handshake completed
  bool operator==(const ConnectionSummary&) const = default;
};

struct PeerSummary {
  PeerName name;
  std::string nickname;
  std::uint64_t uid = 0;
  std::uint64_t version = 0;
  std::uint16_t short_id = 0;  ///< 0..4095
  bool has_short_id = false;
  std::vector<ConnectionSummary> connections;
  bool operator==(const PeerSummary&) const = default;
};

}  // namespace weft::mesh
