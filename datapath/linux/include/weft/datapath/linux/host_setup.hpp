#pragma once
// HostSetup: the host side of weft's bridge (spec §11.8, "bridge" mode, as Weave's
// net/bridge.go does it with pcap capture):
//
//     containers' vethwepl* ──┐
//                             ├── bridge `weave` ── vethwe-bridge ═══ vethwe-pcap  ← pcap/AF_PACKET
//     exposed host address ───┘                       (veth pair)        (weft's datapath backend)
//
// Everything is idempotent: ensure_bridge() on a host that already has the bridge fixes what
// differs and changes nothing else; destroy_bridge() on a clean host succeeds.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::datapath::host {

inline constexpr std::string_view kDefaultBridge = "weave";
inline constexpr std::string_view kVethBridgeEnd = "vethwe-bridge";
inline constexpr std::string_view kVethPcapEnd = "vethwe-pcap";
/// Sleeve-only bridge MTU (spec §0).
inline constexpr std::uint32_t kDefaultBridgeMtu = 65535;

struct BridgeConfig {
  std::string name{kDefaultBridge};
  std::uint32_t mtu = kDefaultBridgeMtu;
  std::optional<Mac> mac;  ///< Weave uses the peer name; nullopt = kernel-chosen (kept if present)
  /// MTU of the vethwe pair. NB: larger than the bridge's on purpose: a container attached while
  /// the overlay MTU was bigger (a relaunch with a password, a smaller underlay) still gets its
  /// frames captured, and the sleeve answers oversized DF frames with ICMP "fragmentation needed"
  /// instead of the bridge dropping them silently.
  std::uint32_t veth_mtu = kDefaultBridgeMtu;
  /// TX offloads on the bridge and the vethwe pair: off (the default) for backends that need
  /// complete frames; on for AF_PACKET with virtio_net_hdr, which takes TSO superframes whole.
  /// Containers attached later follow the bridge (container_attach.hpp).
  bool tx_offloads = false;
};

struct BridgeState {
  LinkInfo bridge;
  LinkInfo veth_bridge;         ///< vethwe-bridge, a port of the bridge
  LinkInfo veth_pcap;           ///< vethwe-pcap, where the datapath backend captures and injects
  std::vector<Cidr> addresses;  ///< the bridge's IPv4 addresses (`weave expose`)
};

class HostSetup {
 public:
  /// NS: the host namespace to work in; nullptr = the calling thread's. With NS every call runs
  /// on a helper thread inside it (see netns.hpp).
  explicit HostSetup(Logger log, const Netns* ns = nullptr) : log_(std::move(log)), ns_(ns) {}

  /// Creates (or reuses) the bridge and the vethwe-bridge/vethwe-pcap pair: MTUs set, TX offloads
  /// off on all three, accept_ra=0 and Weave's ARP sysctls on the bridge (best effort: logged),
  /// vethwe-bridge enslaved, everything up. Fails if a link called CFG.name exists but is not a
  /// bridge (it is never deleted). Returns the resulting state.
  Result<BridgeState> ensure_bridge(const BridgeConfig& cfg = {});

  /// Deletes the bridge NAME (whatever its type) and every link whose name starts with `vethwe`
  /// (vethwe-bridge/-pcap/-datapath, containers' vethwepl*, ...). Missing links are fine.
  Result<void> destroy_bridge(std::string_view name = kDefaultBridge);

  /// The bridge's MAC and addresses without changing anything.
  Result<BridgeState> inspect(std::string_view name = kDefaultBridge);

  /// `weave expose`: adds CIDR to the bridge unless present, then sends a gratuitous ARP for it.
  /// Returns true if the address was added.
  Result<bool> expose(std::string_view bridge, const Cidr& cidr);
  /// `weave hide`: removes CIDR from the bridge if present. Returns true if it was removed.
  Result<bool> hide(std::string_view bridge, const Cidr& cidr);

 private:
  template <typename F>
  auto run(F&& f) -> std::invoke_result_t<F&>;
  Result<BridgeState> ensure_here(const BridgeConfig& cfg);
  Result<void> destroy_here(std::string_view name);
  Result<BridgeState> inspect_here(Rtnl& nl, std::string_view name);

  Logger log_;
  const Netns* ns_;
};

}  // namespace weft::datapath::host
