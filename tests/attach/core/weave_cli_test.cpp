// `weave attach` / `weave detach` as attach plans (attach/core weave_cli): the script's address
// arguments, when IPAM and weaveDNS are asked, and the detach plan run over the fake host.
#include <gtest/gtest.h>

#include "fake_attach_host.hpp"
#include "weft/attach/executor.hpp"
#include "weft/attach/weave_cli.hpp"

namespace weft::attach {
namespace {

Cidr cidr(std::string_view s) { return *Cidr::parse(s); }

WeaveCommand cmd(std::vector<std::string> args, bool running = true) {
  return WeaveCommand{.ident = "c1",
                      .addr_args = std::move(args),
                      .fqdn = "db.weave.local",
                      .router_running = running,
                      .veth_id = "77"};
}

TEST(WeaveCli, NetnsArgumentForms) {
  EXPECT_EQ(netns_file("netns:c1"), "/run/netns/c1");
  EXPECT_EQ(netns_file("pid:42"), "/proc/42/ns/net");
  EXPECT_EQ(netns_file("/proc/7/ns/net"), "/proc/7/ns/net");
}

TEST(WeaveCli, AddressArguments) {
  EXPECT_EQ(parse_addr_spec("net:default"), (AddrSpec{AddrSpec::Kind::net_default, Cidr(), "net:default"}));
  // net: keeps the CIDR as written: the router refuses host bits, as Weave's does.
  EXPECT_EQ(parse_addr_spec("net:10.40.1.0/16"),
            (AddrSpec{AddrSpec::Kind::net, cidr("10.40.1.0/16"), "net:10.40.1.0/16"}));
  EXPECT_EQ(parse_addr_spec("ip:10.2.1.1/24"), (AddrSpec{AddrSpec::Kind::ip, cidr("10.2.1.1/24"), "ip:10.2.1.1/24"}));
  EXPECT_EQ(parse_addr_spec("10.2.1.1/24"), (AddrSpec{AddrSpec::Kind::ip, cidr("10.2.1.1/24"), "10.2.1.1/24"}));
  for (const char* bad : {"", "net:", "net:deflt", "ip:10.2.1.1", "10.2.1.1", "10.2.1.300/24", "10.2.1.1/33",
                          "dns:10.2.1.1/24", "netns:x"}) {
    EXPECT_FALSE(parse_addr_spec(bad)) << bad;
  }
}

TEST(WeaveCli, AttachAsksIpamForNetAndClaimsExplicitAddressesWhenTheRouterRuns) {
  auto rq = weave_attach_request(cmd({"net:10.40.0.0/16", "10.2.1.1/24", "net:default"}));
  ASSERT_TRUE(rq);
  auto p = plan(*rq);
  ASSERT_EQ(p.ipam.size(), 3u);
  EXPECT_EQ(p.ipam[0],
            (IpamRequest{IpamRequest::Kind::allocate, "c1", cidr("10.40.0.0/16"), true, "net:10.40.0.0/16"}));
  EXPECT_EQ(p.ipam[1], (IpamRequest{IpamRequest::Kind::claim, "c1", cidr("10.2.1.1/24"), true, "10.2.1.1/24"}));
  EXPECT_EQ(p.ipam[2], (IpamRequest{IpamRequest::Kind::allocate, "c1", std::nullopt, true, "net:default"}));
  ASSERT_TRUE(rq->veth);
  EXPECT_EQ(rq->veth->veth_id, "77");
  EXPECT_EQ(rq->veth->ifname, "ethwe");
  EXPECT_TRUE(rq->multicast_route);
  EXPECT_EQ(rq->fqdn, "db.weave.local");
  EXPECT_FALSE(rq->hosts);  // `weave attach` leaves /etc/hosts alone
}

TEST(WeaveCli, WithoutARouterExplicitAddressesStandAndNoNameIsRegistered) {
  auto rq = weave_attach_request(cmd({"ip:10.2.1.1/24", "10.2.1.2/24"}, /*running=*/false));
  ASSERT_TRUE(rq);
  FakeAttachHost h;
  auto out = execute(plan(*rq), h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{"link ethwe vethwepl77 br=weave mtu=0 hairpin 10.2.1.1/24 "
                                               "10.2.1.2/24 garp mcast"}));
  EXPECT_EQ(show_addrs(out.allocated), "10.2.1.1 10.2.1.2");
}

TEST(WeaveCli, AttachRunsIpamLinkAndDnsInArgumentOrder) {
  auto rq = weave_attach_request(cmd({"10.2.1.1/24", "net:default"}));
  ASSERT_TRUE(rq);
  FakeAttachHost h;
  auto out = execute(plan(*rq), h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{
                         "ipam PUT /ip/c1/10.2.1.1/24 check-alive",
                         "ipam POST /ip/c1 check-alive",
                         "link ethwe vethwepl77 br=weave mtu=0 hairpin 10.2.1.1/24 10.32.0.1/12 garp mcast",
                         "dns c1 db.weave.local=10.2.1.1 db.weave.local=10.32.0.1",
                     }));
  EXPECT_EQ(show_addrs(out.allocated), "10.2.1.1 10.32.0.1");
}

