// Integration tests of weft::datapath_linux against the real kernel. Every link, address and
// route is made inside private network namespaces that the test creates (Netns::create); the
// root namespace is never touched. Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN): without it the
// tests are skipped, unless CI is set, in which case they fail.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <thread>

#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/ethtool.hpp"
#include "weft/datapath/linux/garp.hpp"
#include "weft/datapath/linux/host_setup.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"
#include "weft/datapath/linux/sysctl.hpp"

namespace weft::datapath::host {
namespace {

Cidr cidr(const char* s) { return *Cidr::parse(s); }
Mac mac(const char* s) { return *Mac::parse(s); }

#define ASSERT_OK(expr)                                             \
  do {                                                              \
    auto&& assert_ok_r_ = (expr);                                   \
    ASSERT_TRUE(assert_ok_r_.ok()) << assert_ok_r_.error().message; \
  } while (0)
#define EXPECT_OK(expr)                                             \
  do {                                                              \
    auto&& expect_ok_r_ = (expr);                                   \
    EXPECT_TRUE(expect_ok_r_.ok()) << expect_ok_r_.error().message; \
  } while (0)

/// Value of an OK result, or a failed assertion (usable where a value is needed).
template <typename T>
T must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (std::getenv("CI") != nullptr) FAIL() << "needs root (network namespaces); CI is set";
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    auto ns = Netns::create();
    ASSERT_TRUE(ns.ok()) << ns.error().message;
    ns_ = std::move(*ns);
    auto nl = Rtnl::open(&ns_);
    ASSERT_TRUE(nl.ok()) << nl.error().message;
    nl_.emplace(std::move(*nl));
  }

  /// A second private namespace and an Rtnl in it.
  static std::pair<Netns, Rtnl> another_ns() {
    auto ns = must(Netns::create());
    auto nl = must(Rtnl::open(&ns));
    return {std::move(ns), std::move(nl)};
  }

  Netns ns_;
  std::optional<Rtnl> nl_;
};

TEST_F(NetlinkTest, NewNamespaceIsPrivateAndEmpty) {
  auto here = must(Netns::current());
  EXPECT_NE(here.inode(), ns_.inode());
  auto links = must(nl_->links());
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].name, "lo");
  EXPECT_EQ(links[0].kind, LinkKind::unknown);
  // The calling thread stayed where it was.
  EXPECT_EQ(must(Netns::current()).inode(), here.inode());
  // Open by path, and reject a non-namespace file.
  EXPECT_OK(Netns::open("/proc/self/ns/net"));
  EXPECT_FALSE(Netns::open("/proc/self/status").ok());
  EXPECT_FALSE(Netns::open("/nonexistent/wtnl").ok());
}

TEST_F(NetlinkTest, BridgeLifecycle) {
  ASSERT_OK(nl_->create_bridge({.name = "wtnlbr0", .mtu = 9000, .mac = mac("02:00:00:aa:bb:01")}));
  auto br = must(nl_->link("wtnlbr0"));
  EXPECT_EQ(br.kind, LinkKind::bridge);
  EXPECT_EQ(br.kind_name, "bridge");
  EXPECT_EQ(br.mtu, 9000u);
  EXPECT_EQ(br.mac, mac("02:00:00:aa:bb:01"));
  EXPECT_FALSE(br.up);
  EXPECT_EQ(must(nl_->link(br.ifindex)).name, "wtnlbr0");

  auto again = nl_->create_bridge({.name = "wtnlbr0", .mtu = std::nullopt, .mac = std::nullopt});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("File exists"), std::string::npos) << again.error().message;

  ASSERT_OK(nl_->set_mtu("wtnlbr0", 1400));
  ASSERT_OK(nl_->set_mac("wtnlbr0", mac("02:00:00:aa:bb:02")));
  br = must(nl_->link("wtnlbr0"));
  EXPECT_EQ(br.mtu, 1400u);
  EXPECT_EQ(br.mac, mac("02:00:00:aa:bb:02"));

  ASSERT_OK(nl_->rename("wtnlbr0", "wtnlbr1"));
  EXPECT_FALSE(must(nl_->find_link("wtnlbr0")).has_value());
  ASSERT_OK(nl_->set_up("wtnlbr1", true));
  EXPECT_TRUE(must(nl_->link("wtnlbr1")).up);
  ASSERT_OK(nl_->set_up("wtnlbr1", false));
  EXPECT_FALSE(must(nl_->link("wtnlbr1")).up);

  ASSERT_OK(nl_->delete_link("wtnlbr1"));
  EXPECT_FALSE(must(nl_->find_link("wtnlbr1")).has_value());
  auto gone = nl_->link("wtnlbr1");
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("No such device"), std::string::npos) << gone.error().message;
}

