#pragma once
// Attaching a container's network namespace to the weave bridge (spec §11.4, Weave's
// `weaveutil attach-container` / `detach-container` / `container-addrs`):
//
//     host namespace                          container namespace
//     bridge `weave` ── vethwepl<id>  ═══════  ethwe  (10.32.0.1/12, ..., 224.0.0.0/4 route)
//
// The host side is the calling thread's namespace; the container side is entered on helper
// threads (see netns.hpp). iptables rules (Weave's INPUT ACCEPT/DROP rules for multicast in the
// container, spec §11.4 f and i) are not set here.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/netns.hpp"

namespace weft::datapath::host {

inline constexpr std::string_view kContainerIfname = "ethwe";
inline constexpr std::string_view kHostVethPrefix = "vethwepl";
inline constexpr std::string_view kGuestVethPrefix = "vethwepg";
inline constexpr std::size_t kVethIdMax = 7;  ///< so that "vethwepl" + id fits IFNAMSIZ

struct AttachSpec {
  std::string bridge = "weave";
  /// Suffix of vethwepl<id>/vethwepg<id>; cut to kVethIdMax characters. Weave uses the
  /// container's pid; see veth_id_for().
  std::string veth_id;
  std::vector<Cidr> cidrs;
  /// The container end's name: `ethwe` for `weave attach`, CNI_IFNAME for the CNI plugin.
  std::string ifname = std::string(kContainerIfname);
  /// MTU of both veth ends; 0 = the bridge's.
  std::uint32_t mtu = 0;
  bool hairpin = true;          ///< hairpin mode on the bridge port (the host end)
  bool multicast_route = true;  ///< add 224.0.0.0/4 dev <ifname> scope link (last)
  bool gratuitous_arp = true;   ///< one gratuitous ARP per address added (step k)
  /// Leave TX checksum offload on in the container (Weave's awsvpc mode). weft's datapath is
  /// userspace, so offloads are otherwise always turned off on the container end.
  bool keep_tx_on = false;
};

/// One weave interface of a container: its name, MAC and IPv4 addresses.
struct ContainerInterface {
  std::string name;
  Mac mac;
  std::vector<Cidr> cidrs;
};

/// The veth id for a namespace path: the pid for /proc/<pid>/ns/net (Weave's choice), else the
/// last kVethIdMax digits of the namespace inode (its leading digits are the same for every
/// namespace on a host, so cutting from the front would collide).
std::string veth_id_for(std::string_view netns_path, std::uint64_t inode);

/// Spec §11.4 steps 4a-4l minus iptables (and the CNI plugin's attach, kube spec §1.4 step 6,
/// with spec.ifname, spec.mtu and spec.hairpin). Steps a-g (create vethwepl<id>/vethwepg<id> with
/// the bridge's MTU, accept_ra=0 on both, offloads off on the container end, move it in and rename
/// it ethwe, ARP sysctls, host end enslaved + up + hairpin) run only when the container has no
/// ethwe yet; then every time: add the missing addresses, ethwe up, one gratuitous ARP per new
/// address 1 ms apart, the multicast route. If setting up a new ethwe fails, the half-made veth
/// is deleted. Returns the interface as it is afterwards.
Result<ContainerInterface> attach_container(const Netns& container, const AttachSpec& spec,
                                            const Logger& log);

/// Removes CIDRS from the container's ethwe (absent ones are ignored) and deletes ethwe (and so
/// its host peer) once it has no IPv4 address left. Returns true if ethwe was deleted. A
/// container without ethwe is not an error (returns false).
Result<bool> detach_container(const Netns& container, std::span<const Cidr> cidrs);

/// The container's weave interfaces (ethwe*) whose veth peer is a port of BRIDGE in the calling
/// thread's namespace. The peer's namespace is checked too (not only its ifindex), so links
/// attached to some other host namespace's bridge are never reported.
Result<std::vector<ContainerInterface>> container_interfaces(const Netns& container,
                                                             std::string_view bridge);

/// The plugin watcher's ARP step (spec §9): in the container, for every link whose name starts
/// with PREFIX ("ethwe", Docker names plugin interfaces ethwe0, ethwe1, ...), the fast ARP
/// sysctls and one gratuitous ARP per IPv4 address, so peers that cached an earlier owner of a
/// reused address learn the new MAC at once. Returns the number of addresses announced.
Result<int> announce_links(const Netns& container, std::string_view prefix);

}  // namespace weft::datapath::host
