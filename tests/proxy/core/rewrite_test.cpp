#include "weft/proxy/rewrite.hpp"

#include <gtest/gtest.h>

namespace weft::proxy {
namespace {

RewriteConfig cfg() {
  RewriteConfig c;
  c.dns_host = "172.17.0.1";
  c.w_path = "/var/lib/docker/volumes/W/_data";
  c.w_noop_path = "/var/lib/docker/volumes/NOOP/_data";
  c.w_nomcast_path = "/var/lib/docker/volumes/NOMCAST/_data";
  return c;
}

TEST(ProxyRoutes, ClassifiesPathsWithAndWithoutVersion) {
  EXPECT_EQ(classify("/containers/create"), Route::create);
  EXPECT_EQ(classify("/v1.41/containers/create"), Route::create);
  EXPECT_EQ(classify("/v1.24/containers/abc/start"), Route::start);
  EXPECT_EQ(classify("/containers/abc/restart"), Route::start);
  EXPECT_EQ(classify("/v1.50/containers/abc/json"), Route::inspect);
  EXPECT_EQ(classify("/containers/abc/exec"), Route::exec_create);
  EXPECT_EQ(classify("/v1.41/exec/e1/json"), Route::exec_inspect);
  EXPECT_EQ(classify("/v1.41/exec/e1/start"), Route::pass);
  EXPECT_EQ(classify("/v1.41/containers/abc/attach"), Route::pass);
  EXPECT_EQ(classify("/v1.41/containers/json"), Route::pass);
  EXPECT_EQ(classify("/version"), Route::pass);
  EXPECT_EQ(classify("/vx/containers/create"), Route::pass);
  EXPECT_EQ(classify(""), Route::pass);
  EXPECT_EQ(path_id("/v1.41/containers/abc/start"), "abc");
  EXPECT_EQ(path_id("/exec/e1/json"), "e1");
}

TEST(ProxyQualify, NetworkModeAndWeaveCidr) {
  auto q = [](std::string mode, std::vector<std::string> env, bool no_default = false) {
    auto r = qualifying_specs(mode, env, no_default);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  for (auto m : {"", "default", "bridge", "none"}) {
    auto s = q(m, {});
    ASSERT_TRUE(s.has_value()) << m;
    ASSERT_EQ(s->size(), 1u);
    EXPECT_EQ((*s)[0].kind, AddrSpec::Kind::net_default);
  }
  EXPECT_FALSE(q("host", {}).has_value());
  EXPECT_FALSE(q("container:x", {}).has_value());
  EXPECT_FALSE(q("mynet", {}).has_value());
  EXPECT_FALSE(q("", {"WEAVE_CIDR=none"}).has_value());
  EXPECT_FALSE(q("", {}, true).has_value());
  EXPECT_TRUE(q("", {"WEAVE_CIDR="}, true).has_value());
  // The first WEAVE_CIDR entry decides.
  auto s = q("", {"A=1", "WEAVE_CIDR=net:10.32.1.7/24 ip:10.32.5.5/12  10.40.0.1/16 net:default", "WEAVE_CIDR=none"});
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->size(), 4u);
  EXPECT_EQ((*s)[0].kind, AddrSpec::Kind::net);
  EXPECT_EQ((*s)[0].cidr.str(), "10.32.1.0/24");  // masked
  EXPECT_EQ((*s)[1].kind, AddrSpec::Kind::ip);
  EXPECT_EQ((*s)[1].cidr.str(), "10.32.5.5/12");
  EXPECT_EQ((*s)[2].kind, AddrSpec::Kind::ip);
  EXPECT_EQ((*s)[3].kind, AddrSpec::Kind::net_default);
  EXPECT_FALSE(qualifying_specs("", {"WEAVE_CIDR=net:bogus"}, false).ok());
  EXPECT_FALSE(qualifying_specs("", {"WEAVE_CIDR=10.0.0.1"}, false).ok());
}

TEST(ProxyHostname, GoReplaceAllSemantics) {
  EXPECT_EQ(*replace_hostname("web", "(.*)", "$1"), "web");
  EXPECT_EQ(*replace_hostname("web", "(.*)", "$1.x"), "web.x");  // no second empty match
  EXPECT_EQ(*replace_hostname("app_web_1", "^app_(.*)_1$", "${1}"), "web");
  EXPECT_EQ(*replace_hostname("a-b-c", "-", "."), "a.b.c");
  EXPECT_EQ(*replace_hostname("", "(.*)", "$1"), "");
  EXPECT_FALSE(replace_hostname("x", "(", "$1").ok());
}

TEST(ProxyCreate, SpecExampleByteExact) {
  std::string body =
      R"({"Image":"busybox","Cmd":["sleep","1000"],"HostConfig":{"NetworkMode":"default","Binds":["/a:/w","/b:/data:ro"]}})";
  auto plan = std::get<CreatePlan>(plan_create(body, false));
  EXPECT_TRUE(plan.qualifies);
  EXPECT_TRUE(plan.needs_image);
  EXPECT_EQ(plan.image, "busybox");
  Json image = Json::parse(R"({"Config":{"Cmd":["sh"],"Entrypoint":null}})");
  auto out = rewrite_create(body, "web", image, cfg());
  ASSERT_TRUE(std::holds_alternative<std::string>(out));
  EXPECT_EQ(std::get<std::string>(out),
            R"({"Cmd":["sleep","1000"],"Domainname":"weave.local","Entrypoint":["/w/w"],"HostConfig":{"Binds":["/b:/data:ro","/var/lib/docker/volumes/W/_data:/w:ro"],"Dns":["172.17.0.1"],"DnsSearch":["."],"NetworkMode":"default"},"Hostname":"web","Image":"busybox"})");
}

TEST(ProxyCreate, EntrypointAndCmdFromImage) {
  Json image = Json::parse(R"({"Config":{"Cmd":["-g","daemon off;"],"Entrypoint":["nginx"]}})");
  auto j = Json::parse(std::get<std::string>(rewrite_create(R"({"Image":"nginx"})", "", image, cfg())));
  EXPECT_EQ(j["Entrypoint"], Json::parse(R"(["/w/w","nginx"])"));
  EXPECT_EQ(j["Cmd"], Json::parse(R"(["-g","daemon off;"])"));
  // No name: no Hostname, search domain is the weave domain.
  EXPECT_FALSE(j.contains("Hostname"));
  EXPECT_EQ(j["HostConfig"]["DnsSearch"], Json::parse(R"(["weave.local."])"));
  // Explicit [] entrypoint is kept (then wrapped); a string entrypoint counts as one element.
  j = Json::parse(std::get<std::string>(
      rewrite_create(R"({"Image":"x","Entrypoint":"/bin/sh","Cmd":"-c"})", "n", Json(), cfg())));
  EXPECT_EQ(j["Entrypoint"], Json::parse(R"(["/w/w","/bin/sh"])"));
  EXPECT_EQ(j["Cmd"], Json::parse(R"(["-c"])"));
  // Already wrapped: not wrapped twice.
  j = Json::parse(std::get<std::string>(rewrite_create(R"({"Image":"x","Entrypoint":["/w/w","a"]})", "n", Json(), cfg())));
  EXPECT_EQ(j["Entrypoint"], Json::parse(R"(["/w/w","a"])"));
  // Neither command anywhere: 500 No command specified.
  auto e = rewrite_create(R"({"Image":"x"})", "n", Json::parse(R"({"Config":{"Cmd":null,"Entrypoint":null}})"), cfg());
  ASSERT_TRUE(std::holds_alternative<HttpError>(e));
  EXPECT_EQ(std::get<HttpError>(e).status, 500);
  EXPECT_EQ(std::get<HttpError>(e).message, "No command specified");
}

TEST(ProxyCreate, DnsOptions) {
  auto c = cfg();
  c.without_dns = true;
  auto j = Json::parse(std::get<std::string>(rewrite_create(R"({"Image":"x","Cmd":["a"]})", "web", Json(), c)));
  EXPECT_FALSE(j.contains("Hostname"));
  EXPECT_FALSE(j["HostConfig"].contains("Dns"));
  c = cfg();
  c.no_multicast_route = true;
  j = Json::parse(std::get<std::string>(
      rewrite_create(R"({"Image":"x","Cmd":["a"],"Hostname":"given","HostConfig":{"Dns":["8.8.8.8"],"DnsSearch":["a.b"]}})",
                     "web", Json(), c)));
  EXPECT_EQ(j["Hostname"], "given");
  EXPECT_FALSE(j.contains("Domainname"));
  EXPECT_EQ(j["HostConfig"]["Dns"], Json::parse(R"(["8.8.8.8","172.17.0.1"])"));
  EXPECT_EQ(j["HostConfig"]["DnsSearch"], Json::parse(R"(["a.b"])"));
  EXPECT_EQ(j["HostConfig"]["Binds"], Json::parse(R"(["/var/lib/docker/volumes/NOMCAST/_data:/w:ro"])"));
  // A name too long for name.weave.local (64) gets no Hostname.
  std::string longname(60, 'a');
  j = Json::parse(std::get<std::string>(rewrite_create(R"({"Image":"x","Cmd":["a"]})", longname, Json(), cfg())));
  EXPECT_FALSE(j.contains("Hostname"));
  // Hostname from a label, then the match/replacement.
  c = cfg();
  c.hostname_from_label = "hn";
  c.hostname_match = "^(.*)-svc$";
  c.hostname_replacement = "$1";
  j = Json::parse(std::get<std::string>(
      rewrite_create(R"({"Image":"x","Cmd":["a"],"Labels":{"hn":"db-svc"}})", "ignored", Json(), c)));
  EXPECT_EQ(j["Hostname"], "db");
}

TEST(ProxyCreate, NonQualifyingAndBadBodies) {
  auto p = std::get<CreatePlan>(plan_create(R"({"Image":"x","HostConfig":{"NetworkMode":"host"}})", false));
  EXPECT_FALSE(p.qualifies);
  p = std::get<CreatePlan>(plan_create(R"({"Image":"x","Env":["WEAVE_CIDR=none"]})", false));
  EXPECT_FALSE(p.qualifies);
  p = std::get<CreatePlan>(plan_create(R"({"Image":"x","Entrypoint":["e"]})", false));
  EXPECT_TRUE(p.qualifies);
  EXPECT_FALSE(p.needs_image);
  for (const char* bad : {"", "{", "[]", "null", "{\"Image\":", "\xff\xfe"}) {
    EXPECT_TRUE(std::holds_alternative<HttpError>(plan_create(bad, false))) << bad;
    EXPECT_TRUE(std::holds_alternative<HttpError>(rewrite_create(bad, "n", Json(), cfg()))) << bad;
  }
  auto e = plan_create(R"({"Image":"x","Env":["WEAVE_CIDR=net:nope"]})", false);
  ASSERT_TRUE(std::holds_alternative<HttpError>(e));
  // Wrong types do not crash.
  EXPECT_TRUE(std::holds_alternative<std::string>(
      rewrite_create(R"({"Image":1,"Entrypoint":["e"],"Cmd":{"a":1},"HostConfig":{"Binds":7,"Dns":"x"},"Labels":[]})", "n", Json(), cfg())));
}

TEST(ProxyStart, OldClientHostConfig) {
  Json c = Json::parse(R"({"Config":{"Entrypoint":["/w/w","sh"],"Hostname":"web"}})");
  auto out = rewrite_start_body(R"({"NetworkMode":"bridge","Binds":["/x:/w"]})", "application/json", c, cfg());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out,
            R"({"Binds":["/var/lib/docker/volumes/W/_data:/w:ro"],"Dns":["172.17.0.1"],"DnsSearch":["."],"NetworkMode":"bridge"})");
  out = rewrite_start_body(R"({"HostConfig":{"NetworkMode":"host"}})", "application/json", c, cfg());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, R"({"HostConfig":{"Binds":["/var/lib/docker/volumes/NOOP/_data:/w:ro"],"NetworkMode":"host"}})");
  EXPECT_FALSE(rewrite_start_body("{}", "application/json", c, cfg()).has_value());
  EXPECT_FALSE(rewrite_start_body(R"({"A":1})", "text/plain", c, cfg()).has_value());
  EXPECT_FALSE(rewrite_start_body("", "application/json", c, cfg()).has_value());
  EXPECT_FALSE(rewrite_start_body(R"({"A":1})", "application/json", Json::parse(R"({"Config":{"Entrypoint":["sh"]}})"),
                                  cfg())
                   .has_value());
}