TEST_F(NetlinkTest, InvalidNamesAreRejectedBeforeTheKernel) {
  EXPECT_FALSE(nl_->create_bridge({.name = "wtnl-much-too-long-name", .mtu = {}, .mac = {}}).ok());
  EXPECT_FALSE(nl_->create_bridge({.name = "", .mtu = {}, .mac = {}}).ok());
  EXPECT_FALSE(nl_->find_link("a/b").ok());
}

TEST_F(NetlinkTest, VethPairMasterAndHairpin) {
  ASSERT_OK(nl_->create_bridge({.name = "wtnlbr", .mtu = {}, .mac = {}}));
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlva", .peer_name = "wtnlvb", .mtu = 1400, .peer_netns = nullptr}));
  auto a = must(nl_->link("wtnlva"));
  auto b = must(nl_->link("wtnlvb"));
  EXPECT_EQ(a.kind, LinkKind::veth);
  EXPECT_EQ(a.mtu, 1400u);
  EXPECT_EQ(b.mtu, 1400u);
  EXPECT_EQ(a.peer_ifindex, b.ifindex);
  EXPECT_EQ(b.peer_ifindex, a.ifindex);
  EXPECT_FALSE(a.peer_netnsid.has_value());
  EXPECT_EQ(a.master, 0);
  EXPECT_FALSE(a.hairpin.has_value());
  EXPECT_FALSE(nl_->set_hairpin("wtnlva", true).ok());  // not a port yet

  ASSERT_OK(nl_->set_master("wtnlva", "wtnlbr"));
  auto br = must(nl_->link("wtnlbr"));
  EXPECT_EQ(must(nl_->link("wtnlva")).master, br.ifindex);
  EXPECT_EQ(must(nl_->hairpin("wtnlva")), false);
  ASSERT_OK(nl_->set_hairpin("wtnlva", true));
  EXPECT_EQ(must(nl_->hairpin("wtnlva")), true);
  ASSERT_OK(nl_->set_hairpin("wtnlva", false));
  EXPECT_EQ(must(nl_->hairpin("wtnlva")), false);

  ASSERT_OK(nl_->set_nomaster("wtnlva"));
  EXPECT_EQ(must(nl_->link("wtnlva")).master, 0);

  ASSERT_OK(nl_->set_up("wtnlva"));
  ASSERT_OK(nl_->set_up("wtnlvb"));
  EXPECT_TRUE(must(nl_->link("wtnlva")).up);

  // Deleting one end removes both.
  ASSERT_OK(nl_->delete_link("wtnlvb"));
  EXPECT_FALSE(must(nl_->find_link("wtnlva")).has_value());
}

