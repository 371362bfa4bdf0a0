// The proxy's attach request (proxy::attach_request): what the one attach plan is asked to do for
// a container Docker reports started (spec §8.5 step 4).
#include <gtest/gtest.h>

#include "weft/proxy/rewrite.hpp"

namespace weft::proxy {
namespace {

Json started(std::string env = R"(["WEAVE_CIDR=net:default ip:10.32.9.9/12"])") {
  return Json::parse(R"({"Id":"c0ffee","State":{"Running":true,"Pid":4242},
    "Config":{"Entrypoint":["/w/w","nginx"],"Hostname":"web","Domainname":"weave.local","Env":)" +
                     env + R"(},
    "HostConfig":{"NetworkMode":"default","ExtraHosts":["foo:1.2.3.4",7]}})");
}

TEST(ProxyAttachRequest, WrappedRunningContainer) {
  auto r = attach_request(started(), "c0f", 4242, RewriteConfig{}, AttachOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  const attach::Request& rq = **r;
  EXPECT_EQ(rq.ident, "c0ffee");
  ASSERT_EQ(rq.specs.size(), 2u);
  EXPECT_EQ(rq.specs[1].kind, AddrSpec::Kind::ip);
  EXPECT_TRUE(rq.check_alive);
  ASSERT_TRUE(rq.veth);
  EXPECT_EQ(rq.veth->veth_id, "4242");
  EXPECT_EQ(rq.veth->ifname, "ethwe");
  EXPECT_EQ(rq.veth->bridge, "weave");
  EXPECT_TRUE(rq.multicast_route);
  EXPECT_TRUE(rq.gratuitous_arp);
  ASSERT_TRUE(rq.hosts);
  EXPECT_EQ(rq.hosts->hostname, "web");
  EXPECT_EQ(rq.hosts->extra_hosts, std::vector<std::string>{"foo:1.2.3.4"});
  EXPECT_EQ(rq.fqdn, "web.weave.local");
  // The IPAM requests the plan makes of it.
  auto p = attach::plan(rq);
  ASSERT_EQ(p.ipam.size(), 2u);
  EXPECT_EQ(p.ipam[1].kind, attach::IpamRequest::Kind::claim);
  EXPECT_EQ(p.ipam[1].cidr, Cidr::parse("10.32.9.9/12"));
}

TEST(ProxyAttachRequest, FlagsTurnStepsOff) {
  RewriteConfig cfg;
  cfg.without_dns = true;
  cfg.no_multicast_route = true;
  auto r = attach_request(started(), "c0f", 7, cfg, AttachOptions{.no_rewrite_hosts = true, .bridge = "br9"});
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_FALSE((*r)->hosts);
  EXPECT_EQ((*r)->fqdn, "");
  EXPECT_FALSE((*r)->multicast_route);
  EXPECT_EQ((*r)->veth->bridge, "br9");
}

TEST(ProxyAttachRequest, NotTheProxysToAttach) {
  Json plain = started();
  plain["Config"]["Entrypoint"] = Json::array({"nginx"});
  EXPECT_FALSE(attach_request(plain, "c", 1, {}, {})->has_value());
  Json stopped = started();
  stopped["State"]["Running"] = false;
  EXPECT_FALSE(attach_request(stopped, "c", 1, {}, {})->has_value());
  EXPECT_FALSE(attach_request(started(R"(["WEAVE_CIDR=none"])"), "c", 1, {}, {})->has_value());
  RewriteConfig no_default;
  no_default.no_default_ipalloc = true;
  EXPECT_FALSE(attach_request(started("[]"), "c", 1, no_default, {})->has_value());
  // A bad spec is an error, and no domain means no DNS name.
  EXPECT_FALSE(attach_request(started(R"(["WEAVE_CIDR=net:bogus"])"), "c", 1, {}, {}).ok());
  Json nodomain = started();
  nodomain["Config"]["Domainname"] = "";
  EXPECT_EQ((*attach_request(nodomain, "c", 1, {}, {}))->fqdn, "");
  Json noid = started();
  noid.erase("Id");
  EXPECT_EQ((*attach_request(noid, "fallback", 1, {}, {}))->ident, "fallback");
}

}  // namespace
}  // namespace weft::proxy
