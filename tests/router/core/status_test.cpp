#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "weft/router/status.hpp"

namespace weft::router {
namespace {

WeaveStatus sample() {
  WeaveStatus s;
  s.version = "weft-test";
  auto& r = s.router;
  r.name = *PeerName::parse("aa:bb:cc:dd:ee:01");
  r.nickname = "hostA";
  r.protocol_min = 1;
  r.protocol_max = 2;
  r.encryption = true;
  PeerName b = *PeerName::parse("aa:bb:cc:dd:ee:02");
  r.peers = {{r.name, "hostA", 1, 1, 3, {{b, "hostB", "192.168.77.2:6783", true, true}}},
             {b, "hostB", 2, 2, 4, {{r.name, "hostA", "192.168.77.1:41234", false, true}}}};
  r.connections = {{"192.168.77.2:6783", true, "established", "encrypted   sleeve aa:bb:cc:dd:ee:02(hostB)",
                    {{"encrypted", "true"}, {"mtu", "1414"}, {"name", "sleeve"}}},
                   {"192.168.77.9:6783", true, "failed", "dial tcp: refused, retry: x", {}}};
  r.targets = {"192.168.77.2"};
  r.unicast_routes = {{b, b}};
  r.broadcast_routes = {{r.name, {b}}, {b, {}}};
  return s;
}

TEST(Status, DatapathBackendIsShown) {
  auto s = sample();
  s.router.interface = "vethwe-pcap (via pcap)";
  auto text = format_status(s);
  EXPECT_NE(text.find("     Encryption: enabled\n       Datapath: vethwe-pcap (via pcap)\n"), std::string::npos) << text;
}

TEST(Status, TextPageMatchesWeaveLayout) {
  auto text = format_status(sample());
  EXPECT_NE(text.find("        Version: weft-test (version check update disabled)\n"), std::string::npos);
  EXPECT_NE(text.find("        Service: router\n"), std::string::npos);
  EXPECT_NE(text.find("       Protocol: weave 1..2\n"), std::string::npos);
  EXPECT_NE(text.find("           Name: aa:bb:cc:dd:ee:01(hostA)\n"), std::string::npos);
  EXPECT_NE(text.find("     Encryption: enabled\n"), std::string::npos);
  EXPECT_EQ(text.find("Datapath:"), std::string::npos);  // no datapath: no line
  EXPECT_NE(text.find("        Targets: 1\n"), std::string::npos);
  EXPECT_NE(text.find("    Connections: 2 (1 established, 1 failed)\n"), std::string::npos);
  EXPECT_NE(text.find("          Peers: 2 (with 2 established connections)\n"), std::string::npos);
  EXPECT_NE(text.find(" TrustedSubnets: none\n"), std::string::npos);
}

// Issue 18, item 9: attributes ran together ("mtu=1438weftx=plain").
TEST(Status, ConnectionAttributesAreSeparated) {
  auto s = sample();
  s.router.connections = {{"10.0.0.2:6783", true, "established", "sleeve x", {{"mtu", "1438"}, {"name", "sleeve"}, {"weftx", "plain"}}}};
  EXPECT_EQ(format_status_connections(s.router), "-> 10.0.0.2:6783         established sleeve x mtu=1438 weftx=plain\n");
}

TEST(Status, SubPages) {
  auto s = sample();
  EXPECT_EQ(format_status_connections(s.router),
            "-> 192.168.77.2:6783     established encrypted   sleeve aa:bb:cc:dd:ee:02(hostB) encrypted=true mtu=1414\n"
            "-> 192.168.77.9:6783     failed      dial tcp: refused, retry: x\n");
  EXPECT_EQ(format_status_peers(s.router).substr(0, 25), "aa:bb:cc:dd:ee:01(hostA)\n");
  EXPECT_NE(format_status_peers(s.router).find("   -> 192.168.77.2:6783     aa:bb:cc:dd:ee:02(hostB)              established\n"),
            std::string::npos);
  EXPECT_EQ(format_status_targets(s.router), "192.168.77.2\n");
}

// Issue 19: a target that cannot be reached says why in `weave status targets`.
TEST(Status, TargetsShowDialFailures) {
  auto s = sample();
  s.router.targets.push_back("192.168.77.9");
  s.router.target_failures.push_back({"192.168.77.9", true, 3, "dial tcp 192.168.77.9:6783: connect: No route to host", "x"});
  s.router.target_failures.push_back({"10.0.0.5:6783", false, 1, "dial tcp 10.0.0.5:6783: connect: i/o timeout", ""});
  EXPECT_EQ(format_status_targets(s.router),
            "192.168.77.2\n"
            "192.168.77.9  failed 3 times: dial tcp 192.168.77.9:6783: connect: No route to host, retry: x\n"
            "10.0.0.5:6783 (discovered)  failed 1 time: dial tcp 10.0.0.5:6783: connect: i/o timeout\n");
  // The summary still counts the direct targets only.
  EXPECT_NE(format_status(s).find("        Targets: 2\n"), std::string::npos);
}

TEST(Status, ReportJsonShape) {
  auto j = nlohmann::json::parse(format_report_json(sample()));
  EXPECT_EQ(j["Router"]["Name"], "aa:bb:cc:dd:ee:01");
  EXPECT_EQ(j["Router"]["Peers"].size(), 2u);
  EXPECT_EQ(j["Router"]["UnicastRoutes"][0]["Via"], "aa:bb:cc:dd:ee:02");
  EXPECT_TRUE(j["Router"]["BroadcastRoutes"][1]["Via"].is_null());
  EXPECT_EQ(j["Router"]["Connections"][0]["Attrs"]["mtu"], 1414);
  EXPECT_EQ(j["Router"]["Connections"][0]["Attrs"]["encrypted"], true);
  EXPECT_TRUE(j["Ready"].get<bool>());
  EXPECT_NE(format_report_json(sample()).find("\n    \"Version\""), std::string::npos);  // 4-space indent
}

TEST(Status, Metrics) {
  auto m = format_metrics(sample());
  EXPECT_NE(m.find("weave_connections{encryption=\"yes\",state=\"established\",type=\"sleeve\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("weave_connection_terminations_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace weft::router