TEST_F(NetlinkTest, VethAcrossNamespacesAndMove) {
  auto ns2_pair = another_ns();
  auto& ns2 = ns2_pair.first;
  auto& nl2 = ns2_pair.second;
  ASSERT_OK(
      nl_->create_veth({.name = "wtnlvc", .peer_name = "wtnlvd", .mtu = {}, .peer_netns = &ns2}));
  EXPECT_FALSE(must(nl_->find_link("wtnlvd")).has_value());
  auto c = must(nl_->link("wtnlvc"));
  auto d = must(nl2.link("wtnlvd"));
  EXPECT_EQ(c.peer_ifindex, d.ifindex);
  ASSERT_TRUE(c.peer_netnsid.has_value());
  auto id = must(nl_->netns_id(ns2));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, *c.peer_netnsid);

  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlve", .peer_name = "wtnlvf", .mtu = {}, .peer_netns = nullptr}));
  ASSERT_OK(nl_->move_to_netns("wtnlvf", ns2));
  EXPECT_FALSE(must(nl_->find_link("wtnlvf")).has_value());
  auto f = must(nl2.link("wtnlvf"));
  EXPECT_EQ(f.peer_ifindex, must(nl_->link("wtnlve")).ifindex);

  // Listing another namespace's links.
  auto names = must(nl2.links());
  std::vector<std::string> n;
  for (auto& l : names) n.push_back(l.name);
  std::sort(n.begin(), n.end());
  EXPECT_EQ(n, (std::vector<std::string>{"lo", "wtnlvd", "wtnlvf"}));
}