TEST(ProxyExec, WrapsOnlyWithWeavewaitVolume) {
  Json c = Json::parse(R"({"Mounts":[{"Destination":"/w","Source":"/s"}],"Config":{"Env":[]},"HostConfig":{"NetworkMode":"default"}})");
  auto out = rewrite_exec(R"({"AttachStdout":true,"Cmd":["ls","-l"]})", c, false);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, R"({"AttachStdout":true,"Cmd":["/w/w","ls","-l"]})");
  Json old = Json::parse(R"({"Volumes":{"/w":"/s"},"Config":{"Env":null},"HostConfig":{"NetworkMode":""}})");
  EXPECT_TRUE(rewrite_exec(R"({"Cmd":["ls"]})", old, false).has_value());
  EXPECT_FALSE(rewrite_exec(R"({"Cmd":["ls"]})", Json::parse(R"({"Config":{}})"), false).has_value());
  Json none = Json::parse(R"({"Mounts":[{"Destination":"/w"}],"Config":{"Env":["WEAVE_CIDR=none"]}})");
  EXPECT_FALSE(rewrite_exec(R"({"Cmd":["ls"]})", none, false).has_value());
  EXPECT_FALSE(rewrite_exec("garbage", c, false).has_value());
}

TEST(ProxyHosts, WeaveLayout) {
  auto text = hosts_file("db", "weave.local", {*Ipv4::parse("10.32.0.1")}, {"foo:1.2.3.4"});
  EXPECT_EQ(text,
            "# created by Weave - BEGIN\n"
            "# container hostname\n"
            "10.32.0.1       db.weave.local db\n"
            "\n"
            "# static names added with --add-host\n"
            "1.2.3.4         foo\n"
            "\n"
            "# default localhost entries\n"
            "127.0.0.1       localhost\n"
            "::1             ip6-localhost ip6-loopback\n"
            "fe00::0         ip6-localnet\n"
            "ff00::0         ip6-mcastprefix\n"
            "ff02::1         ip6-allnodes\n"
            "ff02::2         ip6-allrouters\n"
            "# created by Weave - END");
  auto nodomain = hosts_file("db", "", {*Ipv4::parse("10.32.0.1")}, {});
  EXPECT_NE(nodomain.find("10.32.0.1       db\n"), std::string::npos);
  EXPECT_EQ(nodomain.find("static names"), std::string::npos);
}

TEST(ProxyInspect, SetsNetworkSettings) {
  Json c = Json::parse(R"({"NetworkSettings":{"IPAddress":"172.17.0.5","IPPrefixLen":16}})");
  set_network_settings(c, "aa:bb:cc:dd:ee:ff", *Cidr::parse("10.32.0.1/12"));
  EXPECT_EQ(c["NetworkSettings"]["IPAddress"], "10.32.0.1");
  EXPECT_EQ(c["NetworkSettings"]["IPPrefixLen"], 12);
  EXPECT_EQ(c["NetworkSettings"]["MacAddress"], "aa:bb:cc:dd:ee:ff");
}

}  // namespace
}  // namespace weft::proxy
