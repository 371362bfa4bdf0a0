// The CNI plugins' pure parts: network config parsing (kube spec §1.3), version rules, and result,
// error and VERSION JSON against the CNI spec's own examples (SPEC.md, v1.0.0 and v0.4.0).
#include <gtest/gtest.h>

#include "weft/cni/netconf.hpp"
#include "weft/cni/result.hpp"

namespace weft::cni {
namespace {

NetConf parse_ok(std::string_view s) {
  auto r = parse_netconf(s);
  if (auto* e = std::get_if<CniError>(&r)) {
    ADD_FAILURE() << e->msg;
    return {};
  }
  return std::get<NetConf>(r);
}

CniError parse_err(std::string_view s) {
  auto r = parse_netconf(s);
  if (auto* e = std::get_if<CniError>(&r)) return *e;
  ADD_FAILURE() << "parsed: " << s;
  return {};
}

TEST(CniConfig, WeavesConflistEntryAsTheRuntimePassesIt) {
  // 10-weave.conflist's first plugin, with name and cniVersion injected by libcni.
  auto c = parse_ok(R"({"cniVersion":"0.3.0","name":"weave","type":"weave-net","hairpinMode":true})");
  EXPECT_EQ(c.cni_version, "0.3.0");
  EXPECT_EQ(c.name, "weave");
  EXPECT_EQ(c.type, "weave-net");
  EXPECT_EQ(c.bridge, "weave");
  EXPECT_TRUE(c.hairpin);
  EXPECT_EQ(c.mtu, 0u);
  EXPECT_TRUE(c.ipam.type.empty());
  EXPECT_FALSE(c.ipam.routes.has_value());
}

TEST(CniConfig, DefaultsKeysCaseAndTypes) {
  auto c = parse_ok(R"({"type":"weave-net"})");
  EXPECT_EQ(c.cni_version, "0.1.0");
  EXPECT_TRUE(c.hairpin);  // absent = true
  auto n = parse_ok(R"({"HAIRPINMODE":null,"Bridge":"br1","MTU":1400,"unknown":[1,2]})");
  EXPECT_TRUE(n.hairpin);  // null = true
  EXPECT_EQ(n.bridge, "br1");
  EXPECT_EQ(n.mtu, 1400u);
  EXPECT_FALSE(parse_ok(R"({"hairpinMode":false})").hairpin);
  auto ipam = parse_ok(R"({"cniVersion":"1.0.0","ipam":{"type":"weave-ipam","subnet":"10.40.0.0/16","gateway":"10.40.0.1",
      "routes":[{"dst":"10.0.0.0/8"},{"dst":"192.168.0.0/16","gw":"10.40.0.254"}]},"dns":{"nameservers":["10.0.0.10"]}})");
  EXPECT_EQ(ipam.ipam.type, "weave-ipam");
  EXPECT_EQ(ipam.ipam.subnet, "10.40.0.0/16");
  EXPECT_EQ(ipam.ipam.gateway, Ipv4::parse("10.40.0.1"));
  ASSERT_TRUE(ipam.ipam.routes);
  ASSERT_EQ(ipam.ipam.routes->size(), 2u);
  EXPECT_EQ((*ipam.ipam.routes)[1].gw, Ipv4::parse("10.40.0.254"));
  EXPECT_EQ(ipam.dns["nameservers"][0], "10.0.0.10");
  EXPECT_TRUE(parse_ok(R"({"ipam":{"routes":[]}})").ipam.routes.has_value());  // [] is not absent
}

TEST(CniConfig, BadConfigsAreClearErrors) {
  EXPECT_EQ(parse_err(R"({"mtu":"1400"})").msg,
            "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int");
  EXPECT_EQ(parse_err(R"({"hairpinMode":"yes"})").code, kInvalidConfig);
  EXPECT_EQ(parse_err("{nope").code, kDecodeFailure);
  EXPECT_EQ(parse_err("[]").code, kDecodeFailure);
  EXPECT_NE(parse_err(R"({"mtu":20})").msg.find("invalid mtu 20"), std::string::npos);
  EXPECT_NE(parse_err(R"({"mtu":-1})").msg.find("invalid mtu"), std::string::npos);
  EXPECT_NE(parse_err(R"({"bridge":"a-name-that-is-too-long"})").msg.find("invalid bridge name"), std::string::npos);
  EXPECT_EQ(parse_err(R"({"ipam":{"subnet":"10.40.0.0/33"}})").msg,
            "subnet given in config, but not parseable: invalid CIDR address: 10.40.0.0/33");
  EXPECT_NE(parse_err(R"({"ipam":{"routes":[{"dst":"x"}]}})").msg.find("invalid ipam route"), std::string::npos);
  EXPECT_NE(parse_err(R"({"ipam":{"gateway":"10.1"}})").msg.find("invalid ipam gateway"), std::string::npos);
  EXPECT_EQ(parse_err(R"({"dns":[]})").code, kInvalidConfig);
}

