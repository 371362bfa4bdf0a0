#pragma once
// MeshCoreView: the allocator's MeshView over the mesh core, for the daemon shell. Peers known =
// the topology peer table; a route = a unicast-all next hop; direct peers = what the connection
// maker targets (passed in, since the mesh core does not own the targets).
#include <functional>
#include <utility>

#include "weft/ipam/allocator.hpp"
#include "weft/mesh/mesh_core.hpp"

namespace weft::ipam {

class MeshCoreView final : public MeshView {
 public:
  /// `direct_peer_count` counts the connection maker's targets, excluding ones found to be us.
  MeshCoreView(mesh::MeshCore& core, std::function<std::size_t()> direct_peer_count)
      : core_(core), direct_(std::move(direct_peer_count)) {}
  bool is_known(PeerName p) const override { return core_.topology().find(p) != nullptr; }
  bool has_route(PeerName p) const override { return core_.routes().unicast_all(p).has_value(); }
  std::vector<PeerName> peers() const override {
    std::vector<PeerName> out;
    for (auto& [name, entry] : core_.topology().peers()) {
      if (name != core_.self_name()) out.push_back(name);
    }
    return out;
  }
  std::size_t direct_peer_count() const override { return direct_ ? direct_() : 0; }

 private:
  mesh::MeshCore& core_;
  std::function<std::size_t()> direct_;
};

}  // namespace weft::ipam