TEST_F(NetlinkTest, Addresses) {
  ASSERT_OK(nl_->create_bridge({.name = "wtnlbr", .mtu = {}, .mac = {}}));
  ASSERT_OK(nl_->set_up("wtnlbr"));
  ASSERT_OK(nl_->add_address("wtnlbr", cidr("10.99.1.1/24")));
  ASSERT_OK(nl_->add_address("wtnlbr", cidr("10.99.2.1/32")));
  ASSERT_OK(nl_->add_address("wtnlbr", cidr("10.99.3.1/16"), Ipv4::parse("10.99.3.254")));
  auto dup = nl_->add_address("wtnlbr", cidr("10.99.1.1/24"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("File exists"), std::string::npos) << dup.error().message;

  auto addrs = must(nl_->addresses("wtnlbr"));
  ASSERT_EQ(addrs.size(), 3u);
  auto find = [&](const char* c) -> std::optional<AddrInfo> {
    for (auto& a : addrs) {
      if (a.cidr == cidr(c)) return a;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(find("10.99.1.1/24"));
  EXPECT_EQ(find("10.99.1.1/24")->broadcast, Ipv4::parse("10.99.1.255"));
  ASSERT_TRUE(find("10.99.2.1/32"));
  EXPECT_FALSE(find("10.99.2.1/32")->broadcast.has_value());
  ASSERT_TRUE(find("10.99.3.1/16"));
  EXPECT_EQ(find("10.99.3.1/16")->broadcast, Ipv4::parse("10.99.3.254"));

  ASSERT_OK(nl_->delete_address("wtnlbr", cidr("10.99.1.1/24")));
  EXPECT_EQ(must(nl_->addresses("wtnlbr")).size(), 2u);
  EXPECT_FALSE(nl_->delete_address("wtnlbr", cidr("10.99.1.1/24")).ok());
  // lo has none until it has been brought up.
  EXPECT_TRUE(must(nl_->addresses("lo")).empty());
}

TEST_F(NetlinkTest, MulticastRoute) {
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlva", .peer_name = "wtnlvb", .mtu = {}, .peer_netns = nullptr}));
  ASSERT_OK(nl_->set_up("wtnlva"));
  ASSERT_OK(nl_->set_up("wtnlvb"));
  auto mc = cidr("224.0.0.0/4");
  ASSERT_OK(nl_->add_route(mc, "wtnlva", RouteScope::link));
  auto routes = must(nl_->routes());
  auto va = must(nl_->link("wtnlva"));
  auto it =
      std::find_if(routes.begin(), routes.end(), [&](const RouteInfo& r) { return r.dst == mc; });
  ASSERT_NE(it, routes.end());
  EXPECT_EQ(it->oif, va.ifindex);
  EXPECT_EQ(it->scope, RouteScope::link);
  EXPECT_FALSE(it->gateway.has_value());
  EXPECT_FALSE(nl_->add_route(mc, "wtnlva", RouteScope::link).ok());
  EXPECT_OK(nl_->add_route(mc, "wtnlva", RouteScope::link, /*exist_ok=*/true));
}

TEST_F(NetlinkTest, OffloadsOff) {
  ASSERT_OK(nl_->create_bridge({.name = "wtnlbr", .mtu = {}, .mac = {}}));
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlva", .peer_name = "wtnlvb", .mtu = {}, .peer_netns = nullptr}));
  auto before = must(in_netns(ns_, [] { return offload_state("wtnlva"); }));
  EXPECT_TRUE(before.tx_checksum);  // veth's default
  for (const char* n : {"wtnlva", "wtnlbr"}) {
    ASSERT_OK(in_netns(ns_, [&] { return disable_tx_offloads(n); }));
    auto after = must(in_netns(ns_, [&] { return offload_state(n); }));
    EXPECT_FALSE(after.tx_checksum) << n;
    EXPECT_FALSE(after.tso) << n;
    EXPECT_FALSE(after.gso) << n;
    EXPECT_FALSE(after.ufo) << n;
  }
  // Idempotent.
  EXPECT_OK(in_netns(ns_, [] { return disable_tx_offloads("wtnlva"); }));
  EXPECT_FALSE(in_netns(ns_, [] { return disable_tx_offloads("wtnlnone"); }).ok());
}

TEST_F(NetlinkTest, Sysctls) {
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlva", .peer_name = "wtnlvb", .mtu = {}, .peer_netns = nullptr}));
  ASSERT_OK(in_netns(ns_, [] { return set_neigh_params("wtnlva"); }));
  EXPECT_EQ(
      must(in_netns(ns_, [] { return read_sysctl("net/ipv4/neigh/wtnlva/base_reachable_time"); })),
      "5");
  EXPECT_EQ(must(in_netns(
                ns_, [] { return read_sysctl("net/ipv4/neigh/wtnlva/delay_first_probe_time"); })),
            "2");
  EXPECT_EQ(must(in_netns(ns_, [] { return read_sysctl("net/ipv4/neigh/wtnlva/ucast_solicit"); })),
            "1");
  if (::access("/proc/sys/net/ipv6/conf/all/accept_ra", F_OK) == 0) {
    ASSERT_OK(in_netns(ns_, [] { return set_accept_ra("wtnlva", 0); }));
    EXPECT_EQ(must(in_netns(ns_, [] { return read_sysctl("net/ipv6/conf/wtnlva/accept_ra"); })),
              "0");
  }
  // The link is not visible from the test's own namespace.
  EXPECT_FALSE(read_sysctl("net/ipv4/neigh/wtnlva/ucast_solicit").ok());
  EXPECT_FALSE(write_sysctl("../etc/passwd", "x").ok());
  EXPECT_FALSE(in_netns(ns_, [] { return set_neigh_params("wtnlnone"); }).ok());
}

TEST_F(NetlinkTest, GratuitousArpIsBroadcastOnTheWire) {
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlva", .peer_name = "wtnlvb", .mtu = {}, .peer_netns = nullptr}));
  ASSERT_OK(nl_->set_up("wtnlva"));
  ASSERT_OK(nl_->set_up("wtnlvb"));
  auto va = must(nl_->link("wtnlva"));
  auto vb = must(nl_->link("wtnlvb"));
  auto ip = *Ipv4::parse("10.99.4.7");
  struct Frame {
    std::array<std::uint8_t, 128> b{};
    ssize_t n = 0;
  };
  auto got = in_netns(ns_, [&]() -> Result<Frame> {
    int s = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (s < 0) return make_error("socket: {}", std::strerror(errno));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ARP);
    sll.sll_ifindex = vb.ifindex;
    if (::bind(s, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      ::close(s);
      return make_error("bind: {}", std::strerror(errno));
    }
    if (auto r = send_gratuitous_arp("wtnlva", ip); !r) {
      ::close(s);
      return r.error();
    }
    Frame f;
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 2000) == 1) f.n = ::recv(s, f.b.data(), f.b.size(), 0);
    ::close(s);
    if (f.n <= 0) return make_error("no ARP frame received");
    return f;
  });
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_GE(got->n, 14 + 28);
  const auto& b = got->b;
  EXPECT_TRUE(std::all_of(b.begin(), b.begin() + 6, [](std::uint8_t x) { return x == 0xff; }));
  EXPECT_TRUE(std::equal(b.begin() + 6, b.begin() + 12, va.mac.bytes().begin()));
  EXPECT_EQ(b[12], 0x08);
  EXPECT_EQ(b[13], 0x06);
  auto want = gratuitous_arp_payload(va.mac, ip);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), b.begin() + 14));
  // op = request, sender IP = target IP.
  EXPECT_EQ(b[14 + 7], 1);
  EXPECT_TRUE(std::equal(b.begin() + 14 + 14, b.begin() + 14 + 18, b.begin() + 14 + 24));
}

