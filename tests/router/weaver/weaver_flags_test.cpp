#include <gtest/gtest.h>

#include <algorithm>

#include "flags.hpp"
#include "weaver_config.hpp"

namespace weft::weaver {
namespace {

TEST(WeaverFlags, GoStyleForms) {
  auto o = parse_flags(
      {"--port", "7000", "-name=aa:bb:cc:dd:ee:ff", "--no-discovery", "10.0.0.1", "--conn-limit=5", "10.0.0.2:6783"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->get("port"), "7000");
  EXPECT_EQ(o->get("name"), "aa:bb:cc:dd:ee:ff");
  EXPECT_TRUE(o->flag("no-discovery"));
  EXPECT_EQ(o->get("conn-limit"), "5");
  EXPECT_EQ(o->peers, (std::vector<std::string>{"10.0.0.1", "10.0.0.2:6783"}));
  EXPECT_EQ(o->get("db-prefix"), "/weavedb/weave");  // default
  EXPECT_TRUE(o->unsupported.empty());
}

TEST(WeaverFlags, BoolFalseAndLastValueWins) {
  auto o = parse_flags({"--proxy", "--proxy=false", "--port=1", "--port=2"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->flag("proxy"));
  EXPECT_EQ(o->get("port"), "2");
}

TEST(WeaverFlags, ClearErrors) {
  EXPECT_EQ(parse_flags({"--bogus"}).error().message, "flag provided but not defined: -bogus");
  EXPECT_EQ(parse_flags({"--port"}).error().message, "flag needs an argument: -port");
  EXPECT_EQ(parse_flags({"--port", "abc"}).error().message, "invalid value \"abc\" for flag -port: parse error");
  EXPECT_EQ(parse_flags({"--no-dns=maybe"}).error().message, "invalid boolean value \"maybe\" for -no-dns");
}

TEST(WeaverFlags, NotYetBuiltCapabilitiesAreAcceptedAndNamed) {
  auto o = parse_flags({"--ipalloc-range", "10.32.0.0/12", "--no-fastdp", "--no-bridged-fastdp", "--awsvpc", "-H",
                        "unix:///a", "-H", "tcp://b", "--plugin"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->lists.at("H").size(), 2u);
  auto has = [&](const std::string& f) {
    return std::find(o->unsupported.begin(), o->unsupported.end(), f) != o->unsupported.end();
  };
  EXPECT_TRUE(has("--no-bridged-fastdp"));
  EXPECT_FALSE(has("--no-fastdp"));  // the kernel fast path is built
  EXPECT_TRUE(has("--awsvpc (obsolete)"));
  EXPECT_FALSE(has("--H"));              // the proxy is built
  EXPECT_FALSE(has("--plugin"));         // so is the plugin
  EXPECT_FALSE(has("--ipalloc-range"));  // built: not reported
  EXPECT_NE(usage().find("--ipalloc-range"), std::string::npos);
}

// Issue 17: the typed configuration, parsed and checked once from argv (and the environment).
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<WeaverConfig> config(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
  return parse_config(args, env_of(std::move(env)));
}

std::string config_error(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
  auto c = config(args, std::move(env));
  return c ? std::string("(accepted)") : c.error().message;
}

TEST(WeaverConfig, DefaultsAreTheFlagTable) {
  auto c = config({});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->log_level, LogLevel::info);
  EXPECT_FALSE(c->mesh.name.has_value());
  EXPECT_EQ(c->mesh.port, 6783);
  EXPECT_EQ(c->mesh.conn_limit, 200u);
  EXPECT_TRUE(c->mesh.discovery);
  EXPECT_EQ(c->mesh.db_prefix, "/weavedb/weave");
  EXPECT_EQ(c->mesh.password, "");
  EXPECT_EQ(c->datapath.backend, Backend::automatic);
  EXPECT_EQ(c->datapath.capture(), Backend::afpacket);
  EXPECT_EQ(c->datapath.bridge, "weave");
  EXPECT_EQ(c->datapath.mtu, 0);
  EXPECT_EQ(c->datapath.bufsz_mb, 64);
  EXPECT_TRUE(c->datapath.extended_overlay);
  EXPECT_TRUE(c->datapath.udp_offload);
  EXPECT_TRUE(c->fastdp.wanted);
  EXPECT_FALSE(c->fastdp.insist);
  EXPECT_EQ(c->rules.port, 6783);
  EXPECT_EQ(c->rules.bridge, "weave");
  EXPECT_FALSE(c->rules.control_port.has_value());
  EXPECT_FALSE(c->ipam.enabled);
  EXPECT_TRUE(c->dns.enabled);
  EXPECT_EQ(c->dns.domain, "weave.local.");
  EXPECT_EQ(c->dns.listen_address, "0.0.0.0:53");
  EXPECT_EQ(c->dns.ttl, 1u);
  EXPECT_EQ(c->dns.fallback_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c->dns.resolv_conf, "/etc/resolv.conf");
  EXPECT_EQ(c->http.control_addr, "");
  EXPECT_FALSE(c->docker.endpoint.has_value());
  EXPECT_FALSE(c->proxy.enabled);
  EXPECT_EQ(c->proxy.hostname_match, "(.*)");
  EXPECT_EQ(c->proxy.hostname_replacement, "$1");
  EXPECT_FALSE(c->plugin.enabled);
  EXPECT_EQ(c->plugin.socket, "/run/docker/plugins/weave.sock");
  EXPECT_EQ(c->plugin.mesh_socket, "/run/docker/plugins/weavemesh.sock");
}

TEST(WeaverConfig, EverySectionIsTyped) {
  auto c = config({"--name=aa:bb:cc:dd:ee:ff",
                   "--nickname",
                   "n1",
                   "--host",
                   "10.0.0.9",
                   "--port=7000",
                   "--conn-limit",
                   "5",
                   "--no-discovery",
                   "--trusted-subnets",
                   "10.0.0.0/8,192.168.0.0/16",
                   "--resume",
                   "--log-level",
                   "debug",
                   "--mtu",
                   "+1400",
                   "--bufsz",
                   "8",
                   "--datapath-backend",
                   "kernel",
                   "--dpdk-eal-args",
                   " -a  0000:03:00.0 ",
                   "--extended-overlay=false",
                   "--weft-gossip=false",
                   "--udp-offload=0",
                   "--fastdp-refuse",
                   "--docker-bridge",
                   "docker0",
                   "--expect-npc",
                   "--no-masq-local",
                   "--http-addr",
                   "0.0.0.0:6784",
                   "--status-addr",
                   "127.0.0.1:6782",
                   "--ipalloc-range",
                   "10.32.1.0/12",
                   "--ipalloc-default-subnet",
                   "10.32.0.0/16",
                   "--ipalloc-init",
                   "consensus=3",
                   "--dns-ttl",
                   "30",
                   "--dns-fallback-timeout",
                   "250",
                   "--proxy",
                   "-H",
                   "unix:///a.sock",
                   "-H",
                   "tcp://127.0.0.1:12375",
                   "--tlsverify",
                   "--tlscert",
                   "/c.pem",
                   "--plugin",
                   "10.0.0.1",
                   "10.0.0.2:6783"},
                  {{"DOCKER_HOST", "unix:///d.sock"}, {"WEAVE_MTU", "9000"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->log_level, LogLevel::debug);
  EXPECT_EQ(c->mesh.name->str(), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(c->mesh.nickname, "n1");
  EXPECT_EQ(c->mesh.bind_ip.str(), "10.0.0.9");
  EXPECT_EQ(c->mesh.port, 7000);
  EXPECT_EQ(c->mesh.conn_limit, 5u);
  EXPECT_FALSE(c->mesh.discovery);
  EXPECT_FALSE(c->mesh.weft_gossip);
  ASSERT_EQ(c->mesh.trusted_subnets.size(), 2u);
  EXPECT_EQ(c->mesh.trusted_subnets[1].str(), "192.168.0.0/16");
  EXPECT_TRUE(c->mesh.resume);
  EXPECT_EQ(c->mesh.peers, (std::vector<std::string>{"10.0.0.1", "10.0.0.2:6783"}));
  EXPECT_EQ(c->datapath.mtu, 1400);  // --mtu wins over WEAVE_MTU
  EXPECT_EQ(c->datapath.bufsz_mb, 8);
  EXPECT_EQ(c->datapath.backend, Backend::kernel);
  EXPECT_EQ(c->datapath.capture(), Backend::afpacket);
  EXPECT_EQ(backend_name(c->datapath.backend), "kernel");
  EXPECT_EQ(c->datapath.dpdk_eal_args, (std::vector<std::string>{"-a", "0000:03:00.0"}));
  EXPECT_FALSE(c->datapath.extended_overlay);
  EXPECT_FALSE(c->datapath.udp_offload);
  EXPECT_TRUE(c->fastdp.wanted);
  EXPECT_TRUE(c->fastdp.insist);
  EXPECT_FALSE(c->fastdp.disabled);
  EXPECT_TRUE(c->fastdp.refuse);
  EXPECT_EQ(c->rules.port, 7000);
  EXPECT_EQ(c->rules.docker_bridge, "docker0");
  EXPECT_TRUE(c->rules.expect_npc);
  EXPECT_TRUE(c->rules.no_masq_local);
  EXPECT_EQ(c->rules.control_port, std::optional<std::uint16_t>(6784));
  EXPECT_TRUE(c->ipam.enabled);
  EXPECT_EQ(c->ipam.range.str(), "10.32.0.0/12");  // the network, as Weave
  EXPECT_EQ(c->ipam.default_subnet.str(), "10.32.0.0/16");
  EXPECT_EQ(c->ipam.init.consensus_peers, std::optional<std::uint32_t>(3));
  EXPECT_TRUE(c->ipam.no_masq_local);
  EXPECT_EQ(c->dns.ttl, 30u);
  EXPECT_EQ(c->dns.fallback_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c->http.control_addr, "0.0.0.0:6784");
  EXPECT_EQ(c->http.status_addr, "127.0.0.1:6782");
  ASSERT_TRUE(c->docker.endpoint.has_value());  // --proxy without --docker-api: $DOCKER_HOST
  EXPECT_EQ(c->docker.endpoint->str(), "unix:///d.sock");
  EXPECT_EQ(c->docker.api, "");
  EXPECT_TRUE(c->proxy.enabled);
  EXPECT_EQ(c->proxy.listen, (std::vector<std::string>{"unix:///a.sock", "tcp://127.0.0.1:12375"}));
  EXPECT_TRUE(c->proxy.tls.verify);
  EXPECT_EQ(c->proxy.tls.cert, "/c.pem");
  EXPECT_EQ(c->proxy.router_api.host, "127.0.0.1");  // 0.0.0.0 is dialled on loopback
  EXPECT_EQ(c->proxy.router_api.port, 6784);
  EXPECT_TRUE(c->plugin.enabled);
}

TEST(WeaverConfig, EnvironmentFallbacks) {
  auto c = config({}, {{"WEAVE_MTU", "1376"}, {"WEAVE_PASSWORD_FILE", "/pw"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->datapath.mtu, 1376);
  EXPECT_EQ(c->mesh.password, "");
  EXPECT_EQ(c->mesh.password_file, "/pw");
  c = config({}, {{"WEAVE_PASSWORD", "s3cret"}, {"WEAVE_PASSWORD_FILE", "/pw"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mesh.password, "s3cret");
  EXPECT_EQ(c->mesh.password_file, "");  // a password given: the file is not read
  c = config({"--password", "flag"}, {{"WEAVE_PASSWORD", "env"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mesh.password, "flag");
  c = config({"--docker-api", "tcp://127.0.0.1:2375"}, {{"DOCKER_HOST", "unix:///ignored.sock"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->docker.endpoint->str(), "tcp://127.0.0.1:2375");
  c = config({"--proxy", "--http-addr", "127.0.0.1:6784", "-H", "unix:///p.sock"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->docker.endpoint->str(), "unix:///var/run/docker.sock");
}

// Every refusal, with the message weaver has always given (e2e 103 checks the same on a host).
TEST(WeaverConfig, RefusalsNameTheFlag) {
  EXPECT_EQ(config_error({"--log-level", "loud"}), "invalid log level \"loud\"");
  EXPECT_EQ(config_error({"--name", "nonsense"}), "invalid peer name \"nonsense\": want aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(config_error({"--conn-limit", "-1"}), "invalid --conn-limit -1");
  EXPECT_EQ(config_error({"--min-protocol-version", "3"}), "--min-protocol-version 3 is above the highest version (2)");
  EXPECT_EQ(config_error({"--host", "nonsense"}), "invalid --host \"nonsense\": want an IPv4 address");
  EXPECT_EQ(config_error({"--port", "0"}), "invalid port 0");
  EXPECT_EQ(config_error({"--port", "65536"}), "invalid port 65536");
  EXPECT_EQ(config_error({"--mtu", "100"}), "invalid MTU 100: want 576..65535");
  EXPECT_EQ(config_error({}, {{"WEAVE_MTU", "big"}}), "invalid WEAVE_MTU \"big\"");
  EXPECT_EQ(config_error({}, {{"WEAVE_MTU", "99999999999999999999"}}), "invalid WEAVE_MTU \"99999999999999999999\"");
  EXPECT_EQ(config_error({}, {{"WEAVE_MTU", "70000"}}), "invalid MTU 70000: want 576..65535");
  EXPECT_EQ(config_error({"--datapath-backend", "bogus"}),
            "unknown --datapath-backend \"bogus\": want pcap, afpacket, dpdk, auto, kernel or none");
  EXPECT_EQ(config_error({"--datapath-backend", "kernel", "--no-fastdp"}),
            "--datapath-backend kernel and --no-fastdp contradict each other");
  EXPECT_EQ(config_error({"--dns-ttl", "-1"}), "invalid --dns-ttl -1");
  EXPECT_EQ(config_error({"--dns-ttl", "2147483648"}), "invalid --dns-ttl 2147483648");
  EXPECT_EQ(config_error({"--dns-fallback-timeout", "0"}), "invalid --dns-fallback-timeout 0");
  EXPECT_EQ(config_error({"--no-dns", "--dns-ttl", "-1"}), "(accepted)");  // DNS off: not checked, as before
  EXPECT_EQ(config_error({"--http-addr", "127.0.0.1"}), "--http-addr: address 127.0.0.1: missing port in address");
  EXPECT_NE(config_error({"--metrics-addr", "a:b:c"}).find("--metrics-addr: "), std::string::npos);
  EXPECT_NE(config_error({"--ipalloc-range", "10.0.0.0/33"}).find("invalid --ipalloc-range"), std::string::npos);
  EXPECT_NE(config_error({"--ipalloc-range", "10.32.0.0/12", "--ipalloc-default-subnet", "10.64.0.0/16"})
                .find("must be within allocation range"),
            std::string::npos);
  EXPECT_NE(config_error({"--ipalloc-range", "10.32.0.0/12", "--ipalloc-init", "bogus"}).find("invalid --ipalloc-init"),
            std::string::npos);
  EXPECT_EQ(config_error({"--plugin"}), "--plugin needs --http-addr (the plugin allocates addresses through it)");
  EXPECT_EQ(config_error({"--proxy"}), "--proxy needs --http-addr (the proxy allocates addresses through it)");
  EXPECT_EQ(config_error({"--proxy", "--http-addr", "127.0.0.1:6784"}), "--proxy needs at least one -H address");
  EXPECT_NE(config_error({"--proxy", "--http-addr", "127.0.0.1:6784", "-H", "unix:///p", "--hostname-match", "("}),
            "(accepted)");
  EXPECT_NE(config_error({"--docker-api", "bogus://x"}).find("--docker-api: "), std::string::npos);
  EXPECT_NE(config_error({"--trusted-subnets", "10.0.0.0/99"}), "(accepted)");
  EXPECT_NE(config_error({"10.0.0.1:99999"}).find("invalid peer address"), std::string::npos);
#ifndef WEFT_HAVE_DPDK
  EXPECT_NE(config_error({"--datapath-backend", "dpdk"}).find("built without DPDK"), std::string::npos);
#endif
}

// Numbers never throw: out of range and malformed values are the flag package's parse error.
TEST(WeaverConfig, NumbersAreParsedWithoutThrowing) {
  EXPECT_EQ(config_error({"--port", "99999999999999999999"}),
            "invalid value \"99999999999999999999\" for flag -port: parse error");
  EXPECT_EQ(config_error({"--mtu=+-1400"}), "invalid value \"+-1400\" for flag -mtu: parse error");
  EXPECT_EQ(config_error({"--conn-limit= 5"}), "invalid value \" 5\" for flag -conn-limit: parse error");
  EXPECT_EQ(config_error({"--dns-ttl", "0x10"}), "invalid value \"0x10\" for flag -dns-ttl: parse error");
  EXPECT_EQ(config_error({"--bufsz", ""}), "invalid value \"\" for flag -bufsz: parse error");
  EXPECT_EQ(parse_decimal("-42"), std::optional<std::int64_t>(-42));
  EXPECT_EQ(parse_decimal("+42"), std::optional<std::int64_t>(42));
  EXPECT_EQ(parse_decimal("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_decimal("+"), std::nullopt);
  auto o = parse_flags({"--port", "7000"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o->integer("port"), 7000);
  EXPECT_EQ(*o->integer("conn-limit"), 200);  // the default
}

}  // namespace
}  // namespace weft::weaver
