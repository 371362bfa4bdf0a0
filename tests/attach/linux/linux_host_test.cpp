// LinuxAttachHost against the real kernel: a plan carried out in private network namespaces that
// the test creates (a "host" with a bridge, a "container"); the root namespace is never touched.
// Needs root: without it the tests are skipped, unless CI is set, in which case they fail.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weft/attach/executor.hpp"
#include "weft/attach/linux_host.hpp"
#include "weft/datapath/linux/host_setup.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::attach {
namespace {

namespace host = weft::datapath::host;
Cidr cidr(const char* s) { return *Cidr::parse(s); }
Ipv4 ip(const char* s) { return *Ipv4::parse(s); }

template <typename T>
T must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

class LinuxAttachHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (std::getenv("CI") != nullptr) FAIL() << "needs root (network namespaces); CI is set";
      GTEST_SKIP() << "needs root (network namespaces)";
    }
    host_ = must(host::Netns::create());
    container_ = must(host::Netns::create());
    host::HostSetup hs(null_logger(), &host_);
    ASSERT_TRUE(hs.ensure_bridge({.name = "wtatweave", .mtu = 1410, .mac = std::nullopt}).ok());
  }

  /// execute() with the host side in host_ (the link step's calling-thread namespace).
  Outcome run(const Plan& p, LinuxAttachHost& h) {
    return must(host::in_netns(host_, [&]() -> Result<Outcome> { return execute(p, h); }));
  }

  host::Netns host_, container_;
};

TEST_F(LinuxAttachHostTest, CniLikePlanMakesTheInterfaceAndRoutes) {
  Request rq;
  rq.ident = "pod1";
  rq.addresses = {cidr("10.98.1.5/24")};
  rq.veth = VethStep{.bridge = "wtatweave", .veth_id = "pod1abc", .ifname = "eth0", .mtu = 1300, .hairpin = false};
  rq.multicast_route = false;
  // A gateway outside the pod's subnet: an on-link route to it, then the default route.
  rq.routes = cni_routes(cidr("10.98.1.5/24"), ip("10.98.2.1"), std::nullopt);
  std::vector<DnsName> seen;
  LinuxAttachHost h(
      {.netns = &container_, .dns_sink = [&](const std::string&, std::vector<DnsName> n) { seen = std::move(n); }});
  rq.names = {{"pod1.weave.local", ip("10.98.1.5")}};
  auto out = run(plan(rq), h);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  ASSERT_TRUE(out.link);
  EXPECT_EQ(out.link->ifname, "eth0");
  EXPECT_EQ(out.link->cidrs, std::vector<Cidr>{cidr("10.98.1.5/24")});
  EXPECT_EQ(seen, rq.names);

  auto cnl = must(host::Rtnl::open(&container_));
  auto eth0 = must(cnl.link("eth0"));
  EXPECT_EQ(eth0.mtu, 1300u);
  EXPECT_TRUE(eth0.up);
  EXPECT_EQ(eth0.mac, out.link->mac);
  auto hnl = must(host::Rtnl::open(&host_));
  auto port = must(hnl.link("vethweplpod1abc"));
  EXPECT_EQ(port.hairpin, std::optional<bool>(false));
  auto routes = must(cnl.routes());
  auto has = [&](const char* dst, std::optional<Ipv4> gw, host::RouteScope scope) {
    return std::any_of(routes.begin(), routes.end(), [&](const host::RouteInfo& r) {
      return r.dst == cidr(dst) && r.oif == eth0.ifindex && r.gateway == gw && r.scope == scope;
    });
  };
  EXPECT_TRUE(has("10.98.2.1/32", std::nullopt, host::RouteScope::link));
  EXPECT_TRUE(has("0.0.0.0/0", ip("10.98.2.1"), host::RouteScope::universe));
  EXPECT_FALSE(has("224.0.0.0/4", std::nullopt, host::RouteScope::link));  // CNI: no multicast route

  // Again (a retried ADD): the same interface, nothing fails on what is already there.
  auto again = run(plan(rq), h);
  ASSERT_TRUE(again.ok()) << again.failure->message;
  EXPECT_EQ(again.link->mac, out.link->mac);
}

TEST_F(LinuxAttachHostTest, ProxyLikePlanWritesHostsAndAnnounces) {
  auto root = std::filesystem::temp_directory_path() / fmt::format("weft-attach-{}", ::getpid());
  std::filesystem::create_directories(root / "etc");
  Request rq;
  rq.ident = "c1";
  rq.addresses = {cidr("10.98.3.7/24")};
  rq.veth = VethStep{.bridge = "wtatweave", .veth_id = "99"};
  rq.hosts = Request::Hosts{"web", "weave.local", {}};
  rq.announce_prefix = "ethwe";
  LinuxAttachHost h({.netns = &container_, .root_path = root.string()});
  auto out = run(plan(rq), h);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front().message;
  std::ifstream f(root / "etc" / "hosts");
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("10.98.3.7       web.weave.local web\n"), std::string::npos) << text.str();
  auto cnl = must(host::Rtnl::open(&container_));
  auto routes = must(cnl.routes());
  EXPECT_TRUE(
      std::any_of(routes.begin(), routes.end(), [](const host::RouteInfo& r) { return r.dst == cidr("224.0.0.0/4"); }));
  std::filesystem::remove_all(root);
}

TEST_F(LinuxAttachHostTest, FailuresChangeNothingAfterThem) {
  // No router API: the IPAM step fails before any link is made.
  Request rq;
  rq.ident = "c2";
  rq.specs = {{AddrSpec::Kind::net_default, Cidr(), "net:default"}};
  rq.veth = VethStep{.bridge = "wtatweave", .veth_id = "98"};
  LinuxAttachHost h({.netns = &container_});
  auto out = run(plan(rq), h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->step, Step::ipam);
  auto cnl = must(host::Rtnl::open(&container_));
  EXPECT_FALSE(must(cnl.find_link("ethwe")).has_value());
  // A missing bridge fails the link step, and the routes after it never run.
  Request nobr;
  nobr.addresses = {cidr("10.98.4.1/24")};
  nobr.veth = VethStep{.bridge = "wtatnobr", .veth_id = "97"};
  nobr.routes = {{cidr("0.0.0.0/0"), ip("10.98.4.254"), false}};
  auto out2 = run(plan(nobr), h);
  ASSERT_FALSE(out2.ok());
  EXPECT_EQ(out2.failure->step, Step::link);
  EXPECT_NE(out2.failure->message.find("wtatnobr"), std::string::npos);
  EXPECT_FALSE(must(cnl.find_link("ethwe")).has_value());
}

}  // namespace
}  // namespace weft::attach