TEST_F(NetlinkTest, HostSetupIsIdempotent) {
  HostSetup hs(null_logger(), &ns_);
  BridgeConfig cfg{.name = "wtnlweave", .mtu = 65535, .mac = mac("02:00:00:00:77:01")};
  auto st = must(hs.ensure_bridge(cfg));
  EXPECT_EQ(st.bridge.name, "wtnlweave");
  EXPECT_EQ(st.bridge.kind, LinkKind::bridge);
  EXPECT_EQ(st.bridge.mtu, 65535u);
  EXPECT_EQ(st.bridge.mac, *cfg.mac);
  EXPECT_TRUE(st.bridge.up);
  EXPECT_EQ(st.veth_bridge.name, kVethBridgeEnd);
  EXPECT_EQ(st.veth_bridge.master, st.bridge.ifindex);
  EXPECT_EQ(st.veth_bridge.peer_ifindex, st.veth_pcap.ifindex);
  EXPECT_EQ(st.veth_pcap.name, kVethPcapEnd);
  EXPECT_EQ(st.veth_pcap.master, 0);
  EXPECT_TRUE(st.veth_bridge.up);
  EXPECT_TRUE(st.veth_pcap.up);
  EXPECT_EQ(st.veth_bridge.mtu, 65535u);
  EXPECT_EQ(st.veth_pcap.mtu, 65535u);
  for (std::string_view n : {std::string_view("wtnlweave"), kVethBridgeEnd, kVethPcapEnd}) {
    auto o = must(in_netns(ns_, [&] { return offload_state(n); }));
    EXPECT_FALSE(o.tx_checksum || o.tso || o.gso || o.ufo) << n;
  }

  auto st2 = must(hs.ensure_bridge(cfg));
  EXPECT_EQ(st2.bridge.ifindex, st.bridge.ifindex);
  EXPECT_EQ(st2.veth_bridge.ifindex, st.veth_bridge.ifindex);
  EXPECT_EQ(st2.veth_pcap.ifindex, st.veth_pcap.ifindex);

  // A broken pair is repaired.
  ASSERT_OK(nl_->delete_link(kVethPcapEnd));
  auto st3 = must(hs.ensure_bridge(cfg));
  EXPECT_EQ(st3.bridge.ifindex, st.bridge.ifindex);
  EXPECT_EQ(st3.veth_bridge.master, st.bridge.ifindex);
  EXPECT_TRUE(st3.veth_pcap.up);

  // expose / hide.
  EXPECT_EQ(must(hs.expose("wtnlweave", cidr("10.99.5.254/24"))), true);
  EXPECT_EQ(must(hs.expose("wtnlweave", cidr("10.99.5.254/24"))), false);
  EXPECT_EQ(must(hs.inspect("wtnlweave")).addresses, std::vector<Cidr>{cidr("10.99.5.254/24")});
  EXPECT_EQ(must(hs.hide("wtnlweave", cidr("10.99.5.254/24"))), true);
  EXPECT_EQ(must(hs.hide("wtnlweave", cidr("10.99.5.254/24"))), false);
  EXPECT_TRUE(must(hs.inspect("wtnlweave")).addresses.empty());

  ASSERT_OK(hs.destroy_bridge("wtnlweave"));
  auto links = must(nl_->links());
  EXPECT_EQ(links.size(), 1u);  // lo
  ASSERT_OK(hs.destroy_bridge("wtnlweave"));
}

