// HostSetup: the weave bridge and its pcap veth (see host_setup.hpp).
#include "weft/datapath/linux/host_setup.hpp"

#include <algorithm>

#include "weft/datapath/linux/ethtool.hpp"
#include "weft/datapath/linux/garp.hpp"
#include "weft/datapath/linux/sysctl.hpp"

namespace weft::datapath::host {

template <typename F>
auto HostSetup::run(F&& f) -> std::invoke_result_t<F&> {
  if (ns_ != nullptr) return in_netns(*ns_, f);
  return f();
}

Result<BridgeState> HostSetup::ensure_bridge(const BridgeConfig& cfg) {
  return run([&] { return ensure_here(cfg); });
}

Result<void> HostSetup::destroy_bridge(std::string_view name) {
  return run([&] { return destroy_here(name); });
}

Result<BridgeState> HostSetup::inspect(std::string_view name) {
  return run([&]() -> Result<BridgeState> {
    WEFT_TRY(nl, Rtnl::open());
    return inspect_here(nl, name);
  });
}

Result<BridgeState> HostSetup::inspect_here(Rtnl& nl, std::string_view name) {
  BridgeState st;
  WEFT_TRY(br, nl.find_link(name));
  if (!br) return make_error("bridge {} not found: has weave been set up (weave launch)?", name);
  st.bridge = std::move(*br);
  WEFT_TRY(vb, nl.find_link(kVethBridgeEnd));
  WEFT_TRY(vp, nl.find_link(kVethPcapEnd));
  if (vb) st.veth_bridge = std::move(*vb);
  if (vp) st.veth_pcap = std::move(*vp);
  WEFT_TRY(addrs, nl.addresses(name));
  for (const auto& a : addrs) st.addresses.push_back(a.cidr);
  return st;
}

Result<BridgeState> HostSetup::ensure_here(const BridgeConfig& cfg) {
  WEFT_TRY(nl, Rtnl::open());
  const std::string& name = cfg.name;

  // 1. The bridge itself.
  WEFT_TRY(existing, nl.find_link(name));
  if (existing && existing->kind != LinkKind::bridge) {
    return make_error("{} exists but is not a bridge (type '{}'); remove it or choose another name",
                      name, existing->kind_name.empty() ? "device" : existing->kind_name);
  }
  if (!existing) {
    log_.info("creating bridge {} (mtu {})", name, cfg.mtu);
    WEFT_TRY_VOID(nl.create_bridge({.name = name, .mtu = cfg.mtu, .mac = cfg.mac}));
  } else if (cfg.mac && existing->mac != *cfg.mac) {
    log_.info("bridge {}: changing MAC {} -> {}", name, existing->mac, *cfg.mac);
    WEFT_TRY_VOID(nl.set_mac(name, *cfg.mac));
  }

  // 2. The veth pair, recreated if it is not a pair of exactly these two names.
  WEFT_TRY(vb, nl.find_link(kVethBridgeEnd));
  WEFT_TRY(vp, nl.find_link(kVethPcapEnd));
  bool pair_ok = vb && vp && vb->kind == LinkKind::veth && vb->peer_ifindex == vp->ifindex &&
                 !vb->peer_netnsid && vp->peer_ifindex == vb->ifindex;
  if (!pair_ok) {
    if (vb) {
      log_.warn("{} is not paired with {}; recreating it", kVethBridgeEnd, kVethPcapEnd);
      WEFT_TRY_VOID(nl.delete_link(kVethBridgeEnd));
    }
    // The old pcap end may have gone with its peer.
    WEFT_TRY(vp2, nl.find_link(kVethPcapEnd));
    if (vp2) WEFT_TRY_VOID(nl.delete_link(kVethPcapEnd));
    WEFT_TRY_VOID(nl.create_veth({.name = std::string(kVethBridgeEnd),
                                  .peer_name = std::string(kVethPcapEnd),
                                  .mtu = cfg.veth_mtu}));
  }

  // 3. MTUs: ports first; the bridge's own MTU is then set explicitly, which also stops the
  // kernel from re-deriving it from the smallest port later.
  for (std::string_view n : {kVethBridgeEnd, kVethPcapEnd}) {
    WEFT_TRY(l, nl.link(n));
    if (l.mtu != cfg.veth_mtu) WEFT_TRY_VOID(nl.set_mtu(n, cfg.veth_mtu));
  }
  WEFT_TRY(brl, nl.link(name));
  WEFT_TRY(vbl, nl.link(kVethBridgeEnd));
  if (vbl.master != brl.ifindex) WEFT_TRY_VOID(nl.set_master(kVethBridgeEnd, name));
  WEFT_TRY_VOID(nl.set_mtu(name, cfg.mtu));

  // 4. Offloads: frames reaching vethwe-pcap must be complete (see ethtool.hpp).
  for (std::string_view n : {std::string_view(name), kVethBridgeEnd, kVethPcapEnd}) {
    if (cfg.tx_offloads) {
      WEFT_TRY_VOID(set_superframe_offloads(n));
    } else {
      WEFT_TRY_VOID(disable_tx_offloads(n));
    }
  }

  // 5. Sysctls, best effort (no IPv6 => no accept_ra file).
  for (std::string_view n : {std::string_view(name), kVethBridgeEnd, kVethPcapEnd}) {
    if (auto r = set_accept_ra(n, 0); !r) log_.debug("{}", r.error().message);
  }
  if (auto r = set_neigh_params(name); !r) log_.warn("{}", r.error().message);

  // 6. Up.
  for (std::string_view n : {kVethPcapEnd, kVethBridgeEnd, std::string_view(name)}) {
    WEFT_TRY_VOID(nl.set_up(n, true));
  }
  return inspect_here(nl, name);
}

Result<void> HostSetup::destroy_here(std::string_view name) {
  WEFT_TRY(nl, Rtnl::open());
  WEFT_TRY(br, nl.find_link(name));
  if (br) {
    log_.info("deleting {}", name);
    WEFT_TRY_VOID(nl.delete_link(name));
  }
  WEFT_TRY(all, nl.links());
  for (const auto& l : all) {
    if (l.name.rfind("vethwe", 0) != 0) continue;
    // Deleting one end of a veth removes its peer too: look again before deleting.
    WEFT_TRY(still, nl.find_link(l.name));
    if (!still || still->ifindex != l.ifindex) continue;
    WEFT_TRY_VOID(nl.delete_link(l.name));
  }
  return {};
}

Result<bool> HostSetup::expose(std::string_view bridge, const Cidr& cidr) {
  return run([&]() -> Result<bool> {
    WEFT_TRY(nl, Rtnl::open());
    WEFT_TRY(addrs, nl.addresses(bridge));
    bool present =
        std::any_of(addrs.begin(), addrs.end(), [&](const AddrInfo& a) { return a.cidr == cidr; });
    if (!present) WEFT_TRY_VOID(nl.add_address(bridge, cidr));
    WEFT_TRY(l, nl.link(bridge));
    if (!l.up) WEFT_TRY_VOID(nl.set_up(bridge, true));
    WEFT_TRY_VOID(send_gratuitous_arp(bridge, cidr.addr()));
    return !present;
  });
}

Result<bool> HostSetup::hide(std::string_view bridge, const Cidr& cidr) {
  return run([&]() -> Result<bool> {
    WEFT_TRY(nl, Rtnl::open());
    WEFT_TRY(addrs, nl.addresses(bridge));
    bool present =
        std::any_of(addrs.begin(), addrs.end(), [&](const AddrInfo& a) { return a.cidr == cidr; });
    if (present) WEFT_TRY_VOID(nl.delete_address(bridge, cidr));
    return present;
  });
}

}  // namespace weft::datapath::host
