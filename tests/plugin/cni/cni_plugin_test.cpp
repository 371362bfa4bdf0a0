// The plugin's command layer on the paths that need no root, no netns and no router: dispatch by
// program name, VERSION, environment and config errors (CNI codes, nothing changed), DEL of a
// config it cannot read, and the router address rules.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "weft/cni/plugin.hpp"

namespace weft::cni {
namespace {

using Json = nlohmann::json;

Env env(std::string command) {
  Env e;
  e.command = std::move(command);
  e.container_id = "abcdef0123456789";
  e.netns = "/run/netns/nonexistent-weft-test";
  e.ifname = "eth0";
  e.path = "/nonexistent";
  e.weave_http_addr = "127.0.0.1:1";  // nothing listens: a router call would fail
  return e;
}

Json out_json(const Outcome& o) { return Json::parse(o.out, nullptr, false); }

TEST(CniPlugin, DispatchOnProgramName) {
  EXPECT_EQ(role_for_program("/opt/cni/bin/weave-net"), Role::net);
  EXPECT_EQ(role_for_program("weave-ipam"), Role::ipam);
  EXPECT_EQ(role_for_program("/usr/bin/weaver"), std::nullopt);
}

TEST(CniPlugin, RouterAddressLikeWeaveutil) {
  EXPECT_EQ(router_address(""), "127.0.0.1:6784");
  EXPECT_EQ(router_address("10.0.0.1"), "10.0.0.1:6784");
  EXPECT_EQ(router_address(":7000"), "127.0.0.1:7000");
  EXPECT_EQ(router_address("h:7000"), "h:7000");
}

TEST(CniPlugin, Version) {
  auto o = run_plugin(Role::net, env("VERSION"), R"({"cniVersion":"0.4.0"})");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(out_json(o)["cniVersion"], "0.4.0");
  EXPECT_EQ(out_json(o)["supportedVersions"].size(), 6u);
}

TEST(CniPlugin, ErrorsCarryCniCodesAndChangeNothing) {
  auto missing = env("ADD");
  missing.container_id.clear();
  missing.ifname.clear();
  auto o = run_plugin(Role::net, missing, R"({"cniVersion":"1.0.0","type":"weave-net"})");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(out_json(o)["code"], 4);
  EXPECT_EQ(out_json(o)["details"], "CNI_CONTAINERID, CNI_IFNAME");
  EXPECT_EQ(out_json(o)["cniVersion"], "1.0.0");

  o = run_plugin(Role::net, env("ADD"), R"({"cniVersion":"2.0.0"})");
  EXPECT_EQ(out_json(o)["code"], 1);
  o = run_plugin(Role::net, env("ADD"), "not json");
  EXPECT_EQ(out_json(o)["code"], 6);
  o = run_plugin(Role::net, env("ADD"), R"({"cniVersion":"0.3.1","isGateway":true})");
  EXPECT_EQ(out_json(o)["code"], 2);
  EXPECT_EQ(out_json(o)["msg"], "Gateway functionality not supported");
  o = run_plugin(Role::net, env("ADD"), R"({"cniVersion":"0.3.1","mtu":"x"})");
  EXPECT_EQ(out_json(o)["code"], 7);
  // The netns is checked before the router is asked for anything.
  o = run_plugin(Role::net, env("ADD"), R"({"cniVersion":"0.3.1"})");
  EXPECT_EQ(out_json(o)["code"], 3);
  EXPECT_NE(out_json(o)["msg"].get<std::string>().find("error accessing namespace"), std::string::npos);
  o = run_plugin(Role::net, env("GC"), R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(out_json(o)["code"], 4);
  EXPECT_NE(out_json(o)["msg"].get<std::string>().find("unknown CNI_COMMAND: GC"), std::string::npos);
  auto bad_if = env("ADD");
  bad_if.ifname = "a/b";
  o = run_plugin(Role::net, bad_if, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(out_json(o)["code"], 4);
}

TEST(CniPlugin, DelSucceedsWhenThingsAreGone) {
  // An unreadable config: logged, success (as Weave).
  auto o = run_plugin(Role::net, env("DEL"), R"({"cniVersion":"0.3.0","mtu":"x"})");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.err.find("weave-cni: failed to load netconf"), std::string::npos);
  // Vanished netns and a router that does not answer: success, both logged.
  o = run_plugin(Role::net, env("DEL"), R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.err.find("router not reachable"), std::string::npos) << o.err;
  o = run_plugin(Role::ipam, env("DEL"), R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(o.exit_code, 0) << o.out;
}

TEST(CniPlugin, AddWithoutRouterIsTryAgainLater) {
  auto e = env("ADD");
  auto o = run_plugin(Role::ipam, e, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(out_json(o)["code"], 11) << o.out;
}

TEST(CniPlugin, CheckNeeds040AndPrevResult) {
  auto o = run_plugin(Role::net, env("CHECK"), R"({"cniVersion":"0.3.1"})");
  EXPECT_EQ(out_json(o)["code"], 1);
  o = run_plugin(Role::net, env("CHECK"), R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(out_json(o)["code"], 7);
  EXPECT_EQ(out_json(o)["msg"], "required prevResult missing");
}

}  // namespace
}  // namespace weft::cni