TEST_F(NetlinkTest, HostSetupRefusesANonBridge) {
  ASSERT_OK(nl_->create_veth(
      {.name = "wtnlweave", .peer_name = "wtnlvb", .mtu = {}, .peer_netns = nullptr}));
  HostSetup hs(null_logger(), &ns_);
  auto r = hs.ensure_bridge({.name = "wtnlweave", .mtu = 1376, .mac = std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a bridge"), std::string::npos) << r.error().message;
  EXPECT_TRUE(must(nl_->find_link("wtnlweave")).has_value());  // left alone
}

TEST_F(NetlinkTest, AttachDetachContainer) {
  HostSetup hs(null_logger(), &ns_);
  auto st = must(hs.ensure_bridge({.name = "wtnlweave", .mtu = 8912, .mac = std::nullopt}));
  auto cns_pair = another_ns();
  auto& cns = cns_pair.first;
  auto& cnl = cns_pair.second;

  AttachSpec spec;
  spec.bridge = "wtnlweave";
  spec.veth_id = veth_id_for("/run/netns/x", cns.inode());
  spec.cidrs = {cidr("10.99.6.1/24")};
  auto log = null_logger();
  auto iface = must(in_netns(ns_, [&] { return attach_container(cns, spec, log); }));
  EXPECT_EQ(iface.name, "ethwe");
  EXPECT_EQ(iface.cidrs, std::vector<Cidr>{cidr("10.99.6.1/24")});

  auto ethwe = must(cnl.link("ethwe"));
  EXPECT_EQ(ethwe.mac, iface.mac);
  EXPECT_EQ(ethwe.mtu, 8912u);
  EXPECT_TRUE(ethwe.up);
  auto host_end = must(nl_->link("vethwepl" + spec.veth_id));
  EXPECT_EQ(host_end.master, st.bridge.ifindex);
  EXPECT_TRUE(host_end.up);
  EXPECT_EQ(host_end.hairpin, std::optional<bool>(true));
  EXPECT_EQ(host_end.peer_ifindex, ethwe.ifindex);
  auto o = must(in_netns(cns, [] { return offload_state("ethwe"); }));
  EXPECT_FALSE(o.tx_checksum || o.tso || o.gso || o.ufo);
  EXPECT_EQ(
      must(in_netns(cns, [] { return read_sysctl("net/ipv4/neigh/ethwe/base_reachable_time"); })),
      "5");
  auto routes = must(cnl.routes());
  EXPECT_TRUE(std::any_of(routes.begin(), routes.end(), [&](const RouteInfo& r) {
    return r.dst == cidr("224.0.0.0/4") && r.oif == ethwe.ifindex && r.scope == RouteScope::link;
  }));

  // Attach again with one more address: the same interface, the address added.
  spec.cidrs = {cidr("10.99.6.1/24"), cidr("10.99.7.1/24")};
  auto iface2 = must(in_netns(ns_, [&] { return attach_container(cns, spec, log); }));
  EXPECT_EQ(iface2.mac, iface.mac);
  EXPECT_EQ(iface2.cidrs.size(), 2u);

  auto listed = must(in_netns(ns_, [&] { return container_interfaces(cns, "wtnlweave"); }));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].mac, iface.mac);
  EXPECT_EQ(listed[0].cidrs.size(), 2u);

  // Another "host" namespace with a bridge of the same name does not see the container, even
  // if ifindexes happen to coincide.
  auto h2_pair = another_ns();
  auto& h2 = h2_pair.first;
  HostSetup hs2(null_logger(), &h2);
  ASSERT_OK(hs2.ensure_bridge({.name = "wtnlweave", .mtu = 1376, .mac = std::nullopt}));
  EXPECT_TRUE(must(in_netns(h2, [&] { return container_interfaces(cns, "wtnlweave"); })).empty());

  // Detach one address, then the other: ethwe goes with the last.
  std::vector<Cidr> one{cidr("10.99.6.1/24")};
  EXPECT_EQ(must(detach_container(cns, one)), false);
  EXPECT_TRUE(must(cnl.find_link("ethwe")).has_value());
  std::vector<Cidr> two{cidr("10.99.7.1/24")};
  EXPECT_EQ(must(detach_container(cns, two)), true);
  EXPECT_FALSE(must(cnl.find_link("ethwe")).has_value());
  EXPECT_FALSE(must(nl_->find_link("vethwepl" + spec.veth_id)).has_value());
  EXPECT_EQ(must(detach_container(cns, two)), false);
}