TEST(CniVersions, WeftSpeaksEveryVersionUpTo100) {
  for (auto v : {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"}) EXPECT_FALSE(check_version(v)) << v;
  auto e = check_version("1.1.0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kIncompatibleVersion);
  EXPECT_EQ(e->msg, "incompatible CNI versions");
  EXPECT_EQ(e->details, R"(config is "1.1.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0"])");
  EXPECT_EQ(std::get<std::string>(decode_version(R"({"name":"x"})")), "0.1.0");
  EXPECT_EQ(std::get<std::string>(decode_version(R"({"cniVersion":""})")), "0.1.0");
  EXPECT_EQ(std::get<std::string>(decode_version(R"({"CNIVersion":"0.4.0"})")), "0.4.0");
  EXPECT_EQ(std::get<CniError>(decode_version("nope")).code, kDecodeFailure);
  EXPECT_LT(compare_versions("0.3.1", "0.4.0"), 0);
  EXPECT_GT(compare_versions("1.0.0", "0.4.0"), 0);
  EXPECT_EQ(compare_versions("0.3.0", "0.3.0"), 0);
}

TEST(CniVersions, VersionAnswerMatchesTheSpecExample) {
  // SPEC.md "VERSION" example output.
  auto want = Json::parse(R"({"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]})");
  EXPECT_EQ(Json::parse(encode_version("1.0.0")), want);
  EXPECT_EQ(Json::parse(encode_version("0.3.0"))["cniVersion"], "0.3.0");
  EXPECT_EQ(Json::parse(encode_version("9.9.9"))["cniVersion"], "1.0.0");
}

AddResult spec_example() {
  // SPEC.md (v1.0.0) "Success" example, minus the IPv6 address weft does not hand out.
  AddResult r;
  r.interfaces = {{"cni0", Mac::parse("00:11:22:33:44:55"), ""},
                  {"veth3243", Mac::parse("55:44:33:22:11:11"), ""},
                  {"eth0", Mac::parse("99:88:77:66:55:44"), "/var/run/netns/blue"}};
  r.ips = {{*Cidr::parse("10.1.0.5/16"), Ipv4::parse("10.1.0.1"), 2}};
  r.routes = std::vector<Route>{{*Cidr::parse("0.0.0.0/0"), std::nullopt}};
  r.dns = Json::parse(R"({"nameservers":["10.1.0.1"]})");
  return r;
}

TEST(CniResult, Version100MatchesTheSpecExample) {
  auto want = Json::parse(R"({
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "cni0", "mac": "00:11:22:33:44:55"},
        {"name": "veth3243", "mac": "55:44:33:22:11:11"},
        {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"}
    ],
    "ips": [{"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {"nameservers": ["10.1.0.1"]}
  })");
  EXPECT_EQ(Json::parse(encode_result(spec_example(), "1.0.0")), want);
  // Four-space indent, as the Go library prints it.
  EXPECT_NE(encode_result(spec_example(), "1.0.0").find("\n    \"cniVersion\""), std::string::npos);
}

TEST(CniResult, Version040And030CarryIpVersion) {
  // SPEC.md v0.4.0 example shape: "version" on every IP.
  auto j = Json::parse(encode_result(spec_example(), "0.4.0"));
  EXPECT_EQ(j["cniVersion"], "0.4.0");
  EXPECT_EQ(j["ips"][0]["version"], "4");
  EXPECT_EQ(j["ips"][0]["interface"], 2);
  EXPECT_EQ(Json::parse(encode_result(spec_example(), "0.3.0"))["ips"][0]["version"], "4");
}

TEST(CniResult, Version020IsIp4AsWeavePrintedIt) {
  AddResult r;
  r.ips = {{*Cidr::parse("10.32.0.5/12"), Ipv4::parse("10.32.0.1"), std::nullopt}};
  auto j = Json::parse(encode_result(r, "0.2.0"));
  EXPECT_EQ(j, Json::parse(R"({"cniVersion":"0.2.0","ip4":{"ip":"10.32.0.5/12","gateway":"10.32.0.1"},"dns":{}})"));
  // Weave's 0.3.0 shape (kube spec §1.6) plus cniVersion: address keeps the host IP.
  auto k = Json::parse(encode_result(r, "0.3.0"));
  EXPECT_EQ(k["ips"][0]["address"], "10.32.0.5/12");
  EXPECT_EQ(k["dns"], Json::object());
  EXPECT_FALSE(k.contains("routes"));
}

TEST(CniResult, DecodesEveryVersion) {
  auto v1 = decode_result(result_json(spec_example(), "1.0.0"));
  ASSERT_TRUE(std::holds_alternative<AddResult>(v1));
  const auto& r = std::get<AddResult>(v1);
  EXPECT_EQ(r.ips, spec_example().ips);
  EXPECT_EQ(r.interfaces, spec_example().interfaces);
  ASSERT_TRUE(r.routes);
  auto old = decode_result(Json::parse(R"({"ip4":{"ip":"10.32.0.5/12","gateway":"10.32.0.1"},"dns":{}})"));
  ASSERT_TRUE(std::holds_alternative<AddResult>(old));
  // Converted up, 0.2.0 results have routes [] (not absent): the quirk of kube spec §1.4 step 7.
  ASSERT_TRUE(std::get<AddResult>(old).routes);
  EXPECT_TRUE(std::get<AddResult>(old).routes->empty());
  EXPECT_TRUE(std::holds_alternative<CniError>(decode_result(Json::parse(R"({"ip4":{"ip":"x"}})"))));
  EXPECT_TRUE(std::holds_alternative<CniError>(decode_result(Json::parse("[]"))));
}

TEST(CniError, MatchesTheSpecExample) {
  // SPEC.md "Error" example.
  auto want = Json::parse(R"({"cniVersion":"1.0.0","code":7,"msg":"Invalid Configuration",
                              "details":"Network 192.168.0.0/31 too small to allocate from."})");
  EXPECT_EQ(Json::parse(encode_error({7, "Invalid Configuration", "Network 192.168.0.0/31 too small to allocate from."}, "1.0.0")),
            want);
  auto no_details = Json::parse(encode_error({100, "boom", ""}, "0.3.0"));
  EXPECT_FALSE(no_details.contains("details"));
}

}  // namespace
}  // namespace weft::cni
