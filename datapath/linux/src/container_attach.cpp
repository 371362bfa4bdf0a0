// Container attach/detach (see container_attach.hpp).
#include "weft/datapath/linux/container_attach.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "weft/datapath/linux/ethtool.hpp"
#include "weft/datapath/linux/garp.hpp"
#include "weft/datapath/linux/rtnl.hpp"
#include "weft/datapath/linux/sysctl.hpp"

namespace weft::datapath::host {
namespace {

const Cidr kMulticast(Ipv4(0xE0000000), 4);  // 224.0.0.0/4

bool contains(const std::vector<AddrInfo>& addrs, const Cidr& c) {
  return std::any_of(addrs.begin(), addrs.end(), [&](const AddrInfo& a) { return a.cidr == c; });
}

/// Steps a-g: a new ethwe in the container, its peer a running hairpin port of the bridge.
Result<void> create_ethwe(Rtnl& host, Rtnl& guest, const Netns& container, const LinkInfo& bridge,
                          const std::string& host_end, const std::string& guest_end,
                          const AttachSpec& spec, const Logger& log) {
  // A leftover from a container that died mid-attach would make the create fail.
  WEFT_TRY(stale, host.find_link(host_end));
  if (stale) {
    log.info("deleting stale {}", host_end);
    WEFT_TRY_VOID(host.delete_link(host_end));
  }
  WEFT_TRY(stale_guest, host.find_link(guest_end));
  if (stale_guest) WEFT_TRY_VOID(host.delete_link(guest_end));
  WEFT_TRY_VOID(host.create_veth({.name = host_end, .peer_name = guest_end, .mtu = spec.mtu != 0 ? spec.mtu : bridge.mtu}));

  auto steps = [&]() -> Result<void> {
    for (const auto& n : {host_end, guest_end}) {
      if (auto r = set_accept_ra(n, 0); !r) log.debug("{}", r.error().message);
    }
    // The container's TX offloads follow the bridge's: weaver leaves them on only when its
    // backend takes superframes whole (host_setup.hpp BridgeConfig::tx_offloads).
    if (bridge_takes_superframes(bridge.name)) {
      WEFT_TRY_VOID(set_superframe_offloads(guest_end));
    } else if (!spec.keep_tx_on) {
      WEFT_TRY_VOID(disable_tx_offloads(guest_end));
    }
    WEFT_TRY_VOID(host.move_to_netns(guest_end, container));
    WEFT_TRY_VOID(guest.rename(guest_end, spec.ifname));
    auto arp = in_netns(container, [&] { return set_neigh_params(spec.ifname); });
    if (!arp) log.warn("{}", arp.error().message);
    WEFT_TRY_VOID(host.set_master(host_end, bridge.name));
    WEFT_TRY_VOID(host.set_up(host_end, true));
    WEFT_TRY_VOID(host.set_hairpin(host_end, spec.hairpin));
    return {};
  };
  auto r = steps();
  if (!r) {
    // Deleting the host end takes the peer with it, wherever it has got to by now.
    if (auto d = host.delete_link(host_end); !d) log.warn("cleanup: {}", d.error().message);
  }
  return r;
}

Result<ContainerInterface> describe(Rtnl& guest, const LinkInfo& l) {
  ContainerInterface out{.name = l.name, .mac = l.mac, .cidrs = {}};
  WEFT_TRY(addrs, guest.addresses(l.name));
  for (const auto& a : addrs) out.cidrs.push_back(a.cidr);
  return out;
}

}  // namespace

std::string veth_id_for(std::string_view netns_path, std::uint64_t inode) {
  constexpr std::string_view kProc = "/proc/";
  constexpr std::string_view kNsNet = "/ns/net";
  if (netns_path.size() > kProc.size() + kNsNet.size() &&
      netns_path.substr(0, kProc.size()) == kProc &&
      netns_path.substr(netns_path.size() - kNsNet.size()) == kNsNet) {
    auto pid = netns_path.substr(kProc.size(), netns_path.size() - kProc.size() - kNsNet.size());
    if (!pid.empty() &&
        std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::string(pid.substr(0, kVethIdMax));
    }
  }
  std::string s = std::to_string(inode);
  return s.size() > kVethIdMax ? s.substr(s.size() - kVethIdMax) : s;
}

Result<ContainerInterface> attach_container(const Netns& container, const AttachSpec& spec,
                                            const Logger& log) {
  if (spec.veth_id.empty()) return make_error("attach: empty veth id");
  std::string id = spec.veth_id.substr(0, kVethIdMax);
  std::string host_end = std::string(kHostVethPrefix) + id;
  std::string guest_end = std::string(kGuestVethPrefix) + id;

  WEFT_TRY(host, Rtnl::open());
  WEFT_TRY(guest, Rtnl::open(&container));
  WEFT_TRY(bridge, host.find_link(spec.bridge));
  if (!bridge)
    return make_error("bridge {} not found: has weave been set up (weave launch)?", spec.bridge);
  if (bridge->kind != LinkKind::bridge) {
    return make_error("{} is not a bridge (type '{}')", spec.bridge, bridge->kind_name);
  }

  WEFT_TRY(ethwe, guest.find_link(spec.ifname));
  if (!ethwe) {
    WEFT_TRY_VOID(create_ethwe(host, guest, container, *bridge, host_end, guest_end, spec, log));
  }

  // h. Addresses not yet present.
  WEFT_TRY(addrs, guest.addresses(spec.ifname));
  std::vector<Cidr> added;
  for (const auto& c : spec.cidrs) {
    if (contains(addrs, c) || std::find(added.begin(), added.end(), c) != added.end()) continue;
    WEFT_TRY_VOID(guest.add_address(spec.ifname, c));
    added.push_back(c);
  }
  // j. Up.
  WEFT_TRY_VOID(guest.set_up(spec.ifname, true));
  // k. One gratuitous ARP per new address, 1 ms apart.
  if (spec.gratuitous_arp && !added.empty()) {
    WEFT_TRY_VOID(in_netns(container, [&]() -> Result<void> {
      for (std::size_t i = 0; i < added.size(); ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        WEFT_TRY_VOID(send_gratuitous_arp(spec.ifname, added[i].addr()));
      }
      return {};
    }));
  }
  // l. The multicast route last: weavewait waits for it as the sign that attach is complete.
  if (spec.multicast_route) {
    WEFT_TRY_VOID(
        guest.add_route(kMulticast, spec.ifname, RouteScope::link, /*exist_ok=*/true));
  }
  WEFT_TRY(now, guest.link(spec.ifname));
  return describe(guest, now);
}

Result<bool> detach_container(const Netns& container, std::span<const Cidr> cidrs) {
  WEFT_TRY(guest, Rtnl::open(&container));
  WEFT_TRY(ethwe, guest.find_link(kContainerIfname));
  if (!ethwe) return false;
  WEFT_TRY(addrs, guest.addresses(kContainerIfname));
  for (const auto& c : cidrs) {
    if (contains(addrs, c)) WEFT_TRY_VOID(guest.delete_address(kContainerIfname, c));
  }
  WEFT_TRY(left, guest.addresses(kContainerIfname));
  if (!left.empty()) return false;
  WEFT_TRY_VOID(guest.delete_link(kContainerIfname));
  return true;
}

Result<std::vector<ContainerInterface>> container_interfaces(const Netns& container,
                                                             std::string_view bridge) {
  WEFT_TRY(host, Rtnl::open());
  WEFT_TRY(br, host.find_link(bridge));
  if (!br) return make_error("bridge {} not found: has weave been set up (weave launch)?", bridge);
  WEFT_TRY(host_ns, Netns::current());
  WEFT_TRY(guest, Rtnl::open(&container));
  bool same_ns = host_ns.inode() == container.inode();
  // How the container's namespace refers to ours; without an id no veth there can lead here.
  WEFT_TRY(nsid, guest.netns_id(host_ns));
  WEFT_TRY(links, guest.links());
  std::vector<ContainerInterface> out;
  for (const auto& l : links) {
    if (l.name.rfind(kContainerIfname, 0) != 0 || l.kind != LinkKind::veth || l.peer_ifindex == 0)
      continue;
    bool peer_here =
        same_ns ? !l.peer_netnsid : (l.peer_netnsid && nsid && *l.peer_netnsid == *nsid);
    if (!peer_here) continue;
    auto peer = host.link(l.peer_ifindex);
    if (!peer || peer->master != br->ifindex) continue;
    WEFT_TRY(iface, describe(guest, l));
    out.push_back(std::move(iface));
  }
  return out;
}

Result<int> announce_links(const Netns& container, std::string_view prefix) {
  WEFT_TRY(guest, Rtnl::open(&container));
  WEFT_TRY(links, guest.links());
  WEFT_TRY(addrs, guest.all_addresses());
  return in_netns(container, [&]() -> Result<int> {
    int n = 0;
    for (const auto& l : links) {
      if (!l.name.starts_with(prefix)) continue;
      WEFT_TRY_VOID(set_neigh_params(l.name));
      for (const auto& a : addrs) {
        if (a.ifindex != l.ifindex) continue;
        if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        WEFT_TRY_VOID(send_gratuitous_arp(l.name, a.cidr.addr()));
        ++n;
      }
    }
    return n;
  });
}

}  // namespace weft::datapath::host