TEST(WeaveCli, AttachFlags) {
  auto c = cmd({});
  c.without_dns = true;
  c.multicast_route = false;
  auto rq = weave_attach_request(c);
  ASSERT_TRUE(rq);
  EXPECT_EQ(rq->specs, (std::vector<AddrSpec>{*parse_addr_spec("net:default")}));  // no argument: net:default
  EXPECT_EQ(rq->fqdn, "");
  EXPECT_FALSE(rq->multicast_route);
  c = cmd({});
  c.fqdn = "";  // no domain: no name
  EXPECT_EQ(weave_attach_request(c)->fqdn, "");
  EXPECT_FALSE(weave_attach_request(cmd({"net:10.2.1.1"})));
  EXPECT_EQ(weave_attach_request(cmd({"bogus"})).error().message,
            "invalid address argument 'bogus' (net:default, net:CIDR, ip:CIDR or CIDR)");
  c = cmd({});
  c.ident = "";
  EXPECT_FALSE(weave_attach_request(c));
}

TEST(WeaveCli, AttachStopsAtTheFirstIpamRefusal) {
  auto rq = weave_attach_request(cmd({"ip:10.32.5.5/12", "net:default"}));
  FakeAttachHost h;
  h.fail[Step::ipam] = "address 10.32.5.5 is already owned by c0";
  auto out = execute(plan(*rq), h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->message, "address 10.32.5.5 is already owned by c0");
  EXPECT_EQ(h.calls.size(), 1u);
}

TEST(WeaveCli, DetachLooksUpNetArgumentsAndReleasesOnlyThose) {
  auto p = weave_detach_plan(cmd({"10.2.1.1/24", "net:default", "net:10.40.0.0/16"}));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->lookups.size(), 2u);
  EXPECT_EQ(p->lookups[0], (IpamRequest{IpamRequest::Kind::lookup, "c1", std::nullopt, false, "net:default"}));
  EXPECT_EQ(p->lookups[1],
            (IpamRequest{IpamRequest::Kind::lookup, "c1", cidr("10.40.0.0/16"), false, "net:10.40.0.0/16"}));
  FakeAttachHost h;
  h.ipam_answers = {{cidr("10.32.0.7/12")}, {cidr("10.40.0.1/16"), cidr("10.40.0.2/16")}};
  const std::string undns =
      "undns c1 db.weave.local=10.2.1.1 db.weave.local=10.32.0.7 db.weave.local=10.40.0.1 db.weave.local=10.40.0.2";
  auto out = execute_detach(*p, h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{
                         "ipam GET /ip/c1",
                         "ipam GET /ip/c1/10.40.0.0/16",
                         "unlink 10.2.1.1/24 10.32.0.7/12 10.40.0.1/16 10.40.0.2/16",
                         undns,
                         "release c1 10.32.0.7",
                         "release c1 10.40.0.1",
                         "release c1 10.40.0.2",
                     }));
  EXPECT_EQ(show_addrs(out.addresses), "10.2.1.1 10.32.0.7 10.40.0.1 10.40.0.2");
}

TEST(WeaveCli, DetachWithoutARouterOnlyUnlinks) {
  auto p = weave_detach_plan(cmd({"10.2.1.1/24"}, /*running=*/false));
  FakeAttachHost h;
  auto out = execute_detach(*p, h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{"unlink 10.2.1.1/24"}));
}

TEST(WeaveCli, DetachOfNothingFoundDoesNotTouchTheContainer) {
  auto p = weave_detach_plan(cmd({}));
  FakeAttachHost h;
  h.ipam_answers = {{}};
  auto out = execute_detach(*p, h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{"ipam GET /ip/c1"}));
  EXPECT_EQ(show_addrs(out.addresses), "");
}

TEST(WeaveCli, DetachFailures) {
  auto p = weave_detach_plan(cmd({"net:default"}));
  FakeAttachHost h;
  h.fail[Step::ipam] = "No IP address found for c1";
  auto out = execute_detach(*p, h);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->message, "No IP address found for c1");
  EXPECT_EQ(h.calls.size(), 1u);

  FakeAttachHost h2;
  h2.fail[Step::release] = "Unable to free: x";
  h2.fail[Step::dns] = "dns down";
  out = execute_detach(*p, h2);
  ASSERT_TRUE(out.ok());  // names and releases are warnings: the container is detached
  ASSERT_EQ(out.warnings.size(), 2u);
  EXPECT_EQ(out.warnings[0].step, Step::dns);
  EXPECT_EQ(out.warnings[1].step, Step::release);
  EXPECT_EQ(out.warnings[1].message, "Unable to free: x");

  FakeAttachHost h3;
  h3.fail[Step::link] = "no such namespace";
  out = execute_detach(*p, h3);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.failure->step, Step::link);
  EXPECT_EQ(h3.calls.size(), 2u);  // nothing released for a container still attached
}

}  // namespace
}  // namespace weft::attach
