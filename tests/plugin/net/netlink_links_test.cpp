// Integration test of NetlinkLinks against the kernel, in a private network namespace (root;
// skipped without it unless CI is set, see tests/datapath/support/netns.hpp).
#include "weft/plugin/netlink_links.hpp"

#include <gtest/gtest.h>

#include "netns.hpp"
#include "weft/datapath/linux/ethtool.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::plugin {
namespace {

namespace host = weft::datapath::host;

TEST(NetlinkLinks, CreatesAndDeletesEndpointVeths) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    auto rtnl = host::Rtnl::open();
    NS_CHECK(rtnl.ok());
    NetlinkLinks links("weave", null_logger());
    VethPair names{"vethwl012345678", "vethwg012345678"};

    // No bridge yet: an error, and nothing left behind.
    NS_CHECK(!links.create_veth(names).ok());
    NS_CHECK(!*rtnl->find_link(names.host));

    NS_CHECK(rtnl->create_bridge({.name = "weave", .mtu = 1376, .mac = std::nullopt}).ok());
    // A weaver whose backend needs complete frames turns the bridge's offloads off.
    NS_CHECK(host::disable_tx_offloads("weave").ok());
    auto bridge = rtnl->link("weave");
    NS_CHECK(bridge.ok());
    auto mac = links.create_veth(names);
    if (!mac) return mac.error().message;
    auto h = rtnl->link(names.host);
    auto g = rtnl->link(names.guest);
    NS_CHECK(h.ok() && g.ok());
    NS_CHECK_EQ(h->master, bridge->ifindex);
    NS_CHECK(h->up);
    NS_CHECK_EQ(h->mtu, 1376u);
    NS_CHECK(!g->up);
    NS_CHECK_EQ(g->mtu, 1376u);
    NS_CHECK(g->mac == *mac);
    auto off = host::offload_state(names.guest);
    NS_CHECK(off.ok());
    NS_CHECK(!off->tx_checksum);

    // A leftover of the same names is replaced; with the bridge's offloads on (an afpacket
    // weaver, which takes superframes whole) the container keeps its own.
    NS_CHECK(host::set_superframe_offloads("weave").ok());
    auto again = links.create_veth(names);
    if (!again) return again.error().message;
    auto on = host::offload_state(names.guest);
    NS_CHECK(on.ok());
    NS_CHECK(on->tx_checksum && on->tso);

    auto del = links.delete_link(names.host);
    NS_CHECK(del.ok() && *del);
    NS_CHECK(!*rtnl->find_link(names.guest));
    del = links.delete_link(names.host);
    NS_CHECK(del.ok() && !*del);
    return "";
  });
}

}  // namespace
}  // namespace weft::plugin
