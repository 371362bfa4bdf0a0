#include "weft/plugin/netlink_links.hpp"

#include <filesystem>

#include "weft/datapath/linux/ethtool.hpp"
#include "weft/datapath/linux/rtnl.hpp"
#include "weft/datapath/linux/sysctl.hpp"

namespace weft::plugin {

namespace host = weft::datapath::host;

Result<Mac> NetlinkLinks::create_veth(const VethPair& names) {
  WEFT_TRY(rtnl, host::Rtnl::open());
  WEFT_TRY(bridge, rtnl.link(bridge_));
  // A leftover from an endpoint whose DeleteEndpoint never came would make the create fail.
  for (const auto& n : {names.host, names.guest}) {
    WEFT_TRY(stale, rtnl.find_link(n));
    if (stale) {
      log_.info("deleting stale {}", n);
      WEFT_TRY_VOID(rtnl.delete_link(n));
    }
  }
  WEFT_TRY_VOID(rtnl.create_veth({.name = names.host, .peer_name = names.guest, .mtu = bridge.mtu}));
  auto steps = [&]() -> Result<Mac> {
    // No IPv6 router advertisements on the host end (only where IPv6 is on at all).
    if (std::filesystem::exists("/proc/sys/net/ipv6/conf/" + names.host + "/accept_ra")) {
      if (auto r = host::set_accept_ra(names.host, 0); !r) log_.debug("{}", r.error().message);
    }
    // NB: weft's datapath is userspace: unless its backend takes superframes whole (the bridge's
    // offloads are then on, host_setup.hpp), the container must checksum and segment its frames.
    if (host::bridge_takes_superframes(bridge.name)) {
      WEFT_TRY_VOID(host::set_superframe_offloads(names.guest));
    } else {
      WEFT_TRY_VOID(host::disable_tx_offloads(names.guest));
    }
    WEFT_TRY_VOID(rtnl.set_master(names.host, bridge.name));
    WEFT_TRY_VOID(rtnl.set_up(names.host, true));
    WEFT_TRY(guest, rtnl.link(names.guest));
    return guest.mac;
  };
  auto r = steps();
  if (!r) {
    if (auto d = rtnl.delete_link(names.host); !d) log_.warn("cleanup: {}", d.error().message);
  }
  return r;
}

Result<bool> NetlinkLinks::delete_link(std::string_view name) {
  WEFT_TRY(rtnl, host::Rtnl::open());
  WEFT_TRY(link, rtnl.find_link(name));
  if (!link) return false;
  WEFT_TRY_VOID(rtnl.delete_link(name));
  return true;
}

}  // namespace weft::plugin
