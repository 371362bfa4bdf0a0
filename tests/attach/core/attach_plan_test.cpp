// The one attach plan (attach/core): plan(), complete(), cni_routes() and execute() over the fake
// host. The callers' own requests (proxy, plugin watcher) are tested beside their folders.
#include <gtest/gtest.h>

#include "fake_attach_host.hpp"
#include "weft/attach/executor.hpp"
#include "weft/attach/plan.hpp"

namespace weft::attach {
namespace {

Cidr cidr(std::string_view s) { return *Cidr::parse(s); }
Ipv4 ip(std::string_view s) { return *Ipv4::parse(s); }

/// What the proxy asks for a container with WEAVE_CIDR="net:default net:10.40.0.0/16 ip:10.32.9.9/12".
Request proxy_like() {
  Request rq;
  rq.ident = "c0ffee";
  rq.specs = {{AddrSpec::Kind::net_default, Cidr(), "net:default"},
              {AddrSpec::Kind::net, cidr("10.40.0.0/16"), "net:10.40.0.0/16"},
              {AddrSpec::Kind::ip, cidr("10.32.9.9/12"), "ip:10.32.9.9/12"}};
  rq.veth = VethStep{.bridge = "weave", .veth_id = "4242"};
  rq.hosts = Request::Hosts{"db", "weave.local", {"foo:1.2.3.4"}};
  rq.fqdn = "db.weave.local";
  return rq;
}

TEST(AttachPlan, OneIpamRequestPerSpecInOrder) {
  auto p = plan(proxy_like());
  ASSERT_EQ(p.ipam.size(), 3u);
  EXPECT_EQ(p.ipam[0], (IpamRequest{IpamRequest::Kind::allocate, "c0ffee", std::nullopt, true, "net:default"}));
  EXPECT_EQ(p.ipam[1],
            (IpamRequest{IpamRequest::Kind::allocate, "c0ffee", cidr("10.40.0.0/16"), true, "net:10.40.0.0/16"}));
  EXPECT_EQ(p.ipam[2],
            (IpamRequest{IpamRequest::Kind::claim, "c0ffee", cidr("10.32.9.9/12"), true, "ip:10.32.9.9/12"}));
  Request no_check = proxy_like();
  no_check.check_alive = false;
  EXPECT_FALSE(plan(no_check).ipam[0].check_alive);
}

TEST(AttachPlan, CompleteUsesTheAnswersForHostsAddressesAndNames) {
  auto p = plan(proxy_like());
  auto s = complete(p, {cidr("10.32.0.1/12"), cidr("10.40.0.1/16")});
  EXPECT_EQ(s.addresses, (std::vector<Cidr>{cidr("10.32.0.1/12"), cidr("10.40.0.1/16")}));
  ASSERT_TRUE(s.hosts_text);
  EXPECT_EQ(*s.hosts_text, hosts_file("db", "weave.local", {ip("10.32.0.1"), ip("10.40.0.1")}, {"foo:1.2.3.4"}) + "\n");
  EXPECT_NE(s.hosts_text->find("10.40.0.1       db.weave.local db\n"), std::string::npos);
  EXPECT_EQ(s.names, (std::vector<DnsName>{{"db.weave.local", ip("10.32.0.1")}, {"db.weave.local", ip("10.40.0.1")}}));
  EXPECT_TRUE(s.multicast_route);
  EXPECT_TRUE(s.gratuitous_arp);
  EXPECT_FALSE(s.pod_multicast_subnet);
}

TEST(AttachPlan, KnownAddressesFollowTheAllocatedOnes) {
  Request rq;
  rq.addresses = {cidr("10.32.0.7/12")};
  rq.veth = VethStep{};
  rq.pod_multicast_rules = true;
  auto s = complete(plan(rq), {cidr("10.44.0.1/16")});
  EXPECT_EQ(s.addresses, (std::vector<Cidr>{cidr("10.44.0.1/16"), cidr("10.32.0.7/12")}));
  EXPECT_EQ(s.pod_multicast_subnet, cidr("10.44.0.0/16"));
  EXPECT_FALSE(s.hosts_text);
  EXPECT_TRUE(s.names.empty());
}

TEST(AttachPlan, NoVethMeansNoMulticastRoute) {
  Request rq;
  rq.names = {{"web.weave.local", ip("10.32.0.3")}};
  rq.announce_prefix = "ethwe";
  auto s = complete(plan(rq), {});
  EXPECT_FALSE(s.veth);
  EXPECT_FALSE(s.multicast_route);
  EXPECT_EQ(s.names, rq.names);
  EXPECT_EQ(s.announce_prefix, "ethwe");
}

TEST(AttachPlan, HostsFileAsWeaveWritesIt) {
  auto text = hosts_file("db", "weave.local.", {ip("10.32.0.1")}, {"foo:1.2.3.4", "bad"});
  EXPECT_EQ(text.substr(0, text.find("\n# default")),
            "# created by Weave - BEGIN\n# container hostname\n10.32.0.1       db.weave.local db\n\n"
            "# static names added with --add-host\n1.2.3.4         foo\n");
  EXPECT_NE(hosts_file("db", "", {ip("10.32.0.1")}, {}).find("10.32.0.1       db\n"), std::string::npos);
}

TEST(AttachPlan, CniRoutes) {
  // No IPAM routes: a default route via the gateway; an on-link route to it first when it lies
  // outside the pod's subnet.
  EXPECT_EQ(cni_routes(cidr("10.32.0.5/12"), ip("10.32.0.1"), std::nullopt),
            (std::vector<RouteStep>{{cidr("0.0.0.0/0"), ip("10.32.0.1"), false}}));
  EXPECT_EQ(cni_routes(cidr("10.32.0.5/24"), ip("10.40.0.1"), std::nullopt),
            (std::vector<RouteStep>{{cidr("10.40.0.1/32"), std::nullopt, true},
                                    {cidr("0.0.0.0/0"), ip("10.40.0.1"), false}}));
  // IPAM routes: each via its own gateway, else the pod's, else none (gateway 0.0.0.0).
  std::vector<RouteStep> given{{cidr("10.9.1.7/16"), std::nullopt, false},
                               {cidr("192.168.0.0/16"), ip("10.32.0.9"), false}};
  EXPECT_EQ(cni_routes(cidr("10.32.0.5/12"), ip("10.32.0.1"), given),
            (std::vector<RouteStep>{{cidr("10.9.0.0/16"), ip("10.32.0.1"), false},
                                    {cidr("192.168.0.0/16"), ip("10.32.0.9"), false}}));
  EXPECT_EQ(cni_routes(cidr("10.32.0.5/12"), Ipv4(0), given)[0].via, std::nullopt);
}

TEST(AttachExecute, RunsEveryStepInOrder) {
  FakeAttachHost h;
  Request rq = proxy_like();
  rq.routes = {{cidr("10.9.0.0/16"), ip("10.32.0.1"), false}};
  rq.announce_prefix = "ethwe";
  rq.pod_multicast_rules = true;
  auto out = execute(plan(rq), h);
  ASSERT_TRUE(out.ok()) << out.failure->message;
  EXPECT_EQ(h.calls,
            (std::vector<std::string>{
                "ipam POST /ip/c0ffee check-alive",
                "ipam POST /ip/c0ffee/10.40.0.0/16 check-alive",
                "ipam PUT /ip/c0ffee/10.32.9.9/12 check-alive",
                "hosts",
                "link ethwe vethwepl4242 br=weave mtu=0 hairpin 10.32.0.1/12 10.32.0.2/12 10.32.9.9/12 garp mcast",
                "pod-rules ethwe 10.32.0.0/12",
                "route 10.9.0.0/16 via 10.32.0.1 dev ethwe",
                "announce ethwe",
                "dns c0ffee db.weave.local=10.32.0.1 db.weave.local=10.32.0.2 db.weave.local=10.32.9.9",
            }));
  EXPECT_EQ(out.allocated.size(), 3u);
  ASSERT_TRUE(out.link);
  EXPECT_EQ(out.link->cidrs.size(), 3u);
  EXPECT_NE(h.hosts.find("10.32.9.9       db.weave.local db"), std::string::npos);
}

TEST(AttachExecute, IpamFailureStopsBeforeAnythingChanges) {
  FakeAttachHost h;
  h.fail[Step::ipam] = "allocation cancelled";
  auto out = execute(plan(proxy_like()), h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->step, Step::ipam);
  EXPECT_EQ(out.failure->label, "net:default");
  EXPECT_EQ(out.failure->message, "allocation cancelled");
  EXPECT_EQ(h.calls.size(), 1u);
}

TEST(AttachExecute, IpamAnswersAreKeptForTheCallerWhenALaterStepFails) {
  FakeAttachHost h;
  h.ipam_answers = {{cidr("10.32.0.9/12")}, {cidr("10.40.0.9/16")}};
  h.fail[Step::link] = "bridge weave not found";
  auto out = execute(plan(proxy_like()), h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->step, Step::link);
  EXPECT_EQ(out.failure->message, "bridge weave not found");
  EXPECT_EQ(out.allocated, (std::vector<Cidr>{cidr("10.32.0.9/12"), cidr("10.40.0.9/16"), cidr("10.32.9.9/12")}));
  EXPECT_EQ(h.calls.back().substr(0, 4), "link");  // no DNS name for an unattached container
  EXPECT_TRUE(h.names.empty());
}

TEST(AttachExecute, HostsPodRulesAnnounceAndDnsFailuresAreWarnings) {
  FakeAttachHost h;
  h.fail = {{Step::hosts, "read-only"}, {Step::pod_rules, "no iptables"}, {Step::announce, "gone"}, {Step::dns, "503"}};
  Request rq = proxy_like();
  rq.pod_multicast_rules = true;
  rq.announce_prefix = "ethwe";
  auto out = execute(plan(rq), h);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.warnings.size(), 4u);
  EXPECT_EQ(out.warnings[0].step, Step::hosts);
  EXPECT_EQ(out.warnings[1].step, Step::pod_rules);
  EXPECT_EQ(out.warnings[2].step, Step::announce);
  EXPECT_EQ(out.warnings[3].step, Step::dns);
  EXPECT_EQ(out.warnings[3].message, "503");
}

TEST(AttachExecute, RouteFailureNamesTheRoute) {
  FakeAttachHost h;
  h.fail[Step::routes] = "network unreachable";
  Request rq;
  rq.addresses = {cidr("10.32.0.5/24")};
  rq.veth = VethStep{.bridge = "weave", .veth_id = "abcdef1", .ifname = "eth0", .mtu = 1376, .hairpin = false};
  rq.multicast_route = false;
  rq.routes = cni_routes(cidr("10.32.0.5/24"), ip("10.40.0.1"), std::nullopt);
  auto out = execute(plan(rq), h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->step, Step::routes);
  EXPECT_EQ(out.failure->label, "10.40.0.1/32 via <nil> dev eth0");
  EXPECT_EQ(h.calls, (std::vector<std::string>{"link eth0 vethweplabcdef1 br=weave mtu=1376 10.32.0.5/24 garp",
                                               "route 10.40.0.1/32 via <nil> dev eth0 scope link"}));
}

// The point of one plan: the gratuitous ARP (the stale-ARP fix) is one step that every attacher's
// request turns on, so a fix to it reaches them all. `weave attach` (weaver util) and CNI build
// requests like these; the proxy and plugin watcher's own are tested in tests/proxy, tests/plugin.
TEST(AttachExecute, EveryLinkStepAnnouncesItsNewAddresses) {
  Request util;  // weaver util attach-container NETNS weave 10.32.0.4/12
  util.veth = VethStep{.bridge = "weave", .veth_id = "777"};
  util.addresses = {cidr("10.32.0.4/12")};
  Request cni;
  cni.veth = VethStep{.bridge = "weave", .veth_id = "abcdef1", .ifname = "eth0"};
  cni.addresses = {cidr("10.32.0.5/12")};
  cni.multicast_route = false;
  for (const auto& rq : {util, cni, proxy_like()}) {
    FakeAttachHost h;
    ASSERT_TRUE(execute(plan(rq), h).ok());
    bool garp = false;
    for (const auto& c : h.calls) garp = garp || (c.starts_with("link ") && c.find(" garp") != std::string::npos);
    EXPECT_TRUE(garp) << rq.ident;
  }
}

}  // namespace
}  // namespace weft::attach