TEST_F(NetlinkTest, AttachNeedsTheBridge) {
  auto cns_pair = another_ns();
  auto& cns = cns_pair.first;
  auto& cnl = cns_pair.second;
  AttachSpec spec;
  spec.bridge = "wtnlnobr";
  spec.veth_id = "1";
  spec.cidrs = {cidr("10.99.8.1/24")};
  auto log = null_logger();
  auto r = in_netns(ns_, [&] { return attach_container(cns, spec, log); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("wtnlnobr"), std::string::npos);
  EXPECT_FALSE(must(cnl.find_link("ethwe")).has_value());
}

TEST_F(NetlinkTest, DumpsSurviveConcurrentChanges) {
  // One thread churns links while this one lists them: interrupted dumps are retried, never
  // reported as errors, and a list never holds a link twice. Enough links that a dump spans
  // several reads (the kernel flags NLM_F_DUMP_INTR only between parts).
  for (int i = 0; i < 60; ++i) {
    ASSERT_OK(nl_->create_veth({.name = fmt::format("wtnls{}", i),
                                .peer_name = fmt::format("wtnlt{}", i),
                                .mtu = {},
                                .peer_netns = nullptr}));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> churn_errors{0};
  std::thread churn([&] {
    auto nl = Rtnl::open(&ns_);
    if (!nl) {
      ++churn_errors;
      return;
    }
    for (int i = 0; !stop; i = (i + 1) % 8) {
      std::string a = fmt::format("wtnlc{}", i), b = fmt::format("wtnld{}", i);
      if (!nl->create_veth({.name = a, .peer_name = b, .mtu = {}, .peer_netns = nullptr}).ok())
        ++churn_errors;
      if (!nl->add_address(a, Cidr(Ipv4(0x0a630900u + static_cast<std::uint32_t>(i)), 24)).ok())
        ++churn_errors;
      if (!nl->delete_link(a).ok()) ++churn_errors;
    }
  });
  for (int i = 0; i < 100; ++i) {
    auto links = nl_->links();
    ASSERT_TRUE(links.ok()) << links.error().message;
    std::vector<int> idx;
    for (auto& l : *links) idx.push_back(l.ifindex);
    std::sort(idx.begin(), idx.end());
    ASSERT_EQ(std::adjacent_find(idx.begin(), idx.end()), idx.end());
    auto addrs = nl_->all_addresses();
    ASSERT_TRUE(addrs.ok()) << addrs.error().message;
  }
  stop = true;
  churn.join();
  EXPECT_EQ(churn_errors.load(), 0);
}

TEST(VethId, PidOrInodeTail) {
  EXPECT_EQ(veth_id_for("/proc/1234/ns/net", 4026532281), "1234");
  EXPECT_EQ(veth_id_for("/proc/123456789/ns/net", 4026532281), "1234567");
  EXPECT_EQ(veth_id_for("/run/netns/foo", 4026532281), "6532281");
  EXPECT_EQ(veth_id_for("/proc/self/ns/net", 42), "42");
}

}  // namespace
}  // namespace weft::datapath::host
